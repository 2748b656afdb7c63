"""Item cold-start splits: the protocol split, temporal splits, item k-fold, and their files.

A split lives in index space: four binary float32 CSR matrices of one shape
(n_users, n_items). The protocol (``EVALUATION.md``) puts every interaction of the cold
validation / cold test items into ``cold_val`` / ``cold_test`` and none into training;
the remaining (warm) interactions are divided into ``train`` and ``warm_test``.

On disk a split is a folder with ``train.csv``, ``warm_test.csv``, ``cold_val.csv`` and
``cold_test.csv``, each with the header ``user,item`` and one 0-based (user, item) pair
per line.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldstart.core.validation import describe
from coldstart.evaluation.metrics import check_int

__all__ = [
    "ColdStartSplit",
    "read_split",
    "write_split",
    "protocol_split",
    "temporal_split",
    "item_kfold",
    "SPLIT_PARTS",
    "ColdUserSplit",
    "cold_user_split",
]

#: The parts of a split, in file order.
SPLIT_PARTS: tuple[str, ...] = ("train", "warm_test", "cold_val", "cold_test")

_HEADER = ["user", "item"]


def _binary_csr(x: Any, name: str, shape: tuple[int, int] | None = None) -> sp.csr_matrix:
    """Canonical binary float32 CSR copy of a sparse interaction matrix."""
    if not sp.issparse(x):
        raise TypeError(
            f"{name} must be a scipy sparse matrix of shape (n_users, n_items); received {describe(x)}"
        )
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D; received {describe(x)}")
    if shape is not None and tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} like the other parts; received {x.shape}")
    csr = sp.csr_matrix(x, dtype=np.float32, copy=True)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    csr.data[:] = 1.0
    return csr


def _column_items(m: sp.csr_matrix) -> np.ndarray:
    return np.flatnonzero(np.bincount(m.indices, minlength=m.shape[1]) > 0)


@dataclass(eq=False)  # sparse matrices have no truth value: compare parts explicitly
class ColdStartSplit:
    """An item cold-start split in index space.

    Parameters
    ----------
    train : sparse matrix of shape (n_users, n_items)
        Interactions the models are fitted on (warm items only).
    warm_test : sparse matrix of shape (n_users, n_items)
        Held-out interactions of warm items.
    cold_val : sparse matrix of shape (n_users, n_items)
        Every interaction of the cold validation items (model selection only).
    cold_test : sparse matrix of shape (n_users, n_items)
        Every interaction of the cold test items.

    All four are stored as canonical binary float32 CSR matrices. Construction checks the
    protocol's invariants: one shape; cold validation items, cold test items and the items of
    ``train`` / ``warm_test`` are disjoint; no (user, item) pair is in both ``train`` and
    ``warm_test``.
    """

    train: sp.csr_matrix
    warm_test: sp.csr_matrix
    cold_val: sp.csr_matrix
    cold_test: sp.csr_matrix

    def __post_init__(self) -> None:
        self.train = _binary_csr(self.train, "train")
        shape = self.train.shape
        self.warm_test = _binary_csr(self.warm_test, "warm_test", shape)
        self.cold_val = _binary_csr(self.cold_val, "cold_val", shape)
        self.cold_test = _binary_csr(self.cold_test, "cold_test", shape)
        cv, ct = self.cold_val_items, self.cold_test_items
        both = np.intersect1d(cv, ct)
        if both.size:
            raise ValueError(
                f"cold_val and cold_test share {both.size} items (e.g. item {both[0]}); expected "
                "disjoint cold validation and cold test items"
            )
        warm_seen = np.union1d(_column_items(self.train), _column_items(self.warm_test))
        for name, cold in (("cold_val", cv), ("cold_test", ct)):
            leak = np.intersect1d(cold, warm_seen)
            if leak.size:
                raise ValueError(
                    f"{leak.size} {name} items also occur in train or warm_test (e.g. item "
                    f"{leak[0]}); expected every interaction of a cold item to be in {name}"
                )
        overlap = self.train.multiply(self.warm_test)
        overlap.eliminate_zeros()
        if overlap.nnz:
            r, c = overlap.nonzero()
            raise ValueError(
                f"train and warm_test share {overlap.nnz} (user, item) pairs (e.g. user {r[0]}, "
                f"item {c[0]}); expected held-out pairs to be absent from train"
            )

    # ---------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(n_users, n_items) of every part."""
        return tuple(self.train.shape)  # type: ignore[return-value]

    @property
    def n_users(self) -> int:
        return self.shape[0]

    @property
    def n_items(self) -> int:
        return self.shape[1]

    @property
    def cold_val_items(self) -> np.ndarray:
        """Sorted int64 array of the items with interactions in ``cold_val``."""
        return _column_items(self.cold_val)

    @property
    def cold_test_items(self) -> np.ndarray:
        """Sorted int64 array of the items with interactions in ``cold_test``."""
        return _column_items(self.cold_test)

    @property
    def warm_items(self) -> np.ndarray:
        """Sorted int64 array of every item that is neither cold validation nor cold test.

        Includes items without any interaction (they are candidates in the warm setting).
        """
        cold = np.zeros(self.n_items, dtype=bool)
        cold[self.cold_val_items] = True
        cold[self.cold_test_items] = True
        return np.flatnonzero(~cold)

    def summary(self) -> pd.DataFrame:
        """Interactions, users and items of each part.

        Returns
        -------
        pandas.DataFrame
            Indexed by part, columns ``interactions``, ``users``, ``items``.
        """
        rows = []
        for part in SPLIT_PARTS:
            m = getattr(self, part)
            rows.append({
                "part": part,
                "interactions": m.nnz,
                "users": int((np.diff(m.indptr) > 0).sum()),
                "items": _column_items(m).size,
            })
        return pd.DataFrame(rows).set_index("part")

    def __repr__(self) -> str:
        parts = ", ".join(f"{p}={getattr(self, p).nnz}" for p in SPLIT_PARTS)
        return f"ColdStartSplit(shape={self.shape}, {parts})"


# -------------------------------------------------------------------------------------
# files
# -------------------------------------------------------------------------------------
def _read_part(path: str, part: str) -> tuple[np.ndarray, np.ndarray]:
    fname = os.path.join(path, f"{part}.csv")
    if not os.path.isfile(fname):
        present = sorted(f for f in os.listdir(path) if f.endswith(".csv"))
        raise FileNotFoundError(
            f"split folder {path!r} has no {part}.csv; expected the files "
            f"{[p + '.csv' for p in SPLIT_PARTS]}, found {present}"
        )
    with open(fname, encoding="utf-8") as fh:
        header = fh.readline().strip()
    if [h.strip() for h in header.split(",")] != _HEADER:
        raise ValueError(f"{fname}: header must be 'user,item'; received {header!r}")
    try:  # fast path: two integer columns
        df = pd.read_csv(fname, skipinitialspace=True)
        fast = df.shape[1] == 2 and all(pd.api.types.is_integer_dtype(df[c].dtype) or len(df) == 0
                                        for c in _HEADER)
    except (ValueError, pd.errors.ParserError):
        fast = False
    if not fast:
        df = pd.read_csv(fname, dtype=str, keep_default_na=False, skipinitialspace=True)
    if df.shape[1] != 2:
        raise ValueError(f"{fname}: expected 2 columns 'user,item'; received {df.shape[1]}")
    out = []
    for col in _HEADER:
        if fast:
            arr = df[col].to_numpy(dtype=np.int64)
            if arr.size and arr.min() < 0:
                j = int(np.argmin(arr))
                raise ValueError(
                    f"{fname}, line {j + 2}: {col} is {arr[j]}; expected a 0-based index >= 0"
                )
            out.append(arr)
            continue
        vals = df[col].str.strip()
        ok = vals.str.fullmatch(r"-?\d+")
        if not ok.all():
            j = int(np.flatnonzero(~ok.to_numpy())[0])
            raise ValueError(
                f"{fname}, line {j + 2}: {col} must be an integer index; received {vals.iloc[j]!r}"
            )
        arr = vals.astype(np.int64).to_numpy()
        if arr.size and arr.min() < 0:
            j = int(np.argmin(arr))
            raise ValueError(
                f"{fname}, line {j + 2}: {col} is {arr[j]}; expected a 0-based index >= 0"
            )
        out.append(arr)
    users, items = out
    if users.size:
        keys = users * (int(items.max()) + 1) + items
        uniq, first, counts = np.unique(keys, return_index=True, return_counts=True)
        if (counts > 1).any():
            dup_key = uniq[counts > 1][0]
            lines = np.flatnonzero(keys == dup_key)[:2] + 2
            raise ValueError(
                f"{fname}: the pair (user {users[lines[0] - 2]}, item {items[lines[0] - 2]}) is "
                f"listed more than once (lines {lines[0]} and {lines[1]}); expected each pair once"
            )
    return users, items


def read_split(path: str | os.PathLike, shape: tuple[int, int] | None = None) -> ColdStartSplit:
    """Read a split folder (``train.csv``, ``warm_test.csv``, ``cold_val.csv``, ``cold_test.csv``).

    Parameters
    ----------
    path : str or path-like
        The folder.
    shape : tuple of (n_users, n_items), optional
        Size of the index space. Without it, the shape is ``(max user + 1, max item + 1)``
        over the four files, which misses trailing users or items that have no interaction
        at all; pass the dataset's own counts (e.g. ``(7947, 25975)`` for citeulike-t).

    Returns
    -------
    ColdStartSplit

    Raises
    ------
    FileNotFoundError
        The folder or one of the four files is missing.
    ValueError
        Bad header, non-integer / negative / out-of-range ids, a pair listed twice within a
        file, or a violation of the protocol across files (see :class:`ColdStartSplit`).
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(
            f"path must be a split folder holding {[p + '.csv' for p in SPLIT_PARTS]}; "
            f"{path!r} is not a directory"
        )
    parts = {p: _read_part(path, p) for p in SPLIT_PARTS}
    if shape is None:
        n_users = max((int(u.max()) + 1 if u.size else 0) for u, _ in parts.values())
        n_items = max((int(i.max()) + 1 if i.size else 0) for _, i in parts.values())
        shape = (n_users, n_items)
    else:
        if (len(shape) != 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer))
                                   or s < 0 for s in shape)):
            raise ValueError(
                f"shape must be a pair of non-negative ints (n_users, n_items); received {shape!r}"
            )
        shape = (int(shape[0]), int(shape[1]))
        for part, (u, i) in parts.items():
            for col, arr, n in (("user", u, shape[0]), ("item", i, shape[1])):
                if arr.size and arr.max() >= n:
                    j = int(np.argmax(arr))
                    raise ValueError(
                        f"{os.path.join(path, part + '.csv')}, line {j + 2}: {col} {arr[j]} is "
                        f"out of range for shape={shape}; expected {col} indices < {n}"
                    )
    mats = {
        p: sp.csr_matrix((np.ones(u.size, dtype=np.float32), (u, i)), shape=shape)
        for p, (u, i) in parts.items()
    }
    return ColdStartSplit(**mats)


def write_split(split: ColdStartSplit, path: str | os.PathLike) -> None:
    """Write a split as a folder of four ``user,item`` CSV files, rows sorted by (user, item).

    Parameters
    ----------
    split : ColdStartSplit
    path : str or path-like
        Folder to create (parents included); existing split files in it are overwritten.

    Notes
    -----
    The files do not record the shape: pass it to :func:`read_split` to restore users or
    items that have no interaction.
    """
    if not isinstance(split, ColdStartSplit):
        raise TypeError(f"split must be a ColdStartSplit; received {type(split).__name__}")
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    for part in SPLIT_PARTS:
        coo = getattr(split, part).tocoo()
        order = np.lexsort((coo.col, coo.row))
        df = pd.DataFrame({"user": coo.row[order].astype(np.int64),
                           "item": coo.col[order].astype(np.int64)})
        df.to_csv(os.path.join(path, f"{part}.csv"), index=False)


# -------------------------------------------------------------------------------------
# split makers
# -------------------------------------------------------------------------------------
def _check_fraction(value: Any, name: str, upper: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not (0.0 <= float(value) <= upper):
        raise ValueError(f"{name} must be a number in [0, {upper:g}]; received {value!r}")
    return float(value)


def _select(coo_rows: np.ndarray, coo_cols: np.ndarray, mask: np.ndarray,
            shape: tuple[int, int]) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(int(mask.sum()), dtype=np.float32),
                          (coo_rows[mask], coo_cols[mask])), shape=shape)


def protocol_split(user_items: sp.spmatrix, cold_fraction: float = 0.1,
                   warm_test_fraction: float = 0.1,
                   random_state: int | np.random.Generator | None = 0) -> ColdStartSplit:
    """The protocol's seeded item cold-start split.

    1. The items with at least one interaction (ascending index) are shuffled with
       ``numpy.random.default_rng(random_state).permutation``.
    2. The first ``floor(cold_fraction * n)`` shuffled items are cold validation items, the
       next ``floor(cold_fraction * n)`` cold test items; all their interactions go to
       ``cold_val`` / ``cold_test``.
    3. Of the remaining (warm) interactions, in (user, item) order, ``floor(warm_test_fraction
       * n_warm)`` drawn without replacement by the same generator form ``warm_test``; the
       rest is ``train``.

    Parameters
    ----------
    user_items : sparse matrix of shape (n_users, n_items)
        All interactions; non-zeros count as one interaction each (values are ignored).
    cold_fraction : float, default 0.1
        Share of the interacted items in each of cold validation and cold test
        (``2 * cold_fraction <= 1``).
    warm_test_fraction : float, default 0.1
        Share of the warm interactions held out as warm test.
    random_state : int, numpy Generator or None, default 0
        Seed. The same seed and matrix give the same split.

    Returns
    -------
    ColdStartSplit
        Same shape as ``user_items``.

    Notes
    -----
    The published ``citeulike-t`` split in ``shared/data`` was produced by an earlier tool
    with the same proportions (2,558 + 2,558 cold items, 10 % warm test) but is not the
    output of this function for any seed tried; read it with :func:`read_split` to compare
    with the reference figures.
    """
    X = _binary_csr(user_items, "user_items")
    cold_fraction = _check_fraction(cold_fraction, "cold_fraction", 0.5)
    warm_test_fraction = _check_fraction(warm_test_fraction, "warm_test_fraction")
    rng = np.random.default_rng(random_state)
    items = _column_items(X)
    perm = rng.permutation(items)
    n_cold = int(np.floor(cold_fraction * items.size))
    if n_cold == 0 and cold_fraction > 0:
        warnings.warn(f"protocol_split: {items.size} items with interactions at cold_fraction={cold_fraction} "
                      "hold no cold item (floor of the share): the cold validation and test parts are "
                      f"empty; at least {int(np.ceil(1 / cold_fraction))} items are needed for one",
                      UserWarning, stacklevel=2)
    cold_val_items = perm[:n_cold]
    cold_test_items = perm[n_cold:2 * n_cold]

    coo = X.tocoo()
    order = np.lexsort((coo.col, coo.row))
    rows, cols = coo.row[order].astype(np.int64), coo.col[order].astype(np.int64)
    kind = np.zeros(X.shape[1], dtype=np.int8)  # 0 warm, 1 cold val, 2 cold test
    kind[cold_val_items] = 1
    kind[cold_test_items] = 2
    k = kind[cols]
    warm_idx = np.flatnonzero(k == 0)
    n_wt = int(np.floor(warm_test_fraction * warm_idx.size))
    wt = np.zeros(rows.size, dtype=bool)
    wt[rng.choice(warm_idx, size=n_wt, replace=False)] = True
    shape = X.shape
    return ColdStartSplit(
        train=_select(rows, cols, (k == 0) & ~wt, shape),
        warm_test=_select(rows, cols, wt, shape),
        cold_val=_select(rows, cols, k == 1, shape),
        cold_test=_select(rows, cols, k == 2, shape),
    )


def temporal_split(interactions: pd.DataFrame | tuple[Any, Any, Any], cutoff: Any, *,
                   val_cutoff: Any = None, val_fraction: float = 0.5,
                   columns: Sequence[str] = ("user", "item", "timestamp"),
                   shape: tuple[int, int] | None = None) -> ColdStartSplit:
    """Time-based item cold-start split: items first seen after ``cutoff`` are cold.

    - An item is **cold** when its first interaction is strictly after ``cutoff``; all its
      interactions go to ``cold_val`` or ``cold_test``. Cold items are ordered by first-seen
      time (ties by index): those first seen up to ``val_cutoff`` are cold validation, later
      ones cold test. Without ``val_cutoff``, the earliest ``floor(val_fraction * n_cold)``
      cold items are validation items. Validation thus precedes test in time.
    - Interactions of the other (**warm**) items at or before ``cutoff`` are ``train``; those
      after it are ``warm_test``, except pairs already in ``train`` (re-consumption), which
      are dropped so that test pairs are new.

    Parameters
    ----------
    interactions : pandas.DataFrame or tuple of (users, items, timestamps)
        0-based user and item indices with their timestamps (numbers or datetimes). A
        DataFrame's columns are named by ``columns``; repeated pairs are allowed.
    cutoff : scalar
        Time of the split, comparable with the timestamps (a number, ``numpy.datetime64``,
        ``pandas.Timestamp`` or a date string for datetime columns).
    val_cutoff : scalar, optional
        Cold items first seen in ``(cutoff, val_cutoff]`` are validation items. Must not be
        earlier than ``cutoff``.
    val_fraction : float, default 0.5
        Used when ``val_cutoff`` is None.
    columns : sequence of 3 str, default ("user", "item", "timestamp")
        Column names of a DataFrame ``interactions``.
    shape : tuple of (n_users, n_items), optional
        Index space; default ``(max user + 1, max item + 1)``.

    Returns
    -------
    ColdStartSplit
    """
    if isinstance(interactions, pd.DataFrame):
        if len(columns) != 3:
            raise ValueError(f"columns must name 3 columns (user, item, timestamp); received {columns!r}")
        missing = [c for c in columns if c not in interactions.columns]
        if missing:
            raise KeyError(
                f"interactions lacks the columns {missing}; received columns "
                f"{list(interactions.columns)}, expected {list(columns)} (set columns=...)"
            )
        users, items, times = (interactions[c].to_numpy() for c in columns)
    elif isinstance(interactions, (tuple, list)) and len(interactions) == 3:
        users, items, times = (np.asarray(a) for a in interactions)
    else:
        raise TypeError(
            "interactions must be a DataFrame or a tuple (users, items, timestamps); received "
            f"{type(interactions).__name__}"
        )
    users = np.asarray(users)
    items = np.asarray(items)
    if not (users.ndim == items.ndim == np.ndim(times) == 1 and users.size == items.size == len(times)):
        raise ValueError(
            "users, items and timestamps must be 1-D and of equal length; received lengths "
            f"{users.size}, {items.size}, {len(times)}"
        )
    for name, arr in (("users", users), ("items", items)):
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must be integer indices; received dtype {arr.dtype}")
        if arr.size and arr.min() < 0:
            raise ValueError(f"{name} contains {arr.min()}; expected 0-based indices >= 0")
    if users.size == 0:
        raise ValueError("interactions is empty; expected at least one interaction")
    users = users.astype(np.int64)
    items = items.astype(np.int64)
    ts = pd.Series(times)
    if ts.isna().any():
        raise ValueError(
            f"timestamps contain {int(ts.isna().sum())} missing values; expected a time for "
            "every interaction"
        )
    try:
        after = (ts > cutoff).to_numpy()
        val_after = None if val_cutoff is None else (ts > val_cutoff).to_numpy()
    except TypeError as exc:
        raise TypeError(
            f"cutoff {cutoff!r} (or val_cutoff {val_cutoff!r}) cannot be compared with timestamps "
            f"of dtype {ts.dtype}: {exc}"
        ) from None
    val_fraction = _check_fraction(val_fraction, "val_fraction")
    if shape is None:
        shape = (int(users.max()) + 1, int(items.max()) + 1)
    elif users.max() >= shape[0] or items.max() >= shape[1]:
        raise ValueError(
            f"shape={tuple(shape)} is too small for user {users.max()} / item {items.max()}; "
            "expected indices below it"
        )
    shape = (int(shape[0]), int(shape[1]))

    # per item: rank of its first-seen time, and whether that is after the cut-off(s)
    rank = ts.rank(method="min").to_numpy()
    first_rank = np.full(shape[1], np.inf)
    np.minimum.at(first_rank, items, rank)
    cold_flag = np.ones(shape[1], dtype=bool)          # every interaction after cutoff
    np.logical_and.at(cold_flag, items, after)
    seen = np.isfinite(first_rank)
    cold_items = np.flatnonzero(seen & cold_flag)
    cold_items = cold_items[np.lexsort((cold_items, first_rank[cold_items]))]
    if val_cutoff is not None:
        try:
            reversed_cutoffs = bool(pd.Series([val_cutoff]).astype(ts.dtype).iloc[0]
                                    < pd.Series([cutoff]).astype(ts.dtype).iloc[0])
        except (TypeError, ValueError):
            reversed_cutoffs = bool(np.any(val_after & ~after))
        if reversed_cutoffs:
            raise ValueError(
                f"val_cutoff {val_cutoff!r} is earlier than cutoff {cutoff!r}; expected "
                "cutoff <= val_cutoff"
            )
        late = np.ones(shape[1], dtype=bool)            # first seen after val_cutoff
        np.logical_and.at(late, items, val_after)
        is_val = ~late[cold_items]
    else:
        n_val = int(np.floor(val_fraction * cold_items.size))
        is_val = np.zeros(cold_items.size, dtype=bool)
        is_val[:n_val] = True
    kind = np.zeros(shape[1], dtype=np.int8)
    kind[cold_items[is_val]] = 1
    kind[cold_items[~is_val]] = 2
    k = kind[items]
    train = _select(users, items, (k == 0) & ~after, shape)
    warm_test = _select(users, items, (k == 0) & after, shape)
    warm_test.sum_duplicates()
    warm_test = warm_test - warm_test.multiply(train > 0)  # drop re-consumed pairs
    return ColdStartSplit(
        train=train,
        warm_test=warm_test,
        cold_val=_select(users, items, k == 1, shape),
        cold_test=_select(users, items, k == 2, shape),
    )


def item_kfold(user_items: sp.spmatrix | ColdStartSplit, n_splits: int = 5,
               random_state: int | np.random.Generator | None = 0
               ) -> Iterator[tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]]:
    """K-fold cross-validation over items: each fold's items become cold in turn.

    The items with at least one interaction are shuffled with
    ``numpy.random.default_rng(random_state)`` and cut into ``n_splits`` folds of near-equal
    size (``numpy.array_split``). Items without interactions belong to no fold.

    Parameters
    ----------
    user_items : sparse matrix of shape (n_users, n_items) or ColdStartSplit
        Interactions to cross-validate on; for a split, its ``train`` part is used (so the
        protocol's cold items stay untouched).
    n_splits : int, default 5
        Number of folds, ``2 <= n_splits <= n_interacted_items``.
    random_state : int, numpy Generator or None, default 0

    Yields
    ------
    train : csr_matrix of shape (n_users, n_items)
        ``user_items`` with the fold items' columns emptied (binary float32).
    held_out : csr_matrix of shape (n_users, n_items)
        Only the fold items' interactions.
    fold_items : ndarray of int64
        The fold's items, sorted; use them as ``items=`` candidates.
    """
    X = user_items.train if isinstance(user_items, ColdStartSplit) else user_items
    X = _binary_csr(X, "user_items")
    n_splits = check_int(n_splits, "n_splits", lo=2)
    items = _column_items(X)
    if n_splits > items.size:
        raise ValueError(
            f"n_splits={n_splits} exceeds the {items.size} items that have interactions; "
            "expected at most one fold per item"
        )
    rng = np.random.default_rng(random_state)
    folds = np.array_split(rng.permutation(items), n_splits)
    for fold in folds:
        fold = np.sort(fold)
        in_fold = np.zeros(X.shape[1], dtype=bool)
        in_fold[fold] = True
        held = in_fold[X.indices]
        train = X.copy()
        train.data[held] = 0
        train.eliminate_zeros()
        held_out = X.copy()
        held_out.data[~held] = 0
        held_out.eliminate_zeros()
        yield train, held_out, fold.astype(np.int64)


@dataclass
class ColdUserSplit:
    """A user cold-start split: users held out with all their interactions.

    Attributes
    ----------
    train : csr_matrix of shape (n_users, n_items)
        The interactions of the other users (the held-out users' rows are empty: the users
        stay in the index space, so ``user_features`` keeps one row per user).
    test : csr_matrix of shape (n_users, n_items)
        The held-out users' interactions with the items that keep a training interaction
        (the user cold-start setting alone: an item seen only by held-out users would be a
        cold item too, so those pairs are dropped; ``dropped`` counts them).
    users : ndarray of int64
        The held-out users, sorted.
    items : ndarray of int64
        The items with training interactions: the candidates.
    dropped : int
    """

    train: sp.csr_matrix
    test: sp.csr_matrix
    users: np.ndarray
    items: np.ndarray
    dropped: int


def cold_user_split(user_items: sp.spmatrix, fraction: float = 0.1,
                    random_state: int | np.random.Generator | None = 0) -> ColdUserSplit:
    """Hold out a random ``fraction`` of the users with interactions, all their interactions.

    Parameters
    ----------
    user_items : sparse matrix of shape (n_users, n_items)
    fraction : float in (0, 1)
        Share of the users with interactions held out (at least one, and one is kept).
    random_state : int, Generator or None, default 0

    Returns
    -------
    ColdUserSplit
    """
    X = _binary_csr(user_items, "user_items")
    frac = _check_fraction(fraction, "fraction")
    active = np.flatnonzero(np.diff(X.indptr) > 0)
    if active.size < 2 or frac in (0.0, 1.0):
        raise ValueError(f"fraction must be in (0, 1) with at least 2 users with interactions; received "
                         f"fraction={fraction!r} with {active.size} such users")
    n_out = int(min(max(1, round(frac * active.size)), active.size - 1))
    users = np.sort(np.random.default_rng(random_state).choice(active, size=n_out, replace=False))
    out = np.zeros(X.shape[0], dtype=bool)
    out[users] = True
    on_out = np.repeat(out, np.diff(X.indptr))
    train, test = X.copy(), X.copy()
    train.data[on_out] = 0
    train.eliminate_zeros()
    items = _column_items(train)
    kept = np.zeros(X.shape[1], dtype=bool)
    kept[items] = True
    test.data[~on_out | ~kept[test.indices]] = 0
    test.eliminate_zeros()
    dropped = int(on_out.sum()) - test.nnz
    return ColdUserSplit(train=train, test=test, users=users.astype(np.int64), items=items.astype(np.int64),
                         dropped=dropped)
