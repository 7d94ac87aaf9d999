"""The negatives study for sasrec: the loss × negatives table, on a log where order decides."""

from __future__ import annotations

import math

import numpy as np
import pytest

import unrated as ur
from tests.chains import TINY_SASREC, chain_log
from unrated.data.split import split_last
from unrated.evaluation import study
from unrated.evaluation.study import SASREC_GRID, pair_scores, setting_label, study_negatives

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def split() -> ur.Split:
    return split_last(ur.read_interactions(chain_log(200, 30)))


@pytest.mark.slow
def test_sasrec_table_reads_the_order_mf_cannot(split: ur.Split) -> None:
    frame = study_negatives(split.train, split.test, model="sasrec", k=5, epochs=8, **TINY_SASREC)
    rows = frame.to_dicts()
    assert [(r["sampler"], r["negatives"], r["resample"], r["loss"]) for r in rows] == SASREC_GRID
    assert {r["model"] for r in rows} == {"sasrec"}
    assert setting_label(rows[0]) == "uni·1·bce" and setting_label(rows[-1]) == "all·softmax"
    assert "negatives" not in rows[-1]["spec"]  # the full softmax draws none
    for row in rows:
        probability = row["loss"] in ("bce", "gbce")
        assert math.isnan(row["pair_accuracy"]) != probability, row
    softmax = rows[-1]["ndcg"]
    mf = study_negatives(split.train, split.test, model="mf", k=5, epochs=8, validation=0)
    assert softmax >= 0.9 > mf["ndcg"].max()  # the next item follows the last: order pays


def test_pair_scores_gather_the_score_matrix_chunk_by_chunk(
    split: ur.Split, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ur.EmbeddingMF(epochs=2, validation=0).fit(split.train, progress=False)
    rng = np.random.default_rng(1)
    users = rng.integers(0, split.train.n_users, 500)
    items = rng.integers(0, split.train.n_items, 500)
    monkeypatch.setattr(study, "SCORE_CHUNK", 7)
    expected = model.score_positions(np.arange(split.train.n_users))[users, items]
    np.testing.assert_array_equal(pair_scores(model, users, items), expected)
