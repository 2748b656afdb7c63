"""Arrow ↔ numpy/scipy conversions for the partition functions, and the public helpers that move
scipy matrices and factor arrays into Spark and back (:func:`csr_to_spark`, :func:`factors_to_spark`,
:func:`interactions_to_spark`, :func:`spark_to_csr`, :func:`spark_to_factors`).

Partition functions exchange numpy objects as pickled blobs in a ``(key long, blob binary)``
frame (:func:`blob`, :func:`blobs_to_rdd`): the cached blocks of the distributed solvers.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import scipy.sparse as sp

try:  # pragma: no cover - exercised only without pyspark
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import types as T
except ImportError as _exc:  # pragma: no cover
    _IMPORT_ERROR: ImportError | None = _exc
else:
    _IMPORT_ERROR = None

#: Schema of the frames of pickled blocks the partition functions emit.
BLOB_SCHEMA = "key long, blob binary"


def require_pyspark() -> None:
    """Raise ImportError naming the extra when pyspark or pyarrow is missing."""
    if _IMPORT_ERROR is not None:
        raise ImportError("coldstart.integrations.spark needs pyspark>=4 and pyarrow: pip install 'coldstart[spark]'"
                          f" ({_IMPORT_ERROR})")


def check_columns(frames: list) -> None:
    """``frames``: ``(DataFrame, required columns, argument name)``; ValueError naming the first
    argument that lacks some."""
    for df, cols, name in frames:
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}; it has {df.columns}")


def column(batch: "pa.RecordBatch", name: str):
    i = batch.schema.get_field_index(name)
    if i < 0:
        raise KeyError(f"column {name!r} not in {batch.schema.names}")
    return batch.column(i)


def csr_from_arrow(col, n_features: int | None = None) -> tuple[sp.csr_matrix, int]:
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


def factors_from_arrow(col) -> np.ndarray:
    """An array<float|double> or dense ML vector column → (n, k) float32; nulls refused."""
    if col.null_count:
        raise ValueError("the factor column has null rows; expected a vector for every item/user")
    n = len(col)
    if pa.types.is_struct(col.type):
        X, _ = csr_from_arrow(col)
        return np.asarray(X.toarray(), dtype=np.float32)
    if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)):
        raise TypeError(f"factors must be an array of numbers or a Spark ML vector; received {col.type}")
    lens = col.value_lengths().to_numpy(zero_copy_only=False)
    if n and (lens.min() != lens.max()):
        raise ValueError(f"factor vectors have different lengths ({lens.min()}..{lens.max()}); expected one")
    k = int(lens[0]) if n else 0
    flat = col.flatten().to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(flat, dtype=np.float32).reshape(n, k)


def ids_from_arrow(col) -> np.ndarray:
    if col.null_count:
        raise ValueError("the id column has null values; expected an integer id for every row")
    ids = col.to_numpy(zero_copy_only=False)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"ids must be integers (Spark's ALS needs them); received {col.type}")
    return ids.astype(np.int64)


def factor_array(F_: np.ndarray) -> "pa.Array":
    n, k = F_.shape
    flat = pa.array(np.ascontiguousarray(F_, dtype=np.float32).ravel())
    return pa.ListArray.from_arrays(pa.array(np.arange(0, (n + 1) * k, k, dtype=np.int32)) if k else
                                    pa.array(np.zeros(n + 1, dtype=np.int32)), flat)


def batched_blocks(batches, read, emit, block_rows: int):
    """Group a partition's Arrow batches into blocks of at least ``block_rows`` rows (the last one
    smaller): ``read(batch)`` makes one part of each non-empty batch, ``emit(key, parts)`` one
    output of each block (keys 0, 1, ...)."""
    parts, rows, key = [], 0, 0
    for b in batches:
        if b.num_rows == 0:
            continue
        parts.append(read(b))
        rows += b.num_rows
        if rows >= block_rows:
            yield emit(key, parts)
            parts, rows, key = [], 0, key + 1
    if parts:
        yield emit(key, parts)


def blob(key: int, obj: Any) -> "pa.RecordBatch":
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return pa.RecordBatch.from_arrays([pa.array([int(key)], pa.int64()), pa.array([data], pa.binary())],
                                      names=["key", "blob"])


def blobs_to_rdd(df: "DataFrame"):
    """A DataFrame of (key, pickled blob) rows → RDD of (key, object)."""
    return df.rdd.map(lambda row: (row[0], pickle.loads(row[1])))


# ====================================================================== pandas/scipy → Spark
def csr_to_spark(spark: "SparkSession", X, ids=None, *, id_col: str = "id", col: str = "attributes"
                 ) -> "DataFrame":
    """A scipy matrix (n, d) → DataFrame ``(id_col long, col vector)``, one ``SparseVector`` per row.

    Vectorised (Arrow), but the rows travel from the driver: for tests and modest catalogs.
    """
    require_pyspark()
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
    require_pyspark()
    Fm = np.asarray(factors, dtype=np.float32)
    ids = np.arange(Fm.shape[0]) if ids is None else np.asarray(ids)
    table = pa.table({id_col: pa.array(ids.astype(np.int64)), col: factor_array(Fm)})
    schema = T.StructType([T.StructField(id_col, T.LongType(), False),
                           T.StructField(col, T.ArrayType(T.FloatType(), False), False)])
    return spark.createDataFrame(table, schema)


def interactions_to_spark(spark: "SparkSession", user_items, *, user_col: str = "user",
                          item_col: str = "item", rating_col: str | None = "rating") -> "DataFrame":
    """A scipy (n_users, n_items) matrix → DataFrame ``(user int, item int[, rating float])``."""
    require_pyspark()
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
    require_pyspark()
    t = df.select(id_col, col).toArrow()
    if t.num_rows == 0:
        return np.empty(0, np.int64), np.empty((0, 0), np.float32)
    t = t.combine_chunks()
    return ids_from_arrow(t.column(0).combine_chunks()), factors_from_arrow(t.column(1).combine_chunks())


def spark_to_csr(df: "DataFrame", *, id_col: str = "id", col: str = "attributes",
                 n_features: int | None = None) -> tuple[np.ndarray, sp.csr_matrix]:
    """Collect ``(ids, attributes CSR)`` of an attribute DataFrame to the driver (tests)."""
    require_pyspark()
    t = df.select(id_col, col).toArrow().combine_chunks()
    X, _ = csr_from_arrow(t.column(1).combine_chunks(), n_features)
    return ids_from_arrow(t.column(0).combine_chunks()), X

