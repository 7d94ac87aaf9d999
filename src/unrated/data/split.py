"""Train/test splits of Interactions, deterministic by seed.

Every split keeps train's id vocabularies for test, so a model fitted on ``train`` ranks
``test`` directly; train keeps the lines (:attr:`Interactions.events`) of its pairs. Test
pairs of users or items absent from train cannot be ranked and are dropped;
:attr:`Split.dropped_test_pairs` counts them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from unrated._checks import check_float, check_int
from unrated.data.ids import IdIndex
from unrated.data.interactions import Interactions, build_interactions
from unrated.errors import DataError

PROTOCOLS = ("holdout", "last", "time", "basket", "new-items")


@dataclass(frozen=True, eq=False)
class Split:
    """A train set and a test set over the same id vocabularies.

    Attributes:
        train: the interactions a model is fitted on.
        test: the held-out interactions, indexed like ``train``.
        protocol: "holdout", "last", "time" or "basket", with its settings (for reports).
        dropped_test_pairs: held-out pairs whose user or item never occurs in train.
    """

    train: Interactions
    test: Interactions
    protocol: str
    dropped_test_pairs: int = 0

    def __repr__(self) -> str:
        return f"Split({self.protocol}: train {self.train!r}, test {self.test.nnz:,} pairs)"


def split_holdout(
    data: Interactions, *, fraction: float = 0.2, min_interactions: int = 5, seed: int = 0
) -> Split:
    """Hold out a random ``fraction`` of each user's items (users with ≥ ``min_interactions``).

    Each eligible user with n items gives ``max(1, round(fraction * n))`` of them to test;
    users with fewer items stay whole in train.
    """
    fraction = check_float(
        fraction, "fraction", "split_holdout", minimum=0.0, inclusive=False, maximum=1.0
    )
    min_interactions = check_int(min_interactions, "min_interactions", "split_holdout", minimum=2)
    rng = np.random.default_rng(seed)
    matrix = data.matrix
    counts = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(data.n_users), counts)
    order = np.lexsort((rng.random(matrix.nnz), rows))  # random order within each user
    rank = np.empty(matrix.nnz, dtype=np.int64)
    rank[order] = np.arange(matrix.nnz) - np.repeat(matrix.indptr[:-1], counts)
    n_test = np.where(
        counts >= min_interactions, np.maximum(1, np.round(fraction * counts)), 0
    ).astype(np.int64)
    in_test = rank < n_test[rows]
    name = f"holdout(fraction={fraction:g}, min_interactions={min_interactions}, seed={seed})"
    return _split_by_mask(data, in_test, name)


def split_last(data: Interactions, *, min_interactions: int = 2) -> Split:
    """Hold out each user's latest item, the rest in order: leave-last-out of sequential models.

    The latest item is the one first bought last: in the order of the data's lines
    (:attr:`Interactions.events`: by time, ties in file order), the order a sequential model
    such as ``sasrec`` reads a customer's items in. An item bought again is not new: the
    latest *new* item is held out (a held-out item the user had before could not be
    recommended, as training items are excluded). Train keeps every line of the other items,
    in that order (``train.events``), so a sequential model trains on the ordered prefix.
    Without lines (a matrix with times), ties in time go to the larger item index.

    Users with fewer than ``min_interactions`` items stay whole in train.
    """
    min_interactions = check_int(min_interactions, "min_interactions", "split_last", minimum=2)
    times = _require_times(data, "last")
    matrix = data.matrix
    counts = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(data.n_users), counts)
    first_line = _first_lines(data, rows)
    if first_line is not None:
        order = np.lexsort((first_line, rows))
    else:
        order = np.lexsort((matrix.indices, times, rows))
    last_positions = order[matrix.indptr[1:][counts > 0] - 1]
    in_test = np.zeros(matrix.nnz, dtype=bool)
    eligible = counts[rows[last_positions]] >= min_interactions
    in_test[last_positions[eligible]] = True
    return _split_by_mask(data, in_test, f"last(min_interactions={min_interactions})")


def split_by_time(
    data: Interactions, *, fraction: float = 0.2, cutoff: float | None = None
) -> Split:
    """Train on the past, test on the future: pairs first seen at or after ``cutoff`` go to test.

    Without ``cutoff``, it is the time that leaves the latest ``fraction`` of pairs for test.
    """
    times = _require_times(data, "time")
    if cutoff is None:
        fraction = check_float(
            fraction, "fraction", "split_by_time", minimum=0.0, inclusive=False, maximum=1.0
        )
        cutoff = float(np.quantile(times, 1.0 - fraction, method="higher"))
    in_test = times >= cutoff
    if in_test.all() or not in_test.any():
        raise DataError(f"the time cut-off {cutoff!r} leaves train or test empty")
    return _split_by_mask(data, in_test, f"time(cutoff={cutoff:g})")


def split_basket(data: Interactions, *, min_baskets: int = 2) -> Split:
    """Hold out each user's last basket (users with ≥ ``min_baskets`` baskets).

    Needs :attr:`Interactions.events` (a basket or a time column). Train keeps the other
    lines as its events (baskets, times); test holds the last baskets' (user, item) pairs,
    re-buys included. Test pairs of items absent from train are dropped and counted.
    """
    min_baskets = check_int(min_baskets, "min_baskets", "split_basket", minimum=2)
    events = data.events
    if events is None:
        raise DataError(
            "the 'basket' split needs baskets: a basket column (order_id, invoice, "
            "basket_id, ...; or --basket-col) or a time column (a customer's lines with one "
            "time form a basket), and the data has neither"
        )
    starts = events.user_basket_starts(data.n_users)
    eligible = np.diff(starts) >= min_baskets
    last = np.zeros(events.n_baskets, dtype=bool)
    last[starts[1:][eligible] - 1] = True
    in_test = last[events.basket]
    if not in_test.any():
        raise DataError(
            f"the basket split holds nothing out: no user has {min_baskets} or more baskets"
        )
    train, test = events.select(~in_test), events.select(in_test)
    train_users = np.unique(train.user)
    train_items = np.unique(train.item)
    users, items = IdIndex(data.users.ids[train_users]), IdIndex(data.items.ids[train_items])

    def positions(present: np.ndarray, codes: np.ndarray) -> np.ndarray:
        found = np.searchsorted(present, codes)
        found[found == len(present)] = 0
        return np.where(present[found] == codes, found, -1)

    user_map = positions(train_users, train.user)
    item_map = positions(train_items, train.item)
    train = replace(train, user=user_map.astype(np.int32), item=item_map.astype(np.int32))
    fitted = build_interactions(train.user, train.item, train.weight, users, items, train.time)
    test_users, test_items = positions(train_users, test.user), positions(train_items, test.item)
    warm = test_items >= 0
    held = build_interactions(
        test_users[warm],
        test_items[warm],
        test.weight[warm],
        users,
        items,
        None if test.time is None else test.time[warm],
    )
    every = build_interactions(test.user, test.item, test.weight, data.users, data.items)
    name = f"basket(last basket of users with ≥ {min_baskets} baskets)"
    names = None if data.item_names is None else data.item_names[train_items]
    fitted = replace(fitted, events=train, item_names=names)
    return Split(fitted, held, name, every.nnz - held.nnz)


def split_data(
    data: Interactions, protocol: str, *, fraction: float = 0.2, seed: int = 0, days: float = 30.0
) -> Split:
    """Split by protocol name: "holdout", "last", "time", "basket" or "new-items" (``days``)."""
    if protocol == "new-items":
        from unrated.data.new_items import split_new_items  # it imports Split from here

        return split_new_items(data, days=days)
    if protocol == "basket":
        return split_basket(data)
    if protocol == "holdout":
        return split_holdout(data, fraction=fraction, seed=seed)
    if protocol == "last":
        return split_last(data)
    if protocol == "time":
        return split_by_time(data, fraction=fraction)
    raise DataError(f"unknown split protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")


def _first_lines(data: Interactions, rows: np.ndarray) -> np.ndarray | None:
    """Per pair (aligned with ``data.matrix.data``): where its first line is in the events.

    None without events, or with events that do not hold exactly the matrix's pairs.
    """
    if data.events is None:
        return None
    n_items = max(data.n_items, 1)
    lines = data.events.user.astype(np.int64) * n_items + data.events.item
    keys, first = np.unique(lines, return_index=True)
    pairs = rows.astype(np.int64) * n_items + data.matrix.indices
    return first if np.array_equal(keys, pairs) else None


def _require_times(data: Interactions, protocol: str) -> np.ndarray:
    if data.times is None:
        raise DataError(
            f"the '{protocol}' split needs a time column (timestamp, time, date, ...), "
            "and the data has none; use the 'holdout' protocol or name one with --time-col"
        )
    return data.times


def _split_by_mask(data: Interactions, in_test: np.ndarray, protocol: str) -> Split:
    """Cut ``data`` into train (mask False) and test (mask True), dropping cold test pairs."""
    matrix = data.matrix
    coo = matrix.tocoo()
    train_mask = ~in_test
    train_items = np.zeros(data.n_items, dtype=bool)
    train_items[coo.col[train_mask]] = True
    train_users = np.zeros(data.n_users, dtype=bool)
    train_users[coo.row[train_mask]] = True
    warm = in_test & train_items[coo.col] & train_users[coo.row]
    dropped = int(in_test.sum() - warm.sum())
    if not train_mask.any():
        raise DataError("the split leaves train empty")
    if not warm.any():
        raise DataError(
            f"the {protocol} split holds nothing out: no user has enough interactions "
            "(or every held-out item is new); use more data or lower min_interactions"
        )

    # Re-index both sides on the users and items that occur in train.
    user_map = np.cumsum(train_users) - 1
    item_map = np.cumsum(train_items) - 1
    users = type(data.users)(data.users.ids[train_users])
    items = type(data.items)(data.items.ids[train_items])
    shape = (int(train_users.sum()), int(train_items.sum()))

    def part(mask: np.ndarray) -> Interactions:
        # coo of a sorted csr is in row-major order and the maps keep order, so the rows of
        # sub come out in the same order as data.times[mask].
        sub = sp.csr_matrix(
            (coo.data[mask], (user_map[coo.row[mask]], item_map[coo.col[mask]])),
            shape=shape,
            dtype=np.float32,
        )
        times = data.times[mask] if data.times is not None else None
        return Interactions(sub, users, items, times)

    train = part(train_mask)
    if data.events is not None:  # the lines of the train pairs, for time decay
        n_items = max(data.n_items, 1)
        keys = coo.row[train_mask].astype(np.int64) * n_items + coo.col[train_mask]
        lines = data.events.select(
            np.isin(data.events.user.astype(np.int64) * n_items + data.events.item, keys)
        )
        lines = replace(
            lines,
            user=user_map[lines.user].astype(np.int32),
            item=item_map[lines.item].astype(np.int32),
        )
        train = replace(train, events=lines)
    if data.item_names is not None:
        train = replace(train, item_names=data.item_names[train_items])
    return Split(train, part(warm), protocol, dropped)
