"""``unrated recommend`` and ``unrated similar``: top-K lists from a saved model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import polars as pl
import typer
from rich.table import Table

from unrated._checks import check_k
from unrated.cli import app
from unrated.cli._options import console, fmt, write_frame
from unrated.errors import InvalidParameterError
from unrated.modelfile import load_model
from unrated.models.base import Recommendations, Recommender

Out = Annotated[Path | None, typer.Option("--out", "-o", help="Write CSV (or .parquet) here.")]
K = Annotated[int, typer.Option("-k", help="List length.")]


@app.command()
def recommend(
    model: Annotated[Path, typer.Argument(help="Model file written by 'unrated fit'.")],
    user: Annotated[
        list[str] | None, typer.Option("--user", "-u", help="A user id (repeatable).")
    ] = None,
    all_users: Annotated[bool, typer.Option("--all", help="Every user the model knows.")] = False,
    k: K = 10,
    out: Out = None,
    include_seen: Annotated[
        bool,
        typer.Option("--include-seen", help="Allow items the user already has (re-purchases)."),
    ] = False,
) -> None:
    """Top-K items per user, as CSV ``user_id,item_id,rank,score`` with the original ids."""
    check_k(k)
    if bool(user) == all_users:
        raise InvalidParameterError("give --user ID (one or more) or --all, not both")
    recommender = load_model(model)
    users: Any = recommender.users_.ids if all_users else user
    recs = recommender.recommend(users, k=k, exclude_seen=not include_seen)
    _emit(recommender, recs, out, "user_id", table=not all_users)


@app.command()
def similar(
    model: Annotated[Path, typer.Argument(help="Model file written by 'unrated fit'.")],
    item: Annotated[list[str], typer.Option("--item", "-i", help="An item id (repeatable).")],
    k: K = 10,
    out: Out = None,
) -> None:
    """Items most similar to each given item ("bought X also bought")."""
    check_k(k)
    recommender = load_model(model)
    recs = recommender.similar_items(item, k=k)
    _emit(recommender, recs, out, "query_item_id", table=True)


def _names(recommender: Recommender, frame: pl.DataFrame) -> pl.DataFrame:
    names = getattr(recommender, "item_names_", None)
    if names is None or frame.height == 0:
        return frame
    idx = recommender.items_.positions(frame["item_id"].to_list(), kind="item")
    return frame.with_columns(pl.Series("name", np.asarray(names)[idx].tolist()))


def _emit(
    recommender: Recommender, recs: Recommendations, out: Path | None, who: str, *, table: bool
) -> None:
    frame = _names(recommender, recs.to_frame(user_column=who))
    frame = frame.select(
        [who, "item_id", "rank", "score", *(["name"] if "name" in frame.columns else [])]
    )
    if out is not None:
        write_frame(frame, out)
        console.print(
            f"wrote {frame.height:,} rows for {len(recs):,} {who.removesuffix('_id')}s → {out}"
        )
    elif not table:
        print(frame.write_csv(), end="")
    else:
        grid = Table(*frame.columns)
        for row in frame.iter_rows():
            grid.add_row(*[fmt(v) for v in row])
        console.print(grid)
