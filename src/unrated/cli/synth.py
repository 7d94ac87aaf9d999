"""``unrated synth``: a large synthetic purchase log for benchmarks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from unrated.cli import app
from unrated.cli._display import plain
from unrated.cli._options import console, write_frame


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (.parquet or .csv).")],
    users: Annotated[int, typer.Option(help="Number of users.")] = 100_000,
    items: Annotated[int, typer.Option(help="Number of items.")] = 20_000,
    interactions: Annotated[int, typer.Option(help="Number of rows.")] = 1_000_000,
    factors: Annotated[int, typer.Option(help="Number of latent tastes (topics).")] = 16,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Generate a purchase log with power-law popularity and latent tastes."""
    from unrated.data.synthetic import make_purchases

    started = time.perf_counter()
    frame = make_purchases(
        users=users, items=items, interactions=interactions, factors=factors, seed=seed
    )
    write_frame(frame, out)
    console.print(
        f"wrote {frame.height:,} rows ({frame['user_id'].n_unique():,} users, "
        f"{frame['item_id'].n_unique():,} items) in {time.perf_counter() - started:.1f} s "
        f"→ {plain(out)}",
        markup=False,
    )
