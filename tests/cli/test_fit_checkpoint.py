"""``unrated fit --checkpoint``: SIGKILLed at random points, rerun, the same model comes out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.cli.conftest import CliRun
from tests.counts import count
from unrated.modelfile import load_model

SPECS = {  # (spec, epochs): a few seconds of training at most
    "ials": ("ials:factors=32,epochs=120", 120),  # ~10 ms per epoch
    "bpr": ("bpr:factors=16,epochs=12,patience=2,validation=0.1", 12),  # early stopping
    "mf": ("mf:factors=16,epochs=12,device=cpu", 12),
}
KILLS = 3  # per model: each run is killed some epochs after the previous one's checkpoint


def checkpoint_epoch(path: Path) -> int:
    """The epochs done according to the checkpoint at ``path`` (0: none yet)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return 0
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    return int(header["__metadata__"]["epoch"])


@pytest.mark.parametrize("model", SPECS)
def test_killed_fit_resumes_to_the_same_model(
    model: str, ml100k_path: Path, tmp_path: Path, cli: CliRun
) -> None:
    spec, epochs = SPECS[model]
    folder, out = tmp_path / "checkpoints", tmp_path / "model.unrated"
    env = os.environ | {"UNRATED_PROGRESS": "0"}
    # The reference is an uninterrupted `unrated fit` run once the kernels are in numba's
    # cache, as every resumed run below is: a kernel with parallel loops just compiled can
    # round in the last bit unlike the same kernel loaded from the cache (numba#10617).
    # Hence real processes, never this one (which may have compiled the kernels itself), and
    # a whole first fit to fill the cache (a one-epoch fit left a kernel of mf's end out).
    for name in ("w.unrated", "r.unrated"):
        cli("fit", ml100k_path, "--model", spec, "--out", tmp_path / name, process=True)
    reference = load_model(tmp_path / "r.unrated")
    saved = folder / f"{reference.key}.ckpt"
    command = [sys.executable, "-m", "unrated", "fit", str(ml100k_path), "--model", spec]
    command += ["--out", str(out), "--checkpoint", str(folder)]
    rng = np.random.default_rng(len(model))
    reached = 0
    for _ in range(KILLS):
        # kill with three epochs or more to go, so that a fast fit cannot end in the pause
        target = min(reached + int(rng.integers(1, epochs // 4 + 1)), epochs - 3)
        if target <= reached:
            break
        fit = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seen: list[tuple[float, int]] = []
        deadline = time.monotonic() + 120
        while fit.poll() is None and time.monotonic() < deadline:
            seen.append((time.monotonic(), checkpoint_epoch(saved)))
            if seen[-1][1] >= target:
                break
            time.sleep(0.005)
        # then at a random moment of the next epoch (its training or its save)
        started = next(t for t, epoch in seen if epoch > reached)
        per_epoch = (seen[-1][0] - started) / max(seen[-1][1] - reached - 1, 1)
        time.sleep(float(rng.uniform(0.0, per_epoch)))
        assert fit.poll() is None, "the fit ended before it could be killed"
        fit.send_signal(signal.SIGKILL)
        _, stderr = fit.communicate(timeout=30)
        assert fit.returncode == -signal.SIGKILL, stderr
        count("faults: SIGKILL during fit --checkpoint")
        assert min(epoch for _, epoch in seen) >= reached, seen  # resumed, never from 0
        reached = checkpoint_epoch(saved)
        assert target <= reached < epochs
        assert not out.exists()  # nothing half-written where the model goes

    cli("fit", ml100k_path, "--model", spec, "--out", out, "--checkpoint", folder, process=True)
    assert not saved.exists()  # a fit that ends removes its checkpoint
    resumed = load_model(out)
    expected, got = reference._arrays(), resumed._arrays()
    assert expected.keys() == got.keys()
    for name, array in expected.items():
        assert array.dtype == got[name].dtype
        assert array.tobytes() == got[name].tobytes(), f"{name} differs from an uninterrupted fit"
