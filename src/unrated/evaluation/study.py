"""The negative-sampling study: which choices matter for ``mf`` and ``sasrec``.

Trains the model over a grid of sampler × negatives × resampling × loss and reports, for
each, full-ranking NDCG@K, Recall@K and coverage next to the number a naive evaluation
shows: accuracy on balanced pairs (each test positive against one random item the user never
touched, threshold 0.5 on the predicted probability — σ(s) for bce and gbce, s for mse;
undefined for the ranking losses bpr, sampled_softmax and softmax). See Krichene & Rendle
2020 on sampled metrics, Petrov & Macdonald 2023 (gSASRec) on BCE with many negatives.

``mf`` draws negatives per positive, once or every epoch. ``sasrec`` draws them afresh for
every batch (resampling ``batch``): one per position, or with more, ``negatives`` per
sequence shared by its positions; its ``softmax`` scores the whole catalogue and draws none
(sampler, negatives and resampling null).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from unrated.data.interactions import Interactions, reindex
from unrated.data.io import read_interactions
from unrated.data.negatives import NegativeSampler
from unrated.evaluation.protocol import evaluate
from unrated.models.base import Recommender
from unrated.models.registry import format_spec, model_class

#: A setting: sampler, negatives, resampling, loss (None where the loss draws no negatives).
Setting = tuple[str | None, int | None, str | None, str]
#: The models the study trains.
MODELS = ("mf", "sasrec")
#: mf's full grid (issue 4): sampler × negatives × resample × loss.
FULL_GRID: list[Setting] = list(
    itertools.product(
        ("uniform", "popularity"), (1, 4, 16), ("once", "epoch"), ("mse", "bce", "bpr", "softmax")
    )
)
#: mf's default grid: the common first attempt, then one change at a time towards the best.
SMALL_GRID: list[Setting] = [
    ("uniform", 1, "once", "mse"),
    ("uniform", 1, "epoch", "mse"),
    ("uniform", 1, "epoch", "bce"),
    ("uniform", 4, "epoch", "bce"),
    ("popularity", 4, "epoch", "bce"),
    ("uniform", 4, "epoch", "bpr"),
    ("uniform", 16, "epoch", "softmax"),
    ("popularity", 16, "epoch", "softmax"),
]
#: sasrec's default grid: the original (bce, 1 negative), then more negatives per loss, then
#: the full softmax (issue 21; gSASRec's table).
SASREC_GRID: list[Setting] = [
    ("uniform", 1, "batch", "bce"),
    ("uniform", 16, "batch", "bce"),
    ("uniform", 256, "batch", "bce"),
    ("uniform", 16, "batch", "gbce"),
    ("uniform", 256, "batch", "gbce"),
    ("uniform", 16, "batch", "sampled_softmax"),
    ("uniform", 256, "batch", "sampled_softmax"),
    (None, None, None, "softmax"),
]
#: sasrec's full grid: sampler × 1/16/256 negatives × bce/gbce/sampled_softmax, and softmax.
SASREC_FULL_GRID: list[Setting] = [
    (sampler, negatives, "batch", loss)
    for sampler, negatives, loss in itertools.product(
        ("uniform", "popularity"), (1, 16, 256), ("bce", "gbce", "sampled_softmax")
    )
] + [(None, None, None, "softmax")]
#: Each model's (default, full) grid.
GRIDS = {"mf": (SMALL_GRID, FULL_GRID), "sasrec": (SASREC_GRID, SASREC_FULL_GRID)}
#: The losses whose scores read as a probability, and how.
PROBABILITY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mse": lambda s: s,
    "bce": lambda s: 1.0 / (1.0 + np.exp(-s)),
    "gbce": lambda s: 1.0 / (1.0 + np.exp(-s)),
}
#: Loss names shortened in labels.
SHORT_LOSSES = {"sampled_softmax": "sampled-sm"}
#: Users scored at once for the pair accuracy.
SCORE_CHUNK = 1024
COLUMNS = (
    "model",
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


def grid(model: str = "mf", *, full: bool = False) -> list[Setting]:
    """The settings the study trains ``model`` with (``full``: the larger grid)."""
    return GRIDS[model][full]


def study_negatives(
    train: Any,
    test: Any,
    *,
    model: str = "mf",
    full: bool = False,
    k: int = 20,
    seed: int = 0,
    progress: Any = None,
    **params: Any,
) -> pl.DataFrame:
    """Fit ``model`` for each grid setting on ``train`` and score it on ``test``.

    Args:
        train: training interactions (Interactions or anything :func:`read_interactions`
            reads); for ``sasrec`` give them an order (a time column) or it reads sets.
        test: held-out interactions, likewise.
        model: ``"mf"`` or ``"sasrec"``.
        full: the full grid (48 settings for mf, 19 for sasrec) instead of the default 8.
        k: list length of the ranking metrics.
        seed: seed of every fit and of the random pairs.
        progress: called as ``progress(row_dict)`` after each setting.
        **params: the model's other parameters for every fit (e.g. ``epochs=30``).

    Returns one row per setting with columns :data:`COLUMNS`; metrics are named without
    ``@k`` (``ndcg`` is NDCG@k).
    """
    train = read_interactions(train)
    test = read_interactions(test)
    cls = model_class(model)
    rows = []
    for setting in grid(model, full=full):
        sampler, negatives, resample, loss = setting
        chosen = {"sampler": sampler, "negatives": negatives, "loss": loss}
        if model == "mf":
            chosen["resample"] = resample
        given = {key: value for key, value in chosen.items() if value is not None}
        fitted = cls(**given, **{"seed": seed} | params)
        started = time.perf_counter()
        fitted.fit(train)
        seconds = time.perf_counter() - started
        summary = evaluate(fitted, test, k=k).summary()
        row = {
            "model": model,
            "sampler": sampler,
            "negatives": negatives,
            "resample": resample,
            "loss": loss,
            "ndcg": summary[f"ndcg@{k}"],
            "recall": summary[f"recall@{k}"],
            "coverage": summary[f"coverage@{k}"],
            "pair_accuracy": pair_accuracy(fitted, test, seed=seed),
            "fit_seconds": seconds,
            "spec": format_spec(fitted),
        }
        rows.append(row)
        if progress is not None:
            progress(row)
    return pl.DataFrame(
        rows,
        schema_overrides={
            "sampler": pl.String,
            "negatives": pl.Int64,
            "resample": pl.String,
            "pair_accuracy": pl.Float64,
        },
    )


def pair_accuracy(model: Recommender, test: Interactions, *, seed: int = 0) -> float:
    """Accuracy on balanced pairs: each test positive and one random never-touched item.

    NaN for losses whose scores are not probabilities (bpr, sampled_softmax, softmax).
    """
    to_probability = PROBABILITY.get(getattr(model, "loss", ""))
    if to_probability is None:
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
    predicted = to_probability(pair_scores(model, np.concatenate([users, users]), items))
    labels = np.concatenate([np.ones(len(users)), np.zeros(len(users))])
    return float(np.mean((predicted >= 0.5) == (labels == 1))) if len(users) else float("nan")


def pair_scores(model: Recommender, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """The model's scores of (user position, item position) pairs, float64."""
    out = np.empty(len(users), dtype=np.float64)
    unique = np.unique(users)
    for start in range(0, len(unique), SCORE_CHUNK):
        chunk = unique[start : start + SCORE_CHUNK]
        inside = np.isin(users, chunk)
        scores = model.score_positions(chunk)
        out[inside] = scores[np.searchsorted(chunk, users[inside]), items[inside]]
    return out


def setting_label(row: dict[str, Any]) -> str:
    """A study row's setting in a few characters, e.g. ``"pop·16·epoch·softmax"``.

    sasrec's rows leave out their resampling (always ``batch``) and shorten
    ``sampled_softmax`` to ``sampled-sm``; a loss that draws no negatives reads
    ``"all·softmax"``.
    """
    loss = SHORT_LOSSES.get(row["loss"], row["loss"])
    if row["negatives"] is None:
        return f"all·{loss}"
    resample = "" if row["resample"] == "batch" else f"{row['resample']}·"
    return f"{row['sampler'][:3]}·{row['negatives']}·{resample}{loss}"


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
        label="pair accuracy (bce, gbce, mse)",
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
