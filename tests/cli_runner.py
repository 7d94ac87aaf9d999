"""Run the real ``unrated`` command line inside the test process, as a subprocess would see it.

Starting Python, numpy, polars and numba costs about a second a run; the suite runs the command
line a few hundred times. ``run_cli`` calls the same entry point as ``python -m unrated``
(:func:`unrated.cli.main`) with its own working directory, environment, fresh stdout and
stderr, and fresh rich consoles (they read the terminal width when made), and gives back a
``CompletedProcess``. What needs a real process (a signal, a resource limit, a pipe on stdin,
the start-up itself) runs ``python -m unrated`` in tests that say so.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path

from rich.console import Console

import unrated.cli
from unrated.cli import _options

#: What every run sees unless a test says otherwise: no progress bars, wide lines.
BASE_ENV = {"UNRATED_PROGRESS": "0", "COLUMNS": "160"}

unrated.cli._register()  # every command module imported now binds the consoles swapped below


def run_cli(
    *args: str | Path, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``unrated ARGS`` in this process: exit code, stdout and stderr as a subprocess gives them."""
    argv = [str(arg) for arg in args]
    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        _environment({**BASE_ENV, **(env or {})}),
        _working_directory(cwd),
        _streams(stdout, stderr),
    ):
        code = _exit_code(argv)
    return subprocess.CompletedProcess(
        ["unrated", *argv], code, stdout.getvalue(), stderr.getvalue()
    )


def _exit_code(argv: list[str]) -> int:
    try:
        unrated.cli.main(argv)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except Exception:  # --debug lets an error through, as the interpreter would print it
        traceback.print_exc()
        return 1
    return 0


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _working_directory(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    saved = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(saved)


@contextlib.contextmanager
def _streams(stdout: io.StringIO, stderr: io.StringIO) -> Iterator[None]:
    """Point sys.stdout/err at the buffers and every module's consoles at new consoles."""
    old = {"console": _options.console, "errors": _options.errors}
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        new = {
            "console": Console(highlight=False, soft_wrap=True, emoji=False),
            "errors": Console(stderr=True, highlight=False, soft_wrap=True, emoji=False),
        }
        swapped = [
            (module, name)
            for module in list(sys.modules.values())
            if getattr(module, "__name__", "").startswith("unrated.cli")
            for name in old
            if getattr(module, name, None) is old[name]
        ]
        for module, name in swapped:
            setattr(module, name, new[name])
        try:
            yield
        finally:
            for module, name in swapped:
                setattr(module, name, old[name])
