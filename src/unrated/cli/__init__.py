"""The ``unrated`` command line: one Typer app, one command per module, one error boundary."""

from __future__ import annotations

import sys
import warnings
from typing import Annotated, TextIO

import typer

from unrated._atomic import WRITING
from unrated._version import __version__
from unrated.cli._display import one_line
from unrated.errors import UnratedError

_BUG = "this is a bug in unrated; please report it with the output of --debug"

app = typer.Typer(
    name="unrated",
    help="Recommendations from implicit feedback (purchases, clicks, plays), evaluated honestly.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _print_version(wanted: bool) -> None:
    if wanted:
        print(f"unrated {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """unrated: from a purchase log to honest top-K recommendations."""


def _register() -> None:
    # Each module adds its command to `app` when imported.
    from unrated.cli import (  # noqa: F401
        compare,
        evaluate,
        fit,
        info,
        items,
        quickstart,
        recommend,
        serve,
        split,
        study,
        synth,
        tune,
        update,
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning errors into one line on stderr and an exit code.

    Exit codes: 0 success; 2 bad input or usage, or a fault of the environment (disk full,
    file too large, no permission, out of memory): the message says what and where;
    1 a bug in unrated (rerun with --debug for the traceback); 130 interrupted.
    Every error and warning is one line, with control characters escaped.
    """
    args = sys.argv[1:] if argv is None else argv
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        try:
            _register()
            command = typer.main.get_command(app)
            # Standalone mode: the command-line parser reports its own usage errors (exit 2).
            command.main(args=args, prog_name="unrated", standalone_mode=True)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)
        except Exception as error:
            if "--debug" in args:
                raise
            code, text = _describe(error)
            print(f"error: {one_line(text)}", file=sys.stderr)
            sys.exit(code)


def _describe(error: Exception) -> tuple[int, str]:
    """Exit code and message for an error that reached the command line's boundary."""
    if isinstance(error, UnratedError):
        return 2, str(error)
    if isinstance(error, OSError):
        what = "cannot write " if WRITING in getattr(error, "__notes__", ()) else ""
        where = f"{error.filename}: " if error.filename is not None else ""
        return 2, f"{what}{where}{error.strerror or error}"
    if isinstance(error, MemoryError):
        return 2, "out of memory: the data or the model does not fit (try smaller settings)"
    return 1, f"unexpected {type(error).__name__}: {error} ({_BUG})"


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"warning: {one_line(str(message))}", file=sys.stderr)
