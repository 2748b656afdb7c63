"""ItemFeaturizer (coldstart.features.featurizer): overrides, transform robustness, names,
balancing, scikit-learn integration, serialisation and errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from coldstart.features.featurizer import ColumnIgnoredWarning, ItemFeaturizer
from coldstart.features.numeric import UnreadableValueWarning
from tests.features.conftest import block

# ----------------------------------------------------------------- overrides


def test_explicit_kinds_and_vector_groups(items):
    df = items.assign(e0=np.linspace(0, 1, len(items)), e1=np.linspace(1, 3, len(items)))
    feat = ItemFeaturizer(
        kinds={"category": "text", "year": "categorical", "tags": "ignore", "item_id": "ignore",
               "sku": "ignore", "constant": "ignore", "emb": "ignore", "views": "ignore"},
        vector_groups={"pair": ["e0", "e1"]},
    ).fit(df)
    assert feat.kinds_["category"] == "text" and feat.kinds_["year"] == "categorical"
    assert feat.kinds_["e0"] == feat.kinds_["e1"] == "vector"
    assert "tags" not in feat.block_names_
    names = list(feat.get_feature_names_out())
    assert "year=1999" in names or any(n.startswith("year=") for n in names)
    assert not any("." in n for n in names if n.startswith("year="))  # 1999.0 -> "1999"
    assert names[feat.block_slices_["pair"]] == ["pair__e0", "pair__e1"]
    X = feat.transform(df)
    pair = block(feat, X, "pair")
    assert np.allclose(pair.mean(axis=0), 0, atol=1e-5)  # centred, not scaled per dim


# ------------------------------------------------------ transform robustness


def test_unseen_and_missing_values_keep_width(fitted, items):
    new = items.head(4).copy()
    new["category"] = ["spaceship", None, "", "film"]
    new["genres"] = ["Western", None, "Western|Drama", ""]
    new["tags"] = [["never-seen"], None, [], ("classic", "cult")]
    new["title"] = ["zzz qqq", None, "", "space robot"]
    new["year"] = [np.nan, np.nan, 1990, np.nan]
    new["emb"] = [None, np.zeros(3), None, [1.0, 2.0, 3.0]]
    new = new.drop(columns=["sku", "item_id", "constant"])  # ignored columns may go
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. OneHotEncoder's unknown-category warning
        X = fitted.transform(new)
    assert X.shape == (4, fitted.n_features_out_) and X.dtype == np.float32
    assert np.isfinite(X.data).all()
    assert block(fitted, X, "category")[:3].sum() == 0
    assert block(fitted, X, "category")[3].sum() > 0
    assert block(fitted, X, "genres")[0].sum() == 0
    g2 = block(fitted, X, "genres")[2]
    assert np.count_nonzero(g2) == 1  # Drama only
    assert block(fitted, X, "tags")[:3].sum() == 0
    assert np.count_nonzero(block(fitted, X, "tags")[3]) == 2
    assert block(fitted, X, "title")[:3].sum() == 0
    # missing year: the indicator (last column) only; an observed year: its bin only
    yr = block(fitted, X, "year")
    assert np.count_nonzero(yr[:2]) == 2 and yr[0, -1] > 0 and yr[1, -1] > 0
    assert np.count_nonzero(yr[2]) == 1 and yr[2, -1] == 0
    presence = fitted.block_presence(new)
    assert presence.loc[new.index[0], "year"] == False  # noqa: E712
    assert presence.loc[new.index[2], "year"] == True  # noqa: E712


def test_typos_in_numbers_and_unseen_columns_are_said(fitted, items):
    # a value given but not a finite number counts as missing, with a warning naming the column;
    # blank cells and NaN are just missing
    new = items.head(4).copy()
    new["year"] = pd.Series(["twenty", "1990", "", np.inf], index=new.index, dtype=object)
    with pytest.warns(UnreadableValueWarning, match=r"'year': 2 value\(s\).*\['twenty', inf\]"):
        X = fitted.transform(new)
    yr = block(fitted, X, "year")
    assert yr[0, -1] > 0 and yr[3, -1] > 0 and yr[2, -1] > 0 and yr[1, -1] == 0  # the missing indicator
    new["year"] = [np.nan, 1990.0, np.nan, 2000.0]
    new["price"] = 9.99  # a column the fit never saw
    with pytest.warns(ColumnIgnoredWarning, match=r"not fitted on column\(s\) \['price'\]"):
        fitted.transform(new)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted.transform(new.drop(columns=["price"]))


def test_missing_columns_error_names_them(fitted, items):
    with pytest.raises(ValueError, match=r"genres.*tags|tags.*genres"):
        fitted.transform(items.drop(columns=["genres", "tags"]))


def test_empty_rows_detected(fitted, items):
    new = items.head(3).copy()
    for c in ["title", "category", "genres", "year", "views", "emb"]:
        new[c] = None
    new["tags"] = [[], [], ["classic"]]
    new.loc[new.index[1], "category"] = "film"
    mask = fitted.empty_rows(new)
    assert mask.tolist() == [True, False, False]
    X = fitted.transform(new)
    assert X.shape == (3, fitted.n_features_out_)


def test_zero_rows_without_numeric_blocks():
    df = pd.DataFrame({"c": ["x", "y"] * 5, "g": ["a|b", "b"] * 5})
    feat = ItemFeaturizer().fit(df)
    X = feat.transform(pd.DataFrame({"c": [None, "zzz"], "g": [None, "unknown"]}))
    assert X.nnz == 0 and X.shape == (2, feat.n_features_out_)
    assert feat.transform(df.iloc[:0]).shape == (0, feat.n_features_out_)


def test_fit_transform_equals_fit_then_transform_and_index_ignored(items):
    shuffled = items.sample(frac=1.0, random_state=0)
    shuffled.index = shuffled.index[::-1] * 10  # non-range, unrelated index
    feat = ItemFeaturizer(kinds={"item_id": "ignore", "sku": "ignore", "constant": "ignore"})
    A = feat.fit_transform(shuffled)
    B = feat.transform(shuffled)
    assert isinstance(A, sp.csr_matrix) and A.dtype == np.float32
    assert (A != B).nnz == 0
    C = feat.transform(items)  # original row order: rows follow positions, not labels
    pos = {iid: i for i, iid in enumerate(items["item_id"])}
    perm = [pos[i] for i in shuffled["item_id"]]
    assert abs(C[perm] - B).max() == 0


def test_parallel_transform_is_identical(fitted, items, monkeypatch):
    import coldstart.features.featurizer as F

    monkeypatch.setattr(F, "PARALLEL_MIN_ROWS", 30)
    par = clone(fitted).set_params(n_jobs=2)
    par.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    from joblib import parallel_config

    with parallel_config(backend="threading"):  # same chunking code, no process start-up
        B = par.transform(items)
    A = fitted.transform(items)
    assert B.shape == A.shape
    assert np.array_equal(A.indptr, B.indptr) and np.array_equal(A.indices, B.indices)
    assert np.array_equal(A.data, B.data)


# --------------------------------------------------------------------- names


def test_feature_names(fitted):
    names = fitted.get_feature_names_out()
    assert len(names) == fitted.n_features_out_ == len(set(names))
    assert "genres=Action" in names and "tags=classic" in names
    assert "category=film" in names
    assert "title__space" in names
    year = list(names[fitted.block_slices_["year"]])
    assert year[-1] == "year_missing" and year[0].startswith("year<") and year[-2].startswith("year>=")
    assert all(n.startswith("year=[") for n in year[1:-2]) and len(year) >= 5
    views = list(names[fitted.block_slices_["views"]])
    assert "views_missing" not in names and views[0].startswith("views<") and len(views) == 10
    assert [n for n in names if n.startswith("emb")] == ["emb__0", "emb__1", "emb__2"]
    for b in fitted.blocks_:
        sl = names[fitted.block_slices_[b.name]]
        assert len(sl) == b.n_features
        assert all(n.startswith(b.name) for n in sl)


# ----------------------------------------------------------------- balancing


def _present_msq(X: sp.csr_matrix) -> float:
    q = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    return float(q[q > 0].mean())


def test_default_balancing_equalises_blocks(fitted, items):
    X = fitted.transform(items)
    for name in fitted.block_names_:
        assert _present_msq(X[:, fitted.block_slices_[name]]) == pytest.approx(1.0, rel=1e-4), name
    # raw widths differ a lot, yet every block carries the same energy
    widths = [b.n_features for b in fitted.blocks_]
    assert max(widths) / min(widths) >= 5


def test_weights_and_balance_modes(items):
    kinds = {"item_id": "ignore", "sku": "ignore", "constant": "ignore"}
    feat = ItemFeaturizer(kinds=kinds, weights={"title": 2.0, "tags": 0.0}).fit(items)
    X = feat.transform(items)
    assert _present_msq(X[:, feat.block_slices_["title"]]) == pytest.approx(4.0, rel=1e-4)
    assert X[:, feat.block_slices_["tags"]].nnz == 0
    assert X[:, feat.block_slices_["tags"]].shape[1] == 5  # width kept

    raw = ItemFeaturizer(kinds=kinds, balance="none").fit(items)
    Xr = raw.transform(items)
    assert np.all(raw.block_scales_ == 1.0)
    emb = next(b for b in raw.blocks_ if b.name == "emb")
    assert _present_msq(Xr[:, raw.block_slices_["emb"]]) == pytest.approx(
        raw.block_mean_sq_norm_[raw.block_names_.index("emb")], rel=1e-4)
    assert emb.n_features == 3

    allrows = ItemFeaturizer(kinds=kinds, balance="all").fit(items)
    Xa = allrows.transform(items)
    q = np.asarray(Xa[:, allrows.block_slices_["tags"]].power(2).sum(axis=1)).ravel()
    assert q.mean() == pytest.approx(1.0, rel=1e-4)  # averaged over all rows, incl. empty
    assert q[q > 0].mean() > 1.1


# ------------------------------------------------------- sklearn integration


def test_pipeline_clone_and_grid_search(items):
    kinds = {"item_id": "ignore", "sku": "ignore", "constant": "ignore"}
    y = items["category"].eq("film").to_numpy(float) + 0.1 * items["year"].fillna(1990).to_numpy() / 2000
    pipe = Pipeline([("feat", ItemFeaturizer(kinds=kinds)), ("ridge", Ridge(alpha=1.0))])
    pipe.fit(items, y)
    assert pipe.predict(items.head(5)).shape == (5,)
    c = clone(pipe)
    assert c.get_params()["feat__kinds"] == kinds
    assert not hasattr(c.named_steps["feat"], "blocks_")
    gs = GridSearchCV(pipe, {"feat__weights": [None, {"category": 3.0}],
                             "feat__balance": ["present", "none"]}, cv=3)
    gs.fit(items, y)
    assert set(gs.best_params_) == {"feat__weights", "feat__balance"}
    assert gs.best_params_["feat__weights"] == {"category": 3.0}


def test_init_only_stores():
    kinds = {"x": "bogus"}
    feat = ItemFeaturizer(kinds=kinds, balance="whatever")  # validated at fit, not here
    assert feat.get_params()["kinds"] is kinds
    assert clone(feat).get_params()["balance"] == "whatever"


# ------------------------------------------------------------- serialisation


def test_get_state_from_state_round_trip_identical(fitted, items, tmp_path):
    meta, arrays = fitted.get_state()
    assert all(a.dtype != object for a in arrays.values())
    assert all(a.dtype.kind in "fiuU" for a in arrays.values())
    path = tmp_path / "feat.npz"
    np.savez(path, **arrays)
    (tmp_path / "feat.json").write_text(json.dumps(meta))
    with np.load(path, allow_pickle=False) as npz:
        loaded = {k: npz[k] for k in npz.files}
    back = ItemFeaturizer.from_state(json.loads((tmp_path / "feat.json").read_text()), loaded)

    new = items.sample(40, random_state=3).copy()
    new.iloc[0, new.columns.get_loc("category")] = "unseen"
    new.iloc[1, new.columns.get_loc("year")] = np.nan
    A, B = fitted.transform(new), back.transform(new)
    assert A.shape == B.shape
    assert np.array_equal(A.indptr, B.indptr) and np.array_equal(A.indices, B.indices)
    assert np.array_equal(A.data, B.data)
    assert list(back.get_feature_names_out()) == list(fitted.get_feature_names_out())
    assert back.kinds_ == fitted.kinds_
    assert back.get_params() == {**fitted.get_params(), "delimiters": tuple(fitted.delimiters)}
    # from_state gives a working estimator that can also be re-fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColumnIgnoredWarning)
        assert clone(back).fit(items).n_features_out_ == fitted.n_features_out_


def test_round_trip_with_text_params(items):
    feat = ItemFeaturizer(kinds={"item_id": "ignore", "sku": "ignore", "constant": "ignore"},
                          text_params={"ngram_range": (1, 2), "min_df": 2, "use_idf": False})
    X = feat.fit_transform(items)
    meta, arrays = feat.get_state()
    back = ItemFeaturizer.from_state(json.loads(json.dumps(meta)), arrays)
    assert (back.transform(items) != X).nnz == 0
    assert any(" " in n for n in back.get_feature_names_out() if n.startswith("title__"))


def test_get_state_rejects_callables(items):
    feat = ItemFeaturizer(kinds={"item_id": "ignore", "sku": "ignore", "constant": "ignore"},
                          text_params={"tokenizer": str.split, "token_pattern": None})
    feat.fit(items)
    with pytest.raises(ValueError, match="JSON"):
        feat.get_state()


# -------------------------------------------------------------------- errors


def test_type_errors_name_the_argument(fitted, items):
    with pytest.raises(TypeError, match=r"\bX\b.*DataFrame"):
        ItemFeaturizer().fit(items.to_numpy())
    with pytest.raises(TypeError, match=r"\bX\b.*DataFrame"):
        fitted.transform(items["title"])


def test_value_errors(items):
    with pytest.raises(ValueError, match="bogus"):
        ItemFeaturizer(kinds={"title": "bogus"}).fit(items)
    with pytest.raises(ValueError, match=r"nope.*|.*nope"):
        ItemFeaturizer(kinds={"nope": "text", "title": "text"}).fit(items)
    with pytest.raises(ValueError, match="ghost"):
        ItemFeaturizer(vector_groups={"g": ["year", "ghost"]}).fit(items)
    with pytest.raises(ValueError, match="unknown blocks"):
        ItemFeaturizer(weights={"nope": 1.0}).fit(items)
    with pytest.raises(ValueError, match="balance"):
        ItemFeaturizer(balance="bogus").fit(items)
    with pytest.raises(NotFittedError):
        ItemFeaturizer().transform(items)


def _tiny_catalog() -> pd.DataFrame:
    return pd.DataFrame({
        "year": [1990.0, 2000.0, None, 2010.0], "color": ["red", "blue", "red", "blue"],
        "tags": ["a|b", "b", "a", "b|c"],
        "title": ["big red car", "small blue car", "red car", "blue boat"],
        "emb": [np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.zeros(2)],
    })


#: The version-1 export of ``_tiny_catalog`` (one block of each kind) with scaled numbers
#: (``numeric_bins=0``; the only numeric encoding before the bins): files saved by earlier
#: versions hold exactly this layout, so it must not drift.
TINY_KINDS = {"year": "numeric", "color": "categorical", "tags": "multilabel", "title": "text",
              "emb": "vector"}
TINY_BLOCKS = [
    {"name": "year", "kind": "numeric", "columns": ["year"], "n_features": 2, "source": "number",
     "log": False, "has_indicator": True},
    {"name": "color", "kind": "categorical", "columns": ["color"], "n_features": 2},
    {"name": "tags", "kind": "multilabel", "columns": ["tags"], "n_features": 3, "delimiter": "|",
     "norm": "l2"},
    {"name": "title", "kind": "text", "columns": ["title"], "n_features": 6,
     "tfidf_params": {"sublinear_tf": True, "norm": "l2"}},
    {"name": "emb", "kind": "vector", "columns": ["emb"], "n_features": 2, "group": False},
]
TINY_ARRAYS = {
    "block_scales": [0.7745966798468094, 1.0, 1.0000000085571354, 0.9999999984296015,
                     1.414213562373095],
    "block_coverage": [0.75, 1.0, 1.0, 1.0, 1.0],
    "block_mean_sq_norm": [1.666666621028611, 1.0, 0.9999999828857291, 1.000000003140797, 0.5],
    "block0_stats": [2000.0, 2000.0, 7.0710678118654755],
    "block1_categories": ["blue", "red"],
    "block2_labels": ["a", "b", "c"],
    "block3_vocabulary": ["big", "blue", "boat", "car", "red", "small"],
    "block3_idf": [1.9162907600402832, 1.5108256340026855, 1.9162907600402832, 1.2231435775756836,
                   1.5108256340026855, 1.9162907600402832],
    "block4_mean": [0.5, 0.5],
}


def test_state_format_is_stable():
    feat = ItemFeaturizer(kinds=TINY_KINDS, min_count=1, numeric_bins=0).fit(_tiny_catalog())
    meta, arrays = feat.get_state()
    assert (meta["format"], meta["version"], meta["n_features_out"]) == ("coldstart.ItemFeaturizer", 1, 15)
    assert meta["feature_names_in"] == list(TINY_KINDS) and meta["kinds"] == TINY_KINDS
    assert meta["blocks"] == TINY_BLOCKS
    assert sorted(arrays) == sorted(TINY_ARRAYS)
    for k, v in TINY_ARRAYS.items():
        if isinstance(v[0], str):
            assert arrays[k].dtype.kind == "U" and arrays[k].tolist() == v, k
        else:
            assert arrays[k].dtype == np.float64 and np.allclose(arrays[k], v, rtol=1e-6), k
    # a file written in this format loads into a featurizer that encodes like the fitted one
    old = ItemFeaturizer.from_state(json.loads(json.dumps(meta)),
                                   {k: np.asarray(v) for k, v in TINY_ARRAYS.items()})
    new = _tiny_catalog().iloc[[0, 2]]
    assert np.allclose(old.transform(new).toarray(), feat.transform(new).toarray(), atol=1e-6)


def test_binned_state_and_old_exports():
    """The binned numeric block's export (its cut points), and an export from before the bins
    (no ``numeric_bins`` parameter) loading as the scaled encoding it was written with."""
    feat = ItemFeaturizer(kinds=TINY_KINDS, min_count=1).fit(_tiny_catalog())
    meta, arrays = feat.get_state()
    assert meta["blocks"][0] == {**TINY_BLOCKS[0], "n_features": 4}  # 3 bins (1990, 2000, 2010) + missing
    assert arrays["block0_cuts"].tolist() == [2000.0, 2010.0] and "block0_stats" not in arrays
    assert list(feat.get_feature_names_out()[:4]) == ["year<2000", "year=[2000,2010)", "year>=2010", "year_missing"]
    again = ItemFeaturizer.from_state(json.loads(json.dumps(meta)), arrays)
    cat = _tiny_catalog()
    assert np.array_equal(again.transform(cat).toarray(), feat.transform(cat).toarray())
    year = feat.transform(pd.DataFrame({**{c: cat[c] for c in cat}, "year": [1900.0, 2005.0, None, 3000.0]}))
    assert year[:, :4].toarray().nonzero()[1].tolist() == [0, 1, 3, 2]  # edge bins take values beyond them

    old_meta, _ = ItemFeaturizer(kinds=TINY_KINDS, min_count=1, numeric_bins=0).fit(cat).get_state()
    del old_meta["params"]["numeric_bins"]
    old = ItemFeaturizer.from_state(old_meta, {k: np.asarray(v) for k, v in TINY_ARRAYS.items()})
    assert old.numeric_bins == 0
    bad = dict(arrays, block0_cuts=np.array([2010.0, 2000.0]))
    with pytest.raises(ValueError, match="cut points"):
        ItemFeaturizer.from_state(meta, bad)
