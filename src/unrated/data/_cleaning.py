"""Shop exports as they come: the rows that are no purchase, dropped and counted (``clean=True``).

A shop's order log holds rows that are not a customer buying an item: guest checkouts (no
customer id), lines without an item id, returns and cancellations (a negative quantity),
zero quantities, and purchases that a later return took back in full. :func:`clean_rows`
drops them, every one counted by reason in one warning line; partial returns leave the
purchase as it is (the customer kept some). A file where no row is left is an error.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl

from unrated.data._cells import Places, exact_ids, numbers
from unrated.errors import DataError

#: What the CLI calls the option (named in the hints of the errors it avoids).
CLEAN_FLAG = "--clean"


def _empty(column: pl.Series) -> np.ndarray:
    empty = column.is_null()
    if column.dtype == pl.String:
        empty = empty | (column.str.strip_chars() == "")
    return np.asarray(empty.to_numpy(), dtype=bool)


def clean_rows(
    frame: pl.DataFrame, places: Places, user: str, item: str, weight: str | None
) -> tuple[pl.DataFrame, Places, str | None]:
    """The purchase rows of ``frame``, their places, and the warning that counts the others.

    ``weight`` is the quantity column (returns are negative), None for none. The warning
    is None when every row is kept.

    Raises:
        DataError: no row is a purchase (the message counts the reasons).
    """
    n = frame.height
    guest = _empty(frame[user])
    no_item = _empty(frame[item]) & ~guest
    usable = ~guest & ~no_item
    reasons = [
        (int(guest.sum()), f"without a {user} (guest checkouts)"),
        (int(no_item.sum()), f"without a {item}"),
    ]
    if weight is not None:
        values = numbers(frame[weight], places, what="weight")
        negative, zero = usable & (values < 0), usable & (values == 0)
        netted = _returned_in_full(frame, places, user, item, values, usable)
        usable &= ~negative & ~zero & ~netted
        reasons += [
            (int(negative.sum()), f"with a negative {weight} (returns, cancellations)"),
            (int(zero.sum()), f"with {weight} 0"),
            (int(netted.sum()), "bought and then returned in full (netted out)"),
        ]
    dropped = n - int(usable.sum())
    counted = "; ".join(f"{count:,} {why}" for count, why in reasons if count)
    if not usable.any():
        raise DataError(f"no purchase left: all {n:,} rows dropped ({counted})", path=places.path)
    if not dropped:
        return frame, places, None
    kept = np.flatnonzero(usable)
    records = places.records[kept] if places.records is not None else kept
    warning = f"{dropped:,} of {n:,} rows dropped: {counted}"
    if places.path is not None:
        warning = f"{places.path}: {warning}"
    return frame.filter(pl.Series(usable)), replace(places, records=records), warning


def _returned_in_full(
    frame: pl.DataFrame,
    places: Places,
    user: str,
    item: str,
    values: np.ndarray,
    usable: np.ndarray,
) -> np.ndarray:
    """Purchase rows (> 0) of (user, item) pairs whose returns (< 0) add up to all they bought."""
    if not (usable & (values < 0)).any():
        return np.zeros(len(values), dtype=bool)
    lines = pl.DataFrame(
        {
            "u": exact_ids(frame[user], places),
            "i": exact_ids(frame[item], places),
            "w": values,
            "row": np.arange(len(values)),
        }
    ).filter(pl.Series(usable))
    pairs = lines.group_by("u", "i").agg(
        bought=pl.col("w").clip(lower_bound=0).sum(),
        returned=(-pl.col("w")).clip(lower_bound=0).sum(),
    )
    gone = pairs.filter((pl.col("returned") > 0) & (pl.col("returned") >= pl.col("bought")))
    rows = lines.join(gone, on=["u", "i"]).filter(pl.col("w") > 0)["row"].to_numpy()
    netted = np.zeros(len(values), dtype=bool)
    netted[rows] = True
    return netted
