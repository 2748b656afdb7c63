"""Property-based tests (hypothesis) of the invariants on small worlds: recommended ids valid,
unique, sorted by score, within ``items=``, filtered; ``add_items`` leaves existing vectors
alone and equals ``embed_items``; save/load identical; the DataFrame layer's id maps stay
consistent after any sequence of successful and failed calls."""

from __future__ import annotations

import copy
import functools
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coldstart import ColdStartRecommender, FrameRecommender
from tests.conftest import make_clustered

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.lru_cache(maxsize=None)
def _world():
    ui, X, _, _ = make_clustered(n_users=40, n_items=60, n_noise=12, seed=11)
    model = ColdStartRecommender(factors=8, iterations=2, random_state=0, num_threads=1).fit(ui, X)
    return ui, X, model


@functools.lru_cache(maxsize=None)
def _frame_world():
    ui, X, _ = _world()
    coo = ui.tocoo()
    user_ids = np.array([u * 10 if u % 2 else f"u{u}" for u in range(ui.shape[0])], dtype=object)
    item_ids = np.array([i if i % 3 else f"i{i}" for i in range(ui.shape[1])], dtype=object)
    inter = pd.DataFrame({"user_id": user_ids[coo.row], "item_id": item_ids[coo.col]})
    attrs = pd.DataFrame(X.toarray(), index=pd.Index(item_ids, name="item_id"),
                         columns=[f"a{j}" for j in range(X.shape[1])])
    rec = FrameRecommender(ColdStartRecommender(factors=8, iterations=2, random_state=0, num_threads=1))
    return rec.fit(inter, attrs), attrs


def _rows(draw, n_rows, width):
    """A sparse 0/1 attribute matrix (n_rows, width), every row non-empty."""
    rows = []
    for _ in range(n_rows):
        cols = draw(st.lists(st.integers(0, width - 1), min_size=1, max_size=4, unique=True))
        rows.append(cols)
    r = np.repeat(np.arange(n_rows), [len(c) for c in rows])
    return sp.csr_matrix((np.ones(len(r), np.float32), (r, np.concatenate(rows))), shape=(n_rows, width))


@st.composite
def recommend_calls(draw):
    ui, X, model = _world()
    n_users, n_items = ui.shape
    users = draw(st.lists(st.integers(0, n_users - 1), min_size=1, max_size=4))
    N = draw(st.integers(1, 70))
    mode = draw(st.sampled_from(["all", "items", "filter"]))
    items = filt = None
    if mode == "items":
        items = draw(st.lists(st.integers(0, n_items - 1), min_size=0, max_size=30))
    elif mode == "filter":
        filt = draw(st.lists(st.integers(0, n_items - 1), min_size=1, max_size=30))
    liked = draw(st.booleans())
    return users, N, items, filt, liked


@SETTINGS
@given(recommend_calls())
def test_recommended_ids_are_valid_unique_sorted_and_filtered(call):
    ui, X, model = _world()
    users, N, items, filt, liked = call
    ids, scores = model.recommend(np.array(users), ui[users], N=N, filter_already_liked_items=liked,
                                  items=items, filter_items=filt)
    assert ids.shape == scores.shape and ids.shape[0] == len(users)
    for u, row_ids, row_scores in zip(users, ids, scores):
        keep = row_ids >= 0
        got = row_ids[keep]
        assert np.all(got < model.n_items_)
        assert len(set(got.tolist())) == len(got)
        assert np.all(row_ids[~keep] == -1) and not keep[np.argmin(keep):].any() if (~keep).any() else True
        s = row_scores[keep]
        assert np.all(np.diff(s[np.isfinite(s)]) <= 1e-6 * (1 + np.abs(s[np.isfinite(s)][:-1])))
        if items is not None:
            assert set(got.tolist()) <= set(items)
        if filt is not None:
            assert not set(got.tolist()) & set(filt)
        if liked:  # the user's items only ever come last, with score -inf
            seen = set(ui[u].indices.tolist())
            for i, sc in zip(got, s):
                if i in seen:
                    assert sc == -np.inf
        finite = s[np.isfinite(s)]
        np.testing.assert_allclose(finite, model.item_factors_[got[np.isfinite(s)]] @ model.user_factors_[u],
                                   rtol=1e-4, atol=1e-5)


@SETTINGS
@given(st.data())
def test_add_items_keeps_existing_vectors_and_equals_embed_items(data):
    ui, X, base = _world()
    model = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(1, 3))):
        n = data.draw(st.integers(1, 6))
        Xn = _rows(data.draw, n, X.shape[1])
        before = model.item_factors_.copy()
        idx = model.add_items(Xn)
        np.testing.assert_array_equal(idx, np.arange(len(before), len(before) + n))
        np.testing.assert_array_equal(model.item_factors_[: len(before)], before)
        np.testing.assert_array_equal(model.item_factors_[idx], model.embed_items(Xn))
        assert model.is_zero_shot_[idx].all()


@SETTINGS
@given(st.data())
def test_save_load_identical_after_any_updates(data):
    ui, X, base = _world()
    model = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(0, 3))):
        if data.draw(st.booleans()):
            model.add_items(_rows(data.draw, data.draw(st.integers(1, 4)), X.shape[1]))
        else:
            items = sorted(set(data.draw(st.lists(st.integers(0, ui.shape[1] - 1), min_size=1, max_size=5))))
            model.partial_fit_items(items, ui.T.tocsr()[items])
    key = data.draw(st.sampled_from([None, b"k"]))
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "m.npz"
        model.save(p, key=key)
        back = ColdStartRecommender.load(p, key=key)
    for a in ("item_factors_", "user_factors_", "is_zero_shot_"):
        np.testing.assert_array_equal(getattr(back, a), getattr(model, a))
    np.testing.assert_array_equal(back._prior.view, model._prior.view)
    users = np.arange(5)
    for x, y in zip(back.recommend(users, ui[users], N=7), model.recommend(users, ui[users], N=7)):
        np.testing.assert_array_equal(x, y)
    Xn = X[:3]
    np.testing.assert_array_equal(back.embed_items(Xn), model.embed_items(Xn))


_ID = st.one_of(st.integers(-5, 2000), st.text(alphabet="abiu0123", min_size=1, max_size=3),
                st.just(None), st.just(float("nan")), st.just(2.5))


@st.composite
def frame_ops(draw):
    ops = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["add", "partial_fit", "recommend"]))
        if kind == "add":
            ops.append(("add", draw(st.lists(_ID, min_size=1, max_size=3)), draw(st.booleans())))
        elif kind == "partial_fit":
            ops.append(("partial_fit", draw(st.lists(st.tuples(_ID, _ID), min_size=1, max_size=3))))
        else:
            ops.append(("recommend", draw(st.lists(_ID, min_size=1, max_size=2))))
    return ops


def _consistent(rec):
    m = rec.model_
    n_users, n_items = len(rec.user_ids_), len(rec.item_ids_)
    assert (n_users, n_items) == (m.n_users_, m.n_items_) == rec.user_items_.shape
    assert m.item_factors_.shape[0] == n_items and m.user_factors_.shape[0] == n_users
    for ids in (rec.user_ids_, rec.item_ids_):
        ext = ids.external_ids
        assert all(isinstance(v, (int, np.integer, str)) and not isinstance(v, bool) for v in ext)
        np.testing.assert_array_equal(ids.to_internal(ext), np.arange(len(ext)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame_ops())
def test_id_maps_consistent_after_any_sequence_of_calls(ops):
    base, attrs = _frame_world()
    rec = copy.deepcopy(base)
    known_items = list(rec.item_ids_.external_ids)
    for op in ops:
        before_items, before_users = list(rec.item_ids_.external_ids), list(rec.user_ids_.external_ids)
        try:
            if op[0] == "add":
                new = attrs.iloc[: len(op[1])].copy()
                new.index = pd.Index(op[1], dtype=object, name="item_id")
                if op[2]:
                    new = new[new.columns[::-1]]
                rec.add_items(new)
                assert list(rec.item_ids_.external_ids) == before_items + list(op[1])
            elif op[0] == "partial_fit":
                rec.partial_fit(pd.DataFrame({"user_id": [u for u, _ in op[1]],
                                              "item_id": [i for _, i in op[1]]}, dtype=object))
                assert list(rec.item_ids_.external_ids) == before_items
            else:
                out = rec.recommend(op[1], N=5)
                assert set(out["item_id"]) <= set(rec.item_ids_.external_ids)
        except (ValueError, TypeError, KeyError):
            # a refused call changes nothing
            assert list(rec.item_ids_.external_ids) == before_items
            assert list(rec.user_ids_.external_ids) == before_users
        _consistent(rec)
    assert list(rec.item_ids_.external_ids)[: len(known_items)] == known_items
