"""``--engine torchrun``: mf with DistributedDataParallel, 2 ranks on 127.0.0.1.

Both ranks must end with bit-identical parameters (the digest the CLI prints is the digest
of the saved model, and a disagreement is an error), the model must score within 0.02
NDCG@20 of a single-process fit of the same spec, and every run ends: a rank without users
trains along, and SIGTERM stops the ranks too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.engines.conftest import require_torch, run_cli
from unrated.modelfile import load_model

pytestmark = pytest.mark.slow

#: 20 epochs at a higher learning rate than the default: NDCG@20 ≈ 0.40 in seconds.
SPEC = "mf:epochs=20,validation=0,learning_rate=0.02"
DIGEST = re.compile(r"(\d+) ranks ended with identical parameters \(blake2b ([0-9a-f]{32})\)")


@pytest.fixture(scope="module")
def fitted(ml100k_split_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The folder with ddp.unrated (2 ranks) and local.unrated, and the CLI's output."""
    require_torch()
    folder = tmp_path_factory.mktemp("torchrun")
    train = ml100k_split_dir / "train.csv"
    ddp = ("--engine", "torchrun", "--nproc", "2")
    out = run_cli(
        "fit", train, "--model", SPEC, *ddp, "--out", "ddp.unrated", cwd=folder, timeout=300
    )
    run_cli("fit", train, "--model", SPEC, "--out", "local.unrated", cwd=folder, timeout=300)
    return folder, out.stdout


def test_both_ranks_end_with_the_saved_parameters(fitted: tuple[Path, str]) -> None:
    folder, stdout = fitted
    found = DIGEST.search(" ".join(stdout.split()))
    assert found is not None, stdout
    assert found.group(1) == "2"
    model = load_model(folder / "ddp.unrated")
    digest = hashlib.blake2b(digest_size=16)
    for name in ("user_factors_", "item_factors_", "user_bias_", "item_bias_"):
        digest.update(np.ascontiguousarray(getattr(model, name), dtype=np.float32).tobytes())
    assert digest.hexdigest() == found.group(2)
    # the ranks and the digest travel in the model file's info
    assert model.info_ == {"engine": "torchrun", "ranks": 2, "parameters_digest": found.group(2)}


def test_ndcg_within_002_of_a_single_process_fit(
    fitted: tuple[Path, str], ml100k_split_dir: Path
) -> None:
    folder, _ = fitted
    test = ml100k_split_dir / "test.csv"
    ndcg = {}
    for name in ("ddp", "local"):
        out = run_cli("evaluate", f"{name}.unrated", test, "--json", cwd=folder, timeout=120)
        ndcg[name] = json.loads(out.stdout)["metrics"]["ndcg@20"]
    assert abs(ndcg["ddp"] - ndcg["local"]) <= 0.02, ndcg
    assert ndcg["ddp"] >= 0.37, ndcg


def test_a_rank_without_users_trains_along(tmp_path: Path) -> None:
    require_torch()
    (tmp_path / "one.csv").write_text("user_id,item_id\nu1,a\nu1,b\nu1,c\nu1,d\n")
    ddp = ("--engine", "torchrun", "--nproc", "2")
    run_cli(
        "fit",
        "one.csv",
        "--model",
        "mf:epochs=3",
        *ddp,
        "--out",
        "one.unrated",
        cwd=tmp_path,
        timeout=120,
    )
    out = run_cli("recommend", "one.unrated", "--user", "u1", "-k", "3", cwd=tmp_path, timeout=60)
    assert "a" not in out.stdout.split()  # a seen item is not recommended


def test_ranks_that_disagree_fail(tmp_path: Path) -> None:
    require_torch()
    script = tmp_path / "disagree.py"
    script.write_text(
        "import os, numpy as np, torch.distributed as dist\n"
        "from unrated.engines._ddp import TABLES, _agree\n"
        "from unrated.errors import EngineError\n"
        "dist.init_process_group('gloo')\n"
        "tables = {name: np.zeros(3, np.float32) for name in TABLES}\n"
        "tables['item_bias'][0] = dist.get_rank()\n"
        "try:\n"
        "    _agree(tables, dist.group.WORLD, 2)\n"
        "except EngineError as error:\n"
        "    os.write(1, f'disagreement found: {error}\\n'.encode())\n"  # one write per rank
        "dist.destroy_process_group()\n"
    )
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2"]
    command += ["--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{_free_port()}"]
    command += ["--local-addr=127.0.0.1"]
    result = subprocess.run(
        [*command, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=os.environ | {"GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("disagreement found: the ranks' parameters differ") == 2


def test_sigterm_stops_the_ranks(tmp_path: Path, ml100k_split_dir: Path) -> None:
    require_torch()
    out = (tmp_path / "long.unrated").resolve()
    process = subprocess.Popen(
        [sys.executable, "-m", "unrated", "fit", ml100k_split_dir / "train.csv"]
        + ["--model", "mf:epochs=1000,validation=0", "--engine", "torchrun"]
        + ["--nproc", "2", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"UNRATED_PROGRESS": "0"},
    )
    try:
        assert _wait_for(lambda: len(_ranks(out, process.pid)) == 2, 90), "no ranks started"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 2, stderr
    assert "stopped by SIGTERM" in stderr
    assert "Traceback" not in stderr
    assert _wait_for(lambda: not _ranks(out, process.pid), 30), "ranks outlived the launcher"
    assert not out.exists()


def _ranks(out: Path, launcher: int) -> list[int]:
    """Processes other than the launcher and torchrun whose command line names ``out``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == launcher:
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(out).encode() in argv and b"torch.distributed.run" not in argv:
            found.append(int(entry.name))
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False
