"""``unrated study negatives``: how negative sampling choices change mf's or sasrec's lists."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from unrated._progress import progress_bar
from unrated.cli import app
from unrated.cli._display import plain, shown
from unrated.cli._options import ItemCol, TimeCol, UserCol, WeightCol, console, fmt, read_data
from unrated.errors import InvalidParameterError

study_app = typer.Typer(
    help="Studies that show which modelling choices matter on your data.", no_args_is_help=True
)
app.add_typer(study_app, name="study")

#: What a setting's label says, per model.
LEGEND = {
    "mf": "setting: sampler (uni = uniform, pop = popularity) · negatives per positive · "
    "resampling · loss.",
    "sasrec": "setting: sampler (uni = uniform, pop = popularity) · negatives, drawn afresh "
    "for every batch (one per position, or with more, per sequence shared by its positions) · "
    "loss (sampled-sm: sampled softmax, logQ-corrected); all·softmax: the whole catalogue, no "
    "negatives drawn.",
}


@study_app.command("negatives")
def negatives_command(
    train: Annotated[Path, typer.Argument(help="Training interactions (e.g. split/train.csv).")],
    test: Annotated[Path, typer.Argument(help="Held-out interactions (e.g. split/test.csv).")],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="mf, or sasrec (reads each customer's items in order: give train a time "
            "column, e.g. a 'split --protocol last').",
        ),
    ] = "mf",
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="The full grid. mf: 2 samplers × 1/4/16 negatives × once/epoch × "
            "mse/bce/bpr/softmax (48 fits); sasrec: 2 samplers × 1/16/256 negatives × "
            "bce/gbce/sampled_softmax, and softmax (19 fits).",
        ),
    ] = False,
    params: Annotated[
        str,
        typer.Option(
            "--params",
            help="The model's other parameters for every fit, e.g. 'epochs=30,factors=32'.",
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
    """Train mf or sasrec over sampler × negatives × resampling × loss; NDCG vs pair accuracy."""
    from unrated.evaluation.study import (
        MODELS,
        grid,
        plot_study,
        setting_label,
        study_negatives,
    )
    from unrated.models.registry import parse_spec

    if model not in MODELS:
        raise InvalidParameterError(f"--model must be one of {', '.join(MODELS)}, got {model!r}")
    _, extra = parse_spec(f"{model}:{params}")  # checks the parameters before any data is read
    for fixed in ("sampler", "negatives", "resample", "loss"):
        extra.pop(fixed, None)
    train_data = read_data(train, user_col, item_col, time_col, weight_col)
    test_data = read_data(test, user_col, item_col, time_col, weight_col)
    if model == "sasrec" and train_data.events is None:
        print(
            f"note: {plain(train)} has no time column: sasrec reads each customer's items in "
            "catalogue order, as a set (name the order with --time-col)",
            file=sys.stderr,
        )

    settings = grid(model, full=full)
    with progress_bar(len(settings), "negatives study") as advance:
        frame = study_negatives(
            train_data,
            test_data,
            model=model,
            full=full,
            progress=lambda row: advance(info=f"{setting_label(row)} NDCG@20 {row['ndcg']:.4f}"),
            **extra,
        )
    title = f"{model} on {train.name}: negative sampling"
    path = None if plot is None else plot_study(frame, plot, title=title)
    if as_json:
        rows = {"rows": frame.to_dicts(), "plot": None if path is None else str(path)}
        print(json.dumps(rows, indent=2))
        return
    title = f"negative sampling for {model}: {train} → {test} (full ranking)"
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
        f"[dim]{LEGEND[model]} pair acc.: accuracy on balanced pairs, each test positive vs "
        "one random untouched item, threshold 0.5 on the predicted probability (bce, gbce, "
        "mse only). It can look fine while the full ranking is poor.[/]",
        soft_wrap=False,
    )
    if path is not None:
        console.print(Text.assemble("plot: ", shown(path)), soft_wrap=True)
