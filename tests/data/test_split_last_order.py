"""split_last is leave-last-out in the data's order: ties in time go to the later line."""

from __future__ import annotations

import numpy as np
import polars as pl

import unrated as ur
from unrated.data.split import split_data


def held_out(split: ur.Split) -> dict[str, str]:
    coo = split.test.matrix.tocoo()
    users, items = split.test.users.take(coo.row), split.test.items.take(coo.col)
    return dict(zip(users.tolist(), items.tolist(), strict=True))


def train_sequences(split: ur.Split) -> dict[str, list[str]]:
    events = split.train.events
    assert events is not None
    users = split.train.users.take(events.user).tolist()
    items = split.train.items.take(events.item).tolist()
    out: dict[str, list[str]] = {}
    for user, item in zip(users, items, strict=True):
        out.setdefault(user, []).append(item)
    return out


def tied_lines() -> pl.DataFrame:
    """a's last two lines share a time (z written before y); b's times all differ."""
    rows = [
        ("a", "x", 1),
        ("a", "z", 2),
        ("a", "y", 2),
        ("b", "z", 0),
        ("b", "y", 1),
        ("b", "x", 2),
    ]
    return pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")


def test_a_tie_in_time_goes_to_the_later_line_not_the_larger_id() -> None:
    frame = tied_lines()
    assert held_out(ur.split_last(ur.read_interactions(frame))) == {"a": "y", "b": "x"}
    swapped = pl.concat([frame[[0, 2, 1]], frame[3:]])  # a's tied lines the other way round
    assert held_out(ur.split_last(ur.read_interactions(swapped))) == {"a": "z", "b": "x"}


def test_train_keeps_the_rest_in_order_as_a_sequential_model_reads_it() -> None:
    rng = np.random.default_rng(0)
    sequences = {f"u{u}": [f"i{j}" for j in rng.permutation(9)[: 3 + u]] for u in range(5)}
    rows = [(u, item, t) for u, items in sequences.items() for t, item in enumerate(items)]
    shuffled = [rows[i] for i in rng.permutation(len(rows))]  # file order says nothing
    frame = pl.DataFrame(shuffled, schema=["user_id", "item_id", "position"], orient="row")
    split = ur.split_last(ur.read_interactions(frame, time_col="position"))
    assert held_out(split) == {u: items[-1] for u, items in sequences.items()}
    assert train_sequences(split) == {u: items[:-1] for u, items in sequences.items()}


def test_a_repeat_stays_in_train_the_latest_new_item_is_held_out() -> None:
    rows = [("a", "x", 1), ("a", "y", 2), ("a", "x", 3), ("b", "y", 1), ("b", "x", 2)]
    frame = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    split = split_data(ur.read_interactions(frame), "last")  # as compare --protocol last
    assert held_out(split) == {"a": "y", "b": "x"}  # a's x is no new item: it was bought at 1
    assert train_sequences(split) == {"a": ["x", "x"], "b": ["y"]}


def test_without_lines_ties_still_go_to_the_larger_index() -> None:
    frame = tied_lines()
    data = ur.read_interactions(frame)
    bare = ur.Interactions(data.matrix, data.users, data.items, data.times)
    assert held_out(ur.split_last(bare)) == {"a": "z", "b": "x"}
