"""split --protocol new-items: products first sold lately held out, with every purchase of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated as ur
from tests.cli_runner import run_cli
from unrated.data.new_items import split_new_items
from unrated.data.split import split_data

DAY = 86_400
#: mug and hose sold from day 0; cup (a mug's twin) from day 50; dave bought only the cup.
LOG = [
    ("ann", "mug", 0),
    ("ann", "cup", 55),
    ("ben", "mug", 3),
    ("ben", "hose", 4),
    ("ben", "cup", 60),
    ("cat", "hose", 1),
    ("cat", "mug", 58),  # an old product bought lately stays in train
    ("dave", "cup", 50),
]


def log() -> ur.Interactions:
    return ur.read_interactions(
        pl.DataFrame(
            {
                "user_id": [u for u, _, _ in LOG],
                "item_id": [i for _, i, _ in LOG],
                "timestamp": [t * DAY for _, _, t in LOG],
            }
        )
    )


def test_new_products_and_their_purchases_are_held_out() -> None:
    split = split_new_items(log(), days=15)  # the newest is day 60: new = first sold ≥ day 45
    train, test = split.train, split.test
    assert train.items.ids.tolist() == ["cup", "hose", "mug"]  # cup kept, never bought
    assert train.users.ids.tolist() == ["ann", "ben", "cat"]  # dave bought only the cup
    assert train.matrix[:, 0].nnz == 0 and train.nnz == 5
    assert test.items == train.items and test.users == train.users
    assert {
        (train.users.ids[u], train.items.ids[i])
        for u, i in zip(*test.matrix.nonzero(), strict=True)
    } == {
        ("ann", "cup"),
        ("ben", "cup"),
    }
    assert split.dropped_test_pairs == 1
    assert split.protocol.startswith("new-items(1 products first sold in the last 15 days")
    assert split_data(log(), "new-items", days=15).test.nnz == 2


def test_collaborative_models_score_nothing_and_content_finds_the_twin() -> None:
    split = split_new_items(log(), days=15)
    names = {"mug": "white ceramic mug", "hose": "green garden hose", "cup": "white ceramic cup"}
    train = ur.Interactions(
        split.train.matrix,
        split.train.users,
        split.train.items,
        item_names=np.array([names[i] for i in split.train.items.ids], dtype=object),
    )
    ials = ur.make_model("ials").fit(train)
    np.testing.assert_allclose(ials.score(train.users.ids)[:, 0], 0, atol=1e-9)  # the cup
    for spec in ("content", "hybrid"):
        model = ur.make_model(spec).fit(train)  # the names describe the products
        assert ur.evaluate(model, split.test, k=1).summary()["recall@1"] == 1


def test_clear_errors() -> None:
    no_times = ur.read_interactions(pl.DataFrame({"user_id": [1], "item_id": [2]}))
    with pytest.raises(ur.DataError, match="'new-items' split needs a time column"):
        split_new_items(no_times)
    with pytest.raises(ur.DataError, match="no product was first sold in the last 5 days"):
        split_new_items(log(), days=5)
    with pytest.raises(ur.DataError, match="every product was first sold in the last 90 days"):
        split_new_items(log(), days=90)


def test_cli_split_writes_the_new_products_purchases_to_test(tmp_path: Path) -> None:
    log_path = tmp_path / "log.csv"
    pl.DataFrame(LOG, schema=["user_id", "item_id", "day"], orient="row").with_columns(
        timestamp=pl.col("day") * DAY
    ).drop("day").write_csv(log_path)
    result = run_cli(
        "split", log_path, "--protocol", "new-items", "--days", "15", "--out", tmp_path / "s"
    )
    assert result.returncode == 0, result.stderr
    assert "1 test pairs dropped" in result.stdout
    train = pl.read_csv(tmp_path / "s" / "train.csv")
    test = pl.read_csv(tmp_path / "s" / "test.csv")
    assert "cup" not in train["item_id"].to_list() and set(test["item_id"]) == {"cup"}


def test_cli_compare_ranks_new_products_with_an_items_file(tmp_path: Path) -> None:
    log_path, items_path = tmp_path / "log.csv", tmp_path / "items.csv"
    pl.DataFrame(LOG, schema=["user_id", "item_id", "day"], orient="row").with_columns(
        timestamp=pl.col("day") * DAY
    ).drop("day").write_csv(log_path)
    items_path.write_text(
        "item_id,title\nmug,white ceramic mug\nhose,green garden hose\ncup,white ceramic cup\n"
        "vase,blue glass vase\n"  # in the shop, never sold: ranked too
    )
    args = ["compare", log_path, "--protocol", "new-items", "--days", "15", "-k", "1"]
    result = run_cli(
        *args, "--models", "content,hybrid", "--items", items_path, "--bootstrap", "10"
    )
    assert result.returncode == 0, result.stderr
    assert "new-items(1 products first sold in the last 15 days" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith(("│ 1 │", "│ 2 │"))]
    assert len(rows) == 2 and all("1.0000" in row for row in rows), result.stdout
