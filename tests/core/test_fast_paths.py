"""Correctness of the serving fast paths (no timing assertions).

``add_items`` appends into amortised growth buffers, and ``recommend``/``similar_items`` go
through implicit's top-k kernel (batched, multi-threaded past 100 queries): these tests pin
them to plain numpy references on a catalog grown well past its initial buffers.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import scipy.sparse as sp

import coldstart.core.runtime as runtime
from coldstart import ColdStartRecommender
from tests.conftest import make_clustered

SMALL = dict(factors=8, iterations=5, regularization=0.05, random_state=0)
N_NEW = 500  # > the initial capacity, so the buffers grow several times


class _Prefitted:
    """An implicit-style model that already holds factors (what ``fit`` plugs into)."""

    def __init__(self, user_factors, item_factors, regularization, alpha):
        self.user_factors, self.item_factors = user_factors, item_factors
        self.regularization, self.alpha = regularization, alpha


def _new_attributes(n, d, seed=0):
    """n distinct sparse attribute rows (4 attributes each, counts 1-3)."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), 4)
    cols = np.concatenate([rng.choice(d, 4, replace=False) for _ in range(n)])
    vals = rng.integers(1, 4, rows.size).astype(np.float32)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, d))


@pytest.fixture(scope="module")
def world():
    ui, X, _, _ = make_clustered(n_users=150, n_items=300, seed=3)
    return ui, X, _new_attributes(N_NEW, X.shape[1])


@pytest.fixture(scope="module")
def base(world):
    ui, X, _ = world
    return ColdStartRecommender(**SMALL).fit(ui, X)


@pytest.fixture(scope="module")
def grown(base, world):
    """The base model after N_NEW single-item adds."""
    m = copy.deepcopy(base)
    for r in range(N_NEW):
        m.add_items(world[2][r:r + 1])
    return m


def _brute_force(F, u, N, exclude=(), candidates=None):
    scores = F @ u
    cand = np.arange(len(F)) if candidates is None else np.unique(candidates)
    cand = cand[~np.isin(cand, np.asarray(list(exclude), dtype=np.int64))]
    order = cand[np.argsort(-scores[cand], kind="stable")][:N]
    return order, scores[order]


def test_single_adds_equal_one_batch_add(base, grown, world):
    ui, X, Xn = world
    n0 = base.n_items_
    singles = copy.deepcopy(base)
    idx = [int(singles.add_items(Xn[r:r + 1])[0]) for r in range(N_NEW)]
    assert idx == list(range(n0, n0 + N_NEW))

    batch = copy.deepcopy(base)
    np.testing.assert_array_equal(batch.add_items(Xn), np.arange(n0, n0 + N_NEW))
    np.testing.assert_array_equal(singles.item_factors_, batch.item_factors_)
    np.testing.assert_array_equal(singles.is_zero_shot_, batch.is_zero_shot_)
    np.testing.assert_array_equal(singles.user_factors_, base.user_factors_)
    np.testing.assert_array_equal(singles.item_factors_[:n0], base.item_factors_)
    assert singles.is_zero_shot_[n0:].all() and singles.n_items_ == n0 + N_NEW

    ui_ext = sp.hstack([ui, sp.csr_matrix((ui.shape[0], N_NEW), dtype=np.float32)]).tocsr()
    users = np.arange(40)
    np.testing.assert_array_equal(singles.recommend(users, ui_ext[users], N=15)[0],
                                  grown.recommend(users, ui_ext[users], N=15)[0])


def test_added_items_equal_a_model_rebuilt_with_them(base, world):
    """Plug-in mode on fixed collaborative factors, attributes used as given (a fitted weighting
    would see the new items' attributes): adding items after the fit gives the vectors and the
    recommendations of a model fitted with them as empty columns (the map only learns from warm
    items)."""
    ui, X, Xn = world
    k = base.item_factors_.shape[1]
    reg = SMALL["regularization"]
    params = dict(SMALL, weighting=None)
    users0, items0 = base.user_factors_.copy(), base.item_factors_.copy()
    plug = ColdStartRecommender(**params, collaborative=_Prefitted(users0, items0, reg, 1.0)).fit(ui, X)
    for r in range(N_NEW):
        plug.add_items(Xn[r:r + 1])
    ui_ext = sp.hstack([ui, sp.csr_matrix((ui.shape[0], N_NEW), dtype=np.float32)]).tocsr()
    items_ext = np.vstack([items0, np.zeros((N_NEW, k), np.float32)])
    rebuilt = ColdStartRecommender(**params, collaborative=_Prefitted(users0, items_ext, reg, 1.0)).fit(
        ui_ext, sp.vstack([X, Xn]).tocsr())
    np.testing.assert_allclose(rebuilt.item_factors_, plug.item_factors_, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(rebuilt.is_zero_shot_, plug.is_zero_shot_)
    users = np.arange(40)
    a = plug.recommend(users, ui_ext[users], N=15)
    b = rebuilt.recommend(users, ui_ext[users], N=15)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-6)


def test_views_taken_before_growth_keep_their_values(base, world):
    m = copy.deepcopy(base)
    before = m.item_factors_
    snapshot = before.copy()
    m.add_items(world[2])
    np.testing.assert_array_equal(before, snapshot)
    np.testing.assert_array_equal(m.item_factors_[:len(snapshot)], snapshot)


def test_empty_add_changes_nothing(base, world):
    m = copy.deepcopy(base)
    idx = m.add_items(world[2][:0])
    assert idx.shape == (0,) and m.n_items_ == base.n_items_


def test_recommend_on_grown_catalog_equals_brute_force(grown, world):
    ui = world[0]
    n = grown.n_items_
    ui_ext = sp.hstack([ui, sp.csr_matrix((ui.shape[0], n - ui.shape[1]), dtype=np.float32)]).tocsr()
    F, U = grown.item_factors_, grown.user_factors_
    rng = np.random.default_rng(1)
    for u in rng.choice(ui.shape[0], 12, replace=False):
        row = ui_ext[u]
        liked = row.indices
        ids, scores = grown.recommend(int(u), row, N=20)
        ref, ref_scores = _brute_force(F, U[u], 20, exclude=liked)
        np.testing.assert_array_equal(ids, ref)
        np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-6)

        # candidates restricted to a mix of old and added items (and some liked ones)
        cand = np.concatenate([rng.choice(ui.shape[1], 40, replace=False), rng.choice(np.arange(ui.shape[1], n), 60),
                               liked[:3]])
        ids, scores = grown.recommend(int(u), row, N=25, items=cand)
        ref, ref_scores = _brute_force(F, U[u], 25, exclude=liked, candidates=cand)
        np.testing.assert_array_equal(ids, ref)
        np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-6)

        # filter_items over old and added items, on top of the already-liked filter
        banned = np.concatenate([ref[:5], rng.choice(n, 50, replace=False)])
        ids, scores = grown.recommend(int(u), row, N=20, filter_items=banned)
        ref, ref_scores = _brute_force(F, U[u], 20, exclude=set(liked) | set(banned.tolist()))
        np.testing.assert_array_equal(ids, ref)
        np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-6)

        # without filtering, added items compete like any other
        ids, _ = grown.recommend(int(u), None, N=30, filter_already_liked_items=False)
        np.testing.assert_array_equal(ids, _brute_force(F, U[u], 30)[0])


def test_batch_recommend_equals_per_user_calls(grown, world):
    ui = world[0]
    n = grown.n_items_
    ui_ext = sp.hstack([ui, sp.csr_matrix((ui.shape[0], n - ui.shape[1]), dtype=np.float32)]).tocsr()
    users = np.arange(ui.shape[0])  # 150 users: implicit's top-k runs two batches in parallel
    rng = np.random.default_rng(2)
    cand = rng.choice(n, 12, replace=False)
    banned = rng.choice(n, 30, replace=False)
    for kwargs in (dict(), dict(filter_items=banned), dict(items=cand), dict(recalculate_user=True),
                   dict(filter_already_liked_items=False)):
        ids, scores = grown.recommend(users, ui_ext[users], N=10, **kwargs)
        assert ids.shape == scores.shape == (len(users), 10)
        for i, u in enumerate(users):
            one_ids, one_scores = grown.recommend(int(u), ui_ext[u], N=10, **kwargs)
            keep = ids[i] >= 0
            np.testing.assert_array_equal(ids[i][keep], one_ids)
            np.testing.assert_allclose(scores[i][keep], one_scores, rtol=1e-5, atol=1e-6)
            assert np.all(np.isneginf(scores[i][~keep]))
    # restricting to 12 candidates minus liked items pads rows with -1/-inf
    ids, _ = grown.recommend(users, ui_ext[users], N=10, items=cand)
    liked_cand = np.array([np.isin(cand, ui_ext[u].indices).sum() for u in users])
    np.testing.assert_array_equal((ids >= 0).sum(axis=1), np.minimum(10, len(cand) - liked_cand))


def test_parallel_batch_equals_single_threaded(grown, world):
    ui = world[0]
    n = grown.n_items_
    ui_ext = sp.hstack([ui, sp.csr_matrix((ui.shape[0], n - ui.shape[1]), dtype=np.float32)]).tocsr()
    users = np.arange(ui.shape[0])  # 150 users: two slices of 75 on two threads
    m1, m2 = copy.deepcopy(grown), copy.deepcopy(grown)
    m1.num_threads, m2.num_threads = 1, 2
    banned = np.random.default_rng(3).choice(n, 40, replace=False)
    for kwargs in (dict(filter_already_liked_items=False), dict(), dict(filter_items=banned)):
        a = m2.recommend(users, ui_ext, N=10, **kwargs)
        b = m1.recommend(users, ui_ext, N=10, **kwargs)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_allclose(a[1], b[1], rtol=1e-6)
    a = m2.similar_items(np.arange(140), N=5)
    b = m1.similar_items(np.arange(140), N=5)
    np.testing.assert_array_equal(a[0], b[0])


def _map_problem(seed=0, n=300, d=40, m=60, k=6):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.15, random_state=seed, format="csr", dtype=np.float32)
    X.data = rng.random(X.nnz, dtype=np.float32)
    C = sp.random(n, m, density=0.08, random_state=seed + 1, format="csr", dtype=np.float32)
    C.data = 1.0 + 20.0 * rng.random(C.nnz, dtype=np.float32)
    U = rng.standard_normal((m, k)).astype(np.float32)
    return X, C, U


def test_interaction_map_solves_its_normal_equations():
    """Blocked, threaded CG reaches the dense closed-form minimiser of
    sum_ui c_ui (p_ui - u.x_i W)^2 (+ unobserved pairs at weight 1) + lam ||W||^2."""
    from coldstart.core.solvers import fit_map_on_interactions

    X, C, U = _map_problem()
    n, d, k = X.shape[0], X.shape[1], U.shape[1]
    lam_rel = 0.5
    G = U.T.astype(np.float64) @ U
    lam = lam_rel * np.linalg.eigvalsh(G).mean()
    Xd, Cd, Ud = X.toarray().astype(np.float64), C.toarray().astype(np.float64), U.astype(np.float64)
    # normal equations in vec(W): sum_i (x_i x_i') kron (G + sum_u (c_ui - 1) u u') + lam I
    A = lam * np.eye(d * k)
    b = np.zeros((d, k))
    for i in range(n):
        H = G + (Ud.T * np.where(Cd[i] > 0, Cd[i] - 1.0, 0.0)) @ Ud
        A += np.kron(np.outer(Xd[i], Xd[i]), H)
        b += np.outer(Xd[i], Cd[i] @ Ud)
    W_ref = np.linalg.solve(A, b.ravel()).reshape(d, k)
    W0 = np.zeros((d, k), np.float32)
    W1 = fit_map_on_interactions(X, C, U, lam_rel, W0, iters=200, num_threads=1)
    with pytest.MonkeyPatch.context() as mp:  # a problem this small runs unthreaded unless told
        mp.setattr(runtime, "_MIN_THREADED_WORK", 0)
        W2 = fit_map_on_interactions(X, C, U, lam_rel, W0, iters=200, num_threads=2)
    np.testing.assert_allclose(W1, W_ref, rtol=1e-3, atol=1e-3 * np.abs(W_ref).max())
    np.testing.assert_allclose(W2, W1, rtol=1e-4, atol=1e-5 * np.abs(W_ref).max())


def test_pair_dots_match_dense_products_across_chunks():
    from coldstart.core.solvers import pair_dots

    X, C, U = _map_problem(seed=4)
    V = np.random.default_rng(5).standard_normal((C.shape[0], U.shape[1])).astype(np.float32)
    dense = V @ U.T
    rows = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
    for chunk in (1, 7, 1 << 14):
        np.testing.assert_allclose(pair_dots(V, C, U, chunk=chunk), dense[rows, C.indices], rtol=1e-5, atol=1e-5)


def test_item_blocks_start_threads_only_for_enough_work(monkeypatch):
    """Small products run their blocks one after the other on the caller's thread: the same
    blocks and sums, so the same bits as on the pool."""
    import threading

    X, C, _ = _map_problem(seed=7)
    blocks = runtime.ItemBlocks(X, C, num_threads=2)
    assert blocks.threads == 2 and len(blocks.blocks) == 2
    P = np.random.default_rng(0).standard_normal((X.shape[1], 3)).astype(np.float32)
    seen = set()

    def fn(Xb, Cb, sl):
        seen.add(threading.get_ident())
        return Xb.T @ (Xb @ P)

    small = blocks.reduce(fn, 3)
    assert seen == {threading.get_ident()}
    seen.clear()
    monkeypatch.setattr(runtime, "_MIN_THREADED_WORK", 0)
    pooled = blocks.reduce(fn, 3)
    assert threading.get_ident() not in seen
    np.testing.assert_array_equal(small, pooled)


def test_ridge_map_threads_do_not_change_the_fit():
    from coldstart.core.mapping import RidgeMap

    X, C, U = _map_problem(seed=7)
    Y = np.asarray(X @ np.random.default_rng(8).standard_normal((X.shape[1], 5))).astype(np.float32)
    a = RidgeMap(alpha=0.3, num_threads=1).fit(X, Y)
    with pytest.MonkeyPatch.context() as mp:  # a problem this small runs unthreaded unless told
        mp.setattr(runtime, "_MIN_THREADED_WORK", 0)
        b = RidgeMap(alpha=0.3, num_threads=2).fit(X, Y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-4, atol=1e-5)


def test_similar_items_on_grown_catalog_equal_brute_force_cosine(grown):
    F = grown.item_factors_.astype(np.float64)
    norms = np.linalg.norm(F, axis=1)
    norms[norms == 0] = 1e-10
    for i in (0, 5, grown.n_items_ - 1, grown.n_items_ - 100):
        ids, scores = grown.similar_items(i, N=15)
        cos = F @ F[i] / (norms * norms[i])
        ref = np.argsort(-cos, kind="stable")[:15]
        np.testing.assert_allclose(scores, cos[ids], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.sort(cos[ids]), np.sort(cos[ref]), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("plug_in", [False, True])
def test_map_on_active_attributes_equals_the_full_map(plug_in):
    """Attributes no warm item has get exactly zero coefficients; the CG on the active columns
    only gives what it gives with the inactive ones present."""
    ui, X, _, _ = make_clustered(n_users=120, n_items=200, seed=5)
    ui = ui.tolil()
    ui[:, 190:] = 0  # the last items are cold
    ui = ui.tocsr()
    ui.eliminate_zeros()
    extra = sp.random(200, 40, density=0.3, format="csr", random_state=1, dtype=np.float32)
    extra = sp.csr_matrix(extra.multiply(np.arange(200)[:, None] >= 190))  # only cold items use them
    X2 = sp.hstack([extra, X]).tocsr()
    if plug_in:
        from coldstart.core.factorization import make_als

        base = make_als(factors=8, regularization=0.05, alpha=10.0, iterations=5, random_state=0, num_threads=1)
        base.fit(ui, show_progress=False)
        a = ColdStartRecommender(collaborative=base, random_state=0, num_threads=1).fit(ui, X)
        b = ColdStartRecommender(collaborative=base, random_state=0, num_threads=1).fit(ui, X2)
    else:
        a = ColdStartRecommender(factors=8, random_state=0, num_threads=1).fit(ui, X)
        b = ColdStartRecommender(factors=8, random_state=0, num_threads=1).fit(ui, X2)
    Wa, Wb = a.mapper_.coef_, b.mapper_.coef_
    assert Wb.shape == (X2.shape[1], 8)
    assert not Wb[:40].any()
    np.testing.assert_allclose(Wb[40:], Wa, rtol=1e-4, atol=1e-6 * np.abs(Wa).max())
    np.testing.assert_allclose(b.item_factors_[:190], a.item_factors_[:190], rtol=1e-4,
                               atol=1e-5 * np.abs(a.item_factors_).max())


def test_a_failed_add_computed_in_place_changes_nothing(base, world):
    """add_items computes the new rows in the buffers' reserved room; when they turn out
    non-finite (a damaged map), nothing is published: same items, same vectors, same caches."""
    m = copy.deepcopy(base)
    m.similar_items(0, N=3)  # fill the norm cache
    before = (m.n_items_, m.item_factors_.copy(), m.item_variance_.copy(), m.is_zero_shot_.copy())
    m.mapper_.coef_active_[:] = np.nan  # every attribute now maps to NaN
    X = _new_attributes(50, world[1].shape[1])
    with pytest.raises(FloatingPointError):
        m.add_items(X)
    assert m.n_items_ == before[0]
    np.testing.assert_array_equal(m.item_factors_, before[1])
    np.testing.assert_array_equal(m.item_variance_, before[2])
    np.testing.assert_array_equal(m.is_zero_shot_, before[3])
    assert len(m.similar_items(0, N=3)[0]) == 3  # the caches still match the catalog
