from __future__ import annotations

import pytest

import unrated as ur
from unrated.tuning import tune


def test_tuning_starts_from_the_defaults_and_never_gets_worse(ml100k_split: ur.Split) -> None:
    result = tune(ml100k_split.train, "ease", trials=6, seed=0)
    assert result.trials.height == 6
    assert result.trials["spec"][0] == "ease"  # trial 0 is the defaults
    assert result.best_value >= result.default_value
    assert result.best_spec.startswith("ease")
    assert "holdout" in result.validation
    ur.make_model(result.best_spec)  # the printed spec is a valid spec


def test_bad_metric_and_model(ml100k_split: ur.Split) -> None:
    with pytest.raises(ur.InvalidParameterError, match="metric must be NAME@K"):
        tune(ml100k_split.train, "ease", metric="auc@20")
    with pytest.raises(ur.InvalidParameterError, match="unknown model 'magic'"):
        tune(ml100k_split.train, "magic")
    with pytest.raises(ur.InvalidParameterError, match="Popular has no hyperparameters"):
        tune(ml100k_split.train, "popular", trials=2)
