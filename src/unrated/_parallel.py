"""How many threads numba kernels get (internal).

The kernels' results never depend on the thread count, so these choices change speed only.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import numba

#: Below this many inner-loop steps per parallel region, one thread is faster: waking a
#: second thread costs up to a scheduler time slice (a few ms) when the machine is busy.
PARALLEL_MIN_WORK = 100_000


@contextmanager
def threads_for(work_per_region: float) -> Iterator[None]:
    """Run numba kernels on one thread when each parallel region has little work."""
    if work_per_region >= PARALLEL_MIN_WORK:
        yield
        return
    with _threads(1):
        yield


@contextmanager
def _threads(count: int) -> Iterator[None]:
    previous = numba.get_num_threads()
    numba.set_num_threads(count)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


class ThreadChoice:
    """One thread or all, for a kernel run once per epoch with small parallel regions.

    Whether a second thread pays for regions of under ``minimum`` steps depends on the
    machine, not on the data: on a quiet one it does (``bpr`` on ML-100k, 64 factors:
    1.40 → 1.09 s), on a busy one a late thread costs a scheduler slice per region (1 →
    2 threads: 2.1 → 3.7–7.2 s; one such epoch costs as much as nine on one thread). So
    the first runs try both — the very first, which may compile, on one thread and not
    counted — then the count whose last three runs have the lower median is kept, and the
    other is timed again once the kept one has run ``1 / probe_share`` times as long as
    that other's median: probes cost at most ``probe_share`` of the time, and a change in
    the machine's load is followed. From ``minimum`` steps per region, all threads always.
    """

    def __init__(
        self, work_per_region: float, minimum: float = PARALLEL_MIN_WORK, probe_share: float = 0.05
    ) -> None:
        self.everywhere = numba.get_num_threads()
        self.small = work_per_region < minimum and self.everywhere > 1
        self.probe_share = probe_share
        self.seconds: dict[int, deque[float]] = {
            1: deque(maxlen=3),
            self.everywhere: deque(maxlen=3),
        }
        self.runs = 0
        self.since_probe = 0.0

    def next_count(self) -> int:
        """The thread count the next run gets."""
        if not self.small:
            return self.everywhere
        if self.runs == 0:  # may compile: not timed
            return 1
        untimed = [count for count, seconds in self.seconds.items() if not seconds]
        if untimed:
            return untimed[0]
        kept = self._kept()
        other = self.everywhere if kept == 1 else 1
        probe = self.since_probe * self.probe_share >= statistics.median(self.seconds[other])
        return other if probe else kept

    @contextmanager
    def run(self) -> Iterator[None]:
        """Run the block on the chosen thread count and time it."""
        count = self.next_count()
        started = time.perf_counter()
        with _threads(count):
            yield
        seconds = time.perf_counter() - started
        if self.runs > 0:
            self.seconds[count].append(seconds)
        self.since_probe = self.since_probe + seconds if count == self._kept() else 0.0
        self.runs += 1

    def _kept(self) -> int:
        """The count whose last runs have the lower median time (an untimed one: never)."""
        return min(self.seconds, key=lambda c: statistics.median(self.seconds[c] or [math.inf]))
