"""Through a pipe at COLUMNS=80, lines a user copies or a script parses (paths, specs,
parameters, ids) are never wrapped or cut; tables fit the width."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import CliRun

NARROW = {"COLUMNS": "80"}
DATA = "user_id,item_id\n" + "".join(
    f"u{user},i{item}\n" for user in range(6) for item in range(6) if item != user
)
LONG_ITEM = "item-" + "x" * 90  # an id longer than the terminal is wide


@pytest.fixture
def deep(tmp_path: Path) -> Path:
    """A folder whose relative path alone is wider than the terminal."""
    folder = Path("a-rather-long-folder-name-for-models") / "and-another-one-below-it" / "v1"
    (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "d.csv").write_text(DATA + f"u0,{LONG_ITEM}\nu1,{LONG_ITEM}\n")
    return folder


def only_line(text: str, needle: str) -> str:
    lines = [line for line in text.splitlines() if needle in line]
    assert len(lines) == 1, text
    return lines[0]


def test_fit_and_info_lines_are_whole(cli: CliRun, deep: Path) -> None:
    out = deep / "item-knn-with-a-long-name.unrated"
    fitted = cli("fit", "d.csv", "--model", "item-knn:neighbors=50", "--out", out, env=NARROW)
    line = only_line(fitted.stdout, "fitted item-knn:neighbors=50 (local)")
    assert f"→ {out} (" in line and len(line) > 80
    info = cli("info", out, env=NARROW).stdout
    params = only_line(info, "params: ").removeprefix("params: ")
    assert json.loads(params)["neighbors"] == 50 and len(params) > 80


@pytest.mark.slow
def test_split_synth_and_recommend_lines_are_whole(cli: CliRun, deep: Path) -> None:
    split = cli("split", "d.csv", "--out", deep / "split", env=NARROW)
    assert only_line(split.stdout, ": train ").endswith(f"→ {deep}/split/")
    synth = ("synth", "--users", "5", "--items", "5", "--interactions", "20")
    made = cli(*synth, "--out", deep / "synthetic.csv", env=NARROW).stdout
    assert only_line(made, "wrote 20 rows").endswith(f"→ {deep}/synthetic.csv")
    cli("fit", "d.csv", "--model", "popular", "--out", "m.unrated")
    wrote = cli("recommend", "m.unrated", "--all", "--out", deep / "recs.csv", env=NARROW).stdout
    assert only_line(wrote, "wrote ").endswith(f"→ {deep}/recs.csv")


@pytest.mark.slow
def test_ids_are_never_cut_short(cli: CliRun, deep: Path) -> None:
    cli("fit", "d.csv", "--model", "popular", "--out", "m.unrated")
    csv = cli("recommend", "m.unrated", "--all", "-k", "3", env=NARROW).stdout
    assert f"\nu2,{LONG_ITEM},2,2.0\n" in csv  # the CSV on stdout: whole rows
    table = cli("recommend", "m.unrated", "--user", "u2", env=NARROW).stdout
    assert "…" not in table and max(map(len, table.splitlines())) <= 80
    # folded over lines, not cut: every character of the id is in the table's first column
    cells = "".join(line.split("│")[2].strip() for line in table.splitlines() if "│" in line)
    assert LONG_ITEM in cells
