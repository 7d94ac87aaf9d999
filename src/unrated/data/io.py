"""read_interactions: CSV/TSV/Parquet files, pandas/polars frames, scipy matrices -> Interactions.

Columns are found by name (see ``USER_COLUMNS`` etc.) or named by the caller. Ids read from
text files stay strings exactly as written. Duplicate (user, item) rows are merged, their
weights summed. Every error names the file, the line and the column, and shows the value.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from unrated.data._text import line_of_record, read_text_table
from unrated.data.ids import IdIndex
from unrated.data.interactions import Interactions, build_interactions
from unrated.errors import DataError, DataWarning

USER_COLUMNS = (
    "user_id",
    "user",
    "userid",
    "customer_id",
    "customer",
    "customerid",
    "client_id",
    "visitor_id",
    "member_id",
    "buyer_id",
    "account_id",
    "uid",
)
ITEM_COLUMNS = (
    "item_id",
    "item",
    "itemid",
    "product_id",
    "product",
    "productid",
    "sku",
    "article_id",
    "movie_id",
    "movieid",
    "track_id",
    "artist_id",
    "song_id",
    "iid",
)
TIME_COLUMNS = (
    "timestamp",
    "time",
    "date",
    "datetime",
    "ts",
    "event_time",
    "created_at",
    "order_date",
    "purchase_date",
)
NAME_COLUMNS = ("name", "title", "product_name", "item_name", "label", "description")
WEIGHT_COLUMNS = ("weight", "count", "quantity", "qty", "rating", "plays", "value")


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
    places = _Places(None, None, None)
    if isinstance(source, str | Path):
        frame, places = _read_file(Path(source), delimiter)
    elif isinstance(source, pl.DataFrame):
        frame = source
    elif type(source).__module__.startswith("pandas"):
        frame = pl.from_pandas(source)
    else:
        raise DataError(
            "expected a file path, a polars/pandas DataFrame or a scipy sparse matrix, "
            f"got {type(source).__name__}"
        )
    return _from_frame(frame, places, user_col, item_col, time_col, weight_col)


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


def _read_file(path: Path, delimiter: str | None) -> tuple[pl.DataFrame, _Places]:
    if not path.exists():
        raise DataError("file not found", path=str(path))
    if path.is_dir():
        raise DataError("is a directory, expected a file", path=str(path))
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            frame = pl.read_parquet(path)
        except Exception as error:
            raise DataError(f"not a readable Parquet file ({error})", path=str(path)) from None
        return frame, _Places(str(path), None, None)
    frame, records, used = read_text_table(path, delimiter)
    return frame, _Places(str(path), records, used)


@dataclass(frozen=True)
class _Places:
    """Where a frame's rows came from, to name the line of a bad cell."""

    path: str | None
    records: np.ndarray | None  # 0-based data record of each row (text files)
    delimiter: str | None

    def line(self, row: int) -> int | None:
        if self.path is None:
            return None
        if self.delimiter is None:  # Parquet: row number, counting from 1
            return row + 1
        record = int(self.records[row]) if self.records is not None else row
        return line_of_record(Path(self.path), self.delimiter, record)


def _find_column(
    columns: list[str],
    given: str | None,
    candidates: tuple[str, ...],
    role: str,
    path: str | None,
    *,
    required: bool,
) -> str | None:
    if given == "":
        return None
    if given is not None:
        if given not in columns:
            raise DataError(
                f"no {role} column named {given!r}; columns found: {', '.join(columns)}",
                path=path,
            )
        return given
    by_lower = {c.lower(): c for c in columns}
    for name in candidates:
        if name in by_lower:
            return by_lower[name]
    if required:
        raise DataError(
            f"no {role} column found; columns found: {', '.join(columns) or '(none)'}; "
            f"name one with --{role}-col (recognised names: {', '.join(candidates[:6])}, ...)",
            path=path,
        )
    return None


def _require_column(
    columns: list[str],
    given: str | None,
    candidates: tuple[str, ...],
    role: str,
    path: str | None,
) -> str:
    found = _find_column(columns, given or None, candidates, role, path, required=True)
    if found is None:  # unreachable: required=True raises instead
        raise DataError(f"no {role} column", path=path)
    return found


def find_columns(
    columns: list[str],
    *,
    user_col: str | None = None,
    item_col: str | None = None,
    time_col: str | None = None,
    weight_col: str | None = None,
    path: str | None = None,
) -> tuple[str, str, str | None, str | None]:
    """The user, item, time and weight columns among ``columns`` (time, weight optional).

    Each is the named column if given (``""`` ignores an optional one), else the first
    column whose lower-cased name is a recognised one (``USER_COLUMNS`` etc.).
    """
    user = _require_column(columns, user_col, USER_COLUMNS, "user", path)
    item = _require_column(columns, item_col, ITEM_COLUMNS, "item", path)
    if user == item:
        raise DataError(f"the user and item columns are the same column {user!r}", path=path)
    time = _find_column(columns, time_col, TIME_COLUMNS, "time", path, required=False)
    weight = _find_column(columns, weight_col, WEIGHT_COLUMNS, "weight", path, required=False)
    return user, item, time, weight


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
    return build_interactions(
        user_codes, item_codes, weights, IdIndex(user_ids), IdIndex(item_ids), times
    )


def _cell_error(places: _Places, row: int, column: str, value: Any, rule: str) -> DataError:
    return DataError(
        rule if value is None else f"{rule}, got {value!r}",
        path=places.path,
        line=places.line(int(row)),
        column=column,
        value=value,
    )


def _code_ids(column: pl.Series, places: _Places) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ids and each row's code into them."""
    if column.dtype.is_float():
        whole = column.drop_nulls()
        if not (whole == whole.round(0)).all():
            raise DataError(
                "ids must be strings or integers, got fractional numbers",
                path=places.path,
                column=column.name,
            )
        column = column.cast(pl.Int64)
    elif column.dtype.is_nested():
        raise DataError(
            f"ids must be strings or integers, got {column.dtype}",
            path=places.path,
            column=column.name,
        )
    elif not (column.dtype.is_integer() or column.dtype == pl.String):
        column = column.cast(pl.String)
    empty = column.is_null()
    if column.dtype == pl.String:
        empty = empty | (column.str.strip_chars() == "")
    if empty.any():
        record = int(empty.arg_max() or 0)
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
        values = column.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    bad = values.is_null()
    if bad.any():
        record = int(bad.arg_max() or 0)
        raise _cell_error(
            places, record, column.name, column[record], f"expected a number ({what})"
        )
    return values.to_numpy()


def _times(column: pl.Series, places: _Places) -> np.ndarray:
    if column.dtype.is_temporal():
        return column.cast(pl.Datetime("ms")).cast(pl.Int64).cast(pl.Float64).to_numpy() / 1e3
    if column.dtype.is_numeric():
        return _numbers(column, places, what="time")
    text = column.cast(pl.String).str.strip_chars()
    as_number = text.cast(pl.Float64, strict=False)
    if as_number.null_count() == 0:
        return as_number.to_numpy()
    parsed = text.str.to_datetime(strict=False, time_unit="ms")
    bad = parsed.is_null()
    if bad.any():
        record = int(bad.arg_max() or 0)
        raise _cell_error(
            places, record, column.name, column[record], "expected a number or an ISO date/time"
        )
    return parsed.cast(pl.Int64).cast(pl.Float64).to_numpy() / 1e3


def read_item_names(
    source: str | Path, *, item_col: str | None = None, name_col: str | None = None
) -> dict[str, str]:
    """Display names by item id from a CSV/TSV/Parquet file (e.g. ``item_id,title,...``)."""
    frame, _ = _read_file(Path(source), None)
    path = str(source)
    item = _require_column(frame.columns, item_col, ITEM_COLUMNS, "item", path)
    name = _require_column(frame.columns, name_col, NAME_COLUMNS, "name", path)
    ids = frame[item].cast(pl.String).to_list()
    names = frame[name].cast(pl.String).fill_null("").to_list()
    return dict(zip(ids, names, strict=True))
