"""The self-tuning default: what it chooses, from what, and that the choice is kept."""

import copy

import numpy as np
import pytest
import scipy.sparse as sp

import coldstart.core.constants as C
import coldstart.core.strategies as S
from coldstart import ColdStartRecommender
from coldstart.core.tuning import RankingProbe, internal_split, validation_users
from coldstart.evaluation.splits import protocol_split
from coldstart.simulation.synthetic import make_world
from tests.conftest import make_clustered


@pytest.fixture(scope="module")
def worlds():
    """Small synthetic worlds whose attributes are informative (1.0) or noise (0.0)."""
    out = {}
    for rho in (0.0, 1.0):
        w = make_world(n_users=600, n_items=900, informativeness=rho, random_state=0)
        out[rho] = (w, protocol_split(w.user_items, random_state=0))
    return out


@pytest.fixture(scope="module")
def fitted(worlds):
    return {rho: ColdStartRecommender(random_state=0, factors=32).fit(split.train, w.item_features)
            for rho, (w, split) in worlds.items()}


def test_internal_split_partitions_the_training_pairs():
    rng = np.random.default_rng(0)
    X = sp.random(300, 200, density=0.05, random_state=1, format="csr", dtype=np.float32)
    X.data[:] = 1.0
    s = internal_split(X, np.random.default_rng(0))
    total = (s.train + s.probe_pairs + s.probe_item_pairs).tocsr()
    assert (total != X).nnz == 0  # nothing lost, nothing added
    assert s.train.multiply(s.probe_pairs).nnz == 0 and s.train.multiply(s.probe_item_pairs).nnz == 0
    warm = np.flatnonzero(np.diff(X.tocsc().indptr) > 0)
    assert np.isin(s.probe_items, warm).all()
    assert abs(len(s.probe_items) - 0.1 * len(warm)) <= 1
    # every pair of a probe item is held out, and only those
    cols = np.unique(s.probe_item_pairs.indices)
    assert set(cols) <= set(s.probe_items) and s.train[:, s.probe_items].nnz == 0
    assert s.probe_pairs[:, s.probe_items].nnz == 0
    assert internal_split(X[:, :10], rng) is None  # too few items to hold any out


def test_validation_users_hold_enough_held_out_pairs():
    def truth(n_users, per_user):  # n_users users with per_user relevant items each, 50 without any
        rows = np.repeat(np.arange(n_users), per_user)
        cols = np.tile(np.arange(per_user), n_users)
        return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_users + 50, 100))

    def pairs(T, users):
        return int(np.diff(T.indptr)[users].sum())

    # a sparse catalog: one held-out pair per user; the first MIN_VALIDATION_USERS would hold
    # 1,000 pairs, so users are added until VALIDATION_PAIRS
    T = truth(10_000, 1)
    users = validation_users(T, np.random.default_rng(0))
    assert users.dtype == np.int64 and np.all(np.diff(users) > 0)  # sorted, distinct
    assert np.all(np.diff(T.indptr)[users] > 0)  # only users with a relevant item
    assert pairs(T, users) == C.VALIDATION_PAIRS == len(users)
    # a dense one: MIN_VALIDATION_USERS users already hold enough pairs
    T = truth(5_000, 8)
    users = validation_users(T, np.random.default_rng(0))
    assert len(users) == C.MIN_VALIDATION_USERS and pairs(T, users) >= C.VALIDATION_PAIRS
    # the same draw as before the rule where it changes nothing: the first sample is kept
    first = np.sort(np.random.default_rng(0).choice(np.arange(5_000), size=C.MIN_VALIDATION_USERS, replace=False))
    assert np.array_equal(users, first)
    # fewer users than either bound, or fewer pairs than asked in all: every user with a pair
    T = truth(2_500, 1)
    assert len(validation_users(T, np.random.default_rng(0))) == 2_500


def test_the_internal_validation_sees_only_training_pairs(worlds, monkeypatch):
    w, split = worlds[1.0]
    seen = {}
    real = S.internal_split

    def spy(user_items, rng):
        seen["split"] = s = real(user_items, rng)
        return s

    monkeypatch.setattr(S, "internal_split", spy)
    ColdStartRecommender(random_state=0, factors=16, iterations=2).fit(split.train, w.item_features)
    s = seen["split"]
    train_items = np.flatnonzero(np.diff(split.train.tocsc().indptr) > 0)
    assert np.isin(s.probe_items, train_items).all()
    test_items = np.union1d(split.cold_test_items, split.cold_val_items)
    for part in (s.train, s.probe_pairs, s.probe_item_pairs):
        assert part[:, test_items].nnz == 0
        assert (part - part.multiply(split.train)).nnz == 0  # every pair is a training pair


def test_trusts_informative_attributes_and_not_noise(fitted):
    informative, noise = fitted[1.0], fitted[0.0]
    assert informative.validation_["attribute_lift"] > C.MIN_ATTRIBUTE_LIFT
    assert noise.validation_["attribute_lift"] < C.MIN_ATTRIBUTE_LIFT
    # noise: no boost for its zero-shot vectors; informative: a boost chosen on mixed lists
    assert noise.zero_shot_scale_ == C.ZERO_SHOT_SCALE_GRID[0]
    assert informative.zero_shot_scale_ > 1.0
    assert informative.zero_shot_scale_ in informative.validation_["zero_shot_scale"]


def test_validation_reports_what_each_stage_cost(worlds):
    """validation_["seconds"]: one entry per stage of the self-tuning, in order, that together
    account for the strategy's time (the rest of fit: checks, weighting, the posterior spread)."""
    import time

    w, split = worlds[1.0]
    t = time.perf_counter()
    m = ColdStartRecommender(random_state=0, factors=16, iterations=2).fit(split.train, w.item_features)
    total = time.perf_counter() - t
    sec = m.validation_["seconds"]
    assert list(sec) == ["internal_fit", "free_sweeps", "item_ridge", "map_alpha", "zero_shot_scale",
                         "completion"]
    assert all(v >= 0 for v in sec.values()) and sum(sec.values()) <= total
    assert sec["internal_fit"] > 0 and sec["completion"] > 0
    fixed = ColdStartRecommender(random_state=0, factors=16, iterations=2, free_sweeps=0, map_alpha=3,
                                 zero_shot_scale=2).fit(split.train, w.item_features)
    assert fixed.validation_ is None  # nothing chosen, nothing timed


def test_free_sweeps_follow_the_held_out_warm_recall(fitted):
    for m in fitted.values():
        scores = m.validation_["free_sweeps"]
        best = max(scores, key=lambda t: (scores[t], -t))
        assert m.free_sweeps_ == (best if scores[best] >= C.FREE_SWEEP_GAIN * scores[0] else 0)
        assert m.content_constrained_ == (m.free_sweeps_ == 0)
        assert m.map_alpha_ == max(m.validation_["map_alpha"], key=m.validation_["map_alpha"].get)


def test_the_item_ridge_follows_the_held_out_warm_recall(fitted, worlds):
    for m in fitted.values():
        scores = m.validation_["item_ridge"]
        assert 0.0 in scores and set(scores) - {0.0} <= set(C.ITEM_RIDGE_GRID) and len(scores) >= 3
        best = max(scores, key=lambda c: (scores[c], -c))
        expected = best if scores[best] >= C.ITEM_RIDGE_GAIN * scores[0.0] else 0.0
        assert m.item_ridge_ == expected
    # these 16-factor worlds fitted at 32 factors: a ridge on the items wins the held-out pairs
    assert fitted[1.0].item_ridge_ > 0
    # the extra ridge shrinks the established items: their vectors are shorter than a fit
    # without it (the same fit, with a gain no ridge can reach)
    w, split = worlds[1.0]
    m = fitted[1.0]
    warm = np.diff(split.train.tocsc().indptr) > 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(S, "ITEM_RIDGE_GAIN", np.inf)
        plain = ColdStartRecommender(random_state=0, factors=32).fit(split.train, w.item_features)
    assert plain.item_ridge_ == 0.0 and plain.validation_["item_ridge"] == m.validation_["item_ridge"]
    assert np.linalg.norm(m.item_factors_[warm]) < 0.9 * np.linalg.norm(plain.item_factors_[warm])


def test_no_completion_sweeps_past_an_overfitting_peak(worlds, monkeypatch):
    """Coarse attributes (4 categories) at 64 factors: free sweeps help, then overfit, and no
    ridge is taken. The completion then adds no free sweep of its own (it would go past the
    probe's peak), and the held-out warm recall is better for it than with the sweeps."""
    from coldstart.evaluation.protocol import evaluate

    w, split = worlds[1.0]
    cat = np.random.default_rng(0).integers(4, size=w.item_features.shape[0])
    X = sp.csr_matrix((np.ones(cat.size, np.float32), (np.arange(cat.size), cat)), shape=(cat.size, 4))
    m = ColdStartRecommender(random_state=0, factors=64).fit(split.train, X)
    curve = m.validation_["free_sweeps"]
    assert m.free_sweeps_ >= 1 and m.item_ridge_ == 0.0
    assert curve[max(curve)] < C.OVERFIT_DROP * curve[m.free_sweeps_]
    assert m.validation_["completion_sweeps"] == 0
    monkeypatch.setattr(S, "OVERFIT_DROP", 0.0)  # never overfit: the completion sweeps as before
    swept = ColdStartRecommender(random_state=0, factors=64).fit(split.train, X)
    assert swept.validation_["completion_sweeps"] == C.COMPLETION_SWEEPS > 0
    assert swept.validation_["free_sweeps"] == curve
    warm = [evaluate(x, split, settings=("warm",), K=20, metrics=("recall",)).loc["warm", "recall@20"]
            for x in (m, swept)]
    assert warm[0] > 1.05 * warm[1]


def test_free_sweeps_need_a_clear_gain(monkeypatch):
    """On the clustered world one free sweep beats the content-constrained fit on the held-out
    warm pairs by less than FREE_SWEEP_GAIN: the fit stays content-constrained; without the
    rule it takes the sweep."""
    ui, X, _, _ = make_clustered()
    kw = dict(factors=8, iterations=10, regularization=0.05, random_state=0)
    m = ColdStartRecommender(**kw).fit(ui, X)
    curve = m.validation_["free_sweeps"]
    assert m.free_sweeps_ == 0 and m.content_constrained_
    assert curve[0] < max(curve.values()) < C.FREE_SWEEP_GAIN * curve[0]
    monkeypatch.setattr(S, "FREE_SWEEP_GAIN", 1.0)
    assert ColdStartRecommender(**kw).fit(ui, X).free_sweeps_ > 0


def test_zero_shot_scale_keeps_the_warm_lists_best(fitted):
    """The scale's warm guard is the warm probe's best, with the internal zero-shot items among
    the candidates at any scale of the grid or without them, and the chosen scale keeps
    WARM_TOLERANCE of it."""
    m = fitted[1.0]
    v = m.validation_
    w = v["zero_shot_scale_warm"]
    assert set(w) == set(C.ZERO_SHOT_SCALE_GRID)
    assert v["warm_guard"] == max(v["item_ridge_users"], *w.values())
    assert w[m.zero_shot_scale_] >= C.WARM_TOLERANCE * v["warm_guard"]


def test_zero_shot_scale_is_the_best_of_the_whole_grid(fitted):
    """Every scale of the grid is scored (no walk that stops at a dip) and the chosen one has the
    best mixed-list score among those that keep the warm guard; ties keep the smaller scale."""
    for m in fitted.values():
        v = m.validation_
        if not v["zero_shot_scale"]:  # attributes no better than chance: the smallest scale
            assert m.zero_shot_scale_ == C.ZERO_SHOT_SCALE_GRID[0]
            continue
        assert set(v["zero_shot_scale"]) == set(C.ZERO_SHOT_SCALE_GRID)
        ok = [z for z in C.ZERO_SHOT_SCALE_GRID
              if v["zero_shot_scale_warm"][z] >= C.WARM_TOLERANCE * v["warm_guard"]]
        assert ok and m.zero_shot_scale_ == max(ok, key=lambda z: (v["zero_shot_scale"][z], -z))


def test_zero_shot_scale_past_a_dip(worlds, monkeypatch):
    """A mixed-list score with a dip between two maxima: the scale is the higher maximum past
    the dip (a walk from the grid's middle stopped at the dip's near side)."""
    from coldstart.core.tuning import RankingProbe

    grid = C.ZERO_SHOT_SCALE_GRID
    landscape = dict(zip(grid, np.linspace(0.1, 0.3, len(grid))))
    landscape.update({2.0: 0.05, 2.5: 0.06, grid[-1]: 0.5})
    monkeypatch.setattr(RankingProbe, "scaled", lambda self, U, V, items: landscape.get)
    w, split = worlds[1.0]
    m = ColdStartRecommender(random_state=0, factors=16, free_sweeps=0).fit(split.train, w.item_features)
    assert m.validation_["attribute_lift"] >= C.MIN_ATTRIBUTE_LIFT
    assert m.zero_shot_scale_ == grid[-1]


def test_every_item_solve_uses_the_chosen_ridge(fitted, worlds, tmp_path, monkeypatch):
    """Warm-up posteriors, item fold-ins and the spread solve items at the fit's own ridge, so
    an item that warms up is regularised as the established ones are; it is saved."""
    import coldstart.core.warmup as warmup

    m = fitted[1.0]
    assert m.item_ridge_ > 0 and m._item_reg() > m._reg()
    w, split = worlds[1.0]
    seen = []
    for name in ("solve_from_prior", "solve_rows"):  # items warming up, established items
        real = getattr(warmup, name)
        monkeypatch.setattr(warmup, name, lambda *a, real=real, name=name, **k: seen.append((name, a[2]))
                            or real(*a, **k))
    ids = np.asarray(split.cold_test_items[:3])
    rows = sp.csr_matrix((np.ones(3, np.float32), (np.arange(3), np.arange(3))), shape=(3, m.n_users_))
    m2 = copy.deepcopy(m)
    m2.partial_fit_items(ids, rows)
    m2.similar_items(ids, N=3, recalculate_item=True, item_users=rows)
    established = int(np.flatnonzero(np.diff(split.train.tocsc().indptr) > 0)[0])
    m2.partial_fit_items([established], split.train.T.tocsr()[[established]])
    assert seen == [("solve_from_prior", m._item_reg())] * 2 + [("solve_rows", m._item_reg())]
    m.save(tmp_path / "r.npz")
    assert ColdStartRecommender.load(tmp_path / "r.npz")._item_reg() == pytest.approx(m._item_reg())


def test_the_chosen_settings_survive_save_and_load(fitted, worlds, tmp_path):
    m = fitted[1.0]
    w, _ = worlds[1.0]
    m.save(tmp_path / "m.npz")
    back = ColdStartRecommender.load(tmp_path / "m.npz")
    assert (back.free_sweeps_, back.map_alpha_, back.zero_shot_scale_, back.item_ridge_) == \
        (m.free_sweeps_, m.map_alpha_, m.zero_shot_scale_, m.item_ridge_)
    np.testing.assert_array_equal(back.embed_items(w.item_features[:5]), m.embed_items(w.item_features[:5]))


def test_given_numbers_skip_the_internal_split(worlds):
    w, split = worlds[1.0]
    m = ColdStartRecommender(random_state=0, factors=16, iterations=2, free_sweeps=0, map_alpha=3.0,
                             zero_shot_scale=2.0).fit(split.train, w.item_features)
    assert m.validation_ is None and m.content_constrained_
    assert (m.free_sweeps_, m.map_alpha_, m.zero_shot_scale_) == (0, 3.0, 2.0)
    # a given free_sweeps is run as given, whatever the probe pairs say
    m = ColdStartRecommender(random_state=0, factors=16, iterations=2, free_sweeps=3).fit(split.train, w.item_features)
    assert m.free_sweeps_ == 3 and not m.content_constrained_


@pytest.mark.parametrize("bad", [-1, 1.5, True, "many"])
def test_free_sweeps_is_validated(worlds, bad):
    w, split = worlds[1.0]
    with pytest.raises(ValueError, match="free_sweeps"):
        ColdStartRecommender(free_sweeps=bad).fit(split.train, w.item_features)


def test_search_grid_walks_to_the_best_value():
    calls = []

    def peak_at(target):
        def f(v):
            calls.append(v)
            return -abs(v - target)
        return f

    grid = (1, 2, 3, 4, 5, 6, 7)
    for target in grid:
        calls.clear()
        assert S.search_grid(grid, 2, peak_at(target)) == target
        assert len(calls) <= 2 + abs(target - 3) + 1
    # flat everywhere: up to the end, one step down, and the smallest value seen
    assert S.search_grid(grid, 2, lambda v: 0.0) == 2


def test_search_grid_looks_past_a_flat_start():
    """A score that has not moved yet at the start (nothing the value changes has moved) is
    followed up until it moves: a rise is walked on, a fall walks down."""
    grid = (1, 2, 3, 4, 5, 6, 7)
    plateau = {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0, 5: 5.0, 6: 3.0, 7: 1.0}
    assert S.search_grid(grid, 2, plateau.get) == 5
    ends_lower = {1: 0.5, 2: 0.0, 3: 1.0, 4: 1.0, 5: -1.0, 6: 2.0, 7: 0.0}
    seen = []
    assert S.search_grid(grid, 2, lambda v: seen.append(v) or ends_lower[v]) == 3
    assert 6 not in seen  # the walk went down from the start once the plateau fell


def test_ranking_probe_recall_and_chance():
    truth = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 0, 1]], dtype=np.float32))
    U = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    V = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 0.0], [0.0, 0.5]], dtype=np.float32)
    probe = RankingProbe(truth, np.array([0, 1]), np.arange(4), K=1)
    # user 0's top item is 0 (1 of 2 relevant), user 1's is 1 (not relevant)
    assert probe.score(U, V) == pytest.approx((0.5 + 0.0) / 2)
    assert probe.chance() == pytest.approx((2 * 0.25 / 2 + 1 * 0.25 / 1) / 2)
    excl = sp.csr_matrix(np.array([[0, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float32))
    assert RankingProbe(truth, np.array([0, 1]), np.arange(4), exclude=excl, K=1).score(U, V) == \
        pytest.approx((0.5 + 1.0) / 2)



@pytest.mark.parametrize("seed", range(12))
def test_ranking_probe_equals_top_k_with_ties_and_exclusions(seed):
    """The probe's blocked scoring is the recall of top_k's lists (ties to the lower position,
    excluded items and NaN scores never), whatever the block cut: integer factors and zero rows
    make ties."""
    from coldstart.core.topk import top_k

    rng = np.random.default_rng(seed)
    n_users, n_items = int(rng.integers(20, 200)), int(rng.integers(30, 300))
    truth = sp.random(n_users, n_items, density=0.08, format="csr", random_state=seed)
    excl = sp.random(n_users, n_items, density=0.15, format="csr", random_state=seed + 99)
    users = np.sort(rng.choice(n_users, size=n_users // 2 + 1, replace=False))
    cand = np.sort(rng.choice(n_items, size=n_items // 2 + 1, replace=False))
    U = np.round(rng.normal(size=(n_users, 3))).astype(np.float32)
    V = np.round(rng.normal(size=(n_items, 3))).astype(np.float32)
    V[rng.random(n_items) < 0.3] = 0.0
    if seed % 3 == 0:  # a NaN score ranks as -inf, as in top_k
        V[cand[rng.integers(cand.size)]] = np.nan
    K = int(rng.integers(1, 25))
    S_ = U[users] @ V[cand].T
    S_[excl[users][:, cand].toarray() > 0] = -np.inf
    ids, _ = top_k(S_, min(K, cand.size))
    T = truth[users][:, cand].toarray() > 0
    n_rel = np.diff(truth[users].indptr)
    hits = np.array([T[i, row[row >= 0]].sum() for i, row in enumerate(ids)])
    expected = np.mean(hits[n_rel > 0] / n_rel[n_rel > 0])
    import coldstart.core.tuning as tuning

    for block in (1 << 22, 7 * cand.size):  # one block, or blocks of 7 rows on the thread pool
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(tuning, "_BLOCK_SCORES", block)
            mp.setattr(tuning, "_PARALLEL_SCORES", 0)
            got = RankingProbe(truth, users, cand, exclude=excl, K=K).score(U, V)
        assert got == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_ranking_probe_scaled_equals_scoring_the_scaled_vectors(seed):
    """One product for every scale: with power-of-two scales (exact in float32) the merged lists
    give the recall of the scaled vectors themselves."""
    rng = np.random.default_rng(seed)
    n_users, n_items = 150, 240
    truth = sp.random(n_users, n_items, density=0.1, format="csr", random_state=seed)
    excl = sp.random(n_users, n_items, density=0.2, format="csr", random_state=seed + 7)
    users = np.sort(rng.choice(n_users, size=90, replace=False))
    cand = np.sort(rng.choice(n_items, size=160, replace=False))
    items = rng.choice(n_items, size=60, replace=False)
    U = rng.normal(size=(n_users, 4)).astype(np.float32)
    V = rng.normal(size=(n_items, 4)).astype(np.float32)
    probe = RankingProbe(truth, users, cand, exclude=excl, K=15)
    at = probe.scaled(U, V, items)
    scores = []
    for z in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0):
        Vz = V.copy()
        Vz[items] *= z
        scores.append(probe.score(U, Vz))
        assert at(z) == pytest.approx(scores[-1], abs=1e-12)
    assert len(set(scores)) > 1  # the scale moves the lists

def test_a_failed_refit_leaves_the_model_as_it_was(worlds, monkeypatch):
    w, split = worlds[1.0]
    m = ColdStartRecommender(random_state=0, factors=16, iterations=2).fit(split.train, w.item_features)
    before = (m.item_factors_.copy(), m.user_factors_.copy(), m.map_alpha_, m.zero_shot_scale_, m.n_items_)

    def boom(self, *args):
        self.map_alpha_, self.zero_shot_scale_ = -1.0, -1.0  # half-way state, then a failure
        raise RuntimeError("failed half-way")

    monkeypatch.setattr(ColdStartRecommender, "_fit_self_tuned", boom)
    with pytest.raises(RuntimeError, match="half-way"):
        m.fit(split.train, w.item_features)
    np.testing.assert_array_equal(m.item_factors_, before[0])
    np.testing.assert_array_equal(m.user_factors_, before[1])
    assert (m.map_alpha_, m.zero_shot_scale_, m.n_items_) == before[2:]
    ids, _ = m.recommend(np.arange(3), split.train[:3], N=5)  # still serves
    assert (ids >= 0).all()
