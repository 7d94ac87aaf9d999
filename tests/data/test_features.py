"""Item features: text as TF-IDF words, categories one-hot, numbers binned (hand-made catalogue)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated as ur
from unrated.data.catalogue import NAME, Catalogue, describe, read_catalogue
from unrated.data.features import FeatureSpace, column_kind, learn_features, words

CATALOGUE = """item_id,title,colour,price
a,Red ceramic mug,red,3.5
b,Blue ceramic mug,blue,4.0
c,Garden hose long,green,25
d,Red mug with lid,red,
e,,blue,40
"""


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    path = tmp_path / "items.csv"
    path.write_text(CATALOGUE)
    return read_catalogue(path)


def test_each_column_kind_is_found() -> None:
    assert column_kind(np.array([1.0, np.nan])) == "number"
    assert column_kind(np.array(["red", "blue", ""], dtype=object)) == "category"
    assert column_kind(np.array(["Red ceramic mug", "Blue mug"], dtype=object)) == "text"
    assert words("T-Light HOLDER, 2x") == ["light", "holder", "2x"]


def test_features_of_text_categories_and_numbers(catalogue: Catalogue) -> None:
    attributes = {NAME: np.array(catalogue.names, dtype=object)} | catalogue.attributes
    space = learn_features(attributes, bins=2)
    kinds = dict(zip(space.columns, space.kinds, strict=True))
    assert kinds == {NAME: "text", "colour": "category", "price": "number"}
    text = [v for c, v in zip(space.columns, space.values, strict=True) if c == NAME]
    assert text == sorted(
        ["red", "blue", "ceramic", "mug", "garden", "hose", "long", "with", "lid"]
    )
    idf = dict(zip(text, space.weights[: len(text)].tolist(), strict=True))
    assert idf["mug"] == pytest.approx(math.log(6 / 4) + 1)  # 3 of 5 items say 'mug'
    assert idf["hose"] == pytest.approx(math.log(6 / 2) + 1)
    prices = [i for i, c in enumerate(space.columns) if c == "price"]
    assert space.lows[prices].tolist() == [-math.inf, 14.5]  # the median of 3.5, 4, 25, 40
    assert [space.label(i) for i in prices] == ["price < 14.5", "price ≥ 14.5"]

    matrix = space.transform(attributes, 5)
    assert matrix.shape == (5, len(space))
    np.testing.assert_allclose(np.sqrt(matrix.multiply(matrix).sum(axis=1)).A1, 1.0, rtol=1e-6)
    similarity = (matrix @ matrix.T).toarray()
    # a and d: red, mugs (no price for d); a and b: ceramic mugs, cheap; a and c: nothing
    assert similarity[0, 3] > similarity[0, 1] > similarity[0, 2] == 0
    assert similarity[4, 0] == 0  # e: blue, dear, no title; a: red, cheap
    blue = space.columns.index("colour") + space.values[space.columns.index("colour") :].index(
        "blue"
    )
    assert matrix[4, blue] > 0 and matrix[1, blue] > 0


def test_a_space_is_saved_and_read_back(catalogue: Catalogue) -> None:
    space = learn_features(catalogue.attributes | {NAME: np.array(catalogue.names, object)})
    again = FeatureSpace.from_arrays(space.to_arrays("space"), "space")
    assert (again.columns, again.kinds, again.values) == (space.columns, space.kinds, space.values)
    np.testing.assert_array_equal(again.lows, space.lows)
    arrays = space.to_arrays("space")
    short = arrays | {"space.weights": arrays["space.weights"][1:]}
    with pytest.raises(ur.ModelFileError, match="'space' is inconsistent"):
        FeatureSpace.from_arrays(short, "space")


def test_kinds_can_be_named_and_wrong_ones_are_refused(catalogue: Catalogue) -> None:
    space = learn_features(catalogue.attributes, kinds={"colour": "text"})
    assert set(space.kinds) == {"text", "number"}
    with pytest.raises(ur.InvalidParameterError, match="'colour' holds text, not numbers"):
        learn_features(catalogue.attributes, kinds={"colour": "number"})


def test_describe_adds_unbought_items_and_warns_of_bought_ones_missing(
    catalogue: Catalogue,
) -> None:
    data = ur.read_interactions(  # z: not in the catalogue
        pl.DataFrame({"user_id": ["u", "u", "v"], "item_id": ["a", "z", "b"]})
    )
    with pytest.warns(ur.DataWarning, match="1 of 3 bought items are not in the items file"):
        described, columns = describe(data, catalogue)
    assert described.items.ids.tolist() == ["a", "b", "z", "c", "d", "e"]
    assert described.matrix.shape == (2, 6) and described.nnz == 3
    assert columns["colour"].tolist() == ["red", "blue", "", "green", "red", "blue"]
    assert columns["title"][2] == ""


def test_integer_ids_refuse_a_text_id(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("item_id,title\n1,mug\nsku-9,plate\n")
    data = ur.read_interactions(pl.DataFrame({"user_id": [1], "item_id": [1]}))
    with pytest.raises(ur.DataError, match="item id 'sku-9' is not an integer"):
        describe(data, read_catalogue(path))
