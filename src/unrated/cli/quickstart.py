"""``unrated quickstart``: sample shop (or your file) -> split -> fit -> evaluate -> look."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from unrated.cli import app
from unrated.cli._display import plain, shown
from unrated.cli._options import (
    ItemCol,
    TimeCol,
    UserCol,
    WeightCol,
    console,
    fmt,
    read_data,
    write_frame,
)
from unrated.cli.fit import DEFAULT_MODEL

if TYPE_CHECKING:
    from unrated.data.interactions import Interactions
    from unrated.models.base import Recommender

_SHOWN = {
    "ndcg@20": "NDCG@20",
    "recall@20": "Recall@20",
    "truncated_recall@20": "tRecall@20",
    "precision@10": "P@10",
    "hit_rate@10": "Hit@10",
    "coverage@20": "Cov@20",
}


@app.command()
def quickstart(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Your interactions file instead of the sample shop."),
    ] = None,
    items: Annotated[Path | None, typer.Option("--items", help="Item names for --data.")] = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model spec to try, or auto (as fit does).")
    ] = DEFAULT_MODEL,
    save: Annotated[
        Path | None, typer.Option("--save", help="Also write the sample shop's CSV files here.")
    ] = None,
    user_col: UserCol = None,
    item_col: ItemCol = None,
    time_col: TimeCol = None,
    weight_col: WeightCol = None,
) -> None:
    """The whole path in one go: data, a 20% per-user holdout, MODEL vs popular, one customer."""
    from unrated.data.io import read_interactions, read_item_names
    from unrated.data.split import split_holdout
    from unrated.evaluation.protocol import PROTOCOL_NOTE, evaluate
    from unrated.models.registry import make_model

    candidate = None if model == DEFAULT_MODEL else make_model(model)  # the spec, checked
    if data is None:
        from unrated.data.sample_shop import make_sample_shop

        shop = make_sample_shop()
        interactions = read_interactions(shop.purchases)
        names = dict(
            zip(shop.products["product_id"].to_list(), shop.products["name"].to_list(), strict=True)
        )
        source = "the bundled sample shop (generated, offline)"
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            write_frame(shop.purchases, save / "purchases.csv")
            write_frame(shop.products, save / "products.csv")
    else:
        interactions = read_data(data, user_col, item_col, time_col, weight_col)
        names = read_item_names(items) if items is not None else {}
        source = str(data)
    console.rule("[bold]unrated quickstart")
    console.print(f"data: {plain(source)}: {plain(repr(interactions))}", markup=False)
    split = split_holdout(interactions, fraction=0.2, seed=0)
    console.print(
        f"split: {split.protocol}: {split.train.nnz:,} train / {split.test.nnz:,} test pairs"
    )

    results = {}
    for name in ("popular", model):
        started = time.perf_counter()
        if name == model and candidate is None:  # auto: chosen on a split of the train part
            from unrated.choosing import choose_model

            choice = choose_model(split.train)
            recommender, name = choice.model, choice.name
            console.print(shown(choice.summary()))
        else:
            recommender = candidate if name == model and candidate else make_model("popular")
            recommender.fit(split.train)
        results[name] = (recommender, evaluate(recommender, split), time.perf_counter() - started)
    table = Table(title="held-out ranking quality")
    for column in ("model", *_SHOWN.values(), "s"):
        table.add_column(
            column,
            justify="left" if column == "model" else "right",
            min_width=len(column),
            no_wrap=True,
        )
    for name, (_, report, seconds) in results.items():
        summary = report.summary()
        table.add_row(shown(name), *[fmt(summary[m]) for m in _SHOWN], f"{seconds:.1f}")
    console.print(table)
    console.print(f"[dim]{PROTOCOL_NOTE}; tRecall = truncated recall; Cov = catalogue coverage[/]")
    _show_customer(recommender, split.train, split.test, names)
    if data is None:
        target = plain(save or Path("shop"))
        console.print(
            "\nnext: try it on your own data —\n"
            + ("" if save else f"  unrated quickstart --save {target}\n")
            + f"  unrated split {target}/purchases.csv --out {target}/split\n"
            f"  unrated fit {target}/split/train.csv --items {target}/products.csv "
            "--out shop.unrated\n"
            f"  unrated evaluate shop.unrated {target}/split/test.csv\n"
            "  unrated recommend shop.unrated --user C00001 -k 10\n"
            "  unrated serve shop.unrated    # the page: buy again / new for you",
            markup=False,
        )


def _show_customer(
    recommender: Recommender, train: Interactions, test: Interactions, names: dict[str, str]
) -> None:
    """One customer, as the served page shows them: "buy again" beside "new for you".

    "Buy again" is the model's re-buy list when it is made for re-buys (``ranks_rebuys``:
    top-freq, tifu-knn, repeat), else the customer's most bought items; ✓ marks a held-out
    purchase among the new ones.
    """
    import numpy as np

    train_counts = np.diff(train.matrix.indptr)
    test_counts = np.diff(test.matrix.indptr)
    eligible = np.flatnonzero((test_counts > 0) & (train_counts >= 5))
    if len(eligible) == 0:
        return
    user_idx = int(eligible[np.argsort(train_counts[eligible], kind="stable")[len(eligible) // 2]])
    user_id = train.users.ids[user_idx]
    bought = train.matrix[user_idx]
    own = train.items.take(bought.indices).tolist()
    weights = dict(zip(own, bought.data.tolist(), strict=True))
    if getattr(recommender, "ranks_rebuys", False):
        ranked = recommender.recommend([user_id], k=10, exclude_seen=False).item_ids[0].tolist()
        again = [item for item in ranked if item in weights]
    else:
        order = np.argsort(-bought.data, kind="stable")[:10]
        again = train.items.take(bought.indices[order]).tolist()
    recs = recommender.recommend([user_id], k=10)
    held_out = set(test.items.take(test.matrix[user_idx].indices).tolist())
    table = Table(title=shown(f"customer {user_id}: {len(bought.indices)} items bought"))
    table.add_column("buy again (× how much bought)")
    table.add_column("new for you (✓ = bought later, held out)")
    rows = max(len(again), recs.item_ids.shape[1])
    for r in range(rows):
        left = Text()
        if r < len(again):
            left = _label(again[r], names) + Text(f" ×{weights[again[r]]:g}", "dim")
        item = recs.item_ids[0, r] if r < recs.item_ids.shape[1] else None
        right = Text() if item is None else Text("✓ " if item in held_out else "  ")
        if item is not None:
            right += _label(item, names)
        table.add_row(left, right)
    console.print(table)


def _label(item_id: object, names: dict[str, str]) -> Text:
    name = names.get(str(item_id), "")
    if not name:
        return shown(item_id)
    return Text.assemble(shown(name), " ", shown(item_id, "dim"))
