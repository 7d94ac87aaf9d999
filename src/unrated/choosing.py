"""choose_model: the best of a few models on a validation split carved from the training data.

What ``unrated fit`` trains when no model is named (``--model auto``). Each candidate is
fitted with its defaults on 80% of every user's training items and ranks the other 20%
(NDCG@20, full catalogue, training items excluded: the evaluation protocol); the best is
fitted again on all the data. The test set, if there is one, is never looked at.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from unrated._checks import check_float, check_k
from unrated._memory import check_memory
from unrated._progress import progress_bar
from unrated.data.interactions import Interactions
from unrated.data.io import read_interactions
from unrated.data.split import split_holdout
from unrated.errors import DataError, InvalidParameterError, MemoryLimitError
from unrated.evaluation.protocol import evaluate
from unrated.models.base import Recommender
from unrated.models.ease import woodbury
from unrated.models.registry import make_model
from unrated.tuning import _user_subset

#: The model name that asks for a choice.
AUTO = "auto"
#: The candidates: on the shared data sets each is the best unrated model, or near it,
#: somewhere (20% holdout NDCG@20: EASE on ML-100k and ml-latest-small, iALS on Last.fm-2k,
#: item-kNN near the best on CiteULike-a; the graph filter on Gowalla). Not ``mf`` or ``bpr``
#: (below iALS on ML-100k: 0.425 and 0.407 against 0.445), nor ``popular`` (the fallback).
CANDIDATES = ("item-knn", "ials", "graph-filter", "ease")
#: What is fitted when no candidate could be scored (the budget, memory, or data too thin
#: to carve a validation split from): it fits at once and ranks the same for everyone.
FALLBACK = "popular"
#: Seconds for the whole choice, refit included, unless told otherwise.
DEFAULT_BUDGET = 300.0
#: Share of each user's items held out for validation.
VALIDATION_FRACTION = 0.2
#: At most this many validation users are scored (chosen at random): the mean NDCG of a
#: few thousand users has a standard error near 0.005, below the gaps that matter here, and
#: scoring more would cost the graph filter and item-kNN more than their fits on big data.
VALIDATION_USERS = 4000

#: Prior seconds per operation, measured on two cores shared with other work (load about
#: 10) over the validation runs of ML-100k, ml-latest-small, Last.fm-2k and CiteULike-a: a
#: multiply-add in dense BLAS (EASE's inverse), in a compiled sparse or small-dense kernel
#: (iALS, the graph filter), in scipy's sparse × dense products (EASE's Woodbury path),
#: and one item pair of item-kNN's similarity blocks (products, then top-k selection).
#: Only a prior: the runs of one choice rescale it to the machine at hand.
_BLAS, _KERNEL, _SPARSE, _PAIR = 5e-11, 5e-10, 5e-9, 4e-8
#: Seconds any fit and scoring takes whatever its size (imports, compiled kernels loading).
_OVERHEAD = 1.0


@dataclass(frozen=True)
class Candidate:
    """One candidate of a choice: its validation score, or why it was not scored.

    Attributes:
        name: the registry name.
        score: validation NDCG@k, or None when skipped.
        seconds: its validation fit and scoring (0 when skipped).
        skipped: why it was not scored ("" when it was).
    """

    name: str
    score: float | None
    seconds: float = 0.0
    skipped: str = ""


@dataclass(frozen=True, eq=False)
class Choice:
    """What :func:`choose_model` picked, fitted on all the data, and how every candidate did.

    Attributes:
        model: the chosen model, fitted on all the data; its ``info_["auto"]`` records the
            choice (saved in the model file).
        candidates: every candidate, in the order they were tried (cheapest first).
        metric: what was compared, e.g. "ndcg@20".
        validation: how the validation split was made.
        budget_seconds: the budget given.
        seconds: the whole choice, refit included.
    """

    model: Recommender
    candidates: tuple[Candidate, ...]
    metric: str
    validation: str
    budget_seconds: float
    seconds: float

    @property
    def name(self) -> str:
        """The chosen model's registry name."""
        return self.model.key

    def summary(self) -> str:
        """One line: the pick and its validation score, then the others' (or why none)."""
        label = self.metric.replace("ndcg", "NDCG")
        scores = {c.name: c.score for c in self.candidates if c.score is not None}
        ranked = sorted(scores, key=lambda name: -scores[name])
        skipped = [c.name for c in self.candidates if c.score is None]
        parts = [
            f"validation {label} {scores[ranked[0]]:.3f}" if ranked else "no candidate scored",
            ", ".join(f"{name} {scores[name]:.3f}" for name in ranked[1:]),
            ", ".join(skipped) + " skipped" if skipped else "",
        ]
        return f"auto: {self.name} (" + "; ".join(part for part in parts if part) + ")"

    def notes(self) -> list[str]:
        """One line per skipped candidate: why."""
        return [f"auto: {c.name} skipped: {c.skipped}" for c in self.candidates if c.skipped]

    def to_info(self) -> dict[str, Any]:
        """The choice as JSON values (the model file keeps it in ``info_["auto"]``)."""
        return {
            "chosen": self.name,
            "metric": self.metric,
            "validation": self.validation,
            "scores": {c.name: round(c.score, 6) for c in self.candidates if c.score is not None},
            "skipped": {c.name: c.skipped for c in self.candidates if c.skipped},
            "budget_seconds": self.budget_seconds,
            "seconds": round(self.seconds, 3),
        }


def choose_model(
    data: Any,
    *,
    budget_seconds: float = DEFAULT_BUDGET,
    k: int = 20,
    seed: int = 0,
    candidates: Sequence[str] = CANDIDATES,
    checkpoint: str | Path | None = None,
    progress: bool | None = None,
) -> Choice:
    """Fit each candidate on a validation split of ``data``; refit the best on all of it.

    Validation: 20% of each user's items (users with 5 or more, seed ``seed``) are held out
    and ranked by each candidate fitted with its defaults on the rest; at most
    VALIDATION_USERS of them (at random) are scored. The candidate with the highest mean
    NDCG@``k`` is fitted again on all of ``data``.

    Budget: ``budget_seconds`` bounds the choice and the final refit together. Candidates
    go cheapest first by an estimate of their time (a work count from the data's shape and
    the model's parameters, times a per-model rate; after each run the rates are rescaled
    by how long the runs so far took against their estimates, so a slow or busy machine
    is taken into account). A candidate starts only if its validation run and then the
    refit of whichever would win (it or the best so far) are estimated to end within the
    budget; otherwise it is skipped, with why. A started fit is never stopped, so an
    estimate that is too low can overrun the budget. A candidate whose fit on all the data
    would not fit in memory (the model's own up-front check) is skipped too. If none could
    be scored, ``popular`` is fitted (at once): the budget never makes this fail.

    Args:
        data: the training interactions (Interactions, or anything read_interactions reads).
        budget_seconds: seconds for everything (> 0).
        k: NDCG's list length.
        seed: seed of the validation split and of the sample of scored users.
        candidates: registry names to choose among (defaults: each model's own).
        checkpoint: handed to the final refit (see ``Recommender.fit``).
        progress: as in ``Recommender.fit``; validation fits show one bar for all of them.

    Raises:
        InvalidParameterError: a bad budget, ``k`` or candidate name.
        DataError: ``data`` has no interactions.
    """
    started = time.perf_counter()
    budget = check_float(budget_seconds, "budget_seconds", "choose_model", inclusive=False)
    k = check_k(k)
    unknown = [name for name in candidates if name not in CANDIDATES]
    if unknown or not candidates:
        raise InvalidParameterError(
            f"choose_model's candidates must be some of {', '.join(CANDIDATES)}; got {unknown!r}"
        )
    models = [make_model(name) for name in dict.fromkeys(candidates)]
    data = read_interactions(data)
    if data.nnz == 0:
        raise DataError("cannot fit on data without interactions")
    metric = f"ndcg@{k}"
    try:
        split = split_holdout(data, fraction=VALIDATION_FRACTION, seed=seed)
    except DataError as error:
        none = [Candidate(m.key, None, skipped=f"no validation split: {error}") for m in models]
        return _finish(data, None, none, metric, "none", budget, started, checkpoint, progress)
    users = int((np.diff(split.test.matrix.indptr) > 0).sum())
    share = min(1.0, VALIDATION_USERS / users)
    scored = _user_subset(split, np.random.default_rng(seed), share=share)
    n_scored = int((np.diff(scored.matrix.indptr) > 0).sum())
    validation = f"{split.protocol} of the training data, {n_scored:,} of {users:,} users scored"

    full, part = _shape(data), _shape(split.train)
    models.sort(key=lambda m: _estimate(m, full, 0))
    results: list[Candidate] = []
    ratios: list[float] = []  # measured / estimated seconds of each validation run
    best: tuple[float, str, float] | None = None  # score, name, estimated refit seconds
    with progress_bar(len(models), "auto: validation", show=progress) as advance:
        for model in models:
            scale = math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else 1.0
            reason = _memory_refusal(model, full)
            estimate = scale * _estimate(model, part, n_scored)
            refit = scale * _estimate(model, full, 0)
            left = budget - (time.perf_counter() - started)
            needed = estimate + max(refit, best[2] if best else 0.0)
            if not reason and needed > left:
                reason = (
                    f"needs about {needed:.0f} s (validation and refit), "
                    f"{max(left, 0):.0f} s of the {budget:g} s budget left"
                )
            if reason:
                results.append(Candidate(model.key, None, skipped=reason))
                advance(info=f"{model.key} skipped")
                continue
            began = time.perf_counter()
            model.fit(split.train, progress=False)
            fitted = time.perf_counter() - began
            score = float(evaluate(model, scored, k=k).per_user[metric].mean())
            took = time.perf_counter() - began
            ratios.append(took / _estimate(model, part, n_scored))
            results.append(Candidate(model.key, score, took))
            if best is None or score > best[0]:  # its refit: this fit's time, scaled up
                best = (
                    score,
                    model.key,
                    fitted * _estimate(model, full, 0) / _estimate(model, part, 0),
                )
            advance(info=f"{model.key} {score:.3f}")
    chosen = best[1] if best else None
    return _finish(data, chosen, results, metric, validation, budget, started, checkpoint, progress)


def _finish(
    data: Interactions,
    chosen: str | None,
    results: list[Candidate],
    metric: str,
    validation: str,
    budget: float,
    started: float,
    checkpoint: str | Path | None,
    progress: bool | None,
) -> Choice:
    """Fit ``chosen`` (else the fallback) on all of ``data``; record the choice in its info."""
    model = make_model(chosen or FALLBACK).fit(data, checkpoint=checkpoint, progress=progress)
    choice = Choice(
        model, tuple(results), metric, validation, budget, time.perf_counter() - started
    )
    model.info_ = MappingProxyType({**model.info_, AUTO: choice.to_info()})
    return choice


def _memory_refusal(model: Recommender, shape: tuple[int, int, int]) -> str:
    """Why ``model`` could not be fitted on data of ``shape`` in memory ("" if it could)."""
    try:
        check_memory(type(model).__name__, model._memory_costs(*shape))
    except MemoryLimitError as error:
        return str(error)
    return ""


def _shape(data: Interactions) -> tuple[int, int, int]:
    return data.n_users, data.n_items, data.nnz


def _estimate(model: Recommender, shape: tuple[int, int, int], n_scored: int) -> float:
    """Prior seconds to fit ``model`` on data of ``shape`` and score ``n_scored`` users.

    Leading terms only, on purpose: :func:`choose_model` rescales them by measurement.
    """
    n_users, n_items, nnz = shape
    params = model.get_params()
    per_user = nnz / max(n_users, 1)
    if model.key == "item-knn":  # co-occurrences, item × item similarity blocks, score rows
        seconds = _PAIR * (n_items * n_items + n_scored * n_items) + _SPARSE * nnz * per_user
    elif model.key == "ials":  # per epoch: Gramians and CG steps over every row and pair
        f, steps = params["factors"], params["cg_steps"] + 1
        epoch = steps * (f * f * (n_users + n_items) + 2 * f * nnz)
        seconds = _KERNEL * (params["epochs"] * epoch + n_scored * n_items * f)
    elif model.key == "graph-filter":  # subspace iterations, then K steps of P per user
        width = min(params["rank"] + 64, n_users, n_items)
        svd = params["power_iterations"] * (4 * nnz * width + 2 * n_items * width * width)
        seconds = _KERNEL * (svd + n_scored * (4 * params["order"] * nnz + 2 * n_items * width))
    else:  # ease: an inverse in the smaller dimension, then the scores, rows × weights
        small = woodbury(n_users, n_items)  # a users × users inverse, products per item block
        solve = n_users**3 if small else n_items**3
        products = nnz * (n_users + n_items if small else per_user) + n_scored * per_user * n_items
        seconds = _BLAS * solve + _SPARSE * products
    return _OVERHEAD + seconds
