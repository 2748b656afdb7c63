"""coldstart.core.weighting: AttributeWeighting's schemes on a 3 x 4 matrix worked by hand, sparse
== dense, the sufficient-statistics entry Spark uses, and scikit-learn's estimator checks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from coldstart.core.weighting import AttributeWeighting
from tests.conftest import sklearn_checks

# column 0 and 2: counts in two of three rows; column 1: empty; column 3: signed
X = np.array([[1.0, 0.0, 2.0, -1.0],
              [0.0, 0.0, 4.0, 2.0],
              [3.0, 0.0, 0.0, 1.0]], dtype=np.float32)
IDF2 = np.log(4 / 3) + 1  # smooth idf of a column present in 2 of 3 rows: log((1 + 3) / (1 + 2)) + 1
IDF0 = np.log(4) + 1      # ... in none
L2, L3, L4 = (1 + np.log(v) for v in (2, 3, 4))  # sublinear tf 1 + log(x)
R2 = np.sqrt(2)            # rms of column 3: sqrt((1 + 4 + 1) / 3)


def _fit(scheme, Xin=X, norm=None):
    return AttributeWeighting(scheme=scheme, norm=norm).fit(Xin)


def test_auto_uses_tfidf_on_non_negative_columns_and_scale_on_signed_ones():
    w = _fit("auto")
    np.testing.assert_allclose(w.column_weight_, [IDF2, IDF0, IDF2, 1 / R2], rtol=1e-6)
    np.testing.assert_array_equal(w.sublinear_, [True, True, True, False])
    expected = [[IDF2, 0, L2 * IDF2, -1 / R2],
                [0, 0, L4 * IDF2, 2 / R2],
                [L3 * IDF2, 0, 0, 1 / R2]]
    np.testing.assert_allclose(w.transform(X), expected, rtol=1e-6)


def test_tfidf_on_counts_and_refusal_of_negative_columns():
    A = np.abs(X)
    w = _fit("tfidf", A)
    np.testing.assert_allclose(w.column_weight_, [IDF2, IDF0, IDF2, 1.0], rtol=1e-6)  # column 3 in every row
    expected = [[IDF2, 0, L2 * IDF2, 1],
                [0, 0, L4 * IDF2, L2],
                [L3 * IDF2, 0, 0, 1]]
    np.testing.assert_allclose(w.transform(A), expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r"negative values.*\[3\]|columns \[3\]"):
        _fit("tfidf")


def test_scale_unit_and_none():
    rms = np.sqrt([10 / 3, 1.0, 20 / 3, 2.0])  # the empty column keeps weight 1
    rms[1] = 1.0
    np.testing.assert_allclose(_fit("scale").column_weight_, 1 / rms, rtol=1e-6)
    np.testing.assert_allclose(_fit("scale").transform(X), X / rms, rtol=1e-6)
    # unit: one factor making the mean squared row norm 1 (sum of squares 36 over 3 rows)
    np.testing.assert_allclose(_fit("unit").column_weight_, np.full(4, 1 / np.sqrt(12)), rtol=1e-6)
    np.testing.assert_allclose(_fit("none").transform(X), X)
    for scheme in ("scale", "unit", "none"):
        assert not _fit(scheme).sublinear_.any()


def test_l2_rows_and_empty_rows():
    Xz = np.vstack([X, np.zeros((1, 4), np.float32)])
    out = AttributeWeighting().fit(Xz).transform(Xz)
    np.testing.assert_allclose(np.linalg.norm(out[:3], axis=1), 1.0, rtol=1e-6)
    assert not out[3].any()
    raw = _fit("auto", Xz).transform(Xz)
    np.testing.assert_allclose(out[:3], raw[:3] / np.linalg.norm(raw[:3], axis=1, keepdims=True), rtol=1e-6)


def test_sparse_input_gives_the_dense_result_and_stays_sparse():
    for scheme in ("auto", "scale", "unit", "none"):
        for norm in ("l2", None):
            dense = AttributeWeighting(scheme, norm).fit(X)
            sparse = AttributeWeighting(scheme, norm).fit(sp.csr_matrix(X))
            np.testing.assert_allclose(sparse.column_weight_, dense.column_weight_, rtol=1e-6)
            out = sparse.transform(sp.csr_matrix(X))
            assert sp.issparse(out) and out.dtype == np.float32 and out.nnz == np.count_nonzero(X)
            np.testing.assert_allclose(out.toarray(), dense.transform(X), rtol=1e-6)


def test_new_rows_values_below_one_and_negative_counts():
    w = _fit("auto")
    new = np.array([[0.5, 0, -4.0, 0]], dtype=np.float32)  # a negative value in a tf column: symmetric
    np.testing.assert_allclose(w.transform(new), [[0.5 * IDF2, 0, -L4 * IDF2, 0]], rtol=1e-6)


def test_fit_from_stats_is_fit():
    n, d = X.shape
    via_stats = AttributeWeighting().fit_from_stats(n, (X != 0).sum(0), (X.astype(np.float64) ** 2).sum(0),
                                                    (X < 0).any(0))
    direct = AttributeWeighting().fit(X)
    np.testing.assert_array_equal(via_stats.column_weight_, direct.column_weight_)
    np.testing.assert_array_equal(via_stats.sublinear_, direct.sublinear_)
    with pytest.raises(ValueError, match="one entry per column"):
        AttributeWeighting().fit_from_stats(n, np.ones(d), np.ones(d - 1), np.zeros(d, bool))


def test_bad_parameters_and_widths_are_refused():
    with pytest.raises(ValueError, match="scheme must be one of"):
        AttributeWeighting(scheme="bm25").fit(X)
    with pytest.raises(ValueError, match="norm must be"):
        AttributeWeighting(norm="l1").fit(X)
    with pytest.raises(ValueError, match="4"):
        _fit("auto").transform(X[:, :3])


def test_state_round_trip():
    w = AttributeWeighting().fit(sp.csr_matrix(X))
    back = AttributeWeighting.from_state(w.get_params(), w.get_state())
    np.testing.assert_array_equal(back.transform(X), w.transform(X))


@sklearn_checks(AttributeWeighting(), {
    "check_estimators_empty_data_messages": "zero rows are accepted (every idf is log(1) + 1)",
    "check_transformer_preserve_dtypes": "the output is float32 whatever the input (the map's dtype)",
})
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("scheme", ["auto", "none"])
@pytest.mark.parametrize("sparse", [True, False])
def test_tiny_values_are_normalised_like_any_others(sparse, scheme):
    """Rows of values near 1e-25 (float32 squares underflow to 0) are L2-normalised as the
    same rows at scale 1: their norm was read as 0 and every item vector of the fit was zero."""
    rng = np.random.default_rng(0)
    X = (rng.random((40, 6)) * (rng.random((40, 6)) < 0.5)).astype(np.float32)
    X[0] = 0.0
    ref = AttributeWeighting(scheme=scheme).fit(X).transform(X)
    tiny = X * np.float32(1e-25)
    got = AttributeWeighting(scheme=scheme).fit(tiny).transform(sp.csr_matrix(tiny) if sparse else tiny)
    got = got.toarray() if sp.issparse(got) else got
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    assert np.allclose(np.linalg.norm(got[1:], axis=1)[np.abs(X[1:]).sum(1) > 0], 1.0, atol=1e-5)
