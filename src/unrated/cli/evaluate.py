"""``unrated evaluate``: full-catalogue ranking metrics of a saved model on a test file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from unrated.cli import app
from unrated.cli._display import shown
from unrated.cli._options import (
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
    fmt,
    parse_ks,
    read_data,
)

if TYPE_CHECKING:
    from unrated.evaluation.protocol import Report


@app.command("evaluate")
def evaluate_command(
    model: Annotated[Path, typer.Argument(help="Model file written by 'unrated fit'.")],
    test: Annotated[
        str,
        typer.Argument(
            help="Held-out interactions (e.g. split/test.csv), or a database URL with --query."
        ),
    ],
    k: Annotated[str, typer.Option("-k", help="List lengths, comma-separated.")] = "10,20",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    user_col: UserCol = None,
    item_col: ItemCol = None,
    time_col: TimeCol = None,
    weight_col: WeightCol = None,
    query: SourceQuery = None,
    table: SourceTable = None,
    password_env: PasswordEnv = None,
    include_seen: IncludeSeen = False,
) -> None:
    """Rank the whole catalogue for each test user (training items excluded) and score it."""
    from unrated.evaluation.protocol import evaluate
    from unrated.modelfile import load_model

    ks = parse_ks(k)
    recommender = load_model(model)
    source = data_source(test, query, table, password_env)
    held_out = read_data(source, user_col, item_col, time_col, weight_col)
    report = evaluate(
        recommender, held_out, k=ks, split_name=str(source), include_seen=include_seen
    )
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    print_report(report)


def print_report(report: Report) -> None:
    """A metrics × k table with the protocol in its caption."""
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
    for name in [*PER_USER_METRICS, *repeat, "coverage", "popularity"]:
        table.add_row(name, *[fmt(summary[f"{name}@{c}"]) for c in report.k])
    console.print(table)
    console.print(f"[dim]{report.note}[/]")
    for name in repeat:
        users = int((~np.isnan(report.per_user[f"{name}@{report.k[0]}"])).sum())
        console.print(f"[dim]{name}: {REPEAT_METRICS[name]}; {users:,} users[/]")
    if report.dropped_test_pairs:
        console.print(
            f"{report.dropped_test_pairs:,} test pairs skipped: user or item unknown to the model"
        )
