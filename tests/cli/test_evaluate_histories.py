"""``unrated evaluate MODEL --histories H --targets T``: gSASRec's protocol, with intervals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import CliRun
from tests.conftest import DATA

GSASREC = DATA / "ml-1m-gsasrec"
# popular: x 3 users, y 2, w 1, z 1 (ties: w before z)
TRAIN = "user_id,item_id\na,x\nb,x\nc,x\na,y\nb,y\nc,z\nd,w\n"


@pytest.fixture
def model(cli: CliRun, tmp_path: Path) -> Path:
    (tmp_path / "d.csv").write_text(TRAIN)
    (tmp_path / "h.csv").write_text("user_id,item_id\nh1,x\nh2,y\nh3,ghost\n")
    (tmp_path / "t.csv").write_text("user_id,item_id\nh1,z\nh2,x\nh3,y\n")
    cli("fit", "d.csv", "--model", "popular", "--out", "m.unrated")
    return tmp_path / "m.unrated"


def test_json_metrics_and_intervals(cli: CliRun, model: Path) -> None:
    args = ("evaluate", "m.unrated", "--histories", "h.csv", "--targets", "t.csv", "-k", "1,3")
    result = cli(*args, "--json")
    report = json.loads(result.stdout)
    # h1's list: y w z (target z at 3); h2's: x w z (target x at 1); h3: no known item
    assert report["metrics"]["recall@1"] == 0.5
    assert report["metrics"]["recall@3"] == 1.0
    assert report["metrics"]["ndcg@3"] == 0.75
    assert (report["n_users"], report["dropped_test_pairs"]) == (2, 1)
    assert report["split"] == "h.csv → t.csv"
    assert report["intervals"]["recall@1"] == [0.0, 1.0]
    assert report["intervals"]["recall@3"] == [1.0, 1.0]
    assert report["bootstrap_rounds"] == 1000
    assert result.stderr == (
        "warning: h.csv: 1 of 3 lines skipped: their items are unknown to the model (1: 'ghost')\n"
    )
    table = cli(*args).stdout
    assert "│ ndcg             │ 0.5000 [0.0000, 1.0000] │ 0.7500 [0.5000, 1.0000] │" in table
    assert "each history folded in, in order, its items excluded" in table
    assert "1 test pairs skipped: item unknown to the model, or no history with an item" in table
    plain = cli(*args, "--bootstrap", "0").stdout
    assert "│ ndcg             │ 0.5000 │ 0.7500 │" in plain and "[0.0" not in plain


def test_sequences_for_fit_and_evaluate(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("1 2 3\n2 3 4\n1 3\n4 2\n")
    (tmp_path / "val.txt").write_text("1\n4 2\n")
    (tmp_path / "next.txt").write_text("2\n\n")  # line 2 has no target: not evaluated
    fitted = cli("fit", "train.txt", "--format", "sequences", "--model", "popular", "--out", "m")
    assert "on 4 users × 4 items (10 pairs)" in fitted.stdout
    assert fitted.stderr == "columns: user=user_id, item=item_id, time=position, weight=(none)\n"
    args = ("--histories", "val.txt", "--targets", "next.txt", "--format", "sequences")
    report = json.loads(cli("evaluate", "m", *args, "-k", "1", "--json").stdout)
    # 2 and 3 are bought by 3 users each; the tie goes to the first in order, 2
    assert report["n_users"] == 1 and report["metrics"]["recall@1"] == 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give TEST, or --histories FILE and --targets FILE"),
        (["--histories", "h.csv"], "--histories and --targets go together: give both"),
        (["--targets", "t.csv"], "--histories and --targets go together: give both"),
        (
            ["t.csv", "--histories", "h.csv", "--targets", "t.csv"],
            "TEST does not go with --histories and --targets",
        ),
        (
            ["--histories", "h.csv", "--targets", "t.csv", "--time-col", "ts"],
            "--time-col does not go with --histories and --targets",
        ),
        (["t.csv", "--order-col", "position"], "--order-col is for --histories"),
        (["--histories", "h.csv", "--targets", "missing.csv"], "missing.csv: file not found"),
        (
            ["--histories", "h.csv", "--targets", "bad.csv"],
            "bad.csv:3 (column 'item_id'): expected an id, the cell is empty; --clean drops "
            "rows without one (guest checkouts)",
        ),
        (
            ["--histories", "h.csv", "--targets", "cold.csv"],
            "cold.csv: no target can be ranked: nothing to evaluate",
        ),
        (["t.csv", "--bootstrap", "-1"], None),
    ],
)
def test_usage_and_file_errors(
    cli: CliRun, model: Path, args: list[str], message: str | None
) -> None:
    (model.parent / "bad.csv").write_text("user_id,item_id\nh1,x\nh2,\n")
    (model.parent / "cold.csv").write_text("user_id,item_id\nh9,x\n")
    error = cli("evaluate", "m.unrated", *args, expect=2).stderr
    if message is None:  # the parser's own message
        assert "Invalid value for '--bootstrap'" in error
    else:
        assert error.splitlines()[-1] == f"error: {message}"


@pytest.mark.slow  # an EASE fit on 6,040 users: about 30 s
@pytest.mark.skipif(not GSASREC.exists(), reason=f"{GSASREC} is not here")
def test_ml1m_gsasrec_validation_users_as_benchmarks_sasrec(cli: CliRun) -> None:
    """The 512 validation users of gSASRec: benchmarks/sasrec.py's EASE row, intervals too."""
    cli("fit", GSASREC / "train_sequences.txt", "--format", "sequences", "--model", "ease",
        "--out", "ease.unrated")  # fmt: skip
    result = cli(
        "evaluate", "ease.unrated", "--format", "sequences", "-k", "10", "--json",
        "--histories", GSASREC / "val_sequences.txt", "--targets", GSASREC / "val_next_item.txt",
        "--bootstrap", "2000",
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert (report["n_users"], report["dropped_test_pairs"]) == (512, 0)
    metrics, intervals = report["metrics"], report["intervals"]
    assert round(metrics["ndcg@10"], 4) == 0.0492
    assert round(metrics["recall@10"], 4) == 0.1035
    assert [round(x, 4) for x in intervals["ndcg@10"]] == [0.0359, 0.0633]
    assert [round(x, 4) for x in intervals["recall@10"]] == [0.0762, 0.1309]


def test_compare_leaves_the_last_item_of_each_sequence_out(cli: CliRun, tmp_path: Path) -> None:
    """--format sequences with compare: the position orders each user, as --protocol last needs."""
    (tmp_path / "s.txt").write_text("1 2 3 4\n2 3 4 1\n1 3 4 2\n4 2 1 3\n3 1 2 4\n")
    args = ("s.txt", "--format", "sequences", "--protocol", "last", "--models", "popular")
    out = cli("compare", *args, "-k", "1").stdout
    assert out.startswith("last(min_interactions=2): 5 users\n")
