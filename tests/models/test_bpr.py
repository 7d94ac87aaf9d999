from __future__ import annotations

import itertools

import numba
import numpy as np
import pytest

import unrated as ur
from unrated.models._bpr_kernels import _round_robin


@pytest.fixture(scope="module")
def bpr15(ml100k_split: ur.Split) -> ur.BPR:
    """15 epochs on ML-100k, fitted once for the tests that only read it."""
    return ur.BPR(epochs=15, validation=0).fit(ml100k_split.train)


def test_ndcg_floor_on_movielens(bpr15: ur.BPR, ml100k_split: ur.Split) -> None:
    assert ur.evaluate(bpr15, ml100k_split, k=20).summary()["ndcg@20"] >= 0.37


def test_same_seed_gives_identical_factors_on_any_thread_count(ml100k_split: ur.Split) -> None:
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = ur.BPR(epochs=3, validation=0, seed=4).fit(ml100k_split.train)
        numba.set_num_threads(max(2, threads))
        two = ur.BPR(epochs=3, validation=0, seed=4).fit(ml100k_split.train)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(one.item_factors_, two.item_factors_)
    np.testing.assert_array_equal(one.user_factors_, two.user_factors_)
    other = ur.BPR(epochs=3, validation=0, seed=5).fit(ml100k_split.train)
    assert not np.array_equal(one.item_factors_, other.item_factors_)


def test_strata_of_a_round_share_no_item_block() -> None:
    rounds, slots = _round_robin(8)
    for r in range(7):
        pairs = [
            (a, b)
            for a, b in itertools.combinations_with_replacement(range(8), 2)
            if rounds[a, b] == r
        ]
        by_slot: dict[int, set[int]] = {}
        for a, b in pairs:
            by_slot.setdefault(int(slots[a, b]), set()).update((a, b))
        blocks = [block for members in by_slot.values() for block in members]
        assert len(blocks) == len(set(blocks))  # slots of one round are disjoint
    assert {(a, b) for a in range(8) for b in range(8)} == {
        (a, b) for a in range(8) for b in range(8) if 0 <= rounds[a, b] < 7
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"factors": 0}, "'factors' parameter of BPR must be an int ≥ 1. Got 0"),
        ({"sampler": "zipf"}, "'sampler' parameter of BPR must be one of"),
        ({"resample": "never"}, "'resample' parameter of BPR"),
        ({"learning_rate": 0}, "'learning_rate' parameter of BPR must be a number > 0"),
        ({"validation": 0.9}, "'validation' parameter of BPR"),
    ],
)
def test_bad_parameters(
    params: dict[str, object], message: str, checkerboard: ur.Interactions
) -> None:
    with pytest.raises(ur.InvalidParameterError, match=message):
        ur.BPR(**params).fit(checkerboard)  # type: ignore[arg-type]
