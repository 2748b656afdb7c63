"""External ids and DataFrames at the edge: the one thin layer around the index-space model."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone

from coldstart.core.model import ColdStartRecommender
from coldstart.core.validation import check_item_features
from coldstart.evaluation.splits import SPLIT_PARTS, ColdStartSplit, protocol_split, temporal_split
from coldstart.frame.ids import IdMap, columns_from_json, jsonable_columns, plain


class FrameRecommender(BaseEstimator):
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
    def _features_of(self, item_attributes: Any, name: str = "item_attributes", columns: list | None = None,
                     kind: str = "item"):
        """Split an attribute frame into (external ids, matrix or frame for the model).

        ``columns``: the attribute columns the model was fitted on; a frame's columns are then
        matched by name (missing: an error; extra: one warning, ignored; any order). ``kind``
        "user": a frame keyed by user id (``user_col``), numeric columns only (no featurizer).
        """
        id_col = self.user_col if kind == "user" else self.item_col
        if isinstance(item_attributes, tuple) and len(item_attributes) == 2:
            ids, X = item_attributes
            ids = pd.Index(ids)
            if X.shape[0] != len(ids):
                raise ValueError(f"{name}: {len(ids)} ids but a matrix of shape {X.shape}; expected one row per id")
            return ids, X
        if not isinstance(item_attributes, pd.DataFrame):
            raise TypeError(f"{name} must be a DataFrame indexed by {kind} id (or with a {id_col!r} "
                            f"column), or a ({kind}_ids, matrix) tuple; received {type(item_attributes).__name__}")
        df = item_attributes
        if id_col in df.columns:
            df = df.set_index(id_col)
        if len(df) == 0:
            raise ValueError(f"{name} is empty; expected one row per {kind}")
        if columns is not None:
            have = set(df.columns)
            missing = [c for c in columns if c not in have]
            if missing:
                raise ValueError(f"{name} lacks the attribute columns {missing[:5]} ({len(missing)} in all) "
                                 f"the model was fitted on; expected all of {len(columns)} columns "
                                 "(matched by name, in any order)")
            if len(have) != len(columns):
                known = set(columns)
                extra = [c for c in df.columns if c not in known]
                warnings.warn(f"{name} has columns the model was not fitted on, ignored: {extra[:5]}"
                              f"{' ...' if len(extra) > 5 else ''}", UserWarning, stacklevel=3)
            if not df.columns.is_unique:
                raise ValueError(f"{name} repeats column names; expected each attribute column once")
            df = df[list(columns)]
        model = self.model_ if hasattr(self, "model_") else self.model
        if kind == "item" and model is not None and (model.featurizer is not None
                                                     or getattr(model, "featurizer_", None) is not None):
            return df.index, df
        bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
        if bad:
            raise TypeError(f"{name} has non-numeric columns {bad}; " + (
                "give the model a featurizer (ColdStartRecommender(featurizer=coldstart.ItemFeaturizer())) "
                "to encode them" if kind == "item" else "encode them as numbers first (e.g. pandas.get_dummies)"))
        if len(df.columns) and all(isinstance(t, pd.SparseDtype) for t in df.dtypes):  # stays sparse
            values = sp.csr_matrix(df.sparse.to_coo(), dtype=np.float32)
            bad = ~np.isfinite(values.data)
            if bad.any():
                cols = df.columns[np.unique(values.indices[bad])].tolist()
                raise ValueError(f"{name} columns {cols[:5]} hold NaN or infinite values; expected finite numbers")
            return df.index, values
        values = df.to_numpy(dtype=np.float32)
        if not np.isfinite(values).all():
            cols = df.columns[~np.isfinite(values).all(axis=0)].tolist()
            raise ValueError(f"{name} columns {cols[:5]} hold NaN or infinite values; expected finite numbers "
                             "(impute missing attributes first" + (", or give the model a featurizer, "
                             "which encodes missing values" if kind == "item" else "") + ")")
        return df.index, values

    def _matrix(self, interactions: pd.DataFrame, users: IdMap, items: IdMap, name: str) -> sp.csr_matrix:
        if not isinstance(interactions, pd.DataFrame):
            raise TypeError(f"{name} must be a DataFrame with columns {self.user_col!r}, {self.item_col!r}; "
                            f"received {type(interactions).__name__}")
        missing = [c for c in (self.user_col, self.item_col, self.weight_col) if c and c not in interactions]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}; it has {list(interactions.columns)}")
        u = users.to_internal(interactions[self.user_col])
        i = items.to_internal(interactions[self.item_col])
        if self.weight_col is None:
            w = np.ones(len(interactions), dtype=np.float32)
        else:
            col = interactions[self.weight_col]
            num = pd.to_numeric(col, errors="coerce")
            if num.isna().any() and not col.isna().equals(num.isna()):  # text that is not a number
                bad = col[num.isna() & col.notna()].iloc[0]
                raise ValueError(f"{name}[{self.weight_col!r}] must hold numbers; received {bad!r}")
            w = num.to_numpy(dtype=np.float32)
            bad = ~np.isfinite(w) | (w < 0)
            if bad.any():
                raise ValueError(f"{name}[{self.weight_col!r}] must be finite and non-negative; received "
                                 f"{plain(col.iloc[int(np.argmax(bad))])!r}")
        key = u * len(items) + i
        if self.duplicates == "raise" and len(np.unique(key)) != len(key):
            dup = interactions[pd.Series(key).duplicated().to_numpy()].iloc[0]
            raise ValueError(f"{name} repeats the pair ({plain(dup[self.user_col])!r}, "
                             f"{plain(dup[self.item_col])!r}); expected each (user, item) once, or "
                             "FrameRecommender(..., duplicates='sum') to add their weights")
        m = sp.csr_matrix((w, (u, i)), shape=(len(users), len(items)), dtype=np.float32)
        m.sum_duplicates()
        return m

    # ---------------------------------------------------------------- fit / add
    def index(self, interactions: pd.DataFrame, item_attributes: Any) -> tuple[pd.Index, pd.Index, sp.csr_matrix]:
        """The index space :meth:`fit` builds from these frames, before any fit: ``(user ids, item
        ids, user_items)``, users in order of first appearance in ``interactions``, items in the
        order of ``item_attributes``' rows, ``user_items`` (n_users, n_items) CSR. For plug-in mode:
        fit the backend (implicit's ALS) on ``user_items``, then
        ``FrameRecommender(ColdStartRecommender(collaborative=backend)).fit(interactions, item_attributes)``."""
        item_ids, _, user_ids = self._prepared(interactions, item_attributes)
        user_items = self._matrix(interactions, user_ids, item_ids, "interactions")
        return (pd.Index(user_ids.external_ids, name=self.user_col), pd.Index(item_ids.external_ids, name=self.item_col),
                user_items)

    def _prepared(self, interactions: pd.DataFrame, item_attributes: Any) -> tuple:
        """:meth:`fit`'s checks and id maps: ``(item IdMap, attributes for the model, user IdMap)``."""
        if self.duplicates not in ("raise", "sum"):
            raise ValueError(f"duplicates must be 'raise' or 'sum'; received {self.duplicates!r}")
        if not isinstance(interactions, pd.DataFrame):
            raise TypeError(f"interactions must be a DataFrame; received {type(interactions).__name__}")
        if self.user_col not in interactions or self.item_col not in interactions:
            raise ValueError(f"interactions lacks columns {self.user_col!r}/{self.item_col!r}; it has "
                             f"{list(interactions.columns)}")
        item_index, X = self._features_of(item_attributes)
        item_ids = IdMap(item_index, name="item")
        unknown = ~interactions[self.item_col].isin(item_index)
        if unknown.any():
            lost = interactions.loc[unknown, self.item_col]
            hint = ""
            kinds = {("str" if isinstance(v, str) else "int") for v in (lost.iloc[0], item_index[0])}
            if len(kinds) == 2:  # 1 and "1" are different ids
                hint = (f" (the interactions' item ids are {type(lost.iloc[0]).__name__}, item_attributes' "
                        f"{type(item_index[0]).__name__}: convert one side, e.g. .astype(str))")
            raise ValueError(f"interactions mention items without attributes, e.g. "
                             f"{lost.unique()[:5].tolist()}{hint}; expected item_attributes to hold a row "
                             "for every item")
        if len(interactions) == 0:
            raise ValueError("interactions is empty; expected at least one (user, item) row")
        return item_ids, X, IdMap.from_values(interactions[self.user_col], name="user")

    def fit(self, interactions: pd.DataFrame, item_attributes: Any, new_items: Any = None,
            exposures: pd.DataFrame | None = None, user_features: Any = None) -> "FrameRecommender":
        """Fit from an interactions frame and item attributes indexed by item id.

        Items with attributes but no interactions get zero-shot vectors; every item in
        ``interactions`` must have attributes. ``new_items`` (item ids still warming up) and
        ``exposures`` (a frame of impressions: ``user_col``, ``item_col``; users and items
        known from ``interactions`` / ``item_attributes``) are passed to
        :meth:`ColdStartRecommender.fit`; the impressions are kept (``exposures_``) for
        :meth:`partial_fit`.

        ``user_features``: a DataFrame of numeric user attributes indexed by user id (or with a
        ``user_col`` column; or a ``(user_ids, matrix)`` tuple), one row for every user in
        ``interactions``; users with attributes but no interactions are added as cold users
        (zero-shot vectors from their attributes). See ``ColdStartRecommender.fit(user_features=)``.
        """
        item_ids, X, user_ids = self._prepared(interactions, item_attributes)
        XU = None
        if user_features is not None:
            user_ids, XU = self._aligned_users(user_ids, user_features)
        user_items = self._matrix(interactions, user_ids, item_ids, "interactions")
        shown = None if exposures is None else self._pattern(exposures, user_ids, item_ids, "exposures")
        new_idx = None if new_items is None else item_ids.to_internal(np.atleast_1d(np.asarray(new_items, dtype=object)))
        from sklearn.base import clone

        model = clone(self.model if self.model is not None else ColdStartRecommender()).fit(
            user_items, X, new_items=new_idx, exposures=shown, user_features=XU)
        # all checked and fitted: now set (a failed fit leaves the previous state as it was)
        self.item_ids_, self.user_ids_, self.user_items_, self.model_ = item_ids, user_ids, user_items, model
        self.exposures_ = shown
        self.attribute_columns_ = (None if getattr(model, "featurizer_", None) is not None
                                   else _attribute_columns(item_attributes, self.item_col))
        self.user_attribute_columns_ = (None if user_features is None
                                        else _attribute_columns(user_features, self.user_col))
        return self

    def _aligned_users(self, user_ids: IdMap, user_features: Any) -> tuple[IdMap, Any]:
        """The users of the interactions plus those only in ``user_features`` (appended, in its
        order), and the attribute matrix in that order."""
        ids, XU = self._features_of(user_features, "user_features", kind="user")
        if not ids.is_unique:
            raise ValueError(f"user_features repeats user ids, e.g. {list(ids[ids.duplicated()][:3])}; "
                             "expected one row per user")
        missing = ~pd.Index(user_ids.external_ids).isin(ids)
        if missing.any():
            raise ValueError(f"interactions mention users without a row in user_features, e.g. "
                             f"{list(pd.Index(user_ids.external_ids)[missing][:5])}; expected user_features "
                             "to hold a row for every user")
        extra = ids[~ids.isin(pd.Index(user_ids.external_ids))]
        if len(extra):
            user_ids = user_ids.with_added(extra)
        order = ids.get_indexer(pd.Index(user_ids.external_ids))
        return user_ids, XU[order]

    def add_users(self, user_features: Any) -> np.ndarray:
        """Add new users (numeric attributes indexed by their new ids, as ``fit(user_features=)``);
        returns their internal indices. They are served from their attributes until
        :meth:`partial_fit` brings their interactions (which then refine the vectors)."""
        self._check_fitted()
        ids, XU = self._features_of(user_features, "user_features",
                                    columns=getattr(self, "user_attribute_columns_", None), kind="user")
        new_ids = self.user_ids_.with_added(ids)  # refuses repeated, known, missing or ill-typed ids
        idx = self.model_.add_users(XU)  # checks the attributes before it changes anything
        self.user_ids_ = new_ids
        self.user_items_ = _resized(self.user_items_, (len(new_ids), self.user_items_.shape[1]))
        if getattr(self, "exposures_", None) is not None:
            self.exposures_ = _resized(self.exposures_, self.user_items_.shape)
        return idx

    def add_items(self, item_attributes: Any) -> np.ndarray:
        """Add new items from ``item_attributes``: a DataFrame indexed by the new ids (or with the
        ``item_col`` column; columns matched by name to the fit's), or ``(ids, matrix)``. Returns
        their internal indices. All or nothing."""
        self._check_fitted()
        ids, X = self._features_of(item_attributes, columns=getattr(self, "attribute_columns_", None))
        new_ids = self.item_ids_.with_added(ids)  # refuses repeated, known, missing or ill-typed ids
        if not isinstance(X, pd.DataFrame):  # a matrix: checked in the caller's words
            X = check_item_features(X, "item_attributes", n_features=self.model_.n_features_in_)
        V_idx = self.model_.add_items(X)  # checks the attributes before it changes anything
        self.item_ids_ = new_ids
        self.user_items_ = _resized(self.user_items_, (self.user_items_.shape[0], len(new_ids)))
        if getattr(self, "exposures_", None) is not None:
            self.exposures_ = _resized(self.exposures_, self.user_items_.shape)
        return V_idx

    def partial_fit(self, interactions: pd.DataFrame, exposures: pd.DataFrame | None = None) -> "FrameRecommender":
        """Take new interactions of known items in: new users are added, the users concerned
        are refitted and the items concerned get their vectors refitted from all their
        interactions (:meth:`ColdStartRecommender.partial_fit_items`: items on their attribute
        prior warm up from it, established ones are re-solved plainly). All or nothing.

        ``exposures``: new impressions (``user_col``, ``item_col``; an interaction counts as
        one). They are added to ``exposures_`` and every item with an interaction or an
        impression in this call is refitted with all its impressions so far
        (:meth:`ColdStartRecommender.partial_fit_items`: the users who saw it and did not
        interact count against it).
        """
        self._check_fitted()
        if not isinstance(interactions, pd.DataFrame):
            raise TypeError(f"interactions must be a DataFrame with columns {self.user_col!r}, "
                            f"{self.item_col!r}; received {type(interactions).__name__}")
        if self.user_col not in interactions:
            raise ValueError(f"interactions lacks columns {[self.user_col]}; it has {list(interactions.columns)}")
        # everything is checked and computed on copies first; the id maps, the interactions
        # and the model change only once nothing can fail any more
        col = interactions[self.user_col]
        new_users = pd.unique(col[~col.isin(self.user_ids_.external_ids)])
        user_ids = self.user_ids_.with_added(new_users) if len(new_users) else self.user_ids_
        delta = self._matrix(interactions, user_ids, self.item_ids_, "interactions")
        seen = _resized(self.user_items_, (len(user_ids), self.user_items_.shape[1]))
        overlap = seen.multiply(delta)
        if overlap.nnz and self.duplicates == "raise":
            r, c = overlap.nonzero()
            pair = (plain(user_ids.external_ids[r[0]]), plain(self.item_ids_.external_ids[c[0]]))
            raise ValueError(f"interactions repeats {overlap.nnz} pair(s) already seen, e.g. {pair!r}; expected "
                             "new pairs only, or FrameRecommender(..., duplicates='sum') to add their weights "
                             "(e.g. for events delivered at least once)")
        user_items = (seen + delta).tocsr()
        items = np.unique(delta.indices)
        users = np.unique(delta.tocoo().row)
        shown_all = None
        if exposures is not None or getattr(self, "exposures_", None) is not None:
            old = getattr(self, "exposures_", None)
            shown_all = (sp.csr_matrix(user_items.shape, dtype=np.float32) if old is None
                         else _resized(old, user_items.shape).astype(np.float32))
            if exposures is not None:
                new = self._pattern(exposures, user_ids, self.item_ids_, "exposures")
                items = np.union1d(items, np.unique(new.indices))
                shown_all = shown_all + new
            shown_all = (shown_all + (user_items != 0)).tocsr()
            shown_all.data[:] = 1.0
        # the new users, then the items against them: computed together, published together
        self.model_._partial_fit_pairs(users, user_items[users], items, user_items.T.tocsr()[items],
                                       item_exposures=None if shown_all is None else shown_all.T.tocsr()[items],
                                       weights=f"interactions[{self.weight_col!r}]" if self.weight_col else None)
        self.user_ids_, self.user_items_ = user_ids, user_items
        if shown_all is not None:
            self.exposures_ = shown_all
        return self

    def _pattern(self, pairs: pd.DataFrame, users: IdMap, items: IdMap, name: str) -> sp.csr_matrix:
        """A 0/1 CSR (len(users), len(items)) of the (user, item) pairs of a frame of known ids."""
        if not isinstance(pairs, pd.DataFrame):
            raise TypeError(f"{name} must be a DataFrame with columns {self.user_col!r}, {self.item_col!r}; "
                            f"received {type(pairs).__name__}")
        lacking = [c for c in (self.user_col, self.item_col) if c not in pairs]
        if lacking:
            raise ValueError(f"{name} lacks columns {lacking}; it has {list(pairs.columns)}")
        u = users.to_internal(pairs[self.user_col])
        i = items.to_internal(pairs[self.item_col])
        m = sp.csr_matrix((np.ones(len(u), np.float32), (u, i)), shape=(len(users), len(items)))
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    def explain(self, user_id: Any, item_id: Any, item_attributes: Any, top: int = 10) -> pd.DataFrame:
        """Why ``item_id`` scores what it does for ``user_id``: the attributes (a one-row frame or
        ``(ids, matrix)`` as for :meth:`add_items`) that contribute most to its zero-shot part.

        Returns the rows of :meth:`ColdStartRecommender.explain_score` (``attribute``, ``value``,
        ``contribution``); ``attrs["score"]`` is the item's score for the user now (its current
        vector: zero-shot, warming up or collaborative) and ``attrs["remainder"]`` the part the
        listed attributes do not cover (the other attributes, the map's intercept and what the
        item's interactions moved it by).
        """
        self._check_fitted()
        uid = int(self.user_ids_.to_internal([user_id])[0])
        iid = int(self.item_ids_.to_internal([item_id])[0])
        ids, X = self._features_of(item_attributes, columns=getattr(self, "attribute_columns_", None))
        if len(ids) != 1:
            raise ValueError(f"item_attributes must hold one row (the item {item_id!r}); received {len(ids)}")
        names = getattr(self, "attribute_columns_", None)
        df = self.model_.explain_score(uid, X, feature_names=names, top=top)
        score = float(self.model_.user_factors_[uid] @ self.model_.item_factors_[iid])
        df.attrs["score"] = score
        df.attrs["remainder"] = score - float(df["contribution"].sum())
        return df

    # ---------------------------------------------------------------- serving
    def recommend(self, user_ids: Any, N: int = 10, filter_already_liked_items: bool = True,
                  items: Any = None, filter_items: Any = None, calibrated: bool = False,
                  exploration: str | None = None, exploration_weight: float = 0.3,
                  random_state: int | None = None, exposures: pd.DataFrame | bool | None = None) -> pd.DataFrame:
        """Top-N items per user as a DataFrame ``[user_col, item_col, score, rank]`` (padding
        left out). ``user_ids``, ``items`` (the candidates) and ``filter_items`` (never
        returned) are external ids; ``filter_already_liked_items`` leaves out the items in
        ``user_items_`` (the interactions seen so far); ``calibrated``, ``exploration``,
        ``exploration_weight`` and ``random_state`` as in :meth:`ColdStartRecommender.recommend`. ``exposures``: impressions (``user_col``,
        ``item_col`` of known ids), or True for the log kept by :meth:`partial_fit`
        (``exposures_``); what a user was shown and passed over counts against the user's
        vector (:meth:`ColdStartRecommender.recommend`'s ``exposures``)."""
        self._check_fitted()
        ext = np.atleast_1d(np.asarray(user_ids, dtype=object))
        uidx = self.user_ids_.to_internal(ext)
        cand = None if items is None else self.item_ids_.to_internal(items)
        filt = None if filter_items is None else self.item_ids_.to_internal(filter_items)
        shown = None
        if exposures is True:
            if getattr(self, "exposures_", None) is None:
                raise ValueError("exposures=True uses the impressions kept by partial_fit(exposures=...); "
                                 "none were given yet (pass a DataFrame of impressions instead)")
            shown = self.exposures_[uidx]
        elif exposures is not None and exposures is not False:
            shown = self._pattern(exposures, self.user_ids_, self.item_ids_, "exposures")[uidx]
        ids, scores = self.model_.recommend(uidx, self.user_items_[uidx], N=N,
                                            filter_already_liked_items=filter_already_liked_items,
                                            items=cand, filter_items=filt, calibrated=calibrated,
                                            exploration=exploration, exploration_weight=exploration_weight,
                                            random_state=random_state, exposures=shown)
        return self._frame(ext, ids, scores, self.user_col)

    def similar_items(self, item_ids: Any, N: int = 10) -> pd.DataFrame:
        """The ``N`` items most similar to each of ``item_ids`` (external ids; cosine of the
        vectors, the query item itself first): ``[query_item, item_col, score, rank]``."""
        self._check_fitted()
        ext = np.atleast_1d(np.asarray(item_ids, dtype=object))
        ids, scores = self.model_.similar_items(self.item_ids_.to_internal(ext), N=N)
        return self._frame(ext, ids, scores, "query_item")

    def _frame(self, ext, ids, scores, key) -> pd.DataFrame:
        """The lists' rows without padding (id -1, or a liked / filtered item last at -inf)."""
        ids, scores = np.atleast_2d(ids), np.atleast_2d(scores)
        keep = (ids >= 0) & ~np.isneginf(scores)
        rows = np.repeat(np.arange(len(ext)), ids.shape[1]).reshape(ids.shape)
        ranks = np.tile(np.arange(1, ids.shape[1] + 1), (len(ext), 1))
        return pd.DataFrame({key: ext[rows[keep]], self.item_col: self.item_ids_.to_external(ids[keep]),
                             "score": scores[keep], "rank": ranks[keep]})

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("This FrameRecommender instance is not fitted yet. Call 'fit' with "
                                 "interactions and item attributes first.")

    # ---------------------------------------------------------------- evaluation
    def index_split(self, split: "FrameSplit") -> ColdStartSplit:
        """A :class:`FrameSplit` in this fitted model's index space (``user_ids_``, ``item_ids_``).

        What :func:`coldstart.evaluation.protocol.evaluate` does with a FrameRecommender: the numbers
        are those of ``evaluate(self.model_, self.index_split(split))``. Every item of the
        split must be known to the model (give the cold items' attributes to ``fit`` or
        ``add_items``); users of the test parts without training interactions are unknown
        to the model and left out, with a warning.
        """
        self._check_fitted()
        return split.to_index(self.user_ids_.external_ids, self.item_ids_.external_ids)

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike, key: bytes | str | None = None) -> None:
        """One pickle-free file with the model, the id maps (int and str ids keep their
        types) and the interactions seen; ``key`` signs it (see :meth:`ColdStartRecommender.save`)."""
        from coldstart.core.persistence import save_model

        self._check_fitted()
        m = self.user_items_.tocsr()
        meta = {"user_col": self.user_col, "item_col": self.item_col, "weight_col": self.weight_col,
                "duplicates": self.duplicates,
                "attribute_columns": jsonable_columns(getattr(self, "attribute_columns_", None)),
                "user_attribute_columns": jsonable_columns(getattr(self, "user_attribute_columns_", None),
                                                            "user attribute")}
        arrays = {"ui_data": m.data, "ui_indices": m.indices, "ui_indptr": m.indptr,
                  "ui_shape": np.asarray(m.shape, dtype=np.int64)}
        if getattr(self, "exposures_", None) is not None:  # the impressions: their pattern
            e = self.exposures_.tocsr()
            arrays.update(ex_indices=e.indices, ex_indptr=e.indptr)
        for prefix, ids in (("user_ids", self.user_ids_), ("item_ids", self.item_ids_)):
            for k, v in ids.to_arrays().items():
                arrays[prefix if k == "ids" else f"{prefix}_{k}"] = v
        # tuple column names (lists in JSON) would be misread by readers of format version 1
        tuples = any(isinstance(c, list) for k in ("attribute_columns", "user_attribute_columns") for c in meta[k] or [])
        save_model(self.model_, path, extra_meta=meta, extra_arrays=arrays, key=key, version=2 if tuples else 1)

    @classmethod
    def load(cls, path: str | os.PathLike, key: bytes | str | None = None) -> "FrameRecommender":
        """Read a file written by :meth:`save`; every malformed or inconsistent file raises
        :class:`~coldstart.core.persistence.ModelFileError` (with ``key``: also unsigned or forged ones)."""
        from coldstart.core.persistence import ModelFileError, load_model

        model, meta, arrays = load_model(path, ColdStartRecommender, with_extra=True, key=key)
        if meta is None:
            raise ModelFileError(f"{path} holds a bare ColdStartRecommender; load it with ColdStartRecommender.load")
        try:
            meta = dict(meta)
            columns = meta.pop("attribute_columns", None)
            user_columns = meta.pop("user_attribute_columns", None)  # absent in older files
            obj = cls(model=clone(model), **meta)  # a refit fits the same model (its parameters)
            obj.model_ = model
            obj.user_ids_ = IdMap.from_arrays({"ids": arrays["user_ids"], "is_int": arrays.get("user_ids_is_int")},
                                              name="user")
            obj.item_ids_ = IdMap.from_arrays({"ids": arrays["item_ids"], "is_int": arrays.get("item_ids_is_int")},
                                              name="item")
            shape = tuple(int(v) for v in np.asarray(arrays["ui_shape"]))
            if shape != (len(obj.user_ids_), len(obj.item_ids_)) or shape != (model.n_users_, model.n_items_):
                raise ValueError(f"interactions of shape {shape} do not match {len(obj.user_ids_)} user ids, "
                                 f"{len(obj.item_ids_)} item ids and the model's {model.n_users_} x {model.n_items_}")
            ui = sp.csr_matrix((arrays["ui_data"], arrays["ui_indices"], arrays["ui_indptr"]), shape=shape)
            ui.check_format(full_check=True)
            if ui.nnz and (not np.all(np.isfinite(ui.data)) or ui.data.min() < 0):
                raise ValueError("interaction weights must be finite and non-negative")
            obj.user_items_ = ui
            obj.exposures_ = None
            if "ex_indices" in arrays:
                ind, ptr = np.asarray(arrays["ex_indices"]), np.asarray(arrays["ex_indptr"])
                ex = sp.csr_matrix((np.ones(ind.size, np.float32), ind, ptr), shape=shape)
                ex.check_format(full_check=True)
                obj.exposures_ = ex
            if columns is not None:
                if not isinstance(columns, list) or len(columns) != model.n_features_in_:
                    raise ValueError(f"attribute_columns must list the model's {model.n_features_in_} columns")
                obj.attribute_columns_ = columns_from_json(columns)
            if user_columns is not None:
                if not isinstance(user_columns, list) or len(user_columns) != model.n_user_features_in_:
                    raise ValueError(f"user_attribute_columns must list the model's {model.n_user_features_in_} "
                                     "user attribute columns")
                obj.user_attribute_columns_ = columns_from_json(user_columns)
        except ModelFileError:
            raise
        except Exception as exc:
            raise ModelFileError(f"{path} is inconsistent: {type(exc).__name__}: {exc}") from None
        return obj


def _attribute_columns(item_attributes: Any, item_col: str) -> list | None:
    """The attribute column names of a fit's frame (None for an (ids, matrix) tuple or with a
    featurizer, which matches its own columns by name)."""
    if not isinstance(item_attributes, pd.DataFrame):
        return None
    return [c for c in item_attributes.columns if c != item_col]




def _resized(m: sp.csr_matrix, shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR copy of ``m`` grown to ``shape`` (new rows/columns empty); ``m`` is unchanged."""
    if m.shape == shape:
        return m
    indptr = np.concatenate([m.indptr, np.full(shape[0] - m.shape[0], m.indptr[-1], dtype=m.indptr.dtype)])
    return sp.csr_matrix((m.data, m.indices, indptr), shape=shape)


# -------------------------------------------------------------------- the protocol in DataFrames
@dataclass(eq=False)
class FrameSplit:
    """An item cold-start split of an interactions DataFrame (``EVALUATION.md``), as DataFrames.

    Each part holds the input's rows (all columns, original index) of its interactions.
    Evaluate a :class:`FrameRecommender` fitted on ``train`` with
    ``coldstart.evaluation.protocol.evaluate(recommender, split)``; search with
    ``ColdStartSearchCV(FrameRecommender(...)).fit(split, item_attributes)``.

    Attributes
    ----------
    train, warm_test, cold_val, cold_test : pandas.DataFrame
    user_col, item_col : str
    """

    train: pd.DataFrame
    warm_test: pd.DataFrame
    cold_val: pd.DataFrame
    cold_test: pd.DataFrame
    user_col: str = "user_id"
    item_col: str = "item_id"

    def _part_items(self, part: str) -> np.ndarray:
        return pd.unique(getattr(self, part)[self.item_col])

    @property
    def cold_val_items(self) -> np.ndarray:
        """External ids of the cold validation items."""
        return self._part_items("cold_val")

    @property
    def cold_test_items(self) -> np.ndarray:
        """External ids of the cold test items."""
        return self._part_items("cold_test")

    def summary(self) -> pd.DataFrame:
        """Rows, users and items of each part (index ``part``)."""
        return pd.DataFrame([{"part": p, "interactions": len(getattr(self, p)),
                              "users": getattr(self, p)[self.user_col].nunique(),
                              "items": getattr(self, p)[self.item_col].nunique()} for p in SPLIT_PARTS]
                            ).set_index("part")

    def to_index(self, user_ids: Any, item_ids: Any, unknown_users: str = "drop") -> ColdStartSplit:
        """The split in the index space of ``user_ids`` / ``item_ids`` (position = index).

        Parameters
        ----------
        user_ids, item_ids : array-like
            External ids, matched by value (as :class:`~coldstart.frame.ids.IdMap` does).
        unknown_users : {"drop", "raise"}, default "drop"
            Users of the test parts missing from ``user_ids`` (no training interaction):
            left out with a :class:`UserWarning`, or an error. Unknown items and unknown
            training users are always an error.

        Returns
        -------
        ColdStartSplit of shape (len(user_ids), len(item_ids))
        """
        if unknown_users not in ("drop", "raise"):
            raise ValueError(f"unknown_users must be 'drop' or 'raise'; received {unknown_users!r}")
        users, items = pd.Index(np.asarray(user_ids, dtype=object)), pd.Index(np.asarray(item_ids, dtype=object))
        shape = (len(users), len(items))
        mats, dropped = {}, 0
        for part in SPLIT_PARTS:
            df = getattr(self, part)
            u = users.get_indexer(df[self.user_col].to_numpy(dtype=object))
            i = items.get_indexer(df[self.item_col].to_numpy(dtype=object))
            if (i < 0).any():
                bad = list(pd.unique(df[self.item_col].to_numpy()[i < 0])[:5])
                raise ValueError(f"{part} holds items unknown to the model, e.g. {bad}; expected every item "
                                 "of the split to have attributes in the model (fit / add_items)")
            if (u < 0).any():
                bad = list(pd.unique(df[self.user_col].to_numpy()[u < 0])[:5])
                if part == "train" or unknown_users == "raise":
                    raise ValueError(f"{part} holds users unknown to the model, e.g. {bad}; expected the "
                                     "model to be fitted on this split's train")
                dropped += int((u < 0).sum())
            keep = u >= 0
            mats[part] = sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.float32), (u[keep], i[keep])),
                                       shape=shape)
        if dropped:
            import warnings

            warnings.warn(f"{dropped} test interactions of users without training interactions are left "
                          "out (the model does not know these users)", UserWarning, stacklevel=3)
        return ColdStartSplit(**mats)


def _frame_index(interactions: pd.DataFrame, user_col: str, item_col: str):
    """Users and items of a frame indexed by ids sorted as strings (as coldstart.evaluation.datasets does)."""
    from coldstart.evaluation.datasets.tables import Where, index_ids

    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(f"interactions must be a DataFrame; received {type(interactions).__name__}")
    missing = [c for c in (user_col, item_col) if c not in interactions.columns]
    if missing:
        raise ValueError(f"interactions lacks the columns {missing}; it has {list(interactions.columns)} "
                         "(set user_col= / item_col=)")
    if len(interactions) == 0:
        raise ValueError("interactions is empty; expected at least one row")
    where = Where("interactions", csv=False)
    uids, u = index_ids(interactions[user_col].reset_index(drop=True), "user", where)
    iids, i = index_ids(interactions[item_col].reset_index(drop=True), "item", where)
    return u, i, (len(uids), len(iids))


def _rows_of(interactions, split: ColdStartSplit, u, i, train_rows, warm_test_rows, user_col, item_col):
    kind = np.zeros(split.n_items, dtype=np.int8)
    kind[split.cold_val_items] = 1
    kind[split.cold_test_items] = 2
    k = kind[i]
    parts = {"train": (k == 0) & train_rows, "warm_test": (k == 0) & warm_test_rows,
             "cold_val": k == 1, "cold_test": k == 2}
    return FrameSplit(**{p: interactions[m] for p, m in parts.items()}, user_col=user_col, item_col=item_col)


def _in(m: sp.csr_matrix, u: np.ndarray, i: np.ndarray) -> np.ndarray:
    return np.asarray(m[u, i]).ravel() > 0


def split_frame(interactions: pd.DataFrame, *, user_col: str = "user_id", item_col: str = "item_id",
                cold_fraction: float = 0.1, warm_test_fraction: float = 0.1,
                random_state: int | np.random.Generator | None = 0) -> FrameSplit:
    """The protocol's seeded item cold-start split of an interactions DataFrame.

    Exactly :func:`coldstart.evaluation.splits.protocol_split` on the frame's pairs with users and items
    indexed by their ids sorted as strings (the index space of
    :func:`coldstart.evaluation.datasets.from_frames`, ``coldstart split`` and the shared catalogs), so
    the two paths hold the same pairs. Every row of a pair goes to that pair's part.

    Parameters
    ----------
    interactions : pandas.DataFrame
        ``user_col``, ``item_col`` and any other columns (kept).
    user_col, item_col : str, default "user_id", "item_id" (as :class:`FrameRecommender`)
    cold_fraction, warm_test_fraction, random_state
        As in :func:`~coldstart.evaluation.splits.protocol_split`.

    Returns
    -------
    FrameSplit
    """
    u, i, shape = _frame_index(interactions, user_col, item_col)
    ui = sp.csr_matrix((np.ones(u.size, dtype=np.float32), (u, i)), shape=shape)
    split = protocol_split(ui, cold_fraction=cold_fraction, warm_test_fraction=warm_test_fraction,
                           random_state=random_state)
    wt = _in(split.warm_test, u, i)
    return _rows_of(interactions, split, u, i, ~wt, wt, user_col, item_col)


def temporal_split_frame(interactions: pd.DataFrame, cutoff: Any, *, user_col: str = "user_id",
                         item_col: str = "item_id", timestamp_col: str = "timestamp",
                         val_cutoff: Any = None, val_fraction: float = 0.5) -> FrameSplit:
    """Time-based item cold-start split of an interactions DataFrame (items first seen after
    ``cutoff`` are cold), as :func:`coldstart.evaluation.splits.temporal_split`.

    Rows of warm items up to ``cutoff`` are ``train``; later rows are ``warm_test`` unless
    their pair is already in ``train`` (re-consumption; such rows are in no part). Every row
    of a cold item is in ``cold_val`` (first seen up to ``val_cutoff``, or the earliest
    ``val_fraction`` of the cold items) or ``cold_test``.

    Returns
    -------
    FrameSplit
    """
    if isinstance(interactions, pd.DataFrame) and timestamp_col not in interactions.columns:
        raise ValueError(f"interactions has no timestamp column {timestamp_col!r} (set timestamp_col=); "
                         f"it has {list(interactions.columns)}")
    u, i, shape = _frame_index(interactions, user_col, item_col)
    times = interactions[timestamp_col].to_numpy()
    split = temporal_split((u, i, times), cutoff, val_cutoff=val_cutoff, val_fraction=val_fraction,
                           shape=shape)
    after = (pd.Series(times) > cutoff).to_numpy()
    wt = after & _in(split.warm_test, u, i)
    return _rows_of(interactions, split, u, i, ~after, wt, user_col, item_col)
