"""Large synthetic purchase logs with low-rank structure, for benchmarks (``unrated synth``).

Generated from seeded random numbers only; equal arguments give equal frames.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from unrated._checks import check_float, check_int


def make_purchases(
    *,
    users: int,
    items: int,
    interactions: int,
    factors: int = 16,
    popularity_exponent: float = 1.0,
    seed: int = 0,
) -> pl.DataFrame:
    """Generate a large purchase log with low-rank structure, for benchmarks.

    Each user mixes ``factors`` tastes (topics, Dirichlet(0.1): one or two dominate) with the
    global popularity (a tenth of the rows); each item belongs to one main and one minor
    topic, and within a topic items are drawn by Zipf popularity, ``rank ** -exponent``.
    Users' activity is lognormal; each user is active over part of three years from 2015.
    20M rows take about 6 s (one core) and peak at about twice the returned frame's memory.

    Args:
        users: number of users. Every user has at least one row when ``interactions ≥
            users``; otherwise some users have none.
        items: number of items. Rarely drawn items may have no row at all, so the number of
            distinct items can be lower (more so for a larger ``popularity_exponent``).
        interactions: exactly this many rows; a (user, item) pair may repeat (a repeat
            purchase at another time).
        factors: number of topics; the user × item probability matrix has rank factors + 1.
        popularity_exponent: Zipf exponent of item popularity; 0 makes every item as popular.
        seed: the random seed.

    Returns:
        Columns ``user_id`` and ``item_id`` (int64, in ``[0, users)`` and ``[0, items)``) and
        ``timestamp`` (int64 Unix seconds), sorted by time.
    """
    owner = "make_purchases"
    users = check_int(users, "users", owner)
    items = check_int(items, "items", owner)
    interactions = check_int(interactions, "interactions", owner)
    factors = check_int(factors, "factors", owner)
    exponent = check_float(popularity_exponent, "popularity_exponent", owner)
    rng = np.random.default_rng(seed)

    # Topic -> item tables: main topic, minor topic (weight 1/4) and topic `factors` = global.
    popularity = (rng.permutation(items) + 1.0) ** -exponent
    topic = np.concatenate([rng.integers(0, factors, (2, items)).ravel(), np.full(items, factors)])
    by_topic = np.argsort(topic, kind="stable")
    weight = np.concatenate([popularity, 0.25 * popularity, popularity])[by_topic]
    cdf = np.cumsum(weight)
    table_item = np.tile(np.arange(items, dtype=np.int32), 3)[by_topic]
    ends = np.searchsorted(topic[by_topic], np.arange(factors + 1), side="right")
    starts = np.concatenate([[0], ends[:-1]])
    empty = ends == starts  # a topic without items (items < factors) draws from the global one
    starts[empty], ends[empty] = starts[-1], ends[-1]
    cdf_low = np.where(starts > 0, cdf[starts - 1], 0.0)
    cdf_high = cdf[ends - 1]

    activity = rng.lognormal(0.0, 1.0, users)
    floor = 1 if interactions >= users else 0
    counts = floor + rng.multinomial(interactions - floor * users, activity / activity.sum())
    span = 3 * 365 * 86400
    duration = span * np.minimum(1.0, rng.lognormal(np.log(0.15), 1.0, users))
    start = rng.random(users) * (span - duration)

    user_id = np.empty(interactions, dtype=np.int32)
    item_id = np.empty(interactions, dtype=np.int32)
    seconds = np.empty(interactions, dtype=np.int64)
    row_end = np.cumsum(counts)
    bounds = np.unique(np.searchsorted(row_end, np.arange(1 << 21, interactions, 1 << 21)))
    bounds = bounds[bounds > 0]  # blocks of whole users, about 2M rows each
    for first, last in zip(np.r_[0, bounds], np.r_[bounds, users], strict=True):
        block_counts = counts[first:last]
        lo, hi = int(row_end[first] - counts[first]), int(row_end[last - 1])
        taste = rng.dirichlet(np.full(factors, 0.1), size=last - first) * 0.9
        taste = np.hstack([taste, 1.0 - taste.sum(axis=1, keepdims=True)])
        topic_counts = rng.multinomial(block_counts, taste)
        row_topic = np.repeat(
            np.tile(np.arange(factors + 1, dtype=np.int32), last - first), topic_counts.ravel()
        )
        row_user = np.repeat(np.arange(first, last, dtype=np.int32), block_counts)
        target = cdf_low[row_topic] + rng.random(hi - lo) * (cdf_high - cdf_low)[row_topic]
        slot = np.searchsorted(cdf, target, side="right")
        slot = np.clip(slot, starts[row_topic], ends[row_topic] - 1)
        user_id[lo:hi] = row_user
        item_id[lo:hi] = table_item[slot]
        seconds[lo:hi] = start[row_user] + rng.random(hi - lo) * duration[row_user]
    order = _argsort_seconds(seconds)
    timestamp = seconds[order]
    del seconds
    timestamp += 1_420_070_400  # 2015-01-01
    frame = pl.DataFrame({"timestamp": timestamp})
    frame.insert_column(0, pl.Series("user_id", user_id[order].astype(np.int64)))
    del user_id
    frame.insert_column(1, pl.Series("item_id", item_id[order].astype(np.int64)))
    return frame


def _argsort_seconds(seconds: np.ndarray) -> np.ndarray:
    """Stable argsort of integers in [0, 2**32): two 16-bit radix passes, twice as fast."""
    low = np.argsort(seconds.astype(np.uint16), kind="stable")  # the cast keeps the low bits
    low = low.astype(np.int32 if len(seconds) < 2**31 else np.int64)
    high = np.empty(len(seconds), dtype=np.uint16)
    for start in range(0, len(seconds), 1 << 21):
        high[start : start + (1 << 21)] = seconds[start : start + (1 << 21)] >> 16
    return low[np.argsort(high[low], kind="stable")]
