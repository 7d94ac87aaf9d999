"""``unrated recommend`` and ``unrated similar``: top-K lists from a saved model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from unrated.cli import app
from unrated.cli._display import plain, shown
from unrated.cli._options import (
    Clean,
    DataFormat,
    ExcludeItems,
    ItemCol,
    OnlyItems,
    OrderCol,
    PasswordEnv,
    UserCol,
    Where,
    console,
    fmt,
    write_frame,
    write_frames,
)
from unrated.errors import InvalidParameterError

if TYPE_CHECKING:
    from collections.abc import Iterator

    import polars as pl

    from unrated.data.database import Database
    from unrated.models.base import Recommender

Out = Annotated[Path | None, typer.Option("--out", "-o", help="Write CSV (or .parquet) here.")]
K = Annotated[int, typer.Option("-k", help="List length.")]


_RECOMMEND_HELP = (
    "Top-K items per user, with the original ids.\n\n"
    "Columns: user_id, item_id, rank, score; name when the model file has item names; "
    "fallback ('popular' or empty) with --fallback-popular.\n\n"
    "Without --out: a table for --user, CSV on standard output for --all and --histories.\n\n"
    "--histories FILE: user_id,item_id rows and an optional order column (position, "
    "timestamp, ...); each user's rows are one history, folded in as a new visitor's (no "
    "refit), and the lists carry the file's user ids."
)


@app.command(help=_RECOMMEND_HELP)
def recommend(
    model: Annotated[Path, typer.Argument(help="Model file written by 'unrated fit'.")],
    user: Annotated[
        list[str] | None, typer.Option("--user", "-u", help="A user id (repeatable).")
    ] = None,
    all_users: Annotated[bool, typer.Option("--all", help="Every user the model knows.")] = False,
    k: K = 10,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            help="Write CSV (or .parquet) here, or to a database URL with --table.",
        ),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option(
            "--table",
            help="--out is a database URL: the table to write, in one transaction (created "
            "if missing; its rows replaced, or kept with --append).",
        ),
    ] = None,
    append: Annotated[
        bool,
        typer.Option("--append", help="Add the rows under a new run_id instead of replacing."),
    ] = False,
    password_env: PasswordEnv = None,
    include_seen: Annotated[
        bool,
        typer.Option("--include-seen", help="Allow items the user already has (re-purchases)."),
    ] = False,
    fallback_popular: Annotated[
        bool,
        typer.Option(
            "--fallback-popular",
            help="Unknown users (with --histories: histories without an item the model knows) "
            "get the most popular items (flagged in a 'fallback' column) instead of an error. "
            "Popular: most distinct users in training, as in 'serve'.",
        ),
    ] = False,
    where: Where = None,
    exclude: ExcludeItems = None,
    only: OnlyItems = None,
    histories: Annotated[
        Path | None,
        typer.Option("--histories", help="A file of histories: lists for new visitors."),
    ] = None,
    user_col: UserCol = None,
    item_col: ItemCol = None,
    order_col: OrderCol = None,
    data_format: DataFormat = "table",
    clean: Clean = False,
) -> None:
    """Top-K items per user (the help above keeps each paragraph on one line)."""
    from unrated._checks import check_k
    from unrated.modelfile import load_model

    check_k(k)
    flags: dict[str, object] = {"--user-col": user_col, "--item-col": item_col}
    flags |= {"--order-col": order_col, "--format": data_format != "table", "--clean": clean}
    if histories is None and (given := [f for f, v in flags.items() if v not in (None, False)]):
        raise InvalidParameterError(f"{given[0]} is for --histories FILE")
    if histories is not None:
        if user or all_users:
            raise InvalidParameterError("give --histories FILE, --user ID or --all: one of them")
        if table is not None:
            raise InvalidParameterError("--histories writes a file or standard output, not --table")
        from unrated.cli._histories import lists_for_histories
        from unrated.data.histories import read_histories

        read = read_histories(
            histories,
            user_col=user_col,
            item_col=item_col,
            order_col=order_col,
            clean=clean,
            format=data_format,
        )
        recommender = load_model(model)
        frames = lists_for_histories(
            recommender,
            read,
            k,
            include_seen=include_seen,
            fallback=fallback_popular,
            rules={"exclude": exclude, "candidates": only, "where": where},
        )
        named = (_with_names(recommender, frame) for frame in frames)
        _stream(named, Path(out) if out else None, len(read))
        return
    target = _database(out, table, append, password_env)
    if user and all_users:
        raise InvalidParameterError("give --user ID or --all, not both")
    if not user and not all_users:
        raise InvalidParameterError("give --user ID (one or more) or --all")
    rules = {"exclude": exclude, "candidates": only, "where": where}
    if fallback_popular and user:
        if where or only:
            raise InvalidParameterError("--where and --only do not work with --fallback-popular")
        frame = _with_fallback(model, user, k, exclude_seen=not include_seen, exclude=exclude)
        count = len(user)
    else:
        import polars as pl

        recommender = load_model(model)
        users: Any = recommender.users_.ids if all_users else user
        recs = recommender.recommend(users, k=k, exclude_seen=not include_seen, **rules)
        frame = _with_names(recommender, recs.to_frame())
        if fallback_popular:  # with --all, every user is known
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("fallback"))
        count = len(recs)
    if target is not None:
        from unrated.data.database import write_database

        run_id = write_database(frame, target, append=append)
        what = f" (run_id {run_id})" if run_id else " (its rows replaced)"
        console.print(
            f"wrote {frame.height:,} rows for {count:,} users → {target}{what}", markup=False
        )
        return
    _emit(frame, Path(out) if out else None, count, "user", table=not all_users)


def _stream(frames: Iterator[pl.DataFrame], out: Path | None, count: int) -> None:
    """Write ``frames`` to ``out`` (atomically) or as CSV to standard output, one at a time."""
    if out is not None:
        rows = write_frames(frames, out)
        console.print(f"wrote {rows:,} rows for {count:,} users → {plain(out)}", markup=False)
        return
    for number, frame in enumerate(frames):
        _print_csv(frame, header=number == 0)


def _database(
    out: str | None, table: str | None, append: bool, password_env: str | None
) -> Database | None:
    """The database --out names, or None for a file (then no database option may be given)."""
    from unrated.data.database import Database, is_database, warn_password_in_url

    if out is not None and is_database(out):
        warn_password_in_url(out)
        if table is None:
            raise InvalidParameterError("--out is a database URL: give --table to write to")
        return Database(out, table=table, password_env=password_env)
    flags = {"--table": table, "--append": append or None, "--password-env": password_env}
    if given := [flag for flag, value in flags.items() if value is not None]:
        raise InvalidParameterError(f"{given[0]} is for an --out database URL")
    return None


@app.command(
    help='Items most similar to each given item ("bought X also bought").\n\n'
    "Columns: query_item_id, item_id, rank, score; name when the model file has item names."
)
def similar(
    model: Annotated[Path, typer.Argument(help="Model file written by 'unrated fit'.")],
    item: Annotated[list[str], typer.Option("--item", "-i", help="An item id (repeatable).")],
    k: K = 10,
    out: Out = None,
    where: Where = None,
    exclude: ExcludeItems = None,
    only: OnlyItems = None,
) -> None:
    """Items most similar to each given item ("bought X also bought")."""
    from unrated._checks import check_k
    from unrated.modelfile import load_model

    check_k(k)
    recommender = load_model(model)
    recs = recommender.similar_items(item, k=k, exclude=exclude, candidates=only, where=where)
    frame = _with_names(recommender, recs.to_frame(user_column="query_item_id"))
    _emit(frame, out, len(recs), "query item", table=True)


def _with_names(recommender: Recommender, frame: pl.DataFrame) -> pl.DataFrame:
    """Add the ``name`` column when the model file holds item names."""
    import numpy as np
    import polars as pl

    names = getattr(recommender, "item_names_", None)
    if names is None:
        return frame
    idx = recommender.items_.positions(frame["item_id"].to_list(), kind="item")
    return frame.with_columns(pl.Series("name", np.asarray(names)[idx].tolist(), dtype=pl.String))


def _with_fallback(
    path: Path, users: list[str], k: int, *, exclude_seen: bool, exclude: list[str] | None
) -> pl.DataFrame:
    """Lists for ``users`` as ``serve --fallback-popular`` gives them (the same code)."""
    import polars as pl

    from unrated.serving.served import load_served

    served = load_served(path)
    lists = served.recommend_users(
        users, k, exclude=exclude, exclude_seen=exclude_seen, fallback=True
    )
    rows = [
        (user, item["item"], rank, item["score"], item["name"] or "", entry["fallback"])
        for user, entry in zip(users, lists, strict=True)
        for rank, item in enumerate(entry["items"], start=1)
    ]
    columns = ["user_id", "item_id", "rank", "score", "name", "fallback"]
    frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
    frame = frame.cast({"user_id": pl.String, "rank": pl.Int32, "score": pl.Float32})
    has_names = getattr(served.model, "item_names_", None) is not None
    return frame if has_names else frame.drop("name")


def _emit(frame: pl.DataFrame, out: Path | None, count: int, who: str, *, table: bool) -> None:
    """Write ``frame`` to ``out``, or show it: a table, or CSV on standard output."""
    if out is not None:
        write_frame(frame, out)
        console.print(
            f"wrote {frame.height:,} rows for {count:,} {who}{'' if count == 1 else 's'} "
            f"→ {plain(out)}",
            markup=False,
        )
    elif not table:
        _print_csv(frame, header=True)
    else:
        from rich.table import Table

        grid = Table(*frame.columns)
        for column in grid.columns:
            column.overflow = "fold"  # ids are never cut short with "…"
        for row in frame.iter_rows():
            grid.add_row(*["" if v is None else shown(fmt(v)) for v in row])
        console.print(grid)


def _print_csv(frame: pl.DataFrame, *, header: bool) -> None:
    """``frame`` as CSV on standard output."""
    text = frame.write_csv(include_header=header)
    # Data go to a pipe or file exactly as they are; a terminal gets control characters
    # escaped (an item name cannot take the terminal over).
    if sys.stdout.isatty():
        text = "\n".join(plain(line) for line in text.split("\n"))
    sys.stdout.write(text)
