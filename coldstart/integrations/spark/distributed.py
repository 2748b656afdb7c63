"""The distributed side of the solvers: cached row blocks of weighted attributes, their data
products summed over the partitions (``treeReduce``), and the core solvers run on those sums.

Every solver is the local one of :mod:`coldstart.core.solvers` (the one CG loop ``pcg``, the map's
``map_cg`` and its block products); only the data products are computed partition by partition.
The driver holds (n_features, k) iterates and (k, k) matrices.

A block is a dict: ``X`` (rows, active columns) float32 CSR of weighted attributes, ``Xt`` its
transpose, ``cols`` the active columns' indices, ``w`` row weights, ``Y`` (rows, k) targets when
known, ``C``/``Ut`` the rows' interactions and their users' vectors for the map on the ALS loss.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone

from coldstart.core.solvers import map_block_op, map_block_start, map_cg, pcg
from coldstart.core.weighting import AttributeWeighting

try:  # pragma: no cover - exercised only without pyspark (require_pyspark says what is missing)
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F
except ImportError:  # pragma: no cover
    pass

_INLINE_BYTES = 256 * 1024  # arrays up to this size go in task closures, larger ones are broadcast


# ====================================================================== additive statistics
def attr_stats(X: sp.csr_matrix) -> dict:
    """Additive statistics of ``AttributeWeighting.fit`` over the rows of X (sparse path)."""
    d = X.shape[1]
    data = X.data.astype(np.float64)
    idx = X.indices
    return {"n": X.shape[0], "df": np.bincount(idx, minlength=d).astype(np.int64),
            "sq": np.bincount(idx, weights=data * data, minlength=d),
            "neg": np.bincount(idx[data < 0], minlength=d).astype(np.int64),
            "bad": int(np.count_nonzero(~np.isfinite(data)))}


def pad(a: np.ndarray, d: int) -> np.ndarray:
    """``a`` (n,) extended with zeros to length ``d``."""
    return a if a.shape[0] >= d else np.concatenate([a, np.zeros(d - a.shape[0], a.dtype)])


def add_stats(a: dict | None, b: dict | None) -> dict | None:
    """Sum two statistics dicts key by key (arrays zero-padded, sets united, ``width`` the max)."""
    if a is None or b is None:
        return b if a is None else a
    out = {}
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray):
            d = max(x.shape[0], y.shape[0])
            out[key] = pad(x, d) + pad(y, d)
        elif isinstance(x, set):
            out[key] = x | y
        elif key == "width":
            out[key] = max(x, y)
        else:
            out[key] = x + y
    return out


def fitted_weighting(template: AttributeWeighting | None, stats: dict, d: int) -> AttributeWeighting | None:
    """The weighting ``template`` fitted on summed :func:`attr_stats` over ``d`` columns, by the
    local formula (``AttributeWeighting.fit_from_stats``); None stays None."""
    if template is None:
        return None
    return clone(template).fit_from_stats(int(stats["n"]), pad(stats["df"], d), pad(stats["sq"], d),
                                          pad(stats["neg"], d) > 0)


def stack_rows(parts: list) -> tuple[sp.csr_matrix, int]:
    """Stack ``(X, width)`` parts (``width``: the columns the rows say they have, -1: unknown) into
    one CSR of the widest width; returns it and that width."""
    width = max(max(w for _, w in parts), max(X.shape[1] for X, _ in parts))
    mats = [sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], max(width, 0))) for X, _ in parts]
    return (sp.vstack(mats, format="csr") if len(mats) > 1 else mats[0]), width


def pair_matrix(lens: np.ndarray, u: np.ndarray, conf: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """The rows' interactions in the local item × user layout: ``C`` (n_rows, n_pairs) CSR whose
    row i holds its ``lens[i]`` pairs in user order, column j the j-th pair; ``u`` and ``conf``
    (n_pairs,) are the pairs' users and confidences row by row. Returns ``C`` and the order
    (n_pairs,) that puts the given pairs in C's column order."""
    n = lens.size
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    order = np.lexsort((u, np.repeat(np.arange(n), lens)))
    C = sp.csr_matrix((conf[order], np.arange(u.size, dtype=np.int32), indptr), shape=(n, u.size))
    return C, order


def fit_error(Y: np.ndarray, pred: np.ndarray) -> tuple[float, int, float, int]:
    """``(Σ (Y - pred)², Y.size, Σ pred², rows)`` in float64: summed over blocks (:func:`add_tuples`),
    the training error of a map and the RMS length of its predictions."""
    pred = np.asarray(pred, np.float64)
    diff = np.asarray(Y, np.float64) - pred
    return float(np.sum(diff * diff)), diff.size, float(np.sum(pred * pred)), pred.shape[0]


def add_tuples(a: tuple, b: tuple) -> tuple:
    """Element-wise sum of two tuples of numbers."""
    return tuple(x + y for x, y in zip(a, b))


def weighted_block(block: dict, weighting: AttributeWeighting | None, d: int) -> dict:
    """A raw block (``X`` raw attributes, ``width``, other keys) with ``X`` replaced by its rows
    weighted with the local transform on their active columns (``X``, ``Xt``, ``cols``); ``w``
    (default ones) float64, ``Y`` float32."""
    X = block["X"]
    if X.shape[1] != d:
        X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], d))
    Xw = sp.csr_matrix(weighting.transform(X) if weighting is not None else X, dtype=np.float32)
    cols = np.unique(Xw.indices).astype(np.int64)
    local = np.searchsorted(cols, Xw.indices).astype(np.int32)
    Xa = sp.csr_matrix((Xw.data, local, Xw.indptr), shape=(Xw.shape[0], cols.size))
    out = {key: v for key, v in block.items() if key not in ("X", "width")}
    out.update({"X": Xa, "Xt": Xa.T.tocsr(), "cols": cols,
                "w": np.asarray(block["w"], np.float64) if "w" in block else np.ones(Xa.shape[0])})
    if "Y" in out:
        out["Y"] = np.asarray(out["Y"], np.float32)
    return out


def summed_interactions(interactions: "DataFrame", user_col: str, item_col: str,
                        rating_col: str | None) -> "DataFrame":
    """``(__id long, u long, r double)``: one row per (user, item), duplicate rows' ratings summed
    (default rating 1), as a scipy matrix built from them would hold."""
    r = F.col(rating_col).cast("double") if rating_col else F.lit(1.0)
    return (interactions.select(F.col(item_col).cast("long").alias("__id"), F.col(user_col).cast("long").alias("u"),
                                r.alias("r"))
            .groupBy("__id", "u").agg(F.sum("r").alias("r")))


# ====================================================================== shipping arrays
def release(*objs) -> None:
    """Destroy the broadcasts among ``objs`` (arrays shipped inline need nothing)."""
    for o in objs:
        if hasattr(o, "destroy"):
            o.destroy()


def ship(sc, a):
    """An array for the task closures: itself when small, else a broadcast (read with ``shipped_value``)."""
    return a if a is None or a.nbytes <= _INLINE_BYTES else sc.broadcast(a)


def shipped_value(a):
    """An array shipped in the task closure, or the value of its broadcast."""
    return a.value if hasattr(a, "value") else a


# ====================================================================== reductions
def merge_rows(a, b):
    """Sum two row-sparse results ``(rows, values (len(rows), ...), extras...)`` (in float64)."""
    if a is None or b is None:
        return b if a is None else a
    ra, va = a[0], a[1]
    rb, vb = b[0], b[1]
    rows = np.union1d(ra, rb)
    vals = np.zeros((rows.size,) + va.shape[1:], dtype=np.float64)
    vals[np.searchsorted(rows, ra)] += va
    vals[np.searchsorted(rows, rb)] += vb
    extras = tuple(np.asarray(x, np.float64) + np.asarray(y, np.float64) for x, y in zip(a[2:], b[2:]))
    return (rows, vals) + extras


def _moments_part(blocks):
    """Per partition, what ``RidgeCG`` sets up and starts from, in one pass: rows of Xᵀw,
    (X∘X)ᵀw and Xᵀ(w ∘ Y) side by side (n_active, 2 + k), as the local float32 products; then
    sum(w), the row count, sum(w ∘ Y) and wᵀY."""
    acc = None
    for _, blk in blocks:
        Xt, w32, Y = blk["Xt"], blk["w"].astype(np.float32), blk["Y"]
        V = w32[:, None] * Y
        rows = np.column_stack([np.asarray(Xt @ w32, dtype=np.float64).ravel(),
                                np.asarray(Xt.multiply(Xt) @ w32, dtype=np.float64).ravel(),
                                np.asarray(Xt @ V, dtype=np.float64)])
        acc = merge_rows(acc, (blk["cols"], rows, float(blk["w"].sum()), float(blk["X"].shape[0]),
                               V.sum(axis=0), w32 @ Y))
    if acc is not None:
        yield acc


def tree_rows(sc, rdd, make_part, arrays: list, depth: int):
    """``rdd.mapPartitions(make_part(*arrays)).treeReduce(merge_rows)``: the arrays travel in the
    task closure when small, else as broadcasts (destroyed afterwards)."""
    inline = sum(a.nbytes for a in arrays) <= _INLINE_BYTES  # no broadcast round trip
    shipped = arrays if inline else [sc.broadcast(a) for a in arrays]
    try:
        return rdd.mapPartitions(make_part(*shipped)).treeReduce(merge_rows, depth)
    finally:
        release(*shipped)


def gather_rows(result, d: int, width: int) -> np.ndarray:
    """Row-sparse ``(rows, values, ...)`` → dense (d, width) float32 (zero rows elsewhere)."""
    S = np.zeros((d, width))
    if result is not None:
        S[result[0]] = result[1]
    return S.astype(np.float32)


def _op_part(P, muP):
    """One CG product per partition: rows of Xᵀ(w ∘ (X P − μP)) and the column sums.

    ``P``/``muP`` are arrays or broadcasts of them.
    """

    def fn(blocks):
        P_, muP_ = shipped_value(P), shipped_value(muP)
        acc = None
        for _, blk in blocks:
            V = blk["w"].astype(np.float32)[:, None] * (np.asarray(blk["X"] @ P_[blk["cols"]]) - muP_)
            acc = merge_rows(acc, (blk["cols"], np.asarray(blk["Xt"] @ V), V.sum(axis=0)))
        if acc is not None:
            yield acc

    return fn


class DistributedRidgeCG:
    """``solvers.RidgeCG`` with its two data products summed over Spark partitions.

    Same float32 arithmetic, preconditioner, stopping rule and intercept as the local solver;
    the driver holds the (n_features, n_outputs) iterates only.
    """

    def __init__(self, sc, blocks, d: int, lam: float, fit_intercept: bool, depth: int):
        self.sc, self.blocks, self.d, self.lam, self.depth = sc, blocks, d, lam, depth
        mom = blocks.mapPartitions(_moments_part).treeReduce(merge_rows, depth)
        m = np.zeros((d, mom[1].shape[1]))
        m[mom[0]] = mom[1]
        self.sw, self.n = float(mom[2]), int(mom[3])
        if self.sw <= 0:
            raise ValueError("sample_weight sums to zero; expected some positive weight")
        self.mu = (m[:, 0] / self.sw if fit_intercept else np.zeros(d)).astype(np.float32)
        diag = m[:, 1] - self.sw * self.mu.astype(np.float64) ** 2 + lam
        diag[diag <= 0] = 1.0
        self.minv = (1.0 / diag).astype(np.float32)[:, None]
        # the right-hand side Xcᵀ(w ∘ Y) of a cold start (B = 0), from the same pass
        self.rhs = m[:, 2:].astype(np.float32) - np.outer(self.mu, mom[4].astype(np.float32))
        self.wy = mom[5].astype(np.float32)

    def _op(self, B: np.ndarray) -> np.ndarray:
        res = tree_rows(self.sc, self.blocks, _op_part, [B, self.mu @ B], self.depth)
        S = gather_rows(res, self.d, B.shape[1])
        return S - np.outer(self.mu, res[2].astype(np.float32)) + self.lam * B

    def solve(self, max_iter: int, tol: float) -> int:
        """``RidgeCG.solve`` from a cold start (B = 0) on the blocks' targets: the local loop
        (``solvers.pcg``) with the distributed product."""
        R = self.rhs.copy()
        self.B = np.zeros((self.d, R.shape[1]), np.float32)
        norm0 = np.linalg.norm(R, axis=0)
        norm0[norm0 == 0] = 1.0
        return pcg(self._op, self.B, R, self.minv, max_iter, axis=0, tol=tol, norm0=norm0)

    def intercept(self) -> np.ndarray:
        ybar = self.wy / self.sw
        return (ybar - self.mu @ self.B).astype(np.float32)


def _interaction_part(block_fn, ev: np.ndarray):
    """Per partition: rows of ``sum_b block_fn(X_b, C_b, Ut_b, ev, P[cols_b])`` — the local map's
    block products (``solvers.map_block_start`` / ``map_block_op``) on the cached item blocks."""

    def make(P):
        def fn(blocks):
            P_ = shipped_value(P)
            acc = None
            for _, blk in blocks:
                out = block_fn(blk["X"], blk["C"], blk["Ut"], ev, P_[blk["cols"]])
                acc = merge_rows(acc, (blk["cols"], out))
            if acc is not None:
                yield acc

        return fn

    return make


def refine_on_interactions(sc, blocks, d: int, W0: np.ndarray, ev: np.ndarray, Q: np.ndarray, lam: float,
                            iters: int, depth: int) -> np.ndarray:
    """:func:`coldstart.core.solvers.fit_map_on_interactions` on the cached item blocks: the same CG
    (``solvers.map_cg``) in the eigenbasis ``Q`` of ``UᵀU``, each block product summed over the
    partitions. The driver holds (n_features, k) iterates and (k, k) matrices."""
    k = W0.shape[1]
    start_part, op_part = _interaction_part(map_block_start, ev), _interaction_part(map_block_op, ev)
    Wt = np.ascontiguousarray(W0 @ Q, dtype=np.float32)
    Wt = map_cg(lambda W: gather_rows(tree_rows(sc, blocks, start_part, [W], depth), d, 2 * k),
                 lambda P: gather_rows(tree_rows(sc, blocks, op_part, [P], depth), d, k),
                 Wt, lam, iters)
    return (Wt @ Q.T).astype(np.float32)

