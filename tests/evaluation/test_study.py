from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import unrated as ur
from unrated.evaluation.study import SMALL_GRID, pair_accuracy, plot_study, study_negatives


def test_study_reports_every_setting_and_plots(ml100k_split: ur.Split, tmp_path: Path) -> None:
    frame = study_negatives(ml100k_split.train, ml100k_split.test, epochs=2, validation=0)
    assert frame.height == len(SMALL_GRID)
    first = frame.row(0, named=True)
    assert (first["sampler"], first["negatives"], first["resample"], first["loss"]) == (
        "uniform",
        1,
        "once",
        "mse",
    )  # the common first attempt comes first
    assert 0.5 < first["pair_accuracy"] <= 1.0
    ranking_losses = frame.filter(frame["loss"].is_in(["bpr", "softmax"]))
    assert all(math.isnan(v) for v in ranking_losses["pair_accuracy"])
    assert (frame["ndcg"] > 0).all()
    path = plot_study(frame, tmp_path / "study.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pair_accuracy_of_a_constant_prediction_is_one_half(ml100k_split: ur.Split) -> None:
    model = ur.EmbeddingMF(loss="bce", epochs=1, validation=0).fit(ml100k_split.train)
    model.user_factors_ = np.zeros_like(model.user_factors_)
    model.user_bias_ = np.zeros_like(model.user_bias_)
    model.item_bias_ = np.full_like(model.item_bias_, -5.0)
    assert pair_accuracy(model, ml100k_split.test) == 0.5  # everything predicted 0
