"""The basket split (each customer's last basket held out) and time decay (--half-life)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated as ur
from unrated.data.decay import decay
from unrated.data.split import split_basket, split_by_time, split_data

DAY = 86_400
#: a: three baskets (o1 {x, y}, o2 {x}, o3 {x, z}); b: two (o4 {y}, o5 {y, w}); c: one (o6 {x}).
LOG = f"""user_id,item_id,order_id,timestamp,quantity
a,x,o1,{1 * DAY},2
a,y,o1,{1 * DAY},1
a,x,o2,{3 * DAY},1
b,y,o4,{2 * DAY},1
a,x,o3,{5 * DAY},1
a,z,o3,{5 * DAY},1
b,y,o5,{4 * DAY},3
b,w,o5,{4 * DAY},1
c,x,o6,{5 * DAY},1
"""


@pytest.fixture
def log(tmp_path: Path) -> ur.Interactions:
    path = tmp_path / "log.csv"
    path.write_text(LOG, encoding="utf-8")
    return ur.read_interactions(path)


def test_last_basket_of_each_customer_with_two_is_held_out(log: ur.Interactions) -> None:
    split = split_basket(log)
    train, test = split.train, split.test
    assert split.protocol == "basket(last basket of users with ≥ 2 baskets)"
    assert train.users.ids.tolist() == ["a", "b", "c"]
    assert train.items.ids.tolist() == ["x", "y"]  # z and w only in held-out baskets
    assert train.matrix.toarray().tolist() == [[3, 1], [0, 1], [1, 0]]
    # a's last basket {x, z}: z is new to train and dropped; b's {y, w}: w dropped
    assert test.matrix.toarray().tolist() == [[1, 0], [0, 3], [0, 0]]
    assert split.dropped_test_pairs == 2
    events = train.events
    assert events is not None and events.basket_ids is not None
    assert events.basket_ids.tolist() == ["o1", "o2", "o4", "o6"]
    assert events.basket.tolist() == [0, 0, 1, 2, 3]
    assert split_data(log, "basket").test.nnz == 2


def test_basket_split_needs_baskets(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text("user_id,item_id\na,x\na,y\n", encoding="utf-8")
    with pytest.raises(ur.DataError, match="the 'basket' split needs baskets"):
        split_basket(ur.read_interactions(path))
    path.write_text("user_id,item_id,order_id\na,x,1\nb,y,2\n", encoding="utf-8")
    with pytest.raises(ur.DataError, match="no user has 2 or more baskets"):
        split_basket(ur.read_interactions(path))


def test_half_life_weights_each_line_by_its_age(log: ur.Interactions) -> None:
    decayed = decay(log, 2.0)  # newest time: day 5
    # a-x: 2 units at day 1 (age 4: 1/4), 1 at day 3 (age 2: 1/2), 1 at day 5 (age 0: 1)
    expected = {("a", "x"): 2 / 4 + 1 / 2 + 1, ("b", "y"): 1 / 2**1.5 + 3 / 2**0.5}
    for (user, item), weight in expected.items():
        row = decayed.users.positions([user], kind="user")[0]
        column = decayed.items.positions([item], kind="item")[0]
        assert decayed.matrix[row, column] == pytest.approx(weight, rel=1e-6)
    assert np.array_equal(decayed.matrix.indices, log.matrix.indices)  # same pairs


def test_half_life_needs_times_and_follows_the_time_split(tmp_path: Path) -> None:
    path = tmp_path / "baskets.csv"
    path.write_text("user_id,item_id,order_id\na,x,1\n", encoding="utf-8")
    with pytest.raises(ur.DataError, match="--half-life needs a time column"):
        decay(ur.read_interactions(path), 30.0)
    lines = [
        ("a", "x", 1),
        ("a", "x", 3),
        ("a", "y", 4),
        ("b", "x", 2),
        ("b", "y", 5),
        ("c", "y", 1),
    ]
    path.write_text(
        "user_id,item_id,timestamp\n" + "".join(f"{u},{i},{t * DAY}\n" for u, i, t in lines),
        encoding="utf-8",
    )
    split = split_by_time(ur.read_interactions(path), cutoff=4 * DAY)
    assert split.test.nnz == 2  # a-y and b-y; the lines of a-x at day 1 and 3 stay in train
    decayed = decay(split.train, 1.0)  # the newest train line: day 3
    assert decayed.matrix.toarray() == pytest.approx(
        np.array([[1 / 4 + 1, 0], [1 / 2, 0], [0, 1 / 4]]), rel=1e-6
    )


def test_item_names_follow_the_split_into_train_csv(tmp_path: Path) -> None:
    from tests.data.test_clean import EXPORT
    from unrated.data.interactions import events_to_frame

    path = tmp_path / "export.csv"
    path.write_text(EXPORT, encoding="utf-8")
    with pytest.warns(ur.DataWarning):
        data = ur.read_interactions(path, clean=True)
    split = split_basket(data)  # 13047's last basket (536369, hearts) is held out
    assert split.train.item_names is not None
    assert split.train.item_names.tolist() == ["WHITE METAL LANTERN", "WHITE HANGING HEART"]
    frame = events_to_frame(split.train)
    assert frame.columns == ["user_id", "item_id", "weight", "timestamp", "basket_id", "item_name"]
    assert frame["item_name"].to_list() == [
        "WHITE METAL LANTERN",
        "WHITE HANGING HEART",
        "WHITE HANGING HEART",
    ]
    frame.write_csv(tmp_path / "train.csv")
    again = ur.read_interactions(tmp_path / "train.csv")
    assert again.item_names is not None and again.item_names.tolist() == data.item_names.tolist()
    rows = [(user, item, f"name {item}") for user in "abcd" for item in "vwxyz"]
    titled = ur.read_interactions(
        pl.DataFrame(rows, schema=["user", "item", "title"], orient="row")
    )
    holdout = split_data(titled, "holdout")
    assert holdout.train.item_names is not None
    assert holdout.train.item_names.tolist() == [f"name {i}" for i in holdout.train.items.ids]
