"""``unrated update``: take new interactions into a fitted model without a full refit."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from unrated.cli import app
from unrated.cli._display import plain, shown
from unrated.cli._options import (
    BasketCol,
    Clean,
    ItemCol,
    PasswordEnv,
    SourceQuery,
    SourceTable,
    TimeCol,
    UserCol,
    WeightCol,
    console,
    data_source,
    read_data,
)


@app.command()
def update(
    model: Annotated[Path, typer.Argument(help="A model file written by unrated fit.")],
    data: Annotated[
        str,
        typer.Argument(
            help="New interactions (CSV, TSV, Parquet), or a database URL with --query or "
            "--table; new users and items are added."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write (.unrated).")],
    user_col: UserCol = None,
    item_col: ItemCol = None,
    time_col: TimeCol = None,
    weight_col: WeightCol = None,
    basket_col: BasketCol = None,
    clean: Clean = False,
    query: SourceQuery = None,
    table: SourceTable = None,
    password_env: PasswordEnv = None,
) -> None:
    """Add DATA to MODEL and write the result to --out (atomically: a failure leaves it as it was).

    iALS trains one more epoch from where it was; other models fit again on all they have
    seen; the line printed says which.
    """
    from unrated.modelfile import load_model, save_model

    fitted = load_model(model)
    source = data_source(data, query, table, password_env)
    new = read_data(
        source, user_col, item_col, time_col, weight_col, basket_col=basket_col, clean=clean
    )
    if new.columns is not None:
        print(f"columns: {plain(new.columns)}", file=sys.stderr)
    started = time.perf_counter()
    fitted.update(new)
    seconds = time.perf_counter() - started
    path = save_model(fitted, out)
    done = fitted.info_["update"]
    console.print(
        Text.assemble(
            "updated ",
            shown(model, "bold"),
            f" ({done['how']}) with {done['pairs']:,} pairs ({done['new_users']:,} new users, "
            f"{done['new_items']:,} new items) in {seconds:.1f} s: {fitted.seen_.shape[0]:,} "
            f"users × {fitted.seen_.shape[1]:,} items → ",
            shown(path),
        )
    )
