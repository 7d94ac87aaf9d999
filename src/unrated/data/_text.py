"""Delimited text files: streamed sanity checks, parsing with polars, and exact error places.

Every cell is read as a string (ids stay exactly as written). Before parsing, the file is
streamed once in chunks to refuse binary data and absurdly long lines without ever holding
such a line in memory; errors found later are traced back to their physical line, counting
quoted newlines, by re-reading the file with the csv module (error path only).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import IO, Any

import numpy as np
import polars as pl

from unrated.errors import DataError

#: Lines longer than this are refused: no real interaction row is a mebibyte long.
MAX_LINE_BYTES = 1 << 20
_CHUNK = 1 << 23
_DELIMITERS = (",", "\t", ";", "|")
_DUPLICATED = re.compile(r"^(.*)_duplicated_\d+$")


def read_text_table(path: Path, delimiter: str | None) -> tuple[pl.DataFrame, np.ndarray, str]:
    """Parse a CSV/TSV file (``.gz`` too) into string columns.

    Returns the frame without blank lines, the 0-based record number of each row (for error
    messages), and the delimiter used.
    """
    gzipped = path.name.lower().endswith(".gz")
    raw = _scan(path, gzipped=gzipped)
    head = _head_text(path, gzipped)
    if not head.strip():
        raise DataError("the file is empty", path=str(path))
    if delimiter is None:
        delimiter = guess_delimiter(path, head)
    try:
        frame = pl.read_csv(
            io.BytesIO(raw) if raw is not None else path,
            separator=delimiter,
            infer_schema=False,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.ComputeError as error:
        raise _locate_parse_error(path, delimiter, error) from None
    except Exception as error:
        raise DataError(f"cannot be read as delimited text ({error})", path=str(path)) from None
    frame.columns = [c.strip().lstrip("\ufeff") for c in frame.columns]
    _check_header(frame, path)
    # A trailing delimiter on every line makes an unnamed, empty last column: drop it.
    frame = frame.select([c for c in frame.columns if c or frame[c].null_count() < frame.height])
    blank = frame.select(pl.all_horizontal(pl.all().is_null())).to_series().to_numpy()
    records = np.flatnonzero(~blank)
    return (frame.filter(~pl.Series(blank)) if blank.any() else frame), records, delimiter


def guess_delimiter(path: PurePath, head: str) -> str:
    """Tab for .tsv/.tab files; otherwise the most frequent of , TAB ; | in the header line."""
    if any(s in (".tsv", ".tab") for s in (p.lower() for p in path.suffixes)):
        return "\t"
    header = head.splitlines()[0] if head.splitlines() else ""
    return max(_DELIMITERS, key=header.count)


def line_of_record(path: Path, delimiter: str, record: int) -> int:
    """The 1-based physical line where data record ``record`` (0-based) ends."""
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        for number, _ in enumerate(reader):
            if number == record:
                return int(reader.line_num)
    return record + 2


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(
            gzip.open(path, "rb"), encoding="utf-8-sig", errors="replace", newline=""
        )
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def _chunks(path: Path, *, gzipped: bool) -> Iterator[bytes]:
    opener: Any = gzip.open if gzipped else open
    try:
        with opener(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk
    except (OSError, EOFError) as error:
        raise DataError(f"cannot be read ({error})", path=str(path)) from None


def _scan(path: Path, *, gzipped: bool) -> bytes | None:
    """Stream the file once: refuse NUL bytes and over-long lines, and check UTF-8.

    Returns the decompressed bytes of a ``.gz`` file (polars needs them), else None.
    """
    kept: list[bytes] = []
    line, run = 1, 0  # current line number; bytes since the last newline
    tail = b""
    for chunk in _chunks(path, gzipped=gzipped):
        if gzipped:
            kept.append(chunk)
        data = np.frombuffer(chunk, dtype=np.uint8)
        if (nul := np.flatnonzero(data == 0)).size:
            at = line + int((data[: nul[0]] == 10).sum())
            raise DataError("binary data (a NUL byte): not a text file", path=str(path), line=at)
        newlines = np.flatnonzero(data == 10)
        lengths = np.diff(np.concatenate([[-1], newlines, [len(data)]])) - 1
        lengths[0] += run
        if (long := np.flatnonzero(lengths > MAX_LINE_BYTES)).size:
            raise DataError(
                f"line longer than {MAX_LINE_BYTES:,} bytes: not a table of "
                "interactions (wrong file or delimiter?)",
                path=str(path),
                line=line + int(long[0]),
            )
        _check_utf8(tail + chunk, path, line - tail.count(b"\n"), final=False)
        cut = chunk.rfind(b"\n")
        tail = chunk[cut + 1 :] if cut >= 0 else tail + chunk
        run = int(lengths[-1])
        line += len(newlines)
    _check_utf8(tail, path, line, final=True)
    return b"".join(kept) if gzipped else None


def _check_utf8(data: bytes, path: Path, first_line: int, *, final: bool) -> None:
    """Decode the complete lines of ``data`` (all of it when ``final``); name a bad line."""
    end = len(data) if final else data.rfind(b"\n") + 1
    try:
        data[:end].decode("utf-8")
    except UnicodeDecodeError as error:
        at = first_line + data[: error.start].count(b"\n")
        bad = data[error.start : error.start + 4]
        raise DataError(
            f"not UTF-8 text: bytes {bad!r}; save the file as UTF-8", path=str(path), line=at
        ) from None


def _head_text(path: Path, gzipped: bool) -> str:
    opener: Any = gzip.open if gzipped else open
    with opener(path, "rb") as handle:
        head: bytes = handle.read(65536)
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def _check_header(frame: pl.DataFrame, path: Path) -> None:
    for column in frame.columns:
        match = _DUPLICATED.match(column)
        if match and match.group(1) in frame.columns:
            raise DataError(
                f"the header names column {match.group(1)!r} twice", path=str(path), line=1
            )


def _locate_parse_error(path: Path, delimiter: str, error: Exception) -> DataError:
    """Find the first record whose field count differs from the header's (error path only)."""
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header: list[str] = next(reader, [])
        for record in reader:
            if record and len(record) != len(header):
                return DataError(
                    f"expected {len(header)} fields as in the header, found {len(record)}",
                    path=str(path),
                    line=reader.line_num,
                    value=delimiter.join(record)[:80],
                )
        quote = _unclosed_quote(handle)
    if quote is not None:
        return DataError("a quote opened here is never closed", path=str(path), line=quote)
    return DataError(f"cannot be parsed ({str(error).splitlines()[0]})", path=str(path))


def _unclosed_quote(handle: IO[str]) -> int | None:
    """The line of a quoted field that runs to the end of the file, if any."""
    handle.seek(0)
    opened_at = None
    for number, line in enumerate(handle, start=1):
        if line.count('"') % 2:
            opened_at = number if opened_at is None else None
    return opened_at
