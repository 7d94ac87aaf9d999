"""Every registered model, fitted once per session on ML-100k and shared by the tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import unrated as ur
from unrated.models.registry import MODELS

#: Parameters of the shared fit where the defaults take minutes on ML-100k and the contract
#: does not depend on them (sasrec: 4 epochs over the last 50 items, 4 s instead of minutes).
FIT_PARAMS: dict[str, dict[str, object]] = {"sasrec": {"epochs": 4, "max_length": 50}}


@pytest.fixture(scope="session", params=list(MODELS))
def key(request: pytest.FixtureRequest) -> str:
    """Each registered model's key; pytest runs one model's tests together, then the next's."""
    return str(request.param)


@pytest.fixture(scope="session")
def ml100k_model(key: str, ml100k_split: ur.Split) -> Iterator[ur.Recommender]:
    """Model ``key`` with its defaults (or FIT_PARAMS) fitted on ML-100k's train split, once.

    Shared: a test only reads it; one that changes it works on a ``copy.deepcopy``. After the
    last test that uses it, it must still give the parameters and lists it gave at first.
    """
    model = MODELS[key](**FIT_PARAMS.get(key, {})).fit(ml100k_split.train)
    params, users = model.get_params(), model.users_.ids[:50]
    before = model.recommend(users, k=10)
    yield model
    after = model.recommend(users, k=10)
    assert model.get_params() == params, f"a test changed the shared {key} model's parameters"
    np.testing.assert_array_equal(after.item_idx, before.item_idx, f"a test changed {key}")
    np.testing.assert_array_equal(after.scores, before.scores, f"a test changed {key}")
