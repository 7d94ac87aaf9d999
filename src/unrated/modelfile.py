"""save_model / load_model: the ``.unrated`` model file (safetensors; loading never runs code).

One safetensors file holds the learned arrays (``model.<name>``), the training matrix used to
exclude seen items (``seen.*``), the id vocabularies (``users.*``, ``items.*``; string ids as
UTF-8 bytes + offsets), optional item names, and string metadata: ``format`` ("unrated/1"),
``model`` (registry key), ``params`` (JSON), ``unrated_version``, ``trained_on`` (data
fingerprint), ``info`` (the model's ``info_``, a JSON object; only when not empty, so that
other files stay readable by unrated versions before it) and ``checksum``: BLAKE2b of the
whole file with the checksum's own digits zeroed, so any flipped or missing byte — in the
arrays, the header or its padding — is caught.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from io import BufferedReader
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save as save_safetensors

from unrated._atomic import atomic_path
from unrated._checks import csr_arrays, take_csr
from unrated._safetensors import (
    Header,
    open_regular,
    parse_json,
    read_arrays,
    read_header,
    shown_text,
)
from unrated._version import __version__
from unrated.data.ids import IdIndex, decode_strings, encode_strings
from unrated.errors import ModelFileError, UnratedError
from unrated.models.base import Recommender
from unrated.models.registry import MODELS

FORMAT = "unrated/1"
_FORMAT_VERSION = 1
_PLACEHOLDER = "0" * 32
_CHECKSUM_FIELD = re.compile(rb'"checksum":"([0-9a-f]{32})"')
#: Every metadata field: its pattern (anything else is refused) and whether it is required.
_FIELDS = {
    "format": (re.compile(r"unrated/[0-9]{1,6}"), True),
    "model": (re.compile(r".*", re.DOTALL), True),  # one of MODELS: checked by name
    "params": (re.compile(r".{0,65536}", re.DOTALL), False),
    "unrated_version": (re.compile(r"[0-9A-Za-z.+!_-]{0,64}"), False),
    "trained_on": (re.compile(r"[0-9a-f]{0,64}"), False),
    "info": (re.compile(r"\{.{0,65534}\}", re.DOTALL), False),
    "checksum": (re.compile(r"[0-9a-f]{32}"), True),
}
#: Longest string parameter (a choice such as "cosine") accepted from a file.
_MAX_PARAM_CHARS = 64
#: The checksum is computed over reads of this many bytes.
_CHUNK = 1 << 22


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
    model.check_fitted()
    arrays = {f"model.{name}": np.ascontiguousarray(a) for name, a in model._arrays().items()}
    arrays |= _index_arrays("users", model.users_) | _index_arrays("items", model.items_)
    arrays |= csr_arrays("seen", model.seen_)
    names: Any = item_names if item_names is not None else model.item_names_
    if isinstance(names, Mapping):
        names = [str(names.get(i, names.get(str(i), ""))) for i in model.items_.ids.tolist()]
    if names is not None:
        arrays |= {f"item_names.{k}": v for k, v in encode_strings(list(names)).items()}
    if model.item_attributes_ is not None:
        arrays |= _attribute_arrays(model.item_attributes_)
    metadata = {
        "format": FORMAT,
        "model": model.key,
        "params": json.dumps(model.get_params()),
        "unrated_version": __version__,
        "trained_on": str(getattr(model, "trained_on_", "")),
    }
    if model.info_:
        metadata["info"] = json.dumps(dict(model.info_), sort_keys=True, allow_nan=False)
    metadata["checksum"] = _PLACEHOLDER
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

    The class comes only from the built-in registry; the header, every metadata field,
    every array (presence, dtype, shape) and the checksum are checked, the header before
    anything else is read. Never unpickles or imports anything named in the file.

    Raises:
        ModelFileError: the file is missing, corrupt, truncated, of an unknown model, from
            a newer format, or too large for memory; the message names the file once, and
            the field or array at fault.
    """
    source = Path(path)
    try:
        return _load(source)
    except ModelFileError as error:
        raise ModelFileError(f"{source}: {error}") from None
    except UnratedError as error:
        raise ModelFileError(f"{source}: invalid model file ({error})") from None


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The string metadata of a model file, checked (reads only the header)."""
    source = Path(path)
    try:
        with open_regular(source) as handle:
            header = _read_header(handle)
        return header.metadata
    except ModelFileError as error:
        raise ModelFileError(f"{source}: {error}") from None


def _load(source: Path) -> Recommender:
    with open_regular(source) as handle:
        header = _read_header(handle)
        metadata = header.metadata
        _check_checksum(handle, header)
        arrays = read_arrays(handle, header)
    cls = MODELS[metadata["model"]]
    model = cls(**_read_params(metadata.get("params", "{}"), cls))
    try:
        model.check_params()
    except UnratedError as error:
        raise ModelFileError(f"metadata field 'params': {error}") from None
    users = _read_index(arrays, "users")
    items = _read_index(arrays, "items")
    names = _read_strings(arrays, "item_names") if "item_names.utf8" in arrays else None
    if names is not None and len(names) != len(items):
        raise ModelFileError("item_names does not match the items")
    attributes = _read_attributes(arrays, len(items))
    return model.restore(
        users=users,
        items=items,
        seen=take_csr(arrays, "seen", (len(users), len(items))),
        arrays={k.removeprefix("model."): v for k, v in arrays.items() if k.startswith("model.")},
        info=_read_info(metadata.get("info", "{}")),
        item_names=names,
        item_attributes=attributes,
        trained_on=metadata.get("trained_on", ""),
    )


def _read_header(handle: BufferedReader) -> Header:
    """The file's header, its metadata checked field by field (format first)."""
    header = read_header(handle)
    metadata = header.metadata
    file_format = metadata.get("format", "")
    if not file_format.startswith("unrated/"):
        raise ModelFileError("not an unrated model file (no 'format' metadata)")
    if _FIELDS["format"][0].fullmatch(file_format) is None:
        raise ModelFileError(f"metadata field 'format' is not valid: {shown_text(file_format)}")
    if int(file_format.removeprefix("unrated/")) > _FORMAT_VERSION:
        version = metadata.get("unrated_version", "?")
        raise ModelFileError(
            f"written in format {file_format!r} by unrated {shown_text(version)[1:-1]}; "
            f"this unrated reads {FORMAT}: upgrade unrated to load it"
        )
    for name in metadata:
        if name not in _FIELDS:
            raise ModelFileError(f"unknown metadata field {shown_text(name)}")
    for name, (pattern, required) in _FIELDS.items():
        if name not in metadata:
            if required:
                raise ModelFileError(f"the metadata field {name!r} is missing")
        elif pattern.fullmatch(metadata[name]) is None:
            raise ModelFileError(
                f"metadata field {name!r} is not valid: {shown_text(metadata[name])}"
            )
    if metadata["model"] not in MODELS:
        raise ModelFileError(
            f"unknown model {shown_text(metadata['model'])}; known models: {', '.join(MODELS)}"
        )
    return header


def _check_checksum(handle: BufferedReader, header: Header) -> None:
    """Stream the file through BLAKE2b, the checksum's digits read as zeros."""
    field = _CHECKSUM_FIELD.search(header.raw)
    if field is None or field.group(1).decode() != header.metadata["checksum"]:
        raise ModelFileError("the checksum field is malformed: the file is corrupt")
    digest = hashlib.blake2b(digest_size=16)
    digest.update(header.raw[: field.start(1)] + _PLACEHOLDER.encode() + header.raw[field.end(1) :])
    handle.seek(len(header.raw))
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    if digest.hexdigest() != header.metadata["checksum"]:
        raise ModelFileError("the checksum does not match: the file is corrupt")


def _read_params(text: str, cls: type[Recommender]) -> dict[str, Any]:
    """The 'params' field: a JSON object of ``cls``'s parameters, each a bounded scalar."""
    params = parse_json(text, "metadata field 'params'")
    if not isinstance(params, dict):
        raise ModelFileError("metadata field 'params' is not a JSON object")
    valid = cls.param_names()
    for name, value in params.items():
        if name not in valid:
            raise ModelFileError(
                f"metadata field 'params': model {cls.key!r} has no parameter "
                f"{shown_text(name)}; valid: {', '.join(valid) or '(none)'}"
            )
        bounded = (
            value is None
            or isinstance(value, bool | float)
            or (isinstance(value, int) and -(2**63) <= value < 2**63)
            or (isinstance(value, str) and len(value) <= _MAX_PARAM_CHARS)
        )
        if not bounded:
            raise ModelFileError(
                f"metadata field 'params': {name!r} must be a number, a short string, "
                f"true/false or null; got {shown_text(json.dumps(value)[:100])}"
            )
    return params


def _read_info(text: str) -> dict[str, Any]:
    """The 'info' field: a JSON object (facts about the training, shown, never run)."""
    info = parse_json(text, "metadata field 'info'")
    if not isinstance(info, dict):
        raise ModelFileError("metadata field 'info' is not a JSON object")
    return info


def _index_arrays(prefix: str, index: IdIndex) -> dict[str, np.ndarray]:
    return {f"{prefix}.{name}": array for name, array in index.to_arrays().items()}


def _part(arrays: Mapping[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {
        k.removeprefix(prefix + "."): v for k, v in arrays.items() if k.startswith(prefix + ".")
    }


def _attribute_arrays(attributes: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The attributes as arrays: their names, then each column's numbers or texts.

    ``item_attributes.columns`` (strings), and per column i ``item_attributes.i.numbers``
    (float64) or ``item_attributes.i.utf8/offsets`` (strings).
    """
    out = {f"item_attributes.columns.{k}": v for k, v in encode_strings(list(attributes)).items()}
    for i, values in enumerate(attributes.values()):
        if values.dtype == np.float64:
            out[f"item_attributes.{i}.numbers"] = np.ascontiguousarray(values)
        else:
            texts = encode_strings([str(v) for v in values.tolist()])
            out |= {f"item_attributes.{i}.{k}": v for k, v in texts.items()}
    return out


def _read_attributes(
    arrays: Mapping[str, np.ndarray], n_items: int
) -> dict[str, np.ndarray] | None:
    """What :func:`_attribute_arrays` wrote, each column checked against the items."""
    if "item_attributes.columns.utf8" not in arrays:
        return None
    attributes = {}
    for i, column in enumerate(_read_strings(arrays, "item_attributes.columns")):
        numbers = arrays.get(f"item_attributes.{i}.numbers")
        if numbers is not None:
            if numbers.dtype != np.float64 or numbers.shape != (n_items,):
                raise ModelFileError(f"item attribute {column!r} does not match the items")
            values = numbers
        else:
            values = np.array(_read_strings(arrays, f"item_attributes.{i}"), dtype=object)
        if len(values) != n_items:
            raise ModelFileError(f"item attribute {column!r} does not match the items")
        attributes[column] = values
    return attributes


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
