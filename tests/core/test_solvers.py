"""coldstart.core.solvers: the one conjugate-gradient loop in its three modes against dense
solves, the exact and the CG ALS half-steps against the normal equations and implicit's solver,
and the map on the ALS loss lowering that loss."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart.core.solvers import converged_half_step, fit_map_on_interactions, fold_in, gram_matrix, pcg, solve_rows


def _spd(k, seed, cond=30.0):
    """A symmetric positive definite (k, k) float64 matrix with condition number ``cond``."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((k, k)))
    return (Q * np.geomspace(1.0, cond, k)) @ Q.T


def _run(op, B, minv, iters, **kw):
    X = np.zeros_like(B, dtype=np.float32)
    R = B.astype(np.float32).copy()  # residual at X = 0
    steps = pcg(op, X, R, minv, iters, **kw)
    return X, R, steps


def test_pcg_one_system_over_all_entries():
    n, k = 4, 3
    A = _spd(n * k, 0)
    B = np.random.default_rng(1).standard_normal((n, k))
    ref = np.linalg.solve(A, B.ravel()).reshape(n, k)
    A32 = A.astype(np.float32)
    X, R, steps = _run(lambda P: (A32 @ P.ravel()).reshape(n, k), B, None, n * k + 5)
    np.testing.assert_allclose(X, ref, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(R, B - (A @ X.ravel().astype(np.float64)).reshape(n, k), atol=1e-4)
    assert steps == n * k + 5  # no tol: runs every step
    few, _, _ = _run(lambda P: (A32 @ P.ravel()).reshape(n, k), B, None, 2)
    assert np.abs(few - ref).max() > 1e-2  # two steps are not enough: the comparison can fail


def test_pcg_one_system_per_column_with_jacobi_and_tol():
    d, k = 8, 5
    A = _spd(d, 2) + np.diag(np.linspace(0, 20, d))  # a diagonal worth preconditioning
    B = np.random.default_rng(3).standard_normal((d, k))
    ref = np.linalg.solve(A, B)
    A32 = A.astype(np.float32)
    minv = (1.0 / np.diag(A)).astype(np.float32)[:, None]
    X, _, _ = _run(lambda P: A32 @ P, B, minv, d + 5, axis=0)
    np.testing.assert_allclose(X, ref, rtol=1e-3, atol=1e-4)
    # tol stops when every column's residual is below tol * norm0
    norm0 = np.linalg.norm(B, axis=0).astype(np.float32)
    X, R, steps = _run(lambda P: A32 @ P, B, minv, 100, axis=0, tol=1e-2, norm0=norm0)
    assert steps < 100 and np.all(np.linalg.norm(R, axis=0) <= 1e-2 * norm0)
    # the columns are independent: one column alone gives the same iterate
    X1, _, _ = _run(lambda P: A32 @ P, B[:, :1], minv, d + 5, axis=0)
    np.testing.assert_allclose(X1[:, 0], ref[:, 0], rtol=1e-3, atol=1e-4)


def test_pcg_one_system_per_row_and_the_floor():
    n, k = 6, 4
    A = _spd(k, 4)
    B = np.random.default_rng(5).standard_normal((n, k))
    B[2] = 0.0  # a row already solved: its squared residual is below the floor, it never moves
    ref = np.linalg.solve(A, B.T).T
    A32 = A.astype(np.float32)
    X, _, _ = _run(lambda P: P @ A32, B, None, k + 3, axis=1, floor=1e-20)
    np.testing.assert_allclose(X, ref, rtol=1e-3, atol=1e-4)
    assert not X[2].any()
    minv = (1.0 / np.diag(A)).astype(np.float32)[None, :]
    Xp, _, _ = _run(lambda P: P @ A32, B, minv, k + 3, axis=1)
    np.testing.assert_allclose(Xp, ref, rtol=1e-3, atol=1e-4)


def _implicit_problem(seed=0, b=30, m=50, k=6, density=0.15, alpha=5.0):
    rng = np.random.default_rng(seed)
    F = (0.3 * rng.standard_normal((m, k))).astype(np.float32)
    rows = sp.random(b, m, density=density, random_state=seed, format="csr", dtype=np.float32)
    rows.data = 1.0 + rng.integers(0, 3, rows.nnz).astype(np.float32)
    rows = rows.tolil()
    rows[3] = 0.0  # a row without interactions
    rows = rows.tocsr()
    rows.eliminate_zeros()
    return F, rows, alpha


def _dense_normal_equations(F, rows, reg, alpha):
    """argmin sum_j c_j (p_j - f_j.x)^2 + reg ||x||^2 (c_j = alpha r_j, p_j = 1 where observed;
    c_j = 1, p_j = 0 elsewhere) per row, by dense solves."""
    Fd = F.astype(np.float64)
    out = []
    for r in rows.toarray().astype(np.float64):
        c = np.where(r > 0, alpha * r, 1.0)
        p = (r > 0).astype(np.float64)
        out.append(np.linalg.solve((Fd.T * c) @ Fd + reg * np.eye(F.shape[1]), (Fd.T * c) @ p))
    return np.array(out)


def test_fold_in_solves_the_dense_normal_equations():
    F, rows, alpha = _implicit_problem()
    ref = _dense_normal_equations(F, rows, 0.1, alpha)
    got = fold_in(F, rows, 0.1, alpha, chunk_rows=7)  # several chunks
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
    assert not got[3].any()  # no interactions: zero
    np.testing.assert_allclose(fold_in(F, rows, 0.1, alpha, gram=gram_matrix(F)), got, rtol=1e-6)
    np.testing.assert_allclose(gram_matrix(F), F.T.astype(np.float64) @ F, rtol=1e-5, atol=1e-6)  # float32 product


def test_solve_rows_follows_implicits_least_squares_cg():
    from implicit.cpu._als import least_squares_cg

    F, rows, alpha = _implicit_problem(seed=1)
    C = (alpha * rows).astype(np.float32).tocsr()
    G = gram_matrix(F)
    x0 = np.random.default_rng(2).standard_normal((rows.shape[0], F.shape[1])).astype(np.float32) * 0.1
    has = np.diff(C.indptr) > 0
    for steps in (1, 3):
        ours = solve_rows(F, C, 0.1, G, x0=x0, cg_steps=steps)
        theirs = x0.copy()
        least_squares_cg(C, theirs, F, 0.1, num_threads=1, cg_steps=steps)
        np.testing.assert_allclose(ours[has], theirs[has], rtol=1e-3, atol=1e-5)
    # enough steps reach the exact half-step; cg_steps=None is that exact solve
    exact = solve_rows(F, C, 0.1, G)
    np.testing.assert_allclose(exact, fold_in(F, C, 0.1, 1.0), rtol=1e-6)
    np.testing.assert_allclose(solve_rows(F, C, 0.1, G, x0=x0, cg_steps=30), exact, rtol=1e-3, atol=1e-4)
    assert np.abs(solve_rows(F, C, 0.1, G, x0=x0, cg_steps=1) - exact).max() > 1e-3  # one step is not


def test_converged_half_step_is_the_exact_solve_and_implicits_cg_on_long_rows():
    from implicit.cpu._als import least_squares_cg

    from coldstart.core.constants import LOW_RANK_MAX_ENTRIES

    rng = np.random.default_rng(3)
    n_rows, m, k = 40, 120, 8
    F = rng.standard_normal((m, k)).astype(np.float32) * 0.3
    dense = (rng.random((n_rows, m)) < 0.05).astype(np.float32) * rng.uniform(1.0, 30.0, (n_rows, m)).astype(np.float32)
    dense[0] = 0.0  # no interactions: zero, as implicit
    dense[1, :LOW_RANK_MAX_ENTRIES + 10] = 5.0  # longer than the low-rank limit: implicit's CG
    dense[2, :3] = (0.5, 4.0, 9.0)  # a confidence under 1: implicit's CG
    C = sp.csr_matrix(dense)
    x0 = rng.standard_normal((n_rows, k)).astype(np.float32) * 0.1
    got = x0.copy()
    converged_half_step(C, got, F, 0.1, num_threads=1, cg_steps=4)
    exact = fold_in(F, C, 0.1, 1.0)
    low = np.ones(n_rows, bool)
    low[[1, 2]] = False
    np.testing.assert_allclose(got[low], exact[low], rtol=1e-4, atol=1e-5)
    assert not got[0].any()
    cg = x0.copy()
    least_squares_cg(C, cg, F, 0.1, num_threads=1, cg_steps=4)
    np.testing.assert_array_equal(got[~low], cg[~low])
    assert np.abs(cg[low] - exact[low]).max() > 1e-4  # 4 CG steps are not converged: the exact solve was used


@pytest.mark.xfail(strict=True, reason="solve_rows moves a row without interactions from x0 toward 0 "
                   "by CG steps; implicit's least_squares_cg sets it to 0 at once")
def test_solve_rows_zeroes_rows_without_interactions_as_implicit_does():
    from implicit.cpu._als import least_squares_cg

    F, rows, alpha = _implicit_problem(seed=1)
    C = (alpha * rows).astype(np.float32).tocsr()
    x0 = np.full((rows.shape[0], F.shape[1]), 0.1, np.float32)
    theirs = x0.copy()
    least_squares_cg(C, theirs, F, 0.1, num_threads=1, cg_steps=2)
    assert not theirs[3].any()
    np.testing.assert_allclose(solve_rows(F, C, 0.1, gram_matrix(F), x0=x0, cg_steps=2)[3], theirs[3], atol=1e-6)


def _als_loss(W, X, C, U, lam):
    """sum_{i,u} c_iu (p_iu - u_u . x_i W)^2 + lam ||W||^2, with c = 1 and p = 0 where unobserved."""
    S = (X.toarray() @ W.astype(np.float64)) @ U.T.astype(np.float64)
    Cd = C.toarray().astype(np.float64)
    c, p = np.where(Cd > 0, Cd, 1.0), (Cd > 0).astype(np.float64)
    return float((c * (p - S) ** 2).sum() + lam * (W.astype(np.float64) ** 2).sum())


def test_fit_map_on_interactions_lowers_the_als_loss_monotonically():
    rng = np.random.default_rng(6)
    n, d, m, k = 80, 15, 40, 4
    X = sp.random(n, d, density=0.3, random_state=6, format="csr", dtype=np.float32)
    C = sp.random(n, m, density=0.1, random_state=7, format="csr", dtype=np.float32)
    C.data = 1.0 + 10.0 * rng.random(C.nnz, dtype=np.float32)
    U = (0.5 * rng.standard_normal((m, k))).astype(np.float32)
    W0 = (0.1 * rng.standard_normal((d, k))).astype(np.float32)
    lam_rel = 0.3
    lam = lam_rel * np.linalg.eigvalsh(U.T.astype(np.float64) @ U).mean()
    losses = [_als_loss(W0, X, C, U, lam)]
    for iters in (1, 2, 4, 8, 60):
        W = fit_map_on_interactions(X, C, U, lam_rel, W0.copy(), iters=iters, num_threads=1)
        losses.append(_als_loss(W, X, C, U, lam))
    assert all(b <= a * (1 + 1e-6) for a, b in zip(losses, losses[1:])), losses
    assert losses[1] < losses[0] and losses[-1] < 0.9 * losses[0]
    # converged: a small move in any direction does not lower the loss further
    for _ in range(3):
        D = rng.standard_normal((d, k)).astype(np.float32) * 1e-2
        assert _als_loss(W + D, X, C, U, lam) >= losses[-1] * (1 - 1e-6)
        assert _als_loss(W - D, X, C, U, lam) >= losses[-1] * (1 - 1e-6)


def test_pcg_zero_steps_leaves_the_iterate_and_a_converged_row_stays_put():
    A = np.eye(3, dtype=np.float32) * 2
    X, R, steps = _run(lambda P: P @ A, np.ones((2, 3)), None, 0, axis=1)
    assert steps == 0 and not X.any() and np.all(R == 1)
    X, R, steps = _run(lambda P: P @ A, np.ones((2, 3)), None, 5, axis=1)
    assert steps == 5  # no tol, no floor: every step runs, without dividing by a zero curvature
    np.testing.assert_allclose(X, 0.5, rtol=1e-6)
    assert np.all(np.isfinite(X)) and not R.any()
