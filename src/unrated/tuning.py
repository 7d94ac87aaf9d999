"""tune: search a model's hyperparameters with Optuna on a validation split carved from train.

The test set is never looked at. Trial 0 is the model's defaults, exactly; a spec is only
recommended if it scored above them on validation, and a paired bootstrap over the
validation users says whether that gain is beyond noise. Trials are pruned early when
their score on a quarter of the validation users is below the median of earlier trials.
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
from unrated.evaluation.stats import PairedTest, bootstrap_indices, paired_test
from unrated.models.registry import format_spec, model_class


@dataclass(frozen=True, eq=False)
class TuneResult:
    """The spec to use, its validation score against the defaults', and every trial.

    Attributes:
        best_spec: the best trial's spec if it scored above the defaults on validation,
            else the defaults' spec.
        best_value: its validation score.
        default_spec, default_value: trial 0, the defaults, and its validation score.
        versus_defaults: best − defaults per validation user (mean, 95% bootstrap interval,
            paired t-test); None when no trial beat the defaults. The best was picked on
            these users, so a gain "beyond noise" is still optimistic: check on a test set.
    """

    model: str
    metric: str
    best_spec: str
    best_value: float
    default_spec: str
    default_value: float
    versus_defaults: PairedTest | None
    trials: pl.DataFrame
    validation: str
    seconds: float

    @property
    def beats_defaults(self) -> bool:
        """Whether a trial scored above the defaults on validation."""
        return self.versus_defaults is not None


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
        trials: number of trials; trial 0 is the defaults, exactly (data-dependent ones
            such as iALS's ``unobserved_weight=None`` included); it draws nothing from the
            search space.
        metric: what to maximise, e.g. "ndcg@20" or "recall@10".
        timeout: stop starting trials after this many seconds.
        seed: seed of the validation split, the sampler and the bootstrap.
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

    per_user: dict[int, np.ndarray] = {}  # trial number -> metric per validation user

    def objective(trial: optuna.Trial) -> float:
        if trial.number == 0:
            estimator = cls()
        else:
            space = cls.search_space(trial)
            estimator = cls(**{name: _round(value) for name, value in space.items()})
        estimator.fit(validation.train)
        trial.set_user_attr("spec", format_spec(estimator))
        early = evaluate(estimator, quarter, k=k).summary()[metric]
        trial.report(early, step=0)
        if trial.should_prune():
            raise optuna.TrialPruned()
        per_user[trial.number] = evaluate(estimator, validation, k=k).per_user[metric]
        return float(per_user[trial.number].mean())

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cls.search_space(optuna.create_study().ask())  # a model without one fails before any fit
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5),
    )

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
    defaults, best = study.trials[0], study.best_trial
    versus = None
    if best.number != 0 and best.values[0] > defaults.values[0]:
        resamples = bootstrap_indices(len(per_user[0]), seed=seed)
        versus = paired_test(per_user[best.number], per_user[0], resamples)
    chosen = best if versus is not None else defaults
    return TuneResult(
        model=cls.key,
        metric=metric,
        best_spec=str(chosen.user_attrs["spec"]),
        best_value=float(chosen.values[0]),
        default_spec=str(defaults.user_attrs["spec"]),
        default_value=float(defaults.values[0]),
        versus_defaults=versus,
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
