"""``unrated study negatives``: how negative sampling choices change ``mf``'s rankings."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from unrated._progress import progress_bar
from unrated.cli import app
from unrated.cli._display import shown
from unrated.cli._options import ItemCol, TimeCol, UserCol, WeightCol, console, fmt, read_data

study_app = typer.Typer(
    help="Studies that show which modelling choices matter on your data.", no_args_is_help=True
)
app.add_typer(study_app, name="study")


@study_app.command("negatives")
def negatives_command(
    train: Annotated[Path, typer.Argument(help="Training interactions (e.g. split/train.csv).")],
    test: Annotated[Path, typer.Argument(help="Held-out interactions (e.g. split/test.csv).")],
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="The full grid: 2 samplers × 1/4/16 "
            "negatives × once/epoch × mse/bce/bpr/softmax (48 fits).",
        ),
    ] = False,
    params: Annotated[
        str,
        typer.Option(
            "--params", help="Other mf parameters for every fit, e.g. 'epochs=30,factors=32'."
        ),
    ] = "",
    plot: Annotated[
        Path | None, typer.Option("--plot", help="PNG to write (none if left out).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    user_col: UserCol = None,
    item_col: ItemCol = None,
    time_col: TimeCol = None,
    weight_col: WeightCol = None,
) -> None:
    """Train mf over sampler × negatives × resampling × loss; compare NDCG with pair accuracy."""
    from unrated.evaluation.study import (
        FULL_GRID,
        SMALL_GRID,
        plot_study,
        setting_label,
        study_negatives,
    )
    from unrated.models.registry import parse_spec

    _, extra = parse_spec("mf:" + params)  # checks the parameters before any data is read
    for fixed in ("sampler", "negatives", "resample", "loss"):
        extra.pop(fixed, None)
    train_data = read_data(train, user_col, item_col, time_col, weight_col)
    test_data = read_data(test, user_col, item_col, time_col, weight_col)

    grid = FULL_GRID if full else SMALL_GRID
    with progress_bar(len(grid), "negatives study") as advance:
        frame = study_negatives(
            train_data,
            test_data,
            full=full,
            progress=lambda row: advance(info=f"{setting_label(row)} NDCG@20 {row['ndcg']:.4f}"),
            **extra,
        )
    title = f"mf on {train.name}: negative sampling"
    path = None if plot is None else plot_study(frame, plot, title=title)
    if as_json:
        rows = {"rows": frame.to_dicts(), "plot": None if path is None else str(path)}
        print(json.dumps(rows, indent=2))
        return
    title = f"negative sampling for mf: {train} → {test} (full ranking)"
    console.print(shown(title), soft_wrap=False)
    table = Table()
    table.add_column("setting")
    for column in ("NDCG@20", "Recall@20", "coverage@20", "pair acc.", "fit s"):
        table.add_column(column, justify="right")
    best = frame["ndcg"].max()
    for row in frame.iter_rows(named=True):
        accuracy = row["pair_accuracy"]
        ndcg = fmt(row["ndcg"])
        table.add_row(
            setting_label(row),
            f"[bold]{ndcg}[/]" if row["ndcg"] == best else ndcg,
            fmt(row["recall"]),
            fmt(row["coverage"]),
            "—" if accuracy is None or math.isnan(accuracy) else f"{accuracy:.1%}",
            f"{row['fit_seconds']:.1f}",
        )
    console.print(table)
    console.print(
        "[dim]setting: sampler (uni = uniform, pop = popularity) · negatives per positive · "
        "resampling · loss. pair acc.: accuracy on balanced pairs, each test positive vs one "
        "random untouched item, threshold 0.5 on the predicted probability (bce, mse only). "
        "It can look fine while the full ranking is poor.[/]",
        soft_wrap=False,
    )
    if path is not None:
        console.print(Text.assemble("plot: ", shown(path)), soft_wrap=True)
