"""``unrated tune``: search a model's hyperparameters on a validation split carved from train."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from unrated._atomic import atomic_path
from unrated._progress import progress_bar
from unrated.cli import app
from unrated.cli._options import ItemCol, TimeCol, UserCol, WeightCol, console, read_data
from unrated.data.interactions import reindex
from unrated.data.split import Split


@app.command("tune")
def tune_command(
    train: Annotated[
        Path, typer.Argument(help="Training interactions (the test set stays unseen).")
    ],
    test: Annotated[
        Path | None, typer.Argument(help="Optional test file: compare the best with the defaults.")
    ] = None,
    model: Annotated[str, typer.Option("--model", "-m", help="Model name, e.g. ials.")] = "ials",
    trials: Annotated[int, typer.Option(help="Number of trials (the first is the defaults).")] = 30,
    metric: Annotated[str, typer.Option(help="What to maximise on validation.")] = "ndcg@20",
    timeout: Annotated[
        float | None, typer.Option(help="Stop starting trials after S seconds.")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for trials.csv and the plot.")
    ] = Path("tune"),
    seed: Annotated[int, typer.Option(help="Seed of the validation split and the sampler.")] = 0,
    user_col: UserCol = None,
    item_col: ItemCol = None,
    time_col: TimeCol = None,
    weight_col: WeightCol = None,
) -> None:
    """Optuna search (TPE, median pruning) on 20% of each user's training items."""
    from unrated.evaluation.plots import plot_tuning
    from unrated.tuning import tune

    data = read_data(train, user_col, item_col, time_col, weight_col)
    with progress_bar(trials, f"tuning {model}") as advance:
        result = tune(
            data,
            model,
            trials=trials,
            metric=metric,
            timeout=timeout,
            seed=seed,
            on_trial=lambda number, value, best: advance(info=f"best {best:.4f}"),
        )
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "trials.csv") as temporary:
        result.trials.write_csv(temporary)
    plot = plot_tuning(result.trials, metric, out / "tuning.png")
    table = Table(title=f"{model}: best trials by {metric} on validation ({result.validation})")
    for column in ("trial", metric, "spec"):
        table.add_column(column)
    best_rows = result.trials.drop_nulls("value").sort("value", descending=True).head(5)
    for row in best_rows.iter_rows(named=True):
        table.add_row(str(row["trial"]), f"{row['value']:.4f}", row["spec"])
    console.print(table)
    console.print(
        f"defaults {result.default_value:.4f} → best {result.best_value:.4f} on validation "
        f"({len(result.trials)} trials, {result.seconds:.0f} s); history: {plot}"
    )
    console.print(f"best spec: [bold]{result.best_spec}[/]")
    if test is not None:
        _check_on_test(data, test, model, result.best_spec, metric, seed)


def _check_on_test(data: object, test: Path, model: str, best: str, metric: str, seed: int) -> None:
    """Fit the defaults and the best spec on all of train; compare them on the test file."""
    from unrated.cli.compare import print_leaderboard
    from unrated.data.interactions import Interactions
    from unrated.data.io import read_interactions
    from unrated.evaluation.compare import compare

    assert isinstance(data, Interactions)  # noqa: S101 (internal call)
    aligned, dropped = reindex(read_interactions(test), data.users, data.items)
    split = Split(data, aligned, f"given test file {test}", dropped)
    k = int(metric.partition("@")[2])
    specs = [model] if best == model else [model, best]
    comparison = compare(specs, split, k=sorted({10, k}), primary=metric, seed=seed)
    print_leaderboard(comparison)
    tuned = next(r for r in comparison.results if r.spec == best)
    default = next(r for r in comparison.results if r.spec == model)
    versus = (default if tuned is comparison.best else tuned).versus_best
    if best == model or versus is None or not versus.significant:
        console.print("on test: the defaults are within the interval of the tuned model")
    else:
        winner = "tuned" if tuned is comparison.best else "default"
        console.print(
            f"on test: the {winner} setting is better beyond noise "
            f"(paired difference {abs(versus.difference.mean):.4f}, p={versus.p_value:.1g})"
        )
