"""tifu-knn: the paper's decayed basket vectors, exact on a hand-made log; the neighbour blend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated as ur
from unrated.modelfile import load_model, save_model
from unrated.models.tifu_knn import TifuKNN


def shop() -> pl.DataFrame:
    """Customer a: five orders, oldest first; customer b: two; customer c: one."""
    orders = [
        ("a", "o1", ["x"]),
        ("a", "o2", ["x", "y"]),
        ("a", "o3", ["y"]),
        ("a", "o4", ["x", "x"]),  # two lines of x: the basket has x once
        ("a", "o5", ["z"]),
        ("b", "o6", ["y", "w"]),
        ("b", "o7", ["w"]),
        ("c", "o8", ["v"]),
    ]
    rows = [
        (user, item, order, number)
        for number, (user, order, items) in enumerate(orders)
        for item in items
    ]
    return pl.DataFrame(rows, schema=["user_id", "item_id", "order_id", "timestamp"], orient="row")


def scores_of(model: TifuKNN, user: str, k: int = 5) -> dict[str, float]:
    recs = model.recommend(user, k=k, exclude_seen=False)
    valid = recs.item_idx[0] >= 0
    return dict(zip(recs.item_ids[0][valid].tolist(), recs.scores[0][valid].tolist(), strict=True))


def test_vectors_are_the_papers_decayed_group_means() -> None:
    model = TifuKNN(groups=2, basket_decay=0.5, group_decay=0.5, own_weight=1.0).fit(shop())
    # a's 5 orders in 2 groups: (o1, o2) and (o3, o4, o5), the later group one larger.
    # o1: 0.5/2 * 0.5/2, o2: 1/2 * 0.5/2; o3: 0.25/3 * 1/2, o4: 0.5/3 * 1/2, o5: 1/3 * 1/2.
    expected = {"x": 1 / 16 + 1 / 8 + 1 / 12, "y": 1 / 8 + 1 / 24, "z": 1 / 6}
    recs = model.recommend("a", k=3, exclude_seen=False)
    assert recs.item_ids[0].tolist() == ["x", "y", "z"]
    np.testing.assert_allclose(recs.scores[0], list(expected.values()), rtol=1e-6)
    # b's 2 orders are 2 groups of one: o6 counts 0.5/2, o7 1/2.
    assert scores_of(model, "b", k=2) == pytest.approx({"w": 0.25 + 0.5, "y": 0.25})


def test_neighbours_fill_what_the_customer_never_bought(checkerboard: ur.Interactions) -> None:
    model = TifuKNN(neighbors=3).fit(checkerboard)  # no baskets: one flat group each
    recs = model.recommend(list(range(8)), k=1)
    assert recs.item_ids[:, 0].tolist() == list(range(8))


def test_the_blend_weighs_own_and_neighbours_vectors() -> None:
    model = TifuKNN(neighbors=1, groups=1, basket_decay=1.0, own_weight=0.25).fit(shop())
    # One group, no decay: a vector is the share of baskets with the item. c: v = 1;
    # a: x = 3/5, y = 2/5, z = 1/5 (|a - c|^2 = 1.56); b: y = 1/2, w = 1 (|b - c|^2 = 2.25).
    expected = {"x": 0.45, "y": 0.3, "v": 0.25, "z": 0.15, "w": 0.0}
    assert scores_of(model, "c", k=5) == pytest.approx(expected)


def test_a_folded_in_history_is_one_flat_group() -> None:
    model = TifuKNN(neighbors=1, own_weight=0.5).fit(shop())
    recs = model.recommend_history([{"x": 2.0, "z": 1.0}], k=5, exclude_seen=False)
    scores = dict(zip(recs.item_ids[0].tolist(), recs.scores[0].tolist(), strict=True))
    own = np.zeros(len(model.items_))
    own[model.items_.positions(["x", "z"], kind="item")] = [1.0, 0.5]  # over the largest
    vectors = model.vectors_.toarray()
    nearest = vectors[np.argmin(((vectors - own) ** 2).sum(axis=1))]
    expected = 0.5 * own + 0.5 * nearest
    for item, score in scores.items():
        position = model.items_.positions([item], kind="item")[0]
        assert score == pytest.approx(expected[position], rel=1e-5), item
    assert len(scores) == len(model.items_)


def test_save_and_load_keep_the_vectors(tmp_path: Path) -> None:
    model = TifuKNN(neighbors=2).fit(shop())
    loaded = load_model(save_model(model, tmp_path / "m.unrated"))
    a = model.recommend(["a", "b", "c"], k=5, exclude_seen=False)
    b = loaded.recommend(["a", "b", "c"], k=5, exclude_seen=False)
    np.testing.assert_array_equal(a.item_idx, b.item_idx)
    np.testing.assert_array_equal(a.scores, b.scores)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("neighbors", 0),
        ("groups", 0),
        ("basket_decay", 0.0),
        ("group_decay", 1.5),
        ("own_weight", 2),
    ],
)
def test_bad_parameters_are_named(param: str, value: float) -> None:
    with pytest.raises(ur.InvalidParameterError, match=param):
        TifuKNN().set_params(**{param: value}).fit(shop())


def test_update_is_refused_without_the_earlier_baskets() -> None:
    model = TifuKNN().fit(shop())
    new = pl.DataFrame({"user_id": ["a"], "item_id": ["w"], "order_id": ["o9"], "timestamp": [9]})
    with pytest.raises(ur.InvalidParameterError, match="fit it again on all the data"):
        model.update(new)
