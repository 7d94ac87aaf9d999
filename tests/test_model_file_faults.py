"""Model files under faults: every corruption is caught; a killed writer never breaks a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import unrated as ur
from tests.counts import count
from unrated.modelfile import load_model, read_metadata, save_model


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory: pytest.TempPathFactory, ml100k_split: ur.Split) -> bytes:
    path = tmp_path_factory.mktemp("m") / "knn.unrated"
    save_model(
        ur.ItemKNN(neighbors=10).fit(ml100k_split.train), path, item_names={"1": "Toy Story"}
    )
    return path.read_bytes()


def test_every_flipped_truncated_or_spliced_file_is_refused(
    model_bytes: bytes, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "fuzzed.unrated"
    header_end = 8 + int.from_bytes(model_bytes[:8], "little")
    for trial in range(600):
        data = bytearray(model_bytes)
        kind = trial % 4
        if kind == 0:  # flip one byte anywhere
            at = int(rng.integers(0, len(data)))
            data[at] ^= int(rng.integers(1, 256))
        elif kind == 1:  # flip one byte of the header (JSON, offsets, padding)
            at = int(rng.integers(0, header_end))
            data[at] ^= int(rng.integers(1, 256))
        elif kind == 2:  # truncate
            data = data[: int(rng.integers(0, len(data)))]
        else:  # drop a slice
            start = int(rng.integers(0, len(data)))
            del data[start : start + int(rng.integers(1, 64))]
        path.write_bytes(bytes(data))
        with pytest.raises(ur.ModelFileError):
            load_model(path)
        count("faults: model files flipped, truncated or spliced")


def same_content(a: Path, b: Path) -> bool:
    """Equal arrays and metadata (the header's key order may differ between writes)."""
    from safetensors.numpy import load_file

    load_model(a)  # loads cleanly, checksum included
    arrays_a, arrays_b = load_file(a), load_file(b)
    meta_a = {k: v for k, v in read_metadata(a).items() if k != "checksum"}
    meta_b = {k: v for k, v in read_metadata(b).items() if k != "checksum"}
    return (
        meta_a == meta_b
        and arrays_a.keys() == arrays_b.keys()
        and all(np.array_equal(arrays_a[k], arrays_b[k]) for k in arrays_a)
    )


_WRITER = """
import sys
from unrated.modelfile import load_model, read_metadata, save_model
model = load_model(sys.argv[1])
print("ready", flush=True)
while True:
    save_model(model, sys.argv[2])
"""


def test_kill_during_save_never_breaks_the_file(model_bytes: bytes, tmp_path: Path) -> None:
    source, target = tmp_path / "source.unrated", tmp_path / "target.unrated"
    source.write_bytes(model_bytes)
    target.write_bytes(model_bytes)
    rng = np.random.default_rng(1)
    for _ in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(source), str(target)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.05, 0.6)))  # in the middle of some save
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        count("faults: SIGKILL during save")
        writer.stdout.close()
        assert same_content(target, source)  # the old copy or a complete new one


def test_kill_during_fit_leaves_the_previous_model(tmp_path: Path, ml100k_path: Path) -> None:
    target = tmp_path / "shop.unrated"
    env = os.environ | {"UNRATED_PROGRESS": "0"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "unrated",
            "fit",
            str(ml100k_path),
            "--model",
            "popular",
            "--out",
            str(target),
        ],
        check=True,
        env=env,
        capture_output=True,
        timeout=120,
    )
    before = target.read_bytes()
    rng = np.random.default_rng(2)
    for _ in range(5):
        fit = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "unrated",
                "fit",
                str(ml100k_path),
                "--model",
                "ease",
                "--out",
                str(target),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(float(rng.uniform(0.3, 2.0)))
        fit.send_signal(signal.SIGKILL)
        fit.wait(timeout=30)
        count("faults: SIGKILL during fit --out")
        current = target.read_bytes()
        loaded = load_model(target)  # the old popular model, or a complete new EASE
        assert current == before or loaded.key == "ease"
