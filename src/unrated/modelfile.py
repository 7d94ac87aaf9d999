"""save_model / load_model: the ``.unrated`` model file (safetensors; loading never runs code).

One safetensors file holds the learned arrays (``model.<name>``), the training matrix used to
exclude seen items (``seen.*``), the id vocabularies (``users.*``, ``items.*``; string ids as
UTF-8 bytes + offsets), optional item names, and string metadata: ``format`` ("unrated/1"),
``model`` (registry key), ``params`` (JSON), ``unrated_version``, ``trained_on`` (data
fingerprint) and ``checksum``: BLAKE2b of the whole file with the checksum's own digits
zeroed, so any flipped or missing byte — in the arrays, the header or its padding — is caught.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from unrated._atomic import atomic_path
from unrated._checks import csr_arrays, take_csr
from unrated.data.ids import IdIndex, decode_strings, encode_strings
from unrated.errors import ModelFileError, UnratedError
from unrated.models.base import Recommender
from unrated.models.registry import MODELS

FORMAT = "unrated/1"
_FORMAT_VERSION = 1
_PLACEHOLDER = "0" * 32
_CHECKSUM_FIELD = re.compile(rb'"checksum":"([0-9a-f]{32})"')


def save_model(
    model: Recommender,
    path: str | os.PathLike[str],
    *,
    item_names: Mapping[Any, str] | None = None,
) -> Path:
    """Write a fitted ``model`` to ``path`` atomically; returns the path.

    Args:
        model: a fitted model.
        path: the file to write (conventionally ``*.unrated``).
        item_names: optional display names by item id (e.g. product titles); items without
            one get an empty name. Loaded back as ``model.item_names_``.
    """
    from unrated import __version__

    model._check_fitted()
    arrays = {f"model.{name}": np.ascontiguousarray(a) for name, a in model._arrays().items()}
    arrays |= _index_arrays("users", model.users_) | _index_arrays("items", model.items_)
    arrays |= csr_arrays("seen", model.seen_)
    names = item_names if item_names is not None else getattr(model, "item_names_", None)
    if names is not None:
        if isinstance(names, Mapping):
            names = [str(names.get(i, names.get(str(i), ""))) for i in model.items_.ids.tolist()]
        arrays |= {f"item_names.{k}": v for k, v in encode_strings(list(names)).items()}
    metadata = {
        "format": FORMAT,
        "model": model.key,
        "params": json.dumps(model.get_params()),
        "unrated_version": __version__,
        "trained_on": str(getattr(model, "trained_on_", "")),
        "checksum": _PLACEHOLDER,
    }
    payload = seal(save_safetensors(arrays, metadata=metadata))
    target = Path(path)
    with atomic_path(target) as temporary:
        temporary.write_bytes(payload)
    return target


def seal(payload: bytes) -> bytes:
    """Write the whole-file checksum into the placeholder of a safetensors ``payload``."""
    field = _CHECKSUM_FIELD.search(payload[: 8 + int.from_bytes(payload[:8], "little")])
    if field is None or field.group(1) != _PLACEHOLDER.encode():
        raise ModelFileError("the payload has no checksum placeholder to fill")
    digest = hashlib.blake2b(payload, digest_size=16).hexdigest().encode()
    return payload[: field.start(1)] + digest + payload[field.end(1) :]


def load_model(path: str | os.PathLike[str]) -> Recommender:
    """Read a model written by :func:`save_model`.

    The class comes only from the built-in registry; every array is checked for presence,
    dtype, shape and checksum. Never unpickles or imports anything named in the file.

    Raises:
        ModelFileError: the file is missing, corrupt, truncated, of an unknown model, or from
            a newer format; the message names the file and the problem.
    """
    source = Path(path)
    try:
        return _load(source)
    except ModelFileError as error:
        raise ModelFileError(f"{source}: {error}") from None
    except UnratedError as error:
        raise ModelFileError(f"{source}: invalid model file ({error})") from None


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The string metadata of a model file (without loading the model)."""
    return _read(Path(path))[1]


def _read(source: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    arrays, metadata, _ = _read_checked(source)
    return arrays, metadata


def _read_checked(source: Path) -> tuple[dict[str, np.ndarray], dict[str, str], bool]:
    """Arrays, metadata, and whether the whole-file checksum matches."""
    if not source.exists():
        raise ModelFileError(f"{source}: file not found")
    try:
        raw = source.read_bytes()
        arrays = load_safetensors(raw)
        header_size = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8 : 8 + header_size])
    except Exception:
        raise ModelFileError(
            f"{source}: not an unrated model file (corrupt or truncated safetensors data)"
        ) from None
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"{source}: the metadata is malformed")
    field = _CHECKSUM_FIELD.search(raw[: 8 + header_size])
    intact = (
        field is not None
        and hashlib.blake2b(
            raw[: field.start(1)] + _PLACEHOLDER.encode() + raw[field.end(1) :], digest_size=16
        ).hexdigest()
        == field.group(1).decode()
    )
    return arrays, metadata, intact


def _load(source: Path) -> Recommender:
    arrays, metadata, intact = _read_checked(source)
    file_format = metadata.get("format", "")
    if not file_format.startswith("unrated/"):
        raise ModelFileError("not an unrated model file (no 'format' metadata)")
    version = file_format.removeprefix("unrated/")
    if not version.isdigit() or int(version) > _FORMAT_VERSION:
        raise ModelFileError(
            f"written in format {file_format!r} by unrated {metadata.get('unrated_version', '?')}; "
            f"this unrated reads {FORMAT}: upgrade unrated to load it"
        )
    if not intact:
        raise ModelFileError("the checksum does not match: the file is corrupt")
    key = metadata.get("model", "")
    if key not in MODELS:
        raise ModelFileError(f"unknown model {key!r}; known models: {', '.join(MODELS)}")
    try:
        params = json.loads(metadata.get("params", "{}"))
    except json.JSONDecodeError:
        raise ModelFileError("the 'params' metadata is not valid JSON") from None
    cls = MODELS[key]
    if not isinstance(params, dict) or not set(params) <= set(cls.param_names()):
        raise ModelFileError(f"the parameters {params!r} do not fit model {key!r}")
    model = cls(**params)
    model._check_params()
    users = _read_index(arrays, "users")
    items = _read_index(arrays, "items")
    model.users_, model.items_ = users, items
    model.seen_ = take_csr(arrays, "seen", (len(users), len(items)))
    model._set_arrays(
        {k.removeprefix("model."): v for k, v in arrays.items() if k.startswith("model.")}
    )
    if "item_names.utf8" in arrays:
        names = _read_strings(arrays, "item_names")
        if len(names) != len(items):
            raise ModelFileError("item_names does not match the items")
        model.item_names_ = np.array(names, dtype=object)  # type: ignore[attr-defined]
    model.trained_on_ = metadata.get("trained_on", "")
    return model


def _index_arrays(prefix: str, index: IdIndex) -> dict[str, np.ndarray]:
    return {f"{prefix}.{name}": array for name, array in index.to_arrays().items()}


def _part(arrays: Mapping[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {
        k.removeprefix(prefix + "."): v for k, v in arrays.items() if k.startswith(prefix + ".")
    }


def _read_strings(arrays: Mapping[str, np.ndarray], prefix: str) -> list[str]:
    part = _part(arrays, prefix)
    data, offsets = part.get("utf8"), part.get("offsets")
    if (
        data is None
        or offsets is None
        or data.dtype != np.uint8
        or offsets.dtype != np.int64
        or data.ndim != 1
        or offsets.ndim != 1
        or len(offsets) == 0
        or offsets[0] != 0
        or offsets[-1] != len(data)
        or (np.diff(offsets) < 0).any()
    ):
        raise ModelFileError(f"the {prefix} strings are missing or inconsistent")
    try:
        return decode_strings(part)
    except UnicodeDecodeError:
        raise ModelFileError(f"the {prefix} strings are not valid UTF-8") from None


def _read_index(arrays: Mapping[str, np.ndarray], prefix: str) -> IdIndex:
    part = _part(arrays, prefix)
    if "ids" in part:
        if part["ids"].dtype != np.int64 or part["ids"].ndim != 1:
            raise ModelFileError(f"the {prefix} ids are not a 1-d int64 array")
        index = IdIndex(part["ids"])
    else:
        index = IdIndex(np.array(_read_strings(arrays, prefix), dtype=object))
    try:
        index.positions([], kind="id")  # builds the lookup, which checks uniqueness
    except UnratedError:
        raise ModelFileError(f"the {prefix} ids are not unique") from None
    return index
