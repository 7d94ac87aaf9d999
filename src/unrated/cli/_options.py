"""Options shared by several commands, and small helpers for reading and writing (internal).

Light on purpose: every command module imports it, so data and model modules are imported
inside the helpers that need them (``unrated --help`` starts in a fraction of a second).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from unrated._atomic import atomic_path
from unrated.errors import InvalidParameterError

if TYPE_CHECKING:
    import polars as pl

    from unrated.data.database import Database
    from unrated.data.interactions import Interactions

# soft_wrap: a line of text (a path, a spec) is never wrapped or cut at the terminal's width,
# so it can be copied or parsed; tables still fit the width. emoji: ":name:" in data stays
# text. Data in a line: see _display.
console = Console(highlight=False, soft_wrap=True, emoji=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

UserCol = Annotated[
    str | None, typer.Option("--user-col", help="User id column (found by name if left out).")
]
ItemCol = Annotated[
    str | None, typer.Option("--item-col", help="Item id column (found by name if left out).")
]
TimeCol = Annotated[
    str | None, typer.Option("--time-col", help="Timestamp column; '' to ignore one.")
]
WeightCol = Annotated[
    str | None, typer.Option("--weight-col", help="Weight/count column; '' to ignore one.")
]
OrderCol = Annotated[
    str | None,
    typer.Option(
        "--order-col",
        help="Column that orders each history (position, timestamp, ...; found by name if "
        "left out); '' for file order.",
    ),
]
DataFormat = Annotated[
    str,
    typer.Option(
        "--format",
        help="table: columns with a header (CSV, TSV, Parquet); sequences: one customer per "
        "line, their item ids in order separated by spaces, the user id the line number.",
    ),
]

BasketCol = Annotated[
    str | None,
    typer.Option(
        "--basket-col",
        help="Basket (order, invoice) id column; found by name if left out; '' to ignore one.",
    ),
]
Clean = Annotated[
    bool,
    typer.Option(
        "--clean",
        help="A shop export as it comes: drop rows without a user or item id (guests), "
        "with a negative weight (returns, cancellations) or weight 0, and purchases "
        "returned in full; one warning counts them by reason.",
    ),
]

SourceQuery = Annotated[
    str | None,
    typer.Option(
        "--query",
        help="DATA is a database URL (postgresql://USER@HOST:PORT/DB, duckdb:///FILE): "
        "the SELECT to read.",
    ),
]
SourceTable = Annotated[
    str | None, typer.Option("--table", help="DATA is a database URL: the table to read.")
]
PasswordEnv = Annotated[
    str | None,
    typer.Option(
        "--password-env",
        metavar="VAR",
        help="PostgreSQL password from this environment variable (else PGPASSWORD, ~/.pgpass).",
    ),
]


def data_source(
    text: str, query: str | None, table: str | None, password_env: str | None
) -> Path | Database:
    """DATA as a file path, or as a database URL with its --query or --table."""
    from unrated.data.database import Database, is_database, warn_password_in_url

    if is_database(text):
        warn_password_in_url(text)
        return Database(text, table=table, query=query, password_env=password_env)
    flags = {"--query": query, "--table": table, "--password-env": password_env}
    if given := [flag for flag, value in flags.items() if value is not None]:
        raise InvalidParameterError(
            f"{given[0]} is for a database URL (postgresql://... or duckdb:///...), "
            f"not the file {text}"
        )
    return Path(text)


IncludeSeen = Annotated[
    bool,
    typer.Option(
        "--include-seen",
        help="Re-buys allowed: rank each user's training items too, and report recall on "
        "repeat and on new items and the share of repeat items in the lists.",
    ),
]
HalfLife = Annotated[
    float | None,
    typer.Option(
        "--half-life",
        help="Weight each training purchase by 0.5^(age/DAYS), its age from the newest time "
        "in the data (needs a time column).",
    ),
]


def read_data(
    path: Path | Database,
    user_col: str | None,
    item_col: str | None,
    time_col: str | None,
    weight_col: str | None,
    *,
    basket_col: str | None = None,
    clean: bool = False,
    format: str = "table",
) -> Interactions:
    """read_interactions with the CLI's column flags (and --format)."""
    from unrated.data.io import read_interactions

    if format != "table" and not isinstance(path, Path):
        raise InvalidParameterError(f"--format {format} reads a file, not a database")
    return read_interactions(
        path,
        user_col=user_col,
        item_col=item_col,
        time_col=time_col,
        weight_col=weight_col,
        basket_col=basket_col,
        clean=clean,
        format=format,
    )


def decayed(data: Interactions, half_life: float | None) -> Interactions:
    """``data`` weighted by --half-life (unchanged without it)."""
    if half_life is None:
        return data
    if not 0 < half_life < float("inf"):
        raise InvalidParameterError(f"--half-life must be days > 0, got {half_life:g}")
    from unrated.data.decay import decay

    return decay(data, half_life)


def parse_ks(text: str) -> tuple[int, ...]:
    """Parse "10,20" into (10, 20); each must be an int ≥ 1."""
    try:
        ks = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InvalidParameterError(
            f"-k must be integers separated by commas, got {text!r}"
        ) from None
    if not ks or min(ks) < 1:
        raise InvalidParameterError(f"-k must be ≥ 1, got {text!r}")
    return ks


def write_frame(frame: pl.DataFrame, path: Path) -> None:
    """Write CSV (or Parquet by extension) atomically."""
    with atomic_path(path) as temporary:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame.write_parquet(temporary)
        else:
            frame.write_csv(temporary, separator="\t" if path.suffix.lower() == ".tsv" else ",")


def write_frames(frames: Iterable[pl.DataFrame], path: Path) -> int:
    """:func:`write_frame` for a stream of frames (one schema), one in memory at a time.

    Returns the number of rows written.
    """
    rows = 0
    with atomic_path(path) as temporary:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            writer = None
            try:
                for frame in frames:
                    table = frame.to_arrow()
                    writer = writer or pq.ParquetWriter(temporary, table.schema, compression="zstd")
                    writer.write_table(table)
                    rows += frame.height
            finally:
                if writer is not None:
                    writer.close()
            return rows
        separator = "\t" if path.suffix.lower() == ".tsv" else ","
        with open(temporary, "w", encoding="utf-8", newline="") as out:
            for number, frame in enumerate(frames):
                frame.write_csv(out, separator=separator, include_header=number == 0)
                rows += frame.height
    return rows


def fmt(value: Any) -> str:
    """Compact number formatting for tables."""
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


Where = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        help="Only items whose attribute (from the items file given at fit) meets this: "
        "COLUMN=VALUE, !=, <, <=, >, >= (e.g. category=Kitchen, price<20); repeatable, all apply.",
    ),
]
ExcludeItems = Annotated[
    list[str] | None, typer.Option("--exclude", help="An item id never to list (repeatable).")
]
OnlyItems = Annotated[
    list[str] | None, typer.Option("--only", help="List only these item ids (repeatable).")
]
