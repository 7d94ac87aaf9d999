"""Re-buys on two real shop logs: personal frequency (top-freq) against iALS, EASE and the rest.

    nice -n 10 python benchmarks/baskets.py                      # both sets -> results/baskets.md
    nice -n 10 python benchmarks/baskets.py --data online-retail

Data (``../shared/data``, see each SOURCE.md):

* ``online-retail``: ``online_retail.csv.gz`` read as ``unrated ... --clean`` reads it
  (guests, cancellations, returns and purchases returned in full dropped, one warning).
* ``instacart-1k-users``: every item of every prior order of 1,000 users, joined here (into
  a temporary file) to ``user_id, product_id, order_id, timestamp, product_name``; the
  timestamp is days before the user's last (test) order, which Instacart dates relative to
  the previous one only, so all users' "now" is the same.

A line counts 1 (a basket that holds an item counts once, as in Li et al.'s frequencies), not
its quantity: ``--weight-col ''`` on the command line (``--clean`` still finds the returns
by the Quantity column). Online Retail's quantity-weighted variants are marked "(quantity)".

Protocols: ``basket`` (each customer's last basket held out, customers with ≥ 2 baskets),
re-buys allowed (``--include-seen``): Recall@10, NDCG@10, hit rate, and the repeat/explore
split of Li et al. (TOIS 2023). On Online Retail also ``last`` and ``time`` (20%) with the
training items excluded, the protocol the exclusion models are made for. Each model is fitted
by :func:`unrated.evaluation.compare.compare` (the code of ``unrated compare``); "p" is the
paired t-test of each model's per-user NDCG@10 / Recall@10 against top-freq's on the same
users. ``hl=D``: ``--half-life D`` days. The half-life changes the weights; models that fit
the 0/1 matrix (ease, item-knn, graph-filter, bpr, mf, and ials with its default
``confidence=binary``) are not changed by it, so iALS is also run with ``confidence=log``.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
from scipy import stats

import unrated as ur
from unrated.data.decay import decay
from unrated.data.interactions import build_interactions
from unrated.data.split import Split, split_data
from unrated.evaluation.compare import compare

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MARKDOWN = ROOT / "benchmarks" / "results" / "baskets.md"
K = 10
DAY = 86_400
#: (spec, half-life in days or None, line counts (True) or the file's quantities (False)).
Entry = tuple[str, float | None, bool]
REBUY: list[Entry] = [
    ("popular", None, True),
    ("top-freq", None, True),
    ("top-freq", 30.0, True),
    ("top-freq", 90.0, True),
    ("item-knn", None, True),
    ("ials", None, True),
    ("ials:confidence=log", None, True),
    ("ials:confidence=log", 90.0, True),
    ("ease", None, True),
    ("tifu-knn", None, True),
    ("repeat:base=ials", None, True),
    ("repeat:base=ease", None, True),
]
QUANTITY: list[Entry] = [("top-freq", None, False), ("ials:confidence=log", None, False)]
EXCLUDED: list[Entry] = [
    ("popular", None, True),
    ("top-freq", None, True),
    ("item-knn", None, True),
    ("ials", None, True),
    ("ease", None, True),
    ("tifu-knn", None, True),
]


def online_retail() -> ur.Interactions:
    """The export as it comes, with --clean; the warning is printed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = ur.read_interactions(DATA / "online-retail" / "online_retail.csv.gz", clean=True)
    for warning in caught:
        print(f"warning: {warning.message}")
    return data


def instacart(folder: Path) -> ur.Interactions:
    """Prior orders joined to their items; timestamps in seconds, the test order at day 400."""
    root = DATA / "instacart-1k-users"
    orders = pl.read_csv(root / "orders.csv").sort("user_id", "order_number")
    orders = orders.with_columns(
        day=pl.col("days_since_prior_order").fill_null(0).cum_sum().over("user_id")
    )
    orders = orders.with_columns(
        timestamp=((400 - (pl.col("day").max().over("user_id") - pl.col("day"))) * DAY).cast(
            pl.Int64
        )
    ).filter(pl.col("eval_set") == "prior")
    items = pl.read_csv(root / "order_products__prior.csv")
    names = pl.read_csv(root / "products.csv").select("product_id", "product_name")
    lines = (
        items.join(orders, on="order_id")
        .join(names, on="product_id", how="left")
        .sort("user_id", "order_number", "add_to_cart_order")
        .select("user_id", "product_id", "order_id", "timestamp", "product_name")
    )
    path = folder / "instacart_lines.csv"
    lines.write_csv(path)
    return ur.read_interactions(path)


def line_counts(data: ur.Interactions) -> ur.Interactions:
    """Every line weighs 1: a pair's weight is the number of its lines (baskets, mostly)."""
    events = data.events
    assert events is not None  # both sets have baskets
    ones = replace(events, weight=np.ones(len(events), dtype=np.float32))
    counted = build_interactions(
        ones.user, ones.item, ones.weight, data.users, data.items, ones.time
    )
    return replace(data, matrix=counted.matrix, events=ones)


def run(split: Split, entries: list[Entry], quantity: Split | None, include_seen: bool) -> list:
    """One row per entry: the metrics, the repeat/explore split, p against top-freq, fit s."""
    rows = []
    for spec, half_life, lines in entries:
        base = split if lines else quantity
        assert base is not None
        train = base.train if half_life is None else decay(base.train, half_life)
        started = time.perf_counter()
        comparison = compare(
            [spec],
            replace(base, train=train),
            k=(K,),
            rounds=200,
            curve=0,
            include_seen=include_seen,
        )
        result = comparison.best
        name = spec + (f" hl={half_life:g}" if half_life else "") + ("" if lines else " (quantity)")
        rows.append((name, result, time.perf_counter() - started))
        print(f"  {name}: NDCG@{K} {result.intervals[f'ndcg@{K}'].mean:.4f}", flush=True)
    return rows


def table(rows: list, include_seen: bool) -> str:
    """Markdown: metrics with intervals, p against top-freq, the repeat/explore split, times."""
    reference = next(r for name, r, _ in rows if name == "top-freq")
    head = f"| model | Recall@{K} | NDCG@{K} | HitRate@{K} | p NDCG | p Recall |"
    rule = "|---|---:|---:|---:|---:|---:|"
    if include_seen:
        head += " repeat R | explore R | repeat share |"
        rule += "---:|---:|---:|"
    lines = [head + " fit+eval s |", rule + "---:|"]
    for name, result, seconds in rows:
        cells = []
        for metric in (f"recall@{K}", f"ndcg@{K}", f"hit_rate@{K}"):
            i = result.intervals[metric]
            cells.append(f"{i.mean:.4f} ({i.low:.4f}–{i.high:.4f})")
        for metric in (f"ndcg@{K}", f"recall@{K}"):
            a, b = result.report.per_user[metric], reference.report.per_user[metric]
            cells.append("—" if result is reference else f"{stats.ttest_rel(a, b).pvalue:.2g}")
        if include_seen:
            repeat = ("repeat_recall", "explore_recall", "repeat_share")
            cells += [f"{result.intervals[f'{m}@{K}'].mean:.4f}" for m in repeat]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {seconds:.1f} |")
    return "\n".join(lines)


def describe(split: Split) -> str:
    per_user = split.test.matrix.getnnz(axis=1)
    return (
        f"`{split.protocol}`: train {split.train.n_users:,} users × {split.train.n_items:,} "
        f"items, {split.train.nnz:,} pairs; test {split.test.nnz:,} pairs of "
        f"{int((per_user > 0).sum()):,} users ({split.dropped_test_pairs:,} pairs of items "
        "unknown to train dropped)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("online-retail", "instacart-1k-users", "both"))
    args = parser.parse_args()
    chosen = args.data or "both"
    sections = [
        "# Re-buys on real shop logs",
        "",
        f"`nice -n 10 python benchmarks/baskets.py` ({platform.node()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}); see the script's docstring "
        "for the protocol. Intervals: 95% bootstrap over users (200 rounds); p: paired "
        "t-test against top-freq on the same users.",
        "",
        "The same on the command line (Online Retail; re-buys allowed):",
        "",
        "    unrated compare online_retail.csv.gz --clean --weight-col '' --protocol basket \\",
        "        --include-seen -k 10 -m popular,top-freq,item-knn,ials,ials:confidence=log,ease",
        "    unrated compare online_retail.csv.gz --clean --weight-col '' --protocol basket \\",
        "        --include-seen -k 10 -m top-freq --half-life 90",
        "    unrated compare online_retail.csv.gz --clean --weight-col '' --protocol last -k 10",
        "",
        "(``--weight-col ''``: every line counts 1; ``--clean`` still finds returns by Quantity.)",
    ]
    with tempfile.TemporaryDirectory() as folder:
        sets = []
        if chosen in ("online-retail", "both"):
            sets.append(("online-retail", online_retail()))
        if chosen in ("instacart-1k-users", "both"):
            sets.append(("instacart-1k-users", instacart(Path(folder))))
        for name, data in sets:
            counted = line_counts(data)
            print(f"{name}: {counted!r}", flush=True)
            split = split_data(counted, "basket")
            retail = name == "online-retail"
            quantity = split_data(data, "basket") if retail else None
            rows = run(split, REBUY + (QUANTITY if retail else []), quantity, True)
            sections += [
                "",
                f"## {name}: last basket, re-buys allowed",
                "",
                describe(split),
                "",
                table(rows, True),
            ]
            if retail:
                for protocol in ("last", "time"):
                    excluded = split_data(counted, protocol)
                    print(f"{name} {protocol}:", flush=True)
                    rows = run(excluded, EXCLUDED, None, False)
                    sections += [
                        "",
                        f"## {name}: `--protocol {protocol}`, training items excluded",
                        "",
                        describe(excluded),
                        "",
                        table(rows, False),
                    ]
    MARKDOWN.write_text("\n".join(sections) + "\n", encoding="utf-8")
    print(f"wrote {MARKDOWN}")


if __name__ == "__main__":
    main()
