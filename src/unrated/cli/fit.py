"""``unrated fit``: train a model on interactions and save it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from unrated.cli import app
from unrated.cli._options import ItemCol, TimeCol, UserCol, WeightCol, console, read_data
from unrated.data.io import read_item_names
from unrated.modelfile import save_model
from unrated.models.registry import DEFAULT_MODEL, MODELS, make_model

_MODEL_HELP = (
    f"Model spec NAME[:key=value,...]; models: {', '.join(MODELS)}. "
    f"Default: {DEFAULT_MODEL} (the strongest general model)."
)


@app.command()
def fit(
    data: Annotated[Path, typer.Argument(help="Training interactions (CSV, TSV, Parquet).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write (.unrated).")],
    model: Annotated[str, typer.Option("--model", "-m", help=_MODEL_HELP)] = DEFAULT_MODEL,
    items: Annotated[
        Path | None, typer.Option("--items", help="Item names file: item id + name/title column.")
    ] = None,
    user_col: UserCol = None,
    item_col: ItemCol = None,
    time_col: TimeCol = None,
    weight_col: WeightCol = None,
) -> None:
    """Train MODEL on DATA and write it to --out (atomically: a failure leaves --out as it was)."""
    recommender = make_model(model)  # checks the spec before reading any data
    names = read_item_names(items) if items is not None else None
    interactions = read_data(data, user_col, item_col, time_col, weight_col)
    started = time.perf_counter()
    recommender.fit(interactions)
    seconds = time.perf_counter() - started
    path = save_model(recommender, out, item_names=names)
    console.print(
        f"fitted [bold]{model}[/] on {interactions.n_users:,} users × {interactions.n_items:,} "
        f"items ({interactions.nnz:,} pairs) in {seconds:.1f} s → {path} "
        f"({path.stat().st_size / 2**20:.1f} MiB)"
    )
