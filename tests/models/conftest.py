"""Every registered model, fitted once per session on ML-100k and shared by the tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import unrated as ur
from unrated.models.registry import MODELS

#: Registered models the shared contract does not cover yet, and why. sasrec: a default fit
#: on ML-100k takes ~6 minutes on two CPU cores, and its scores depend on the batch (a user
#: ranked alone and in a batch of 25 get different lists: a defect of issue 21, open); its
#: own tests (test_sasrec.py) check save/load, ordered fold-in and what it learns.
NOT_IN_CONFORMANCE = {"sasrec"}


@pytest.fixture(scope="session", params=[k for k in MODELS if k not in NOT_IN_CONFORMANCE])
def key(request: pytest.FixtureRequest) -> str:
    """Each registered model's key; pytest runs one model's tests together, then the next's."""
    return str(request.param)


@pytest.fixture(scope="session")
def ml100k_model(key: str, ml100k_split: ur.Split) -> Iterator[ur.Recommender]:
    """Model ``key`` with its defaults fitted on the ML-100k train split, once per session.

    Shared: a test only reads it; one that changes it works on a ``copy.deepcopy``. After the
    last test that uses it, it must still give the parameters and lists it gave at first.
    """
    model = MODELS[key]().fit(ml100k_split.train)
    params, users = model.get_params(), model.users_.ids[:50]
    before = model.recommend(users, k=10)
    yield model
    after = model.recommend(users, k=10)
    assert model.get_params() == params, f"a test changed the shared {key} model's parameters"
    np.testing.assert_array_equal(after.item_idx, before.item_idx, f"a test changed {key}")
    np.testing.assert_array_equal(after.scores, before.scores, f"a test changed {key}")
