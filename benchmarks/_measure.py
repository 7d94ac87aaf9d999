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
