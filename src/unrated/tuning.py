"""tune: search a model's hyperparameters with Optuna on a validation split carved from train.

The test set is never looked at. Trials are pruned early when their NDCG on a quarter of
the validation users is below the median of earlier trials at the same point.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from unrated.data.interactions import Interactions
from unrated.data.split import Split, split_holdout
from unrated.errors import InvalidParameterError, UnratedError
from unrated.evaluation.metrics import PER_USER_METRICS
from unrated.evaluation.protocol import evaluate
from unrated.models.registry import format_spec, model_class


@dataclass(frozen=True, eq=False)
class TuneResult:
    """The best spec found, its validation score, the defaults' score, and every trial."""

    model: str
    metric: str
    best_spec: str
    best_value: float
    default_value: float
    trials: pl.DataFrame
    validation: str
    seconds: float


def tune(
    data: Interactions,
    model: str,
    *,
    trials: int = 30,
    metric: str = "ndcg@20",
    timeout: float | None = None,
    seed: int = 0,
    on_trial: Callable[[int, float | None, float], None] | None = None,
) -> TuneResult:
    """Search ``model``'s space (its ``search_space``) for the best ``metric`` on validation.

    Args:
        data: the training interactions; 20% of each user's items are held out from them
            for validation (seed ``seed``).
        model: a registry name such as "ials".
        trials: number of trials; the first starts from the defaults.
        metric: what to maximise, e.g. "ndcg@20" or "recall@10".
        timeout: stop starting trials after this many seconds.
        seed: seed of the validation split and the sampler.

    The defaults are fitted and scored once on their own (``default_value``); trial 0 starts
    from them where the search space can express them (a data-dependent default such as
    iALS's ``unobserved_weight=None`` is drawn instead).
        on_trial: called with (trial number, value or None if pruned, best so far).
    """
    try:
        import optuna
    except ImportError:
        raise UnratedError("tuning needs Optuna: pip install 'unrated[tune]'") from None
    cls = model_class(model)
    name, _, cutoff = metric.partition("@")
    if name not in PER_USER_METRICS or not cutoff.isdigit() or int(cutoff) < 1:
        raise InvalidParameterError(
            f"metric must be NAME@K with NAME one of {', '.join(PER_USER_METRICS)}; got {metric!r}"
        )
    k = int(cutoff)
    validation = split_holdout(data, fraction=0.2, seed=seed)
    quarter = _user_subset(validation, np.random.default_rng(seed), share=0.25)

    def objective(trial: optuna.Trial) -> float:
        params = {k: _round(v) for k, v in cls.search_space(trial).items()}
        estimator = cls(**params).fit(validation.train)
        trial.set_user_attr("spec", format_spec(estimator))
        early = evaluate(estimator, quarter, k=k).summary()[metric]
        trial.report(early, step=0)
        if trial.should_prune():
            raise optuna.TrialPruned()
        return float(evaluate(estimator, validation, k=k).summary()[metric])

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5),
    )
    defaults = {k: v for k, v in cls().get_params().items() if v is not None}
    study.enqueue_trial(defaults)  # trial 0 starts from the defaults (search names = params)
    default_value = evaluate(cls().fit(validation.train), validation, k=k).summary()[metric]

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if on_trial is not None:
            complete = trial.state == optuna.trial.TrialState.COMPLETE
            on_trial(trial.number, trial.value if complete else None, study.best_value)

    started = time.perf_counter()
    study.optimize(objective, n_trials=trials, timeout=timeout, callbacks=[report])
    rows = [
        {
            "trial": t.number,
            "state": t.state.name.lower(),
            "value": t.value if t.state == optuna.trial.TrialState.COMPLETE else None,
            "spec": t.user_attrs.get("spec", ""),
            "seconds": t.duration.total_seconds() if t.duration else None,
        }
        for t in study.trials
    ]
    return TuneResult(
        model=cls.key,
        metric=metric,
        best_spec=str(study.best_trial.user_attrs["spec"]),
        best_value=float(study.best_value),
        default_value=float(default_value),
        trials=pl.DataFrame(rows),
        seconds=time.perf_counter() - started,
        validation=validation.protocol + " of the training data",
    )


def _round(value: object) -> object:
    """Floats to 4 significant digits, so the printed spec is exactly the model tried."""
    return float(f"{value:.4g}") if isinstance(value, float) else value


def _user_subset(split: Split, rng: np.random.Generator, *, share: float) -> Interactions:
    """The test part of ``split`` restricted to a random ``share`` of its users."""
    test = split.test
    users = np.flatnonzero(np.diff(test.matrix.indptr) > 0)
    chosen = np.zeros(test.n_users, dtype=bool)
    chosen[rng.choice(users, size=max(1, int(len(users) * share)), replace=False)] = True
    matrix = sp.csr_matrix(sp.diags(chosen.astype(np.float32)) @ test.matrix)
    matrix.eliminate_zeros()
    return Interactions(matrix, test.users, test.items)
