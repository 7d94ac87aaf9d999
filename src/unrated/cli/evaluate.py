"""``unrated evaluate``: full-catalogue ranking metrics of a saved model, with intervals.

On a test file of the model's users, or on new visitors' histories and their targets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from unrated.cli import app
from unrated.cli._display import shown
from unrated.cli._options import (
    DataFormat,
    IncludeSeen,
    ItemCol,
    OrderCol,
    PasswordEnv,
    SourceQuery,
    SourceTable,
    TimeCol,
    UserCol,
    WeightCol,
    console,
    data_source,
    fmt,
    parse_ks,
    read_data,
)
from unrated.errors import InvalidParameterError

if TYPE_CHECKING:
    from unrated.evaluation.protocol import Report
    from unrated.evaluation.stats import Interval


_HELP = (
    "Rank the whole catalogue for each test user (training items excluded) and score it, "
    "with 95% bootstrap intervals over the users.\n\n"
    "TEST: held-out interactions of users the model was fitted on (e.g. split/test.csv).\n\n"
    "--histories H --targets T instead: new visitors, as the sequential literature scores "
    "them: each history of H (user_id,item_id[,position or timestamp]) folded in, in order, "
    "no refit; the history's items excluded; scored against the items of the same user id in "
    "T. With --format sequences both are one user per line (SASRec's files)."
)


@app.command("evaluate", help=_HELP)
def evaluate_command(
    model: Annotated[Path, typer.Argument(help="Model file written by 'unrated fit'.")],
    test: Annotated[
        str | None,
        typer.Argument(
            help="Held-out interactions (e.g. split/test.csv), or a database URL with --query."
        ),
    ] = None,
    k: Annotated[str, typer.Option("-k", help="List lengths, comma-separated.")] = "10,20",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    histories: Annotated[
        Path | None,
        typer.Option("--histories", help="New visitors' histories, scored against --targets."),
    ] = None,
    targets: Annotated[
        Path | None,
        typer.Option("--targets", help="Each --histories user's held-out items (by user id)."),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap resamples for the 95% intervals (0: none).", min=0)
    ] = 1000,
    user_col: UserCol = None,
    item_col: ItemCol = None,
    time_col: TimeCol = None,
    weight_col: WeightCol = None,
    order_col: OrderCol = None,
    data_format: DataFormat = "table",
    query: SourceQuery = None,
    table: SourceTable = None,
    password_env: PasswordEnv = None,
    include_seen: IncludeSeen = False,
) -> None:
    """Score a saved model on a test file, or on histories and their targets (see the help)."""
    from unrated.evaluation.histories import evaluate_histories
    from unrated.evaluation.protocol import evaluate
    from unrated.modelfile import load_model

    ks = parse_ks(k)
    if histories is None and targets is None:
        if test is None:
            raise InvalidParameterError("give TEST, or --histories FILE and --targets FILE")
        if order_col is not None:
            raise InvalidParameterError("--order-col is for --histories")
        recommender = load_model(model)
        source = data_source(test, query, table, password_env)
        held_out = read_data(source, user_col, item_col, time_col, weight_col, format=data_format)
        report = evaluate(
            recommender, held_out, k=ks, split_name=str(source), include_seen=include_seen
        )
    else:
        flags = {"TEST": test, "--time-col": time_col, "--weight-col": weight_col}
        flags |= {"--query": query, "--table": table, "--password-env": password_env}
        if given := [flag for flag, value in flags.items() if value is not None]:
            raise InvalidParameterError(f"{given[0]} does not go with --histories and --targets")
        if histories is None or targets is None:
            raise InvalidParameterError("--histories and --targets go together: give both")
        from functools import partial

        from unrated.data.histories import read_histories

        read = partial(read_histories, user_col=user_col, item_col=item_col, format=data_format)
        visitors, held = read(histories, order_col=order_col), read(targets, order_col="")
        report = evaluate_histories(
            load_model(model), visitors, held, k=ks, include_seen=include_seen
        )
    intervals = report.intervals(rounds=bootstrap) if bootstrap else {}
    if as_json:
        document = report.to_dict()
        if intervals:
            document["intervals"] = {
                name: [round(i.low, 6), round(i.high, 6)] for name, i in intervals.items()
            }
            document["bootstrap_rounds"] = bootstrap
        print(json.dumps(document, indent=2))
        return
    print_report(report, intervals)


def print_report(report: Report, intervals: dict[str, Interval] | None = None) -> None:
    """A metrics × k table with the protocol in its caption (and the 95% intervals)."""
    import numpy as np
    from rich.table import Table

    from unrated.evaluation.metrics import PER_USER_METRICS
    from unrated.evaluation.repeat import REPEAT_METRICS

    table = Table(title=shown(f"{report.model} on {report.split}: {report.n_users:,} users"))
    table.add_column("metric")
    for cutoff in report.k:
        table.add_column(f"@{cutoff}", justify="right")
    summary = report.summary()
    repeat = list(REPEAT_METRICS) if report.include_seen else []
    intervals = intervals or {}

    def cell(metric: str) -> str:
        if metric not in intervals or np.isnan(intervals[metric].low):
            return fmt(summary[metric])
        return f"{fmt(summary[metric])} [{intervals[metric].low:.4f}, {intervals[metric].high:.4f}]"

    for name in [*PER_USER_METRICS, *repeat, "coverage", "popularity"]:
        table.add_row(name, *[cell(f"{name}@{c}") for c in report.k])
    console.print(table)
    console.print(
        f"[dim]{report.note}"
        + ("; \\[low, high]: 95% bootstrap interval over users" if intervals else "")
        + "[/]"
    )
    for name in repeat:
        users = int((~np.isnan(report.per_user[f"{name}@{report.k[0]}"])).sum())
        console.print(f"[dim]{name}: {REPEAT_METRICS[name]}; {users:,} users[/]")
    if report.dropped_test_pairs:
        console.print(
            f"{report.dropped_test_pairs:,} test pairs skipped: "
            + (
                "item unknown to the model, or no history with an item it knows"
                if report.histories
                else "user or item unknown to the model"
            )
        )
