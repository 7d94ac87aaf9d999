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
    assert any(line.startswith("spec: item-knn") for line in result.stdout.splitlines())
    assert "on test:" in result.stdout.splitlines()[-1]
    assert (tmp_path / "t" / "tuning.png").stat().st_size > 5000
    assert (tmp_path / "t" / "trials.csv").read_text().startswith("trial,state,value,spec")


#: Piped output at 80 columns, with the default progress (plain lines when not a terminal).
PIPED = {"COLUMNS": "80", "UNRATED_PROGRESS": "auto", "UNRATED_PROGRESS_EVERY": "0"}


def assert_fits_80_columns(stdout: str) -> None:
    """Every line fits 80 columns, or is one plain line ("spec: ...", a path) never cut."""
    for line in stdout.splitlines():
        assert "…" not in line, line  # nothing truncated: not a header, not a spec
        assert len(line) <= 80 or line.startswith(("spec: ", "report: ", "plot: ")), line


def test_compare_piped_fits_80_columns_and_shows_progress(
    cli: CliRun, tmp_path: Path, ml100k_path: Path
) -> None:
    long_spec = "item-knn:neighbors=50,similarity=cosine,shrinkage=25.0"
    result = cli(
        "compare", ml100k_path, "--models", f"popular,{long_spec}", "--bootstrap", "50", env=PIPED
    )
    assert_fits_80_columns(result.stdout)
    header = next(line for line in result.stdout.splitlines() if "NDCG@20" in line)
    for name in ("model", "NDCG@20", "Recall@20", "vs best", "fit s", "rec s", "MiB"):
        assert name in header
    folded = "".join(line.split("│")[2].strip() for line in result.stdout.splitlines()[4:9])
    assert long_spec in folded  # folded over lines, not cut
    assert "warm-up fit" in result.stdout
    assert "comparing: 0/2 fitting popular" in result.stderr
    assert "comparing: 2/2" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no file without --report


def test_tune_piped_keeps_the_spec_line_whole_and_writes_only_with_out(
    cli: CliRun, tmp_path: Path, ml100k_path: Path
) -> None:
    cli("split", ml100k_path, "--out", "s")
    result = cli(
        "tune", "s/train.csv", "--model", "item-knn", "--trials", "4", "--seed", "1", env=PIPED
    )
    assert_fits_80_columns(result.stdout)
    spec = result.stdout.splitlines()[-1].removeprefix("spec: ")
    assert spec == "item-knn:neighbors=25,walk_exponent=0.7425,popularity_penalty=0.5587"
    assert "within noise" in result.stdout.replace("\n", " ")
    assert "tuning item-knn: 4/4" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # nothing written without --out
    with_out = cli(
        "tune", "s/train.csv", "--model", "ease", "--trials", "2", "--seed", "1", "--out", "t"
    )
    assert "no trial beat the defaults" in with_out.stdout.replace("\n", " ")
    assert with_out.stdout.splitlines()[-1] == "spec: ease"
    assert f"plot: {Path('t') / 'tuning.png'}" in with_out.stdout
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["trials.csv", "tuning.png"]
