"""``unrated fit`` without ``--model`` chooses (auto): one line says what and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import CliRun
from unrated.modelfile import load_model

NARROW = {"COLUMNS": "80"}
#: Two taste groups, six users each with five of their group's six items.
DATA = "user_id,item_id\n" + "".join(
    f"u{user},i{item}\n"
    for user in range(12)
    for item in range(6 * (user // 6), 6 * (user // 6) + 6)
    if item % 6 != user % 6
)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    (tmp_path / "d.csv").write_text(DATA)
    return tmp_path / "d.csv"


def test_fit_without_a_model_chooses_prints_why_and_saves_the_chosen_model(
    cli: CliRun, small: Path, tmp_path: Path
) -> None:
    result = cli("fit", small, "--out", "m.unrated", env=NARROW)
    line = next(line for line in result.stderr.splitlines() if line.startswith("auto: "))
    model = load_model(tmp_path / "m.unrated")
    assert line.startswith(f"auto: {model.key} (validation NDCG@20 0.")
    assert f"fitted {model.key} (local) on 12 users × 12 items (60 pairs)" in result.stdout
    info = model.info_["auto"]
    assert info["chosen"] == model.key and set(info["scores"]) <= {
        "item-knn",
        "ials",
        "graph-filter",
        "ease",
    }
    assert info["budget_seconds"] == 300
    shown = cli("info", "m.unrated").stdout
    assert '"auto"' in shown and f'"chosen": "{model.key}"' in shown


def test_auto_named_with_a_budget_too_small_fits_popular_and_says_why(
    cli: CliRun, small: Path, tmp_path: Path
) -> None:
    result = cli("fit", small, "--model", "auto", "--budget", "0.01", "--out", "m.unrated")
    lines = [line for line in result.stderr.splitlines() if line.startswith("auto: ")]
    assert lines[0].startswith("auto: popular (no candidate scored; ")
    assert len(lines) == 5 and all("of the 0.01 s budget left" in line for line in lines[1:])
    assert load_model(tmp_path / "m.unrated").key == "popular"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--budget", "0"), "error: --budget must be seconds > 0, got 0"),
        (("--budget", "inf"), "error: --budget must be seconds > 0, got inf"),
        (("--model", "ials", "--budget", "9"), "error: --budget is for --model auto, not ials"),
        (
            ("--model", "auto", "--engine", "spark"),
            "error: --model auto chooses on this machine; --engine spark trains ials only",
        ),
        (
            ("--model", "auto", "--engine", "torchrun"),
            "error: --model auto chooses on this machine; --engine torchrun trains mf only",
        ),
    ],
)
def test_auto_mistakes_are_one_line_and_exit_2(
    cli: CliRun, small: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = cli("fit", small, "--out", "m.unrated", *args, expect=2)
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert not (tmp_path / "m.unrated").exists()


def test_the_help_names_auto_and_its_candidates(cli: CliRun) -> None:
    help_text = cli("fit", "--help", env={"COLUMNS": "200"}).stdout
    text = " ".join(help_text.replace("│", " ").split())
    assert "Default: auto, the best of item-knn, ials, graph-filter, ease" in text
    assert "--budget" in text
