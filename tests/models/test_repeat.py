"""repeat: a base model's normalised scores blended with the customer's own frequency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated as ur
from unrated.modelfile import load_model, save_model
from unrated.models.registry import make_model
from unrated.models.repeat import RepeatBlend


def shop() -> pl.DataFrame:
    """a bought x 3 times and y once; everyone else makes w the most popular item."""
    pairs = [("a", "x")] * 3 + [("a", "y"), ("b", "w"), ("c", "w"), ("d", "w"), ("b", "y")]
    pairs += [("c", "z")]
    return pl.DataFrame(pairs, schema=["user_id", "item_id"], orient="row")


def test_the_blend_of_own_frequency_and_min_max_base_scores() -> None:
    model = make_model("repeat:base=popular,own_weight=0.25").fit(shop())
    # popular counts users: w 3, y 2, x 1, z 1 -> (count - 1) / 2: w 1, y 0.5, x 0, z 0.
    # a's own frequency over its largest: x 1, y 1/3.
    expected = {"w": 0.75, "y": 0.25 / 3 + 0.375, "x": 0.25, "z": 0.0}
    recs = model.recommend("a", k=4, exclude_seen=False)
    got = dict(zip(recs.item_ids[0].tolist(), recs.scores[0].tolist(), strict=True))
    assert got == pytest.approx(expected)
    assert recs.item_ids[0].tolist() == ["w", "y", "x", "z"]


def test_with_seen_items_excluded_the_list_is_the_base_models() -> None:
    data = ur.read_interactions(shop())
    blend = make_model("repeat:base=item-knn,own_weight=0.9").fit(data)
    base = make_model("item-knn").fit(data)
    users = ["a", "b", "c", "d"]
    np.testing.assert_array_equal(
        blend.recommend(users, k=2).item_idx, base.recommend(users, k=2).item_idx
    )


def test_base_parameters_are_separated_by_semicolons() -> None:
    model = make_model("repeat:base=ials:factors=8;epochs=2,own_weight=0.5")
    assert isinstance(model, RepeatBlend) and model.own_weight == 0.5
    model.fit(shop())
    assert model.base_model_.get_params()["factors"] == 8
    assert model.base_model_.get_params()["epochs"] == 2


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("repeat", "cannot be another 'repeat'"),
        ("nope", "unknown model 'nope'"),
        ("ials:colour=3", "has no parameter 'colour'"),
    ],
)
def test_a_bad_base_is_refused_by_name(base: str, message: str) -> None:
    with pytest.raises(ur.InvalidParameterError, match=message):
        RepeatBlend(base=base).fit(shop())


def test_save_and_load_keep_the_base_model(tmp_path: Path) -> None:
    model = make_model("repeat:base=ease").fit(shop())
    loaded = load_model(save_model(model, tmp_path / "m.unrated"))
    assert loaded.get_params() == model.get_params()
    a = model.recommend(["a", "b"], k=4, exclude_seen=False)
    b = loaded.recommend(["a", "b"], k=4, exclude_seen=False)
    np.testing.assert_array_equal(a.item_idx, b.item_idx)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_explain_adds_the_items_own_frequency_to_the_base_contributions() -> None:
    model = make_model("repeat:base=item-knn,own_weight=0.5").fit(shop())
    base = make_model("item-knn").fit(shop())
    frame = model.explain("a", "x")
    contributions = dict(zip(frame["item_id"], frame["contribution"], strict=True))
    scores = base.score("a")[0]
    scale = 0.5 / (scores.max() - scores.min())
    knn = dict(zip(*base.explain("a", "x").to_dict(as_series=False).values(), strict=True))
    assert contributions["x"] == pytest.approx(0.5 * 1.0 + scale * knn["x"])
    assert contributions["y"] == pytest.approx(scale * knn["y"])


def test_update_takes_new_purchases_in_as_the_base_model_does() -> None:
    new = pl.DataFrame({"user_id": ["a", "e", "e"], "item_id": ["w", "x", "v"]})
    blend = make_model("repeat:base=ials:factors=4;epochs=3").fit(shop()).update(new)
    base = make_model("ials:factors=4,epochs=3").fit(shop()).update(new)
    assert blend.info_["update"]["how"] == base.info_["update"]["how"]
    users = ["a", "b", "e"]
    np.testing.assert_array_equal(
        blend.recommend(users, k=2).item_idx, base.recommend(users, k=2).item_idx
    )
    assert isinstance(blend, RepeatBlend)
    assert blend.base_model_.users_ is blend.users_  # its ids follow the blend's
