"""Interactions.events: the lines in baskets, found by a basket column's name, by time, or named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import unrated as ur

LOG = """customer,sku,{basket},time
b,x,o2,5
a,y,o1,1
a,x,o1,1
a,z,o3,3
b,y,o2,5
a,x,o3,3
"""


def write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("basket", ["order_id", "InvoiceNo", "basket_id", "transaction_id"])
def test_basket_found_by_name(tmp_path: Path, basket: str) -> None:
    data = ur.read_interactions(write(tmp_path, LOG.format(basket=basket)))
    events = data.events
    assert events is not None and data.columns is not None
    assert data.columns.basket == basket
    assert f"basket={basket}" in str(data.columns)
    # user a's baskets o1 (t=1), o3 (t=3), then b's o2: sorted by user, then time
    assert events.basket_ids is not None and events.basket_ids.tolist() == ["o1", "o3", "o2"]
    assert events.basket.tolist() == [0, 0, 1, 1, 2, 2]
    assert data.users.take(events.user).tolist() == ["a", "a", "a", "a", "b", "b"]
    assert data.items.take(events.item).tolist() == ["y", "x", "z", "x", "x", "y"]
    assert events.basket_starts.tolist() == [0, 2, 4, 6]
    assert events.basket_users.tolist() == [0, 0, 1]
    assert events.basket_times is not None and events.basket_times.tolist() == [1, 3, 5]
    assert events.user_basket_starts(data.n_users).tolist() == [0, 2, 3]


def test_baskets_by_timestamp_without_a_basket_column(tmp_path: Path) -> None:
    text = "user_id,item_id,timestamp\na,x,7\na,y,7\na,x,2\nb,x,7\na,z,9\n"
    data = ur.read_interactions(write(tmp_path, text))
    events = data.events
    assert events is not None and events.basket_ids is None
    assert data.columns is not None and data.columns.basket is None
    # a: {x}@2, {x,y}@7, {z}@9; b: {x}@7
    assert events.basket.tolist() == [0, 1, 1, 2, 3]
    assert data.items.take(events.item).tolist() == ["x", "x", "y", "z", "x"]
    assert events.time is not None and events.time.tolist() == [2, 7, 7, 9, 7]
    assert events.n_baskets == 4


def test_basket_named_by_option_and_without_time(tmp_path: Path) -> None:
    text = "user_id,item_id,ticket\na,x,t9\na,y,t9\na,x,t1\nb,x,t9\n"
    assert ur.read_interactions(write(tmp_path, text)).events is None
    data = ur.read_interactions(write(tmp_path, text), basket_col="ticket")
    events = data.events
    assert events is not None and events.time is None and events.basket_times is None
    # no time: a's baskets in the order their first line comes in the file (t9, then t1);
    # the same id under another user is another basket
    assert events.basket_ids is not None and events.basket_ids.tolist() == ["t9", "t1", "t9"]
    assert events.basket.tolist() == [0, 0, 1, 2]


def test_basket_column_ignored_with_empty_name(tmp_path: Path) -> None:
    data = ur.read_interactions(write(tmp_path, LOG.format(basket="order_id")), basket_col="")
    assert data.columns is not None and data.columns.basket is None
    assert "order_id" in data.columns.ignored
    assert data.events is not None and data.events.basket_ids is None  # baskets by time


def test_no_events_without_basket_or_time(tmp_path: Path) -> None:
    data = ur.read_interactions(write(tmp_path, "user_id,item_id\na,x\na,x\n"))
    assert data.events is None
    assert data.matrix.toarray().tolist() == [[2.0]]


def test_events_sum_to_the_matrix_and_leave_it_unchanged(tmp_path: Path) -> None:
    text = "user_id,item_id,quantity,order_id\na,x,2,o1\na,x,3,o2\na,y,0,o2\nb,y,1,o3\n"
    with pytest.warns(ur.DataWarning, match="1 rows with weight 0"):
        data = ur.read_interactions(write(tmp_path, text))
    events = data.events
    assert events is not None
    assert events.weight.tolist() == [2, 3, 1]  # the zero line is dropped from events too
    summed = np.zeros(data.matrix.shape)
    np.add.at(summed, (events.user, events.item), events.weight)
    np.testing.assert_array_equal(summed, data.matrix.toarray())
    with pytest.warns(ur.DataWarning):
        without = ur.read_interactions(write(tmp_path, text), basket_col="")
    assert without.events is None
    assert without.fingerprint() == data.fingerprint()


def test_select_renumbers_baskets(tmp_path: Path) -> None:
    events = ur.read_interactions(write(tmp_path, LOG.format(basket="order_id"))).events
    assert events is not None
    kept = events.select(events.basket != 1)
    assert kept.basket.tolist() == [0, 0, 1, 1]
    assert kept.basket_ids is not None and kept.basket_ids.tolist() == ["o1", "o2"]
