from __future__ import annotations

import json
from pathlib import Path

import unrated as ur

from .conftest import CliRun
from .test_compare import PIPED, assert_fits_80_columns


def write_split(split: ur.Split, folder: Path) -> tuple[Path, Path]:
    """train.csv and test.csv (user_id,item_id) in ``folder``."""
    folder.mkdir(exist_ok=True)
    paths = folder / "train.csv", folder / "test.csv"
    for path, part in zip(paths, (split.train, split.test), strict=True):
        coo = part.matrix.tocoo()
        lines = ["user_id,item_id"] + [
            f"{part.users.ids[u]},{part.items.ids[i]}"
            for u, i in zip(coo.row, coo.col, strict=True)
        ]
        path.write_text("\n".join(lines) + "\n")
    return paths


def test_study_negatives_writes_a_table_and_a_plot(
    cli: CliRun, ml100k_split: ur.Split, tmp_path: Path
) -> None:
    train, test = write_split(ml100k_split, tmp_path)
    result = cli(
        "study", "negatives", train, test, "--params", "epochs=1,validation=0",
        "--plot", tmp_path / "n.png", "--json",
    )  # fmt: skip
    document = json.loads(result.stdout)
    assert len(document["rows"]) == 8 and document["rows"][0]["loss"] == "mse"
    assert document["plot"] == str(tmp_path / "n.png")
    assert (tmp_path / "n.png").stat().st_size > 1000


def test_study_piped_fits_80_columns_and_writes_no_unasked_file(
    cli: CliRun, ml100k_split: ur.Split, tmp_path: Path
) -> None:
    train, test = write_split(ml100k_split, tmp_path / "data")
    result = cli("study", "negatives", train, test, "--params", "epochs=1,validation=0", env=PIPED)
    assert_fits_80_columns(result.stdout)
    header = next(line for line in result.stdout.splitlines() if "NDCG@20" in line)
    for name in ("setting", "NDCG@20", "Recall@20", "coverage@20", "pair acc.", "fit s"):
        assert name in header
    assert "uni·1·once·mse" in result.stdout and "pop·16·epoch·softmax" in result.stdout
    assert "pair acc.: accuracy on balanced pairs" in result.stdout.replace("\n", " ")
    assert "negatives study: 8/8" in result.stderr  # progress lines when piped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no plot without --plot


def test_study_rejects_an_unknown_parameter(cli: CliRun, tmp_path: Path) -> None:
    result = cli("study", "negatives", "a.csv", "b.csv", "--params", "colour=red", expect=2)
    assert "has no parameter 'colour'" in result.stderr
