"""Spark: fit the attribute → factor map on a cluster, embed and rank items in Spark.

Optional extra ``spark`` (``pip install 'coldstart[spark]'``: pyspark ≥ 4 and pyarrow; classic
Spark, because the map and the top-K use RDDs, which Spark Connect does not offer).

* :class:`SparkAttributeMap` fits the local model's attribute map from a DataFrame of item
  factors (e.g. ``ALSModel.itemFactors``) and a DataFrame of item attributes (Spark ML
  vectors), without collecting the data. Given the interactions and the user factors it is the
  local plug-in map (``ColdStartRecommender(collaborative=<fitted>)``): a ridge start refined
  on the implicit-ALS loss with the users fixed (:func:`coldstart.core.mapping.
  fit_map_on_interactions`); without them the plain ``AttributeWeighting`` + ``RidgeMap``. The
  weighting statistics are one aggregation over the partitions; ``UᵀU`` another; the
  interactions are joined with their users' factor vectors and grouped by item into cached
  item blocks; the solvers are the local conjugate-gradient loops whose data products (the
  local block functions) are computed partition by partition and summed (``treeReduce``),
  the iterates (n_features × n_factors) broadcast each step. The driver holds
  O(n_features × n_factors + n_factors²) numbers. The fitted state *is* a local
  ``AttributeWeighting`` and ``RidgeMap`` (``weighting_``, ``mapper_``), and the partitions
  run the local ``transform``/``predict`` code, so zero-shot vectors are the local ones.
* :meth:`SparkAttributeMap.transform` / :meth:`SparkColdStartRecommender.embed_items` give
  zero-shot factors of new items as a DataFrame (``mapInArrow``, the map broadcast once).
* :func:`recommend_for_all_users` ranks items (warm and zero-shot alike) for every user
  blockwise, like Spark's ``ALSModel.recommendForAllUsers``: users and items hashed into
  blocks, every (user block, item block) pair scored by one matrix product with a per-user
  top-K (excluded pairs removed), the partial lists merged per user block.
* :class:`SparkColdStartRecommender` fits the local default model, content-constrained ALS
  (item vectors ``x_i W``), distributed: users solved exactly per user block, the map refined
  on the ALS loss per sweep as above (the driver holds the user factors between the half-steps);
  or (``method="spark-als"``) Spark's implicit-feedback ALS and the plug-in map;
  :meth:`~SparkColdStartRecommender.to_local` exports a
  local :class:`~coldstart.core.model.ColdStartRecommender` for serving,
  :meth:`~SparkColdStartRecommender.from_local` imports one.

Ids: Spark's ALS needs integer user and item ids in the 32-bit range. The export uses them as
row indices of the local model (``n_users = max(user id) + 1``), so contiguous ids
``0..n-1`` (e.g. from ``StringIndexer`` or :class:`coldstart.IdMap`) are the ones to use.

Executors need ``coldstart`` (and numpy, scipy, scikit-learn, pyarrow) installed, because the
partition functions live in this module; see ``docs/spark.md``.
"""

from __future__ import annotations

import math
import pickle
from typing import Any, Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone

from coldstart.core.mapping import RidgeMap
from coldstart.core.solvers import gram_eigen, map_block_op, map_block_start, map_cg, pcg, solve_rows
from coldstart.core.model import CC_INIT_ITERS, CC_MAP_ITERS
from coldstart.core.weighting import AttributeWeighting

try:  # pragma: no cover - exercised only without pyspark
    import pyarrow as pa
    from pyspark import StorageLevel
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as _exc:  # pragma: no cover
    _IMPORT_ERROR: ImportError | None = _exc
else:
    _IMPORT_ERROR = None

__all__ = [
    "SparkAttributeMap",
    "SparkColdStartRecommender",
    "recommend_for_all_users",
    "csr_to_spark",
    "factors_to_spark",
    "interactions_to_spark",
    "spark_to_csr",
    "spark_to_factors",
]

_BLOB_SCHEMA = "key long, blob binary"
#: Rows the recommender fits its weighting on, as ColdStartRecommender.fit does ("train": warm items).
_WEIGHTING_ON = "train"
_INLINE_BYTES = 256 * 1024  # arrays up to this size go in task closures, larger ones are broadcast


def _require_pyspark() -> None:
    if _IMPORT_ERROR is not None:
        raise ImportError("coldstart.integrations.spark needs pyspark>=4 and pyarrow: pip install 'coldstart[spark]'"
                          f" ({_IMPORT_ERROR})")


# ====================================================================== Arrow ↔ numpy
def _column(batch: "pa.RecordBatch", name: str):
    i = batch.schema.get_field_index(name)
    if i < 0:
        raise KeyError(f"column {name!r} not in {batch.schema.names}")
    return batch.column(i)


def _csr_from_arrow(col, n_features: int | None = None) -> tuple[sp.csr_matrix, int]:
    """Rows of a Spark ML vector column (Arrow struct) or a numeric array column → CSR float32.

    A null vector is an all-zero row. Returns (matrix, number of columns seen, -1 if no row
    says). Sparse vectors keep their explicit zeros (like a scipy CSR given to the local
    model), dense ones keep only their non-zeros (like a dense array given to it).
    """
    n = len(col)
    if pa.types.is_struct(col.type):  # VectorUDT: type (0 sparse, 1 dense), size, indices, values
        fields = col.flatten()  # child arrays with the struct's nulls merged in
        names = [col.type.field(i).name for i in range(col.type.num_fields)]
        f = dict(zip(names, fields))
        kind = f["type"].fill_null(0).to_numpy(zero_copy_only=False).astype(np.int8)
        size = f["size"].fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        values = f["values"]
        vlen = values.value_lengths().fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        data = values.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
        total = int(vlen.sum())
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(vlen, out=indptr[1:])
        dense_row = kind == 1
        indices = np.empty(total, dtype=np.int64)
        entry_dense = np.repeat(dense_row, vlen)
        if dense_row.any():  # position within the row is the column
            indices[:] = np.arange(total, dtype=np.int64) - np.repeat(indptr[:-1], vlen)
            size = np.where(dense_row, vlen, size)
        if (~dense_row).any():
            sparse_idx = f["indices"].flatten().to_numpy(zero_copy_only=False).astype(np.int64)
            indices[~entry_dense] = sparse_idx
        width = int(size.max()) if n else -1
        if n and np.any((size != width) & (size >= 0)):
            bad = np.unique(size[size >= 0])
            raise ValueError(f"attribute vectors have different sizes {bad[:5].tolist()}; expected one "
                             "size (the number of attributes) for every item")
        drop = entry_dense & (data == 0)
        if drop.any():
            keep = ~drop
            counts = np.bincount(np.repeat(np.arange(n), vlen)[keep], minlength=n)
            indices, data = indices[keep], data[keep]
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(counts, out=indptr[1:])
    elif pa.types.is_list(col.type) or pa.types.is_large_list(col.type):  # dense arrays
        vlen = col.value_lengths().fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        flat = col.flatten().fill_null(0).to_numpy(zero_copy_only=False).astype(np.float64)
        widths = np.unique(vlen[vlen > 0])
        if widths.size > 1:
            raise ValueError(f"attribute arrays have different lengths {widths[:5].tolist()}; expected one")
        width = int(widths[0]) if widths.size else -1
        total = flat.size
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(vlen, out=indptr[1:])
        indices = np.arange(total, dtype=np.int64) - np.repeat(indptr[:-1], vlen)
        keep = flat != 0
        counts = np.bincount(np.repeat(np.arange(n), vlen)[keep], minlength=n)
        indices, data = indices[keep], flat[keep]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
    else:
        raise TypeError(f"attributes must be a Spark ML vector or an array of numbers; received {col.type}")
    if n_features is not None:
        if width >= 0 and width != n_features:
            raise ValueError(f"attribute vectors have {width} entries; expected the {n_features} the map "
                             "was fitted on")
        width = n_features
    shape_w = max(width, 0) if width >= 0 else (int(indices.max()) + 1 if indices.size else 0)
    if indices.size and (indices.min() < 0 or indices.max() >= shape_w):
        raise ValueError("attribute vectors hold indices outside their size")
    X = sp.csr_matrix((data.astype(np.float32), indices.astype(np.int32), indptr), shape=(n, shape_w))
    if not X.has_sorted_indices:
        X.sort_indices()
    return X, width


def _factors_from_arrow(col) -> np.ndarray:
    """An array<float|double> or dense ML vector column → (n, k) float32; nulls refused."""
    if col.null_count:
        raise ValueError("the factor column has null rows; expected a vector for every item/user")
    n = len(col)
    if pa.types.is_struct(col.type):
        X, _ = _csr_from_arrow(col)
        return np.asarray(X.toarray(), dtype=np.float32)
    if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)):
        raise TypeError(f"factors must be an array of numbers or a Spark ML vector; received {col.type}")
    lens = col.value_lengths().to_numpy(zero_copy_only=False)
    if n and (lens.min() != lens.max()):
        raise ValueError(f"factor vectors have different lengths ({lens.min()}..{lens.max()}); expected one")
    k = int(lens[0]) if n else 0
    flat = col.flatten().to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(flat, dtype=np.float32).reshape(n, k)


def _ids_from_arrow(col) -> np.ndarray:
    if col.null_count:
        raise ValueError("the id column has null values; expected an integer id for every row")
    ids = col.to_numpy(zero_copy_only=False)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"ids must be integers (Spark's ALS needs them); received {col.type}")
    return ids.astype(np.int64)


def _factor_array(F_: np.ndarray) -> "pa.Array":
    n, k = F_.shape
    flat = pa.array(np.ascontiguousarray(F_, dtype=np.float32).ravel())
    return pa.ListArray.from_arrays(pa.array(np.arange(0, (n + 1) * k, k, dtype=np.int32)) if k else
                                    pa.array(np.zeros(n + 1, dtype=np.int32)), flat)


def _blob(key: int, obj: Any) -> "pa.RecordBatch":
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return pa.RecordBatch.from_arrays([pa.array([int(key)], pa.int64()), pa.array([data], pa.binary())],
                                      names=["key", "blob"])


def _blobs_to_rdd(df: "DataFrame"):
    """A DataFrame of (key, pickled blob) rows → RDD of (key, object)."""
    return df.rdd.map(lambda row: (row[0], pickle.loads(row[1])))


# ====================================================================== pandas/scipy → Spark
def csr_to_spark(spark: "SparkSession", X, ids=None, *, id_col: str = "id", col: str = "attributes"
                 ) -> "DataFrame":
    """A scipy matrix (n, d) → DataFrame ``(id_col long, col vector)``, one ``SparseVector`` per row.

    Vectorised (Arrow), but the rows travel from the driver: for tests and modest catalogs.
    """
    _require_pyspark()
    from pyspark.ml.linalg import VectorUDT

    X = sp.csr_matrix(X, copy=True)
    X.sum_duplicates()  # also sorts the indices, as SparseVector requires
    n, d = X.shape
    ids = np.arange(n) if ids is None else np.asarray(ids)
    if ids.shape != (n,):
        raise ValueError(f"ids must have one entry per row ({n}); received shape {ids.shape}")
    off = pa.array(X.indptr.astype(np.int32))
    table = pa.table({"id": pa.array(ids.astype(np.int64)), "size": pa.array(np.full(n, d, np.int32)),
                      "indices": pa.ListArray.from_arrays(off, pa.array(X.indices.astype(np.int32))),
                      "values": pa.ListArray.from_arrays(off, pa.array(X.data.astype(np.float64)))})
    schema = T.StructType([T.StructField(id_col, T.LongType(), False), T.StructField(col, VectorUDT(), True)])

    def fn(batches):
        for b in batches:
            vec = pa.StructArray.from_arrays(
                [pa.array(np.zeros(b.num_rows, np.int8)), b.column(1), b.column(2), b.column(3)],
                names=["type", "size", "indices", "values"])
            yield pa.RecordBatch.from_arrays([b.column(0), vec], names=[id_col, col])

    return spark.createDataFrame(table).mapInArrow(fn, schema)


def factors_to_spark(spark: "SparkSession", factors, ids=None, *, id_col: str = "id",
                     col: str = "features") -> "DataFrame":
    """An (n, k) array → DataFrame ``(id_col long, col array<float>)`` (the ALS factor layout)."""
    _require_pyspark()
    Fm = np.asarray(factors, dtype=np.float32)
    ids = np.arange(Fm.shape[0]) if ids is None else np.asarray(ids)
    table = pa.table({id_col: pa.array(ids.astype(np.int64)), col: _factor_array(Fm)})
    schema = T.StructType([T.StructField(id_col, T.LongType(), False),
                           T.StructField(col, T.ArrayType(T.FloatType(), False), False)])
    return spark.createDataFrame(table, schema)


def interactions_to_spark(spark: "SparkSession", user_items, *, user_col: str = "user",
                          item_col: str = "item", rating_col: str | None = "rating") -> "DataFrame":
    """A scipy (n_users, n_items) matrix → DataFrame ``(user int, item int[, rating float])``."""
    _require_pyspark()
    coo = sp.coo_matrix(user_items)
    cols = {user_col: pa.array(coo.row.astype(np.int32)), item_col: pa.array(coo.col.astype(np.int32))}
    fields = [T.StructField(user_col, T.IntegerType(), False), T.StructField(item_col, T.IntegerType(), False)]
    if rating_col:
        cols[rating_col] = pa.array(coo.data.astype(np.float32))
        fields.append(T.StructField(rating_col, T.FloatType(), False))
    return spark.createDataFrame(pa.table(cols), T.StructType(fields))


def spark_to_factors(df: "DataFrame", *, id_col: str = "id", col: str = "features"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Collect ``(ids, factors)`` of a factor DataFrame to the driver (for export/tests)."""
    _require_pyspark()
    t = df.select(id_col, col).toArrow()
    if t.num_rows == 0:
        return np.empty(0, np.int64), np.empty((0, 0), np.float32)
    t = t.combine_chunks()
    return _ids_from_arrow(t.column(0).combine_chunks()), _factors_from_arrow(t.column(1).combine_chunks())


def spark_to_csr(df: "DataFrame", *, id_col: str = "id", col: str = "attributes",
                 n_features: int | None = None) -> tuple[np.ndarray, sp.csr_matrix]:
    """Collect ``(ids, attributes CSR)`` of an attribute DataFrame to the driver (tests)."""
    _require_pyspark()
    t = df.select(id_col, col).toArrow().combine_chunks()
    X, _ = _csr_from_arrow(t.column(1).combine_chunks(), n_features)
    return _ids_from_arrow(t.column(0).combine_chunks()), X


# ====================================================================== the map
def _attr_stats(X: sp.csr_matrix) -> dict:
    """Additive statistics of ``AttributeWeighting.fit`` over the rows of X (sparse path)."""
    d = X.shape[1]
    data = X.data.astype(np.float64)
    idx = X.indices
    return {"n": X.shape[0], "df": np.bincount(idx, minlength=d).astype(np.int64),
            "sq": np.bincount(idx, weights=data * data, minlength=d),
            "neg": np.bincount(idx[data < 0], minlength=d).astype(np.int64),
            "bad": int(np.count_nonzero(~np.isfinite(data)))}


def _pad(a: np.ndarray, d: int) -> np.ndarray:
    return a if a.shape[0] >= d else np.concatenate([a, np.zeros(d - a.shape[0], a.dtype)])


def _add_stats(a: dict | None, b: dict | None) -> dict | None:
    if a is None or b is None:
        return b if a is None else a
    out = {}
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray):
            d = max(x.shape[0], y.shape[0])
            out[key] = _pad(x, d) + _pad(y, d)
        elif isinstance(x, set):
            out[key] = x | y
        elif key == "width":
            out[key] = max(x, y)
        else:
            out[key] = x + y
    return out


def _catalog_stats_fn(attributes_col: str):
    """mapInArrow: a partition of attribute rows → one pickled statistics dict."""

    def fn(batches):
        acc = None
        for b in batches:
            if b.num_rows == 0:
                continue
            X, width = _csr_from_arrow(_column(b, attributes_col))
            st = _attr_stats(X)
            st["width"] = max(width, X.shape[1])
            acc = _add_stats(acc, st)
        if acc is not None:
            yield _blob(0, acc)

    return fn


def _weighting_from_stats(template: AttributeWeighting, n: int, df: np.ndarray, sq: np.ndarray,
                          neg: np.ndarray) -> AttributeWeighting:
    """A fitted ``AttributeWeighting`` from the additive statistics of its ``fit``.

    Mirrors :meth:`AttributeWeighting.fit` formula for formula; the tests compare the two on
    the same data, so a change there shows up as a failing parity test.
    """
    w = clone(template)
    if w.scheme not in ("auto", "tfidf", "scale", "none"):
        raise ValueError(f"scheme must be one of 'auto', 'tfidf', 'scale', 'none'; received {w.scheme!r}")
    if w.norm not in ("l2", None):
        raise ValueError(f"norm must be 'l2' or None; received {w.norm!r}")
    d = df.shape[0]
    df = df.astype(np.float64)
    rms = np.sqrt(sq / max(n, 1))
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    scale = np.where(rms > 0, 1.0 / np.where(rms > 0, rms, 1.0), 1.0)
    if w.scheme == "tfidf":
        if neg.any():
            raise ValueError(f"scheme='tfidf' needs non-negative attributes; columns "
                             f"{np.flatnonzero(neg)[:5].tolist()} have negative values. Use 'auto'")
        sub = np.ones(d, dtype=bool)
    elif w.scheme == "scale":
        sub = np.zeros(d, dtype=bool)
    elif w.scheme == "none":
        sub = np.zeros(d, dtype=bool)
        scale = np.ones(d)
    else:
        sub = ~neg
    weight = np.where(sub, idf, scale) if w.scheme != "none" else scale
    return AttributeWeighting.from_state(w.get_params(), {"column_weight": weight.astype(np.float32),
                                                          "sublinear": sub})


def _pairs_from_arrow(col) -> tuple:
    """A ``list<struct<u long, r double, f array<float>>>`` column (an item's interactions, each
    with its user's factor vector; null f: a user without factors) → (pairs per row (n,),
    user ids, ratings (nnz,), user vectors (nnz, k) or None when some are null, nulls)."""
    lens = col.value_lengths().fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = col.flatten()
    f = dict(zip([flat.type.field(i).name for i in range(flat.type.num_fields)], flat.flatten()))
    u = f["u"].fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    r = f["r"].fill_null(np.nan).to_numpy(zero_copy_only=False).astype(np.float64)
    nulls = int(f["f"].null_count)
    return lens, u, r, (None if nulls else _factors_from_arrow(f["f"])), nulls


def _pair_block(parts: list, scale: float, Q: np.ndarray) -> dict:
    """One block's interactions in the layout of the local map's blocks: ``C`` (n_rows,
    n_pairs) CSR of confidences ``scale * rating`` whose columns are the block's pairs (in user
    order within a row, like the local item × user matrix), and ``Ut`` (n_pairs, k), the pairs'
    user vectors in the eigenbasis ``Q`` of ``U'U``."""
    lens = np.concatenate([p[0] for p in parts])
    u = np.concatenate([p[1] for p in parts])
    r = np.concatenate([p[2] for p in parts])
    nulls = sum(p[4] for p in parts)
    ks = {p[3].shape[1] for p in parts if p[3] is not None and p[3].shape[0]}
    stats = {"pairs": int(u.size), "bad_u": nulls, "bad_r": int(np.count_nonzero(~np.isfinite(r) | (r < 0))),
             "ku": ks}
    if nulls or stats["bad_r"] or ks - {Q.shape[0]}:
        return {**stats, "C": None, "Ut": None}  # refused on the driver (_raw_check)
    n = lens.size
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    order = np.lexsort((u, np.repeat(np.arange(n), lens)))
    ups = [p[3] for p in parts if p[3].shape[0]]
    Up = np.concatenate(ups) if ups else np.zeros((0, Q.shape[0]), np.float32)
    conf = r[order].astype(np.float32) * np.float32(scale)  # the local (scale * user_items), float32
    C = sp.csr_matrix((conf, np.arange(u.size, dtype=np.int32), indptr), shape=(n, u.size))
    return {**stats, "C": C, "Ut": np.ascontiguousarray(Up[order] @ Q, dtype=np.float32)}


def _raw_blocks_fn(factors_col: str, attributes_col: str, weight_col: str | None, block_rows: int,
                   pairs: tuple | None = None):
    """mapInArrow: a partition of (factors, attributes[, weight][, pairs]) rows → pickled raw blocks.

    ``pairs``: ``(column, confidence scale, Q)``, the items' interactions (:func:`_pairs_from_arrow`)
    made into each block's ``C`` and ``Ut`` (:func:`_pair_block`).
    """

    def emit(key, parts):
        width = max(max(p[1] for p in parts), max(p[0].shape[1] for p in parts))
        mats = [sp.csr_matrix((p[0].data, p[0].indices, p[0].indptr), shape=(p[0].shape[0], width))
                for p in parts]
        X = sp.vstack(mats, format="csr") if len(mats) > 1 else mats[0]
        block = {"X": X, "width": width, "Y": np.concatenate([p[2] for p in parts]),
                 "w": np.concatenate([p[3] for p in parts])}
        if pairs is not None:
            block.update(_pair_block([p[4] for p in parts], pairs[1], pairs[2]))
        return _blob(key, block)

    def fn(batches):
        parts, rows, key = [], 0, 0
        for b in batches:
            if b.num_rows == 0:
                continue
            X, width = _csr_from_arrow(_column(b, attributes_col))
            Y = _factors_from_arrow(_column(b, factors_col))
            w = (np.ones(b.num_rows) if weight_col is None else
                 _column(b, weight_col).fill_null(np.nan).to_numpy(zero_copy_only=False).astype(np.float64))
            parts.append((X, width, Y, w, None if pairs is None else _pairs_from_arrow(_column(b, pairs[0]))))
            rows += b.num_rows
            if rows >= block_rows:
                yield emit(key, parts)
                parts, rows, key = [], 0, key + 1
        if parts:
            yield emit(key, parts)

    return fn


def _raw_check(block: dict) -> dict:
    X, Y, w = block["X"], block["Y"], block["w"]
    return {"n": X.shape[0], "width": max(block["width"], X.shape[1]),
            "bad_x": int(np.count_nonzero(~np.isfinite(X.data))),
            "bad_y": int(np.count_nonzero(~np.isfinite(Y))),
            "bad_w": int(np.count_nonzero(~np.isfinite(w) | (w < 0))),
            "k": {Y.shape[1]} if Y.shape[0] else set(),
            "pairs": block.get("pairs", 0), "bad_u": block.get("bad_u", 0), "bad_r": block.get("bad_r", 0),
            "ku": block.get("ku", set())}


def _weighted_block(block: dict, weighting: AttributeWeighting | None, d: int) -> dict:
    """Weight a raw block with the local transform; keep its active columns only."""
    X = block["X"]
    if X.shape[1] != d:
        X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], d))
    Xw = weighting.transform(X) if weighting is not None else X
    Xw = sp.csr_matrix(Xw, dtype=np.float32)
    cols = np.unique(Xw.indices).astype(np.int64)
    local = np.searchsorted(cols, Xw.indices).astype(np.int32)
    Xa = sp.csr_matrix((Xw.data, local, Xw.indptr), shape=(Xw.shape[0], cols.size))
    return {"X": Xa, "Xt": Xa.T.tocsr(), "cols": cols, "Y": np.asarray(block["Y"], np.float32),
            "w": np.asarray(block["w"], np.float64), "C": block.get("C"), "Ut": block.get("Ut")}


def _merge_rows(a, b):
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
    """Per partition: rows of (Xᵀw, (X∘X)ᵀw) as the local float32 products, sum(w), count."""
    acc = None
    for _, blk in blocks:
        Xt, w32 = blk["Xt"], blk["w"].astype(np.float32)
        xtw = np.asarray(Xt @ w32, dtype=np.float64).ravel()
        x2w = np.asarray(Xt.multiply(Xt) @ w32, dtype=np.float64).ravel()
        acc = _merge_rows(acc, (blk["cols"], np.stack([xtw, x2w], axis=1), float(blk["w"].sum()),
                                float(blk["X"].shape[0])))
    if acc is not None:
        yield acc


def _rhs_part(blocks):
    """Per partition: rows of Xᵀ(w ∘ Y), sum(w ∘ Y) and wᵀY, in RidgeMap's float32."""
    acc = None
    for _, blk in blocks:
        w32 = blk["w"].astype(np.float32)
        V = w32[:, None] * blk["Y"]
        acc = _merge_rows(acc, (blk["cols"], np.asarray(blk["Xt"] @ V), V.sum(axis=0), w32 @ blk["Y"]))
    if acc is not None:
        yield acc


def _value(a):
    """An array shipped in the task closure, or the value of its broadcast."""
    return a.value if hasattr(a, "value") else a


def _tree_rows(sc, rdd, make_part, arrays: list, depth: int):
    """``rdd.mapPartitions(make_part(*arrays)).treeReduce(_merge_rows)``: the arrays travel in the
    task closure when small, else as broadcasts (destroyed afterwards)."""
    if sum(a.nbytes for a in arrays) <= _INLINE_BYTES:  # no broadcast round trip
        return rdd.mapPartitions(make_part(*arrays)).treeReduce(_merge_rows, depth)
    bcs = [sc.broadcast(a) for a in arrays]
    try:
        return rdd.mapPartitions(make_part(*bcs)).treeReduce(_merge_rows, depth)
    finally:
        for b in bcs:
            b.destroy()


def _gather_rows(result, d: int, width: int) -> np.ndarray:
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
        P_, muP_ = _value(P), _value(muP)
        acc = None
        for _, blk in blocks:
            V = blk["w"].astype(np.float32)[:, None] * (np.asarray(blk["X"] @ P_[blk["cols"]]) - muP_)
            acc = _merge_rows(acc, (blk["cols"], np.asarray(blk["Xt"] @ V), V.sum(axis=0)))
        if acc is not None:
            yield acc

    return fn


def _msd_part(coef_bc, intercept_bc):
    """Sum of squared differences between the targets and the map's float32 predictions, their
    count, the sum of the predictions' squared lengths and the number of rows."""

    def fn(blocks):
        coef, b = coef_bc.value, intercept_bc.value
        total, count, sq, rows = 0.0, 0, 0.0, 0
        for _, blk in blocks:
            pred = np.asarray(blk["X"] @ coef[blk["cols"]]) + b
            diff = blk["Y"].astype(np.float64) - pred
            total += float(np.sum(diff * diff))
            count += diff.size
            sq += float(np.sum(pred.astype(np.float64) ** 2))
            rows += pred.shape[0]
        yield (total, count, sq, rows)

    return fn


class _DistributedPCG:
    """``solvers.RidgeCG`` with its two data products summed over Spark partitions.

    Same float32 arithmetic, preconditioner, stopping rule and intercept as the local solver;
    the driver holds the (n_features, n_outputs) iterates only.
    """

    def __init__(self, sc, blocks, d: int, lam: float, fit_intercept: bool, depth: int):
        self.sc, self.blocks, self.d, self.lam, self.depth = sc, blocks, d, lam, depth
        mom = blocks.mapPartitions(_moments_part).treeReduce(_merge_rows, depth)
        m2 = np.zeros((d, 2))
        m2[mom[0]] = mom[1]
        self.sw, self.n = float(mom[2]), int(mom[3])
        if self.sw <= 0:
            raise ValueError("sample_weight sums to zero; expected some positive weight")
        self.mu = (m2[:, 0] / self.sw if fit_intercept else np.zeros(d)).astype(np.float32)
        diag = m2[:, 1] - self.sw * self.mu.astype(np.float64) ** 2 + lam
        diag[diag <= 0] = 1.0
        self.minv = (1.0 / diag).astype(np.float32)[:, None]

    def _op(self, B: np.ndarray) -> np.ndarray:
        res = _tree_rows(self.sc, self.blocks, _op_part, [B, self.mu @ B], self.depth)
        S = _gather_rows(res, self.d, B.shape[1])
        return S - np.outer(self.mu, res[2].astype(np.float32)) + self.lam * B

    def solve(self, max_iter: int, tol: float) -> int:
        """``RidgeCG.solve`` from a cold start (B = 0) on the blocks' targets: the local loop
        (``solvers.pcg``) with the distributed product."""
        res = self.blocks.mapPartitions(_rhs_part).treeReduce(_merge_rows, self.depth)
        k = res[1].shape[1]
        R = _gather_rows(res, self.d, k) - np.outer(self.mu, res[2].astype(np.float32))
        self.wy = res[3].astype(np.float32)
        self.B = np.zeros((self.d, k), np.float32)
        norm0 = np.linalg.norm(R, axis=0)
        norm0[norm0 == 0] = 1.0
        return pcg(self._op, self.B, R, self.minv, max_iter, axis=0, tol=tol, norm0=norm0)

    def intercept(self) -> np.ndarray:
        ybar = self.wy / self.sw
        return (ybar - self.mu @ self.B).astype(np.float32)


def _gram_fn(factors_col: str):
    """mapInArrow: a partition of user factor rows → one pickled ``{k: UᵀU}`` (float32 products
    summed in float64), the row count and the non-finite entries."""

    def fn(batches):
        acc: dict = {"G": {}, "n": 0, "bad": 0}
        for b in batches:
            if b.num_rows == 0:
                continue
            U = _factors_from_arrow(_column(b, factors_col))
            acc["n"] += U.shape[0]
            acc["bad"] += int(np.count_nonzero(~np.isfinite(U)))
            k = U.shape[1]
            acc["G"][k] = acc["G"].get(k, 0.0) + (U.T @ U).astype(np.float64)
        yield _blob(0, acc)

    return fn


def _add_gram(a: dict, b: dict) -> dict:
    G = dict(a["G"])
    for k, g in b["G"].items():
        G[k] = G.get(k, 0.0) + g
    return {"G": G, "n": a["n"] + b["n"], "bad": a["bad"] + b["bad"]}


def _interaction_part(block_fn, ev: np.ndarray):
    """Per partition: rows of ``sum_b block_fn(X_b, C_b, Ut_b, ev, P[cols_b])`` — the local map's
    block products (``solvers.map_block_start`` / ``map_block_op``) on the cached item blocks."""

    def make(P):
        def fn(blocks):
            P_ = _value(P)
            acc = None
            for _, blk in blocks:
                out = block_fn(blk["X"], blk["C"], blk["Ut"], ev, P_[blk["cols"]])
                acc = _merge_rows(acc, (blk["cols"], out))
            if acc is not None:
                yield acc

        return fn

    return make


def _refine_on_interactions(sc, blocks, d: int, W0: np.ndarray, ev: np.ndarray, Q: np.ndarray, lam: float,
                            iters: int, depth: int) -> np.ndarray:
    """:func:`coldstart.core.solvers.fit_map_on_interactions` on the cached item blocks: the same CG
    (``solvers.map_cg``) in the eigenbasis ``Q`` of ``UᵀU``, each block product summed over the
    partitions. The driver holds (n_features, k) iterates and (k, k) matrices."""
    k = W0.shape[1]
    start_part, op_part = _interaction_part(map_block_start, ev), _interaction_part(map_block_op, ev)
    Wt = np.ascontiguousarray(W0 @ Q, dtype=np.float32)
    Wt = map_cg(lambda W: _gather_rows(_tree_rows(sc, blocks, start_part, [W], depth), d, 2 * k),
                 lambda P: _gather_rows(_tree_rows(sc, blocks, op_part, [P], depth), d, k),
                 Wt, lam, iters)
    return (Wt @ Q.T).astype(np.float32)


def _check_weighting(weighting) -> AttributeWeighting | None:
    if isinstance(weighting, str):
        if weighting != "auto":
            raise ValueError(f"weighting must be 'auto', None or an AttributeWeighting; received {weighting!r}")
        return AttributeWeighting()
    if weighting is None:
        return None
    if not isinstance(weighting, AttributeWeighting):
        raise TypeError("the Spark map supports coldstart.AttributeWeighting only; received "
                        f"{type(weighting).__name__}")
    return clone(weighting)


def _check_mapper(mapper, alpha: float | None) -> RidgeMap:
    if mapper is None:
        return RidgeMap() if alpha is None else RidgeMap(alpha=alpha)
    if not isinstance(mapper, RidgeMap):
        raise TypeError(f"the Spark map supports coldstart.RidgeMap only; received {type(mapper).__name__}")
    return clone(mapper)


class _MapEmbedder:
    """Picklable ``weighting.transform`` + ``mapper.predict`` for the partitions."""

    def __init__(self, weighting, mapper):
        self.weighting = None if weighting is None else (weighting.get_params(), weighting.get_state())
        self.mapper = (mapper.get_params(), mapper.get_state())

    def __call__(self, X):
        if not hasattr(self, "_objs"):
            wt = None if self.weighting is None else AttributeWeighting.from_state(*self.weighting)
            self._objs = (wt, RidgeMap.from_state(*self.mapper))
        wt, mp = self._objs
        return np.asarray(mp.predict(wt.transform(X) if wt is not None else X), dtype=np.float32)

    def __getstate__(self):
        return {"weighting": self.weighting, "mapper": self.mapper}


def _embed_frame(df: "DataFrame", embedder, n_features: int, *, attributes_col: str, output_col: str,
                 keep: Iterable[str] | None) -> "DataFrame":
    """``df`` → columns ``keep`` + ``output_col`` (array<float>) = ``embedder(attributes CSR)``."""
    if attributes_col not in df.columns:
        raise ValueError(f"item_attributes lacks the column {attributes_col!r}; it has {df.columns}")
    keep = [c for c in df.columns if c != attributes_col] if keep is None else list(keep)
    sdf = df.select(*keep, attributes_col)
    schema = T.StructType([sdf.schema[c] for c in keep] +
                          [T.StructField(output_col, T.ArrayType(T.FloatType(), False), False)])
    bc = df.sparkSession.sparkContext.broadcast(embedder)

    def fn(batches):
        emb = bc.value
        for b in batches:
            X, _ = _csr_from_arrow(_column(b, attributes_col), n_features)
            V = np.asarray(emb(X), dtype=np.float32)
            yield pa.RecordBatch.from_arrays([_column(b, c) for c in keep] + [_factor_array(V)],
                                             names=keep + [output_col])

    return sdf.mapInArrow(fn, schema)


def _item_pairs(interactions: "DataFrame", user_factors: "DataFrame", user_col: str, item_col: str,
                rating_col: str | None, id_col: str, factors_col: str) -> "DataFrame":
    """``(__id, __p)``: per item, its interactions ``list<struct<u, r, f>>`` (user id, summed
    rating, the user's factor vector; null when the user has none), in Spark."""
    uf = user_factors.select(F.col(id_col).cast("long").alias("u"), F.col(factors_col).alias("f"))
    return (_summed_interactions(interactions, user_col, item_col, rating_col).join(uf, on="u", how="left")
            .groupBy("__id").agg(F.collect_list(F.struct("u", "r", "f")).alias("__p")))


def _summed_interactions(interactions: "DataFrame", user_col: str, item_col: str,
                         rating_col: str | None) -> "DataFrame":
    """``(__id long, u long, r double)``: one row per (user, item), duplicate rows' ratings summed
    (default rating 1), as a scipy matrix built from them would hold."""
    r = F.col(rating_col).cast("double") if rating_col else F.lit(1.0)
    return (interactions.select(F.col(item_col).cast("long").alias("__id"), F.col(user_col).cast("long").alias("u"),
                                r.alias("r"))
            .groupBy("__id", "u").agg(F.sum("r").alias("r")))


def _pair_precision_fn(scale: float):
    """mapInArrow: (rating, user vector) rows → one pickled ``{sum of max(scale * r - 1, 0) ||u||²,
    pairs, pairs without a user vector, bad ratings}``, in ``_resolve_prior_weight``'s arithmetic."""

    def fn(batches):
        acc = {"sum": 0.0, "n": 0, "bad_u": 0, "bad_r": 0}
        for b in batches:
            if b.num_rows == 0:
                continue
            f = _column(b, "f")
            r = _column(b, "r").fill_null(np.nan).to_numpy(zero_copy_only=False).astype(np.float64)
            acc["bad_u"] += f.null_count
            acc["bad_r"] += int(np.count_nonzero(~np.isfinite(r) | (r < 0)))
            if f.null_count:
                continue
            U = _factors_from_arrow(f)
            sq = np.einsum("ij,ij->i", U, U).astype(np.float64)
            conf = scale * r.astype(np.float32).astype(np.float64)  # the local float32 user_items
            acc["sum"] += float(np.sum(np.maximum(conf - 1.0, 0.0) * sq))
            acc["n"] += r.size
        yield _blob(0, acc)

    return fn


class SparkAttributeMap:
    """Attribute weighting + attribute → factor map fitted over Spark partitions.

    Two map families, those of the local model:

    * without ``interactions`` (or with a ``mapper``): the ridge map, the same model as the local
      ``AttributeWeighting().fit(X_warm)`` followed by ``RidgeMap().fit(weighting.transform(X_warm),
      V_warm)`` (same formulas, intercept, implicit centring, penalty, float32
      Jacobi-preconditioned CG and stopping rule);
    * with ``interactions`` and ``user_factors``: the local plug-in map
      (``ColdStartRecommender(collaborative=<fitted>)``): a ridge start on the item factors
      (``RidgeMap(alpha=1, fit_intercept=False)``, ``PLUGIN_INIT_ITERS`` CG steps), then
      ``PLUGIN_MAP_ITERS`` CG steps of :func:`coldstart.core.solvers.fit_map_on_interactions`, the
      map refined on the implicit-ALS loss with the users fixed; no intercept.

    Both run the local code on cached item blocks (the local CG loops, the local block products)
    with every data product summed over the partitions; only the order of floating-point
    sums differs from the local fit.

    Parameters
    ----------
    alpha : float, optional
        Penalty of the map; ignored when ``mapper`` is given. Ridge family: ``RidgeMap``'s
        ``alpha`` (default 0.5). Refined family: relative to the mean eigenvalue of ``UᵀU``, as
        ``ColdStartRecommender(map_alpha=...)`` (default: its ``map_alpha``, 3.0).
    weighting : "auto", None or AttributeWeighting
        As ``ColdStartRecommender(weighting=...)``.
    mapper : RidgeMap, optional
        Ridge family only: template whose ``alpha``, ``fit_intercept``, ``tol`` and
        ``max_iter`` are used.
    num_partitions : int, optional
        Repartition the joined training data into this many partitions (default: as the join
        leaves it). Each conjugate-gradient iteration runs one task per partition.
    block_rows : int
        Rows per cached block inside a partition.
    tree_depth : int
        Depth of the ``treeReduce`` that sums the partitions' products.

    Attributes
    ----------
    weighting_ : fitted AttributeWeighting or None
    mapper_ : fitted RidgeMap
        Refined family: ``RidgeMap(alpha=alpha, fit_intercept=False)`` holding the refined
        coefficients and a zero intercept, as the local plug-in model's ``mapper_``.
    refined_ : bool or None
        Whether the map was refined on the interactions (the plug-in family); None when
        imported with :meth:`from_local`.
    train_msd_ : float
        Mean squared difference between the training factors and the map's predictions.
    pred_rms_ : float or None
        RMS length of the map's predictions for the training items: the reference length of
        the recommender's ``zero_shot_norm_power`` (the local model's ``content_norm_``).
    n_features_in_, n_factors_, n_train_items_ : int
    n_iter_ : int
        CG steps run (refined family: the ridge start's plus the refinement's).
    n_train_pairs_ : int
        (user, item) pairs the refinement used (0 for the ridge family, -1 when imported).
    """

    def __init__(self, alpha: float | None = None, weighting: Any = "auto", mapper: RidgeMap | None = None,
                 num_partitions: int | None = None, block_rows: int = 65536, tree_depth: int = 2):
        self.alpha = alpha
        self.weighting = weighting
        self.mapper = mapper
        self.num_partitions = num_partitions
        self.block_rows = block_rows
        self.tree_depth = tree_depth

    # ------------------------------------------------------------------ fit
    def fit(self, item_factors: "DataFrame", item_attributes: "DataFrame", *, id_col: str = "id",
            factors_col: str = "features", attributes_col: str = "attributes",
            attributes_id_col: str | None = None, weight_col: str | None = None,
            weighting_on: str = "train", interactions: "DataFrame | None" = None,
            user_factors: "DataFrame | None" = None, confidence_scale: float = 1.0, user_col: str = "user",
            item_col: str = "item", rating_col: str | None = None) -> "SparkAttributeMap":
        """Fit on the items of ``item_factors`` (the warm items) and their attributes.

        Parameters
        ----------
        item_factors : DataFrame
            ``id_col`` (integer) and ``factors_col`` (array of numbers or ML vector), e.g.
            ``ALSModel.itemFactors``. Optionally ``weight_col``, a non-negative weight per item
            (``RidgeMap.fit(sample_weight=...)``; ridge family only).
        item_attributes : DataFrame
            The catalog: ``attributes_id_col`` (default ``id_col``) and ``attributes_col``
            (Spark ML ``SparseVector``/``DenseVector``, or an array of numbers), one row per
            item; a null vector is an item without attributes (an all-zero row).
        weighting_on : {"train", "catalog"}
            Rows the weighting statistics come from: the training items (those of
            ``item_factors``, as ``ColdStartRecommender.fit`` does), or every row of
            ``item_attributes``.
        interactions : DataFrame, optional
            ``user_col``, ``item_col`` and optionally ``rating_col`` (default: every
            interaction weighs 1): refine the map on the implicit-ALS loss (the plug-in
            family). Duplicate (user, item) rows are summed; interactions of items not in
            ``item_factors`` are ignored.
        user_factors : DataFrame
            Required with ``interactions``: ``id_col`` and ``factors_col`` as ``item_factors``
            (e.g. ``ALSModel.userFactors``), every user of ``interactions`` included.
        confidence_scale : float
            Confidence of an interaction = ``confidence_scale * rating`` (implicit's convention,
            the local model's ``alpha``). For Spark ALS factors, ``1 + alpha`` (Spark's
            confidence of a rating 1) is the consistent choice;
            :class:`SparkColdStartRecommender` passes its ``fold_in_alpha``.
        """
        _require_pyspark()
        from coldstart.core.model import PLUGIN_INIT_ITERS, PLUGIN_MAP_ITERS

        weighting = _check_weighting(self.weighting)
        refined = interactions is not None
        if refined:
            if self.mapper is not None:
                raise ValueError("mapper selects the ridge family, which does not use interactions; pass "
                                 "interactions without a mapper, or a mapper without interactions")
            if user_factors is None:
                raise ValueError("user_factors is required with interactions (the users the map is "
                                 "refined against)")
            if weight_col is not None:
                raise ValueError("weight_col applies to the ridge family only; the refined map weighs "
                                 "items by their interactions")
            if not (np.isscalar(confidence_scale) and np.isfinite(confidence_scale) and confidence_scale > 0):
                raise ValueError(f"confidence_scale must be a positive number; received {confidence_scale!r}")
            lam_rel = _local_default("map_alpha") if self.alpha is None else self.alpha
            if not (np.isscalar(lam_rel) and lam_rel >= 0):
                raise ValueError(f"alpha must be a non-negative number; received {lam_rel!r}")
            mapper = RidgeMap(alpha=lam_rel, fit_intercept=False)
        else:
            if user_factors is not None:
                raise ValueError("user_factors is used only with interactions; pass both or neither")
            mapper = _check_mapper(self.mapper, self.alpha)
            if not (np.isscalar(mapper.alpha) and mapper.alpha >= 0):
                raise ValueError(f"alpha must be a non-negative number; received {mapper.alpha!r}")
        if weighting_on not in ("catalog", "train"):
            raise ValueError(f"weighting_on must be 'catalog' or 'train'; received {weighting_on!r}")
        aid = attributes_id_col or id_col
        frames = [(item_factors, [id_col, factors_col] + ([weight_col] if weight_col else []), "item_factors"),
                  (item_attributes, [aid, attributes_col], "item_attributes")]
        if refined:
            frames += [(interactions, [user_col, item_col] + ([rating_col] if rating_col else []), "interactions"),
                       (user_factors, [id_col, factors_col], "user_factors")]
        for df_, cols, name in frames:
            missing = [c for c in cols if c not in df_.columns]
            if missing:
                raise ValueError(f"{name} lacks columns {missing}; it has {df_.columns}")
        sc = item_factors.sparkSession.sparkContext
        depth = max(int(self.tree_depth), 1)
        left = item_factors.select(F.col(id_col).alias("__id"), F.col(factors_col).alias("__y"),
                                   *([F.col(weight_col).cast("double").alias("__w")] if weight_col else []))
        right = item_attributes.select(F.col(aid).alias("__id"), F.col(attributes_col).alias("__x"))
        joined = left.join(right, on="__id", how="left")
        pairs = None
        if refined:
            ev, Q, lam = self._user_eigenbasis(user_factors, id_col, factors_col, lam_rel, depth)
            joined = joined.join(_item_pairs(interactions, user_factors, user_col, item_col, rating_col, id_col,
                                             factors_col), on="__id", how="left")
            pairs = ("__p", float(confidence_scale), Q)
        joined = joined.drop("__id")
        if self.num_partitions:
            joined = joined.repartition(int(self.num_partitions))
        fn = _raw_blocks_fn("__y", "__x", "__w" if weight_col else None, int(self.block_rows), pairs)
        raw = _blobs_to_rdd(joined.mapInArrow(fn, _BLOB_SCHEMA)).persist(StorageLevel.MEMORY_AND_DISK)
        bcs: list = []
        weighted = None
        try:
            chk = raw.map(lambda kb: _raw_check(kb[1])).treeReduce(_add_stats, depth)
            if chk["bad_y"]:
                raise ValueError("item factors contain NaN or infinite values; expected finite targets")
            if chk["bad_w"]:
                raise ValueError(f"{weight_col} has {chk['bad_w']} negative, null or non-finite weights")
            if len(chk["k"]) != 1:
                raise ValueError(f"item factors have different lengths {sorted(chk['k'])}; expected one")
            k = next(iter(chk["k"]))
            if refined:
                if chk["bad_u"]:
                    raise ValueError(f"interactions hold {chk['bad_u']} (user, item) pairs whose {user_col!r} has no "
                                     "row in user_factors (or is null); expected factors for every user")
                if chk["bad_r"]:
                    raise ValueError(f"interactions hold {chk['bad_r']} negative, null or non-finite "
                                     f"{'ratings' if rating_col is None else repr(rating_col) + ' values'}")
                if chk["ku"] - {k} or Q.shape[0] != k:
                    raise ValueError(f"user factors have length {Q.shape[0]}, item factors {k}; expected one")
            if weighting_on == "catalog":
                st = _blobs_to_rdd(right.drop("__id").mapInArrow(_catalog_stats_fn("__x"), _BLOB_SCHEMA)) \
                    .values().treeReduce(_add_stats, depth)
                d = int(max(st["width"], st["df"].shape[0], chk["width"]))
            else:
                d = int(chk["width"])
                st = raw.map(lambda kb: _attr_stats(kb[1]["X"])).treeReduce(_add_stats, depth)
            if d <= 0:
                raise ValueError("no item has attributes (every attribute vector is null or empty)")
            if st["bad"] or chk["bad_x"]:
                raise ValueError("item_attributes contain NaN or infinite values; expected finite numbers")
            weighting_ = (None if weighting is None else
                          _weighting_from_stats(weighting, int(st["n"]), _pad(st["df"], d), _pad(st["sq"], d),
                                                _pad(st["neg"], d) > 0))
            w_bc = sc.broadcast(weighting_)
            bcs.append(w_bc)
            weighted = raw.mapValues(lambda b: _weighted_block(b, w_bc.value, d)).persist(
                StorageLevel.MEMORY_AND_DISK)
            if refined:  # the local plug-in map: ridge start, then the refinement on the ALS loss
                solver = _DistributedPCG(sc, weighted, d, 1.0, False, depth)
                raw.unpersist()
                n_iter = solver.solve(PLUGIN_INIT_ITERS, 0.0)
                coef = _refine_on_interactions(sc, weighted, d, solver.B, ev, Q, lam, PLUGIN_MAP_ITERS, depth)
                intercept = np.zeros(k, np.float32)
                n_iter += PLUGIN_MAP_ITERS
            else:
                solver = _DistributedPCG(sc, weighted, d, float(mapper.alpha), bool(mapper.fit_intercept), depth)
                raw.unpersist()
                n_iter = solver.solve(int(mapper.max_iter), float(mapper.tol))
                coef, intercept = solver.B, solver.intercept()
            coef_bc, b_bc = sc.broadcast(coef), sc.broadcast(intercept)
            bcs += [coef_bc, b_bc]
            total, count, sq, rows = weighted.mapPartitions(_msd_part(coef_bc, b_bc)).treeReduce(
                lambda a, b: tuple(x + y for x, y in zip(a, b)), depth)
        finally:
            raw.unpersist()
            if weighted is not None:
                weighted.unpersist()
            for b in bcs:
                b.destroy()
        self.weighting_ = weighting_
        self.mapper_ = RidgeMap.from_state(mapper.get_params(), {"coef": coef, "intercept": intercept})
        self.mapper_.n_iter_ = 0 if refined else n_iter  # as the local plug-in model's mapper_
        self.refined_ = refined
        self.n_iter_ = n_iter
        self.n_features_in_ = d
        self.n_factors_ = int(k)
        self.n_train_items_ = int(solver.n)
        self.n_train_pairs_ = int(chk["pairs"])
        self.train_msd_ = total / max(count, 1)
        self.pred_rms_ = float(np.sqrt(sq / max(rows, 1)))
        return self

    @staticmethod
    def _user_eigenbasis(user_factors: "DataFrame", id_col: str, factors_col: str, lam_rel: float,
                         depth: int) -> tuple[np.ndarray, np.ndarray, float]:
        """``G = UᵀU`` aggregated over the partitions of ``user_factors`` → ``solvers.gram_eigen``."""
        uf = user_factors.select(F.col(factors_col).alias("__f"))
        acc = _blobs_to_rdd(uf.mapInArrow(_gram_fn("__f"), _BLOB_SCHEMA)).values().treeReduce(_add_gram, depth)
        if acc["n"] == 0:
            raise ValueError("user_factors is empty; expected the factors of the users of interactions")
        if acc["bad"]:
            raise ValueError("user factors contain NaN or infinite values; expected finite factors")
        if len(acc["G"]) != 1:
            raise ValueError(f"user factors have different lengths {sorted(acc['G'])}; expected one")
        return gram_eigen(next(iter(acc["G"].values())), float(lam_rel))

    # ------------------------------------------------------------------ use
    def _check_fitted(self) -> None:
        if not hasattr(self, "mapper_"):
            raise RuntimeError("this SparkAttributeMap is not fitted; call fit first (or from_local)")

    def embed(self, X) -> np.ndarray:
        """The map's predictions for a local attribute matrix (n, n_features), float32."""
        self._check_fitted()
        return _MapEmbedder(self.weighting_, self.mapper_)(X)

    def transform(self, item_attributes: "DataFrame", *, attributes_col: str = "attributes",
                  output_col: str = "features", keep: Iterable[str] | None = None) -> "DataFrame":
        """The map's predictions for the items of ``item_attributes``, vectorised per Arrow batch.

        Returns the columns ``keep`` (default: every column but ``attributes_col``) followed by
        ``output_col`` (array<float>, ``n_factors_`` long). These are the raw map outputs; the
        recommender's zero-shot vectors are them length-calibrated (``zero_shot_norm_power``,
        reference ``pred_rms_``) times ``zero_shot_scale`` (:meth:`SparkColdStartRecommender.embed_items`).
        """
        _require_pyspark()
        self._check_fitted()
        return _embed_frame(item_attributes, _MapEmbedder(self.weighting_, self.mapper_), self.n_features_in_,
                            attributes_col=attributes_col, output_col=output_col, keep=keep)

    # ------------------------------------------------------------------ local
    @classmethod
    def from_local(cls, weighting: AttributeWeighting | None, mapper: RidgeMap,
                   pred_rms: float | None = None) -> "SparkAttributeMap":
        """Wrap a fitted local weighting (or None) and RidgeMap, e.g. ``model.weighting_, model.mapper_``
        (``pred_rms``: the model's ``content_norm_``)."""
        if not isinstance(mapper, RidgeMap) or not hasattr(mapper, "coef_"):
            raise TypeError("mapper must be a fitted coldstart.RidgeMap")
        if weighting is not None and not (isinstance(weighting, AttributeWeighting)
                                          and hasattr(weighting, "column_weight_")):
            raise TypeError("weighting must be a fitted coldstart.AttributeWeighting or None")
        obj = cls(alpha=mapper.alpha, weighting=None if weighting is None else clone(weighting),
                  mapper=clone(mapper))
        obj.weighting_ = None if weighting is None else AttributeWeighting.from_state(
            weighting.get_params(), weighting.get_state())
        obj.mapper_ = RidgeMap.from_state(mapper.get_params(), mapper.get_state())
        obj.n_iter_ = getattr(mapper, "n_iter_", 0)
        obj.mapper_.n_iter_ = obj.n_iter_
        obj.n_features_in_ = obj.mapper_.coef_.shape[0]
        obj.n_factors_ = obj.mapper_.coef_.shape[1]
        obj.n_train_items_ = obj.n_train_pairs_ = -1
        obj.refined_ = None
        obj.train_msd_ = float("nan")
        obj.pred_rms_ = None if pred_rms is None else float(pred_rms)
        return obj


# ====================================================================== top-K
def _factor_blocks_fn(id_col: str, col: str):
    """mapInArrow: rows (id, factors, __b) of one partition → pickled (ids, factors) per block."""

    def fn(batches):
        ids, fs, bs = [], [], []
        for b in batches:
            if b.num_rows == 0:
                continue
            ids.append(_ids_from_arrow(_column(b, id_col)))
            fs.append(_factors_from_arrow(_column(b, col)))
            bs.append(_column(b, "__b").to_numpy(zero_copy_only=False).astype(np.int64))
        if not ids:
            return
        ids, fs, bs = np.concatenate(ids), np.concatenate(fs), np.concatenate(bs)
        for blk in np.unique(bs):
            m = bs == blk
            yield _blob(int(blk), (ids[m], fs[m]))

    return fn


def _pairs_blocks_fn(user_col: str, item_col: str):
    def fn(batches):
        us, its, bs = [], [], []
        for b in batches:
            if b.num_rows == 0:
                continue
            us.append(_ids_from_arrow(_column(b, user_col)))
            its.append(_ids_from_arrow(_column(b, item_col)))
            bs.append(_column(b, "__b").to_numpy(zero_copy_only=False).astype(np.int64))
        if not us:
            return
        us, its, bs = np.concatenate(us), np.concatenate(its), np.concatenate(bs)
        for blk in np.unique(bs):
            m = bs == blk
            yield _blob(int(blk), (us[m], its[m]))
    return fn


def _concat_blocks(a, b):
    return tuple(np.concatenate([x, y]) for x, y in zip(a, b))


def _sort_block(v):
    """Order a block by id, so that its layout does not depend on the shuffle's fetch order."""
    order = np.argsort(v[0], kind="stable")
    return tuple(x[order] for x in v)


def _top_sorted(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k best (score desc, id asc); -inf scores are kept as padding (id -1)."""
    n, m = scores.shape
    kk = min(k, m)
    if kk < m:
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        scores = np.take_along_axis(scores, part, axis=1)
        ids = np.take_along_axis(ids, part, axis=1)
    order = np.lexsort((ids, -scores), axis=1)
    ids = np.take_along_axis(ids, order, axis=1)
    scores = np.take_along_axis(scores, order, axis=1)
    ids = np.where(np.isneginf(scores), -1, ids)
    return ids, scores


def _score_pair(k: int):
    def fn(pair):
        (ub, ((u_ids, U), excl)), (_, (i_ids, I)) = pair
        S = np.asarray(U @ I.T, dtype=np.float32)
        if excl is not None and len(excl[0]) and len(i_ids):
            ex_u, ex_i = excl
            uo = np.argsort(u_ids, kind="stable")
            io = np.argsort(i_ids, kind="stable")
            pu = np.searchsorted(u_ids, ex_u, sorter=uo).clip(0, len(u_ids) - 1)
            pi = np.searchsorted(i_ids, ex_i, sorter=io).clip(0, len(i_ids) - 1)
            ru, ri = uo[pu], io[pi]
            ok = (u_ids[ru] == ex_u) & (i_ids[ri] == ex_i)
            S[ru[ok], ri[ok]] = -np.inf
        ids = np.broadcast_to(i_ids, S.shape)
        top_ids, top_scores = _top_sorted(ids, S, k)
        return ub, (u_ids, top_ids, top_scores)
    return fn


def _merge_top(k: int):
    def fn(a, b):
        if not np.array_equal(a[0], b[0]):
            raise RuntimeError("user blocks differ between block pairs; expected a deterministic layout")
        ids = np.concatenate([a[1], b[1]], axis=1)
        scores = np.concatenate([a[2], b[2]], axis=1)
        top_ids, top_scores = _top_sorted(ids, scores, k)
        return a[0], top_ids, top_scores
    return fn


def _to_rows():
    def fn(kv):
        _, (u_ids, ids, scores) = kv
        for u, row_i, row_s in zip(u_ids.tolist(), ids, scores):
            keep = row_i >= 0
            yield (u, [(int(i), float(s)) for i, s in zip(row_i[keep], row_s[keep])])
    return fn


def recommend_for_all_users(user_factors: "DataFrame", item_factors: "DataFrame", k: int, *,
                            exclude: "DataFrame | None" = None, user_id_col: str = "id",
                            item_id_col: str = "id", factors_col: str = "features",
                            exclude_user_col: str = "user", exclude_item_col: str = "item",
                            user_col: str = "user", block_size: int = 4096) -> "DataFrame":
    """Top-``k`` items by dot product for every user, blockwise in Spark.

    Users and items are hashed into blocks of about ``block_size`` rows; every (user block,
    item block) pair is one task computing ``U Iᵀ`` and its per-user top-k (``exclude``'d pairs
    removed first), and the partial lists of a user block are merged by ``reduceByKey``.
    Nothing but the block metadata reaches the driver.

    Parameters
    ----------
    user_factors, item_factors : DataFrame
        ``(id, factors)`` layouts (e.g. ``ALSModel.userFactors`` and warm + zero-shot items).
    k : int
    exclude : DataFrame, optional
        ``(exclude_user_col, exclude_item_col)`` pairs never to recommend (e.g. the training
        interactions, as ``filter_already_liked_items``).

    Returns
    -------
    DataFrame ``(user_col long, recommendations array<struct<item long, score float>>)``,
    best first (ties by item id), at most ``k`` per user (fewer when fewer remain).
    """
    _require_pyspark()
    if not (isinstance(k, (int, np.integer)) and k > 0):
        raise ValueError(f"k must be a positive integer; received {k!r}")
    spark = user_factors.sparkSession
    nu = user_factors.count()
    ni = item_factors.count()
    schema = T.StructType([
        T.StructField(user_col, T.LongType(), False),
        T.StructField("recommendations", T.ArrayType(T.StructType([
            T.StructField("item", T.LongType(), False), T.StructField("score", T.FloatType(), False)]), False), False)])
    if nu == 0 or ni == 0:
        return spark.createDataFrame([], schema)
    nub = max(1, math.ceil(nu / block_size))
    nib = max(1, math.ceil(ni / block_size))

    def blocks(df, id_col, nb):
        sdf = df.select(F.col(id_col).cast("long").alias("__id"), F.col(factors_col).alias("__f"),
                        F.pmod(F.xxhash64(F.col(id_col).cast("long")), F.lit(nb)).alias("__b"))
        return _blobs_to_rdd(sdf.mapInArrow(_factor_blocks_fn("__id", "__f"), _BLOB_SCHEMA)) \
            .reduceByKey(_concat_blocks, nb).mapValues(_sort_block)

    ublocks = blocks(user_factors, user_id_col, nub)
    iblocks = blocks(item_factors, item_id_col, nib)
    if exclude is not None:
        ex = exclude.select(F.col(exclude_user_col).cast("long").alias("__u"),
                            F.col(exclude_item_col).cast("long").alias("__i"),
                            F.pmod(F.xxhash64(F.col(exclude_user_col).cast("long")), F.lit(nub)).alias("__b"))
        ex = _blobs_to_rdd(ex.mapInArrow(_pairs_blocks_fn("__u", "__i"), _BLOB_SCHEMA)) \
            .reduceByKey(_concat_blocks, nub)
        ublocks = ublocks.leftOuterJoin(ex, nub)
    else:
        ublocks = ublocks.mapValues(lambda v: (v, None))
    scored = ublocks.cartesian(iblocks).map(_score_pair(int(k))).reduceByKey(_merge_top(int(k)), nub)
    rows = scored.flatMap(_to_rows())
    return spark.createDataFrame(rows, schema)


# ====================================================================== content-constrained ALS
# CG steps of the ridge start and of the map refinement per sweep: ``CC_INIT_ITERS`` /
# ``CC_MAP_ITERS`` of coldstart.core.model, the local ``_fit_content_constrained``'s.


def _init_rows(ids: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Starting vectors uniform(0, 0.01), one generator per id (the same on every partition)."""
    out = np.empty((ids.size, k), np.float32)
    for j, i in enumerate(ids.tolist()):
        out[j] = np.random.default_rng([int(seed), int(i)]).random(k, dtype=np.float32) * np.float32(0.01)
    return out


def _concat_x(parts: list) -> tuple[sp.csr_matrix, int]:
    """Stack (X, width) parts to one CSR of the widest width."""
    width = max(max(w for _, w in parts), max(X.shape[1] for X, _ in parts))
    mats = [sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], max(width, 0))) for X, _ in parts]
    return (sp.vstack(mats, format="csr") if len(mats) > 1 else mats[0]), width


def _cc_item_blocks_fn(alpha: float, block_rows: int):
    """mapInArrow: rows ``(__id, __x, __p list<struct<u, r>>)`` of the warm items → pickled item
    blocks: ids, raw attributes, ``C`` (items × the block's pairs, confidences ``alpha * r`` in
    float32, pairs in user order within an item) and the pairs' user ids ``u``."""

    def emit(key, parts):
        X, width = _concat_x([(p[1], p[2]) for p in parts])
        ids = np.concatenate([p[0] for p in parts])
        lens = np.concatenate([p[3] for p in parts])
        u = np.concatenate([p[4] for p in parts])
        r = np.concatenate([p[5] for p in parts])
        n = ids.size
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lens, out=indptr[1:])
        order = np.lexsort((u, np.repeat(np.arange(n), lens)))
        conf = (alpha * r[order]).astype(np.float32)
        C = sp.csr_matrix((conf, np.arange(u.size, dtype=np.int32), indptr), shape=(n, u.size))
        return _blob(key, {"ids": ids, "X": X, "width": width, "C": C, "u": u[order]})

    def fn(batches):
        parts, rows, key = [], 0, 0
        for b in batches:
            if b.num_rows == 0:
                continue
            X, width = _csr_from_arrow(_column(b, "__x"))
            col = _column(b, "__p")
            lens = col.value_lengths().fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
            flat = col.flatten()
            u = flat.field("u").to_numpy(zero_copy_only=False).astype(np.int64)
            r = flat.field("r").to_numpy(zero_copy_only=False).astype(np.float64)
            parts.append((_ids_from_arrow(_column(b, "__id")), X, width, lens, u, r))
            rows += b.num_rows
            if rows >= block_rows:
                yield emit(key, parts)
                parts, rows, key = [], 0, key + 1
        if parts:
            yield emit(key, parts)

    return fn


def _cc_user_blocks_fn(alpha: float):
    """mapInArrow: a partition of ``(u, __id, r, __x)`` rows (all of its users' interactions) →
    one pickled user block: sorted user ids, ``C`` (users × the block's distinct items,
    confidences) and those items' raw attribute rows, so that a sweep computes the items'
    vectors ``X W`` where the users are."""

    def fn(batches):
        us, its, rs, xs = [], [], [], []
        for b in batches:
            if b.num_rows == 0:
                continue
            us.append(_ids_from_arrow(_column(b, "u")))
            its.append(_ids_from_arrow(_column(b, "__id")))
            rs.append(_column(b, "r").to_numpy(zero_copy_only=False).astype(np.float64))
            xs.append(_csr_from_arrow(_column(b, "__x")))
        if not us:
            return
        u, it, r = np.concatenate(us), np.concatenate(its), np.concatenate(rs)
        X, width = _concat_x(xs)
        users, uinv = np.unique(u, return_inverse=True)
        items, first, iinv = np.unique(it, return_index=True, return_inverse=True)
        C = sp.csr_matrix(((alpha * r).astype(np.float32), (uinv, iinv)), shape=(users.size, items.size))
        C.sort_indices()
        yield _blob(0, {"users": users, "items": items, "X": X[first], "width": width, "C": C})

    return fn


def _weight_x(blk: dict, weighting: AttributeWeighting | None, d: int) -> dict:
    """A block with its raw ``X`` replaced by the weighted rows on their active columns
    (``X``, ``Xt``, ``cols``), as :func:`_weighted_block`."""
    X = blk["X"]
    if X.shape[1] != d:
        X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], d))
    Xw = sp.csr_matrix(weighting.transform(X) if weighting is not None else X, dtype=np.float32)
    cols = np.unique(Xw.indices).astype(np.int64)
    local = np.searchsorted(cols, Xw.indices).astype(np.int32)
    Xa = sp.csr_matrix((Xw.data, local, Xw.indptr), shape=(Xw.shape[0], cols.size))
    out = {key: v for key, v in blk.items() if key not in ("X", "width")}
    out.update({"X": Xa, "Xt": Xa.T.tocsr(), "cols": cols, "w": np.ones(Xa.shape[0])})
    return out


def _item_vectors(blk: dict, W: np.ndarray | None, k: int, seed: int, ids_key: str) -> np.ndarray:
    """A block's item vectors: ``X W``, or the random start (ids ``blk[ids_key]``) when ``W`` is None."""
    if W is None:
        return _init_rows(blk[ids_key], k, seed)
    return np.asarray(blk["X"] @ W[blk["cols"]], dtype=np.float32)


def _release(*objs) -> None:
    for o in objs:
        if hasattr(o, "destroy"):
            o.destroy()


def _ship(sc, a):
    """An array for the task closures: itself when small, else a broadcast (read with ``_value``)."""
    return a if a is None or a.nbytes <= _INLINE_BYTES else sc.broadcast(a)


def _fit_content_constrained(interactions: "DataFrame", item_attributes: "DataFrame", *, user_col: str,
                             item_col: str, rating_col: str | None, attributes_col: str, attributes_id_col: str,
                             k: int, reg: float, alpha: Any, iterations: int, map_alpha: float,
                             weighting: AttributeWeighting | None, seed: int, num_partitions: int | None,
                             block_rows: int, depth: int, item_cg_steps: int | None) -> dict:
    """``ColdStartRecommender._fit_content_constrained`` on Spark (see
    :class:`SparkColdStartRecommender`). Returns the fitted pieces: ``user_ids``, ``U`` (driver,
    users with interactions), ``item_factors`` (DataFrame of the warm items), ``weighting``,
    ``W`` (n_features, k), ``alpha`` (the confidence scale used) and counts."""
    for df_, cols, name in ((interactions, [user_col, item_col] + ([rating_col] if rating_col else []),
                             "interactions"), (item_attributes, [attributes_id_col, attributes_col], "item_attributes")):
        missing = [c for c in cols if c not in df_.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}; it has {df_.columns}")
    spark = interactions.sparkSession
    sc = spark.sparkContext
    summed = _summed_interactions(interactions, user_col, item_col, rating_col).persist(StorageLevel.MEMORY_AND_DISK)
    cat = item_attributes.select(F.col(attributes_id_col).cast("long").alias("__id"),
                                 F.col(attributes_col).alias("__x"))
    r, u, i = F.col("r"), F.col("u"), F.col("__id")
    bad_id = u.isNull() | i.isNull() | (u < 0) | (i < 0)
    bad_r = r.isNull() | F.isnan(r) | (r < 0) | (r == float("inf"))
    cached: list = [summed]
    shipped: list = []
    try:
        agg = summed.agg(F.count(F.lit(1)).alias("n"), F.max(u).alias("mu"), F.max(i).alias("mi"),
                         F.sum(F.when(bad_id, 1).otherwise(0)).alias("bad_id"),
                         F.sum(F.when(bad_r, 1).otherwise(0)).alias("bad_r")).first()
        if agg["n"] == 0:
            raise ValueError("interactions is empty; expected some (user, item) pairs")
        if agg["bad_id"]:
            raise ValueError(f"interactions hold {agg['bad_id']} rows with a null or negative {user_col!r} or "
                             f"{item_col!r}; expected non-negative integer ids")
        if agg["bad_r"]:
            raise ValueError(f"interactions hold {agg['bad_r']} negative, null or non-finite "
                             f"{'ratings' if rating_col is None else repr(rating_col) + ' values'}")
        top_cat = cat.agg(F.max("__id")).first()[0]
        n_users = int(agg["mu"]) + 1
        n_items = int(max(agg["mi"], -1 if top_cat is None else top_cat)) + 1
        if alpha == "auto":  # ColdStartRecommender._alpha_for over the index space of the ids
            alpha_ = float(np.clip(0.05 / (agg["n"] / float(n_users * n_items)), 1.0, 1000.0))
        else:
            alpha_ = float(alpha)
        idf = summed.groupBy("__id").agg(F.collect_list(F.struct("u", "r")).alias("__p")).join(cat, "__id", "left")
        n_parts = int(num_partitions) if num_partitions else sc.defaultParallelism
        if num_partitions:
            idf = idf.repartition(n_parts)
        raw_i = _blobs_to_rdd(idf.mapInArrow(_cc_item_blocks_fn(alpha_, block_rows), _BLOB_SCHEMA)).persist(
            StorageLevel.MEMORY_AND_DISK)
        udf = summed.join(cat, "__id", "left").select("u", "__id", "r", "__x").repartition(n_parts, "u")
        raw_u = _blobs_to_rdd(udf.mapInArrow(_cc_user_blocks_fn(alpha_), _BLOB_SCHEMA)).persist(
            StorageLevel.MEMORY_AND_DISK)
        cached += [raw_i, raw_u]
        chk = raw_i.map(lambda kb: {"n": int(kb[1]["ids"].size), "width": max(kb[1]["width"], kb[1]["X"].shape[1]),
                                    "bad": int(np.count_nonzero(~np.isfinite(kb[1]["X"].data)))}) \
            .treeReduce(_add_stats, depth)
        d = int(chk["width"])
        if d <= 0:
            raise ValueError("no item with interactions has attributes (every attribute vector is null or empty)")
        if chk["bad"]:
            raise ValueError("item_attributes contain NaN or infinite values; expected finite numbers")
        weighting_ = None
        if weighting is not None:  # fitted on the warm items, as ColdStartRecommender.fit
            st = raw_i.map(lambda kb: _attr_stats(kb[1]["X"])).treeReduce(_add_stats, depth)
            weighting_ = _weighting_from_stats(weighting, int(st["n"]), _pad(st["df"], d), _pad(st["sq"], d),
                                               _pad(st["neg"], d) > 0)
        w_bc = sc.broadcast(weighting_)
        shipped.append(w_bc)
        iblocks = raw_i.mapValues(lambda b: _weight_x(b, w_bc.value, d)).persist(StorageLevel.MEMORY_AND_DISK)
        ublocks = raw_u.mapValues(lambda b: _weight_x(b, w_bc.value, d)).persist(StorageLevel.MEMORY_AND_DISK)
        cached += [iblocks, ublocks]
        iblocks.count(), ublocks.count()
        raw_i.unpersist(), raw_u.unpersist()

        def item_gram(W):
            """``Σ_i m_i m_iᵀ`` over the warm items, m = x W (or the random start)."""
            Wv = _ship(sc, W)

            def fn(it):
                W_ = _value(Wv)
                acc = np.zeros((k, k))
                for _, blk in it:
                    V = _item_vectors(blk, W_, k, seed, "ids")
                    acc += (V.T @ V).astype(np.float64)
                yield acc

            try:
                return iblocks.mapPartitions(fn).treeReduce(np.add, depth)
            finally:
                _release(Wv)

        def user_step(W):
            """The users' exact half-step against the warm items' ``X W`` → (user ids, U) on the driver."""
            G = item_gram(W)
            Wv = _ship(sc, W)

            def fn(it):
                W_ = _value(Wv)
                for _, blk in it:
                    yield blk["users"], solve_rows(_item_vectors(blk, W_, k, seed, "items"), blk["C"], reg, G)

            try:
                parts = ublocks.mapPartitions(fn).collect()
            finally:
                _release(Wv)
            ids = np.concatenate([p[0] for p in parts])
            U = np.zeros((n_users, k), np.float32)
            U[ids] = np.concatenate([p[1] for p in parts])
            if not np.all(np.isfinite(U)):
                raise FloatingPointError("the content-constrained ALS produced NaN/inf user factors; raise "
                                         "regularization or lower alpha")
            return np.sort(ids), U

        def item_step(U, W, steps):
            """The warm items' half-step against U (exact, or ``steps`` CG steps from X W): blocks
            with ``Y``, the new vectors. Returns (RDD, shipped arrays to release after use)."""
            G = (U.T @ U).astype(np.float64)
            Uv, Wv = _ship(sc, U), _ship(sc, W)

            def fn(it):
                U_, W_ = _value(Uv), _value(Wv)
                for key, blk in it:
                    x0 = None if steps is None else _item_vectors(blk, W_, k, seed, "ids")
                    yield key, {**blk, "Y": solve_rows(U_[blk["u"]], blk["C"], reg, G, x0, steps)}

            return iblocks.mapPartitions(fn, preservesPartitioning=True).persist(StorageLevel.MEMORY_AND_DISK), \
                [Uv, Wv]

        # one plain sweep from the random start, then the ridge start of W on the item vectors
        _, U = user_step(None)
        yblocks, sh = item_step(U, None, None)
        solver = _DistributedPCG(sc, yblocks, d, 1.0, False, depth)
        n_iter = solver.solve(CC_INIT_ITERS, 0.0)
        W = solver.B.copy()
        yblocks.unpersist()
        _release(*sh)
        for _ in range(int(iterations)):
            _, U = user_step(W)
            evf, Q, lam = gram_eigen(U.T @ U, float(map_alpha))
            Uv = _ship(sc, U)
            ut = iblocks.mapValues(lambda b: {**b, "Ut": np.ascontiguousarray(_value(Uv)[b["u"]] @ Q, np.float32)}) \
                .persist(StorageLevel.MEMORY_AND_DISK)
            try:
                W = _refine_on_interactions(sc, ut, d, W, evf, Q, lam, CC_MAP_ITERS, depth)
            finally:
                ut.unpersist()
                _release(Uv)
            n_iter += CC_MAP_ITERS
        user_ids, U = user_step(W)
        vblocks, sh = item_step(U, W, item_cg_steps)
        shipped += sh
        cached.append(vblocks)
        Wv = _ship(sc, W)
        shipped.append(Wv)
        def _fit_stats(kb):
            pred = _item_vectors(kb[1], _value(Wv), k, seed, "ids").astype(np.float64)
            return (float(np.sum((kb[1]["Y"].astype(np.float64) - pred) ** 2)), kb[1]["Y"].size,
                    float(np.sum(pred * pred)), pred.shape[0])

        total, count, sq, n_rows = vblocks.map(_fit_stats).treeReduce(
            lambda a, b: tuple(x + y for x, y in zip(a, b)), depth)
        if not np.isfinite(total):
            raise FloatingPointError("the content-constrained ALS produced NaN/inf item factors; raise "
                                     "regularization or lower alpha")
        schema = T.StructType([T.StructField("id", T.LongType(), False),
                               T.StructField("features", T.ArrayType(T.FloatType(), False), False)])
        rows = vblocks.flatMap(lambda kb: zip(kb[1]["ids"].tolist(), kb[1]["Y"].tolist()))
        item_factors = spark.createDataFrame(rows, schema).localCheckpoint(eager=True)
        n_warm = int(chk["n"])
    finally:
        for c in cached:
            c.unpersist()
        _release(*shipped)
    return {"user_ids": user_ids, "U": U[user_ids], "item_factors": item_factors, "weighting": weighting_,
            "W": W, "alpha": alpha_, "n_features": d, "n_warm": n_warm, "n_pairs": int(agg["n"]),
            "n_iter": n_iter, "msd": total / max(count, 1), "pred_rms": float(np.sqrt(sq / max(n_rows, 1)))}


# ====================================================================== ALS + map
#: SparkColdStartRecommender's defaults with method="spark-als" (and for fit_factors' confidence).
_SPARK_ALS_DEFAULTS = {"factors": 128, "regularization": 0.01, "alpha": 40.0, "iterations": 10}


def _local_default(name: str):
    """The local model's default of ``name``; for the settings the local default chooses on an
    internal split ("auto"), the fixed values it falls back to (Spark does not self-tune)."""
    from coldstart.core import model as M

    value = M.ColdStartRecommender().get_params()[name]
    if isinstance(value, str) and value == "auto":
        fixed = {"map_alpha": M.CC_MAP_ALPHA, "zero_shot_scale": M.DEFAULT_ZERO_SHOT_SCALE, "free_sweeps": 0}
        value = fixed.get(name, value)
    return value


class SparkColdStartRecommender:
    """Collaborative factors and the attribute map fitted together in Spark.

    ``method="content-constrained"`` (default) is the local default fit,
    ``ColdStartRecommender._fit_content_constrained``, distributed, with the local defaults
    (``factors`` 256, ``regularization`` 0.1, ``alpha`` "auto" = clip(0.05 / density, 1, 1000)
    with implicit's confidence ``alpha * rating``, ``iterations`` 4, ``map_alpha``,
    ``prior_weight``, ``zero_shot_scale``): item vectors constrained to ``x_i W``. One plain
    sweep from uniform(0, 0.01) starts it (an exact user half-step, then an exact item
    half-step), a ridge of the warm items' vectors on their attributes starts ``W`` (3 CG
    steps, alpha 1, no intercept); each of ``iterations`` sweeps solves every user exactly
    against ``M = X_warm W`` (per user ``(MᵀM + reg I + Σ_j (c_j - 1) m_j m_jᵀ) u = Σ_j c_j m_j``,
    :func:`coldstart.core.factorization.fold_in`) and refines ``W`` on the ALS loss with the users
    fixed (3 CG steps of :func:`coldstart.core.solvers.fit_map_on_interactions`, distributed); then
    the users are solved once more and the warm items get one half-step started from ``x_i W``
    (implicit's CG, ``item_cg_steps`` steps; None: exact). Cold items get ``zero_shot_scale`` ×
    ``x W`` length-calibrated as locally (``zero_shot_norm_power``). The local model solves its users with implicit's 3-step CG instead: the factors are
    not float-equal to the local ones (same recipe, same cold Recall@20 on citeulike-t).

    Distribution: the interactions are grouped twice and cached, by item (item blocks: the
    items' attributes and confidences) and by user (user blocks: the users' confidences and the
    attribute rows of their items, so that ``X W`` is computed where the users are, without a
    shuffle per sweep). Per sweep, ``W`` (n_features × k) is broadcast, every user block solves
    its users, and the user factors (n_users × k) are collected to the driver and broadcast to
    the item blocks for the map's refinement (the one O(n_users × k) array the driver holds);
    ``MᵀM`` and ``UᵀU`` are k × k sums. Nothing of size n_items or n_interactions reaches the
    driver; the warm items' final vectors stay in Spark (``item_factors_``, a checkpointed
    DataFrame).

    ``method="spark-als"``: the local model's *plug-in mode* (``ColdStartRecommender(
    collaborative=<fitted>)``) on Spark's ALS: the factors are taken as they are (Spark's ALS,
    or factors you bring to :meth:`fit_factors`); the weighting is fitted on the warm items and
    the map is the plug-in map, a ridge start on the warm items' factors refined on the
    implicit-ALS loss with the users fixed, both distributed (:class:`SparkAttributeMap`). With
    a ``mapper``, or :meth:`fit_factors` without interactions, the map is the plain ridge
    regression of the factors on the attributes (``ColdStartRecommender(collaborative=...,
    mapper=RidgeMap(...))``). Either way zero-shot vectors are ``zero_shot_scale`` × the map's
    length-calibrated predictions and ``prior_weight="auto"`` is estimated as locally (``PRIOR_INTERACTIONS`` ×
    the mean over the interactions of ``max(c - 1, 0) ||u||² / k``). Not reproduced:
    ``fit(new_items=...)``.

    Confidence (spark-als / fit_factors): the refinement weighs an interaction ``fold_in_alpha *
    rating`` (implicit's convention, as the exported local model folds in). With the default
    ``fold_in_alpha = 1 + alpha`` that is exactly the confidence Spark's ALS gives a rating 1
    (``1 + alpha * r``); for other ratings it is the local model's proportional convention.

    Ids: non-negative integers (Spark's ALS: in the 32-bit range); ``alpha="auto"`` takes the
    density over ``(max user id + 1) × (max item id + 1)`` (items of the interactions and the
    catalog), the index space :meth:`to_local` builds.

    Parameters
    ----------
    factors, regularization, alpha, iterations : optional
        None takes the method's default. content-constrained: the local model's (256, 0.1,
        "auto", 4), implicit's semantics (fixed penalty, confidence ``alpha * r``). spark-als:
        Spark ALS's ``rank``, ``regParam``, ``alpha`` and ``maxIter`` (defaults 128, 0.01, 40,
        10), Spark's semantics (penalty scaled by each user's/item's number of interactions,
        confidence ``1 + alpha * r``).
    map_alpha, prior_weight, zero_shot_scale, zero_shot_norm_power : optional
        As in :class:`~coldstart.core.model.ColdStartRecommender`; ``None`` takes its default.
    weighting : "auto", None or AttributeWeighting
        As in :class:`SparkAttributeMap`.
    mapper : RidgeMap, optional
        spark-als only: use the plain ridge map with this template instead of the plug-in map.
    random_state : int, optional
        Seed of the random start (content-constrained) or of Spark's ALS.
    num_blocks : int, optional
        spark-als: ALS ``numUserBlocks``/``numItemBlocks`` (default: Spark's).
    num_partitions : int, optional
        Partitions of the map's training data (content-constrained: of the item and of the user
        blocks; default ``defaultParallelism`` for the user blocks).
    fold_in_regularization, fold_in_alpha : float, optional
        Penalty and confidence scale the exported local model uses when it folds users/items
        in (implicit's semantics); ``fold_in_alpha`` is also the confidence scale of the
        spark-als map's refinement. Default: content-constrained, the fit's ``regularization``
        and alpha; spark-als, ``regularization`` and ``1 + alpha``.
    method : {"content-constrained", "spark-als"}
        What :meth:`fit` fits (see above).
    item_cg_steps : int or None
        content-constrained: CG steps of the warm items' final half-step from ``x_i W``
        (implicit's solver, the local model's 3); None solves them exactly.

    Attributes
    ----------
    als_model_ : pyspark.ml.recommendation.ALSModel, or None (content-constrained,
        fit_factors, from_local)
    user_factors_, item_factors_ : DataFrame ``(id, features array<float>)``
        Collaborative factors; the items here are the warm ones.
    map_ : SparkAttributeMap
    prior_weight_ : float
    item_attributes_ : DataFrame ``(id, attributes)``, the catalog given to fit, or None
    """

    def __init__(self, factors: int | None = None, regularization: float | None = None, alpha: Any = None,
                 iterations: int | None = None, map_alpha: float | None = None, prior_weight: Any = None,
                 zero_shot_scale: float | None = None, zero_shot_norm_power: float | None = None,
                 weighting: Any = "auto", mapper: RidgeMap | None = None, random_state: int | None = None,
                 num_blocks: int | None = None, num_partitions: int | None = None,
                 fold_in_regularization: float | None = None, fold_in_alpha: float | None = None,
                 method: str = "content-constrained", item_cg_steps: int | None = 3):
        self.method = method
        self.item_cg_steps = item_cg_steps
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.map_alpha = map_alpha
        self.prior_weight = prior_weight
        self.zero_shot_scale = zero_shot_scale
        self.zero_shot_norm_power = zero_shot_norm_power
        self.weighting = weighting
        self.mapper = mapper
        self.random_state = random_state
        self.num_blocks = num_blocks
        self.num_partitions = num_partitions
        self.fold_in_regularization = fold_in_regularization
        self.fold_in_alpha = fold_in_alpha

    def _param(self, name: str):
        v = getattr(self, name)
        return _local_default(name) if v is None else v

    def _cf_param(self, name: str, method: str | None = None):
        """``factors``, ``regularization``, ``alpha`` or ``iterations``; None takes the default of
        ``method`` (the local model's for "content-constrained", Spark ALS's for "spark-als")."""
        v = getattr(self, name)
        if v is not None:
            return v
        if (method or self.method) == "content-constrained":
            return _local_default(name)
        return _SPARK_ALS_DEFAULTS[name]

    # ------------------------------------------------------------------ fitting
    def fit(self, interactions: "DataFrame", item_attributes: "DataFrame", *, user_col: str = "user",
            item_col: str = "item", rating_col: str | None = None, attributes_col: str = "attributes",
            attributes_id_col: str = "id") -> "SparkColdStartRecommender":
        """Fit the collaborative factors and the map on ``interactions`` (``method``).

        ``"content-constrained"`` (default): the local default fit, distributed (see the class
        docstring). ``"spark-als"``: Spark's ALS (implicit feedback), then the plug-in map
        (:meth:`fit_factors`).

        Parameters
        ----------
        interactions : DataFrame
            ``user_col``, ``item_col`` (non-negative integers; Spark's ALS needs them in the
            32-bit range) and optionally ``rating_col`` (default: every interaction weighs 1).
        item_attributes : DataFrame
            The catalog: ``attributes_id_col`` (item ids) and ``attributes_col`` (ML vectors),
            one row per item, warm or cold.
        """
        _require_pyspark()
        if self.method not in ("content-constrained", "spark-als"):
            raise ValueError(f"method must be 'content-constrained' or 'spark-als'; received {self.method!r}")
        for name in ("factors", "iterations"):
            v = self._cf_param(name)
            if not (isinstance(v, (int, np.integer)) and v > 0):
                raise ValueError(f"{name} must be a positive integer; received {v!r}")
        if self.method == "content-constrained":
            return self._fit_content_constrained(interactions, item_attributes, user_col=user_col,
                                                 item_col=item_col, rating_col=rating_col,
                                                 attributes_col=attributes_col, attributes_id_col=attributes_id_col)
        from pyspark.ml.recommendation import ALS

        data = interactions
        if rating_col is None:
            data = data.withColumn("__rating", F.lit(1.0).cast("float"))
            rating_col = "__rating"
        als = ALS(rank=int(self._cf_param("factors")), maxIter=int(self._cf_param("iterations")),
                  regParam=float(self._cf_param("regularization")), alpha=float(self._cf_param("alpha")),
                  implicitPrefs=True, userCol=user_col, itemCol=item_col,
                  ratingCol=rating_col, nonnegative=False, coldStartStrategy="drop")
        if self.random_state is not None:
            als.setSeed(int(self.random_state))
        if self.num_blocks:
            als.setNumUserBlocks(int(self.num_blocks)).setNumItemBlocks(int(self.num_blocks))
        als_model = als.fit(data)
        self.fit_factors(als_model.userFactors, als_model.itemFactors, item_attributes,
                         attributes_col=attributes_col, attributes_id_col=attributes_id_col,
                         interactions=data, user_col=user_col, item_col=item_col, rating_col=rating_col)
        self.als_model_ = als_model
        return self

    def _fit_content_constrained(self, interactions: "DataFrame", item_attributes: "DataFrame", *,
                                 user_col: str, item_col: str, rating_col: str | None, attributes_col: str,
                                 attributes_id_col: str) -> "SparkColdStartRecommender":
        if self.mapper is not None:
            raise ValueError("mapper selects the plain ridge map, which the content-constrained fit does not "
                             "use (as ColdStartRecommender); pass method='spark-als' with a mapper")
        reg, alpha = self._cf_param("regularization"), self._cf_param("alpha")
        if not (np.isscalar(reg) and reg >= 0):
            raise ValueError(f"regularization must be a non-negative number; received {reg!r}")
        if not (alpha == "auto" or (np.isscalar(alpha) and np.isfinite(alpha) and alpha > 0)):
            raise ValueError(f"alpha must be 'auto' or a positive number; received {alpha!r}")
        steps = self.item_cg_steps
        if steps is not None and not (isinstance(steps, (int, np.integer)) and steps > 0):
            raise ValueError(f"item_cg_steps must be a positive integer or None (exact); received {steps!r}")
        map_alpha = float(self._param("map_alpha"))
        seed = (int(self.random_state) if self.random_state is not None
                else int(np.random.default_rng().integers(2**31)))
        k = int(self._cf_param("factors"))
        res = _fit_content_constrained(
            interactions, item_attributes, user_col=user_col, item_col=item_col, rating_col=rating_col,
            attributes_col=attributes_col, attributes_id_col=attributes_id_col, k=k, reg=float(reg), alpha=alpha,
            iterations=int(self._cf_param("iterations")), map_alpha=map_alpha,
            weighting=_check_weighting(self.weighting), seed=seed, num_partitions=self.num_partitions,
            block_rows=65536, depth=2, item_cg_steps=steps)
        spark = interactions.sparkSession
        self.als_model_ = None
        self._cc_reg, self._cc_alpha = float(reg), float(res["alpha"])
        self._content_constrained = True
        self.user_factors_ = factors_to_spark(spark, res["U"], res["user_ids"])
        self.item_factors_ = res["item_factors"]
        self.item_attributes_ = item_attributes.select(F.col(attributes_id_col).alias("id"),
                                                       F.col(attributes_col).alias("attributes"))
        self._item_priors = None
        mp = SparkAttributeMap(alpha=map_alpha, weighting=self.weighting, num_partitions=self.num_partitions)
        mp.weighting_ = res["weighting"]
        mp.mapper_ = RidgeMap.from_state(RidgeMap(alpha=map_alpha, fit_intercept=False).get_params(),
                                         {"coef": res["W"], "intercept": np.zeros(k, np.float32)})
        mp.mapper_.n_iter_ = 0
        mp.refined_ = True
        mp.n_iter_ = res["n_iter"]
        mp.n_features_in_ = res["n_features"]
        mp.n_factors_ = k
        mp.n_train_items_ = res["n_warm"]
        mp.n_train_pairs_ = res["n_pairs"]
        mp.train_msd_ = res["msd"]
        mp.pred_rms_ = res["pred_rms"]
        self.map_ = mp
        pw = self._param("prior_weight")
        self.prior_weight_ = (self._auto_prior_weight(interactions, user_col, item_col, rating_col)
                              if pw == "auto" else float(pw))
        return self

    def fit_factors(self, user_factors: "DataFrame", item_factors: "DataFrame", item_attributes: "DataFrame",
                    *, id_col: str = "id", factors_col: str = "features", attributes_col: str = "attributes",
                    attributes_id_col: str = "id", interactions: "DataFrame | None" = None,
                    user_col: str = "user", item_col: str = "item",
                    rating_col: str | None = None) -> "SparkColdStartRecommender":
        """Plug-in mode: take collaborative factors as they are (e.g. a fitted ``ALSModel``'s
        ``userFactors``/``itemFactors``) and fit only the map; the items of ``item_factors``
        are the warm ones.

        ``interactions`` (``user_col``, ``item_col``[, ``rating_col``], the data the factors
        were fitted on): the plug-in map, refined on the implicit-ALS loss with confidence
        ``fold_in_alpha * rating``, as the local ``ColdStartRecommender(collaborative=...)``,
        and ``prior_weight="auto"`` estimated from them. Without them (or with a ``mapper``)
        the plain ridge map; without them ``prior_weight`` must be a number.
        """
        _require_pyspark()
        pw = self._param("prior_weight")
        if interactions is None and pw == "auto":
            raise ValueError("prior_weight='auto' is estimated from the interactions (as ColdStartRecommender "
                             "does); pass interactions= or set prior_weight to a number")
        self.als_model_ = None
        self._content_constrained = False
        self._cc_reg = self._cc_alpha = None
        self.user_factors_ = user_factors.select(F.col(id_col).alias("id"), F.col(factors_col).alias("features"))
        self.item_factors_ = item_factors.select(F.col(id_col).alias("id"), F.col(factors_col).alias("features"))
        self.item_attributes_ = item_attributes.select(F.col(attributes_id_col).alias("id"),
                                                       F.col(attributes_col).alias("attributes"))
        self._item_priors = None
        self.map_ = SparkAttributeMap(alpha=self._param("map_alpha"), weighting=self.weighting,
                                      mapper=self.mapper, num_partitions=self.num_partitions)
        refine = {}
        if interactions is not None and self.mapper is None:  # as the local plug-in with its own map
            refine = {"interactions": interactions, "user_factors": self.user_factors_,
                      "confidence_scale": self._fold_in_alpha(), "user_col": user_col, "item_col": item_col,
                      "rating_col": rating_col}
        self.map_.fit(self.item_factors_, self.item_attributes_, weighting_on=_WEIGHTING_ON, **refine)
        self.prior_weight_ = (self._auto_prior_weight(interactions, user_col, item_col, rating_col)
                              if pw == "auto" else float(pw))
        return self

    def _auto_prior_weight(self, interactions: "DataFrame", user_col: str, item_col: str,
                           rating_col: str | None) -> float:
        """``ColdStartRecommender._resolve_prior_weight`` with "auto": ``PRIOR_INTERACTIONS`` ×
        the mean over the (user, item) pairs of ``max(c - 1, 0) ||u||² / k``, ``c =
        fold_in_alpha * rating``; one aggregation over the interactions joined with the users."""
        from coldstart.core.model import PRIOR_INTERACTIONS

        pairs = _summed_interactions(interactions, user_col, item_col, rating_col).join(
            self.user_factors_.select(F.col("id").cast("long").alias("u"), F.col("features").alias("f")),
            on="u", how="left").select("r", "f")
        acc = (_blobs_to_rdd(pairs.mapInArrow(_pair_precision_fn(self._fold_in_alpha()), _BLOB_SCHEMA)).values()
               .treeReduce(_add_stats, max(int(self.map_.tree_depth), 1)))
        if acc["bad_u"]:
            raise ValueError(f"interactions hold {acc['bad_u']} (user, item) pairs whose {user_col!r} has no row "
                             "in user_factors (or is null); expected factors for every user")
        if acc["bad_r"]:
            raise ValueError(f"interactions hold {acc['bad_r']} negative, null or non-finite ratings")
        per = acc["sum"] / acc["n"] / self.map_.n_factors_ if acc["n"] else 0.0
        return float(max(PRIOR_INTERACTIONS * per, 1e-6))

    def _fold_in_alpha(self) -> float:
        """Confidence scale of the exported model's fold-ins and of the map's refinement: the
        content-constrained fit's alpha, else ``1 + alpha`` (Spark ALS's confidence of a 1)."""
        if self.fold_in_alpha is not None:
            return float(self.fold_in_alpha)
        if getattr(self, "_cc_alpha", None) is not None:
            return float(self._cc_alpha)
        return float(1.0 + self._cf_param("alpha", "spark-als"))

    def _fold_in_reg(self) -> float:
        if self.fold_in_regularization is not None:
            return float(self.fold_in_regularization)
        if getattr(self, "_cc_reg", None) is not None:
            return float(self._cc_reg)
        return float(self._cf_param("regularization", "spark-als"))

    def _check_fitted(self) -> None:
        if not hasattr(self, "map_"):
            raise RuntimeError("this SparkColdStartRecommender is not fitted; call fit, fit_factors or "
                               "from_local first")

    # ------------------------------------------------------------------ item vectors
    def _local_model(self, users=None, items=None, prior=None, zero=None):
        """A local ColdStartRecommender carrying this map (and the given vectors, default none)."""
        from coldstart.core.model import ColdStartRecommender

        k = self.map_.n_factors_
        users = np.zeros((0, k), np.float32) if users is None else users
        items = np.zeros((0, k), np.float32) if items is None else items
        prior = items.copy() if prior is None else prior
        zero = np.zeros(items.shape[0], bool) if zero is None else zero
        reg = self._fold_in_reg()
        alpha = self._fold_in_alpha()
        model = ColdStartRecommender(factors=int(k), regularization=float(reg), alpha=float(alpha),
                                     iterations=int(self._cf_param("iterations")), map_alpha=float(self._param("map_alpha")),
                                     mapper=None if self.mapper is None else clone(self.mapper),
                                     prior_weight=self._param("prior_weight"),
                                     zero_shot_scale=float(self._param("zero_shot_scale")),
                                     zero_shot_norm_power=float(self._param("zero_shot_norm_power")),
                                     random_state=self.random_state)
        wt = self.map_.weighting_
        model.weighting_ = None if wt is None else AttributeWeighting.from_state(wt.get_params(), wt.get_state())
        model.mapper_ = RidgeMap.from_state(self.map_.mapper_.get_params(), self.map_.mapper_.get_state())
        model.featurizer_ = None
        model._set_state({"n_users": users.shape[0], "n_items": items.shape[0],
                          "n_features_in": self.map_.n_features_in_, "prior_weight": self.prior_weight_,
                          "content_constrained": bool(getattr(self, "_content_constrained", False)),
                          "content_norm": getattr(self.map_, "pred_rms_", None)},
                         {"regularization": float(reg), "alpha": float(alpha)},
                         {"user_factors": users, "item_factors": items, "item_prior": prior, "is_zero_shot": zero})
        return model

    def embed_items(self, item_attributes: "DataFrame", *, id_col: str = "id",
                    attributes_col: str = "attributes") -> "DataFrame":
        """Zero-shot factors ``(id, features)`` of items from their attributes: the local
        model's ``embed_items`` (length-calibrated map prediction × ``zero_shot_scale``) per Arrow
        batch."""
        self._check_fitted()
        sdf = item_attributes.select(F.col(id_col).alias("id"), F.col(attributes_col).alias("attributes"))
        shell = self._local_model()
        return _embed_frame(sdf, shell.embed_items, self.map_.n_features_in_, attributes_col="attributes",
                            output_col="features", keep=["id"])

    def zero_shot_factors(self) -> "DataFrame":
        """Zero-shot (prior) vectors ``(id, features)`` of every catalog item, warm or not."""
        self._check_fitted()
        if self._item_priors is not None:
            return self._item_priors
        if self.item_attributes_ is None:
            raise RuntimeError("no item attributes are known; pass item_attributes to from_local")
        return self.embed_items(self.item_attributes_)

    def item_vectors(self, new_items: "DataFrame | None" = None, *, id_col: str = "id",
                     attributes_col: str = "attributes") -> "DataFrame":
        """``(id, features, zero_shot)`` of every item: collaborative for the warm items,
        zero-shot for the catalog's other items and for ``new_items`` (attributes)."""
        self._check_fitted()
        warm = self.item_factors_.select(F.col("id").cast("long").alias("id"), "features",
                                         F.lit(False).alias("zero_shot"))
        cold = self.zero_shot_factors().select(F.col("id").cast("long").alias("id"), "features",
                                               F.lit(True).alias("zero_shot"))
        if new_items is not None:
            cold = cold.unionByName(self.embed_items(new_items, id_col=id_col, attributes_col=attributes_col)
                                    .select(F.col("id").cast("long").alias("id"), "features",
                                            F.lit(True).alias("zero_shot")))
        cold = cold.join(warm.select("id"), on="id", how="left_anti")
        return warm.unionByName(cold)

    def recommend_for_all_users(self, k: int, *, items: "DataFrame | None" = None,
                                exclude: "DataFrame | None" = None, block_size: int = 4096,
                                exclude_user_col: str = "user", exclude_item_col: str = "item") -> "DataFrame":
        """Top-``k`` of ``items`` (default :meth:`item_vectors`: warm + zero-shot) for every user.

        ``exclude``: ``(user, item)`` pairs not to recommend, e.g. the training interactions.
        Returns ``(user, recommendations array<struct<item, score>>)``.
        """
        self._check_fitted()
        items = self.item_vectors() if items is None else items
        return recommend_for_all_users(self.user_factors_, items, k, exclude=exclude, block_size=block_size,
                                       exclude_user_col=exclude_user_col, exclude_item_col=exclude_item_col)

    # ------------------------------------------------------------------ local
    def to_local(self, n_users: int | None = None, n_items: int | None = None):
        """A local :class:`~coldstart.core.model.ColdStartRecommender` with these vectors, for serving.

        User/item ids become row indices; ``n_users``/``n_items`` (default: largest id + 1,
        items over the warm items and the catalog) size the index space, e.g. to keep users
        without interactions. Rows no id names stay zero (items: flagged zero-shot). Warm items
        get their collaborative vectors, the others their zero-shot vectors; every item's prior
        is its zero-shot vector; the weighting and map are the fitted ones, so ``add_items``,
        ``partial_fit_items`` and ``save`` work. Collects (n_users + n_items) × factors
        numbers to the driver.
        """
        self._check_fitted()
        uid, U = spark_to_factors(self.user_factors_)
        wid, W = spark_to_factors(self.item_factors_)
        pid, Pr = spark_to_factors(self.zero_shot_factors())
        k = self.map_.n_factors_
        for name, ids in (("user", uid), ("item", wid), ("item", pid)):
            if ids.size and ids.min() < 0:
                raise ValueError(f"{name} ids must be non-negative to become row indices; found {ids.min()}")
        top_u = int(uid.max()) + 1 if uid.size else 0
        top_i = int(max(wid.max() if wid.size else -1, pid.max() if pid.size else -1)) + 1
        n_users = top_u if n_users is None else int(n_users)
        n_items = top_i if n_items is None else int(n_items)
        if n_users < top_u or n_items < top_i:
            raise ValueError(f"n_users={n_users}, n_items={n_items} are too small for the largest ids "
                             f"(users up to {top_u - 1}, items up to {top_i - 1})")
        users = np.zeros((n_users, k), dtype=np.float32)
        if uid.size:
            users[uid] = U
        prior = np.zeros((n_items, k), dtype=np.float32)
        if pid.size:
            prior[pid] = Pr
        items = prior.copy()
        zero = np.ones(n_items, dtype=bool)
        if wid.size:
            items[wid] = W
            zero[wid] = False
        return self._local_model(users, items, prior, zero)

    @classmethod
    def from_local(cls, model, spark: "SparkSession", item_attributes: "DataFrame | None" = None,
                   *, id_col: str = "id", attributes_col: str = "attributes") -> "SparkColdStartRecommender":
        """Import a fitted local :class:`~coldstart.core.model.ColdStartRecommender` (index space).

        Row indices become ids; items flagged zero-shot are cold. Vectors and priors are kept
        exactly; ``item_attributes`` (optional) is the catalog, for :meth:`embed_items`-style use.
        """
        _require_pyspark()
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model)
        if getattr(model, "featurizer_", None) is not None:
            raise TypeError("models with a featurizer are not supported in Spark: featurize the attributes "
                            "into ML vectors first")
        mp = SparkAttributeMap.from_local(model.weighting_, model.mapper_,
                                          pred_rms=getattr(model, "content_norm_", None))
        state = model._get_state()
        arrays, col = state["arrays"], state["collaborative_meta"]
        obj = cls(factors=int(model.item_factors_.shape[1]), regularization=float(col["regularization"]),
                  alpha=max(float(col["alpha"]) - 1.0, 0.0), iterations=int(model.iterations),
                  map_alpha=float(model.map_alpha_), prior_weight=model.prior_weight,
                  zero_shot_scale=float(model.zero_shot_scale_),
                  zero_shot_norm_power=float(model.zero_shot_norm_power), weighting=mp.weighting,
                  mapper=None if model.mapper is None else clone(model.mapper),
                  random_state=model.random_state, fold_in_regularization=float(col["regularization"]),
                  fold_in_alpha=float(col["alpha"]))
        zero = np.asarray(arrays["is_zero_shot"], dtype=bool)
        items = np.asarray(arrays["item_factors"])
        warm_ids = np.flatnonzero(~zero)
        obj.als_model_ = None
        obj.map_ = mp
        obj.prior_weight_ = float(model.prior_weight_)
        obj._content_constrained = bool(getattr(model, "content_constrained_", False))
        obj.user_factors_ = factors_to_spark(spark, arrays["user_factors"])
        obj.item_factors_ = factors_to_spark(spark, items[warm_ids], warm_ids)
        obj._item_priors = factors_to_spark(spark, arrays["item_prior"])
        obj.item_attributes_ = (None if item_attributes is None else
                                item_attributes.select(F.col(id_col).alias("id"),
                                                       F.col(attributes_col).alias("attributes")))
        return obj
