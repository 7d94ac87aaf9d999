"""``unrated tune``: search a model's hyperparameters on a validation split carved from train."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from unrated._progress import progress_bar
from unrated.cli import app
from unrated.cli._display import shown
from unrated.cli._options import (
    HalfLife,
    ItemCol,
    TimeCol,
    UserCol,
    WeightCol,
    console,
    decayed,
    read_data,
)

if TYPE_CHECKING:
    from unrated.data.interactions import Interactions
    from unrated.tuning import TuneResult


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
        Path | None,
        typer.Option(
            "--out", "-o", help="Folder for trials.csv and tuning.png (none if left out)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the validation split and the sampler.")] = 0,
    user_col: UserCol = None,
    item_col: ItemCol = None,
    time_col: TimeCol = None,
    weight_col: WeightCol = None,
    half_life: HalfLife = None,
) -> None:
    """Optuna search (TPE, median pruning) on 20% of each user's training items.

    Trial 0 is the defaults; a spec is only offered if it beat them on validation.
    """
    from unrated.evaluation.metrics import metric_label
    from unrated.tuning import tune

    data = decayed(read_data(train, user_col, item_col, time_col, weight_col), half_life)
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
    label = metric_label(metric)
    title = f"{model}: best trials by {label} on validation ({result.validation})"
    console.print(shown(title), soft_wrap=False)
    table = Table()
    table.add_column("trial", justify="right")
    table.add_column(label, justify="right")
    table.add_column("spec", overflow="fold")
    best_rows = result.trials.drop_nulls("value").sort("value", descending=True).head(5)
    for row in best_rows.iter_rows(named=True):
        table.add_row(str(row["trial"]), f"{row['value']:.4f}", shown(row["spec"]))
    console.print(table)
    console.print(_verdict(result, label), soft_wrap=False)
    console.print(f"{len(result.trials)} trials in {result.seconds:.0f} s", soft_wrap=False)
    if out is not None:
        _write_history(result, out)
    console.print(Text.assemble("spec: ", shown(result.best_spec)), soft_wrap=True)
    if test is not None:
        _check_on_test(data, test, result, seed)


def _verdict(result: TuneResult, label: str) -> str:
    """One sentence: the spec to use, and whether its gain over the defaults is noise."""
    defaults = f"the defaults (trial 0, {label} {result.default_value:.4f} on validation)"
    test = result.versus_defaults
    if test is None:
        return f"no trial beat {defaults}: keep the defaults"
    gain = (
        f"best {result.best_value:.4f} beats {defaults} by {test.difference.mean:+.4f} "
        f"(95% interval {test.difference.low:+.4f} to {test.difference.high:+.4f}, "
        f"p={test.p_value:.2g})"
    )
    if not test.significant:
        return f"{gain}: within noise, the defaults are as good"
    return f"{gain}, optimistic since it was picked on these users: confirm on a test set"


def _write_history(result: TuneResult, out: Path) -> None:
    """trials.csv and tuning.png into ``out``; print where they went."""
    from unrated._atomic import atomic_path
    from unrated.evaluation.plots import plot_tuning

    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "trials.csv") as temporary:
        result.trials.write_csv(temporary)
    plot = plot_tuning(result.trials, result.metric, out / "tuning.png")
    console.print(Text.assemble("trials: ", shown(out / "trials.csv")), soft_wrap=True)
    console.print(Text.assemble("plot: ", shown(plot)), soft_wrap=True)


def _check_on_test(data: Interactions, test: Path, result: TuneResult, seed: int) -> None:
    """Fit the defaults and the chosen spec on all of train; compare them on the test file."""
    from unrated.cli.compare import print_leaderboard
    from unrated.data.interactions import reindex
    from unrated.data.io import read_interactions
    from unrated.data.split import Split
    from unrated.evaluation.compare import compare

    aligned, dropped = reindex(read_interactions(test), data.users, data.items)
    split = Split(data, aligned, f"given test file {test}", dropped)
    k = int(result.metric.partition("@")[2])
    best, default = result.best_spec, result.default_spec
    specs = [default] if best == default else [default, best]
    comparison = compare(specs, split, k=sorted({10, k}), primary=result.metric, seed=seed)
    print_leaderboard(comparison)
    tuned = next(r for r in comparison.results if r.spec == best)
    default_run = next(r for r in comparison.results if r.spec == default)
    versus = (default_run if tuned is comparison.best else tuned).versus_best
    if best == default:
        console.print("on test: the defaults, kept since no trial beat them on validation")
    elif versus is None or not versus.significant:
        console.print("on test: the defaults are within the interval of the tuned model")
    else:
        winner = "tuned" if tuned is comparison.best else "default"
        console.print(
            f"on test: the {winner} setting is better beyond noise "
            f"(paired difference {abs(versus.difference.mean):.4f}, p={versus.p_value:.1g})",
            soft_wrap=False,
        )
