"""Re-buys allowed: the repeat/explore split of Li et al. (TOIS 2023), exact on hand-made lists."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import unrated as ur
from unrated.evaluation.protocol import evaluate
from unrated.evaluation.repeat import repeat_explore
from unrated.evaluation.stats import bootstrap_indices, bootstrap_interval


def rows(sets: list[set[int]], n_items: int = 8) -> sp.csr_matrix:
    matrix = sp.lil_matrix((len(sets), n_items), dtype=np.float32)
    for row, items in enumerate(sets):
        for item in items:
            matrix[row, item] = 1.0
    return matrix.tocsr()


def test_repeat_explore_exact() -> None:
    ranked = np.array([[2, 0, 5], [1, 3, -1], [4, 6, 0]])
    history = rows([{0, 1}, {1, 3}, set()])
    relevant = rows([{0, 5, 7}, {4}, {6}])
    got = repeat_explore(ranked, relevant, history, (1, 3))
    # user 0: repeat {0} hit at rank 2; explore {5, 7}: 5 hit at rank 3; lists 2, 0, 5
    # user 1: no repeat item; explore {4} missed; both listed items are re-buys (list of 2)
    # user 2: no history; explore {6} hit at rank 2
    np.testing.assert_array_equal(got["repeat_recall@1"], [0, np.nan, np.nan])
    np.testing.assert_array_equal(got["repeat_recall@3"], [1, np.nan, np.nan])
    np.testing.assert_array_equal(got["explore_recall@1"], [0, 0, 0])
    np.testing.assert_array_equal(got["explore_recall@3"], [1 / 2, 0, 1])
    np.testing.assert_array_equal(got["repeat_share@1"], [0, 1, 0])
    np.testing.assert_array_equal(got["repeat_share@3"], [1 / 3, 1, 0])


def test_evaluate_with_re_buys_ranks_seen_items_and_splits_the_hits() -> None:
    # popularity x 3, y 2, z 1; user a has x and comes back for x and z
    train = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=np.float32))
    test = sp.csr_matrix(np.array([[1, 0, 1], [0, 0, 0], [0, 0, 0]], dtype=np.float32))
    model = ur.MODELS["popular"]().fit(train)
    without = evaluate(model, test, k=(1, 3))
    assert without.summary()["recall@1"] == 0  # y first, x excluded
    assert "repeat_recall@1" not in without.per_user and not without.include_seen
    report = evaluate(model, test, k=(1, 3), include_seen=True)
    summary = report.summary()
    assert summary["recall@1"] == 1 / 2 and summary["hit_rate@1"] == 1
    assert summary["repeat_recall@1"] == 1 and summary["explore_recall@1"] == 0
    assert summary["explore_recall@3"] == 1 and summary["repeat_share@3"] == 1 / 3
    assert "re-buys allowed" in report.to_dict()["protocol"]


def test_bootstrap_leaves_out_users_a_metric_does_not_apply_to() -> None:
    values = np.array([1.0, np.nan, 0.0, np.nan])
    interval = bootstrap_interval(values, bootstrap_indices(4, rounds=200))
    assert interval.mean == 0.5 and 0 <= interval.low <= interval.high <= 1
    assert np.isnan(bootstrap_interval(np.full(3, np.nan), bootstrap_indices(3)).mean)


@pytest.mark.parametrize("include_seen", [False, True])
def test_report_json_names_the_protocol(include_seen: bool) -> None:
    train = sp.csr_matrix(np.array([[1, 0], [1, 1]], dtype=np.float32))
    test = sp.csr_matrix(np.array([[0, 1], [0, 0]], dtype=np.float32))
    report = evaluate(ur.MODELS["popular"]().fit(train), test, k=1, include_seen=include_seen)
    document = report.to_dict()
    assert document["include_seen"] is include_seen
    if include_seen:
        assert document["metrics"]["repeat_recall@1"] is None  # no user re-bought
        assert document["metrics"]["explore_recall@1"] == 0
