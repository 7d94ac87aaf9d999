from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import unrated as ur
from unrated.data.interactions import reindex
from unrated.evaluation.metrics import PER_USER_METRICS, hit_matrix
from unrated.models.registry import MODELS


def test_report_keeps_per_user_values(ml100k_split: ur.Split) -> None:
    report = ur.evaluate(ur.Popular().fit(ml100k_split.train), ml100k_split, k=(5, 20))
    assert report.k == (5, 20)
    assert set(report.per_user) >= {"ndcg@5", "ndcg@20", "recall@20", "truncated_recall@20"}
    assert all(len(v) == report.n_users for v in report.per_user.values())
    assert report.summary()["ndcg@20"] == pytest.approx(report.per_user["ndcg@20"].mean())
    assert report.to_frame().height == report.n_users
    assert "holdout" in report.to_dict()["split"]


def test_test_file_with_other_ids_is_reindexed(ml100k_split: ur.Split) -> None:
    model = ur.EASE().fit(ml100k_split.train)
    direct = ur.evaluate(model, ml100k_split)
    coo = ml100k_split.test.matrix.tocoo()
    frame = pl.DataFrame(
        {
            "user_id": ml100k_split.test.users.take(coo.row).tolist() + ["stranger"],
            "item_id": ml100k_split.test.items.take(coo.col).tolist() + ["1"],
        }
    )
    via_frame = ur.evaluate(model, frame)
    assert via_frame.dropped_test_pairs == 1
    np.testing.assert_allclose(via_frame.summary()["ndcg@20"], direct.summary()["ndcg@20"])


def test_bad_k(ml100k_split: ur.Split) -> None:
    with pytest.raises(ur.InvalidParameterError, match="k must be"):
        ur.evaluate(ur.Popular().fit(ml100k_split.train), ml100k_split, k=0)


#: NDCG@20 of the defaults on this split, as in benchmarks/results (ML-100k compare).
REFERENCE_NDCG = {"ease": 0.4397, "ials": 0.4448}  # ease: scaled λ 152.7 (0.4464 at 250)


@pytest.mark.parametrize("key", ["ease", "ials"])
def test_evaluation_ranks_exactly_as_the_public_recommend(key: str, ml100k_split: ur.Split) -> None:
    model = MODELS[key]().fit(ml100k_split.train)
    report = ur.evaluate(model, ml100k_split, k=(10, 20))
    user_idx = model.users_.positions(report.user_ids.tolist(), kind="user")
    relevant = reindex(ml100k_split.test, model.users_, model.items_)[0].matrix[user_idx]
    lists = model.recommend(report.user_ids, k=20).item_idx  # ids in, ids out: the old path
    hits = hit_matrix(lists, relevant)
    n_relevant = np.diff(relevant.indptr)
    for name, metric in PER_USER_METRICS.items():
        for cutoff in (10, 20):
            expected = metric(hits, n_relevant, cutoff)
            np.testing.assert_array_equal(report.per_user[f"{name}@{cutoff}"], expected)
    assert round(report.summary()["ndcg@20"], 4) == REFERENCE_NDCG[key]


def test_unfitted_model_is_refused(ml100k_split: ur.Split) -> None:
    with pytest.raises(ur.NotFittedError, match="This EASE instance is not fitted yet"):
        ur.evaluate(ur.EASE(), ml100k_split)
