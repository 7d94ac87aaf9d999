"""Histories: a file of customers' items in order, each to be folded in as a new visitor's.

The file holds ``user_id,item_id`` rows (CSV, TSV, Parquet; or the ``sequences`` format of
``unrated.data._sequences``) and optionally an order column: a position
(``position``, ``pos``, ``seq``, ``step``) or a time (``timestamp``, ``date``, ...), found by
name like the other columns, or named. Each distinct user id's rows form one history, sorted
by the order column (rows with the same value, and files without one, keep file order).
Histories come in the order their users first appear in the file. Other columns (weights,
baskets, names) are ignored: each row counts once. Cells are checked as
:func:`~unrated.data.io.read_interactions` checks them; ``clean`` drops the same rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from unrated.data._cells import code_ids, parse_times
from unrated.data._cleaning import clean_rows
from unrated.data._columns import (
    ITEM_COLUMNS,
    POSITION_COLUMNS,
    QUANTITY_COLUMNS,
    TIME_COLUMNS,
    USER_COLUMNS,
    find_column,
    require_column,
)
from unrated.data._sequences import is_sequences
from unrated.data.ids import IdIndex
from unrated.data.io import _NO_ID_HINT, _opened
from unrated.errors import DataError, DataWarning, quoted


@dataclass(frozen=True, eq=False)
class Histories:
    """Histories read from a file: user ids as read, each history's items in order.

    Attributes:
        path: the file, for messages.
        user_ids: (n,) the users, in the order they first appear in the file.
        starts: (n + 1,) int64 offsets: history ``h`` is lines ``starts[h]:starts[h + 1]``.
        items: the distinct item ids of the file, as read.
        item_codes: (lines,) each line's item, an index into ``items``.
    """

    path: str
    user_ids: np.ndarray
    starts: np.ndarray
    items: np.ndarray
    item_codes: np.ndarray

    def __len__(self) -> int:
        return len(self.user_ids)

    def fold(self, items: IdIndex) -> np.ndarray:
        """(lines,) int64: each line's item position in ``items`` (a model's), -1 if absent.

        Lines of absent items are counted in one :class:`DataWarning` (they are skipped).
        """
        found = items.positions(self.items.tolist(), kind="item", missing="mark")
        if (found < 0).any():
            unknown = self.items[found < 0]
            lines = int((found[self.item_codes] < 0).sum())
            examples = ", ".join(quoted(i) for i in unknown[:3].tolist())
            warnings.warn(
                f"{self.path}: {lines:,} of {len(self.item_codes):,} lines skipped: their "
                f"items are unknown to the model ({len(unknown):,}: {examples}"
                + (", ...)" if len(unknown) > 3 else ")"),
                DataWarning,
                stacklevel=2,
            )
        positions: np.ndarray = found[self.item_codes]
        return positions

    def users_without(self, positions: np.ndarray) -> np.ndarray:
        """The user ids whose history has no known item (``positions`` as :meth:`fold`)."""
        known = np.add.reduceat((positions >= 0).astype(np.int64), self.starts[:-1])
        users: np.ndarray = self.user_ids[known == 0]
        return users

    def known(self, positions: np.ndarray, rows: np.ndarray | range) -> list[np.ndarray]:
        """The known item positions (``positions`` ≥ 0) of the histories ``rows``, in order."""
        lines = [positions[self.starts[r] : self.starts[r + 1]] for r in rows]
        return [line[line >= 0] for line in lines]

    def chunks(
        self, positions: np.ndarray, size: int
    ) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
        """Up to ``size`` histories at a time: their user ids, their known item positions."""
        for first in range(0, len(self), size):
            rows = range(first, min(first + size, len(self)))
            yield self.user_ids[first : rows.stop], self.known(positions, rows)

    def matrix(self, positions: np.ndarray, n_items: int) -> sp.csr_matrix:
        """Histories × items, 1 where a history holds a known item (``positions`` ≥ 0)."""
        rows = np.repeat(np.arange(len(self)), np.diff(self.starts))
        known = positions >= 0
        matrix = sp.csr_matrix(
            (np.ones(int(known.sum()), dtype=np.float32), (rows[known], positions[known])),
            shape=(len(self), n_items),
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1
        return matrix


def read_histories(
    source: str | Path,
    *,
    user_col: str | None = None,
    item_col: str | None = None,
    order_col: str | None = None,
    delimiter: str | None = None,
    clean: bool = False,
    format: str = "table",
) -> Histories:
    """Read a file of histories (see the module docstring).

    Args:
        source: a CSV/TSV (optionally compressed) or Parquet file, or a sequences file.
        user_col: the user id column; found by name when left out.
        item_col: the item id column; found by name when left out.
        order_col: the column that orders each history; found by name when left out
            (position names first, then time names); ``""`` for file order.
        delimiter: of a text file; guessed from the header when left out.
        clean: drop rows without a user or item id and returns (a negative ``quantity``),
            counted in one warning, as :func:`~unrated.data.io.read_interactions` does.
        format: ``"table"`` or ``"sequences"`` (one history per line, the user id its line
            number from 1).

    Raises:
        DataError: a missing or malformed file; the message names file, line, column, value.
    """
    path = str(source)
    with _opened(Path(source), delimiter, sequences=is_sequences(format)) as (frame, places):
        columns = frame.columns
        user = require_column(columns, user_col, USER_COLUMNS, "user", path)
        item = require_column(
            columns, item_col, ITEM_COLUMNS, "item", path, taken=frozenset({user})
        )
        taken = frozenset({user, item})
        order = find_column(
            columns, order_col, POSITION_COLUMNS, "order", path, required=False, taken=taken
        )
        if order is None and order_col is None:
            order = find_column(
                columns, None, TIME_COLUMNS, "order", path, required=False, taken=taken
            )
        if frame.height == 0:
            raise DataError("no histories: the file has a header but no rows", path=path)
        if clean:
            quantity = find_column(
                columns, None, QUANTITY_COLUMNS, "quantity", path, required=False, taken=taken
            )
            frame, places, dropped = clean_rows(frame, places, user, item, quantity)
            if dropped is not None:
                warnings.warn(dropped, DataWarning, stacklevel=2)
        user_ids, user_codes = code_ids(frame[user], places, hint=_NO_ID_HINT)
        items, item_codes = code_ids(frame[item], places, hint=_NO_ID_HINT)
        times = parse_times(frame[order], places) if order is not None else None
    first_row = np.full(len(user_ids), len(user_codes), dtype=np.int64)
    np.minimum.at(first_row, user_codes, np.arange(len(user_codes)))
    by_appearance = np.argsort(first_row)  # first rows differ: no ties
    rank = np.empty(len(user_ids), dtype=np.int64)
    rank[by_appearance] = np.arange(len(user_ids))
    keys = (rank[user_codes],) if times is None else (times, rank[user_codes])
    lines = np.lexsort(keys)  # stable: file order among equal keys
    starts = np.zeros(len(user_ids) + 1, dtype=np.int64)
    np.cumsum(np.bincount(user_codes, minlength=len(user_ids))[by_appearance], out=starts[1:])
    return Histories(path, user_ids[by_appearance], starts, items, item_codes[lines])
