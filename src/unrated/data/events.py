"""Events: the purchase lines under an :class:`~unrated.data.interactions.Interactions`, in baskets.

``Interactions.matrix`` sums each (user, item) pair; re-buy models, basket splits and time
decay need the lines themselves. ``read_interactions`` fills ``Interactions.events`` when the
data has a basket column (``basket_id``, ``order_id``, ``invoice``, ``InvoiceNo``,
``transaction_id``, ... or ``basket_col=``) or a time column (then a customer's lines with the
same timestamp form one basket); without either it is None.

The interface (all arrays aligned, one entry per kept line, ``n`` lines):

- ``user``, ``item``: int32 positions into ``Interactions.users`` / ``Interactions.items``.
- ``basket``: int32 basket index, 0 .. ``n_baskets`` - 1. Lines are sorted by user, then by
  basket time (the earliest time of its lines; file order of the basket's first line when
  there is no time), then by basket, then in file order; so a user's baskets are
  consecutive, chronological, and numbered in that order.
- ``time``: float64 as read (seconds since 1970 for dates), or None without a time column.
- ``weight``: float32 line weight (the weight column's value, or 1).
- ``basket_ids``: the external id of each basket (``n_baskets``,) when a basket column was
  read, else None.

Per basket (``n_baskets``,): :attr:`Events.basket_starts` (offsets of its lines, n_baskets + 1),
:attr:`Events.basket_users`, :attr:`Events.basket_times`; per user (n_users + 1,):
:meth:`Events.user_basket_starts` (offsets into the baskets). Summing ``weight`` by
(user, item) gives ``Interactions.matrix``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Events:
    """Purchase lines in baskets, sorted by user, then time (see the module docstring)."""

    user: np.ndarray
    item: np.ndarray
    basket: np.ndarray
    time: np.ndarray | None
    weight: np.ndarray
    basket_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.user)

    @property
    def n_baskets(self) -> int:
        """Number of baskets."""
        return int(self.basket[-1]) + 1 if len(self.basket) else 0

    @property
    def basket_starts(self) -> np.ndarray:
        """(n_baskets + 1,) int64 offsets: basket ``b``'s lines are ``starts[b]:starts[b + 1]``."""
        starts = np.zeros(self.n_baskets + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.basket, minlength=self.n_baskets), out=starts[1:])
        return starts

    @property
    def basket_users(self) -> np.ndarray:
        """(n_baskets,) int32: the user of each basket."""
        users: np.ndarray = self.user[self.basket_starts[:-1]]
        return users

    @property
    def basket_times(self) -> np.ndarray | None:
        """(n_baskets,) float64: the earliest time of each basket's lines; None without times."""
        if self.time is None:
            return None
        if not len(self.time):
            return self.time
        return np.minimum.reduceat(self.time, self.basket_starts[:-1])

    def user_basket_starts(self, n_users: int) -> np.ndarray:
        """(n_users + 1,) int64 offsets: user ``u``'s baskets are ``starts[u]:starts[u + 1]``."""
        starts = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.basket_users, minlength=n_users), out=starts[1:])
        return starts

    def select(self, keep: np.ndarray) -> Events:
        """The lines where ``keep`` (bool, per line) is true, baskets renumbered from 0."""
        basket = self.basket[keep]
        used, renumbered = np.unique(basket, return_inverse=True)
        ids = self.basket_ids[used] if self.basket_ids is not None else None
        return Events(
            self.user[keep],
            self.item[keep],
            renumbered.astype(np.int32),
            None if self.time is None else self.time[keep],
            self.weight[keep],
            ids,
        )


def build_events(
    user: np.ndarray,
    item: np.ndarray,
    weight: np.ndarray,
    time: np.ndarray | None,
    basket_codes: np.ndarray | None,
    basket_vocabulary: np.ndarray | None = None,
) -> Events | None:
    """Events from coded lines in file order; None when there is neither basket nor time.

    A basket is a user's lines with one ``basket_codes`` value (codes into
    ``basket_vocabulary``), or, without basket codes, with one ``time``.
    """
    second = basket_codes if basket_codes is not None else time
    if second is None:
        return None
    n = len(user)
    # rows by user, then basket code (or time), then file order: two stable sorts
    order = np.argsort(second, kind="stable")
    order = order[np.argsort(user[order], kind="stable")]
    users, seconds = user[order], second[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (users[1:] != users[:-1]) | (seconds[1:] != seconds[:-1])
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1  # of each row of ``order``
    if basket_codes is None:  # baskets by time: already in (user, time) order
        group_order = np.arange(len(starts))
    else:  # by user, then the basket's earliest time (or first row), then its first row
        first_row = order[starts]  # rows are in file order within a group
        group_time = first_row if time is None else np.minimum.reduceat(time[order], starts)
        group_order = np.lexsort((first_row, group_time, users[starts]))
    rank = np.empty(len(starts), dtype=np.int64)
    rank[group_order] = np.arange(len(starts))
    basket = rank[group]
    by_basket = np.argsort(basket, kind="stable")
    final, basket = order[by_basket], basket[by_basket]
    basket_ids = None
    if basket_codes is not None and basket_vocabulary is not None:
        basket_ids = basket_vocabulary[seconds[starts][group_order]]
    return Events(
        user[final].astype(np.int32),
        item[final].astype(np.int32),
        basket.astype(np.int32),
        None if time is None else time[final].astype(np.float64),
        weight[final].astype(np.float32),
        basket_ids,
    )
