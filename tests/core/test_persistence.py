"""coldstart.core.persistence: pickle-free model files. Round trips (bit-identical), atomic
saves, binary file objects, and hostile files (truncated, foreign, tampered, forged, pickled, zip
bombs, bad values): always one ModelFileError, never an unpickle."""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import coldstart.core.persistence as P
from coldstart import ColdStartRecommender
from coldstart.core.persistence import ModelFileError, _read_members, write_archive


# ---------------------------------------------------------------- round trips
def test_round_trip_is_bit_identical(small_fitted, tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    small_fitted.save(a)
    back = ColdStartRecommender.load(a)
    back.save(b)
    (meta_a, arrays_a), (meta_b, arrays_b) = _read_members(a), _read_members(b)
    assert set(arrays_a) >= {"item_factors", "user_factors", "mapper/coef", "mapper/intercept"}
    assert set(arrays_b) == set(arrays_a)
    for name, arr in arrays_a.items():
        assert arr.dtype == arrays_b[name].dtype and arr.tobytes() == arrays_b[name].tobytes(), name
    # the metadata too, but for the class name of the implicit model: a loaded model holds the
    # collaborative side's arrays and settings, not the implicit object it was fitted with
    assert meta_a["collaborative"].pop("class") == type(small_fitted.collaborative_).__name__
    assert meta_b["collaborative"].pop("class") is None
    assert meta_a == meta_b
    for attr in ("item_factors_", "user_factors_", "is_zero_shot_"):
        got, ref = getattr(back, attr), getattr(small_fitted, attr)
        assert got.dtype == ref.dtype and got.tobytes() == ref.tobytes(), attr


def test_truncated_file_raises_model_file_error(small_fitted, tmp_path):
    p = tmp_path / "m.npz"
    small_fitted.save(p)
    raw = p.read_bytes()
    for cut in (0, 10, len(raw) // 3, len(raw) - 1):
        p.write_bytes(raw[:cut])
        with pytest.raises(ModelFileError):
            ColdStartRecommender.load(p)


def test_save_load_round_trip_gives_identical_recommendations(tmp_path, small_world, small_fitted):
    ui, X = small_world
    m = copy.deepcopy(small_fitted)
    m.add_items(X[:2])
    path = tmp_path / "model.npz"
    m.save(path)
    assert path.exists() and list(tmp_path.iterdir()) == [path]  # one file, no temp left behind
    m2 = ColdStartRecommender.load(path)
    assert m2.get_params() == m.get_params()
    users = np.arange(20)
    wide = sp.csr_matrix((20, m.n_items_), dtype=np.float32)
    for a, b in zip(m.recommend(users, wide, N=15), m2.recommend(users, wide, N=15)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m.embed_items(X[10:20]), m2.embed_items(X[10:20]))
    np.testing.assert_array_equal(m.is_zero_shot_, m2.is_zero_shot_)
    # the loaded model keeps working: add and partial-fit
    [i] = m2.add_items(X[3:4])
    m2.partial_fit_items([i], ui.T.tocsr()[3])


def test_save_is_atomic_on_failure(tmp_path, small_fitted, monkeypatch):
    m = small_fitted
    path = tmp_path / "model.npz"
    m.save(path)
    good = path.read_bytes()
    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(P.np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        m.save(path)
    assert path.read_bytes() == good and list(tmp_path.iterdir()) == [path]


def test_load_refuses_truncated_foreign_tampered_and_pickled_files(tmp_path, small_fitted):
    m = small_fitted
    path = tmp_path / "model.npz"
    m.save(path)
    raw = path.read_bytes()
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match="truncated|not a readable"):
        ColdStartRecommender.load(trunc)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    with pytest.raises(ModelFileError, match="not a coldstart model"):
        ColdStartRecommender.load(foreign)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ModelFileError):
        ColdStartRecommender.load(text)
    # a pickle payload must be refused without being executed
    marker = tmp_path / "executed"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    evil = tmp_path / "evil.npz"
    np.savez(evil, __meta__=np.frombuffer(b"{}", np.uint8), payload=np.array([Evil()], dtype=object))
    with pytest.raises(ModelFileError, match="pickle"):
        ColdStartRecommender.load(evil)
    plain_pickle = tmp_path / "evil.pkl"
    plain_pickle.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ModelFileError):
        ColdStartRecommender.load(plain_pickle)
    assert not marker.exists()
    # tampering with an array's values is caught by the checksums
    tampered = tmp_path / "tampered.npz"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tampered, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "item_factors.npy":
                arr = np.load(io.BytesIO(data))
                arr[0, 0] += 1.0
                buf = io.BytesIO()
                np.save(buf, arr)
                data = buf.getvalue()
            zout.writestr(item, data)
    with pytest.raises(ModelFileError, match="checksum|tampered"):
        ColdStartRecommender.load(tampered)


def test_save_and_load_take_binary_file_objects(small_fitted, tmp_path):
    buf = io.BytesIO()
    small_fitted.save(buf, key="k")
    buf.seek(0)
    back = ColdStartRecommender.load(buf, key="k")
    np.testing.assert_array_equal(back.item_factors_, small_fitted.item_factors_)
    with open(tmp_path / "m.npz", "wb") as f:
        small_fitted.save(f)
    with open(tmp_path / "m.npz", "rb") as f:
        back = ColdStartRecommender.load(f)
    np.testing.assert_array_equal(back.user_factors_, small_fitted.user_factors_)
    bad = io.BytesIO(buf.getvalue()[:-100])
    with pytest.raises(ModelFileError):
        ColdStartRecommender.load(bad, key="k")
    buf.seek(0)
    with pytest.raises(ModelFileError, match="signature"):
        ColdStartRecommender.load(buf, key="other")
    with open(tmp_path / "m.npz", "r", encoding="latin-1") as f, pytest.raises(ModelFileError, match="binary"):
        ColdStartRecommender.load(f)


# ---------------------------------------------------------------- hostile files
def _save(model, path, **kw):
    model.save(path, **kw)
    return path.read_bytes()


def test_bit_flips_always_model_file_error(small_fitted, tmp_path):
    p = tmp_path / "m.npz"
    blob = _save(small_fitted, p)
    rng = np.random.default_rng(0)
    # every byte of the zip structures at the start and the end, plus a sample of the middle
    positions = sorted(set(range(0, 200)) | set(range(len(blob) - 400, len(blob)))
                       | set(rng.integers(0, len(blob), 150).tolist()))
    q = tmp_path / "f.npz"
    ref = small_fitted.item_factors_
    for pos in positions:
        for bit in (0, 7):
            b = bytearray(blob)
            b[pos] ^= 1 << bit
            q.write_bytes(bytes(b))
            try:
                m = ColdStartRecommender.load(q)
            except ModelFileError:
                continue
            np.testing.assert_array_equal(m.item_factors_, ref)  # a flip in padding: same model


def _zip_with(members: dict[str, bytes], compress=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compress) as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    return buf.getvalue()


def test_zip_bomb_refused_fast(tmp_path, monkeypatch):
    p = tmp_path / "bomb.npz"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("__meta__.npy", "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(1024):  # 1 GiB of zeros, about 1 MB compressed
                f.write(chunk)
    p.write_bytes(buf.getvalue())
    inflated = []  # bytes decompressed while loading
    read = zipfile.ZipExtFile.read
    monkeypatch.setattr(zipfile.ZipExtFile, "read", lambda self, n=-1: inflated.append(len(b := read(self, n))) or b)
    with pytest.raises(ModelFileError, match="size|compress"):
        ColdStartRecommender.load(p)
    assert sum(inflated) < 1 << 16  # refused from the directory, the member never inflated


def test_declared_huge_array_refused(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (10**12,)})
    p = tmp_path / "big.npz"
    p.write_bytes(_zip_with({"__meta__.npy": header.getvalue() + b"\0" * 16}))
    with pytest.raises(ModelFileError):
        ColdStartRecommender.load(p)


def test_deep_json_refused(tmp_path):
    meta = ("[" * 100000 + "]" * 100000).encode()
    out = io.BytesIO()
    np.save(out, np.frombuffer(meta, np.uint8))
    p = tmp_path / "deep.npz"
    p.write_bytes(_zip_with({"__meta__.npy": out.getvalue()}))
    with pytest.raises(ModelFileError):
        ColdStartRecommender.load(p)


def _rewrite(path, edit_meta=None, edit_arrays=None):
    """Re-write an archive with edited metadata / arrays and fresh checksums (what an attacker can do)."""
    meta, arrays = _read_members(path)
    meta = json.loads(json.dumps(meta))
    if edit_meta:
        edit_meta(meta)
    if edit_arrays:
        edit_arrays(arrays)
    for k in ("format", "format_version", "checksums"):
        meta.pop(k, None)
    write_archive(path, meta, arrays)


@pytest.mark.parametrize("edit", [
    lambda m: m["params"].update(alpha=float("nan")),
    lambda m: m["params"].update(regularization=-1.0),
    lambda m: m["params"].update(zero_shot_scale=-5.0),
    lambda m: m["params"].update(num_threads=-3),
    lambda m: m["params"].update(factors=10**7),
    lambda m: m["params"].update(unknown_param=1),
    lambda m: m["state"].update(prior_weight=float("nan")),
    lambda m: m["state"].update(prior_weight=-2.0),
    lambda m: m["state"].update(n_items="many"),
    lambda m: m["state"].update(content_norm=float("inf")),
    lambda m: m["collaborative"].update(regularization=-0.1),
    lambda m: m["collaborative"].update(alpha=float("nan")),
])
def test_bad_values_refused(small_fitted, tmp_path, edit):
    p = tmp_path / "m.npz"
    small_fitted.save(p)
    _rewrite(p, edit_meta=edit)
    with pytest.raises(ModelFileError):
        ColdStartRecommender.load(p)


@pytest.mark.parametrize("key", ["item_factors", "user_factors", "item_prior", "mapper/coef", "mapper/intercept"])
def test_nan_arrays_refused(small_fitted, tmp_path, key):
    p = tmp_path / "m.npz"
    small_fitted.save(p)

    def poison(arrays):
        a = np.array(arrays[key], dtype=np.float32)
        a.flat[0] = np.nan
        arrays[key] = a

    _rewrite(p, edit_arrays=poison)
    with pytest.raises(ModelFileError, match="finite"):
        ColdStartRecommender.load(p)


def test_hmac_key(small_fitted, tmp_path):
    p = tmp_path / "signed.npz"
    small_fitted.save(p, key=b"secret")
    m = ColdStartRecommender.load(p, key=b"secret")
    np.testing.assert_array_equal(m.item_factors_, small_fitted.item_factors_)
    ColdStartRecommender.load(p)  # without a key: checksums only
    with pytest.raises(ModelFileError, match="signature|key"):
        ColdStartRecommender.load(p, key=b"other")
    # a forged file: valid checksums, edited factors, no way to re-sign without the key
    _rewrite(p, edit_arrays=lambda a: a.update(item_factors=a["item_factors"] * 2))
    with pytest.raises(ModelFileError, match="signature|signed"):
        ColdStartRecommender.load(p, key=b"secret")
    q = tmp_path / "unsigned.npz"
    small_fitted.save(q)
    with pytest.raises(ModelFileError, match="not signed"):
        ColdStartRecommender.load(q, key=b"secret")
    with pytest.raises(TypeError, match="key"):
        small_fitted.save(q, key=123)


def test_stale_temp_files_of_killed_saves_removed(small_fitted, tmp_path):
    p = tmp_path / "m.npz"
    # what a save killed by SIGKILL leaves: a temp file stamped with a pid that no longer runs
    dead = 2**22 + 12345
    while True:
        try:
            os.kill(dead, 0)
            dead += 1
        except ProcessLookupError:
            break
        except PermissionError:
            dead += 1
    stale = tmp_path / f".m.npz.coldstart-tmp.{dead}.abc123"
    stale.write_bytes(b"half a model")
    other = tmp_path / f".other.npz.coldstart-tmp.{os.getpid()}.zz"  # a live save: kept
    other.write_bytes(b"in progress")
    small_fitted.save(p)
    assert not stale.exists() and other.exists()
    assert sorted(x.name for x in tmp_path.iterdir()) == sorted(["m.npz", other.name])


def test_featurizer_arrays_checked_on_load(tmp_path):
    from coldstart.features.featurizer import ItemFeaturizer

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"price": rng.random(40) * 10, "genre": rng.choice(list("abc"), 40)})
    ui = sp.csr_matrix((np.ones(120, np.float32), (rng.integers(20, size=120), rng.integers(30, size=120))),
                       shape=(20, 40))
    ui.sum_duplicates()
    ui.data[:] = 1
    m = ColdStartRecommender(factors=4, iterations=2, random_state=0, zero_shot_scale=2.0,
                             featurizer=ItemFeaturizer()).fit(ui, df)
    p = tmp_path / "f.npz"
    m.save(p)
    back = ColdStartRecommender.load(p)
    np.testing.assert_array_equal(back.embed_items(df.iloc[:5]), m.embed_items(df.iloc[:5]))

    def poison(arrays):
        k = next(k for k in arrays if k.startswith("featurizer/") and arrays[k].dtype.kind == "f")
        a = np.array(arrays[k])
        a.flat[0] = np.nan
        arrays[k] = a

    _rewrite(p, edit_arrays=poison)
    with pytest.raises(ModelFileError, match="finite"):
        ColdStartRecommender.load(p)


def test_load_restores_parameters_validation_and_exploration(tmp_path, small_world):
    """The loaded model's parameters are the saved ones (the weighting object too, so a clone
    refits the same model), ``validation_`` comes back, and exploration serves the same lists
    (the reference user's squared norm fit computed is saved, not recomputed from later users)."""
    from sklearn.base import clone

    from coldstart.core.weighting import AttributeWeighting

    ui, X = small_world
    m = ColdStartRecommender(factors=8, iterations=3, random_state=0,
                             weighting=AttributeWeighting("scale", norm=None)).fit(ui, X)
    m.save(tmp_path / "w.npz")
    back = ColdStartRecommender.load(tmp_path / "w.npz")
    assert back.get_params()["weighting__scheme"] == "scale" and back.get_params()["weighting__norm"] is None
    np.testing.assert_array_equal(clone(back).fit(ui, X).item_factors_, clone(m).fit(ui, X).item_factors_)
    assert back.validation_ == m.validation_ and isinstance(next(iter(back.validation_["map_alpha"])), float)
    assert back.collaborative is None and back.collaborative_ is None
    # cold users from attributes, then users added: exploration lists identical after load
    XU = sp.csr_matrix(np.eye(5, dtype=np.float32)[np.arange(ui.shape[0]) % 5])
    cold = (sp.diags((np.arange(ui.shape[0]) >= 10).astype(np.float32)) @ ui).tocsr()
    cold.eliminate_zeros()
    mu = ColdStartRecommender(factors=8, iterations=3, random_state=0).fit(cold, X, user_features=XU)
    mu.partial_fit_users([ui.shape[0], ui.shape[0] + 1], ui[:2])
    mu.save(tmp_path / "u.npz")
    bu = ColdStartRecommender.load(tmp_path / "u.npz")
    users = np.arange(mu.n_users_)
    for kw in ({"exploration": "ucb"}, {"exploration": "thompson", "random_state": 3}):
        np.testing.assert_array_equal(bu.recommend(users, None, N=5, filter_already_liked_items=False, **kw)[0],
                                      mu.recommend(users, None, N=5, filter_already_liked_items=False, **kw)[0])
    new_b, new_m = bu.add_items(X[:2]), mu.add_items(X[:2])
    np.testing.assert_array_equal(bu.item_variance_[new_b], mu.item_variance_[new_m])


def test_no_call_modifies_the_callers_matrices(small_world, small_fitted):
    """Stored zeros (no interaction) are dropped from a copy: the caller's matrix keeps them."""
    ui, X = small_world
    A = ui.copy().astype(np.float32)
    A.data[:5] = 0.0  # stored zeros
    before = (A.data.copy(), A.indices.copy(), A.indptr.copy())

    def same():
        for a, b in zip((A.data, A.indices, A.indptr), before):
            np.testing.assert_array_equal(a, b)

    m = ColdStartRecommender(factors=8, iterations=3, random_state=0).fit(A, X)
    same()
    row = A[[0]]
    nnz = row.nnz
    m.recommend(0, row, N=3)
    m.partial_fit_users([0], row)
    m.partial_fit_items([0], A.T.tocsr()[[0]])
    m.recommend([0], row, N=3, exposures=row)
    assert row.nnz == nnz
    same()


def test_object_parameters_a_file_cannot_hold_are_defaults_and_bad_ones_refused(tmp_path, small_world):
    """A subclass of the library's weighting is not written (the loaded parameter is the default;
    the fitted weighting is); a file whose parameters the model would refuse is refused."""
    from coldstart.core.weighting import AttributeWeighting

    class MyWeighting(AttributeWeighting):
        pass

    ui, X = small_world
    m = ColdStartRecommender(factors=8, iterations=3, random_state=0, weighting=MyWeighting("scale")).fit(ui, X)
    m.save(tmp_path / "sub.npz")
    back = ColdStartRecommender.load(tmp_path / "sub.npz")
    assert back.weighting == "auto" and back.weighting_.scheme == "scale"
    np.testing.assert_array_equal(back.embed_items(X[:3]), m.embed_items(X[:3]))
    for objects in ({"weighting": {"value": "tfidf"}}, {"mapper": {"value": "ridge"}},
                    {"weighting": {"class": "AttributeWeighting", "params": {"scheme": "bogus", "norm": "l2"}}},
                    {"mapper": {"class": "RidgeMap", "params": {"alpha": -5.0}}}):
        meta, arrays = P.read_archive(tmp_path / "sub.npz")
        meta["object_params"] = objects
        write_archive(tmp_path / "bad.npz", {k: v for k, v in meta.items()
                                             if k not in ("format", "format_version", "checksums")}, arrays)
        with pytest.raises(ModelFileError):
            ColdStartRecommender.load(tmp_path / "bad.npz")


def test_weights_float32_rounds_to_zero_are_no_interaction(small_world):
    """A float64 weight that float32 rounds to 0 is no interaction (as a stored zero): not
    filtered as already liked."""
    ui, X = small_world
    A = ui.astype(np.float64).tocsr()
    A.data[0] = 1e-50
    m = ColdStartRecommender(factors=8, iterations=3, random_state=0).fit(A, X)
    ids, scores = m.recommend(0, A[[0]], N=m.n_items_)
    assert np.isfinite(scores[list(ids).index(A.indices[0])])
    assert not np.isfinite(scores[list(ids).index(A.indices[1])])  # a real interaction is filtered
