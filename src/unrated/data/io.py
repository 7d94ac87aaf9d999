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
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from unrated._memory import format_bytes
from unrated.data._cells import (
    Places,
    as_text,
    cell_error,
    code_ids,
    exact_ids,
    numbers,
    parse_times,
)
from unrated.data._cleaning import CLEAN_FLAG, clean_rows
from unrated.data._columns import (
    BASKET_COLUMNS,
    ITEM_COLUMNS,
    LOG_NAME_COLUMNS,
    NAME_COLUMNS,
    QUANTITY_COLUMNS,
    find_column,
    find_columns,
    require_column,
)
from unrated.data._sequences import is_sequences, sequences_frame
from unrated.data._spool import Input
from unrated.data._text import BYTES_PER_LINE, read_text_table
from unrated.data.database import is_database, read_database
from unrated.data.events import build_events
from unrated.data.ids import IdIndex
from unrated.data.interactions import Interactions, SourceColumns, build_interactions
from unrated.errors import DataError, DataWarning, MemoryLimitError

__all__ = ["find_columns", "read_interactions", "read_item_names"]

_NO_ID_HINT = f"{CLEAN_FLAG} drops rows without one (guest checkouts)"


def read_interactions(
    source: Any,
    *,
    user_col: str | None = None,
    item_col: str | None = None,
    time_col: str | None = None,
    weight_col: str | None = None,
    delimiter: str | None = None,
    basket_col: str | None = None,
    clean: bool = False,
    format: str = "table",
) -> Interactions:
    """Read implicit feedback into :class:`Interactions`.

    Args:
        source: a path to a CSV/TSV (optionally ``.gz``) or Parquet file, a polars or pandas
            DataFrame, a scipy sparse users × items matrix (ids are then row/column numbers),
            Interactions (returned as is), or a table or query of PostgreSQL or DuckDB: a
            :class:`~unrated.data.database.Database` (see ``unrated.data.database``).
        user_col: the user id column; found by name when left out.
        item_col: the item id column; found by name when left out.
        time_col: optional timestamp column (numbers or ISO dates); found by name when left
            out; ``""`` ignores a column that would be found.
        weight_col: optional weight column (counts, quantities, ratings); found by name when
            left out; ``""`` ignores a column that would be found.
        delimiter: the field separator of a text file; guessed from the header when left out.
        basket_col: optional basket (order, invoice) id column; found by name when left
            out (``basket_id``, ``order_id``, ``invoice``, ``InvoiceNo``, ``transaction_id``,
            ...); ``""`` ignores one. With a basket or a time column the result keeps its
            lines as :attr:`Interactions.events` (without a basket column, a user's lines
            with the same time form one basket).
        clean: a shop export as it comes: drop the rows that are no purchase (no user or
            item id, such as guest checkouts; a negative weight, such as returns and
            cancellations; weight 0; purchases returned in full) and count them, by
            reason, in one :class:`DataWarning` (see ``unrated.data._cleaning``). With the
            weight column ignored (``weight_col=""``, every line counts 1), a ``quantity``
            or ``qty`` column still finds the returns. Without it such rows are errors.
        format: ``"table"`` (columns, as above) or ``"sequences"`` (``unrated.data._sequences``).

    A column of item names (``item_name``, ``product_name``, ``title``, ``description``)
    gives :attr:`Interactions.item_names`: each item's commonest name.

    Raises:
        DataError: the file is missing or malformed; the message names file, line, column
            and value.
    """
    if isinstance(source, Interactions):
        return source
    if sequences := is_sequences(format, source):
        time_col, weight_col, basket_col = "position", "", ""
    if sp.issparse(source):
        return _from_matrix(source)
    roles = (user_col, item_col, time_col, weight_col, basket_col)
    if is_database(source):  # a Database, or a postgresql:// or duckdb:/// URL
        return _from_frame(*read_database(source), *roles, clean)
    if isinstance(source, str | Path):
        with _opened(Path(source), delimiter, sequences=sequences) as (frame, places):
            return _from_frame(frame, places, *roles, clean)
    if isinstance(source, pl.DataFrame):
        return _from_frame(source, Places(None), *roles, clean)
    if type(source).__module__.startswith("pandas"):
        try:
            frame = pl.from_pandas(source)
        except Exception as error:
            raise DataError(
                f"the pandas DataFrame cannot be read ({str(error).splitlines()[0]})"
            ) from None
        return _from_frame(frame, Places(None), *roles, clean)
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
def _opened(
    path: Path, delimiter: str | None, *, sequences: bool = False
) -> Iterator[tuple[pl.DataFrame, Places]]:
    """The file as a frame, and where its rows came from (valid inside the ``with`` block)."""
    if not path.exists():
        raise DataError("file not found", path=str(path))
    if path.is_dir():
        raise DataError("is a directory, expected a file", path=str(path))
    with Input(path) as source:
        stem = path.name.lower().removesuffix(".gz").removesuffix(".bz2").removesuffix(".xz")
        if sequences:
            yield sequences_frame(source)
        elif stem.endswith((".parquet", ".pq")) or source.head.startswith(b"PAR1"):
            yield _read_parquet(source), Places(str(path))
        else:
            frame, records, used = read_text_table(source, delimiter)
            yield frame, Places(str(path), source.local, records, used)


def _read_parquet(source: Input) -> pl.DataFrame:
    for _ in source.chunks():  # copies a pipe or a compressed file aside
        source.check_memory(source.size, f"{format_bytes(source.size)} of Parquet")
    try:
        rows, size = _parquet_size(source.local)
        source.check_memory(
            2 * size + BYTES_PER_LINE * rows, f"{rows:,} rows, {format_bytes(size)} uncompressed,"
        )
        return pl.read_parquet(source.local, glob=False)
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


def _from_frame(
    frame: pl.DataFrame,
    places: Places,
    user_col: str | None,
    item_col: str | None,
    time_col: str | None,
    weight_col: str | None,
    basket_col: str | None,
    clean: bool,
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
    taken = frozenset(c for c in (user, item, time, weight) if c)
    basket = find_column(
        frame.columns, basket_col, BASKET_COLUMNS, "basket", path, required=False, taken=taken
    )
    used = (user, item, time, weight, basket)
    others = [c for c in frame.columns if c not in used]
    name = find_column(others, None, LOG_NAME_COLUMNS, "name", path, required=False)
    ignored = tuple(c for c in others if c != name)
    if frame.height == 0:
        raise DataError("no interactions: the data has a header but no rows", path=path)
    if clean:  # returns are found by the quantity, also when it is not the weight
        quantity = weight or find_column(
            list(ignored), None, QUANTITY_COLUMNS, "quantity", path, required=False
        )
        frame, places, dropped = clean_rows(frame, places, user, item, quantity)
        if dropped is not None:
            warnings.warn(dropped, DataWarning, stacklevel=3)
    user_ids, user_codes = code_ids(frame[user], places, hint=_NO_ID_HINT)
    item_ids, item_codes = code_ids(frame[item], places, hint=_NO_ID_HINT)
    weights = np.ones(frame.height, dtype=np.float64)
    if weight is not None:
        weights = numbers(frame[weight], places, what="weight")
        bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
        if len(bad):
            raise cell_error(
                places,
                bad[0],
                weight,
                frame[weight][int(bad[0])],
                "expected a finite weight ≥ 0",
                hint=f"{CLEAN_FLAG} drops returns" if weights[bad[0]] < 0 else None,
            )
    times = parse_times(frame[time], places) if time is not None else None
    basket_ids, basket_codes = code_ids(frame[basket], places) if basket else (None, None)
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
        basket_codes = basket_codes[keep] if basket_codes is not None else None
    data = build_interactions(
        user_codes, item_codes, weights, IdIndex(user_ids), IdIndex(item_ids), times
    )
    return replace(
        data,
        columns=SourceColumns(user, item, time, weight, ignored, basket, name),
        events=build_events(user_codes, item_codes, weights, times, basket_codes, basket_ids),
        item_names=None if name is None else _names(frame[name].filter(keep), item_codes, item_ids),
    )


def _names(names: pl.Series, item_codes: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
    """Each item's display name: the commonest non-empty one of its rows, stripped.

    Ties go to the first in sort order; an item without a name gets "".
    """
    rows = pl.DataFrame({"item": item_codes, "name": names.cast(pl.String).str.strip_chars()})
    rows = rows.filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
    common = (
        rows.group_by("item", "name")
        .len()
        .sort(["item", "len", "name"], descending=[False, True, False])
        .unique("item", keep="first")
    )
    out = np.full(len(item_ids), "", dtype=object)
    out[common["item"].to_numpy()] = common["name"].to_list()
    return out


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
        ids = exact_ids(frame[item], places).cast(pl.String).to_list()
        column = frame[name]
        if not column.dtype.is_numeric():
            column = as_text(column, places, "names must be text")
        names = column.cast(pl.String).fill_null("").to_list()
    return dict(zip(ids, names, strict=True))
