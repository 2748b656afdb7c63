"""External ids and DataFrames at the edge: the one thin layer around the index-space model."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .ids import IdMap
from .model import ColdStartRecommender


class FrameRecommender:
    """A :class:`ColdStartRecommender` that speaks external ids and DataFrames.

    Parameters
    ----------
    model : ColdStartRecommender, optional
        The index-space model to fit (default: ``ColdStartRecommender()``).
    user_col, item_col : str
        Id columns of the interactions frame.
    weight_col : str, optional
        Interaction weight column (default: every interaction weighs 1).
    duplicates : {"raise", "sum"}
        What repeated (user, item) rows mean: an error, or weights to add up.

    Attributes
    ----------
    model_ : fitted ColdStartRecommender
    user_ids_, item_ids_ : IdMap
    user_items_ : csr_matrix of shape (n_users, n_items)
        Interactions seen so far (for filtering and refits).
    """

    def __init__(self, model: ColdStartRecommender | None = None, user_col: str = "user_id",
                 item_col: str = "item_id", weight_col: str | None = None, duplicates: str = "raise"):
        self.model = model
        self.user_col = user_col
        self.item_col = item_col
        self.weight_col = weight_col
        self.duplicates = duplicates

    # ---------------------------------------------------------------- helpers
    def _features_of(self, item_attributes: Any, name: str = "item_attributes"):
        """Split an attribute frame into (external ids, matrix or frame for the model)."""
        if isinstance(item_attributes, tuple) and len(item_attributes) == 2:
            ids, X = item_attributes
            ids = pd.Index(ids)
            if X.shape[0] != len(ids):
                raise ValueError(f"{name}: {len(ids)} ids but a matrix of shape {X.shape}; expected one row per id")
            return ids, X
        if not isinstance(item_attributes, pd.DataFrame):
            raise TypeError(f"{name} must be a DataFrame indexed by item id (or with an {self.item_col!r} "
                            f"column), or a (item_ids, matrix) tuple; received {type(item_attributes).__name__}")
        df = item_attributes
        if self.item_col in df.columns:
            df = df.set_index(self.item_col)
        if len(df) == 0:
            raise ValueError(f"{name} is empty; expected one row per item")
        model = self.model_ if hasattr(self, "model_") else self.model
        if model is not None and (model.featurizer is not None or getattr(model, "featurizer_", None) is not None):
            return df.index, df
        bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
        if bad:
            raise TypeError(f"{name} has non-numeric columns {bad}; give the model a featurizer "
                            "(ColdStartRecommender(featurizer=coldstart.ItemFeaturizer())) to encode them")
        return df.index, df.to_numpy(dtype=np.float32)

    def _matrix(self, interactions: pd.DataFrame, users: IdMap, items: IdMap, name: str) -> sp.csr_matrix:
        if not isinstance(interactions, pd.DataFrame):
            raise TypeError(f"{name} must be a DataFrame with columns {self.user_col!r}, {self.item_col!r}; "
                            f"received {type(interactions).__name__}")
        missing = [c for c in (self.user_col, self.item_col, self.weight_col) if c and c not in interactions]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}; it has {list(interactions.columns)}")
        u = users.to_internal(interactions[self.user_col])
        i = items.to_internal(interactions[self.item_col])
        w = (np.ones(len(interactions), dtype=np.float32) if self.weight_col is None
             else interactions[self.weight_col].to_numpy(dtype=np.float32))
        if not np.all(np.isfinite(w)) or (w < 0).any():
            raise ValueError(f"{name}[{self.weight_col!r}] must be finite and non-negative")
        key = u * len(items) + i
        if self.duplicates == "raise" and len(np.unique(key)) != len(key):
            dup = interactions[pd.Series(key).duplicated().to_numpy()].iloc[0]
            raise ValueError(f"{name} repeats the pair ({dup[self.user_col]!r}, {dup[self.item_col]!r}); "
                             "expected each (user, item) once, or pass duplicates='sum'")
        m = sp.csr_matrix((w, (u, i)), shape=(len(users), len(items)), dtype=np.float32)
        m.sum_duplicates()
        return m

    # ---------------------------------------------------------------- fit / add
    def fit(self, interactions: pd.DataFrame, item_attributes: Any) -> "FrameRecommender":
        """Fit from an interactions frame and item attributes indexed by item id.

        Items with attributes but no interactions get zero-shot vectors; every item in
        ``interactions`` must have attributes.
        """
        if self.duplicates not in ("raise", "sum"):
            raise ValueError(f"duplicates must be 'raise' or 'sum'; received {self.duplicates!r}")
        if not isinstance(interactions, pd.DataFrame):
            raise TypeError(f"interactions must be a DataFrame; received {type(interactions).__name__}")
        if self.user_col not in interactions or self.item_col not in interactions:
            raise ValueError(f"interactions lacks columns {self.user_col!r}/{self.item_col!r}; it has "
                             f"{list(interactions.columns)}")
        item_index, X = self._features_of(item_attributes)
        self.item_ids_ = IdMap(item_index, name="item")
        unknown = ~interactions[self.item_col].isin(item_index)
        if unknown.any():
            raise ValueError(f"interactions mention items without attributes, e.g. "
                             f"{list(interactions.loc[unknown, self.item_col].unique()[:5])}; expected "
                             "item_attributes to hold a row for every item")
        self.user_ids_ = IdMap.from_values(interactions[self.user_col], name="user")
        self.user_items_ = self._matrix(interactions, self.user_ids_, self.item_ids_, "interactions")
        self.model_ = (self.model if self.model is not None else ColdStartRecommender())
        from sklearn.base import clone

        self.model_ = clone(self.model_).fit(self.user_items_, X)
        return self

    def add_items(self, item_attributes: Any) -> np.ndarray:
        """Add new items (attributes indexed by their new ids); returns their internal indices."""
        self._check_fitted()
        ids, X = self._features_of(item_attributes)
        if pd.Index(ids).isin(self.item_ids_.external_ids).any():
            known = list(pd.Index(ids)[pd.Index(ids).isin(self.item_ids_.external_ids)][:5])
            raise ValueError(f"item_attributes holds items already known: {known}; expected new ids")
        V_idx = self.model_.add_items(X)
        self.item_ids_.add(ids)
        self.user_items_.resize((self.user_items_.shape[0], len(self.item_ids_)))
        return V_idx

    def partial_fit(self, interactions: pd.DataFrame) -> "FrameRecommender":
        """Take new interactions of known items in: new users are added, the items concerned
        get their vectors refitted from all their interactions (zero-shot prior included),
        and the users concerned are refitted."""
        self._check_fitted()
        new_users = pd.unique(interactions[self.user_col][~interactions[self.user_col].isin(
            self.user_ids_.external_ids)])
        if len(new_users):
            self.user_ids_.add(new_users)
            self.user_items_.resize((len(self.user_ids_), self.user_items_.shape[1]))
        delta = self._matrix(interactions, self.user_ids_, self.item_ids_, "interactions")
        overlap = self.user_items_.multiply(delta)
        if overlap.nnz and self.duplicates == "raise":
            raise ValueError("interactions repeats pairs already seen; pass duplicates='sum' to add weights")
        self.user_items_ = (self.user_items_ + delta).tocsr()
        items = np.unique(delta.indices)
        users = np.unique(delta.tocoo().row)
        self.model_.partial_fit_users(users, self.user_items_[users])  # adds the new users first
        self.model_.partial_fit_items(items, self.user_items_.T.tocsr()[items])
        return self

    # ---------------------------------------------------------------- serving
    def recommend(self, user_ids: Any, N: int = 10, filter_already_liked_items: bool = True,
                  items: Any = None, filter_items: Any = None) -> pd.DataFrame:
        """Top-N items per user as a DataFrame ``[user_col, item_col, score, rank]``."""
        self._check_fitted()
        ext = np.atleast_1d(np.asarray(user_ids, dtype=object))
        uidx = self.user_ids_.to_internal(ext)
        cand = None if items is None else self.item_ids_.to_internal(items)
        filt = None if filter_items is None else self.item_ids_.to_internal(filter_items)
        ids, scores = self.model_.recommend(uidx, self.user_items_[uidx], N=N,
                                            filter_already_liked_items=filter_already_liked_items,
                                            items=cand, filter_items=filt)
        return self._frame(ext, ids, scores, self.user_col)

    def similar_items(self, item_ids: Any, N: int = 10) -> pd.DataFrame:
        """Most similar items per query item: ``[query_item, item_col, score, rank]``."""
        self._check_fitted()
        ext = np.atleast_1d(np.asarray(item_ids, dtype=object))
        ids, scores = self.model_.similar_items(self.item_ids_.to_internal(ext), N=N)
        return self._frame(ext, ids, scores, "query_item")

    def _frame(self, ext, ids, scores, key) -> pd.DataFrame:
        ids, scores = np.atleast_2d(ids), np.atleast_2d(scores)
        keep = ids >= 0
        rows = np.repeat(np.arange(len(ext)), ids.shape[1]).reshape(ids.shape)
        ranks = np.tile(np.arange(1, ids.shape[1] + 1), (len(ext), 1))
        return pd.DataFrame({key: ext[rows[keep]], self.item_col: self.item_ids_.to_external(ids[keep]),
                             "score": scores[keep], "rank": ranks[keep]})

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("This FrameRecommender instance is not fitted yet. Call 'fit' with "
                                 "interactions and item attributes first.")

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike) -> None:
        """One pickle-free file with the model, the id maps and the interactions seen."""
        from .persistence import save_model

        self._check_fitted()
        m = self.user_items_.tocsr()
        meta = {"user_col": self.user_col, "item_col": self.item_col, "weight_col": self.weight_col,
                "duplicates": self.duplicates}
        arrays = {"user_ids": self.user_ids_.to_array(), "item_ids": self.item_ids_.to_array(),
                  "ui_data": m.data, "ui_indices": m.indices, "ui_indptr": m.indptr,
                  "ui_shape": np.asarray(m.shape, dtype=np.int64)}
        save_model(self.model_, path, extra_meta=meta, extra_arrays=arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FrameRecommender":
        from .persistence import ModelFileError, load_model

        model, meta, arrays = load_model(path, with_extra=True)
        if meta is None:
            raise ModelFileError(f"{path} holds a bare ColdStartRecommender; load it with ColdStartRecommender.load")
        obj = cls(model=None, **meta)
        obj.model_ = model
        obj.user_ids_ = IdMap(arrays["user_ids"], name="user")
        obj.item_ids_ = IdMap(arrays["item_ids"], name="item")
        obj.user_items_ = sp.csr_matrix((arrays["ui_data"], arrays["ui_indices"], arrays["ui_indptr"]),
                                        shape=tuple(arrays["ui_shape"]))
        return obj
