"""Delimited text files: streamed sanity checks, parsing with polars, and exact error places.

Every cell is read as a string (ids stay exactly as written). Before parsing, the input is
streamed once in chunks (see :class:`~unrated.data._spool.Input`) to refuse binary data,
absurdly long lines and data that would not fit in memory, without ever holding such data;
errors found later are traced back to their physical line, counting quoted newlines, by
re-reading the (local, uncompressed) file with the csv module (error path only).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path, PurePath
from typing import IO

import numpy as np
import polars as pl

from unrated._memory import format_bytes
from unrated.data._spool import Input
from unrated.errors import DataError

#: Lines longer than this are refused: no real interaction row is a mebibyte long.
MAX_LINE_BYTES = 1 << 20
#: Memory that parsing and coding text takes, per byte and per line (measured on short and
#: long rows with polars 2.1: 4 × bytes + 200 × lines bounds the peak from above).
BYTES_PER_BYTE, BYTES_PER_LINE = 4, 200
_DELIMITERS = (",", "\t", ";", "|")
_DUPLICATED = re.compile(r"^(.*)_duplicated_\d+$")


def read_text_table(source: Input, delimiter: str | None) -> tuple[pl.DataFrame, np.ndarray, str]:
    """Parse a CSV/TSV input (compressed, or a pipe, too) into string columns.

    Returns the frame without blank lines, the 0-based record number of each row (for error
    messages), and the delimiter used.
    """
    path = source.path
    _scan(source)
    head = source.head[:65536].decode("utf-8", errors="replace").lstrip("\ufeff")
    if not head.strip():
        raise DataError("the file is empty", path=str(path))
    if delimiter is None:
        delimiter = guess_delimiter(path, head)
    try:
        frame = pl.read_csv(
            source.local,
            glob=False,  # a file named "data[1].csv" is that file, not a pattern
            separator=delimiter,
            infer_schema=False,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.ComputeError as error:
        raise _locate_parse_error(source, delimiter, error) from None
    except Exception as error:
        raise DataError(
            f"cannot be read as delimited text ({str(error).splitlines()[0]})", path=str(path)
        ) from None
    _check_header(frame, path)
    frame.columns = [c.strip().lstrip("\ufeff") for c in frame.columns]
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
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def _scan(source: Input) -> None:
    """Stream the input once: refuse NUL bytes, long lines, non-UTF-8 text, too much data.

    Data that would not fit in memory (see ``BYTES_PER_BYTE``) is refused before polars
    parses any of it.
    """
    path = source.path
    line, run = 1, 0  # current line number; bytes since the last newline
    tail = b""
    for chunk in source.chunks():
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
        needed = BYTES_PER_BYTE * source.size + BYTES_PER_LINE * line
        source.check_memory(needed, f"{format_bytes(source.size)} in {line:,} lines")
    _check_utf8(tail, path, line, final=True)


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


def _check_header(frame: pl.DataFrame, path: Path) -> None:
    """Refuse a header that names a column twice (also after trimming spaces and a BOM)."""
    seen: set[str] = set()
    for column in frame.columns:
        match = _DUPLICATED.match(column)
        name = match.group(1) if match and match.group(1) in frame.columns else column
        name = name.strip().lstrip("\ufeff")
        if name in seen:
            raise DataError(f"the header names column {name!r} twice", path=str(path), line=1)
        seen.add(name)


def _locate_parse_error(source: Input, delimiter: str, error: Exception) -> DataError:
    """Find the first record whose field count differs from the header's (error path only)."""
    path = source.path
    with _open_text(source.local) as handle:
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
