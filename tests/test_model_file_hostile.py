"""Model files that parse but are absurd: every metadata field, the header and its sizes.

Files are built with a correct checksum (``seal``), so only the checks under test stand
between them and the model; load_model may raise nothing but ModelFileError.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import load_file
from safetensors.numpy import save as save_safetensors

import unrated as ur
from tests.cli_runner import run_cli
from tests.counts import count
from unrated._memory import PeakMemory
from unrated.modelfile import load_model, read_metadata, save_model, seal

GiB = 2**30


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Arrays and metadata of a small, valid iALS model file."""
    data = ur.read_interactions(
        __import__("polars").DataFrame({"user_id": [1, 1, 2, 3], "item_id": [1, 2, 2, 3]})
    )
    path = save_model(
        ur.IALS(factors=4, epochs=1).fit(data), tmp_path_factory.mktemp("m") / "m.unrated"
    )
    return load_file(path), read_metadata(path)


def write_model(
    path: Path, base: tuple[dict[str, np.ndarray], dict[str, str]], **fields: str | None
) -> Path:
    """The base model with metadata ``fields`` changed (None removes one), sealed."""
    arrays, metadata = base
    changed = {k: v for k, v in (metadata | fields).items() if v is not None}
    path.write_bytes(seal(save_safetensors(arrays, metadata=changed | {"checksum": "0" * 32})))
    return path


def params_with(base: tuple[dict[str, np.ndarray], dict[str, str]], raw: str) -> str:
    """The base model's params JSON with the value of 'factors' replaced by raw JSON text."""
    params = json.loads(base[1]["params"])
    return json.dumps(params | {"factors": 0}).replace('"factors": 0', f'"factors": {raw}')


def refused(path: Path, *fragments: str) -> str:
    """load_model's ModelFileError message, which names the file once and the fragments."""
    with pytest.raises(ur.ModelFileError) as caught:
        load_model(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and message.count(str(path)) == 1, message
    assert "\n" not in message and len(message) < 400, message
    for fragment in fragments:
        assert fragment in message, message
    count("model files: absurd metadata refused")
    return message


CASES = {
    "5,000-digit integer": ("params", "digits", "9" * 5000),
    "100,000-deep array": ("params", "'params' is not valid", "[" * 100_000 + "]" * 100_000),
    "10,000-deep array": ("params", "nested too deeply", "[" * 10_000 + "]" * 10_000),
    "format 5,000 digits": ("format", "'format' is not valid", "unrated/" + "9" * 5000),
    "format not a number": ("format", "'format' is not valid", "unrated/1.0"),
    "params NaN": ("params", "NaN is not a number", '{"regularization": NaN}'),
    "params Infinity": ("params", "Infinity is not a number", '{"alpha": -Infinity}'),
    "params 1e999": ("params", "out of range", '{"alpha": 1e999}'),
    "duplicate key": ("params", "duplicate key 'factors'", '{"factors": 4, "factors": 8}'),
    "params a list": ("params", "not a JSON object", "[4]"),
    "params not JSON": ("params", "not valid JSON", "{factors: 4}"),
    "unknown parameter": ("params", "has no parameter 'evil'", '{"evil": 1}'),
    "huge string parameter": (
        "params",
        "'confidence' must be",
        '{"confidence": "' + "x" * 9999 + '"}',
    ),
    "nested parameter": ("params", "'factors' must be", '{"factors": {"a": [1]}}'),
    "version with escapes": ("unrated_version", "'unrated_version' is not valid", "1\x1b[2J"),
    "fingerprint not hex": ("trained_on", "'trained_on' is not valid", "x" * 5000),
    "unknown model": ("model", "unknown model 'os.system'", "os.system"),
    "unknown field": ("exec", "unknown metadata field 'exec'", "1"),
    "model missing": ("model", "'model' is missing", None),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_absurd_metadata_is_a_model_file_error(
    case: str, base: tuple[dict[str, np.ndarray], dict[str, str]], tmp_path: Path
) -> None:
    field, fragment, value = CASES[case]
    path = write_model(tmp_path / "m.unrated", base, **{field: value})
    refused(path, fragment)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("-5", "The 'factors' parameter of IALS must be an int ≥ 1. Got -5"),
        (str(10**100), "an integer of 101 digits"),
        (str(2**63), "'factors' must be a number"),
        ("4.5", "The 'factors' parameter of IALS must be an int"),
        ("true", "The 'factors' parameter of IALS must be an int"),
        ("1073741824", "the array 'user_factors' should be float32 of shape (3, 1073741824)"),
    ],
)
def test_params_valid_json_invalid_for_the_model(
    raw: str, fragment: str, base: tuple[dict[str, np.ndarray], dict[str, str]], tmp_path: Path
) -> None:
    path = write_model(tmp_path / "m.unrated", base, params=params_with(base, raw))
    refused(path, fragment)


def test_newer_format_names_the_version(
    base: tuple[dict[str, np.ndarray], dict[str, str]], tmp_path: Path
) -> None:
    path = write_model(tmp_path / "m.unrated", base, format="unrated/2", unrated_version="9.1")
    refused(path, "format 'unrated/2' by unrated 9.1", "upgrade unrated")


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
PARAM_NAMES = st.sampled_from([*ur.IALS.param_names(), "", "__class__", "factors "])
TEXT = st.text(st.characters(codec="utf-8"), max_size=200) | st.sampled_from(
    ["unrated/1", "unrated/0", "unrated/01", "unrated/ 1", "ials", "ease", "popular", "9" * 300]
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    params=st.dictionaries(PARAM_NAMES, JSON_VALUES, max_size=4),
    field=st.sampled_from(["format", "model", "unrated_version", "trained_on", "checksum", "x"]),
    value=TEXT,
    change_field=st.booleans(),
)
def test_any_metadata_loads_or_is_a_model_file_error(
    params: dict[str, Any],
    field: str,
    value: str,
    change_field: bool,
    base: tuple[dict[str, np.ndarray], dict[str, str]],
    tmp_path: Path,
) -> None:
    fields = {"params": json.dumps(params)} | ({field: value} if change_field else {})
    if field == "checksum" and change_field:  # seal needs the placeholder: break it after
        fields.pop("checksum")
    path = write_model(tmp_path / "m.unrated", base, **fields)
    try:
        model = load_model(path)
    except ur.ModelFileError as error:
        message = str(error)
        model = None
    if model is None:
        assert message.count(str(path)) == 1 and "\n" not in message, message
        count("model files: hypothesis metadata refused")
    else:
        assert model.key == "ials" and set(params) <= set(ur.IALS.param_names())
        count("model files: hypothesis metadata loaded")


def test_model_file_errors_name_the_path_once(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.unrated", tmp_path):
        with pytest.raises(ur.ModelFileError) as caught:
            load_model(path)
        assert str(caught.value).count(str(path)) == 1, caught.value
    with pytest.raises(ur.ModelFileError, match="not a regular file"):
        load_model(tmp_path)


# ----------------------------------------------------------------- the header and sizes
def raw_file(path: Path, header: dict[str, Any], data: bytes = b"", *, size: int = 0) -> Path:
    """A safetensors file from a header dict, extended (sparse) to ``size`` bytes."""
    text = json.dumps(header, separators=(",", ":")).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)
    if size:
        os.truncate(path, size)
    return path


META = {"format": "unrated/1", "model": "popular", "params": "{}", "checksum": "0" * 32}


def test_a_header_claiming_2_63_bytes_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "sparse.unrated"
    path.write_bytes((2**63).to_bytes(8, "little") + b"{}")
    os.truncate(path, 6 * GiB)  # sparse: no disk used
    with PeakMemory() as peak:
        message = refused(path, "declaring 9,223,372,036,854,775,808 header bytes")
    assert "6,442,450,944 bytes" in message
    assert peak.extra_bytes is None or peak.extra_bytes < 64 * 2**20


def test_arrays_claiming_more_than_the_file_are_refused_before_reading(tmp_path: Path) -> None:
    header = {
        "__metadata__": META,
        "x": {"dtype": "F32", "shape": [2**61], "data_offsets": [0, 2**63]},
    }
    path = raw_file(tmp_path / "sparse.unrated", header, size=6 * GiB)
    with PeakMemory() as peak:
        refused(path, "do not fill the file's")
    assert peak.extra_bytes is None or peak.extra_bytes < 64 * 2**20


def test_a_large_consistent_file_is_checksummed_in_bounded_memory(tmp_path: Path) -> None:
    """Header and sizes agree with a 256 MiB sparse file: the checksum is streamed, then fails."""
    data_size = GiB // 4
    header = {
        "__metadata__": META,
        "x": {"dtype": "U8", "shape": [data_size], "data_offsets": [0, data_size]},
    }
    text = json.dumps(header, separators=(",", ":")).encode()
    path = raw_file(tmp_path / "sparse.unrated", header, size=8 + len(text) + data_size)
    with PeakMemory() as peak:
        refused(path, "the checksum does not match")
    assert peak.extra_bytes is None or peak.extra_bytes < 64 * 2**20, peak.extra_bytes


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}, "does not fill bytes"),
        ({"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}, "unknown dtype 'C64'"),
        ({"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}, "shape must be a list"),
        ({"dtype": "F32", "shape": [[2]], "data_offsets": [0, 8]}, "shape must be a list"),
        ({"dtype": "F32", "shape": [1] * 9, "data_offsets": [0, 4]}, "shape must be a list"),
        ({"dtype": "F32", "shape": [2], "data_offsets": [8]}, "data_offsets must be"),
        ({"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "exec": 1}, "expected the keys"),
        ({"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}, "do not fill"),
    ],
)
def test_malformed_array_entries(entry: dict[str, Any], fragment: str, tmp_path: Path) -> None:
    path = raw_file(tmp_path / "m.unrated", {"__metadata__": META, "x": entry}, b"\0" * 8)
    refused(path, fragment)


def test_overlapping_arrays_are_refused(tmp_path: Path) -> None:
    entry = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    path = raw_file(
        tmp_path / "m.unrated", {"__metadata__": META, "x": entry, "y": entry}, b"\0" * 8
    )
    refused(path, "do not fill")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(header=JSON_VALUES, tail=st.binary(max_size=64))
def test_any_header_json_is_a_model_file_error(header: Any, tail: bytes, tmp_path: Path) -> None:
    text = json.dumps(header).encode()
    path = tmp_path / "m.unrated"
    path.write_bytes(len(text).to_bytes(8, "little") + text + tail)
    with pytest.raises(ur.ModelFileError):
        load_model(path)
    count("model files: hypothesis headers refused")


# ----------------------------------------------------------------- the CLI
@pytest.mark.parametrize(
    "case", ["5,000-digit integer", "100,000-deep array", "format 5,000 digits"]
)
@pytest.mark.parametrize("command", ["info", "recommend"])
def test_cli_says_one_line_and_exits_2(
    case: str, command: str, base: tuple[dict[str, np.ndarray], dict[str, str]], tmp_path: Path
) -> None:
    field, fragment, value = CASES[case]
    path = write_model(tmp_path / "m.unrated", base, **{field: value})
    args = [str(path)] if command == "info" else [str(path), "--user", "1"]
    result = run_cli(command, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), result.stderr
    assert fragment in lines[0] and lines[0].count(str(path)) == 1
