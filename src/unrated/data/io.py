"""read_interactions: CSV/TSV/Parquet files, pandas/polars frames, scipy matrices -> Interactions.

Columns are found by name (see ``unrated.data._columns``) or named by the caller. Ids read
from text files stay strings exactly as written; integer ids of frames and Parquet files stay
integers (as text beyond int64). Files are read once, so pipes work; compressed (gzip, bzip2,
xz) and piped input is decompressed into a temporary file, and data that would not fit in
memory is refused before it is parsed. Duplicate (user, item) rows are merged, their
weights summed. Every error names the file, the line and the column, and shows the value.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from unrated._memory import format_bytes
from unrated.data._columns import ITEM_COLUMNS, NAME_COLUMNS, find_columns, require_column
from unrated.data._spool import Input
from unrated.data._text import BYTES_PER_LINE, line_of_record, read_text_table
from unrated.data.ids import IdIndex
from unrated.data.interactions import Interactions, SourceColumns, build_interactions
from unrated.errors import DataError, DataWarning, MemoryLimitError, quoted

__all__ = ["find_columns", "read_interactions", "read_item_names"]


def read_interactions(
    source: Any,
    *,
    user_col: str | None = None,
    item_col: str | None = None,
    time_col: str | None = None,
    weight_col: str | None = None,
    delimiter: str | None = None,
) -> Interactions:
    """Read implicit feedback into :class:`Interactions`.

    Args:
        source: a path to a CSV/TSV (optionally ``.gz``) or Parquet file, a polars or pandas
            DataFrame, a scipy sparse users × items matrix (ids are then row/column numbers),
            or Interactions (returned as is).
        user_col: the user id column; found by name when left out.
        item_col: the item id column; found by name when left out.
        time_col: optional timestamp column (numbers or ISO dates); found by name when left
            out; ``""`` ignores a column that would be found.
        weight_col: optional weight column (counts, quantities, ratings); found by name when
            left out; ``""`` ignores a column that would be found.
        delimiter: the field separator of a text file; guessed from the header when left out.

    Raises:
        DataError: the file is missing or malformed; the message names file, line, column
            and value.
    """
    if isinstance(source, Interactions):
        return source
    if sp.issparse(source):
        return _from_matrix(source)
    roles = (user_col, item_col, time_col, weight_col)
    if isinstance(source, str | Path):
        with _opened(Path(source), delimiter) as (frame, places):
            return _from_frame(frame, places, *roles)
    if isinstance(source, pl.DataFrame):
        return _from_frame(source, _Places(None), *roles)
    if type(source).__module__.startswith("pandas"):
        try:
            frame = pl.from_pandas(source)
        except Exception as error:
            raise DataError(
                f"the pandas DataFrame cannot be read ({str(error).splitlines()[0]})"
            ) from None
        return _from_frame(frame, _Places(None), *roles)
    raise DataError(
        "expected a file path, a polars/pandas DataFrame or a scipy sparse matrix, "
        f"got {type(source).__name__}"
    )


def _from_matrix(matrix: Any) -> Interactions:
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    if csr.nnz and (not np.isfinite(csr.data).all() or (csr.data < 0).any()):
        raise DataError("the matrix holds negative or non-finite weights")
    coo = csr.tocoo()
    users = IdIndex(np.arange(csr.shape[0]))
    items = IdIndex(np.arange(csr.shape[1]))
    return build_interactions(coo.row, coo.col, coo.data, users, items)


@contextmanager
def _opened(path: Path, delimiter: str | None) -> Iterator[tuple[pl.DataFrame, _Places]]:
    """The file as a frame, and where its rows came from (valid inside the ``with`` block)."""
    if not path.exists():
        raise DataError("file not found", path=str(path))
    if path.is_dir():
        raise DataError("is a directory, expected a file", path=str(path))
    with Input(path) as source:
        stem = path.name.lower().removesuffix(".gz").removesuffix(".bz2").removesuffix(".xz")
        if stem.endswith((".parquet", ".pq")) or source.head.startswith(b"PAR1"):
            yield _read_parquet(source), _Places(str(path))
        else:
            frame, records, used = read_text_table(source, delimiter)
            yield frame, _Places(str(path), source.local, records, used)


def _read_parquet(source: Input) -> pl.DataFrame:
    for _ in source.chunks():  # copies a pipe or a compressed file aside
        source.check_memory(source.size, f"{format_bytes(source.size)} of Parquet")
    try:
        rows, size = _parquet_size(source.local)
        source.check_memory(
            2 * size + BYTES_PER_LINE * rows, f"{rows:,} rows, {format_bytes(size)} uncompressed,"
        )
        return pl.read_parquet(source.local)
    except MemoryLimitError:
        raise
    except Exception as error:
        raise DataError(
            f"not a readable Parquet file ({str(error).splitlines()[0]})", path=str(source.path)
        ) from None


def _parquet_size(path: Path) -> tuple[int, int]:
    """Rows and uncompressed bytes, from a Parquet file's footer."""
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return meta.num_rows, size


@dataclass(frozen=True)
class _Places:
    """Where a frame's rows came from, to name the line of a bad cell."""

    path: str | None  # as the user named it
    local: Path | None = None  # the uncompressed text file to count lines in (text files)
    records: np.ndarray | None = None  # 0-based data record of each row (text files)
    delimiter: str | None = None

    def line(self, row: int) -> int | None:
        if self.path is None:
            return None
        if self.delimiter is None or self.local is None:  # Parquet: row number, from 1
            return row + 1
        record = int(self.records[row]) if self.records is not None else row
        return line_of_record(self.local, self.delimiter, record)


def _from_frame(
    frame: pl.DataFrame,
    places: _Places,
    user_col: str | None,
    item_col: str | None,
    time_col: str | None,
    weight_col: str | None,
) -> Interactions:
    path = places.path
    user, item, time, weight = find_columns(
        frame.columns,
        user_col=user_col,
        item_col=item_col,
        time_col=time_col,
        weight_col=weight_col,
        path=path,
    )
    used = (user, item, time, weight)
    ignored = tuple(c for c in frame.columns if c not in used)
    if frame.height == 0:
        raise DataError("no interactions: the data has a header but no rows", path=path)
    user_ids, user_codes = _code_ids(frame[user], places)
    item_ids, item_codes = _code_ids(frame[item], places)
    weights = np.ones(frame.height, dtype=np.float64)
    if weight is not None:
        weights = _numbers(frame[weight], places, what="weight")
        bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
        if len(bad):
            raise _cell_error(
                places, bad[0], weight, frame[weight][int(bad[0])], "expected a finite weight ≥ 0"
            )
    times = _times(frame[time], places) if time is not None else None
    keep = weights > 0
    if not keep.all():
        warnings.warn(
            f"{int((~keep).sum())} rows with weight 0 were dropped (a zero is no interaction)",
            DataWarning,
            stacklevel=3,
        )
        if not keep.any():
            raise DataError("no interactions: every weight is 0", path=path)
        user_codes, item_codes, weights = user_codes[keep], item_codes[keep], weights[keep]
        times = times[keep] if times is not None else None
    data = build_interactions(
        user_codes, item_codes, weights, IdIndex(user_ids), IdIndex(item_ids), times
    )
    return replace(data, columns=SourceColumns(user, item, time, weight, ignored))


def _cell_error(places: _Places, row: int, column: str, value: Any, rule: str) -> DataError:
    if isinstance(value, pl.Series):  # a cell of a list column
        value = value.to_list()
    return DataError(
        rule if value is None else f"{rule}, got {quoted(value)}",
        path=places.path,
        line=places.line(int(row)),
        column=column,
        value=value,
    )


def _first(mask: pl.Series) -> int:
    """The first row where ``mask`` is true (nulls count as false)."""
    return int(mask.fill_null(False).arg_max() or 0)


def _refuse_type(column: pl.Series, places: _Places, rule: str) -> DataError:
    """An error naming the column's type and its first value."""
    row = _first(column.is_not_null())
    return _cell_error(places, row, column.name, column[row], f"{rule}, not {column.dtype}")


def _as_text(column: pl.Series, places: _Places, rule: str) -> pl.Series:
    """A text-like column (String, Categorical, Enum, UTF-8 Binary, all-null) as String."""
    dtype = column.dtype
    if dtype in (pl.String, pl.Null) or isinstance(dtype, pl.Categorical | pl.Enum):
        return column.cast(pl.String)
    if dtype != pl.Binary:
        raise _refuse_type(column, places, rule)
    try:
        return column.cast(pl.String)
    except pl.exceptions.PolarsError:  # invalid UTF-8 somewhere: find it (error path)
        for row, value in enumerate(column.to_list()):
            try:
                value is None or value.decode("utf-8")
            except UnicodeDecodeError:
                raise _cell_error(
                    places, row, column.name, value, "expected UTF-8 text, got other bytes"
                ) from None
        raise _refuse_type(column, places, rule) from None


def _exact_ids(column: pl.Series, places: _Places) -> pl.Series:
    """Ids as Int64, or as String when text or beyond int64 (exact either way); else refused.

    Integers of any width, whole floats up to 2⁵³ and whole decimals are integer ids;
    integers beyond int64 keep their decimal text, so they come back as written.
    """
    rule = "ids must be strings or integers"
    dtype = column.dtype
    if dtype.is_float():
        for bad, why in (
            (~(column.is_finite() & (column == column.round(0))), "not fractional numbers"),
            (column.abs() > 2**53, "not floats beyond 2⁵³ (which lose digits)"),
        ):
            if (bad := bad.fill_null(False)).any():
                row = _first(bad)
                raise _cell_error(places, row, column.name, column[row], f"{rule}, {why}")
        return column.cast(pl.Int64)
    if dtype.is_decimal():
        text = column.cast(pl.String)
        if (bad := text.str.contains(r"\.[0-9]*[1-9]").fill_null(False)).any():
            row = _first(bad)
            raise _cell_error(places, row, column.name, column[row], f"{rule}, not fractional")
        column = text.str.replace(r"\.0*$", "")
    elif not dtype.is_integer():
        return _as_text(column, places, rule)
    whole = column.cast(pl.Int64, strict=False)
    return whole if whole.null_count() == column.null_count() else column.cast(pl.String)


def _code_ids(column: pl.Series, places: _Places) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ids and each row's code into them."""
    column = _exact_ids(column, places)
    empty = column.is_null()
    if column.dtype == pl.String:
        empty = empty | (column.str.strip_chars() == "")
    if empty.any():
        record = _first(empty)
        raise _cell_error(
            places, record, column.name, column[record], "expected an id, the cell is empty"
        )
    ids = column.unique().sort()
    codes = (column.rank("dense") - 1).to_numpy().astype(np.int64)
    return ids.to_numpy(), codes


def _numbers(column: pl.Series, places: _Places, *, what: str) -> np.ndarray:
    if column.dtype.is_numeric():
        values = column.cast(pl.Float64)
    else:
        text = _as_text(column, places, f"expected numbers ({what})")
        values = text.str.strip_chars().cast(pl.Float64, strict=False)
    bad = values.is_null()
    if bad.any():
        record = _first(bad)
        raise _cell_error(
            places, record, column.name, column[record], f"expected a number ({what})"
        )
    return values.to_numpy()


def _times(column: pl.Series, places: _Places) -> np.ndarray:
    if column.dtype in (pl.Date, pl.Datetime) or isinstance(column.dtype, pl.Datetime):
        return column.cast(pl.Datetime("ms")).cast(pl.Int64).cast(pl.Float64).to_numpy() / 1e3
    if column.dtype.is_numeric():
        return _numbers(column, places, what="time")
    text = _as_text(column, places, "expected numbers or dates/times").str.strip_chars()
    as_number = text.cast(pl.Float64, strict=False)
    if as_number.null_count() == 0:
        return as_number.to_numpy()
    parsed = text.str.to_datetime(strict=False, time_unit="ms")
    bad = parsed.is_null()
    if bad.any():
        record = _first(bad)
        raise _cell_error(
            places, record, column.name, column[record], "expected a number or an ISO date/time"
        )
    return parsed.cast(pl.Int64).cast(pl.Float64).to_numpy() / 1e3


def read_item_names(
    source: str | Path, *, item_col: str | None = None, name_col: str | None = None
) -> dict[str, str]:
    """Display names by item id from a CSV/TSV/Parquet file (e.g. ``item_id,title,...``)."""
    path = str(source)
    with _opened(Path(source), None) as (frame, places):
        item = require_column(frame.columns, item_col, ITEM_COLUMNS, "item", path)
        name = require_column(
            frame.columns, name_col, NAME_COLUMNS, "name", path, taken=frozenset({item})
        )
        ids = _exact_ids(frame[item], places).cast(pl.String).to_list()
        column = frame[name]
        if not column.dtype.is_numeric():
            column = _as_text(column, places, "names must be text")
        names = column.cast(pl.String).fill_null("").to_list()
    return dict(zip(ids, names, strict=True))
