"""Plots of comparisons and tuning (matplotlib, headless): each writes one PNG, returns its path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from unrated._atomic import atomic_path
from unrated.evaluation.compare import Comparison

#: User-history-length buckets (training items), as (low, high) inclusive.
HISTORY_BUCKETS = ((1, 5), (6, 10), (11, 20), (21, 50), (51, 100), (101, 10**12))


def save_figure(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as PNG, atomically (a regular file only, umask respected).

    Figures are built without pyplot: no global state, no GUI backend, nothing to close.
    """
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=110, format="png")
    return path


def plot_metrics(comparison: Comparison, path: Path) -> Path:
    """Mean of NDCG@K and Recall@K per model, with 95% bootstrap intervals."""
    cutoff = max(comparison.k)
    names = [f"ndcg@{cutoff}", f"recall@{cutoff}"]
    models = [r.spec for r in comparison.results]
    figure = Figure(figsize=(10, 0.5 * len(models) + 1.8))
    axes = figure.subplots(1, 2, sharey=True)
    for axis, name in zip(axes, names, strict=True):
        intervals = [r.intervals[name] for r in comparison.results]
        means = np.array([i.mean for i in intervals])
        errors = np.array(
            [[i.mean - i.low for i in intervals], [i.high - i.mean for i in intervals]]
        )
        axis.barh(models, means, xerr=errors, color="#4C72B0", capsize=3)
        axis.set_xlabel(f"{name} (95% bootstrap interval)")
        axis.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()  # the axes share y: invert once, best model on top
    return save_figure(figure, path)


def plot_ndcg_curve(comparison: Comparison, path: Path) -> Path:
    """Mean NDCG@K for K = 1..50 (as many as were recorded)."""
    figure = Figure(figsize=(7, 4.2))
    axis = figure.subplots()
    for result in comparison.results:
        curve = result.report.ndcg_curve
        axis.plot(np.arange(1, len(curve) + 1), curve, label=result.spec)
    axis.set_xlabel("K (list length)")
    axis.set_ylabel("NDCG@K")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return save_figure(figure, path)


def plot_recall_by_history(comparison: Comparison, path: Path) -> Path:
    """Recall@K by how many training items a user has: who does each model serve well?"""
    cutoff = max(comparison.k)
    lengths = comparison.results[0].report.history_lengths
    buckets = [(lo, hi) for lo, hi in HISTORY_BUCKETS if ((lengths >= lo) & (lengths <= hi)).any()]
    labels = [f"{lo}–{hi}" if hi < 10**12 else f"{lo}+" for lo, hi in buckets]
    counts = [int(((lengths >= lo) & (lengths <= hi)).sum()) for lo, hi in buckets]
    width = 0.8 / len(comparison.results)
    figure = Figure(figsize=(8, 4.2))
    axis = figure.subplots()
    for position, result in enumerate(comparison.results):
        values = result.report.per_user[f"recall@{cutoff}"]
        means = [values[(lengths >= lo) & (lengths <= hi)].mean() for lo, hi in buckets]
        axis.bar(np.arange(len(buckets)) + position * width, means, width, label=result.spec)
    axis.set_xticks(np.arange(len(buckets)) + 0.4 - width / 2)
    axis.set_xticklabels([f"{label}\n({n} users)" for label, n in zip(labels, counts, strict=True)])
    axis.set_xlabel("training items per user")
    axis.set_ylabel(f"recall@{cutoff}")
    axis.grid(axis="y", alpha=0.3)
    axis.legend(fontsize=8)
    return save_figure(figure, path)


def plot_popularity(comparison: Comparison, path: Path) -> Path:
    """Share of recommendations falling in each item-popularity decile (popularity bias).

    Deciles order the catalogue from the most to the least bought items; a model that
    recommends like the catalogue is spread would put 10% in each.
    """
    train = comparison.split.train.binary()
    popularity = np.asarray(train.sum(axis=0)).ravel()
    order = np.argsort(-popularity, kind="stable")
    decile = np.empty(len(order), dtype=np.int64)
    decile[order] = np.arange(len(order)) * 10 // max(len(order), 1)
    figure = Figure(figsize=(8, 4.2))
    axis = figure.subplots()
    deciles = np.arange(10)
    bought = np.bincount(decile, weights=popularity, minlength=10) / max(popularity.sum(), 1)
    axis.plot(deciles + 1, bought, "k--", label="training purchases")
    axis.plot(deciles + 1, np.full(10, 0.1), ":", color="grey", label="catalogue (10% each)")
    for result in comparison.results:
        counts = result.report.item_counts
        share = np.bincount(decile, weights=counts, minlength=10) / max(counts.sum(), 1)
        axis.plot(deciles + 1, share, marker="o", label=result.spec)
    axis.set_xticks(deciles + 1)
    axis.set_xlabel("item popularity decile (1 = the 10% most bought items)")
    axis.set_ylabel("share of recommendations")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return save_figure(figure, path)


def write_plots(comparison: Comparison, folder: Path) -> dict[str, Path]:
    """All four plots into ``folder``; returns name -> path."""
    return {
        "metrics": plot_metrics(comparison, folder / "metrics.png"),
        "ndcg_curve": plot_ndcg_curve(comparison, folder / "ndcg_curve.png"),
        "recall_by_history": plot_recall_by_history(comparison, folder / "recall_by_history.png"),
        "popularity": plot_popularity(comparison, folder / "popularity.png"),
    }


def plot_tuning(trials: pl.DataFrame, metric: str, path: Path) -> Path:
    """Each trial's validation value (pruned trials at the bottom) and the best so far."""
    figure = Figure(figsize=(8, 4.2))
    axis = figure.subplots()
    values = trials["value"].to_numpy().astype(float)
    done = ~np.isnan(values)
    numbers = trials["trial"].to_numpy()
    axis.plot(numbers[done], values[done], "o", label="trial")
    if (~done).any():
        floor = np.nanmin(values) if done.any() else 0.0
        axis.plot(
            numbers[~done], np.full((~done).sum(), floor), "x", color="grey", label="pruned early"
        )
    best = np.fmax.accumulate(np.where(done, values, -np.inf))
    axis.step(numbers, np.where(np.isinf(best), np.nan, best), where="post", label="best so far")
    axis.set_xlabel("trial (0 = the defaults)")
    axis.set_ylabel(f"{metric} on validation")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return save_figure(figure, path)
