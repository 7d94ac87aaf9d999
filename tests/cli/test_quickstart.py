"""``unrated quickstart`` works offline on a fresh install and shows the whole path."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tests.cli.conftest import CliRun


def test_quickstart_on_the_sample_shop(cli: CliRun, tmp_path: Path) -> None:
    out = cli("quickstart", "--save", "shop").stdout
    assert "popular" in out and "NDCG@20" in out
    assert "buy again" in out and "new for you" in out and "unrated serve" in out
    purchases = pl.read_csv(tmp_path / "shop" / "purchases.csv")
    assert purchases.columns == ["customer_id", "order_id", "product_id", "timestamp", "quantity"]
    assert (tmp_path / "shop" / "products.csv").exists()
    # The sample shows its names, and the model beats popularity on it.
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 5}
    ndcg = {name: float(line.split("│")[2]) for name, line in rows.items()}
    assert ndcg[next(n for n in ndcg if n != "popular")] > ndcg["popular"] + 0.05


def test_quickstart_on_a_user_file(cli: CliRun, ml100k_path: Path) -> None:
    out = cli("quickstart", "--data", ml100k_path, "--model", "item-knn").stdout
    assert "item-knn" in out and "943 users" in out


def test_quickstart_with_a_re_buy_model_shows_its_own_re_buy_order(cli: CliRun) -> None:
    out = cli("quickstart", "--model", "tifu-knn").stdout
    rows = [line.split("│") for line in out.splitlines() if "│" in line and " ×" in line]
    again = [float(row[1].rsplit("×", 1)[1]) for row in rows if "×" in row[1]]
    assert "tifu-knn" in out and len(again) >= 5
    # tifu-knn ranks by decayed baskets, not by amount: not simply most bought first.
    assert again != sorted(again, reverse=True)


def test_synth_writes_a_log(cli: CliRun, tmp_path: Path) -> None:
    cli("synth", "--users", "500", "--items", "200", "--interactions", "5000", "--out", "s.parquet")
    frame = pl.read_parquet(tmp_path / "s.parquet")
    assert frame.height == 5000
    assert frame["user_id"].max() < 500 and frame["item_id"].max() < 200
