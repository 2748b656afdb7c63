"""coldstart.core.mapping: RidgeMap against scikit-learn's Ridge, sparse and dense input, the
compact storage of the active columns, and scikit-learn's estimator checks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Ridge

from coldstart.core.mapping import RidgeMap, active_columns
from tests.conftest import sklearn_checks

EXACT = dict(tol=1e-9, max_iter=2000, num_threads=1)  # CG run to convergence


def _problem(seed=0, n=60, d=12, k=3, density=0.4):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, random_state=seed, format="csr", dtype=np.float64)
    X.data = rng.random(X.nnz) * 3.0
    Y = X @ rng.standard_normal((d, k)) + 0.5 + 0.1 * rng.standard_normal((n, k))
    return X, np.asarray(Y)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_sklearn_ridge(fit_intercept, weighted):
    X, Y = _problem()
    w = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    ref = Ridge(alpha=0.7, fit_intercept=fit_intercept, solver="cholesky")
    ref.fit(X.toarray(), Y, sample_weight=w)
    got = RidgeMap(alpha=0.7, fit_intercept=fit_intercept, **EXACT).fit(X, Y, sample_weight=w)
    scale = np.abs(ref.coef_).max()
    np.testing.assert_allclose(got.coef_, ref.coef_.T, rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(got.intercept_, np.broadcast_to(ref.intercept_, (Y.shape[1],)),
                               rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(got.predict(X), ref.predict(X), rtol=1e-4, atol=1e-4 * np.abs(Y).max())
    if not fit_intercept:
        assert not got.intercept_.any()


def test_sparse_and_dense_input_give_the_same_map():
    X, Y = _problem(seed=2)
    a = RidgeMap(alpha=0.3, **EXACT).fit(X, Y)
    b = RidgeMap(alpha=0.3, **EXACT).fit(X.toarray(), Y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(a.predict(X), b.predict(X.toarray()), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.predict(X.toarray()), a.predict(X), rtol=1e-5, atol=1e-6)


def test_only_the_active_columns_are_stored():
    X, Y = _problem(seed=3, d=10)
    empty = sp.csr_matrix((X.shape[0], 4))
    X2 = sp.hstack([empty[:, :2], X, empty[:, 2:]]).tocsr()  # columns 0, 1, 12, 13 hold nothing
    full = RidgeMap(alpha=0.3, **EXACT).fit(X, Y)
    m = RidgeMap(alpha=0.3, **EXACT).fit(X2, Y)
    np.testing.assert_array_equal(m.columns_, np.arange(2, 12))
    assert m.coef_active_.shape == (10, Y.shape[1]) and m.n_features_in_ == 14
    assert m.coef_.shape == (14, Y.shape[1]) and not m.coef_[[0, 1, 12, 13]].any()
    np.testing.assert_allclose(m.coef_[2:12], full.coef_, rtol=1e-5, atol=1e-7)
    # prediction reads the declared width, also for new rows that use the empty columns
    Xnew = X2[:5].tolil()
    Xnew[:, 0] = 7.0
    np.testing.assert_allclose(m.predict(Xnew.tocsr()), full.predict(X[:5]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.predict(Xnew.toarray()), full.predict(X[:5]), rtol=1e-5, atol=1e-6)
    state = m.get_state()
    assert set(state) == {"coef", "intercept", "columns", "n_features"}
    back = RidgeMap.from_state(m.get_params(), state)
    np.testing.assert_array_equal(back.predict(X2), m.predict(X2))
    with pytest.raises(ValueError, match="features|columns"):
        m.predict(X)  # 10 columns where 14 were declared


def test_active_columns():
    X = sp.csr_matrix(np.array([[0, 1, 0, 2], [0, 3, 0, 0]], dtype=np.float32))
    Xa, cols, d = active_columns(X)
    np.testing.assert_array_equal(cols, [1, 3])
    assert d == 4 and Xa.shape == (2, 2)
    np.testing.assert_array_equal(Xa.toarray(), [[1, 2], [3, 0]])
    Xs, none, d = active_columns(sp.csr_matrix(np.eye(3)))
    assert none is None and d == 3 and Xs.shape == (3, 3)


def test_set_coef_refuses_unsorted_or_out_of_range_columns():
    m = RidgeMap()
    with pytest.raises(ValueError, match="sorted"):
        m.set_coef(np.zeros((2, 3)), np.array([3, 1]), 5)
    with pytest.raises(ValueError, match="sorted"):
        m.set_coef(np.zeros((2, 3)), np.array([1, 5]), 5)
    with pytest.raises(ValueError, match="rows"):
        m.set_coef(np.zeros((4, 3)), None, 5)


# scikit-learn's estimator checks; each check that cannot pass is listed with why (not strict:
# fixing the difference turns it into an XPASS).
@sklearn_checks(RidgeMap(num_threads=1), {
    "check_estimators_empty_data_messages": "the error for zero columns is the library's own text",
    "check_sample_weights_pandas_series": "DataFrames are refused (the model's featurizer reads them)",
    "check_regressor_data_not_an_array": "DataFrames are refused (the model's featurizer reads them)",
    "check_regressor_multioutput": "predictions are float32 (the factors' dtype), not float64",
    "check_sample_weight_equivalence_on_dense_data": "iterative CG (tol 1e-3): weighted and repeated rows "
                                                     "agree to about 1e-4, not 1e-7",
    "check_sample_weight_equivalence_on_sparse_data": "iterative CG (tol 1e-3): weighted and repeated rows "
                                                      "agree to about 1e-4, not 1e-7",
    "check_methods_sample_order_invariance": "float32 row-block sums: reordering the rows changes the "
                                             "last bits of predict",
})
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("num_threads", [1, 2, 3])
def test_predict_into_out_and_each_equals_plain_predict(num_threads):
    X, Y = _problem()
    m = RidgeMap(alpha=0.7, tol=1e-9, max_iter=2000, num_threads=num_threads).fit(X, Y)
    plain = m.predict(X)
    out = np.full(plain.shape, np.nan, np.float32)
    seen = []
    got = m.predict(X, out=out, each=lambda start, rows: seen.append((start, rows.shape[0])))
    assert got is out
    np.testing.assert_array_equal(out, plain)
    assert sum(n for _, n in seen) == X.shape[0] and min(s for s, _ in seen) == 0  # every row, once
