"""Rules at request time: exclude/only lists and conditions on item attributes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated as ur
from tests.cli_runner import run_cli
from unrated.data.catalogue import read_catalogue
from unrated.errors import InvalidParameterError
from unrated.modelfile import load_model, save_model
from unrated.models.rules import items_allowed, parse_condition

ITEMS = (
    "item_id,name,category,price,in_stock\n"
    "a,Apple,Fruit,1.5,true\n"
    "b,Bread,Bakery,3,false\n"
    "c,Cake,Bakery,12.5,TRUE\n"
    "d,Dates,Fruit,,true\n"
    "x,Not sold,Other,1,true\n"
)
#: Everyone bought a, so b, c, d, e rank by popularity: b (3), c (2), d (1), e (1).
PURCHASES = pl.DataFrame(
    [("u0", "a"), ("u1", "a"), ("u1", "b"), ("u2", "b"), ("u3", "b"), ("u2", "c"), ("u3", "c")]
    + [("u3", "d"), ("u2", "e"), ("u4", "a")],
    schema=["user_id", "item_id"],
    orient="row",
)


@pytest.fixture
def model(tmp_path: Path) -> ur.Recommender:
    (tmp_path / "items.csv").write_text(ITEMS)
    fitted = ur.Popular().fit(PURCHASES)
    fitted.set_item_attributes(read_catalogue(tmp_path / "items.csv").aligned(fitted.items_)[1])
    return fitted


def listed(model: ur.Recommender, **rules: object) -> list[str]:
    return model.recommend(["u0"], k=4, **rules).to_frame()["item_id"].to_list()  # type: ignore[arg-type]


def test_the_catalogue_types_its_columns_and_aligns_to_the_model(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text(ITEMS)
    catalogue = read_catalogue(tmp_path / "items.csv")
    assert catalogue.names == ["Apple", "Bread", "Cake", "Dates", "Not sold"]
    assert catalogue.attributes["price"].dtype == np.float64
    assert catalogue.attributes["category"].tolist() == [
        "Fruit",
        "Bakery",
        "Bakery",
        "Fruit",
        "Other",
    ]
    items = ur.IdIndex(["e", "c", "a"])
    names, attributes = catalogue.aligned(items)
    assert names == ["", "Cake", "Apple"]
    np.testing.assert_array_equal(attributes["price"], [np.nan, 12.5, 1.5])
    (tmp_path / "twice.csv").write_text("item_id,name\na,A\na,B\n")
    with pytest.raises(ur.DataError, match="item id 'a' is listed more than once"):
        read_catalogue(tmp_path / "twice.csv")


def test_conditions_on_text_and_numbers(model: ur.Recommender) -> None:
    assert listed(model) == ["b", "c", "d", "e"]
    assert listed(model, where=["category=bakery"]) == ["b", "c"]  # text: any case
    assert listed(model, where=["price<5"]) == ["b"]  # d has no price, e no attributes
    assert listed(model, where=["price!=3"]) == ["c", "d", "e"]  # no value passes !=
    assert listed(model, where=["in_stock=true", "price>=2"]) == ["c"]
    assert listed(model, exclude=["b"], candidates=["b", "c", "e"]) == ["c", "e"]


def test_exactly_k_items_whenever_k_pass(model: ur.Recommender) -> None:
    recs = model.recommend(["u0", "u4"], k=2, where=["category!=Fruit"])
    assert recs.to_frame().group_by("user_id").len()["len"].to_list() == [2, 2]


def test_rules_apply_to_histories_and_similar_items(model: ur.Recommender) -> None:
    history = model.recommend_history([["a"]], k=3, where=["category=Bakery"])
    assert history.to_frame()["item_id"].to_list() == ["b", "c"]
    similar = ur.ItemKNN().fit(PURCHASES)
    similar.set_item_attributes(dict(model.item_attributes_ or {}))
    assert "c" not in similar.similar_items(["b"], k=3, where=["price<5"]).to_frame()["item_id"]


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("price", "is not COLUMN OP VALUE"),
        ("=3", "is not COLUMN OP VALUE"),
        ("price<", "is not COLUMN OP VALUE"),
        ("price<cheap", "'cheap' is not a number"),
        ("category<B", "needs a numeric attribute"),
        ("colour=red", "no item attribute 'colour'"),
    ],
)
def test_bad_conditions_say_what_is_wrong(
    model: ur.Recommender, condition: str, message: str
) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        listed(model, where=[condition])


def test_conditions_need_attributes() -> None:
    with pytest.raises(InvalidParameterError, match="none: fit with --items FILE"):
        items_allowed(["price<3"], None, 4)
    assert parse_condition(" price <= 3 ").op == "<="


def test_attributes_survive_the_model_file(model: ur.Recommender, tmp_path: Path) -> None:
    loaded = load_model(save_model(model, tmp_path / "m.unrated"))
    assert listed(loaded, where=["in_stock=true", "price>=2"]) == ["c"]
    assert loaded.item_attributes_ is not None
    assert (
        loaded.item_attributes_["category"].tolist() == model.item_attributes_["category"].tolist()
    )  # type: ignore[index]


def test_cli_rules_and_replacing_the_items_file(tmp_path: Path) -> None:
    PURCHASES.write_csv(tmp_path / "d.csv")
    (tmp_path / "items.csv").write_text(ITEMS)
    run = lambda *args: run_cli(*args, cwd=tmp_path)  # noqa: E731
    assert (
        run(
            "fit", "d.csv", "--model", "popular", "--items", "items.csv", "--out", "m.unrated"
        ).returncode
        == 0
    )
    out = run(
        "recommend", "m.unrated", "--all", "-k", "2", "--where", "category=Bakery", "--exclude", "b"
    )
    assert out.returncode == 0, out.stderr
    assert {line.split(",")[1] for line in out.stdout.splitlines()[1:]} == {"c"}
    bad = run("recommend", "m.unrated", "--user", "u0", "--where", "colour=red")
    assert bad.returncode == 2 and bad.stderr.startswith("error: condition colour=red")
    (tmp_path / "new.csv").write_text("item_id,category\nb,Fruit\ne,Fruit\n")
    swapped = run("items", "m.unrated", "new.csv", "--out", "m2.unrated")
    assert "2 of 2 items in new.csv are in the model" in swapped.stdout
    fruit = run(
        "recommend",
        "m2.unrated",
        "--user",
        "u0",
        "-k",
        "4",
        "--where",
        "category=fruit",
        "--out",
        "r.csv",
    )
    assert fruit.returncode == 0
    assert pl.read_csv(tmp_path / "r.csv")["item_id"].to_list() == ["b", "e"]
