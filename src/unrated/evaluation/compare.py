"""compare: fit several models on one split and rank them, with intervals and paired tests."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from unrated._memory import PeakMemory
from unrated._version import __version__
from unrated.data.catalogue import Catalogue
from unrated.data.ids import IdIndex
from unrated.data.interactions import Interactions
from unrated.data.split import Split
from unrated.errors import InvalidParameterError
from unrated.evaluation.protocol import Report, evaluate
from unrated.evaluation.sampled import WARNING as SAMPLED_WARNING
from unrated.evaluation.sampled import sampled_metrics
from unrated.evaluation.stats import (
    Interval,
    PairedTest,
    bootstrap_indices,
    bootstrap_interval,
    paired_test,
)
from unrated.models.content import Content
from unrated.models.hybrid import Hybrid
from unrated.models.registry import MODELS, make_model, parse_spec

#: Users in the untimed warm-up fit that compiles a model's kernels before the timed one.
WARM_UP_USERS = 256
#: Version of the results.json layout (see docs/results-schema.md).
SCHEMA = "unrated.compare/1"


@dataclass(frozen=True, eq=False)
class ModelResult:
    """One model's run: its report, costs, intervals and its paired test against the best.

    ``warmup_seconds`` is the untimed first fit on a few users that compiles the model's
    kernels (numba, once per process) before ``fit_seconds`` is measured;
    ``peak_memory_bytes`` is the peak resident memory that the timed fit added.
    """

    spec: str
    report: Report
    fit_seconds: float
    peak_memory_bytes: int | None
    warmup_seconds: float
    intervals: dict[str, Interval]
    versus_best: PairedTest | None = None
    sampled: dict[str, float] | None = None


@dataclass(frozen=True, eq=False)
class Comparison:
    """Models side by side on one split, best first by ``primary`` metric."""

    results: list[ModelResult]
    split: Split
    k: tuple[int, ...]
    primary: str
    rounds: int
    seed: int
    sources: dict[str, str | None] = field(default_factory=dict)
    include_seen: bool = False

    @property
    def best(self) -> ModelResult:
        """The model with the highest mean of the primary metric."""
        return self.results[0]

    def to_frame(self) -> pl.DataFrame:
        """One row per model: mean and interval of every metric, costs, test against the best."""
        rows = []
        for rank, result in enumerate(self.results, start=1):
            row: dict[str, Any] = {"rank": rank, "model": result.spec}
            for name, interval in result.intervals.items():
                row[name] = interval.mean
                row[f"{name}_low"], row[f"{name}_high"] = interval.low, interval.high
            row |= {name: value for name, value in result.report.aggregate.items()}
            test = result.versus_best
            row["p_value_vs_best"] = None if test is None else test.p_value
            row["fit_seconds"] = result.fit_seconds
            row["warmup_seconds"] = result.warmup_seconds
            row["recommend_seconds"] = result.report.seconds
            row["peak_memory_mib"] = _mib(result.peak_memory_bytes)
            rows.append(row)
        return pl.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """The results.json document (schema ``unrated.compare/1``)."""
        train, test = self.split.train, self.split.test
        return {
            "schema": SCHEMA,
            "unrated_version": __version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "data": {
                "train": self.sources.get("train"),
                "test": self.sources.get("test"),
                "fingerprint": train.fingerprint(),
                "users": train.n_users,
                "items": train.n_items,
                "train_pairs": train.nnz,
                "test_pairs": test.nnz,
                "dropped_test_pairs": self.split.dropped_test_pairs,
            },
            "split": self.split.protocol,
            "protocol": self.results[0].report.note,
            "include_seen": self.include_seen,
            "k": list(self.k),
            "primary_metric": self.primary,
            "bootstrap_rounds": self.rounds,
            "seed": self.seed,
            "evaluated_users": self.results[0].report.n_users,
            "models": [_model_dict(rank, r) for rank, r in enumerate(self.results, start=1)],
        }


def default_specs() -> list[str]:
    """Every built-in model with its default settings."""
    return list(MODELS)


def compare(
    specs: Sequence[str],
    split: Split,
    *,
    k: Sequence[int] = (10, 20),
    primary: str | None = None,
    rounds: int = 1000,
    seed: int = 0,
    curve: int = 50,
    sampled: int = 0,
    on_model: Callable[[str, int], None] | None = None,
    include_seen: bool = False,
    items: Catalogue | None = None,
) -> Comparison:
    """Fit each spec on ``split.train``, evaluate on ``split.test``, and rank the models.

    Args:
        specs: model specs, e.g. ``["popular", "ials:factors=128"]``.
        split: the train/test split every model sees.
        k: list lengths for the metrics.
        primary: the metric that orders the models (default ``ndcg@<max k>``).
        rounds: bootstrap resamples of the users for the 95% intervals.
        seed: seed of the bootstrap (model seeds are part of their specs).
        curve: also record NDCG@K for K = 1..curve.
        sampled: if > 0, also compute sampled metrics against this many random items
            (labelled "sampled"; see :mod:`unrated.evaluation.sampled`).
        on_model: called with (spec, position) before each model is fitted (progress).
        include_seen: rank each user's training items too (re-buys allowed) and report
            the repeat/explore split (see :mod:`unrated.evaluation.repeat`).
        items: a catalogue for the models that describe items by features (content,
            hybrid); its items nobody bought are ranked too.
    """
    if not specs:
        raise InvalidParameterError("compare needs at least one model spec")
    for spec in specs:
        parse_spec(spec)  # fail on a bad spec before spending time on the others
    ks = tuple(sorted(set(k)))
    primary = primary or f"ndcg@{max(ks)}"
    runs: list[_Run] = []
    for position, spec in enumerate(specs):
        if on_model is not None:
            on_model(spec, position)
        warmup_seconds = warm_up(spec, split.train, k=max(*ks, curve))
        model = make_model(spec)
        _return_freed_memory()
        with PeakMemory() as peak:
            started = time.perf_counter()
            if isinstance(model, Content | Hybrid):
                model.fit(split.train, items=items)
            else:
                model.fit(split.train)
            fit_seconds = time.perf_counter() - started
        report = evaluate(model, split, k=ks, curve=curve, include_seen=include_seen)
        extra = sampled_metrics(model, split.test, negatives=sampled) if sampled else None
        runs.append(_Run(spec, report, fit_seconds, peak.extra_bytes, warmup_seconds, extra))
        del model
    if primary not in runs[0].report.per_user:
        valid = ", ".join(runs[0].report.per_user)
        raise InvalidParameterError(f"unknown metric {primary!r}; valid: {valid}")

    resamples = bootstrap_indices(runs[0].report.n_users, rounds=rounds, seed=seed)
    runs.sort(key=lambda run: -run.report.per_user[primary].mean())
    best = runs[0].report.per_user[primary]
    results = [
        ModelResult(
            spec=run.spec,
            report=run.report,
            fit_seconds=run.fit_seconds,
            peak_memory_bytes=run.memory,
            warmup_seconds=run.warmup_seconds,
            intervals={n: bootstrap_interval(v, resamples) for n, v in run.report.per_user.items()},
            versus_best=None
            if i == 0
            else paired_test(run.report.per_user[primary], best, resamples),
            sampled=run.sampled,
        )
        for i, run in enumerate(runs)
    ]
    return Comparison(results, split, ks, primary, rounds, seed, include_seen=include_seen)


@dataclass(frozen=True)
class _Run:
    spec: str
    report: Report
    fit_seconds: float
    memory: int | None
    warmup_seconds: float
    sampled: dict[str, float] | None


def warm_up(spec: str, train: Interactions, *, k: int = 20, users: int = WARM_UP_USERS) -> float:
    """Fit ``spec`` for one epoch on the first ``users`` users (and their items), recommend.

    Returns the seconds it took.

    The first fit of a numba model in a process compiles its kernels (tens of seconds for
    bpr and mf); doing it here keeps compilation out of the timed fit.
    """
    started = time.perf_counter()
    rows = train.matrix[np.flatnonzero(np.diff(train.matrix.indptr) > 0)[:users]]
    columns = np.unique(rows.indices)
    matrix = rows[:, columns].tocsr()
    matrix.sort_indices()
    tiny = Interactions(
        matrix,
        IdIndex(np.arange(rows.shape[0])),
        IdIndex(np.arange(len(columns))),
    )
    model = make_model(spec)
    if "epochs" in model.get_params():
        model.set_params(epochs=1)  # one epoch runs every kernel; more would only add time
    model.fit(tiny)
    model.recommend(tiny.users.ids[:8], k=min(k, tiny.n_items))
    return time.perf_counter() - started


def _return_freed_memory() -> None:
    """Collect garbage and give freed heap pages back to the system (glibc's malloc_trim).

    Otherwise a fit reuses pages an earlier model freed, and its peak looks near zero.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: may underestimate
        ctypes.CDLL(None).malloc_trim(0)


def _mib(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


def _model_dict(rank: int, result: ModelResult) -> dict[str, Any]:
    test = result.versus_best
    return {
        "rank": rank,
        "spec": result.spec,
        "fit_seconds": round(result.fit_seconds, 3),
        "warmup_seconds": round(result.warmup_seconds, 3),
        "recommend_seconds": round(result.report.seconds, 3),
        "peak_memory_mib": _mib(result.peak_memory_bytes),
        "metrics": {
            name: {"mean": i.mean, "low": i.low, "high": i.high}
            for name, i in result.intervals.items()
        },
        "aggregate": result.report.aggregate,
        "versus_best": None
        if test is None
        else {
            "difference": test.difference.mean,
            "low": test.difference.low,
            "high": test.difference.high,
            "p_value": test.p_value,
            "significant": test.significant,
        },
        "ndcg_curve": [float(v) for v in result.report.ndcg_curve],
        "sampled": None
        if result.sampled is None
        else {"warning": SAMPLED_WARNING, "negatives": 100} | result.sampled,
    }
