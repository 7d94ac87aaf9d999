"""``unrated recommend``: its help, its usage errors, its columns, and --fallback-popular."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from tests.cli.conftest import CliRun

# x: 3 distinct users, y: 2, z: 1 user who bought it 9 times (popular counts users, not rows).
DATA = "user_id,item_id,weight\na,x,1\nb,x,1\nc,x,1\na,y,1\nb,y,1\nc,z,9\n"


@pytest.fixture
def model(cli: CliRun, tmp_path: Path) -> Path:
    (tmp_path / "d.csv").write_text(DATA)
    cli("fit", "d.csv", "--model", "item-knn", "--out", "m.unrated")
    return tmp_path / "m.unrated"


def csv_rows(text: str) -> list[dict[str, object]]:
    return pl.read_csv(io.StringIO(text), infer_schema=False).to_dicts()


def test_help_shows_no_raw_markup(cli: CliRun) -> None:
    for command in ("recommend", "similar", "serve", "fit"):
        text = cli(command, "--help").stdout
        assert "``" not in text and "[/" not in text, text
    assert "user_id, item_id, rank, score" in cli("recommend", "--help").stdout


def test_user_or_all_each_case_its_own_message(cli: CliRun, model: Path) -> None:
    neither = cli("recommend", model.name, expect=2).stderr
    assert neither == "error: give --user ID (one or more) or --all\n"
    both = cli("recommend", model.name, "--all", "--user", "a", expect=2).stderr
    assert both == "error: give --user ID or --all, not both\n"


def test_the_name_column_only_when_the_model_has_names(
    cli: CliRun, model: Path, tmp_path: Path
) -> None:
    plain = csv_rows(cli("recommend", model.name, "--all").stdout)
    assert list(plain[0]) == ["user_id", "item_id", "rank", "score"]
    (tmp_path / "names.csv").write_text("item_id,name\nx,Ex\ny,Why\n")
    cli("fit", "d.csv", "--model", "item-knn", "--items", "names.csv", "--out", "n.unrated")
    cli("recommend", "n.unrated", "--all", "--out", "recs.csv")
    named = csv_rows((tmp_path / "recs.csv").read_text())
    assert list(named[0]) == ["user_id", "item_id", "rank", "score", "name"]
    assert {(r["item_id"], r["name"]) for r in named} <= {("x", "Ex"), ("y", "Why"), ("z", "")}


def test_unknown_users_get_popular_items_only_when_asked(cli: CliRun, model: Path) -> None:
    unknown = cli("recommend", model.name, "--user", "stranger", expect=2).stderr
    assert unknown == "error: 1 unknown user: 'stranger'\n"
    cli("recommend", model.name, "--user", "c", "--user", "stranger", "--fallback-popular",
        "-k", "3", "--out", "recs.csv")  # fmt: skip
    rows = csv_rows((model.parent / "recs.csv").read_text())
    assert list(rows[0]) == ["user_id", "item_id", "rank", "score", "fallback"]
    assert [r for r in rows if r["user_id"] == "c"] == [
        {"user_id": "c", "item_id": "y", "rank": "1", "score": rows[0]["score"], "fallback": None}
    ]
    popular = [(r["item_id"], r["score"], r["fallback"]) for r in rows if r["user_id"] != "c"]
    assert popular == [("x", "3.0", "popular"), ("y", "2.0", "popular"), ("z", "1.0", "popular")]
    table = cli("recommend", model.name, "--user", "stranger", "--fallback-popular").stdout
    assert "fallback" in table and table.count("popular") == 3
