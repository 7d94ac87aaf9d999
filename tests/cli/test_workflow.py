"""split -> fit -> evaluate -> recommend -> similar on ML-100k, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from tests.cli.conftest import CliRun
from tests.conftest import data_file


def test_split_fit_evaluate_recommend(cli: CliRun, tmp_path: Path, ml100k_path: Path) -> None:
    cli("split", ml100k_path, "--out", "split")
    train = pl.read_csv(tmp_path / "split" / "train.csv", infer_schema=False)
    assert train.columns == ["user_id", "item_id", "weight", "timestamp"]
    assert train.height == 80_000

    items = data_file("ml-100k", "items.csv")
    cli("fit", "split/train.csv", "--model", "ease", "--items", items, "--out", "m.unrated")
    report = json.loads(cli("evaluate", "m.unrated", "split/test.csv", "--json").stdout)
    assert report["n_users"] == 943
    assert report["metrics"]["ndcg@20"] >= 0.43

    cli("recommend", "m.unrated", "--all", "-k", "20", "--out", "recs.csv")
    recs = pl.read_csv(tmp_path / "recs.csv", infer_schema=False)
    assert recs.columns[:4] == ["user_id", "item_id", "rank", "score"]
    assert recs.height == 943 * 20
    seen = set(zip(train["user_id"], train["item_id"], strict=True))
    assert not seen & set(zip(recs["user_id"], recs["item_id"], strict=True))

    table = cli("recommend", "m.unrated", "--user", "1", "-k", "5").stdout
    assert "Fargo" in table or "name" in table
    assert "Toy Story" not in cli("similar", "m.unrated", "--item", "1", "-k", "5").stdout
    assert "ease" in cli("info", "m.unrated").stdout


def test_include_seen_allows_repurchases(cli: CliRun, tmp_path: Path, ml100k_path: Path) -> None:
    cli("fit", ml100k_path, "--model", "popular", "--out", "p.unrated")
    out = cli("recommend", "p.unrated", "--all", "-k", "1", "--include-seen").stdout
    top = pl.read_csv(out.encode(), infer_schema=False)["item_id"].unique().to_list()
    assert top == ["50"]  # Star Wars, the most rated film, for everyone
