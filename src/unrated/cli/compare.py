"""``unrated compare``: which model works on this data, by how much, and is it noise?"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from unrated._progress import progress_bar
from unrated.cli import app
from unrated.cli._display import plain, shown
from unrated.cli._options import (
    BasketCol,
    Clean,
    DataFormat,
    HalfLife,
    IncludeSeen,
    ItemCol,
    PasswordEnv,
    SourceQuery,
    SourceTable,
    TimeCol,
    UserCol,
    WeightCol,
    console,
    data_source,
    decayed,
    parse_ks,
    read_data,
)
from unrated.errors import InvalidParameterError

if TYPE_CHECKING:
    from unrated.evaluation.compare import Comparison
    from unrated.evaluation.stats import Interval


@app.command("compare")
def compare_command(
    train: Annotated[
        str,
        typer.Argument(help="Training interactions, or the whole log (a file or database URL)."),
    ],
    test: Annotated[
        Path | None, typer.Argument(help="Held-out interactions; left out: split TRAIN.")
    ] = None,
    models: Annotated[
        str | None, typer.Option("--models", "-m", help="Comma-separated specs; default: all.")
    ] = None,
    k: Annotated[str, typer.Option("--k", "-k", help="List lengths, comma-separated.")] = "10,20",
    report: Annotated[
        Path | None, typer.Option("--report", help="Write report.html, results.json/csv, PNGs.")
    ] = None,
    protocol: Annotated[
        str,
        typer.Option(
            help="How to split TRAIN when no TEST is given: holdout, last, time, basket, "
            "new-items (products first sold in the last --days days)."
        ),
    ] = "holdout",
    days: Annotated[float, typer.Option(help="How new a product is new (new-items).")] = 30.0,
    items: Annotated[
        Path | None,
        typer.Option(
            "--items",
            help="Items file whose other columns describe the products, for content and "
            "hybrid models; its products nobody bought are ranked too.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split and the bootstrap.")] = 0,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for intervals.")] = 1000,
    sampled: Annotated[
        int, typer.Option(help="Also sampled metrics against N random items (misleading).")
    ] = 0,
    user_col: UserCol = None,
    item_col: ItemCol = None,
    time_col: TimeCol = None,
    weight_col: WeightCol = None,
    query: SourceQuery = None,
    table: SourceTable = None,
    password_env: PasswordEnv = None,
    basket_col: BasketCol = None,
    clean: Clean = False,
    data_format: DataFormat = "table",
    include_seen: IncludeSeen = False,
    half_life: HalfLife = None,
) -> None:
    """Fit each model on the same split, evaluate on the full catalogue, and rank them."""
    from dataclasses import replace

    from unrated.data.catalogue import describe, read_catalogue
    from unrated.data.interactions import reindex
    from unrated.data.split import PROTOCOLS, Split, split_data
    from unrated.evaluation.compare import compare, default_specs
    from unrated.evaluation.sampled import WARNING as SAMPLED_WARNING

    ks = parse_ks(k)
    specs = _split_specs(models) if models else default_specs()
    if protocol not in PROTOCOLS:
        raise InvalidParameterError(f"--protocol must be one of {', '.join(PROTOCOLS)}")
    source = data_source(train, query, table, password_env)
    columns = (user_col, item_col, time_col, weight_col)
    data = read_data(source, *columns, basket_col=basket_col, clean=clean, format=data_format)
    catalogue = None if items is None else read_catalogue(items)
    if catalogue is not None:  # every model ranks the products nobody bought too
        data = describe(data, catalogue, complete=False)[0]
    if test is None:
        split = split_data(data, protocol, seed=seed, days=days)
    else:
        held_out = read_data(test, *columns, basket_col=basket_col, clean=clean, format=data_format)
        aligned, dropped = reindex(held_out, data.users, data.items)
        split = Split(data, aligned, f"given test file {test}", dropped)
    if half_life is not None:
        split = replace(split, train=decayed(split.train, half_life))
    if sampled:
        print(f"warning: {SAMPLED_WARNING}", file=sys.stderr)
    with progress_bar(len(specs), "comparing") as advance:
        comparison = compare(
            specs,
            split,
            k=ks,
            rounds=bootstrap,
            seed=seed,
            sampled=sampled,
            on_model=lambda spec, position: advance(
                0 if position == 0 else 1, info=f"fitting {spec}"
            ),
            include_seen=include_seen,
            items=catalogue,
        )
        advance(1)
    comparison.sources.update(train=str(source), test=None if test is None else str(test))
    print_leaderboard(comparison)
    if include_seen:
        print_repeat_explore(comparison)
    if report is not None:
        from unrated.evaluation.report import write_report

        paths = write_report(comparison, report)
        console.print(
            Text.assemble(
                "report: ", shown(paths["html"]), " (and results.json, results.csv, PNGs)"
            ),
            soft_wrap=True,
        )


def _split_specs(text: str) -> list[str]:
    """Split on commas that start a new model (``name:`` or a known name), not inside params."""
    specs: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if specs and "=" in part and ":" not in part:
            specs[-1] += "," + part  # a key=value that belongs to the previous spec
        else:
            specs.append(part)
    return specs


def print_leaderboard(comparison: Comparison) -> None:
    """Rich table: metric means with 95% intervals, the paired test, costs; fits 80 columns.

    No cell is ever cut with "…": long specs fold onto a second line.
    """
    from unrated.evaluation.compare import WARM_UP_USERS
    from unrated.evaluation.metrics import metric_label

    cutoff = max(comparison.k)
    metrics = [f"ndcg@{cutoff}", f"recall@{cutoff}"]
    if console.width >= 120:
        metrics.append(f"truncated_recall@{cutoff}")
    title = f"{comparison.split.protocol}: {comparison.best.report.n_users:,} users"
    console.print(shown(title), soft_wrap=False)
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("model", overflow="fold")
    for column in (*map(metric_label, metrics), "vs best", "fit s", "rec s", "MiB"):
        table.add_column(column, justify="right", overflow="fold")
    for rank, result in enumerate(comparison.results, start=1):
        cells = [
            f"{result.intervals[m].mean:.4f}\n[dim]±{_half(result.intervals[m]):.4f}[/]"
            for m in metrics
        ]
        test = result.versus_best
        versus = (
            "—"
            if test is None
            else (
                f"{test.difference.mean:+.4f}\np={test.p_value:.1g}"
                + ("" if test.significant else "\n[yellow](noise)[/]")
            )
        )
        memory = result.peak_memory_bytes
        table.add_row(
            str(rank),
            shown(result.spec),
            *cells,
            versus,
            f"{result.fit_seconds:.1f}",
            f"{result.report.seconds:.1f}",
            "" if memory is None else f"{memory / 2**20:.0f}",
        )
    console.print(table)
    console.print(
        f"[dim]{comparison.best.report.note}; ± half-width of the 95% bootstrap interval; vs best: "
        f"paired difference in {metric_label(comparison.primary)} against the best, "
        "(noise) when its 95% interval contains 0; fit s: a warm fit, after a warm-up fit on "
        f"{WARM_UP_USERS} users that compiles the kernels ({_warm_ups(comparison)}); "
        "rec s: ranking every test user; MiB: peak memory added by the fit[/]",
        soft_wrap=False,
    )
    for result in comparison.results:
        if result.sampled:
            values = ", ".join(f"{k} {v:.4f}" for k, v in result.sampled.items())
            console.print(Text.assemble(("sampled", "red"), " ", shown(result.spec), f": {values}"))


def print_repeat_explore(comparison: Comparison) -> None:
    """Re-buys allowed: each model's recall on repeat and on new items, and its repeat share."""
    import numpy as np

    from unrated.evaluation.metrics import metric_label
    from unrated.evaluation.repeat import REPEAT_METRICS

    cutoff = max(comparison.k)
    metrics = [f"{name}@{cutoff}" for name in REPEAT_METRICS] + [f"hit_rate@{cutoff}"]
    table = Table(title=f"repeat / explore (Li et al. 2023), @{cutoff}")
    table.add_column("#", justify="right")
    table.add_column("model", overflow="fold")
    for column in ("repeat R", "explore R", "repeat share", metric_label(metrics[-1])):
        table.add_column(column, justify="right", overflow="fold")
    for rank, result in enumerate(comparison.results, start=1):
        means = [result.intervals[m].mean for m in metrics]
        cells = ["—" if np.isnan(mean) else f"{mean:.4f}" for mean in means]
        table.add_row(str(rank), shown(result.spec), *cells)
    console.print(table)
    per_user = comparison.best.report.per_user
    repeat, explore = (
        int((~np.isnan(per_user[f"{name}@{cutoff}"])).sum())
        for name in ("repeat_recall", "explore_recall")
    )
    console.print(
        f"[dim]repeat R: recall on the held-out items the user bought before ({repeat:,} "
        f"users with some); explore R: on the items new to the user ({explore:,} users); "
        "repeat share: share of each list the user bought before[/]",
        soft_wrap=False,
    )


def _warm_ups(comparison: Comparison) -> str:
    """The warm-up times worth mentioning, e.g. ``"bpr 17.1 s, mf 23.5 s"``."""
    slow = [r for r in comparison.results if r.warmup_seconds >= 0.5]
    return ", ".join(f"{plain(r.spec)} {r.warmup_seconds:.1f} s" for r in slow) or "all < 0.5 s"


def _half(interval: Interval) -> float:
    return (interval.high - interval.low) / 2
