from __future__ import annotations

import numpy as np
import pytest

import unrated as ur


def pairs(data: ur.Interactions) -> set[tuple[str, str]]:
    coo = data.matrix.tocoo()
    return set(
        zip(data.users.take(coo.row).tolist(), data.items.take(coo.col).tolist(), strict=True)
    )


def test_holdout_partitions_and_is_deterministic(ml100k: ur.Interactions) -> None:
    split = ur.split_holdout(ml100k, fraction=0.2, seed=0)
    train, test = pairs(split.train), pairs(split.test)
    assert not train & test
    assert len(train) + len(test) + split.dropped_test_pairs == ml100k.nnz
    assert train | test <= pairs(ml100k)
    again = ur.split_holdout(ml100k, fraction=0.2, seed=0)
    assert pairs(again.test) == test
    assert pairs(ur.split_holdout(ml100k, fraction=0.2, seed=1).test) != test
    # every ML-100k user has ≥ 20 ratings: each gives round(20%) of them
    counts = np.diff(ml100k.matrix.indptr)
    assert abs(split.test.nnz + split.dropped_test_pairs - np.round(0.2 * counts).sum()) == 0


def test_holdout_keeps_small_users_in_train(checkerboard: ur.Interactions) -> None:
    split = ur.split_holdout(checkerboard, min_interactions=3)
    assert (np.diff(split.test.matrix.indptr) == 1).all()  # 3 items each: round(0.6) = 1 out
    with pytest.raises(ur.DataError, match="holds nothing out: no user has enough interactions"):
        ur.split_holdout(checkerboard, min_interactions=5)


def test_last_holds_out_the_latest_item(ml100k: ur.Interactions) -> None:
    split = ur.split_last(ml100k)
    assert (np.diff(split.test.matrix.indptr) <= 1).all()
    assert split.test.times is not None and split.train.times is not None
    for user in range(0, 900, 97):
        test_times = split.test.times[
            split.test.matrix.indptr[user] : split.test.matrix.indptr[user + 1]
        ]
        train_times = split.train.times[
            split.train.matrix.indptr[user] : split.train.matrix.indptr[user + 1]
        ]
        if len(test_times):
            assert test_times[0] >= train_times.max()


def test_time_split_tests_on_the_future(ml100k: ur.Interactions) -> None:
    split = ur.split_by_time(ml100k, fraction=0.2)
    assert split.train.times is not None and split.test.times is not None
    assert split.train.times.max() < split.test.times.min()


def test_time_split_needs_times() -> None:
    import scipy.sparse as sp

    data = ur.read_interactions(sp.csr_matrix(np.eye(3)))
    with pytest.raises(ur.DataError, match="needs a time column"):
        ur.split_by_time(data)
