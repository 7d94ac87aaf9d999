"""The catalogue: an items file's names and attributes (category, price, stock), by item id.

``read_catalogue`` reads any items file that ``read_item_names`` reads. Besides the id and the
name, every column becomes an attribute: numbers when every non-empty cell is a number
(missing ones NaN), text otherwise (missing ones empty). Rules at request time filter on them
(``unrated.models.rules``).
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp

from unrated.data._columns import ITEM_COLUMNS, NAME_COLUMNS, find_column, require_column
from unrated.data.ids import IdIndex
from unrated.data.interactions import Interactions
from unrated.data.io import _opened
from unrated.errors import DataError, DataWarning

#: The column that item names become among the features (:func:`describe`).
NAME = "name"


@dataclass(frozen=True)
class Catalogue:
    """Item ids (text, as written), their names (or None) and attribute columns."""

    ids: list[str]
    names: list[str] | None
    attributes: dict[str, np.ndarray]
    #: The column the names came from (a feature of that name for content models).
    name_column: str | None = None

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


def describe(
    data: Interactions, catalogue: Catalogue | None, *, complete: bool = True
) -> tuple[Interactions, dict[str, np.ndarray]]:
    """``data`` with the catalogue's items too, and the columns that describe every item.

    Items of the catalogue that nobody bought are appended after the data's (positions
    kept), with no purchases: a model can then recommend them. The columns are the names
    (under their column's name; from the data: :data:`NAME`) then the catalogue's attributes,
    by item position. Without a catalogue, only the data's item names (if any).

    Warns (DataWarning) when bought items are missing from a ``complete`` catalogue: they
    have no attributes. Raises DataError for an id of the wrong kind (text for integer ids).
    """
    if catalogue is None:
        names = {} if data.item_names is None else {NAME: np.asarray(data.item_names, object)}
        return data, names
    items, _ = data.items.extended(catalogue.ids, kind="item")
    listed = np.zeros(len(items), dtype=bool)
    listed[items.positions(catalogue.ids, kind="item")] = True
    missing = int((~listed[: len(data.items)]).sum())
    if missing and complete:
        warnings.warn(
            f"{missing:,} of {len(data.items):,} bought items are not in the items file: "
            "they have no attributes (add them to the file to describe them)",
            DataWarning,
            stacklevel=2,
        )
    if len(items) > len(data.items):
        matrix = sp.csr_matrix(
            (data.matrix.data, data.matrix.indices, data.matrix.indptr),
            shape=(len(data.users), len(items)),
        )
        padded = data.item_names
        if padded is not None:
            padded = np.concatenate([padded, np.full(len(items) - len(padded), "", object)])
        data = replace(data, matrix=matrix, items=items, item_names=padded, columns=None)
    names_by_item, attributes = catalogue.aligned(data.items)
    columns: dict[str, np.ndarray] = {}
    if names_by_item is not None:
        columns[catalogue.name_column or NAME] = np.asarray(names_by_item, dtype=object)
    elif data.item_names is not None:
        columns[NAME] = np.asarray(data.item_names, dtype=object)
    for column, values in attributes.items():
        columns[column if column not in columns else f"{column}_"] = values
    return data, columns


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
    return Catalogue(ids, names, attributes, name)


def _attribute(column: pl.Series) -> np.ndarray:
    """Numbers (float64, NaN when empty) if every non-empty cell is one, else text."""
    text = column.cast(pl.String).str.strip_chars()
    numbers = text.cast(pl.Float64, strict=False)
    empty = text.is_null() | (text == "")
    if column.dtype.is_numeric() or bool((numbers.is_not_null() | empty).all()):
        return numbers.fill_null(np.nan).to_numpy().astype(np.float64)
    return np.asarray(column.cast(pl.String).fill_null("").to_list(), dtype=object)
