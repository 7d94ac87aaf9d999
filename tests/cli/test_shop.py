"""A shop export on the command line: --clean, baskets, the basket split, re-buys."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import CliRun
from tests.data.test_clean import EXPORT


def test_fit_a_shop_export_with_clean(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text(EXPORT, encoding="utf-8")
    refused = cli("fit", "export.csv", "--out", "m.unrated", "-m", "popular", expect=2)
    assert "--clean drops rows without one (guest checkouts)" in refused.stderr
    result = cli("fit", "export.csv", "--out", "m.unrated", "-m", "popular", "--clean")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: export.csv: 6 of 10 rows dropped: 2 without a CustomerID (guest checkouts); "
        "2 with a negative Quantity (returns, cancellations); 1 with Quantity 0; "
        "1 bought and then returned in full (netted out)"
    ]
    shown = cli("recommend", "m.unrated", "--user", "12583", "-k", "1").stdout
    assert "85123A" in shown and "WHITE HANGING HEART" in shown  # descriptions as names


def test_basket_split_evaluate_and_compare_with_re_buys(cli: CliRun, tmp_path: Path) -> None:
    from tests.data.test_baskets_split import LOG

    (tmp_path / "log.csv").write_text(LOG, encoding="utf-8")
    said = cli("split", "log.csv", "--out", "s", "--protocol", "basket").stdout
    assert said.startswith("basket(last basket of users with ≥ 2 baskets): train 4 pairs")
    train = (tmp_path / "s" / "train.csv").read_text(encoding="utf-8").splitlines()
    assert train[0] == "user_id,item_id,weight,timestamp,basket_id"  # lines, in baskets
    assert train[1:] == ["a,x,2,86400,o1", "a,y,1,86400,o1", "a,x,1,259200,o2"] + [
        "b,y,1,172800,o4",
        "c,x,1,432000,o6",
    ]
    cli("fit", "s/train.csv", "--out", "m.unrated", "-m", "popular", "--half-life", "2")
    shown = cli("evaluate", "m.unrated", "s/test.csv", "-k", "1", "--include-seen").stdout
    assert "re-buys allowed" in shown
    assert "repeat_recall: recall on the held-out items the user bought before" in shown
    table = cli(
        "compare",
        "log.csv",
        "--protocol",
        "basket",
        "--include-seen",
        "--half-life",
        "30",
        "-m",
        "popular",
        "-k",
        "1",
        "--bootstrap",
        "20",
        "--report",
        "r",
    ).stdout
    assert "repeat / explore (Li et al. 2023), @1" in table
    assert "2 users with some" in table  # a re-buys x, b re-buys y
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "re-buys allowed" in page and "repeat_recall@K: recall on the held-out items" in page
    refused = cli("fit", "log.csv", "--out", "m.unrated", "--half-life", "0", expect=2)
    assert "--half-life must be days > 0, got 0" in refused.stderr


def test_half_life_without_a_time_column_is_an_error(cli: CliRun, tmp_path: Path) -> None:
    pairs = "".join(f"{user},{item}\n" for user in "ab" for item in range(6))
    (tmp_path / "pairs.csv").write_text("user_id,item_id\n" + pairs, encoding="utf-8")
    for command in (
        ["fit", "pairs.csv", "--out", "m.unrated", "-m", "popular"],
        ["tune", "pairs.csv", "-m", "item-knn", "--trials", "2"],
        ["compare", "pairs.csv", "-m", "popular"],
    ):
        refused = cli(*command, "--half-life", "7", expect=2)
        last = refused.stderr.splitlines()[-1]
        assert last.startswith("error: --half-life needs a time column"), refused.stderr
