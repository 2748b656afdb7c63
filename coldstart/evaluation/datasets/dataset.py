"""The :class:`Dataset` every reader returns: interactions and item attributes in index space."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coldstart.evaluation.datasets.attributes import featurizer_features
from coldstart.evaluation.datasets.tables import cells, read_split_ids
from coldstart.evaluation.splits import ColdStartSplit, read_split


@dataclass
class Dataset:
    """Interactions and item attributes in index space.

    Attributes
    ----------
    user_items : csr_matrix of shape (n_users, n_items)
        Binary interactions.
    item_features : csr_matrix of shape (n_items, n_features)
        CiteULike: word counts followed by tag indicators; plain folder: the reference
        features (or the featurizer's, or none: see :func:`from_frames`).
    feature_names : ndarray of str, shape (n_features,)
        CiteULike: ``word`` for words, ``tag:<name>`` for tags; plain folder: ``col=value``,
        ``col:token`` or ``col=[lo,hi)``.
    name : str
        The folder's name.
    path : Path, optional
        The folder read (``load_split`` looks for ``split/`` in it).
    extra : dict
        ``columns`` (the user / item column names) and, with ``features="featurizer"``, the
        fitted ``featurizer``.
    user_ids : ndarray of shape (n_users,), optional
        External user ids, position = row of ``user_items`` (plain folder format; None for
        the CiteULike format, whose ids are the 0-based indices themselves).
    item_ids : ndarray of shape (n_items,), optional
        External item ids, position = column of ``user_items``.
    items : pandas.DataFrame, optional
        The raw item table as read (one row per listed item, all cells as read).
    kinds : dict of str -> str, optional
        Kind of each attribute column (``text``, ``multi``, ``categorical``, ``numeric``).
    interactions : pandas.DataFrame, optional
        The interactions in index space: columns ``user`` and ``item`` (int64 indices), plus
        ``weight`` / ``timestamp`` when the source had them.
    """

    user_items: sp.csr_matrix
    item_features: sp.csr_matrix
    feature_names: np.ndarray
    name: str = ""
    path: Path | None = None
    extra: dict = field(default_factory=dict)
    user_ids: np.ndarray | None = None
    item_ids: np.ndarray | None = None
    items: pd.DataFrame | None = None
    kinds: dict | None = None
    interactions: pd.DataFrame | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.user_items.shape

    def load_split(self, path: str | os.PathLike | None = None) -> ColdStartSplit:
        """The fixed split in ``<path>/split/`` as a :class:`~coldstart.evaluation.splits.ColdStartSplit`.

        With external ids (plain folder format) the split files' ids are read as strings and
        mapped through ``user_ids`` / ``item_ids``, so the split is in this dataset's index
        space. ``path`` overrides the split folder.
        """
        folder = Path(path) if path is not None else (None if self.path is None else self.path / "split")
        if folder is None or not folder.is_dir():
            raise FileNotFoundError(f"dataset {self.name!r} has no split folder at {folder}")
        if self.user_ids is None or self.item_ids is None:
            return read_split(folder, shape=self.shape)
        return read_split_ids(folder, self.user_ids, self.item_ids)

    def item_table(self) -> pd.DataFrame:
        """The item table aligned to ``item_ids``: row ``i`` holds item ``i``'s attribute columns
        (NaN for an item without a row in the table). Plain folder format only."""
        if self.item_ids is None:
            raise ValueError(f"dataset {self.name!r} has no external item ids (CiteULike format)")
        item_col = self.extra.get("columns", {}).get("item", "item")
        return cells(self.items, item_col, self.item_ids)

    def featurize(self, featurizer=None) -> tuple[sp.csr_matrix, np.ndarray, Any]:
        """Features of :meth:`item_table` by :class:`~coldstart.features.featurizer.ItemFeaturizer`.

        ``featurizer`` default: ``ItemFeaturizer(kinds=...)`` with its defaults and the kinds of
        this dataset (``multi`` -> ``multilabel``). Returns ``(item_features csr of shape
        (n_items, n_features), feature_names, fitted featurizer)``.
        """
        return featurizer_features(self.item_table(), self.kinds or {}, featurizer)
