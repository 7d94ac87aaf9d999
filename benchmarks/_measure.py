"""Small helpers shared by the benchmark scripts: data paths, timing, peak memory."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

DATA = Path(os.environ.get("UNRATED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def timed(function: Callable[[], T]) -> tuple[T, float]:
    """Run ``function``; return its result and the wall-clock seconds it took."""
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def peak_rss_gib() -> float:
    """This process's peak resident memory so far, in GiB (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_with_peak_mib(run: Callable[[], T]) -> tuple[T, float, float]:
    """Run; return (result, seconds, peak RSS added during the run in MiB).

    Linux: resets the process's high-water mark (VmHWM) first, so that each run is measured
    on its own, which ``ru_maxrss`` (the peak since the process started) cannot do.
    """

    def status(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
        return 0

    Path("/proc/self/clear_refs").write_text("5")
    before = status("VmRSS:")
    result, seconds = timed(run)
    return result, seconds, (status("VmHWM:") - before) / 1024
