"""Purchases sent to the service: kept in an events file, and served from it until a model has them.

``POST /events`` appends to a CSV file next to the model (``user_id,item_id,weight,timestamp``,
what ``unrated update`` reads), under an exclusive lock and with ``fsync`` before it answers,
so an acknowledged event survives ``kill -9``. Every worker reads the file's new lines before
each request, so a purchase counts from the next request on, whichever worker answers it:
the customer's seen items include it and their list is folded in from their history plus the
new items. The file holds what the model has not seen: move it away, give it to ``unrated
update`` and reload the new model (a moved file is noticed; reading starts again).
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unrated.errors import UnratedError

COLUMNS = ("user_id", "item_id", "weight", "timestamp")
#: Events held in memory at most (``--max-events``): beyond, POST /events answers 429.
MAX_EVENTS = 1_000_000


class EventsFullError(UnratedError):
    """The service holds as many events as it may: update the model and reload first."""


@dataclass(frozen=True)
class Event:
    """One purchase: who, what, how much (weight), when (Unix seconds)."""

    user: Any
    item: Any
    weight: float = 1.0
    timestamp: float | None = None


class EventLog:
    """The events file, and the new items of each user in it (as text ids)."""

    def __init__(self, path: Path, *, max_events: int = MAX_EVENTS) -> None:
        self.path, self.max_events = path, max_events
        self._lock = threading.Lock()
        self._file: tuple[int, int] | None = None  # (device, inode) being read
        self._offset = 0
        self._count = 0
        self._users: dict[str, dict[str, float]] = {}

    @property
    def count(self) -> int:
        """Events read from the current file."""
        return self._count

    def append(self, events: list[Event]) -> None:
        """Write ``events`` to the file durably, then take them in (EventsFullError at the cap)."""
        with self._lock:
            self._refresh()
            if self._count + len(events) > self.max_events:
                raise EventsFullError(
                    f"the service holds {self._count:,} events (at most {self.max_events:,}): "
                    "update the model with the events file and reload"
                )
            rows = io.StringIO()
            writer = csv.writer(rows, lineterminator="\r\n")  # a lone CR or LF is quoted
            stamp = time.time()
            for event in events:
                when = stamp if event.timestamp is None else event.timestamp
                writer.writerow([event.user, event.item, repr(float(event.weight)), repr(when)])
            self._write(rows.getvalue().encode("utf-8"))
            self._refresh()

    def new_items(self, users: Iterable[Any]) -> list[dict[str, float] | None]:
        """Per user (matched as text), the items bought since the model (None: nothing)."""
        with self._lock:
            self._refresh()
            return [self._users.get(str(user)) for user in users]

    def _write(self, data: bytes) -> None:
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            if os.fstat(descriptor).st_size == 0:
                data = (",".join(COLUMNS) + "\n").encode("utf-8") + data
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)  # releases the lock

    def _refresh(self) -> None:
        """Read the lines appended since the last call; start over on a new file."""
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            self._file, self._offset, self._count, self._users = None, 0, 0, {}
            return
        identity = (status.st_dev, status.st_ino)
        if identity != self._file or status.st_size < self._offset:
            self._file, self._offset, self._count, self._users = identity, 0, 0, {}
        if status.st_size == self._offset:
            return
        with open(self.path, "rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read(status.st_size - self._offset)
        whole = chunk[: chunk.rfind(b"\n") + 1]  # a line being written waits for its end
        self._offset += len(whole)
        text = io.StringIO(whole.decode("utf-8", errors="replace"), newline="")
        for row in csv.reader(text):
            if len(row) < 2 or tuple(row) == COLUMNS:
                continue
            weight = _number(row[2]) if len(row) > 2 else 1.0
            items = self._users.setdefault(row[0], {})
            items[row[1]] = items.get(row[1], 0.0) + weight
            self._count += 1


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 1.0
