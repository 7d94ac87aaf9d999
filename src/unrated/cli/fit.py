"""``unrated fit``: train a model on interactions and save it."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from unrated.cli import app
from unrated.cli._display import plain, shown
from unrated.cli._options import (
    BasketCol,
    Clean,
    DataFormat,
    HalfLife,
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
    read_data,
)
from unrated.errors import InvalidParameterError

if TYPE_CHECKING:
    from unrated.models.base import Recommender

#: The registry's names, and what auto chooses among and in how long, written out so that
#: ``--help`` need not import the models (numba); tests/cli/test_startup.py checks them
#: against unrated.models.registry and unrated.choosing.
MODEL_NAMES = (
    "popular",
    "item-knn",
    "ease",
    "ials",
    "bpr",
    "mf",
    "graph-filter",
    "top-freq",
    "tifu-knn",
    "repeat",
    "content",
    "hybrid",
    "sasrec",
)
DEFAULT_MODEL = "auto"
AUTO_CANDIDATES = ("item-knn", "ials", "graph-filter", "ease")
AUTO_BUDGET = 300.0

ENGINES = ("local", "spark", "torchrun")
#: The one model each other engine trains: what it trains when no model is named.
ENGINE_MODELS = {"spark": "ials", "torchrun": "mf"}
_ENGINE_HELP = (
    "Where to train: local (this process), spark (ials with Spark MLlib ALS; see "
    "--spark-master) or torchrun (mf data-parallel with torch.distributed; see --nproc)."
)
_MODEL_HELP = (
    f"Model spec NAME[:key=value,...]; models: {', '.join(MODEL_NAMES)}. Default: auto, "
    f"the best of {', '.join(AUTO_CANDIDATES)} on a validation split of DATA, refitted on "
    "all of it (with --engine spark: ials; torchrun: mf)."
)
_BUDGET_HELP = (
    f"Seconds for --model auto: choice and refit (default {AUTO_BUDGET:g}); "
    "candidates that would not finish in time are skipped."
)


@app.command()
def fit(
    data: Annotated[
        str,
        typer.Argument(
            help="Training interactions (CSV, TSV, Parquet), or a database URL with --query "
            "or --table."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write (.unrated).")],
    model: Annotated[str | None, typer.Option("--model", "-m", help=_MODEL_HELP)] = None,
    budget: Annotated[float | None, typer.Option("--budget", help=_BUDGET_HELP)] = None,
    items: Annotated[
        Path | None,
        typer.Option(
            "--items",
            help="Items file: item id, a name/title column, and attributes for --where rules "
            "(category, price, ...); content and hybrid models describe items by these "
            "columns, and recommend its products nobody bought too.",
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="Folder for per-epoch state; a killed fit resumes."),
    ] = None,
    user_col: UserCol = None,
    item_col: ItemCol = None,
    time_col: TimeCol = None,
    weight_col: WeightCol = None,
    basket_col: BasketCol = None,
    clean: Clean = False,
    data_format: DataFormat = "table",
    half_life: HalfLife = None,
    query: SourceQuery = None,
    table: SourceTable = None,
    password_env: PasswordEnv = None,
    engine: Annotated[str, typer.Option("--engine", help=_ENGINE_HELP)] = "local",
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master", help="Spark master URL (local[N], yarn, k8s://..., spark://...)."
        ),
    ] = None,
    spark_conf: Annotated[
        list[str] | None,
        typer.Option("--spark-conf", help="A Spark setting key=value (repeatable)."),
    ] = None,
    nproc: Annotated[
        int, typer.Option("--nproc", help="torchrun: processes (ranks) on this machine.", min=1)
    ] = 2,
) -> None:
    """Train MODEL on DATA and write it to --out (atomically: a failure leaves --out as it was)."""
    from unrated.data.catalogue import read_catalogue
    from unrated.modelfile import save_model
    from unrated.models.content import Content
    from unrated.models.hybrid import Hybrid
    from unrated.models.registry import make_model

    if engine not in ENGINES:
        raise InvalidParameterError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    model = model or ENGINE_MODELS.get(engine, DEFAULT_MODEL)
    auto = model.strip() == DEFAULT_MODEL
    if auto and engine != "local":
        raise InvalidParameterError(
            f"--model auto chooses on this machine; --engine {engine} trains "
            f"{ENGINE_MODELS[engine]} only: name it, or leave --model out"
        )
    if budget is not None and not auto:
        raise InvalidParameterError(f"--budget is for --model auto, not {model}")
    if budget is not None and not (0 < budget < math.inf):
        raise InvalidParameterError(f"--budget must be seconds > 0, got {budget:g}")
    # checks the spec before reading any data
    recommender = None if auto else make_model(model)
    if engine != "local" and checkpoint is not None:
        raise InvalidParameterError("--checkpoint works with --engine local only")
    if engine != "local" and (clean or half_life is not None or data_format != "table"):
        raise InvalidParameterError(
            "--clean, --format and --half-life work with --engine local only"
        )
    source = data_source(data, query, table, password_env)
    if engine != "local" and not isinstance(source, Path):
        raise InvalidParameterError(f"--engine {engine} reads files; a database trains locally")
    if checkpoint is not None and checkpoint.exists() and not checkpoint.is_dir():
        raise InvalidParameterError(
            f"--checkpoint must be a folder; {checkpoint} exists and is not one"
        )
    catalogue = read_catalogue(items) if items is not None else None
    names = None
    if catalogue is not None and catalogue.names is not None:
        names = dict(zip(catalogue.ids, catalogue.names, strict=True))
    started = time.perf_counter()
    if engine == "spark":
        from unrated.engines._spark_session import parse_conf
        from unrated.engines.spark import fit_spark

        fitted: Recommender | None = fit_spark(
            str(data),
            recommender,  # type: ignore[arg-type]  # fit_spark names a wrong model; not auto
            master=spark_master,
            conf=parse_conf(spark_conf or []),
            user_col=user_col,
            item_col=item_col,
            weight_col=weight_col,
        )
    elif engine == "torchrun":
        from unrated.engines.torchrun import fit_torchrun

        rank_args = ["fit", str(Path(data).resolve()), "--out", str(out.resolve())]
        rank_args += ["--model", model, "--engine", "torchrun"]
        for flag, value in (
            ("--items", items.resolve() if items else None),
            ("--user-col", user_col),
            ("--item-col", item_col),
            ("--weight-col", weight_col),
        ):
            rank_args += [flag, str(value)] if value is not None else []
        fitted = fit_torchrun(
            Path(data),
            recommender,  # type: ignore[arg-type]  # not None: auto was refused above
            nproc=nproc,
            rank_args=rank_args,
            user_col=user_col,
            item_col=item_col,
            weight_col=weight_col,
        )
    else:
        interactions = read_data(
            source,
            user_col,
            item_col,
            time_col,
            weight_col,
            basket_col=basket_col,
            clean=clean,
            format=data_format,
        )
        if names is None and interactions.item_names is not None:
            names = dict(
                zip(interactions.items.ids.tolist(), interactions.item_names.tolist(), strict=True)
            )
        if interactions.columns is not None:
            print(f"columns: {plain(interactions.columns)}", file=sys.stderr)
        interactions = decayed(interactions, half_life)
        if recommender is None:
            from unrated.choosing import choose_model

            choice = choose_model(
                interactions, budget_seconds=budget or AUTO_BUDGET, checkpoint=checkpoint
            )
            for line in (choice.summary(), *choice.notes()):
                print(plain(line), file=sys.stderr)
            fitted = choice.model
            model = choice.name
        elif isinstance(recommender, Content | Hybrid):  # new products from the items file
            fitted = recommender.fit(interactions, items=catalogue, checkpoint=checkpoint)
        else:
            fitted = recommender.fit(interactions, checkpoint=checkpoint)
    seconds = time.perf_counter() - started
    if fitted is None:  # the torchrun launcher, or a rank other than 0: rank 0 wrote the file
        return
    if catalogue is not None:
        fitted.set_item_attributes(catalogue.aligned(fitted.items_)[1])
    path = save_model(fitted, out, item_names=names)
    seen = fitted.seen_
    console.print(
        Text.assemble(
            "fitted ",
            shown(model, "bold"),
            f" ({engine}) on {seen.shape[0]:,} users × {seen.shape[1]:,} items "
            f"({seen.nnz:,} pairs) in {seconds:.1f} s → ",
            shown(path),
            f" ({path.stat().st_size / 2**20:.1f} MiB)",
        )
    )
    if fitted.info_.get("engine") == "torchrun":
        ranks, digest = fitted.info_["ranks"], fitted.info_["parameters_digest"]
        console.print(f"{ranks} ranks ended with identical parameters (blake2b {digest})")
