"""The catalogue: an items file's names and attributes (category, price, stock), by item id.

``read_catalogue`` reads any items file that ``read_item_names`` reads. Besides the id and the
name, every column becomes an attribute: numbers when every non-empty cell is a number
(missing ones NaN), text otherwise (missing ones empty). Rules at request time filter on them
(``unrated.models.rules``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from unrated.data._columns import ITEM_COLUMNS, NAME_COLUMNS, find_column, require_column
from unrated.data.ids import IdIndex
from unrated.data.io import _opened
from unrated.errors import DataError


@dataclass(frozen=True)
class Catalogue:
    """Item ids (text, as written), their names (or None) and attribute columns."""

    ids: list[str]
    names: list[str] | None
    attributes: dict[str, np.ndarray]

    def aligned(self, items: IdIndex) -> tuple[list[str] | None, dict[str, np.ndarray]]:
        """Names and attributes by position in ``items`` (items not in the file: empty/NaN)."""
        at = items.positions(self.ids, kind="item", missing="mark")
        known = at >= 0
        names = None
        if self.names is not None:
            filled = np.full(len(items), "", dtype=object)
            filled[at[known]] = np.asarray(self.names, dtype=object)[known]
            names = filled.tolist()
        attributes = {}
        for column, values in self.attributes.items():
            empty = np.nan if values.dtype == np.float64 else ""
            out = np.full(len(items), empty, dtype=values.dtype)
            out[at[known]] = values[known]
            attributes[column] = out
        return names, attributes


def read_catalogue(
    source: str | Path, *, item_col: str | None = None, name_col: str | None = None
) -> Catalogue:
    """Read an items file: its id column, its name column if any, the rest as attributes.

    Raises:
        DataError: no id column, or an id listed twice (naming it).
    """
    path = str(source)
    with _opened(Path(source), None) as (frame, _places):
        item = require_column(frame.columns, item_col, ITEM_COLUMNS, "item", path)
        name = find_column(
            frame.columns,
            name_col,
            NAME_COLUMNS,
            "name",
            path,
            required=False,
            taken=frozenset({item}),
        )
        ids = frame[item].cast(pl.String).fill_null("").to_list()
        twice = [value for value, count in Counter(ids).items() if count > 1]
        if twice:
            raise DataError(f"item id {twice[0]!r} is listed more than once", path=path)
        names = None if name is None else frame[name].cast(pl.String).fill_null("").to_list()
        attributes = {
            column: _attribute(frame[column])
            for column in frame.columns
            if column not in (item, name)
        }
    return Catalogue(ids, names, attributes)


def _attribute(column: pl.Series) -> np.ndarray:
    """Numbers (float64, NaN when empty) if every non-empty cell is one, else text."""
    text = column.cast(pl.String).str.strip_chars()
    numbers = text.cast(pl.Float64, strict=False)
    empty = text.is_null() | (text == "")
    if column.dtype.is_numeric() or bool((numbers.is_not_null() | empty).all()):
        return numbers.fill_null(np.nan).to_numpy().astype(np.float64)
    return np.asarray(column.cast(pl.String).fill_null("").to_list(), dtype=object)
