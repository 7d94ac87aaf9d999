"""Reading a safetensors file defensively: the header first, bounded and checked, then the arrays.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON
(``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``)
and the arrays' bytes, back to back. Nothing but the 8 + N header bytes is read until the
header has been checked against the file's size, so a file that claims absurd sizes costs
nothing; JSON is parsed with bounded integers, no NaN, no duplicate keys and no deep nesting.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path
from typing import Any

import numpy as np

from unrated._memory import available_memory, format_bytes
from unrated.errors import ModelFileError

#: The largest header read: thousands of times what save_model writes (a few KiB).
MAX_HEADER_BYTES = 1 << 20
#: Integers in JSON may have at most this many digits (int64 has 19).
MAX_DIGITS = 20
#: Longest text shown from a file in an error message.
SHOWN_CHARS = 40
DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
}
_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}


@dataclass(frozen=True)
class Tensor:
    """One array's place in the data section."""

    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class Header:
    """A checked header: its bytes (length prefix included), metadata, arrays; the data size."""

    raw: bytes
    metadata: dict[str, str]
    tensors: dict[str, Tensor]
    data_size: int


@contextmanager
def open_regular(source: Path) -> Iterator[BufferedReader]:
    """``source`` opened for reading, if it is a regular file (not a pipe, device or folder)."""
    try:
        if not source.exists():
            raise ModelFileError("file not found")
        if not stat.S_ISREG(source.stat().st_mode):
            raise ModelFileError("not a regular file")
        with source.open("rb") as handle:
            yield handle
    except OSError as error:
        raise ModelFileError(f"cannot read the file: {error.strerror or error}") from None


def read_header(handle: BufferedReader) -> Header:
    """Read and check the header at the start of ``handle``; the position ends after it."""
    size = os.fstat(handle.fileno()).st_size
    prefix = handle.read(8)
    length = int.from_bytes(prefix, "little")
    if len(prefix) < 8 or not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
        raise ModelFileError(
            "not an unrated model file (corrupt or truncated safetensors header: "
            f"{len(prefix)} length bytes declaring {length:,} header bytes in a file of "
            f"{size:,} bytes)"
        )
    raw = handle.read(length)
    if len(raw) != length:
        raise ModelFileError("not an unrated model file (truncated while reading the header)")
    header = parse_json(raw, "the header")
    if not isinstance(header, dict):
        raise ModelFileError("not an unrated model file (the header is not a JSON object)")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError("the metadata is malformed (it must map names to strings)")
    tensors = {name: _tensor(name, entry) for name, entry in header.items()}
    _check_layout(tensors, size - 8 - length)
    return Header(prefix + raw, metadata, tensors, size - 8 - length)


def read_arrays(handle: BufferedReader, header: Header) -> dict[str, np.ndarray]:
    """The arrays of a checked ``header``: one read of the data section, arrays are views of it."""
    available = available_memory()
    if header.data_size > available:
        raise ModelFileError(
            f"its arrays need {format_bytes(header.data_size)} of memory, but only "
            f"{format_bytes(available)} is available"
        )
    handle.seek(len(header.raw))
    data = bytearray(header.data_size)
    if handle.readinto(data) != header.data_size:
        raise ModelFileError("not an unrated model file (truncated while reading the arrays)")
    arrays = {}
    for name, tensor in header.tensors.items():
        count = math.prod(tensor.shape)
        array = np.frombuffer(data, tensor.dtype, count, tensor.begin).reshape(tensor.shape)
        if not array.flags.aligned or not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        arrays[name] = array
    return arrays


def parse_json(text: bytes | str, what: str) -> Any:
    """JSON from a file: UTF-8, integers of ≤ MAX_DIGITS digits, finite numbers, unique keys."""
    try:
        decoded = text.decode("utf-8") if isinstance(text, bytes) else text
        return json.loads(
            decoded,
            object_pairs_hook=_unique_keys,
            parse_int=_bounded_int,
            parse_float=_finite_float,
            parse_constant=_no_constant,
        )
    except RecursionError:
        raise ModelFileError(f"{what} is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError and the hooks' errors
        raise ModelFileError(f"{what} is not valid JSON ({error})") from None


def shown_text(value: str, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)``, cut to about ``limit`` characters with its length when longer."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"


def _tensor(name: str, entry: Any) -> Tensor:
    where = f"the array {shown_text(name)}"
    if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS:
        raise ModelFileError(f"{where}: expected the keys dtype, shape, data_offsets")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ModelFileError(f"{where}: unknown dtype {shown_text(str(dtype))}")
    if not isinstance(shape, list) or len(shape) > 8 or not all(_count(s) for s in shape):
        raise ModelFileError(f"{where}: the shape must be a list of up to 8 counts")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_count(o) for o in offsets):
        raise ModelFileError(f"{where}: data_offsets must be two counts")
    kind = np.dtype(DTYPES[dtype])
    begin, end = offsets
    if end - begin != math.prod(shape) * kind.itemsize:
        raise ModelFileError(
            f"{where}: its shape {tuple(shape)} of {dtype} does not fill bytes {begin:,}–{end:,}"
        )
    return Tensor(kind, tuple(shape), begin, end)


def _check_layout(tensors: dict[str, Tensor], data_size: int) -> None:
    """The arrays must fill the data section exactly, one after the other."""
    position = 0
    for tensor in sorted(tensors.values(), key=lambda t: (t.begin, t.end)):
        if tensor.begin != position:
            break
        position = tensor.end
    else:
        if position == data_size:
            return
    raise ModelFileError(
        "not an unrated model file (corrupt or truncated safetensors data: the header's "
        f"arrays do not fill the file's {data_size:,} data bytes one after the other)"
    )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {shown_text(key)}")
        result[key] = value
    return result


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"an integer of {len(text):,} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {shown_text(text)} is out of range")
    return value


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a number")
