"""Bad input: one clear line on stderr, exit code 2, no traceback (checked by the fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import CliRun


@pytest.fixture
def model(cli: CliRun, tmp_path: Path) -> Path:
    (tmp_path / "d.csv").write_text("user_id,item_id\na,x\na,y\nb,x\nc,z\nc,y\n")
    cli("fit", "d.csv", "--model", "item-knn", "--out", "m.unrated")
    return tmp_path / "m.unrated"


def error_line(result: object) -> str:
    stderr = result.stderr.strip()  # type: ignore[attr-defined]
    assert stderr.startswith("error: "), stderr
    assert len(stderr.splitlines()) == 1, stderr
    return stderr


def test_missing_file(cli: CliRun) -> None:
    assert "nope.csv: file not found" in error_line(
        cli("fit", "nope.csv", "--out", "m.unrated", expect=2)
    )


def test_empty_file(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("")
    assert "e.csv: the file is empty" in error_line(
        cli("fit", "e.csv", "--out", "m.unrated", expect=2)
    )


def test_no_recognisable_columns(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("who,what\na,b\n")
    line = error_line(cli("fit", "c.csv", "--out", "m.unrated", expect=2))
    assert "no user column found; columns found: who, what" in line


def test_short_row(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("user_id,item_id\na,x\nb\n")
    assert "s.csv:3 (column 'item_id')" in error_line(
        cli("fit", "s.csv", "--out", "m.unrated", expect=2)
    )


def test_unknown_model_lists_valid_ones(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("user_id,item_id\na,x\n")
    line = error_line(cli("fit", "d.csv", "--model", "magic", "--out", "m.unrated", expect=2))
    assert "unknown model 'magic'; valid models: popular, item-knn, ease" in line


def test_unknown_parameter_lists_valid_ones(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("user_id,item_id\na,x\n")
    line = error_line(
        cli("fit", "d.csv", "--model", "ease:lambda=3", "--out", "m.unrated", expect=2)
    )
    assert "model 'ease' has no parameter 'lambda'; valid parameters: regularization" in line


def test_unknown_user(cli: CliRun, model: Path) -> None:
    assert "1 unknown user: 'zed'" in error_line(cli("recommend", model, "--user", "zed", expect=2))


def test_k_not_positive(cli: CliRun, model: Path) -> None:
    assert "k must be an int ≥ 1. Got 0" in error_line(
        cli("recommend", model, "--user", "a", "-k", "0", expect=2)
    )


def test_corrupt_and_truncated_model(cli: CliRun, model: Path) -> None:
    raw = model.read_bytes()
    model.write_bytes(raw[: len(raw) // 2])
    assert "corrupt or truncated" in error_line(cli("recommend", model, "--user", "a", expect=2))
    flipped = bytearray(raw)
    flipped[-5] ^= 0x55
    model.write_bytes(bytes(flipped))
    assert "checksum does not match" in error_line(cli("recommend", model, "--user", "a", expect=2))


def test_newer_format(cli: CliRun, model: Path) -> None:
    raw = model.read_bytes()
    model.write_bytes(raw.replace(b'"format":"unrated/1"', b'"format":"unrated/7"'))
    assert "upgrade unrated" in error_line(cli("info", model, expect=2))


def test_failed_fit_leaves_the_existing_model(cli: CliRun, model: Path, tmp_path: Path) -> None:
    before = model.read_bytes()
    (tmp_path / "bad.csv").write_text("user_id,item_id,weight\na,x,1\nb,y,-1\n")
    cli("fit", "bad.csv", "--out", model.name, expect=2)
    cli("fit", "missing.csv", "--out", model.name, expect=2)
    assert model.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "d.csv", "m.unrated"]


def test_usage_error_exits_2(cli: CliRun) -> None:
    result = cli("fit", expect=2)
    assert "Missing argument" in result.stderr
