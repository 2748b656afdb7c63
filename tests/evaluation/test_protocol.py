"""The evaluator: a tiny known answer, an independent slow loop, and raw implicit models."""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart.evaluation.metrics import top_k
from coldstart.evaluation.protocol import evaluate, setting_spec
from coldstart.evaluation.splits import ColdStartSplit, protocol_split

L2 = math.log2


class DenseScoreModel:
    """A fixed score matrix behind implicit's recommend contract (ties: lower index first)."""

    def __init__(self, scores, honour_candidates=True):
        self.scores = np.asarray(scores, dtype=np.float64)
        self.honour_candidates = honour_candidates

    def recommend(self, userid, user_items, N=10, filter_already_liked_items=True,
                  filter_items=None, recalculate_user=False, items=None):
        users = np.atleast_1d(userid)
        S = self.scores[users].copy()
        if self.honour_candidates:
            if filter_already_liked_items:
                r, c = user_items.nonzero()
                S[r, c] = -np.inf
            if items is not None:
                keep = np.zeros(S.shape[1], dtype=bool)
                keep[np.asarray(items)] = True
                S[:, ~keep] = -np.inf
            if filter_items is not None:
                S[:, filter_items] = -np.inf
        ids, sc = top_k(S, N)
        return (ids[0], sc[0]) if np.isscalar(userid) else (ids, sc)


def csr(rows, n_items):
    r = [u for u, items in enumerate(rows) for _ in items]
    c = [i for items in rows for i in items]
    return sp.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=(len(rows), n_items))


@pytest.fixture
def tiny():
    # items 0-2 warm, 3 cold validation, 4-5 cold test
    split = ColdStartSplit(
        train=csr([[0], [1], [0, 1]], 6),
        warm_test=csr([[1], [2], []], 6),
        cold_val=csr([[], [], [3]], 6),
        cold_test=csr([[4], [5], [4]], 6),
    )
    scores = [[9, 1, 5, 8, 3, 2],
              [1, 9, 2, 7, 1, 4],
              [9, 9, 1, 1, 0, 6]]
    return split, DenseScoreModel(scores)


# --------------------------------------------------------------------------- known answer
def test_tiny_known_answer(tiny):
    split, model = tiny
    res = evaluate(model, split, settings=("cold", "warm", "hybrid", "cold-val"), K=2)
    assert res.loc["cold", "users"] == 3
    assert res.loc["cold", "recall@2"] == pytest.approx(1.0)
    assert res.loc["cold", "ndcg@2"] == pytest.approx((2 + 1 / L2(3)) / 3)
    assert res.loc["cold", "map@2"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert res.loc["warm", "users"] == 2  # user 2 has no warm test interaction
    assert res.loc["warm", "recall@2"] == pytest.approx(1.0)
    assert res.loc["warm", "ndcg@2"] == pytest.approx((1 / L2(3) + 1) / 2)
    # hybrid: u0 [2, 4] truth {1, 4}; u1 [5, 2] truth {2, 5}; u2 [5, 2] truth {4}
    assert res.loc["hybrid", "recall@2"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert res.loc["hybrid", "precision@2"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert res.loc["hybrid", "hit_rate@2"] == pytest.approx(2 / 3)
    assert res.loc["hybrid", "new_share@2"] == pytest.approx(0.5)
    assert res.loc["hybrid", "new_rank@2"] == pytest.approx((2 + 1 + 1) / 3)
    assert res.loc["hybrid", "coverage@2"] == pytest.approx(3 / 5)  # {2, 4, 5} of {0, 1, 2, 4, 5}
    assert np.isnan(res.loc["cold", "new_share@2"])
    assert res.loc["cold-val", "users"] == 1
    assert res.loc["cold-val", "recall@2"] == pytest.approx(1.0)
    assert res.loc["cold-val", "precision@2"] == pytest.approx(0.5)  # one candidate, K=2
    k1 = evaluate(model, split, settings="cold", K=1)
    assert k1.loc["cold", "recall@1"] == pytest.approx(2 / 3)


def test_setting_specs(tiny):
    split, _ = tiny
    np.testing.assert_array_equal(setting_spec(split, "cold").candidates, [4, 5])
    np.testing.assert_array_equal(setting_spec(split, "warm").candidates, [0, 1, 2])
    np.testing.assert_array_equal(setting_spec(split, "hybrid").candidates, [0, 1, 2, 4, 5])
    np.testing.assert_array_equal(setting_spec(split, "hybrid-val").candidates, [0, 1, 2, 3])
    np.testing.assert_array_equal(setting_spec(split, "hybrid-val").new_items, [3])
    assert setting_spec(split, "hybrid").truth.nnz == 5


def test_leaky_model_warns_and_scores_misses(tiny):
    split, _ = tiny
    leaky = DenseScoreModel(tiny[1].scores, honour_candidates=False)
    with pytest.warns(RuntimeWarning, match="outside the 'cold' candidates"):
        res = evaluate(leaky, split, settings="cold", K=2)
    # u0's raw top-2 is [0, 3]: no cold test item, both dropped
    assert res.loc["cold", "recall@2"] < 1.0


# --------------------------------------------------------------------------- slow loop
def slow_reference(scores, split, setting, K):
    """Per-user metrics from first principles: Python sets, sorted(), no shared code."""
    n_users, n_items = split.shape
    def items_of(m, u):
        return set(m[u].indices.tolist())
    cold_val = set(split.cold_val.indices.tolist())
    cold_test = set(split.cold_test.indices.tolist())
    all_items = set(range(n_items))
    truth_parts, cands, new = {
        "cold": (["cold_test"], cold_test, None),
        "cold-val": (["cold_val"], cold_val, None),
        "warm": (["warm_test"], all_items - cold_val - cold_test, None),
        "hybrid": (["warm_test", "cold_test"], all_items - cold_val, cold_test),
        "hybrid-val": (["warm_test", "cold_val"], all_items - cold_test, cold_val),
    }[setting]
    out = {}
    for u in range(n_users):
        truth = set().union(*(items_of(getattr(split, p), u) for p in truth_parts))
        if not truth:
            continue
        cand = cands - items_of(split.train, u)
        ranked = sorted(cand, key=lambda i: (-scores[u][i], i))[:K]
        hits = [i in truth for i in ranked] + [False] * (K - len(ranked))
        dcg = sum(h / L2(j + 2) for j, h in enumerate(hits))
        idcg = sum(1 / L2(j + 2) for j in range(min(K, len(truth))))
        row = {
            "recall": sum(hits) / len(truth),
            "precision": sum(hits) / K,
            "ndcg": dcg / idcg,
            "map": sum(sum(hits[: j + 1]) / (j + 1) * h for j, h in enumerate(hits)) / min(K, len(truth)),
            "hit_rate": float(any(hits)),
        }
        if new is not None:
            flags = [i in new for i in ranked]
            row["new_share"] = sum(flags) / len(ranked) if ranked else float("nan")
            ranks = [j + 1 for j, f in enumerate(flags) if f]
            row["new_rank"] = sum(ranks) / len(ranks) if ranks else float("nan")
        out[u] = row
    return out


@pytest.fixture(scope="module")
def random_case():
    X = sp.random(120, 90, density=0.08, random_state=11, format="csr")
    split = protocol_split(X, random_state=2)
    rng = np.random.default_rng(5)
    scores = rng.integers(0, 6, size=split.shape).astype(float)  # many ties
    return split, scores


@pytest.mark.parametrize("setting", ["cold", "warm", "hybrid", "cold-val", "hybrid-val"])
def test_evaluator_matches_slow_loop(random_case, setting):
    split, scores = random_case
    K = 7
    summary, per_user = evaluate(DenseScoreModel(scores), split, settings=setting, K=K,
                                 batch_size=17, per_user=True)
    ref = slow_reference(scores, split, setting, K)
    assert summary.loc[setting, "users"] == len(ref) == len(per_user)
    np.testing.assert_array_equal(per_user["user"].to_numpy(), sorted(ref))
    for col in ref[next(iter(ref))]:
        expected = np.array([ref[u][col] for u in per_user["user"]])
        np.testing.assert_allclose(per_user[col].to_numpy(), expected, err_msg=col)
        assert summary.loc[setting, f"{col}@{K}"] == pytest.approx(np.nanmean(expected))


def test_batch_size_does_not_change_results(random_case):
    split, scores = random_case
    a = evaluate(DenseScoreModel(scores), split, settings=("cold", "hybrid"), K=5, batch_size=1)
    b = evaluate(DenseScoreModel(scores), split, settings=("cold", "hybrid"), K=5, batch_size=1000)
    assert a.equals(b)


def test_by_activity_bins(random_case):
    split, scores = random_case
    plain = evaluate(DenseScoreModel(scores), split, settings=("cold", "warm"), K=5)
    binned = evaluate(DenseScoreModel(scores), split, settings=("cold", "warm"), K=5, by_activity=3)
    assert binned.index.names == ["setting", "activity"]
    for s in ("cold", "warm"):
        all_row = binned.loc[(s, "all")]
        assert all_row["users"] == plain.loc[s, "users"]
        assert all_row["recall@5"] == pytest.approx(plain.loc[s, "recall@5"])
        bins = binned.loc[s].drop(index="all")
        assert bins["users"].sum() == plain.loc[s, "users"]
        # user-weighted mean of the bins is the overall mean
        w = bins["users"].to_numpy()
        vals = bins["recall@5"].fillna(0).to_numpy()
        assert (w * vals).sum() / w.sum() == pytest.approx(plain.loc[s, "recall@5"])
    edges = evaluate(DenseScoreModel(scores), split, settings="cold", K=5, by_activity=[0, 2, 100])
    assert list(edges.loc["cold"].index) == ["all", "0-2", "3-100"]


def test_argument_errors(tiny):
    split, model = tiny
    with pytest.raises(ValueError, match="settings must be a non-empty selection"):
        evaluate(model, split, settings=("cold", "lukewarm"))
    with pytest.raises(ValueError, match="K must be a positive integer; received 0"):
        evaluate(model, split, K=0)
    with pytest.raises(ValueError, match="metrics must be a non-empty selection"):
        evaluate(model, split, metrics=("recall", "auc"))
    with pytest.raises(TypeError, match="without a recommend method"):
        evaluate(object(), split)
    with pytest.raises(TypeError, match="split must be a coldstart.evaluation.splits.ColdStartSplit"):
        evaluate(model, split.train)


# --------------------------------------------------------------------------- raw implicit
@pytest.fixture(scope="module")
def als_case():
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    X = sp.random(150, 80, density=0.15, random_state=3, format="csr")
    split = protocol_split(X, random_state=0)
    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # implicit's OpenBLAS advice
        model = AlternatingLeastSquares(factors=8, iterations=5, random_state=0, num_threads=1)
        model.fit(split.train, show_progress=False)
    return split, model


def test_raw_implicit_als_matches_slow_loop(als_case):
    split, model = als_case
    K = 5
    scores = model.user_factors @ model.item_factors.T
    for setting in ("warm", "hybrid"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # nothing flagged as a violation
            _, per_user = evaluate(model, split, settings=setting, K=K, per_user=True)
        ref = slow_reference(scores, split, setting, K)
        compared = 0
        for u, row in zip(per_user["user"], per_user.itertuples()):
            s = np.sort(scores[u])[::-1]
            if np.any(s[: K + 1] == 0):  # items without training data tie at 0: order unspecified
                continue
            assert row.recall == pytest.approx(ref[u]["recall"]), (setting, u)
            assert row.ndcg == pytest.approx(ref[u]["ndcg"]), (setting, u)
            compared += 1
        assert compared > 0.5 * len(per_user)


def test_raw_implicit_padding_sentinel_is_not_counted():
    """implicit returns filtered items scored -FLT_MAX when fewer than N candidates remain."""
    from implicit.als import AlternatingLeastSquares

    split = ColdStartSplit(
        train=csr([[0, 1], [1, 2], [0, 2]], 5),
        warm_test=csr([[2], [0], []], 5),
        cold_val=csr([[3], [], []], 5),
        cold_test=csr([[], [4], [4]], 5),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AlternatingLeastSquares(factors=2, iterations=2, random_state=0, num_threads=1)
        model.fit(split.train, show_progress=False)
    ids, scores = model.recommend(np.array([0]), split.train[[0]], N=20, items=split.warm_items)
    assert scores.min() <= -np.finfo(np.float32).max  # the behaviour being guarded against
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = evaluate(model, split, settings=("warm", "hybrid"), K=20)
    # warm: each user has exactly one warm candidate left (3 warm items - 2 trained): a hit
    assert res.loc["warm", "recall@20"] == pytest.approx(1.0)
    assert res.loc["warm", "precision@20"] == pytest.approx(1 / 20)
    assert res.loc["warm", "coverage@20"] == pytest.approx(2 / 3)  # items 2 and 0, not 1
    assert res.loc["hybrid", "recall@20"] == pytest.approx(1.0)


def test_a_setting_with_at_most_k_candidates_warns():
    """Every model finds all of at most K candidates: the scores say nothing, and evaluate says so."""
    import warnings as _w

    import scipy.sparse as sp

    from coldstart.evaluation import evaluate
    from coldstart.evaluation.baselines import PopularityRecommender
    from coldstart.evaluation.splits import protocol_split
    from tests.conftest import make_clustered

    ui, X, _, _ = make_clustered(n_users=60, n_items=50, seed=2)
    split = protocol_split(ui, random_state=0)
    model = PopularityRecommender().fit(split.train, X)
    with _w.catch_warnings(record=True) as got:
        _w.simplefilter("always")
        evaluate(model, split, settings=("warm",), K=len(split.cold_test_items) + 100)
    assert any("candidate items at K=" in str(w.message) for w in got)
    del sp
