"""``model.update`` against a full refit on a time split: quality and time, per model.

Pairs (by the time of their first line) before the 80% time quantile train the model; those
between 80% and 90% arrive later, as one batch or as daily batches given to ``update``; the
last 10% are the test (users and items of the first 90% only, their earlier items left out).
The refit is ``fit`` on the first 90%. Models with a seed are fitted, updated and refitted
once per seed: quality is the mean over seeds (range in brackets), seconds (wall, CPU) the median.
Prints one Markdown table per data set.

    python benchmarks/update.py [--data ml-latest-small online-retail] [--models ials ...]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import unrated as ur
from unrated.data.split import split_by_time

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DATA = {
    "ml-latest-small": (SHARED / "ml-latest-small" / "ratings.csv", {}),
    "online-retail": (SHARED / "online-retail" / "online_retail.csv.gz", {"clean": True}),
    "ml-100k": (SHARED / "ml-100k" / "ratings.csv", {}),
    # no timestamps: its train, valid and test files (a time split per user, 70/20/10 of
    # pairs, every user in each) are times 0, 1, 2, so 80% | 90% fall on their borders
    "ml-1m-diffrec": (SHARED / "ml-1m-diffrec", {}),
}
PARTS = ("train", "valid", "test")
MODELS = ("ials", "bpr", "mf", "item-knn", "ease", "graph-filter", "popular")
DAY = 86_400.0


def pairs_with_times(path: Path, options: dict[str, Any]) -> pl.DataFrame:
    """user, item, time (seconds) of each pair's first line, as read by unrated."""
    source: Path | pl.DataFrame = path
    if path.is_dir():  # split files: their order is the time
        parts = [pl.read_csv(path / f"{part}.csv") for part in PARTS]
        source = pl.concat(
            [part.with_columns(timestamp=pl.lit(at)) for at, part in enumerate(parts)]
        )
    data = ur.read_interactions(source, **options)
    if data.times is None:
        raise SystemExit(f"{path}: no time column")
    coo = data.matrix.tocoo()
    times = np.asarray(data.times, dtype=np.float64)
    if times.max() > 1e14:  # nanoseconds (a datetime column) -> seconds
        times = times / 1e9
    return pl.DataFrame(
        {
            "user_id": data.users.ids[coo.row],
            "item_id": data.items.ids[coo.col],
            "weight": coo.data,
            "time": times,
        }
    )


def run(name: str, models: list[str], seeds: int, period: float) -> None:
    path, options = DATA[name]
    pairs = pairs_with_times(path, options)
    t80, t90 = np.quantile(pairs["time"].to_numpy(), [0.8, 0.9])
    first = pairs.filter(pl.col("time") < t80)
    later = pairs.filter((pl.col("time") >= t80) & (pl.col("time") < t90))
    split = split_by_time(ur.read_interactions(pairs), cutoff=float(t90))
    days = (later["time"] // (DAY * period)).unique().sort().to_list()
    print(
        f"\n## {name}: {len(first):,} pairs before the 80% time quantile, {len(later):,} "
        f"in the next 10% ({len(days)} batches of {period:g} day(s)), test {split.test.nnz:,} "
        f"pairs of {len(np.unique(split.test.matrix.tocoo().row)):,} users; seeded models: mean "
        f"(range) over {seeds} seeds, median seconds; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "\n| model | NDCG@20 after fit on 80% | update: one batch | update: in batches "
        "| refit on 90% | update vs refit | update s (one batch) | update s (batches, total) "
        "| refit s | speed-up | speed-up (CPU s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for key in models:
        seeded = "seed" in ur.make_model(key).get_params()
        fitted, updated, refits = [], [], []
        update_s, refit_s = [], []  # (wall, CPU) seconds
        for seed in range(seeds if seeded else 1):
            model = ur.make_model(key).set_params(**({"seed": seed} if seeded else {}))
            model.fit(first, progress=False)
            fitted.append(ndcg(model, split))
            update_s.append(timed(model.update, later, progress=False))
            how = model.info_["update"]["how"]
            updated.append(ndcg(model, split))
            refit = ur.make_model(key).set_params(**({"seed": seed} if seeded else {}))
            refit_s.append(timed(refit.fit, pl.concat([first, later]), progress=False))
            refits.append(ndcg(refit, split))
        daily_model = ur.make_model(key).fit(first, progress=False)
        daily = 0.0
        for day in days:
            batch = later.filter(pl.col("time") // (DAY * period) == day)
            daily += timed(daily_model.update, batch, progress=False)[0]
        full = np.mean(refits)
        (one_batch, one_cpu), (refit_seconds, refit_cpu) = (
            np.median(update_s, axis=0),
            np.median(refit_s, axis=0),
        )
        row = [
            f"`{key}`",
            spread(fitted),
            f"{spread(updated)} ({how})",
            f"{ndcg(daily_model, split):.4f}",
            spread(refits),
            f"{(np.mean(updated) - full) / full:+.2%}",
            f"{one_batch:.2f}",
            f"{daily:.1f}",
            f"{refit_seconds:.2f}",
            f"{refit_seconds / one_batch:.1f}×",
            f"{refit_cpu / one_cpu:.1f}×",
        ]
        print("| " + " | ".join(row) + " |", flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


def timed(call: Any, *args: Any, **kwargs: Any) -> tuple[float, float]:
    """Wall and CPU (this process, all threads) seconds that ``call(*args, **kwargs)`` took."""
    started, cpu = time.perf_counter(), time.process_time()
    call(*args, **kwargs)
    return time.perf_counter() - started, time.process_time() - cpu


def spread(scores: list[float]) -> str:
    """The mean, and the range when there are several."""
    mean = f"{np.mean(scores):.4f}"
    return mean if len(scores) == 1 else f"{mean} ({min(scores):.4f}–{max(scores):.4f})"


def ndcg(model: ur.Recommender, split: ur.Split) -> float:
    return float(ur.evaluate(model, split, k=20).summary()["ndcg@20"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=list(DATA), choices=list(DATA))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seeds", type=int, default=3, help="fits, updates, refits to average")
    parser.add_argument("--period", type=float, default=1.0, help="days per update batch")
    args = parser.parse_args()
    for name in args.data:
        run(name, args.models, args.seeds, args.period)


if __name__ == "__main__":
    main()
