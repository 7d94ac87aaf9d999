"""Memory: what is available, whether a computation fits (refused up front), what a block used.

Models estimate what ``fit`` will allocate from their parameters and the data's shape
(:class:`Cost` per parameter) and call :func:`check_memory` before allocating anything.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from unrated.errors import InvalidParameterError, MemoryLimitError

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
#: An environment variable that caps the memory unrated plans to use (``2G``, ``500M``).
LIMIT_VARIABLE = "UNRATED_MEMORY_LIMIT"
#: float32 and int32 bytes; int64 and float64 bytes.
F32, F64 = 4, 8


@dataclass(frozen=True)
class Cost:
    """Bytes a computation will hold at once because of ``cause``, and how to need less."""

    bytes: int
    cause: str
    remedy: str


def available_memory() -> int:
    """Bytes of memory available to a new allocation, the least of three bounds.

    Linux MemAvailable (else total pages), the room left under a cgroup v2 limit (a
    container's), and ``UNRATED_MEMORY_LIMIT``.
    """
    return int(min(_system_available(), _cgroup_room(), _memory_limit()))


def _system_available() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _cgroup_room() -> float:
    """memory.max - memory.current of this process's cgroup (v2); infinite without a limit."""
    try:
        root = Path("/sys/fs/cgroup")
        limit = (root / "memory.max").read_text().strip()
        used = int((root / "memory.current").read_text())
        return float("inf") if limit == "max" else max(int(limit) - used, 0)
    except (OSError, ValueError):
        return float("inf")


def _memory_limit() -> float:
    """``UNRATED_MEMORY_LIMIT`` in bytes (``500M``, ``2G``, a plain number); infinite if unset."""
    text = os.environ.get(LIMIT_VARIABLE, "").strip()
    if not text:
        return float("inf")
    number, unit = text[:-1], text[-1].upper()
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(unit)
    try:
        return float(number) * scale if scale else float(text)
    except ValueError:
        raise InvalidParameterError(
            f"{LIMIT_VARIABLE} must be bytes, or a number with K, M, G or T, got {text!r}"
        ) from None


def check_memory(owner: str, costs: Sequence[Cost]) -> None:
    """Raise MemoryLimitError if ``costs`` together exceed the available memory.

    The message names the largest cost's cause, the total, and the largest cost's remedy.
    """
    needed = sum(cost.bytes for cost in costs)
    available = available_memory()
    if needed > available:
        largest = max(costs, key=lambda cost: cost.bytes)
        part, total = format_bytes(largest.bytes), format_bytes(needed)
        raise MemoryLimitError(
            f"{owner} needs {largest.cause}: about {part}"
            + (f" ({total} in all)" if total != part else "")
            + f", but only {format_bytes(available)} is available: {largest.remedy}"
        )


def pairs_cost(nnz: int, bytes_per_pair: int) -> Cost:
    """The memory that copies of the training pairs take (whatever the parameters)."""
    return Cost(
        nnz * bytes_per_pair,
        f"working copies of the {nnz:,} training pairs",
        "train on fewer interactions, or on a machine with more memory",
    )


def format_bytes(count: int) -> str:
    """``count`` bytes in MiB, GiB or TiB; beyond a million TiB, as a power of ten."""
    if count >= 2**60:
        return f"10^{int(count.bit_length() * 0.30103)} bytes"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30)):
        if count >= size:
            return f"{count / size:,.1f} {unit}"
    return f"{count / 2**20:,.1f} MiB"


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
