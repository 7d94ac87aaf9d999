"""Start-up time of the command line: ``unrated --help``, ``--version`` and ``info MODEL``.

Each command runs N times in a fresh subprocess (``python -m unrated``); the table gives the
median and the fastest run in seconds. A small model file is fitted once in a temporary folder.

    python benchmarks/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_seconds(args: list[str], cwd: Path) -> tuple[float, int]:
    """Wall-clock seconds and exit code of one ``python -m unrated ARGS`` run."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our own interpreter and command)
        [sys.executable, "-m", "unrated", *args],
        cwd=cwd,
        check=False,
        capture_output=True,
        env=os.environ | {"UNRATED_PROGRESS": "0"},
    )
    return time.perf_counter() - started, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command (median taken)")
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "d.csv").write_text("user_id,item_id\na,x\na,y\nb,x\nc,z\nc,y\n")
        run_seconds(["fit", "d.csv", "--model", "item-knn", "--out", "m.unrated"], cwd)
        commands = {
            "unrated --help": ["--help"],
            "unrated --version": ["--version"],
            "unrated info m.unrated": ["info", "m.unrated"],
        }
        print(f"load average {os.getloadavg()[0]:.1f}; {runs} runs each; seconds")
        print(f"| {'command':<24} | median | fastest | exit |")
        print(f"|{'-' * 26}|--------|---------|------|")
        for name, args in commands.items():
            times, codes = zip(*(run_seconds(args, cwd) for _ in range(runs)), strict=True)
            median, fastest = statistics.median(times), min(times)
            print(f"| {name:<24} | {median:6.2f} | {fastest:7.2f} | {max(codes):4} |")


if __name__ == "__main__":
    main()
