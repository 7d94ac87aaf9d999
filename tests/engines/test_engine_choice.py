"""Each engine trains one model; asked for another, it says so before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engines.conftest import run_cli

REFUSALS = [("spark", "mf", "ials"), ("torchrun", "ials", "mf")]  # (engine, asked, trains)


@pytest.mark.parametrize(("engine", "model", "trains"), REFUSALS)
def test_an_engine_refuses_the_other_model(
    engine: str, model: str, trains: str, tmp_path: Path, ml100k_path: Path
) -> None:
    result = run_cli(
        "fit", ml100k_path, "--model", model, "--engine", engine, "--out", "m.unrated",
        cwd=tmp_path, timeout=60, expect=2,
    )  # fmt: skip
    assert f"trains {trains!r} only" in result.stderr
    assert not (tmp_path / "m.unrated").exists()
