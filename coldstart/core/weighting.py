"""Attribute weighting: turn raw attribute matrices into what the linear map works best on.

Counts and indicators (non-negative columns) get sublinear term weights (``1 + log tf``) times
an inverse-document-frequency (sublinear tf-idf), signed or dense columns get scaled to unit RMS,
and every row is L2-normalised so that items with many attributes do not dominate. All of it keeps sparse input
sparse and is fitted once on the training items.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from coldstart.core.validation import check_item_features

_TRANSFORM_BLOCK_ROWS = 65536  # rows weighted at a time (their temporaries, not the whole matrix's)
#: a float32 row norm below this lost its squares to underflow: taken again in float64
_TINY_NORM = 1e-18


def _sublinear(x: np.ndarray) -> np.ndarray:
    a = np.abs(x)
    return np.where(a >= 1, np.sign(x) * (1.0 + np.log(np.maximum(a, 1.0))), x).astype(x.dtype)


class AttributeWeighting(TransformerMixin, BaseEstimator):
    """Column weighting + row normalisation for item attributes.

    Parameters
    ----------
    scheme : {"auto", "tfidf", "scale", "unit", "none"}
        "tfidf": sublinear term frequency ``1 + log(x)`` for ``x >= 1`` (scikit-learn's
        ``sublinear_tf``; values below 1 are kept, and a negative value a new item might bring
        is treated symmetrically) times ``idf = log((1 + n) / (1 + df)) + 1``
        (scikit-learn's smooth idf), for non-negative counts or indicators. "scale": each
        column divided by its root mean square (signed numbers, dense vectors). "auto" picks
        "tfidf" for columns that are non-negative and "scale" for columns with negative values.
        "unit": one global factor for every column, so that the training rows' mean squared
        norm is 1 (what ``ColdStartRecommender(weighting="auto")`` uses with a featurizer, whose
        blocks are already weighted). "none": the columns as given.
    norm : {"l2", None}
        Row normalisation applied after the column weighting.

    Attributes
    ----------
    column_weight_ : ndarray of shape (n_features,)
        Multiplier of each column.
    sublinear_ : ndarray of bool, shape (n_features,)
        Columns whose values pass through the sublinear transform first.
    n_features_in_ : int
    """

    def __init__(self, scheme: str = "auto", norm: str | None = "l2"):
        self.scheme = scheme
        self.norm = norm

    def fit(self, X, y=None) -> "AttributeWeighting":
        """Learn column weights from X of shape (n_items, n_features)."""
        self._check_params()
        X = check_item_features(X, "X")
        n, d = X.shape
        if n == 0:
            raise ValueError("X has no rows; expected at least one row to learn the column weights from")
        if sp.issparse(X):
            Xc = X.tocsc()
            df = np.diff(Xc.indptr).astype(np.float64)
            neg = np.zeros(d, dtype=bool)
            if Xc.nnz:
                col_of = np.repeat(np.arange(d), np.diff(Xc.indptr))  # column of each stored value
                neg = np.bincount(col_of[Xc.data < 0], minlength=d) > 0
            sq = np.asarray(X.multiply(X).sum(axis=0)).ravel()
        else:
            df = (X != 0).sum(axis=0).astype(np.float64)
            neg = (X < 0).any(axis=0)
            sq = (X.astype(np.float64) ** 2).sum(axis=0)
        return self.fit_from_stats(n, df, sq, neg)

    def fit_from_stats(self, n: int, df: np.ndarray, sq: np.ndarray, neg: np.ndarray) -> "AttributeWeighting":
        """Learn the column weights from the sufficient statistics of the training rows.

        The one weighting formula: :meth:`fit` computes the statistics of a local matrix,
        ``coldstart.integrations.spark`` sums them over partitions.

        Parameters
        ----------
        n : int
            Number of rows.
        df : ndarray of shape (n_features,)
            Rows with a stored (non-zero) value per column.
        sq : ndarray of shape (n_features,)
            Sum of squared values per column.
        neg : ndarray of bool, shape (n_features,)
            Columns with a negative value.
        """
        self._check_params()
        df = np.asarray(df, dtype=np.float64)
        sq = np.asarray(sq)
        neg = np.asarray(neg, dtype=bool)
        d = df.shape[0]
        if sq.shape != (d,) or neg.shape != (d,):
            raise ValueError(f"df, sq and neg must have one entry per column; received shapes {df.shape}, "
                             f"{sq.shape}, {neg.shape}")
        rms = np.sqrt(sq / max(n, 1))
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        scale = np.where(rms > 0, 1.0 / np.where(rms > 0, rms, 1.0), 1.0)
        if self.scheme == "tfidf":
            if neg.any():
                raise ValueError(f"scheme='tfidf' needs non-negative attributes; columns "
                                 f"{np.flatnonzero(neg)[:5].tolist()} have negative values. Use 'auto'")
            sub = np.ones(d, dtype=bool)
        elif self.scheme == "scale":
            sub = np.zeros(d, dtype=bool)
        elif self.scheme in ("none", "unit"):
            sub = np.zeros(d, dtype=bool)
            # "unit": one factor for every column, making the mean squared row norm 1
            scale = np.ones(d) if self.scheme == "none" else np.full(d, 1.0 / np.sqrt(max(sq.sum() / max(n, 1), 1e-30)))
        else:
            sub = ~neg
        weight = np.where(sub, idf, scale) if self.scheme not in ("none", "unit") else scale
        self.column_weight_ = weight.astype(np.float32)
        self.sublinear_ = sub
        self.n_features_in_ = d
        return self

    def _check_params(self) -> None:
        if self.scheme not in ("auto", "tfidf", "scale", "unit", "none"):
            raise ValueError(f"scheme must be one of 'auto', 'tfidf', 'scale', 'unit', 'none'; "
                             f"received {self.scheme!r}")
        if self.norm not in ("l2", None):
            raise ValueError(f"norm must be 'l2' or None; received {self.norm!r}")

    def transform(self, X):
        """Weight X of shape (n, n_features_in_); returns the same kind (CSR or ndarray), float32."""
        check_is_fitted(self)
        given = X
        X = check_item_features(X, "X", n_features=self.n_features_in_)
        w = self.column_weight_
        if sp.issparse(X):
            if sp.issparse(given) and np.may_share_memory(X.data, given.data):
                X = X.copy()  # weighted in place below: never the caller's values
            indptr = X.indptr
            for a in range(0, X.shape[0], _TRANSFORM_BLOCK_ROWS):  # temporaries of one block only
                ptr = indptr[a:a + _TRANSFORM_BLOCK_ROWS + 1]
                cols, data = X.indices[ptr[0]:ptr[-1]], X.data[ptr[0]:ptr[-1]]
                big = np.flatnonzero(np.abs(data) > 1)  # the sublinear transform keeps |x| <= 1 as is
                big = big[self.sublinear_[cols[big]]]
                data[big] = _sublinear(data[big])
                data *= w[cols]
                if self.norm == "l2":  # scipy's row sums of the block's squares: the fitted values
                    counts = np.diff(ptr)  # to the bit (another summation order changes the last bits)
                    Xb = sp.csr_matrix((data, cols, ptr - ptr[0]), shape=(len(counts), X.shape[1]))
                    with np.errstate(over="ignore"):  # an overflowing row is taken again below
                        norms = np.sqrt(np.asarray(Xb.multiply(Xb).sum(axis=1)).ravel())
                    # squares past float32's range, or below it (values near 1e-20 square to
                    # nothing): those rows' norms in float64
                    redo = np.flatnonzero(~np.isfinite(norms) | ((norms < _TINY_NORM) & (counts > 0)))
                    if redo.size:
                        Xo = Xb[redo].astype(np.float64)
                        norms = norms.astype(np.float64)
                        norms[redo] = np.sqrt(np.asarray(Xo.multiply(Xo).sum(axis=1)).ravel())
                    norms[norms == 0] = 1.0
                    data /= np.repeat(norms, counts)
            return X
        X = X.copy()
        if self.sublinear_.any():
            X[:, self.sublinear_] = _sublinear(X[:, self.sublinear_])
        X *= w
        if self.norm == "l2":
            with np.errstate(over="ignore"):  # an overflowing row is taken again below
                norms = np.linalg.norm(X, axis=1, keepdims=True)
            redo = np.flatnonzero(~np.isfinite(norms[:, 0]) | ((norms[:, 0] < _TINY_NORM) & X.any(axis=1)))
            if redo.size:  # squares past float32's range or below it: those rows normalised in float64
                Xo = X[redo].astype(np.float64)
                X[redo] = Xo / np.linalg.norm(Xo, axis=1, keepdims=True)
                norms[redo] = 1.0
            norms[norms == 0] = 1.0
            X /= norms
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def get_state(self) -> dict[str, np.ndarray]:
        """Fitted arrays, for pickle-free persistence."""
        check_is_fitted(self)
        return {"column_weight": self.column_weight_, "sublinear": self.sublinear_}

    @classmethod
    def from_state(cls, params: dict, arrays: dict[str, np.ndarray]) -> "AttributeWeighting":
        obj = cls(**params)
        obj.column_weight_ = np.asarray(arrays["column_weight"], dtype=np.float32)
        obj.sublinear_ = np.asarray(arrays["sublinear"], dtype=bool)
        obj.n_features_in_ = len(obj.column_weight_)
        return obj
