"""``Recommender.restore``: the one supported way to install learned state made elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

import unrated as ur
from unrated.data.synthetic import make_purchases
from unrated.models.base import Recommender


@pytest.fixture(scope="module")
def two_fits() -> tuple[ur.IALS, ur.IALS]:
    """iALS fitted on two different data sets."""
    data = [
        ur.read_interactions(make_purchases(users=150, items=60, interactions=n, seed=n))
        for n in (2000, 2500)
    ]
    return ur.IALS(factors=4, epochs=2).fit(data[0]), ur.IALS(factors=4, epochs=2).fit(data[1])


def state_of(model: Recommender) -> dict[str, object]:
    return {
        "users": model.users_,
        "items": model.items_,
        "seen": model.seen_,
        "arrays": model._arrays(),
        "trained_on": model.trained_on_,
    }


def test_restored_state_answers_as_the_original_and_drops_every_cache(
    two_fits: tuple[ur.IALS, ur.IALS],
) -> None:
    first, second = two_fits
    model = ur.IALS(factors=4, epochs=2).fit(first.seen_)
    history = [second.items_.ids[:3].tolist()]
    model.recommend_history(history, k=5)  # caches the item Gramian
    model.item_popularity()  # caches the counts
    assert hasattr(model, "loss_")
    model.restore(**state_of(second), info={"engine": "test"})  # type: ignore[arg-type]
    assert not hasattr(model, "loss_")  # the earlier fit's facts are gone
    assert model.info_ == {"engine": "test"}
    assert model.trained_on_ == second.trained_on_
    for call in ("recommend_history", "similar_items"):
        query = history if call == "recommend_history" else history[0]
        ours, theirs = getattr(model, call)(query, k=5), getattr(second, call)(query, k=5)
        assert np.array_equal(ours.scores, theirs.scores), call
    assert np.array_equal(model.item_popularity(), second.item_popularity())
    users = second.users_.ids[:4].tolist()
    assert np.array_equal(model.recommend(users).item_idx, second.recommend(users).item_idx)


def test_a_seen_matrix_of_another_shape_is_refused(two_fits: tuple[ur.IALS, ur.IALS]) -> None:
    first, second = two_fits
    state = state_of(first) | {"seen": second.seen_[:10]}
    with pytest.raises(ur.DataError, match=r"seen matrix has shape \(10, "):
        ur.IALS(factors=4).restore(**state)  # type: ignore[arg-type]


def test_arrays_of_the_wrong_shape_are_refused(two_fits: tuple[ur.IALS, ur.IALS]) -> None:
    first, _ = two_fits
    arrays = first._arrays() | {"item_factors": np.zeros((3, 4), np.float32)}
    with pytest.raises(ur.ModelFileError, match="item_factors"):
        ur.IALS(factors=4).restore(**state_of(first) | {"arrays": arrays})  # type: ignore[arg-type]


def test_check_params_is_public() -> None:
    with pytest.raises(ur.InvalidParameterError, match="factors"):
        ur.IALS(factors=0).check_params()
    ur.IALS().check_params()
