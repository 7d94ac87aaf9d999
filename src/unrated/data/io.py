"""read_interactions: CSV/TSV/Parquet files, pandas/polars frames, scipy matrices -> Interactions.

Columns are found by name (see ``USER_COLUMNS`` etc.) or named by the caller. Ids read from
text files stay strings exactly as written. Duplicate (user, item) rows are merged, their
weights summed. Every error names the file, the line and the column, and shows the value.
"""

from __future__ import annotations

import csv
import gzip
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

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

_DELIMITERS = (",", "\t", ";", "|")


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
    path: str | None = None
    if isinstance(source, str | Path):
        path = str(source)
        frame = _read_file(Path(source), delimiter)
    elif isinstance(source, pl.DataFrame):
        frame = source
    elif type(source).__module__.startswith("pandas"):
        frame = pl.from_pandas(source)
    else:
        raise DataError(
            "expected a file path, a polars/pandas DataFrame or a scipy sparse matrix, "
            f"got {type(source).__name__}"
        )
    return _from_frame(frame, path, user_col, item_col, time_col, weight_col)


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


def _read_file(path: Path, delimiter: str | None) -> pl.DataFrame:
    if not path.exists():
        raise DataError("file not found", path=str(path))
    if path.is_dir():
        raise DataError("is a directory, expected a file", path=str(path))
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        try:
            return pl.read_parquet(path)
        except Exception as error:
            raise DataError(f"not a readable Parquet file ({error})", path=str(path)) from None
    raw = _read_bytes(path, gzipped=bool(suffixes) and suffixes[-1] == ".gz")
    text_head = raw[:65536].decode("utf-8", errors="replace").lstrip("\ufeff")
    if not text_head.strip():
        raise DataError("the file is empty", path=str(path))
    if delimiter is None:
        delimiter = "\t" if ".tsv" in suffixes or ".tab" in suffixes else _guess(text_head)
    try:
        frame = pl.read_csv(
            io.BytesIO(raw), separator=delimiter, infer_schema=False, truncate_ragged_lines=False
        )
    except pl.exceptions.ComputeError as error:
        raise _locate_parse_error(path, raw, delimiter, error) from None
    except Exception as error:
        raise DataError(f"cannot be read as delimited text ({error})", path=str(path)) from None
    frame.columns = [c.strip().lstrip("\ufeff") for c in frame.columns]
    return frame


def _read_bytes(path: Path, *, gzipped: bool) -> bytes:
    try:
        if gzipped:
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError) as error:
        raise DataError(f"cannot be read ({error})", path=str(path)) from None


def _guess(text_head: str) -> str:
    header = text_head.splitlines()[0]
    return max(_DELIMITERS, key=header.count)


def _records(raw: bytes, delimiter: str) -> Any:
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _locate_parse_error(path: Path, raw: bytes, delimiter: str, error: Exception) -> DataError:
    """Find the first record whose field count differs from the header's (error path only)."""
    reader = _records(raw, delimiter)
    header: list[str] = next(reader, [])
    for record in reader:
        if record and len(record) != len(header):
            return DataError(
                f"expected {len(header)} fields as in the header, found {len(record)}",
                path=str(path),
                line=reader.line_num,
                value=delimiter.join(record)[:80],
            )
    return DataError(f"cannot be parsed ({str(error).splitlines()[0]})", path=str(path))


def _line_of_record(path: str | None, record: int) -> int | None:
    """The 1-based line where data record ``record`` (0-based) ends, counting the header."""
    if path is None:
        return None
    if path.lower().endswith((".parquet", ".pq")):
        return record + 1
    raw = _read_bytes(Path(path), gzipped=path.lower().endswith(".gz"))
    head = raw[:65536].decode("utf-8", errors="replace").lstrip("\ufeff")
    reader = _records(raw, "\t" if path.lower().endswith((".tsv", ".tab")) else _guess(head))
    next(reader, None)
    for number, _ in enumerate(reader):
        if number == record:
            return int(reader.line_num)
    return record + 2


def _find_column(
    frame: pl.DataFrame,
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
        if given not in frame.columns:
            raise DataError(
                f"no {role} column named {given!r}; columns found: {', '.join(frame.columns)}",
                path=path,
            )
        return given
    by_lower = {c.lower(): c for c in frame.columns}
    for name in candidates:
        if name in by_lower:
            return by_lower[name]
    if required:
        raise DataError(
            f"no {role} column found; columns found: {', '.join(frame.columns) or '(none)'}; "
            f"name one with --{role}-col (recognised names: {', '.join(candidates[:6])}, ...)",
            path=path,
        )
    return None


def _require_column(
    frame: pl.DataFrame,
    given: str | None,
    candidates: tuple[str, ...],
    role: str,
    path: str | None,
) -> str:
    found = _find_column(frame, given or None, candidates, role, path, required=True)
    if found is None:  # unreachable: required=True raises instead
        raise DataError(f"no {role} column", path=path)
    return found


def _from_frame(
    frame: pl.DataFrame,
    path: str | None,
    user_col: str | None,
    item_col: str | None,
    time_col: str | None,
    weight_col: str | None,
) -> Interactions:
    user = _require_column(frame, user_col, USER_COLUMNS, "user", path)
    item = _require_column(frame, item_col, ITEM_COLUMNS, "item", path)
    if user == item:
        raise DataError(f"the user and item columns are the same column {user!r}", path=path)
    time = _find_column(frame, time_col, TIME_COLUMNS, "time", path, required=False)
    weight = _find_column(frame, weight_col, WEIGHT_COLUMNS, "weight", path, required=False)
    if frame.height == 0:
        raise DataError("no interactions: the data has a header but no rows", path=path)
    user_ids, user_codes = _code_ids(frame[user], path)
    item_ids, item_codes = _code_ids(frame[item], path)
    weights = np.ones(frame.height, dtype=np.float64)
    if weight is not None:
        weights = _numbers(frame[weight], path, what="weight")
        bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
        if len(bad):
            raise _cell_error(
                path, bad[0], weight, frame[weight][int(bad[0])], "expected a finite weight ≥ 0"
            )
    times = _times(frame[time], path) if time is not None else None
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


def _cell_error(path: str | None, record: int, column: str, value: Any, rule: str) -> DataError:
    return DataError(
        f"{rule}, got {value!r}",
        path=path,
        line=_line_of_record(path, int(record)),
        column=column,
        value=value,
    )


def _code_ids(column: pl.Series, path: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ids and each row's code into them."""
    if column.dtype.is_float():
        whole = column.drop_nulls()
        if not (whole == whole.round(0)).all():
            raise DataError(
                "ids must be strings or integers, got fractional numbers",
                path=path,
                column=column.name,
            )
        column = column.cast(pl.Int64)
    elif not (column.dtype.is_integer() or column.dtype == pl.String):
        column = column.cast(pl.String)
    empty = column.is_null()
    if column.dtype == pl.String:
        empty = empty | (column.str.strip_chars() == "")
    if empty.any():
        record = int(empty.arg_max() or 0)
        raise _cell_error(
            path, record, column.name, column[record], "expected an id, the cell is empty"
        )
    ids = column.unique().sort()
    codes = (column.rank("dense") - 1).to_numpy().astype(np.int64)
    return ids.to_numpy(), codes


def _numbers(column: pl.Series, path: str | None, *, what: str) -> np.ndarray:
    if column.dtype.is_numeric():
        values = column.cast(pl.Float64)
    else:
        values = column.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    bad = values.is_null()
    if bad.any():
        record = int(bad.arg_max() or 0)
        raise _cell_error(path, record, column.name, column[record], f"expected a number ({what})")
    return values.to_numpy()


def _times(column: pl.Series, path: str | None) -> np.ndarray:
    if column.dtype.is_temporal():
        return column.cast(pl.Datetime("ms")).cast(pl.Int64).cast(pl.Float64).to_numpy() / 1e3
    if column.dtype.is_numeric():
        return _numbers(column, path, what="time")
    text = column.cast(pl.String).str.strip_chars()
    as_number = text.cast(pl.Float64, strict=False)
    if as_number.null_count() == 0:
        return as_number.to_numpy()
    parsed = text.str.to_datetime(strict=False, time_unit="ms")
    bad = parsed.is_null()
    if bad.any():
        record = int(bad.arg_max() or 0)
        raise _cell_error(
            path, record, column.name, column[record], "expected a number or an ISO date/time"
        )
    return parsed.cast(pl.Int64).cast(pl.Float64).to_numpy() / 1e3


def read_item_names(
    source: str | Path, *, item_col: str | None = None, name_col: str | None = None
) -> dict[str, str]:
    """Display names by item id from a CSV/TSV/Parquet file (e.g. ``item_id,title,...``)."""
    frame = _read_file(Path(source), None)
    path = str(source)
    item = _require_column(frame, item_col, ITEM_COLUMNS, "item", path)
    name = _require_column(frame, name_col, NAME_COLUMNS, "name", path)
    ids = frame[item].cast(pl.String).to_list()
    names = frame[name].cast(pl.String).fill_null("").to_list()
    return dict(zip(ids, names, strict=True))
