"""When to run numba kernels on one thread (internal)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba

#: Below this many inner-loop steps per parallel region, one thread is faster: waking a
#: second thread costs up to a scheduler time slice (a few ms) when the machine is busy.
PARALLEL_MIN_WORK = 100_000


@contextmanager
def threads_for(work_per_region: float, minimum: float = PARALLEL_MIN_WORK) -> Iterator[None]:
    """Run numba kernels on one thread when each parallel region has less than ``minimum``.

    The kernels' results never depend on the thread count, so this changes speed only.
    """
    if work_per_region >= minimum:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)
