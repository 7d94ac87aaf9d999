"""The negative-sampling study: which choices matter for ``mf``, and why accuracy misleads.

Trains ``mf`` over a grid of sampler × negatives per positive × resampling × loss and
reports, for each, full-ranking NDCG@K, Recall@K and coverage next to the number a naive
evaluation shows: accuracy on balanced pairs (each test positive against one random item
the user never touched, threshold 0.5 on the predicted probability — σ(s) for bce, s for
mse; undefined for the ranking losses bpr and softmax). See Krichene & Rendle 2020 on
sampled metrics.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from unrated.data.interactions import Interactions, reindex
from unrated.data.io import read_interactions
from unrated.data.negatives import NegativeSampler
from unrated.evaluation.protocol import evaluate
from unrated.models.embedding_mf import EmbeddingMF
from unrated.models.registry import format_spec

#: The full grid (issue 4): sampler × negatives × resample × loss.
FULL_GRID = list(
    itertools.product(
        ("uniform", "popularity"), (1, 4, 16), ("once", "epoch"), ("mse", "bce", "bpr", "softmax")
    )
)
#: The default grid: the common first attempt, then one change at a time towards the best.
SMALL_GRID = [
    ("uniform", 1, "once", "mse"),
    ("uniform", 1, "epoch", "mse"),
    ("uniform", 1, "epoch", "bce"),
    ("uniform", 4, "epoch", "bce"),
    ("popularity", 4, "epoch", "bce"),
    ("uniform", 4, "epoch", "bpr"),
    ("uniform", 16, "epoch", "softmax"),
    ("popularity", 16, "epoch", "softmax"),
]
COLUMNS = (
    "sampler",
    "negatives",
    "resample",
    "loss",
    "ndcg",
    "recall",
    "coverage",
    "pair_accuracy",
    "fit_seconds",
    "spec",
)


def study_negatives(
    train: Any,
    test: Any,
    *,
    full: bool = False,
    k: int = 20,
    seed: int = 0,
    progress: Any = None,
    **params: Any,
) -> pl.DataFrame:
    """Fit ``mf`` for each grid setting on ``train`` and score it on ``test``.

    Args:
        train: training interactions (Interactions or anything :func:`read_interactions`
            reads).
        test: held-out interactions, likewise.
        full: the full 48-setting grid instead of the default 8.
        k: list length of the ranking metrics.
        seed: seed of every fit and of the random pairs.
        progress: called as ``progress(row_dict)`` after each setting.
        **params: other EmbeddingMF parameters for every fit (e.g. ``epochs=30``).

    Returns one row per setting with columns :data:`COLUMNS`; metrics are named without
    ``@k`` (``ndcg`` is NDCG@k).
    """
    train = read_interactions(train)
    test = read_interactions(test)
    rows = []
    for sampler, negatives, resample, loss in FULL_GRID if full else SMALL_GRID:
        model = EmbeddingMF(
            sampler=sampler, negatives=negatives, resample=resample, loss=loss, seed=seed, **params
        )
        started = time.perf_counter()
        model.fit(train)
        seconds = time.perf_counter() - started
        summary = evaluate(model, test, k=k).summary()
        row = {
            "sampler": sampler,
            "negatives": negatives,
            "resample": resample,
            "loss": loss,
            "ndcg": summary[f"ndcg@{k}"],
            "recall": summary[f"recall@{k}"],
            "coverage": summary[f"coverage@{k}"],
            "pair_accuracy": pair_accuracy(model, test, seed=seed),
            "fit_seconds": seconds,
            "spec": format_spec(model),
        }
        rows.append(row)
        if progress is not None:
            progress(row)
    return pl.DataFrame(rows, schema_overrides={"pair_accuracy": pl.Float64})


def pair_accuracy(model: EmbeddingMF, test: Interactions, *, seed: int = 0) -> float:
    """Accuracy on balanced pairs: each test positive and one random never-touched item.

    NaN for losses whose scores are not probabilities (bpr, softmax).
    """
    if model.loss not in ("bce", "mse"):
        return float("nan")
    aligned, _ = reindex(read_interactions(test), model.users_, model.items_)
    known = sp.csr_matrix(model.seen_ + aligned.matrix)
    known.sort_indices()
    positives = aligned.matrix.tocoo()
    sampler = NegativeSampler(known)
    negatives = sampler.sample(positives.row.astype(np.int32), seed=seed)[:, 0]
    keep = negatives >= 0
    users = positives.row[keep]
    items = np.concatenate([positives.col[keep], negatives[keep]])
    both = np.concatenate([users, users])
    scores = (
        np.einsum("nf,nf->n", model.user_factors_[both], model.item_factors_[items])
        + model.user_bias_[both]
        + model.item_bias_[items]
    )
    predicted = 1.0 / (1.0 + np.exp(-scores)) if model.loss == "bce" else scores
    labels = np.concatenate([np.ones(len(users)), np.zeros(len(users))])
    return float(np.mean((predicted >= 0.5) == (labels == 1))) if len(users) else float("nan")


def setting_label(row: dict[str, Any]) -> str:
    """A study row's setting in a few characters, e.g. ``"pop·16·epoch·softmax"``."""
    return f"{row['sampler'][:3]}·{row['negatives']}·{row['resample']}·{row['loss']}"


def plot_study(frame: pl.DataFrame, path: str | Path, *, title: str = "") -> Path:
    """A PNG: NDCG per setting (bars) and pair accuracy against NDCG (scatter)."""
    from matplotlib.figure import Figure

    from unrated.evaluation.plots import save_figure

    path = Path(path)
    labels = [setting_label(row) for row in frame.iter_rows(named=True)]
    figure = Figure(figsize=(13, max(4.0, 0.32 * len(labels) + 1.5)))
    bars, scatter = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    positions = np.arange(len(labels))
    bars.barh(positions, frame["ndcg"].to_numpy(), color="tab:blue", label="NDCG@20")
    accuracy = frame["pair_accuracy"].to_numpy()
    bars.barh(
        positions,
        np.nan_to_num(accuracy),
        height=0.3,
        color="tab:orange",
        label="pair accuracy (bce/mse)",
    )
    bars.set_yticks(positions, labels, fontsize=8)
    bars.invert_yaxis()
    bars.set_xlabel("value")
    bars.legend(loc="lower right", fontsize=8)
    bars.set_title("full-ranking NDCG@20 vs balanced-pair accuracy")
    shown = ~np.isnan(accuracy)
    scatter.scatter(accuracy[shown], frame["ndcg"].to_numpy()[shown], color="tab:red")
    for x, y, label in zip(
        accuracy[shown], frame["ndcg"].to_numpy()[shown], np.asarray(labels)[shown], strict=True
    ):
        scatter.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    scatter.set_xlabel("accuracy on balanced sampled pairs")
    scatter.set_ylabel("NDCG@20 (full ranking)")
    scatter.set_title("a high accuracy does not mean good rankings")
    if title:
        figure.suptitle(title)
    return save_figure(figure, path)
