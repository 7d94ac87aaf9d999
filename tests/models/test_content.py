"""content and hybrid: new products (nobody bought them) recommended from what they are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated as ur
from tests.cli_runner import run_cli
from unrated.data.catalogue import Catalogue, read_catalogue
from unrated.modelfile import load_model, save_model

#: Two kinds of goods; "mug-new" and "hose-new" are new: twins of "mug-1" and "hose-1".
ITEMS = """item_id,title,category,price
mug-1,White ceramic coffee mug,kitchen,4
mug-2,Blue enamel tea cup,kitchen,5
mug-3,Glass tumbler set,kitchen,9
hose-1,Green garden hose 20m,garden,25
hose-2,Garden hose reel,garden,40
hose-3,Rose pruning shears,garden,15
mug-new,White ceramic coffee mug large,kitchen,4.5
hose-new,Green garden hose 30m,garden,26
"""
SPECS = ["content", "hybrid", "hybrid:base=item-knn", "hybrid:base=ease"]


def purchases() -> pl.DataFrame:
    """Kitchen customers k0..k5 buy two or three of the cups, garden customers g0..g5 tools."""
    rng = np.random.default_rng(0)
    users, items = [], []
    for group, goods in (("k", ["mug-1", "mug-2", "mug-3"]), ("g", ["hose-1", "hose-2", "hose-3"])):
        for n in range(6):
            for item in rng.choice(goods, size=2 + n % 2, replace=False).tolist():
                users.append(f"{group}{n}")
                items.append(item)
    users += ["alice", "bob"]  # alice bought the mug, bob the hose: their twins are new
    items += ["mug-1", "hose-1"]
    return pl.DataFrame({"user_id": users, "item_id": items})


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    path = tmp_path / "items.csv"
    path.write_text(ITEMS)
    return read_catalogue(path)


@pytest.mark.parametrize("spec", SPECS)
def test_a_new_product_is_recommended_to_who_bought_its_twin(
    spec: str, catalogue: Catalogue, tmp_path: Path
) -> None:
    model = ur.make_model(spec).fit(purchases(), items=catalogue)
    assert len(model.items_) == 8 and model.seen_.shape == (14, 8)
    assert model.item_popularity()[model.items_.positions(["mug-new"], kind="item")] == 0
    if spec in ("content", "hybrid"):  # content, and iALS: a bought item scores high itself
        recs = model.recommend(["alice", "bob"], k=1)
        assert recs.item_ids[:, 0].tolist() == ["mug-new", "hose-new"]
    else:  # item-based: a bought item's score leaves itself out, so the twin of two of them
        # gets their mean, below the best other item of their kind, above the other kind's
        recs = model.recommend_history([["mug-1", "mug-2"], ["hose-1", "hose-3"]], k=2)
        assert [set(row) for row in recs.item_ids.tolist()] == [
            {"mug-3", "mug-new"},
            {"hose-2", "hose-new"},
        ]
    loaded = load_model(save_model(model, tmp_path / "m.unrated"))
    again = loaded.recommend(["alice", "bob"], k=3)
    np.testing.assert_array_equal(again.scores, model.recommend(["alice", "bob"], k=3).scores)
    assert model.similar_items(["mug-new"], k=1).item_ids[0, 0] == "mug-1"
    shared = loaded.shared_features("mug-new", "mug-1", k=10)
    assert {"category = kitchen", "title: 'white'", "title: 'ceramic'"} <= set(shared)
    explained = model.explain("alice", "mug-new")
    assert explained["item_id"].to_list() == ["mug-1"] and explained["contribution"][0] > 0
    folded = model.recommend_history([["hose-1", "hose-2"]], k=2)
    assert "hose-new" in folded.item_ids[0]


def test_hybrid_keeps_its_base_scores_for_bought_items(catalogue: Catalogue) -> None:
    hybrid = ur.make_model("hybrid:base=ease").fit(purchases(), items=catalogue)
    ease = ur.make_model("ease").fit(purchases())
    users = ["k0", "g1", "alice"]
    np.testing.assert_allclose(hybrid.score(users)[:, :6], ease.score(users), rtol=1e-6)
    alone = ur.make_model("hybrid:base=ease").fit(purchases())  # no features: its base
    np.testing.assert_array_equal(alone.score(users), ease.score(users))


@pytest.mark.parametrize("spec", ["content", "hybrid"])
def test_new_products_join_a_fitted_model_without_a_refit(spec: str, tmp_path: Path) -> None:
    def cli(*args: str | Path) -> str:
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return result.stdout

    path = tmp_path / "items.csv"
    path.write_text(ITEMS)
    lines = ITEMS.splitlines(keepends=True)
    (tmp_path / "old.csv").write_text("".join(lines[:7]))  # the new products not yet listed
    purchases().write_csv(tmp_path / "buys.csv")
    cli("fit", "buys.csv", "--model", spec, "--items", "old.csv", "--out", "m1.unrated")
    before = load_model(tmp_path / "m1.unrated")
    assert "mug-new" not in before.items_.ids.tolist()
    assert "2 new items added" in cli("items", "m1.unrated", path, "--out", "m2.unrated")
    after = load_model(tmp_path / "m2.unrated")
    assert after.items_.ids.tolist()[:6] == before.items_.ids.tolist()
    assert after.recommend(["alice", "bob"], k=1).item_ids[:, 0].tolist() == ["mug-new", "hose-new"]
    assert after.item_names_ is not None and after.item_names_[-2].startswith("White ceramic")
    assert "mug-new" in cli("recommend", "m2.unrated", "--user", "alice", "--where", "price>4")


def test_empty_descriptions_are_warned_of(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("item_id,title\nmug-1,White mug\nmug-2,\nmug-3,Glass\nhose-1,Green hose\n")
    catalogue = read_catalogue(path)
    with pytest.warns(ur.DataWarning) as caught:
        ur.make_model("content").fit(purchases(), items=catalogue)
    assert [str(w.message).split(":")[0] for w in caught] == [
        "2 of 6 bought items are not in the items file",
        "3 of 6 items have no features (empty text, no category, no number in title)",
    ]


def test_bad_columns_and_bases_are_refused(catalogue: Catalogue) -> None:
    with pytest.raises(ur.InvalidParameterError, match="no item column 'brand'"):
        ur.make_model("content:columns=brand").fit(purchases(), items=catalogue)
    with pytest.raises(ur.InvalidParameterError, match="kind of 'price' must be one of"):
        ur.make_model("content:columns=price:colour").fit(purchases())
    with pytest.raises(ur.InvalidParameterError, match="must be a collaborative model"):
        ur.make_model("hybrid:base=content").fit(purchases())
    only = ur.make_model("content:columns=category").fit(purchases(), items=catalogue)
    assert set(only.space_.columns) == {"category"}


@pytest.mark.parametrize("spec", ["content", "hybrid"])
def test_update_appends_new_items_and_keeps_the_new_products(
    spec: str, catalogue: Catalogue, tmp_path: Path
) -> None:
    model = ur.make_model(spec).fit(purchases(), items=catalogue)
    model.update(pl.DataFrame({"user_id": ["carol", "carol"], "item_id": ["mug-2", "spoon"]}))
    assert model.items_.ids.tolist()[-1] == "spoon" and model.info_["update"]["new_items"] == 1
    assert model.recommend(["alice"], k=1).item_ids[0, 0] == "mug-new"
    assert model.recommend(["carol"], k=5).item_ids.shape == (1, 5)
    loaded = load_model(save_model(model, tmp_path / "updated.unrated"))
    users = ["alice", "carol", "k0"]
    np.testing.assert_array_equal(loaded.score(users), model.score(users))


def test_a_broken_items_file_is_one_clear_error(tmp_path: Path) -> None:
    purchases().write_csv(tmp_path / "buys.csv")
    (tmp_path / "latin1.csv").write_bytes(b"item_id,title\nmug-1,caf\xe9 mug\n")
    (tmp_path / "twice.csv").write_text("item_id,title\nmug-1,mug\nmug-1,cup\n")
    for name, message in (
        ("latin1.csv", "latin1.csv:2: not UTF-8 text"),
        ("twice.csv", "item id 'mug-1' is listed more than once"),
    ):
        args = ("fit", "buys.csv", "--model", "hybrid", "--items", name, "--out", "m.unrated")
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and not (tmp_path / "m.unrated").exists()
