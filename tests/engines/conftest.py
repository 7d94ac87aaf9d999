"""Engines run the real CLI in subprocesses that can never hang a test run.

Without their optional requirements (PySpark and Java, PyTorch) the engines' tests are
skipped with the reason; ``.ci/run`` installs all of them, so there they run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest


def require_spark() -> None:
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("PySpark is not installed: pip install 'unrated[spark]'")
    home = os.environ.get("JAVA_HOME")
    if not (home and Path(home, "bin", "java").exists()) and shutil.which("java") is None:
        pytest.skip("Java is not installed: apt-get install openjdk-17-jre-headless")


def require_torch() -> None:
    if importlib.util.find_spec("torch") is None:
        pytest.skip("PyTorch is not installed: pip install 'unrated[torch]'")


def run_cli(
    *args: str | Path, cwd: Path, timeout: float, expect: int = 0
) -> subprocess.CompletedProcess[str]:
    """``unrated ARGS``; past ``timeout`` it gets SIGTERM (it stops its own ranks), then KILL."""
    env = os.environ | {"UNRATED_PROGRESS": "0", "COLUMNS": "160"}
    process = subprocess.Popen(
        [sys.executable, "-m", "unrated", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        pytest.fail(f"unrated {' '.join(map(str, args))} ran past {timeout} s: {stderr[-2000:]}")
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    assert "Traceback" not in stderr, stderr
    assert process.returncode == expect, (process.returncode, stdout, stderr)
    return result


@pytest.fixture(scope="session")
def ml100k_split_dir(tmp_path_factory: pytest.TempPathFactory, ml100k_path: Path) -> Path:
    """ML-100k split by ``unrated split`` (20% per-user holdout, seed 0): train.csv, test.csv."""
    folder = tmp_path_factory.mktemp("ml100k-split")
    run_cli("split", ml100k_path, "--out", folder, "--seed", "0", cwd=folder, timeout=120)
    return folder
