from __future__ import annotations

import json
from pathlib import Path

import unrated as ur

from .conftest import CliRun


def test_study_negatives_writes_a_table_and_a_plot(
    cli: CliRun, ml100k_split: ur.Split, tmp_path: Path
) -> None:
    for name, part in (("train.csv", ml100k_split.train), ("test.csv", ml100k_split.test)):
        coo = part.matrix.tocoo()
        lines = ["user_id,item_id"] + [
            f"{part.users.ids[u]},{part.items.ids[i]}"
            for u, i in zip(coo.row, coo.col, strict=True)
        ]
        (tmp_path / name).write_text("\n".join(lines) + "\n")
    result = cli(
        "study",
        "negatives",
        tmp_path / "train.csv",
        tmp_path / "test.csv",
        "--params",
        "epochs=1,validation=0",
        "--plot",
        tmp_path / "n.png",
        "--json",
    )
    rows = json.loads(result.stdout)["rows"]
    assert len(rows) == 8 and rows[0]["loss"] == "mse"
    assert (tmp_path / "n.png").stat().st_size > 1000


def test_study_rejects_an_unknown_parameter(cli: CliRun, tmp_path: Path) -> None:
    result = cli("study", "negatives", "a.csv", "b.csv", "--params", "colour=red", expect=2)
    assert "has no parameter 'colour'" in result.stderr
