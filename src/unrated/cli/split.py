"""``unrated split``: cut a log into train.csv and test.csv for honest evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from unrated.cli import app
from unrated.cli._display import plain
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
    write_frame,
)
from unrated.errors import InvalidParameterError


@app.command("split")
def split_command(
    data: Annotated[
        str,
        typer.Argument(help="Interactions (CSV, TSV, Parquet), or a database URL with --query."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for train.csv and test.csv.")],
    protocol: Annotated[
        str,
        typer.Option(
            help="holdout: random 20% per user (≥5 items); last: each user's "
            "latest item; time: the latest 20% of the log; basket: each customer's last "
            "basket (customers with ≥2 baskets; train.csv keeps the lines, with their "
            "baskets and times); new-items: products first sold in the last --days days, "
            "with every purchase of them."
        ),
    ] = "holdout",
    fraction: Annotated[float, typer.Option(help="Share held out (holdout, time).")] = 0.2,
    seed: Annotated[int, typer.Option(help="Random seed (holdout).")] = 0,
    days: Annotated[float, typer.Option(help="How new a product is new (new-items).")] = 30.0,
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
    """Split DATA into OUT/train.csv and OUT/test.csv (original ids, weights, times)."""
    from unrated.data.interactions import events_to_frame, interactions_to_frame
    from unrated.data.split import PROTOCOLS, split_data

    if protocol not in PROTOCOLS:
        raise InvalidParameterError(
            f"--protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}"
        )
    source = data_source(data, query, table, password_env)
    interactions = read_data(
        source, user_col, item_col, time_col, weight_col, basket_col=basket_col, clean=clean
    )
    split = split_data(interactions, protocol, fraction=fraction, seed=seed, days=days)
    out.mkdir(parents=True, exist_ok=True)
    lines = split.train.events is not None and protocol == "basket"
    train = events_to_frame(split.train) if lines else interactions_to_frame(split.train)
    write_frame(train, out / "train.csv")
    write_frame(interactions_to_frame(split.test), out / "test.csv")
    console.print(
        f"{split.protocol}: train {split.train.nnz:,} pairs, test {split.test.nnz:,} pairs "
        f"({split.test.matrix.getnnz(axis=1).astype(bool).sum():,} users) → {plain(out)}/"
        + (
            f"; {split.dropped_test_pairs:,} test pairs dropped (user or item not in train)"
            if split.dropped_test_pairs
            else ""
        ),
        markup=False,
    )
