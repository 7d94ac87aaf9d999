"""A log where order decides: each customer walks the ring i -> i + 1 from a random start."""

from __future__ import annotations

import numpy as np
import polars as pl

#: A small sasrec that learns a chain in a second or two on one thread.
TINY_SASREC = {
    "factors": 16,
    "blocks": 1,
    "dropout": 0.0,
    "max_length": 8,
    "batch_size": 32,
    "learning_rate": 0.02,
    "threads": 1,
}


def chain_log(users: int, items: int, *, seed: int = 0) -> pl.DataFrame:
    """``user_id,item_id,timestamp``: each user's 4 to 8 steps round a ring of ``items``.

    The next item is the one after the last on the ring: a model that reads order predicts
    it, a set model sees {s, ..., s + n - 1} and cannot tell s - 1 from s + n. The ring visits
    the ids in a shuffled order (:func:`ring`), so sorting a customer's ids does not recover it.
    """
    rng = np.random.default_rng(seed)
    ids = ring(items, seed=seed)
    rows = []
    for user in range(users):
        start, length = int(rng.integers(items)), int(rng.integers(4, 9))
        rows += [(user, ids[(start + t) % items], 1000 + t) for t in range(length)]
    return pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")


def ring(items: int, *, seed: int = 0) -> list[int]:
    """The item ids in the order the ring visits them."""
    return [int(i) for i in np.random.default_rng(seed + 1).permutation(items)]
