from __future__ import annotations

import pytest

import unrated as ur
from unrated.evaluation.protocol import evaluate
from unrated.tuning import TuneResult, tune


@pytest.fixture(scope="module")
def four_trials(ml100k_split: ur.Split) -> TuneResult:
    """item-knn, seed 1: trial 3 scores above the defaults, by little."""
    return tune(ml100k_split.train, "item-knn", trials=4, seed=1)


def test_the_reported_default_score_is_trial_0_and_is_the_defaults(
    four_trials: TuneResult, ml100k_split: ur.Split
) -> None:
    assert four_trials.trials["spec"][0] == four_trials.default_spec == "item-knn"
    assert four_trials.default_value == four_trials.trials["value"][0]
    validation = ur.split_holdout(ml100k_split.train, fraction=0.2, seed=1)
    on_its_own = evaluate(ur.make_model("item-knn").fit(validation.train), validation, k=20)
    assert four_trials.default_value == on_its_own.summary()["ndcg@20"]
    assert "holdout" in four_trials.validation


def test_a_data_dependent_default_is_trial_0_as_it_is(ml100k_split: ur.Split) -> None:
    # iALS's unobserved_weight=None is not in the search space: trial 0 must not draw one.
    result = tune(ml100k_split.train, "ials", trials=1, seed=0)
    assert result.trials["spec"].to_list() == ["ials"]
    assert result.best_spec == "ials" and not result.beats_defaults


def test_a_gain_within_noise_is_offered_and_called_noise(four_trials: TuneResult) -> None:
    values = four_trials.trials["value"].to_list()
    assert max(values[1:]) > values[0]  # the case this test is about
    assert four_trials.beats_defaults
    assert four_trials.best_spec == (
        "item-knn:neighbors=25,walk_exponent=0.7425,popularity_penalty=0.5587"
    )
    assert four_trials.best_value == max(values)
    test = four_trials.versus_defaults
    assert test is not None
    assert test.difference.mean == pytest.approx(four_trials.best_value - values[0])
    assert not test.significant and test.difference.low < 0 < test.difference.high
    ur.make_model(four_trials.best_spec)  # the printed spec is a valid spec


def test_the_defaults_are_kept_when_no_trial_beats_them(ml100k_split: ur.Split) -> None:
    result = tune(ml100k_split.train, "ease", trials=2, seed=1)
    values = result.trials["value"].to_list()
    assert values[1] < values[0]  # the case this test is about: trial 1 is worse
    assert result.best_spec == result.default_spec == "ease"
    assert result.best_value == result.default_value == values[0]
    assert not result.beats_defaults and result.versus_defaults is None


def test_bad_metric_and_model(ml100k_split: ur.Split) -> None:
    with pytest.raises(ur.InvalidParameterError, match="metric must be NAME@K"):
        tune(ml100k_split.train, "ease", metric="auc@20")
    with pytest.raises(ur.InvalidParameterError, match="unknown model 'magic'"):
        tune(ml100k_split.train, "magic")
    with pytest.raises(ur.InvalidParameterError, match="Popular has no hyperparameters"):
        tune(ml100k_split.train, "popular", trials=2)
