from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save as save_safetensors

import unrated as ur
from unrated.modelfile import load_model, read_metadata, save_model, seal


@pytest.fixture
def saved(checkerboard: ur.Interactions, tmp_path: Path) -> Path:
    return save_model(ur.EASE(regularization=3.0).fit(checkerboard), tmp_path / "m.unrated")


def test_metadata(saved: Path) -> None:
    meta = read_metadata(saved)
    assert meta["format"] == "unrated/1"
    assert meta["model"] == "ease"
    assert json.loads(meta["params"]) == {"regularization": 3.0}
    assert meta["unrated_version"] == ur.__version__
    assert len(meta["trained_on"]) == 24


def test_string_ids_and_item_names_survive(tmp_path: Path) -> None:
    import polars as pl

    frame = pl.DataFrame({"user_id": ["007", "7", "007"], "item_id": ["ä", "b", "b"]})
    model = ur.Popular().fit(frame)
    loaded = load_model(save_model(model, tmp_path / "m.unrated", item_names={"b": "Bee"}))
    assert loaded.users_.ids.tolist() == ["007", "7"]
    assert loaded.items_.ids.tolist() == ["b", "ä"]  # sorted by UTF-8 bytes
    assert loaded.item_names_.tolist() == ["Bee", ""]
    assert loaded.recommend("7", k=1).item_ids.tolist() == [["ä"]]


def test_truncated_file(saved: Path) -> None:
    saved.write_bytes(saved.read_bytes()[:-7])
    with pytest.raises(ur.ModelFileError, match="corrupt or truncated"):
        load_model(saved)


def test_flipped_byte_in_the_data(saved: Path) -> None:
    raw = bytearray(saved.read_bytes())
    raw[-3] ^= 0xFF
    saved.write_bytes(bytes(raw))
    with pytest.raises(ur.ModelFileError, match="checksum does not match"):
        load_model(saved)


def test_newer_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.unrated"
    path.write_bytes(
        save_safetensors(
            {"x": np.zeros(1, np.float32)},
            metadata={"format": "unrated/2", "unrated_version": "9.0"},
        )
    )
    with pytest.raises(
        ur.ModelFileError, match=r"format 'unrated/2' by unrated 9\.0.*upgrade unrated"
    ):
        load_model(path)


def test_unknown_model_class_is_refused(saved: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    arrays = load_file(saved)
    meta = read_metadata(saved) | {"model": "os.system", "checksum": "0" * 32}
    path = tmp_path / "evil.unrated"
    path.write_bytes(seal(save_safetensors(arrays, metadata=meta)))  # well-formed, hostile
    with pytest.raises(ur.ModelFileError, match="unknown model 'os.system'"):
        load_model(path)


def test_not_a_model_file(tmp_path: Path) -> None:
    path = tmp_path / "x.unrated"
    path.write_bytes(b"\x80\x04\x95 pickle? no.")
    with pytest.raises(ur.ModelFileError, match="not an unrated model file"):
        load_model(path)
    with pytest.raises(ur.ModelFileError, match="file not found"):
        load_model(tmp_path / "missing.unrated")


def test_failed_save_leaves_the_old_file(saved: Path, checkerboard: ur.Interactions) -> None:
    before = saved.read_bytes()
    with pytest.raises(ur.NotFittedError):
        save_model(ur.EASE(), saved)
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]  # no temp file left
