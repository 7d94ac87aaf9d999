"""Progress of anything that takes over a second, on stderr: bars or plain lines.

Rich bars in a terminal; elsewhere (a pipe, a log file, CI) plain lines, so that long work
is never silent.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

#: Plain lines come at most once per this many seconds (and a last one when the work took
#: that long); the environment variable UNRATED_PROGRESS_EVERY=SECONDS changes it.
LINE_INTERVAL = 3.0


def _mode(show: bool | None) -> str:
    """One of "bar", "lines" or "off", for :func:`progress_bar`'s ``show``."""
    forced = show
    env = os.environ.get("UNRATED_PROGRESS")
    if forced is None and env not in (None, "auto"):
        forced = env not in ("0", "", "false", "no")
    if forced is False:
        return "off"
    return "bar" if forced or sys.stderr.isatty() else "lines"


@contextmanager
def progress_bar(
    total: int, description: str, *, show: bool | None = None
) -> Iterator[Callable[..., None]]:
    """Yield ``advance(steps=1, info="")``; ``info`` is shown after the count (e.g. the loss).

    A ``total`` of 0 shows nothing (for work too small to need a bar). ``show``: None gives
    bars when stderr is a terminal and plain lines otherwise, unless the environment
    variable UNRATED_PROGRESS=auto/1/0 says otherwise; True forces bars; False shows nothing.
    """
    mode = "off" if total <= 0 else _mode(show)
    if mode == "off":
        yield lambda steps=1, info="": None
    elif mode == "lines":
        with _lines(total, description) as advance:
            yield advance
    else:
        with _bar(total, description) as advance:
            yield advance


@contextmanager
def _bar(total: int, description: str) -> Iterator[Callable[..., None]]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total, info="")

        def advance(steps: int = 1, info: str = "", **_: Any) -> None:
            bar.update(task, advance=steps, info=info)

        yield advance


@contextmanager
def _lines(total: int, description: str) -> Iterator[Callable[..., None]]:
    """``description: done/total info (N s)`` lines, at most one per ``every`` seconds."""
    started = last = time.monotonic()
    done, text, printed = 0, "", (0, "")
    every = _seconds(os.environ.get("UNRATED_PROGRESS_EVERY"), LINE_INTERVAL)

    def emit(now: float) -> None:
        nonlocal printed
        printed = (done, text)
        shown = f" {text}" if text else ""
        print(f"{description}: {done}/{total}{shown} ({now - started:.0f} s)", file=sys.stderr)
        sys.stderr.flush()

    def advance(steps: int = 1, info: str = "", **_: Any) -> None:
        nonlocal done, text, last
        done, text = done + steps, info
        now = time.monotonic()
        if now - last >= every:
            emit(now)
            last = now

    yield advance
    now = time.monotonic()
    if now - started >= every and printed != (done, text):
        emit(now)


def _seconds(text: str | None, default: float) -> float:
    """``text`` as a number of seconds ≥ 0; ``default`` when unset or not a number."""
    try:
        return max(0.0, float(text)) if text else default
    except ValueError:
        return default
