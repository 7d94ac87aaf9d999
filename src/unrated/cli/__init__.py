"""The ``unrated`` command line: one Typer app, one command per module, one error boundary."""

from __future__ import annotations

import sys
import warnings
from typing import Annotated, TextIO

import typer

from unrated.errors import UnratedError

app = typer.Typer(
    name="unrated",
    help="Recommendations from implicit feedback (purchases, clicks, plays), evaluated honestly.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
) -> None:
    """unrated: from a purchase log to honest top-K recommendations."""


def _register() -> None:
    # Each module adds its command to `app` when imported.
    from unrated.cli import (  # noqa: F401
        compare,
        evaluate,
        fit,
        info,
        quickstart,
        recommend,
        split,
        synth,
        tune,
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning errors into one line on stderr and an exit code.

    Exit codes: 0 success; 2 bad input or usage (the message says what and where);
    1 an unexpected failure (rerun with --debug for the traceback); 130 interrupted.
    Warnings are shown once each, as one ``warning: ...`` line.
    """
    args = sys.argv[1:] if argv is None else argv
    _register()
    command = typer.main.get_command(app)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        try:
            # Standalone mode: the command-line parser reports its own usage errors (exit 2).
            command.main(args=args, prog_name="unrated", standalone_mode=True)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)
        except UnratedError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
        except Exception as error:
            if "--debug" in args:
                raise
            print(
                f"error: unexpected {type(error).__name__}: {error} "
                "(rerun with --debug to see where)",
                file=sys.stderr,
            )
            sys.exit(1)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"warning: {message}", file=sys.stderr)
