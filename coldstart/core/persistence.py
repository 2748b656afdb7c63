"""Pickle-free model files: one ``.npz`` archive of numeric arrays plus JSON metadata.

The archive holds ``__meta__`` (UTF-8 JSON as uint8: format name, format version, class,
parameters, component states, and a SHA-256 of every array) and the arrays themselves, every
member stored uncompressed. With ``key`` it also holds ``__sig__``: an HMAC-SHA256 of the
metadata bytes under that key (the metadata holds every array's SHA-256, so the signature
covers the whole file); ``load(path, key=...)`` then refuses a file that is unsigned or whose
signature does not match: the checksums alone detect damage, only the key detects forgery.

Saving writes a temporary file ``.<name>.coldstart-tmp.<pid>.<random>`` in the target folder
and moves it into place with ``os.replace``, so a crash never leaves a half-written model at
``path``; the temporary files that killed saves (whose process no longer runs) left behind
for the same target are removed by the next save.

Loading never unpickles and never trusts the file: the zip directory is read first and every
member is checked (names, no compression or encryption, declared sizes that add up to at most
the file's size) before any byte is read; each ``.npy`` header is parsed and its declared
shape and dtype must match the member's size exactly (no object dtype); the JSON is parsed
with a bounded nesting depth; then the format, the version, every checksum, the signature
(with a key) and every value (finite factors, parameters in their ranges) are checked.
Whatever is wrong, the error is one :class:`ModelFileError`.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "coldstart-model"
#: The newest version this code reads and writes. A file says the oldest version that reads it
#: right: 2 only where version 1's readers would misread it (tuple column names of the
#: DataFrame layer, which they would take for lists), 1 otherwise.
FORMAT_VERSION = 2

#: Parameters that hold objects and are saved through their state, not as JSON.
_OBJECT_PARAMS = ("collaborative", "mapper", "weighting", "featurizer")
_TMP_TAG = ".coldstart-tmp."
_MAX_JSON_DEPTH = 64
_MAX_MEMBERS = 10_000
_NAME = re.compile(r"^[A-Za-z0-9_./\-]{1,256}\.npy$")


class ModelFileError(ValueError):
    """The file is not a valid coldstart model (truncated, foreign, tampered, forged or too new)."""


def _digest(arr: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(str(arr.dtype.str).encode())
    h.update(str(arr.shape).encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _key_bytes(key: Any) -> bytes | None:
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)) or len(key) == 0:
        raise TypeError(f"key must be a non-empty bytes or str secret; received {type(key).__name__}")
    return bytes(key)


def _signature(key: bytes, meta_bytes: bytes) -> bytes:
    return hmac.new(key, meta_bytes, hashlib.sha256).hexdigest().encode("ascii")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's live process (or not a pid we can judge): keep its file
    return True


def _remove_stale_temps(folder: Path, name: str) -> None:
    """Delete the temporary files of saves to ``folder/name`` whose process no longer runs."""
    prefix = f".{name}{_TMP_TAG}"
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for e in entries:
        if not e.name.startswith(prefix):
            continue
        pid = e.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            try:
                os.unlink(e.path)
            except OSError:
                pass


def write_archive(path: str | os.PathLike, meta: dict, arrays: dict[str, np.ndarray],
                  key: Any = None, version: int = 1) -> None:
    """Atomically write ``arrays`` and ``meta`` to exactly ``path`` (signed with ``key`` if given).

    ``path`` may also be a binary file object: the whole archive is built in memory first and
    written in one call (atomicity is then the caller's)."""
    key = _key_bytes(key)
    for name, arr in arrays.items():
        if not isinstance(arr, np.ndarray) or arr.dtype.hasobject:
            raise TypeError(f"array {name!r} must be a non-object numpy array to be saved without pickle")
    if not 1 <= version <= FORMAT_VERSION:
        raise ValueError(f"version must be in [1, {FORMAT_VERSION}]; received {version!r}")
    meta = dict(meta, format=FORMAT, format_version=int(version),
                checksums={k: _digest(v) for k, v in arrays.items()})
    meta_bytes = json.dumps(meta, sort_keys=True, allow_nan=True).encode("utf-8")
    members = {"__meta__": np.frombuffer(meta_bytes, dtype=np.uint8)}
    if key is not None:
        members["__sig__"] = np.frombuffer(_signature(key, meta_bytes), dtype=np.uint8)
    if hasattr(path, "write"):
        buf = io.BytesIO()
        np.savez(buf, **members, **arrays)
        path.write(buf.getvalue())
        return
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"path {str(path)!r}: folder {str(folder)!r} does not exist")
    _remove_stale_temps(folder, path.name)
    tmp = folder / f".{path.name}{_TMP_TAG}{os.getpid()}.{secrets.token_hex(6)}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **members, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _json_depth_ok(text: str, limit: int = _MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text nests at most ``limit`` deep (brackets outside strings)."""
    depth, in_str, esc = 0, False, False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def _parse_npy_header(f, size: int, name: str) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """Read a ``.npy`` header from ``f``; returns (dtype, shape, fortran_order, data bytes)."""
    magic = f.read(8)
    if len(magic) != 8 or magic[:6] != b"\x93NUMPY" or magic[6] not in (1, 2, 3):
        raise ModelFileError(f"member {name!r} is not a .npy array")
    hlen_bytes = f.read(2 if magic[6] == 1 else 4)
    hlen = int.from_bytes(hlen_bytes, "little")
    if len(hlen_bytes) not in (2, 4) or hlen > 65536 or 8 + len(hlen_bytes) + hlen > size:
        raise ModelFileError(f"member {name!r} has a malformed .npy header")
    header = f.read(hlen).decode("latin1")
    try:
        d = ast.literal_eval(header)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError) as exc:
        raise ModelFileError(f"member {name!r} has a malformed .npy header: {exc!r}") from None
    if not isinstance(d, dict) or set(d) != {"descr", "fortran_order", "shape"}:
        raise ModelFileError(f"member {name!r} has a malformed .npy header")
    descr, fortran, shape = d["descr"], d["fortran_order"], d["shape"]
    if not isinstance(descr, str) or not re.fullmatch(r"[<>|=]?(?:[fiub][1248]|b1|\?|U\d{1,6})", descr):
        raise ModelFileError(f"member {name!r} has dtype {descr!r}; model files hold plain numbers "
                             "and fixed-width strings only, never pickled objects: refused")
    if not isinstance(fortran, bool) or not isinstance(shape, tuple) or len(shape) > 8 or not all(
            isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**62 for s in shape):
        raise ModelFileError(f"member {name!r} has a malformed .npy header (shape {shape!r})")
    dtype = np.dtype(descr)
    nbytes = dtype.itemsize
    for s in shape:
        nbytes *= s
    if 8 + len(hlen_bytes) + hlen + nbytes != size:
        raise ModelFileError(f"member {name!r} declares shape {shape} of {descr} ({nbytes} bytes), "
                             f"which does not match its size in the archive ({size} bytes)")
    return dtype, shape, fortran, nbytes


def _label(f) -> str:
    """How messages name a file object."""
    name = getattr(f, "name", None)
    return str(name) if isinstance(name, (str, os.PathLike)) else "the file object"


def _read_members(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """Parse the archive at ``path`` into (metadata, arrays) with every structural check and
    none of the content checks (format, checksums, signature). Memory is bounded by the
    arrays the directory declares, which are at most the file's size."""
    meta, arrays, _ = _read_raw(path)
    return meta, arrays


def _read_raw(path) -> tuple[dict, dict[str, np.ndarray], tuple[bytes, bytes | None]]:
    if hasattr(path, "read"):  # a binary file object: its remaining bytes
        data = path.read()
        if not isinstance(data, (bytes, bytearray)):
            raise ModelFileError(f"{_label(path)} gives {type(data).__name__}; open it in binary mode ('rb')")
        file_size, source, path = len(data), io.BytesIO(data), _label(path)
    else:
        path = Path(path)
        file_size, source = path.stat().st_size, path
    with zipfile.ZipFile(source) as zf:
        infos = zf.infolist()
        if not infos or len(infos) > _MAX_MEMBERS:
            raise ModelFileError(f"{path} holds {len(infos)} members; expected a coldstart model archive")
        names, total = set(), 0
        for info in infos:
            if not _NAME.match(info.filename) or info.filename in names:
                raise ModelFileError(f"{path}: unexpected member name {info.filename!r}")
            names.add(info.filename)
            if info.flag_bits & 0x1:
                raise ModelFileError(f"{path}: member {info.filename!r} is encrypted; model files never are")
            if info.compress_type != zipfile.ZIP_STORED:
                raise ModelFileError(f"{path}: member {info.filename!r} is compressed (method "
                                     f"{info.compress_type}); model files store their arrays uncompressed")
            if info.file_size != info.compress_size:
                raise ModelFileError(f"{path}: member {info.filename!r} declares {info.file_size} bytes "
                                     f"but stores {info.compress_size}")
            total += info.file_size
        if total > file_size:
            raise ModelFileError(f"{path}: the members declare {total} bytes in all, more than the "
                                 f"file's own size ({file_size} bytes)")
        if "__meta__.npy" not in names:
            raise ModelFileError(f"{path} is a .npz archive but not a coldstart model (no metadata)")
        raw: dict[str, np.ndarray] = {}
        for info in infos:
            name = info.filename[:-4]
            with zf.open(info) as f:
                dtype, shape, fortran, nbytes = _parse_npy_header(f, info.file_size, name)
                data = bytearray(nbytes)  # writable arrays without a second copy
                view, got = memoryview(data), 0
                while got < nbytes:
                    n = f.readinto(view[got:])
                    if not n:
                        break
                    got += n
                if got != nbytes or f.read(1):
                    raise ModelFileError(f"{path}: member {name!r} is truncated")
            arr = np.frombuffer(data, dtype=dtype)
            arr = arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)
            raw[name] = arr
    meta_arr, sig = raw.pop("__meta__"), raw.pop("__sig__", None)
    if meta_arr.dtype != np.uint8 or meta_arr.ndim != 1:
        raise ModelFileError(f"{path} has malformed metadata")
    meta_bytes = meta_arr.tobytes()
    text = meta_bytes.decode("utf-8")
    if not _json_depth_ok(text):
        raise ModelFileError(f"{path}: the metadata nests deeper than {_MAX_JSON_DEPTH} levels")
    meta = json.loads(text)
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path} has malformed metadata (not a JSON object)")
    sig_bytes = None if sig is None else np.asarray(sig, dtype=np.uint8).tobytes()
    return meta, raw, (meta_bytes, sig_bytes)


def read_archive(path: str | os.PathLike, key: Any = None) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and verify an archive written by :func:`write_archive`. Never unpickles.

    With ``key``, the file must carry a matching HMAC signature. Every problem with the file
    raises :class:`ModelFileError`.
    """
    key = _key_bytes(key)
    source = path
    if hasattr(path, "read"):
        path = _label(path)
    else:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no model file at {str(path)!r}")
        source = path
    try:
        meta, arrays, (meta_bytes, sig) = _read_raw(source)
    except ModelFileError as exc:
        if str(path) in str(exc):
            raise
        raise ModelFileError(f"{path}: {exc}") from None
    except Exception as exc:  # zip, npy, unicode, JSON, memory: one error for every malformed file
        raise ModelFileError(f"{path} is not a readable coldstart model file (truncated, damaged or "
                             f"not a model archive): {type(exc).__name__}: {exc}") from None
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a coldstart model file (format {meta.get('format')!r} "
                             f"if any; expected {FORMAT!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise ModelFileError(f"{path} has format version {version!r}; this coldstart reads versions "
                             f"up to {FORMAT_VERSION}. Upgrade coldstart to load it")
    if key is not None:
        if sig is None:
            raise ModelFileError(f"{path} is not signed, but a key was given; refusing to load it "
                                 "(save it with save(path, key=...), or load without a key)")
        if not hmac.compare_digest(sig, _signature(key, meta_bytes)):
            raise ModelFileError(f"{path}: the signature does not match the key; the file was forged "
                                 "or modified, or signed with another key")
    sums = meta.get("checksums")
    if not isinstance(sums, dict) or set(sums) != set(arrays):
        raise ModelFileError(f"{path}: the arrays do not match the metadata's checksums; the file was "
                             "tampered with")
    for k, arr in arrays.items():
        if _digest(arr) != sums[k]:
            raise ModelFileError(f"{path}: array {k!r} fails its checksum; the file was tampered with")
    return meta, arrays


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in params.items():
        if k in _OBJECT_PARAMS:
            continue
        if isinstance(v, np.generic):
            v = v.item()
        json.dumps(v)  # raises for anything not representable
        out[k] = v
    return out


def _prefixed(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}/{k}": np.asarray(v) for k, v in arrays.items()}


def _unprefixed(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    p = prefix + "/"
    return {k[len(p):]: v for k, v in arrays.items() if k.startswith(p)}


def _check_finite(arrays: dict[str, np.ndarray], prefix: str) -> None:
    for k, a in arrays.items():
        if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
            raise ValueError(f"array {prefix}{k!r} holds NaN or infinite values; expected finite numbers")


def save_model(model, path: str | os.PathLike, extra_meta: dict | None = None,
               extra_arrays: dict[str, np.ndarray] | None = None, key: Any = None, version: int = 1) -> None:
    """Save a fitted :class:`~coldstart.core.model.ColdStartRecommender` to ``path``.

    ``extra_meta``/``extra_arrays`` let a wrapper (the DataFrame layer) store its own state
    in the same file, under ``extra/``. ``key`` (bytes or str): sign the file with an
    HMAC-SHA256 under this secret (see :func:`read_archive`).
    """
    from sklearn.utils.validation import check_is_fitted

    from coldstart.core.mapping import RidgeMap
    from coldstart.core.weighting import AttributeWeighting

    _key_bytes(key)  # a bad key is refused before anything is written
    check_is_fitted(model)
    if not isinstance(model.mapper_, RidgeMap):
        raise TypeError(f"save supports the default RidgeMap mapper only; this model's mapper is "
                        f"{type(model.mapper_).__name__}, which cannot be saved without pickle")
    for w in (model.weighting_, getattr(model, "user_weighting_", None)):
        if w is not None and not isinstance(w, AttributeWeighting):
            raise TypeError(f"save supports AttributeWeighting only; received {type(w).__name__}")
    state = model.get_state()
    meta = {
        "class": type(model).__name__,
        "params": _json_params(model.get_params(deep=False)),
        "collaborative": state.pop("collaborative_meta"),
        "mapper": {"params": _json_params(model.mapper_.get_params())},
        "weighting": None if model.weighting_ is None else {"params": model.weighting_.get_params()},
        "state": state.pop("meta"),
    }
    arrays = dict(state.pop("arrays"))
    arrays.update(_prefixed("mapper", model.mapper_.get_state()))
    if model.weighting_ is not None:
        arrays.update(_prefixed("weighting", model.weighting_.get_state()))
    user_mapper, user_weighting = getattr(model, "user_mapper_", None), getattr(model, "user_weighting_", None)
    if user_mapper is not None:  # the user map (fit(user_features=...)), saved as the item map is
        meta["user_mapper"] = {"params": _json_params(user_mapper.get_params())}
        meta["user_weighting"] = None if user_weighting is None else {"params": user_weighting.get_params()}
        arrays.update(_prefixed("user_mapper", user_mapper.get_state()))
        if user_weighting is not None:
            arrays.update(_prefixed("user_weighting", user_weighting.get_state()))
    featurizer = getattr(model, "featurizer_", None)
    if featurizer is not None:
        fmeta, farrays = featurizer.get_state()
        meta["featurizer"] = fmeta
        arrays.update(_prefixed("featurizer", farrays))
    meta["object_params"] = {k: _object_param(getattr(model, k)) for k in ("mapper", "weighting")}
    if getattr(model, "validation_", None) is not None:
        meta["validation"] = _json_tree(model.validation_)
    if extra_meta is not None:
        meta["extra"] = extra_meta
    arrays.update(_prefixed("extra", extra_arrays or {}))
    write_archive(path, meta, arrays, key=key, version=version)


_DEFAULT = object()  # an object parameter that was not written: the constructor's default


def _object_param(value: Any) -> dict:
    """A ``mapper`` / ``weighting`` parameter as JSON: a string or None as it is, the library's
    RidgeMap / AttributeWeighting by their parameters (unfitted on load; a refit of the loaded
    model fits what the saved one fitted). ``collaborative`` (any backend object) is not saved."""
    from coldstart.core.mapping import RidgeMap
    from coldstart.core.weighting import AttributeWeighting

    if value is None or isinstance(value, str):
        return {"value": value}
    if type(value) in (RidgeMap, AttributeWeighting):
        return {"class": type(value).__name__, "params": _json_params(value.get_params())}
    # another class (a subclass, a custom regressor): its fitted state is written as the library's
    # class it is (or refused by save); the parameter itself is not, as collaborative is not
    return {"not_saved": type(value).__name__}


def _object_param_back(entry: Any) -> Any:
    """:func:`_object_param`'s value back, checked (only the library's two classes)."""
    from coldstart.core.mapping import RidgeMap
    from coldstart.core.weighting import AttributeWeighting

    if not isinstance(entry, dict):
        raise TypeError(f"an object parameter must be a mapping; received {entry!r}")
    if set(entry) == {"not_saved"} and isinstance(entry["not_saved"], str):
        return _DEFAULT
    if "value" in entry:
        if entry["value"] is not None and not isinstance(entry["value"], str):
            raise TypeError(f"an object parameter's value must be None or a string; received {entry['value']!r}")
        return entry["value"]
    classes = {"RidgeMap": RidgeMap, "AttributeWeighting": AttributeWeighting}
    if entry.get("class") not in classes or not isinstance(entry.get("params"), dict):
        raise TypeError(f"an object parameter must be a RidgeMap or an AttributeWeighting; received {entry!r}")
    obj = classes[entry["class"]](**entry["params"])
    obj._check_params()
    return obj


def _json_tree(value: Any) -> Any:
    """``validation_`` as JSON: dicts become ``[[key, value], ...]`` lists (its keys are numbers:
    sweeps, penalties, scales), numbers plain; :func:`_tree_back` reverses it."""
    if isinstance(value, dict):
        return {"items": [[_json_tree(k), _json_tree(v)] for k, v in value.items()]}
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"validation_ holds a {type(value).__name__}; expected numbers, strings and dicts")


def _tree_back(value: Any, depth: int = 0) -> Any:
    """:func:`_json_tree`'s value back, checked: only dicts, numbers, strings, None (bounded depth)."""
    if depth > 4:
        raise ValueError("validation is nested too deeply")
    if isinstance(value, dict):
        if set(value) != {"items"} or not isinstance(value["items"], list):
            raise ValueError("validation holds a malformed mapping")
        out = {}
        for pair in value["items"]:
            if not (isinstance(pair, list) and len(pair) == 2) or isinstance(pair[0], (dict, list)):
                raise ValueError("validation holds a malformed entry")
            out[pair[0]] = _tree_back(pair[1], depth + 1)
        return out
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"validation holds a {type(value).__name__}")


def load_model(path: str | os.PathLike, cls: type, with_extra: bool = False, key: Any = None):
    """Load a model of class ``cls`` written by :func:`save_model` (and, with ``with_extra``, its
    extra state).

    Every value is checked (finite arrays, every parameter in its range, shapes consistent);
    anything wrong raises :class:`ModelFileError`. With ``key`` the file must be signed with it.
    """
    from coldstart.core.mapping import RidgeMap
    from coldstart.core.weighting import AttributeWeighting

    meta, arrays = read_archive(path, key=key)
    if meta.get("class") != cls.__name__:
        raise ModelFileError(f"{path} holds a {meta.get('class')!r}; expected {cls.__name__!r}")
    if not with_extra and meta.get("extra") is not None:  # a wrapper's file: its ids would be lost
        raise ModelFileError(f"{path} holds a FrameRecommender (the model with its id maps); load it with "
                             "coldstart.FrameRecommender.load (its model_ is the ColdStartRecommender)")
    try:
        params = meta["params"]
        if not isinstance(params, dict):
            raise TypeError("params is not a mapping")
        model = cls(**params)
        model._check_params()
        mapper_arrays = _unprefixed("mapper", arrays)
        _check_finite(mapper_arrays, "mapper/")
        model.mapper_ = RidgeMap.from_state(meta["mapper"]["params"], mapper_arrays)
        weighting_arrays = _unprefixed("weighting", arrays)
        _check_finite(weighting_arrays, "weighting/")
        model.weighting_ = (None if meta["weighting"] is None else
                            AttributeWeighting.from_state(meta["weighting"]["params"], weighting_arrays))
        if "featurizer" in meta:
            from coldstart.features.featurizer import ItemFeaturizer

            featurizer_arrays = _unprefixed("featurizer", arrays)
            _check_finite(featurizer_arrays, "featurizer/")
            model.featurizer_ = ItemFeaturizer.from_state(meta["featurizer"], featurizer_arrays)
            model.featurizer = ItemFeaturizer(**model.featurizer_.get_params())  # so clone(model).fit works
        user_map = (None, None)
        if "user_mapper" in meta:  # absent in files of models fitted without user_features
            for prefix in ("user_mapper", "user_weighting"):
                _check_finite(_unprefixed(prefix, arrays), prefix + "/")
            user_map = (RidgeMap.from_state(meta["user_mapper"]["params"], _unprefixed("user_mapper", arrays)),
                        None if meta["user_weighting"] is None else AttributeWeighting.from_state(
                            meta["user_weighting"]["params"], _unprefixed("user_weighting", arrays)))
        own = {k: v for k, v in arrays.items() if "/" not in k}
        objects = meta.get("object_params", {})  # absent in older files: the defaults
        if not isinstance(objects, dict) or set(objects) - {"mapper", "weighting"}:
            raise TypeError("object_params must map mapper and weighting")
        objects = {k: v for k, v in ((k, _object_param_back(v)) for k, v in objects.items()) if v is not _DEFAULT}
        validation = None if meta.get("validation") is None else _tree_back(meta["validation"])
        model.set_params(**objects)
        model._check_params()  # the restored parameters too, before any state is set
        model.set_state(meta["state"], meta["collaborative"], own, user_map=user_map)
        model.validation_ = validation
        d = model.n_features_in_
        if getattr(model.mapper_, "n_features_in_", d) != d or (
                model.weighting_ is not None and model.weighting_.n_features_in_ != d):
            raise ValueError(f"the map or the weighting does not have the model's {d} attribute columns")
        if model.mapper_.intercept_.shape != (model._n_factors(),):
            raise ValueError("the map's outputs do not match the factors")
    except ModelFileError:
        raise
    except Exception as exc:  # KeyError, TypeError, ValueError, ...: one error for every bad file
        raise ModelFileError(f"{path} is inconsistent: {type(exc).__name__}: {exc}") from None
    if with_extra:
        return model, meta.get("extra"), _unprefixed("extra", arrays)
    return model
