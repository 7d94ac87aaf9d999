from __future__ import annotations

import numpy as np
import pytest

import unrated as ur
from unrated.data.ids import IdIndex


def test_string_round_trip_through_arrays() -> None:
    index = IdIndex(["007", "ä,b", "", " x "])
    assert IdIndex.from_arrays(index.to_arrays()) == index


def test_int_round_trip() -> None:
    index = IdIndex(np.array([5, -3, 2**62]))
    assert IdIndex.from_arrays(index.to_arrays()) == index


def test_lookup_coerces_between_int_and_text() -> None:
    assert IdIndex(["42", "7"]).positions([42, "7"], kind="user").tolist() == [0, 1]
    assert IdIndex([42, 7]).positions(["7", np.int64(42)], kind="user").tolist() == [1, 0]


def test_unknown_ids_are_named() -> None:
    with pytest.raises(ur.UnknownIdError, match="2 unknown users: 'x', 'y'"):
        IdIndex(["a"]).positions(["x", "a", "y"], kind="user")
    assert IdIndex(["a"]).positions(["x", "a"], kind="user", missing="mark").tolist() == [-1, 0]


def test_take_pads_with_none() -> None:
    assert IdIndex(["a", "b"]).take(np.array([1, -1])).tolist() == ["b", None]
