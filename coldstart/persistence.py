"""Pickle-free model files: one ``.npz`` archive of numeric arrays plus JSON metadata.

The archive holds ``__meta__`` (UTF-8 JSON as uint8: format name, format version, class,
parameters, component states, and a SHA-256 of every array) and the arrays themselves.
It is written to a temporary file in the target folder and moved into place with
``os.replace``, so a crash never leaves a half-written model at ``path``. Loading uses
``allow_pickle=False``, checks the format, the version and every checksum, and so refuses
truncated, foreign, tampered or pickle-carrying files before building anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "coldstart-model"
FORMAT_VERSION = 1

#: Parameters that hold objects and are saved through their state, not as JSON.
_OBJECT_PARAMS = ("collaborative", "mapper", "weighting", "featurizer")


class ModelFileError(ValueError):
    """The file is not a valid coldstart model (truncated, foreign, tampered or too new)."""


def _digest(arr: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(str(arr.dtype.str).encode())
    h.update(str(arr.shape).encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def write_archive(path: str | os.PathLike, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Atomically write ``arrays`` and ``meta`` to exactly ``path``."""
    path = Path(path)
    for name, arr in arrays.items():
        if not isinstance(arr, np.ndarray) or arr.dtype == object:
            raise TypeError(f"array {name!r} must be a non-object numpy array to be saved without pickle")
    meta = dict(meta, format=FORMAT, format_version=FORMAT_VERSION,
                checksums={k: _digest(v) for k, v in arrays.items()})
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"path {str(path)!r}: folder {str(folder)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, __meta__=blob, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_archive(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and verify an archive written by :func:`write_archive`. Never unpickles."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {str(path)!r}")
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise ModelFileError(f"{path}: member {bad!r} is corrupted (CRC mismatch); the file "
                                     "was damaged or tampered with")
        with np.load(path, allow_pickle=False) as npz:
            if "__meta__" not in npz.files:
                raise ModelFileError(f"{path} is a .npz archive but not a coldstart model (no metadata)")
            meta = json.loads(npz["__meta__"].tobytes().decode("utf-8"))
            arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise ModelFileError(f"{path} is not a readable coldstart model file (truncated or not a "
                             f"model archive): {exc}") from None
    except ValueError as exc:  # numpy refuses object (pickled) arrays here
        raise ModelFileError(f"{path} was refused: {exc}. Model files never carry pickled objects; "
                             "this one does, so it was not loaded") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path} has unreadable metadata: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a coldstart model file (format {meta.get('format')!r} "
                             f"if any; expected {FORMAT!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(f"{path} has format version {version!r}; this coldstart reads versions "
                             f"up to {FORMAT_VERSION}. Upgrade coldstart to load it")
    sums = meta.get("checksums", {})
    if set(sums) != set(arrays):
        raise ModelFileError(f"{path}: the arrays {sorted(set(arrays) ^ set(sums))} do not match the "
                             "metadata; the file was tampered with")
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


def save_model(model, path: str | os.PathLike, extra_meta: dict | None = None,
               extra_arrays: dict[str, np.ndarray] | None = None) -> None:
    """Save a fitted :class:`~coldstart.model.ColdStartRecommender` to ``path``.

    ``extra_meta``/``extra_arrays`` let a wrapper (the DataFrame layer) store its own state
    in the same file, under ``extra/``.
    """
    from sklearn.utils.validation import check_is_fitted

    from .mapping import RidgeMap
    from .weighting import AttributeWeighting

    check_is_fitted(model)
    if not isinstance(model.mapper_, RidgeMap):
        raise TypeError(f"save supports the default RidgeMap mapper only; this model's mapper is "
                        f"{type(model.mapper_).__name__}, which cannot be saved without pickle")
    if model.weighting_ is not None and not isinstance(model.weighting_, AttributeWeighting):
        raise TypeError(f"save supports AttributeWeighting only; received {type(model.weighting_).__name__}")
    state = model._get_state()
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
    featurizer = getattr(model, "featurizer_", None)
    if featurizer is not None:
        fmeta, farrays = featurizer.to_dict()
        meta["featurizer"] = fmeta
        arrays.update(_prefixed("featurizer", farrays))
    if extra_meta is not None:
        meta["extra"] = extra_meta
    arrays.update(_prefixed("extra", extra_arrays or {}))
    write_archive(path, meta, arrays)


def load_model(path: str | os.PathLike, cls=None, with_extra: bool = False):
    """Load a model written by :func:`save_model` (and, with ``with_extra``, its extra state)."""
    from .mapping import RidgeMap
    from .model import ColdStartRecommender
    from .weighting import AttributeWeighting

    cls = cls or ColdStartRecommender
    meta, arrays = read_archive(path)
    if meta.get("class") != cls.__name__:
        raise ModelFileError(f"{path} holds a {meta.get('class')!r}; expected {cls.__name__!r}")
    try:
        model = cls(**meta["params"])
        model.mapper_ = RidgeMap.from_state(meta["mapper"]["params"], _unprefixed("mapper", arrays))
        model.weighting_ = (None if meta["weighting"] is None else
                            AttributeWeighting.from_state(meta["weighting"]["params"],
                                                          _unprefixed("weighting", arrays)))
        if "featurizer" in meta:
            from .featurizer import ItemFeaturizer

            model.featurizer_ = ItemFeaturizer.from_dict(meta["featurizer"], _unprefixed("featurizer", arrays))
            model.featurizer = ItemFeaturizer(**model.featurizer_.get_params())  # so clone(model).fit works
        model._set_state(meta["state"], meta["collaborative"],
                         {k: v for k, v in arrays.items() if "/" not in k})
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path} is inconsistent: {exc!r}") from None
    if with_extra:
        return model, meta.get("extra"), _unprefixed("extra", arrays)
    return model
