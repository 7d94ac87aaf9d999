"""``unrated study negatives --model sasrec``: the loss × negatives table from ordered files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.chains import TINY_SASREC, chain_log

from .conftest import CliRun
from .test_compare import PIPED, assert_fits_80_columns

pytest.importorskip("torch")

PARAMS = ",".join(f"{k}={v}" for k, v in TINY_SASREC.items())


@pytest.fixture
def split(cli: CliRun, tmp_path: Path) -> tuple[Path, Path]:
    """A chain log split by 'last': train.csv keeps its timestamps, so its order."""
    chain_log(200, 30).write_csv(tmp_path / "chain.csv")
    cli("split", tmp_path / "chain.csv", "--protocol", "last", "--out", tmp_path / "split")
    return tmp_path / "split" / "train.csv", tmp_path / "split" / "test.csv"


@pytest.mark.slow
def test_sasrec_study_learns_the_order_of_the_files(
    cli: CliRun, split: tuple[Path, Path], tmp_path: Path
) -> None:
    train, test = split
    result = cli(
        "study", "negatives", train, test, "--model", "sasrec", "--params", PARAMS + ",epochs=8",
        "--plot", tmp_path / "s.png", "--json",
    )  # fmt: skip
    rows = json.loads(result.stdout)["rows"]
    assert [(r["loss"], r["negatives"]) for r in rows] == [
        ("bce", 1), ("bce", 16), ("bce", 256), ("gbce", 16), ("gbce", 256),
        ("sampled_softmax", 16), ("sampled_softmax", 256), ("softmax", None),
    ]  # fmt: skip
    assert all(r["model"] == "sasrec" and r["spec"].startswith("sasrec:") for r in rows)
    assert rows[-1]["ndcg"] >= 0.9  # the next item follows the last one: read from the files
    assert (tmp_path / "s.png").stat().st_size > 1000


@pytest.mark.slow
def test_sasrec_table_piped_fits_80_columns(cli: CliRun, split: tuple[Path, Path]) -> None:
    train, test = split
    result = cli(
        "study", "negatives", train, test, "--model", "sasrec", "--params", PARAMS + ",epochs=1",
        env=PIPED,
    )  # fmt: skip
    assert_fits_80_columns(result.stdout)
    assert "negative sampling for sasrec" in result.stdout
    assert (
        "uni·1·bce" in result.stdout
        and "uni·256·sampled-sm" in result.stdout
        and "all·softmax" in result.stdout
    )
    assert "all·softmax: the whole catalogue" in " ".join(result.stdout.split())
    assert "negatives study: 8/8" in result.stderr and "no time column" not in result.stderr


@pytest.mark.slow
def test_sasrec_study_says_when_train_has_no_order(cli: CliRun, split: tuple[Path, Path]) -> None:
    train, test = split
    result = cli(
        "study", "negatives", train, test, "--model", "sasrec", "--time-col", "",
        "--params", PARAMS + ",epochs=1", "--json",
    )  # fmt: skip
    assert "has no time column: sasrec reads each customer's items in catalogue order" in (
        " ".join(result.stderr.split())
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model", "bert4rec"), "--model must be one of mf, sasrec, got 'bert4rec'"),
        (("--model", "sasrec", "--params", "resample=once"), "has no parameter 'resample'"),
    ],
)
def test_study_names_a_bad_model_or_parameter(
    cli: CliRun, args: tuple[str, ...], message: str
) -> None:
    result = cli("study", "negatives", "a.csv", "b.csv", *args, expect=2)
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
