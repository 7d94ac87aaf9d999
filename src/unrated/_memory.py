"""Peak memory of a block of code: a thread samples this process's resident set size."""

from __future__ import annotations

import os
import threading
from types import TracebackType

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux /proc), or None where unavailable."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class PeakMemory:
    """Peak resident memory above the level at entry, of the code in a ``with`` block.

    ``with PeakMemory() as peak: ...``; then ``peak.extra_bytes`` (sampled every ``interval``
    seconds; None where the platform cannot tell).
    """

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.extra_bytes: int | None = None
        self._stop = threading.Event()
        self._start: int | None = None
        self._peak = 0
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._peak = max(self._peak, resident_bytes() or 0)

    def __enter__(self) -> PeakMemory:
        self._start = resident_bytes()
        self._peak = self._start or 0
        if self._start is not None:
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._start is None:
            return
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, resident_bytes() or 0)
        self.extra_bytes = self._peak - self._start
