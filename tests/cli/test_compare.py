from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import CliRun


def test_compare_with_report(cli: CliRun, tmp_path: Path, ml100k_path: Path) -> None:
    result = cli(
        "compare",
        ml100k_path,
        "--models",
        "popular,ease,item-knn:neighbors=50,similarity=cosine",
        "--report",
        "rep",
        "--bootstrap",
        "200",
    )
    assert "ease" in result.stdout and "vs best" in result.stdout
    document = json.loads((tmp_path / "rep" / "results.json").read_text())
    specs = [m["spec"] for m in document["models"]]
    assert specs[0] == "ease"
    assert "item-knn:neighbors=50,similarity=cosine" in specs
    assert (tmp_path / "rep" / "report.html").exists()


def test_sampled_metrics_are_labelled_and_warned(cli: CliRun, ml100k_path: Path) -> None:
    result = cli(
        "compare", ml100k_path, "--models", "popular", "--sampled", "100", "--bootstrap", "50"
    )
    assert "Krichene & Rendle" in result.stderr
    assert "sampled" in result.stdout


def test_time_protocol_fits_on_the_past(cli: CliRun, ml100k_path: Path) -> None:
    result = cli(
        "compare",
        ml100k_path,
        "--protocol",
        "time",
        "--models",
        "popular,ease",
        "--bootstrap",
        "50",
    )
    assert "time(cutoff=" in result.stdout


def test_given_test_file(cli: CliRun, tmp_path: Path, ml100k_path: Path) -> None:
    cli("split", ml100k_path, "--out", "s")
    result = cli("compare", "s/train.csv", "s/test.csv", "--models", "popular", "--bootstrap", "50")
    assert "given test file" in result.stdout


def test_tune_writes_history_and_checks_on_test(
    cli: CliRun, tmp_path: Path, ml100k_path: Path
) -> None:
    cli("split", ml100k_path, "--out", "s")
    result = cli(
        "tune", "s/train.csv", "s/test.csv", "--model", "item-knn", "--trials", "6", "--out", "t"
    )
    assert "best spec: item-knn" in result.stdout
    assert "on test:" in result.stdout
    assert (tmp_path / "t" / "tuning.png").stat().st_size > 5000
    assert (tmp_path / "t" / "trials.csv").read_text().startswith("trial,state,value,spec")
