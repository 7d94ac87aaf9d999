"""The new-items split: can a model recommend products nobody bought yet?

Products first sold in the last ``days`` days of the log are held out with every purchase of
them; train is everything else. Unlike the other splits, train keeps the new products in its
vocabulary (with no purchases), so every model ranks them with the others: a collaborative
model knows nothing of them (iALS scores them 0), a content or hybrid model describes them by
their features. Test holds the new products' buyers (those with a purchase in train) and what
they bought of them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from unrated._checks import check_float
from unrated.data.decay import SECONDS_PER_DAY
from unrated.data.ids import IdIndex
from unrated.data.interactions import Interactions, build_interactions
from unrated.data.split import Split
from unrated.errors import DataError


def split_new_items(data: Interactions, *, days: float = 30.0) -> Split:
    """Hold out the products first sold in the last ``days`` days, and every purchase of them.

    Times are read as seconds (dates, Unix timestamps). Purchases of new products by
    customers with nothing else (unknown to a model fitted on train) are dropped and counted.

    Raises:
        DataError: the data has no times, or no product (or every one) is that new.
    """
    days = check_float(days, "days", "split_new_items", minimum=0.0, inclusive=False)
    times = data.times
    if times is None:
        raise DataError(
            "the 'new-items' split needs a time column (timestamp, date, InvoiceDate, ...; or "
            "--time-col) to know when each product was first sold, and the data has none"
        )
    coo = data.matrix.tocoo()  # row-major, like data.times
    first_sold = np.full(data.n_items, np.inf)
    np.minimum.at(first_sold, coo.col, times)
    cutoff = float(times.max()) - days * SECONDS_PER_DAY
    new = np.isfinite(first_sold) & (first_sold >= cutoff)
    if not new.any() or new.all():
        which = "no product was" if not new.any() else "every product was"
        raise DataError(f"{which} first sold in the last {days:g} days: nothing to hold out")
    in_test = new[coo.col]
    train_users = np.bincount(coo.row[~in_test], minlength=data.n_users) > 0
    kept = in_test & train_users[coo.row]
    user_map = np.cumsum(train_users) - 1
    users = IdIndex(data.users.ids[train_users])

    def part(mask: np.ndarray) -> Interactions:
        return build_interactions(
            user_map[coo.row[mask]],
            coo.col[mask],
            coo.data[mask],
            users,
            data.items,
            times[mask],
        )

    train = replace(part(~in_test), item_names=data.item_names)
    if data.events is not None:  # the lines of the train pairs, for time decay
        lines = data.events.select(~new[data.events.item])
        train = replace(train, events=replace(lines, user=user_map[lines.user].astype(np.int32)))
    name = (
        f"new-items({int(new.sum()):,} products first sold in the last {days:g} days, "
        "ranked with every other)"
    )
    return Split(train, part(kept), name, int(in_test.sum() - kept.sum()))
