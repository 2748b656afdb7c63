"""ColdStartRecommender with an ItemFeaturizer: raw mixed-type item DataFrames end to end.

A small clustered world where every raw column carries the item's cluster (with noise): a
title (text), multi-label genres as ``"A|B"`` strings, a year with gaps, a list-of-tags
column and a category. Users like items of their own cluster. The model must learn the map
from the featurized frame, embed new rows with unseen values and gaps, explain them with
the featurizer's feature names, round-trip through ``save``/``load`` without pickle, and
work behind the DataFrame layer with external ids.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coldstart import ColdStartRecommender, FrameRecommender, ItemFeaturizer
from coldstart.features.featurizer import ColumnIgnoredWarning
from tests.conftest import without_interactions

N_CLUSTERS = 4
CLUSTER_WORDS = [["space", "alien", "robot", "galaxy", "planet"],
                 ["love", "wedding", "heart", "kiss", "summer"],
                 ["murder", "ghost", "night", "blood", "secret"],
                 ["dragon", "king", "sword", "quest", "castle"]]
COMMON_WORDS = ["the", "of", "story", "return", "last", "city", "day", "man"]
GENRES = ["SciFi", "Romance", "Horror", "Fantasy"]
EXTRA_GENRES = ["Drama", "Comedy", "Family"]
TAGS = [[f"t{c}_{j}" for j in range(6)] for c in range(N_CLUSTERS)]
NOISE_TAGS = [f"misc{j}" for j in range(10)]
COLUMNS = ["title", "genres", "year", "tags", "category"]


def make_catalog(cluster: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Raw attributes of items of the given clusters (text, "A|B", year with NaN, lists, str)."""
    titles, genres, years, tags, cats = [], [], [], [], []
    for c in cluster:
        words = list(rng.choice(CLUSTER_WORDS[c], 2, replace=False)) + list(rng.choice(COMMON_WORDS, 2))
        rng.shuffle(words)
        titles.append(" ".join(words))
        g = [GENRES[c]] + ([str(rng.choice(EXTRA_GENRES))] if rng.random() < 0.6 else [])
        genres.append("|".join(g))
        years.append(np.nan if rng.random() < 0.2 else float(1980 + 8 * c + rng.integers(0, 6)))
        tags.append(list(rng.choice(TAGS[c], 2, replace=False)) + list(rng.choice(NOISE_TAGS, 1)))
        cats.append(f"cat{c}" if rng.random() < 0.8 else f"cat{rng.integers(N_CLUSTERS)}")
    return pd.DataFrame({"title": titles, "genres": genres, "year": years, "tags": tags,
                         "category": cats})


def make_world(n_users: int = 160, n_items: int = 240, seed: int = 0):
    rng = np.random.default_rng(seed)
    uc = rng.integers(N_CLUSTERS, size=n_users)
    ic = rng.integers(N_CLUSTERS, size=n_items)
    rows, cols = [], []
    for u in range(n_users):
        same = np.flatnonzero(ic == uc[u])
        other = np.flatnonzero(ic != uc[u])
        liked = np.concatenate([rng.choice(same, 10, replace=False), rng.choice(other, 1)])
        rows += [u] * len(liked)
        cols += liked.tolist()
    ui = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    return ui, make_catalog(ic, rng), uc, ic


def new_rows() -> pd.DataFrame:
    """New items: cluster 2 with unseen values, all-missing, empty tags, a plain cluster-0 item."""
    return pd.DataFrame({
        "title": ["the ghost of night", None, "", "planet robot day"],
        "genres": ["Horror|Noir", np.nan, "", "SciFi"],          # "Noir": unseen genre
        "year": [np.nan, np.nan, 1999.0, 1982.0],
        "tags": [["t2_0", "t2_1", "never-seen-tag"], None, [], ["t0_0", "t0_3"]],
        "category": ["cat2", None, "brand-new-category", "cat0"],
    })


def model(**kw) -> ColdStartRecommender:
    return ColdStartRecommender(factors=8, iterations=12, featurizer=ItemFeaturizer(),
                                random_state=0, **kw)


@pytest.fixture(scope="module")
def world():
    return make_world()


@pytest.fixture(scope="module")
def fitted(world):
    """Fitted with the interactions of 40 items held out: those are zero-shot."""
    ui, items, uc, ic = world
    cold = np.arange(200, 240)
    train = without_interactions(ui, cold)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ColumnIgnoredWarning)  # every column must be used
        m = model().fit(train, items)
    return m, train, cold


# --------------------------------------------------------------------------- fit


def test_fit_on_mixed_dataframe_infers_every_column(fitted, world):
    m, train, cold = fitted
    ui, items, uc, ic = world
    fz = m.featurizer_
    assert fz is not m.featurizer  # cloned: the parameter stays unfitted
    assert not hasattr(m.featurizer, "blocks_")
    assert fz.kinds_ == {"title": "text", "genres": "multilabel", "year": "numeric",
                         "tags": "multilabel", "category": "categorical"}
    assert "year_missing" in fz.get_feature_names_out()
    assert "genres=Horror" in fz.get_feature_names_out()
    assert m.n_features_in_ == fz.n_features_out_
    assert m.n_items_ == len(items)
    assert m.is_zero_shot_[cold].all() and not m.is_zero_shot_[:200].any()
    assert np.isfinite(m.item_factors_).all()


def test_zero_shot_items_are_recommended_to_their_cluster(fitted, world):
    m, train, cold = fitted
    ui, items, uc, ic = world
    users = np.arange(60)
    empty = sp.csr_matrix((len(users), m.n_items_), dtype=np.float32)
    ids, _ = m.recommend(users, empty, N=5, items=cold, filter_already_liked_items=False)
    same = ic[ids] == uc[users][:, None]
    assert same.mean() >= 0.8  # random would be ~0.25
    # the zero-shot vector of an item is exactly the embedding of its raw row
    np.testing.assert_allclose(m.item_factors_[cold], m.embed_items(items.iloc[cold]), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- new items


def test_add_items_with_unseen_values_and_gaps(world):
    ui, items, uc, ic = world
    m = model().fit(ui, items)
    new = new_rows()
    V = m.embed_items(new)
    assert V.shape == (4, 8) and np.isfinite(V).all()
    n0 = m.n_items_
    idx = m.add_items(new)
    np.testing.assert_array_equal(idx, np.arange(n0, n0 + 4))
    assert m.n_items_ == n0 + 4 and m.is_zero_shot_[idx].all()
    np.testing.assert_array_equal(m.item_factors_[idx], V)
    # a single row, and a row with only unseen values, embed too
    np.testing.assert_allclose(m.embed_items(new.iloc[[3]]), V[[3]], rtol=1e-5, atol=1e-6)
    # attribute content matters: the cluster-2 newcomer sits among cluster-2 items, the
    # cluster-0 one among cluster-0 items
    for row, c in ((0, 2), (3, 0)):
        near = m.nearest_established(int(idx[row]), N=10)
        assert not m.is_zero_shot_[near["item"]].any()
        assert np.mean(ic[near["item"]] == c) >= 0.7
    # new items are recommendable at once, and a first interaction refines one
    users = np.flatnonzero(uc == 2)[:20]
    empty = sp.csr_matrix((len(users), m.n_items_), dtype=np.float32)
    ids, _ = m.recommend(users, empty, N=1, items=idx, filter_already_liked_items=False)
    assert np.mean(ids[:, 0] == idx[0]) >= 0.7
    m.partial_fit_items([idx[0]], sp.csr_matrix(([1.0], ([0], [int(users[0])])), shape=(1, m.n_users_)))
    assert not m.is_zero_shot_[idx[0]]
    with pytest.raises(ValueError, match="missing column"):
        m.embed_items(new.drop(columns=["tags"]))


# --------------------------------------------------------------------------- explanations


def test_explanations_use_the_featurizer_names(fitted):
    m, *_ = fitted
    names = set(m.featurizer_.get_feature_names_out())
    row = new_rows().iloc[[0]]
    ex = m.explain_item(row, top=50)
    assert list(ex.columns) == ["attribute", "value", "contribution"]
    assert len(ex) > 3 and set(ex["attribute"]) <= names
    # unseen values ("Noir", "never-seen-tag") contribute nothing and are not listed
    assert not any("Noir" in a or "never-seen" in a for a in ex["attribute"])
    assert {"genres=Horror", "tags=t2_0", "category=cat2"} <= set(ex["attribute"])
    # the DataFrame path explains exactly what the featurized row explains (the additivity of
    # the contributions themselves is tests/features/test_explain.py's subject)
    X = m.featurizer_.transform(row)
    all_names = m.featurizer_.get_feature_names_out()
    pd.testing.assert_frame_equal(ex, m.explain_item(X, feature_names=all_names, top=50))

    user = 0
    sc = m.explain_score(user, row, top=50)
    assert set(sc["attribute"]) <= names
    assert set(sc["attribute"]) == set(ex["attribute"])  # the same non-zero attributes
    pd.testing.assert_frame_equal(sc, m.explain_score(user, X, feature_names=all_names, top=50))
    with pytest.raises(ValueError, match="exactly one item"):
        m.explain_item(new_rows().iloc[:2])


def test_explanation_of_a_cluster_item_is_led_by_its_cluster_attributes(fitted, world):
    m, train, cold = fitted
    ui, items, uc, ic = world
    user = int(np.flatnonzero(uc == 2)[0])
    row = new_rows().iloc[[0]]  # cluster-2 newcomer: score for a cluster-2 user is positive
    sc = m.explain_score(user, row, top=5)
    top = sc.iloc[0]
    assert top["contribution"] > 0
    assert any(s in top["attribute"] for s in ("Horror", "t2_", "cat2", "ghost", "night"))


# --------------------------------------------------------------------------- persistence


def test_save_load_round_trip_without_pickle(fitted, tmp_path):
    m, train, cold = fitted
    path = tmp_path / "model.npz"
    m.save(path)
    with np.load(path, allow_pickle=False) as npz:  # would raise on any pickled member
        keys = npz.files
        assert all(npz[k].dtype != object for k in keys)
    assert any(k.startswith("featurizer/") for k in keys)
    back = ColdStartRecommender.load(path)
    assert back.featurizer_ is not None and back.featurizer_.kinds_ == m.featurizer_.kinds_
    np.testing.assert_array_equal(back.featurizer_.get_feature_names_out(),
                                  m.featurizer_.get_feature_names_out())
    np.testing.assert_array_equal(back.item_factors_, m.item_factors_)
    new = new_rows()
    np.testing.assert_array_equal(back.embed_items(new), m.embed_items(new))
    users = np.arange(30)
    a = m.recommend(users, train[users], N=10)
    b = back.recommend(users, train[users], N=10)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    pd.testing.assert_frame_equal(back.explain_item(new.iloc[[0]]), m.explain_item(new.iloc[[0]]))
    # both keep growing the same way
    np.testing.assert_array_equal(back.add_items(new), m.add_items(new))
    np.testing.assert_array_equal(back.item_factors_, m.item_factors_)


# --------------------------------------------------------------------------- DataFrame layer


def test_frame_recommender_with_featurizer(world, tmp_path):
    ui, items, uc, ic = world
    coo = ui.tocoo()
    item_ids = np.array([f"movie-{i * 3 + 1}" for i in range(ui.shape[1])], dtype=object)
    user_ids = np.array([f"user-{u}" for u in range(ui.shape[0])], dtype=object)
    inter = pd.DataFrame({"user_id": user_ids[coo.row], "item_id": item_ids[coo.col]})
    attrs = items.set_index(pd.Index(item_ids, name="item_id"))
    rec = FrameRecommender(model()).fit(inter, attrs)
    assert rec.model_.featurizer_.kinds_["title"] == "text"

    new = new_rows().iloc[[0, 3]].set_index(pd.Index(["new-horror", "new-scifi"], name="item_id"))
    idx = rec.add_items(new)
    assert len(idx) == 2 and rec.model_.n_items_ == ui.shape[1] + 2
    assert rec.item_ids_.to_external(idx).tolist() == ["new-horror", "new-scifi"]
    horror_fans = user_ids[uc == 2][:15]
    out = rec.recommend(horror_fans, N=1, items=["new-horror", "new-scifi"])
    assert (out["item_id"] == "new-horror").mean() >= 0.7
    sim = rec.similar_items(["new-horror"], N=6)
    sim = sim[sim["item_id"] != "new-horror"]
    pos = pd.Index(item_ids).get_indexer(sim["item_id"])
    assert (pos >= 0).all() and np.mean(ic[pos] == 2) >= 0.6
    # an attribute frame with the id as a column works too
    more = new_rows().iloc[[1]].assign(item_id=["new-empty"])
    rec.add_items(more)
    assert "new-empty" in rec.item_ids_

    path = tmp_path / "frame.npz"
    rec.save(path)
    back = FrameRecommender.load(path)
    pd.testing.assert_frame_equal(back.recommend(horror_fans[:5], N=5), rec.recommend(horror_fans[:5], N=5))
    newer = new_rows().iloc[[2]].set_index(pd.Index(["new-late"], name="item_id"))
    np.testing.assert_array_equal(back.add_items(newer), rec.add_items(newer))
    np.testing.assert_array_equal(back.model_.item_factors_, rec.model_.item_factors_)
