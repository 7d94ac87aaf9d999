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


#: Written by unrated 0.1.0 before model files could hold ``info`` (iALS, 30 users × 12 items).
BEFORE_INFO = Path(__file__).parent / "model_files" / "ials-before-info.unrated"


def test_a_file_written_before_info_existed_loads() -> None:
    assert "info" not in read_metadata(BEFORE_INFO)
    model = load_model(BEFORE_INFO)
    assert model.info_ == {}
    assert model.item_names_ is not None and model.item_names_[0] == "item 0"
    top = model.recommend([0, 1, 2], k=4).item_ids.tolist()
    assert top == [[10, 0, 11, 9], [9, 3, 10, 4], [7, 6, 0, 1]]  # as unrated 0.1.0 ranked


def test_engine_info_round_trips_and_plain_files_have_none(
    checkerboard: ur.Interactions, tmp_path: Path
) -> None:
    model = ur.IALS(factors=2, epochs=1).fit(checkerboard)
    assert "info" not in read_metadata(save_model(model, tmp_path / "plain.unrated"))
    info = {"engine": "spark", "spark_params": {"rank": 2, "regParam": 0.25, "blocks": 4}}
    model.restore(
        users=model.users_,
        items=model.items_,
        seen=model.seen_,
        arrays=model._arrays(),
        info=info,
        trained_on=model.trained_on_,
    )
    path = save_model(model, tmp_path / "engine.unrated")
    assert json.loads(read_metadata(path)["info"]) == info
    loaded = load_model(path)
    assert loaded.info_ == info
    assert loaded.trained_on_ == model.trained_on_
    assert np.array_equal(loaded._arrays()["user_factors"], model._arrays()["user_factors"])


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[1, 2]", "metadata field 'info' is not valid"),
        ('{"a": 1, "a": 2}', "metadata field 'info' is not valid JSON"),
        ('{"a": NaN}', "metadata field 'info' is not valid JSON"),
        ("{" + " " * 70_000 + "}", "metadata field 'info' is not valid"),
    ],
)
def test_hostile_info_is_refused(saved: Path, tmp_path: Path, text: str, error: str) -> None:
    from safetensors.numpy import load_file

    meta = read_metadata(saved) | {"info": text, "checksum": "0" * 32}
    path = tmp_path / "hostile.unrated"
    path.write_bytes(seal(save_safetensors(load_file(saved), metadata=meta)))
    with pytest.raises(ur.ModelFileError, match=error):
        load_model(path)
