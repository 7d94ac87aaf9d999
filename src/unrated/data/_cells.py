"""Cells of a frame as ids, numbers and times, or an error naming the file, line and value.

Ids come back exactly as stored: text stays text, integers of any width stay integers (as
their decimal text beyond int64); other column types are refused with their first value. One
exception: a text column whose every id is a whole number written as a float (``17850.0``,
as pandas writes integer ids with a missing value) drops the ``.0`` (``17850``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from unrated.data._text import line_of_record
from unrated.errors import DataError, quoted


@dataclass(frozen=True)
class Places:
    """Where a frame's rows came from, to name the line of a bad cell."""

    path: str | None  # as the user named it
    local: Path | None = None  # the uncompressed text file to count lines in (text files)
    records: np.ndarray | None = None  # 0-based data record of each row (text files)
    delimiter: str | None = None

    def line(self, row: int) -> int | None:
        if self.path is None:
            return None
        record = int(self.records[row]) if self.records is not None else row
        if self.delimiter is None or self.local is None:  # Parquet: row number, from 1
            return record + 1
        return line_of_record(self.local, self.delimiter, record)


def cell_error(
    places: Places, row: int, column: str, value: Any, rule: str, *, hint: str | None = None
) -> DataError:
    if isinstance(value, pl.Series):  # a cell of a list column
        value = value.to_list()
    message = rule if value is None else f"{rule}, got {quoted(value)}"
    return DataError(
        message + (f"; {hint}" if hint else ""),
        path=places.path,
        line=places.line(int(row)),
        column=column,
        value=value,
    )


def first(mask: pl.Series) -> int:
    """The first row where ``mask`` is true (nulls count as false)."""
    return int(mask.fill_null(False).arg_max() or 0)


def refuse_type(column: pl.Series, places: Places, rule: str) -> DataError:
    """An error naming the column's type and its first value."""
    row = first(column.is_not_null())
    return cell_error(places, row, column.name, column[row], f"{rule}, not {column.dtype}")


def as_text(column: pl.Series, places: Places, rule: str) -> pl.Series:
    """A text-like column (String, Categorical, Enum, UTF-8 Binary, all-null) as String."""
    dtype = column.dtype
    if dtype in (pl.String, pl.Null) or isinstance(dtype, pl.Categorical | pl.Enum):
        return column.cast(pl.String)
    if dtype != pl.Binary:
        raise refuse_type(column, places, rule)
    try:
        return column.cast(pl.String)
    except pl.exceptions.PolarsError:  # invalid UTF-8 somewhere: find it (error path)
        for row, value in enumerate(column.to_list()):
            try:
                value is None or value.decode("utf-8")
            except UnicodeDecodeError:
                raise cell_error(places, row, column.name, value, "expected UTF-8 text") from None
        raise refuse_type(column, places, rule) from None


def exact_ids(column: pl.Series, places: Places) -> pl.Series:
    """Ids as Int64, or as String when text or beyond int64 (exact either way); else refused.

    Integers of any width, whole floats up to 2⁵³ and whole decimals are integer ids;
    integers beyond int64 keep their decimal text, so they come back as written.
    """
    rule = "ids must be strings or integers"
    dtype = column.dtype
    if dtype.is_float():
        for bad, why in (
            (
                ~(column.is_finite() & (column == column.round(0))),
                "not fractional or infinite numbers",
            ),
            (column.abs() > 2**53, "not floats beyond 2⁵³ (which lose digits)"),
        ):
            if (bad := bad.fill_null(False)).any():
                row = first(bad)
                raise cell_error(places, row, column.name, column[row], f"{rule}, {why}")
        return column.cast(pl.Int64)
    if dtype.is_decimal():
        text = column.cast(pl.String)
        if (bad := text.str.contains(r"\.[0-9]*[1-9]").fill_null(False)).any():
            row = first(bad)
            raise cell_error(
                places, row, column.name, column[row], f"{rule}, not fractional numbers"
            )
        column = text.str.replace(r"\.0*$", "")
    elif not dtype.is_integer():
        return _whole_number_text(as_text(column, places, rule))
    whole = column.cast(pl.Int64, strict=False)
    return whole if whole.null_count() == column.null_count() else column.cast(pl.String)


#: Text of a whole number written as a float: ``17850.0``.
_FLOAT_TEXT = r"^\s*-?[0-9]+\.0+\s*$"


def _whole_number_text(text: pl.Series) -> pl.Series:
    """``17850.0`` -> ``17850`` when every id of the column is written so, else ``text``.

    A tool that stores integer ids in a float column (pandas does when one is missing)
    writes them so; the ids are the integers, in every export of the same data.
    """
    written = text.drop_nulls().str.strip_chars()
    written = written.filter(written != "")
    if not len(written) or not written.head(1).str.contains(_FLOAT_TEXT).all():
        return text
    if not written.str.contains(_FLOAT_TEXT).all():
        return text
    return text.str.strip_chars().str.replace(r"\.0+$", "")


def code_ids(
    column: pl.Series, places: Places, *, hint: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ids and each row's code into them; ``hint`` ends the empty-cell error."""
    column = exact_ids(column, places)
    empty = column.is_null()
    if column.dtype == pl.String:
        empty = empty | (column.str.strip_chars() == "")
    if empty.any():
        record = first(empty)
        raise cell_error(
            places,
            record,
            column.name,
            column[record],
            "expected an id, the cell is empty",
            hint=hint,
        )
    ids = column.unique().sort()
    codes = (column.rank("dense") - 1).to_numpy().astype(np.int64)
    return ids.to_numpy(), codes


def numbers(column: pl.Series, places: Places, *, what: str) -> np.ndarray:
    if column.dtype.is_numeric():
        values = column.cast(pl.Float64)
    else:
        text = as_text(column, places, f"expected numbers ({what})")
        values = text.str.strip_chars().cast(pl.Float64, strict=False)
    bad = values.is_null()
    if bad.any():
        record = first(bad)
        raise cell_error(places, record, column.name, column[record], f"expected a number ({what})")
    return values.to_numpy()


def parse_times(column: pl.Series, places: Places) -> np.ndarray:
    if column.dtype in (pl.Date, pl.Datetime) or isinstance(column.dtype, pl.Datetime):
        return column.cast(pl.Datetime("ms")).cast(pl.Int64).cast(pl.Float64).to_numpy() / 1e3
    if column.dtype.is_numeric():
        return numbers(column, places, what="time")
    text = as_text(column, places, "expected numbers or dates/times").str.strip_chars()
    as_number = text.cast(pl.Float64, strict=False)
    if as_number.null_count() == 0:
        return as_number.to_numpy()
    bad = as_number.is_null()  # some value is no number: a date, or bad
    try:
        parsed = text.str.to_datetime(strict=False, time_unit="ms")
        bad = parsed.is_null()
    except pl.exceptions.ComputeError:  # no date format fits: the first non-number is bad
        pass
    if bad.any():  # always, when no date format fits
        record = first(bad)
        raise cell_error(
            places, record, column.name, column[record], "expected a number or an ISO date/time"
        )
    return parsed.cast(pl.Int64).cast(pl.Float64).to_numpy() / 1e3
