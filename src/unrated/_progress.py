"""Progress bars for anything that takes over a second (rich, on stderr)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

#: None: show bars when stderr is a terminal; True/False forces them on or off.
#: The environment variable UNRATED_PROGRESS=0/1 sets the same.
SHOW_PROGRESS: bool | None = None


def _enabled() -> bool:
    if SHOW_PROGRESS is not None:
        return SHOW_PROGRESS
    env = os.environ.get("UNRATED_PROGRESS")
    if env is not None:
        return env not in ("0", "", "false", "no")
    return sys.stderr.isatty()


@contextmanager
def progress_bar(total: int, description: str) -> Iterator[Callable[..., None]]:
    """Yield ``advance(steps=1, info="")``; ``info`` is shown after the bar (e.g. the loss).

    A ``total`` of 0 shows nothing (for work too small to need a bar).
    """
    if total <= 0 or not _enabled():
        yield lambda steps=1, info="": None
        return
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
