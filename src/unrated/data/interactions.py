"""Interactions: who interacted with what, as a users × items CSR matrix with id vocabularies."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from unrated.data.events import Events
from unrated.data.ids import IdIndex
from unrated.errors import DataError

if TYPE_CHECKING:  # polars is imported where a frame is made, not at start-up
    import polars as pl


@dataclass(frozen=True)
class SourceColumns:
    """The columns of a file or frame that :func:`~unrated.read_interactions` used."""

    user: str
    item: str
    time: str | None
    weight: str | None
    ignored: tuple[str, ...] = ()
    basket: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        used = f"user={self.user}, item={self.item}, time={self.time or '(none)'}, "
        used += f"weight={self.weight or '(none)'}"
        used += f", basket={self.basket}" if self.basket else ""
        used += f", item names={self.name}" if self.name else ""
        return used + (f" (ignored: {', '.join(self.ignored)})" if self.ignored else "")


def binary_matrix(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """A float32 copy of ``matrix`` with every stored weight set to 1."""
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    out.data[:] = 1.0
    return out


@dataclass(frozen=True, eq=False)
class Interactions:
    """Implicit feedback: ``matrix[u, i]`` is the summed weight of user ``u`` on item ``i``.

    Attributes:
        matrix: users × items CSR, float32, sorted indices, no explicit zeros; a stored
            entry means "interacted" and its value is the weight (a count when no weight
            column was given).
        users: external user ids, by row.
        items: external item ids, by column.
        times: optional float64 array aligned with ``matrix.data``: when the user first
            interacted with the item (any unit; only order matters).
        columns: the columns read from a file or frame (None for a matrix or derived data).
        events: the lines themselves, in baskets, when the data has a basket or a time
            column (see :mod:`unrated.data.events`); None otherwise and for re-indexed
            data. A split's train keeps the lines of its pairs; its test has none. Models
            fit on ``matrix`` alone.
        item_names: display names by item position, from a name column of the file
            (``description``, ``product_name``, ...); None when it has none.
    """

    matrix: sp.csr_matrix
    users: IdIndex
    items: IdIndex
    times: np.ndarray | None = None
    columns: SourceColumns | None = None
    events: Events | None = None
    item_names: np.ndarray | None = None

    @property
    def n_users(self) -> int:
        """Number of users (rows)."""
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        """Number of items (columns)."""
        return int(self.matrix.shape[1])

    @property
    def nnz(self) -> int:
        """Number of distinct (user, item) pairs."""
        return int(self.matrix.nnz)

    def binary(self) -> sp.csr_matrix:
        """The matrix with every stored weight set to 1."""
        return binary_matrix(self.matrix)

    def fingerprint(self) -> str:
        """A short hash of the pairs, weights and ids: two equal data sets share it."""
        digest = hashlib.blake2b(digest_size=12)
        for array in (self.matrix.indptr, self.matrix.indices, self.matrix.data):
            digest.update(np.ascontiguousarray(array).tobytes())
        for index in (self.users, self.items):
            for name, array in sorted(index.to_arrays().items()):
                digest.update(name.encode())
                digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def __repr__(self) -> str:
        return (
            f"Interactions({self.n_users:,} users × {self.n_items:,} items, "
            f"{self.nnz:,} pairs{', with times' if self.times is not None else ''}"
            + (f", {self.events.n_baskets:,} baskets)" if self.events is not None else ")")
        )


def build_interactions(
    user_codes: np.ndarray,
    item_codes: np.ndarray,
    weights: np.ndarray,
    users: IdIndex,
    items: IdIndex,
    times: np.ndarray | None = None,
) -> Interactions:
    """Assemble Interactions from coded pairs, summing the weights of duplicate pairs.

    The time of a merged pair is the earliest of its rows.
    """
    shape = (len(users), len(items))
    key = user_codes.astype(np.int64) * max(shape[1], 1) + item_codes.astype(np.int64)
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    summed = np.add.reduceat(weights.astype(np.float64)[order], starts) if len(key) else weights
    unique_key = key[starts]
    rows, cols = unique_key // max(shape[1], 1), unique_key % max(shape[1], 1)
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    matrix = sp.csr_matrix((summed.astype(np.float32), cols.astype(np.int32), indptr), shape=shape)
    first_times = None
    if times is not None:
        first_times = (
            np.minimum.reduceat(times.astype(np.float64)[order], starts) if len(key) else times
        )
    return Interactions(matrix, users, items, first_times)


def reindex(data: Interactions, users: IdIndex, items: IdIndex) -> tuple[Interactions, int]:
    """``data`` over other vocabularies (a model's); pairs with unknown ids are dropped.

    Returns the re-indexed interactions and the number of dropped pairs.
    """
    if data.users == users and data.items == items:
        return data, 0
    user_map = users.positions(data.users.ids, kind="user", missing="mark")
    item_map = items.positions(data.items.ids, kind="item", missing="mark")
    coo = data.matrix.tocoo()
    rows, cols = user_map[coo.row], item_map[coo.col]
    keep = (rows >= 0) & (cols >= 0)
    times = data.times[keep] if data.times is not None else None
    rebuilt = build_interactions(rows[keep], cols[keep], coo.data[keep], users, items, times)
    return rebuilt, int((~keep).sum())


def interactions_to_frame(data: Interactions) -> pl.DataFrame:
    """Long format with the original ids: ``user_id, item_id, weight[, timestamp]``."""
    coo = data.matrix.tocoo()
    columns: dict[str, object] = {
        "user_id": data.users.take(coo.row).tolist(),
        "item_id": data.items.take(coo.col).tolist(),
        "weight": _integral(coo.data),
    }
    if data.times is not None:
        columns["timestamp"] = _integral(data.times)
    import polars as pl

    return pl.DataFrame(columns)


def events_to_frame(data: Interactions) -> pl.DataFrame:
    """One row per line of :attr:`Interactions.events`, with the original ids, in its order.

    Columns ``user_id, item_id, weight[, timestamp], basket_id[, item_name]``; a basket
    without an id of its own (baskets found by time) is named by its number.
    """
    events = data.events
    if events is None:
        raise DataError("the data has no lines in baskets (no basket or time column)")
    basket_ids = events.basket_ids
    columns: dict[str, object] = {
        "user_id": data.users.take(events.user).tolist(),
        "item_id": data.items.take(events.item).tolist(),
        "weight": _integral(events.weight.astype(np.float64)),
    }
    if events.time is not None:
        columns["timestamp"] = _integral(events.time)
    columns["basket_id"] = (
        events.basket if basket_ids is None else basket_ids[events.basket]
    ).tolist()
    if data.item_names is not None:
        columns["item_name"] = data.item_names[events.item].tolist()
    import polars as pl

    return pl.DataFrame(columns)


def _integral(values: np.ndarray) -> np.ndarray:
    """int64 when every value is a whole number (so CSV shows 5, not 5.0)."""
    if len(values) and np.all(np.mod(values, 1) == 0) and np.abs(values).max() < 2**53:
        return values.astype(np.int64)
    return values
