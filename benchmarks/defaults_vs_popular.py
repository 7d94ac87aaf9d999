"""Do `mf` and `bpr` with their defaults beat `popular` on every shared data set?

    nice -n 10 python benchmarks/defaults_vs_popular.py                 # all sets but Gowalla
    nice -n 10 python benchmarks/defaults_vs_popular.py --data ml-100k lastfm-2k
    nice -n 10 python benchmarks/defaults_vs_popular.py --gowalla       # Gowalla too (minutes)
    nice -n 10 python benchmarks/defaults_vs_popular.py --specs popular 'mf:epochs=50'

Prints one row per data set and spec: NDCG@20, Recall@20 (hits/|test_u|, full catalogue,
training items excluded), the margin over `popular`'s NDCG@20, fit seconds, the epoch kept
by early stopping and the load average. The splits are those of ``_datasets.py``.
"""

from __future__ import annotations

import argparse
import os

import unrated as ur
from _datasets import DATASETS, load, split_name
from _measure import timed
from unrated.models.registry import make_model

SPECS = ["popular", "mf", "bpr"]
SLOW = {"gowalla"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    names = [name for name in DATASETS if name not in SLOW]
    parser.add_argument("--data", nargs="+", choices=list(DATASETS), default=names)
    parser.add_argument("--gowalla", action="store_true", help="add Gowalla (minutes per fit)")
    parser.add_argument("--specs", nargs="+", default=SPECS, help="model specs; popular first")
    args = parser.parse_args()
    datasets = list(args.data) + (
        ["gowalla"] if args.gowalla and "gowalla" not in args.data else []
    )
    print("| data | spec | NDCG@20 | Recall@20 | vs popular | fit s | best epoch | load |")
    print("|---|---|---|---|---|---|---|---|")
    for name in datasets:
        train, test = load(name)
        baseline = None
        for spec in args.specs:
            model = make_model(spec)
            _, seconds = timed(lambda model=model, train=train: model.fit(train))
            summary = ur.evaluate(model, test, k=20).summary()
            ndcg = summary["ndcg@20"]
            baseline = ndcg if baseline is None and spec == "popular" else baseline
            margin = "—" if baseline is None or spec == "popular" else f"{ndcg / baseline - 1:+.1%}"
            print(
                f"| {name} | `{spec}` | {ndcg:.4f} | {summary['recall@20']:.4f} | {margin}"
                f" | {seconds:.1f} | {getattr(model, 'best_epoch_', '—')}"
                f" | {os.getloadavg()[0]:.1f} |",
                flush=True,
            )
    print(f"\nSplits: {', '.join(f'{name}: {split_name(name)}' for name in datasets)}.")


if __name__ == "__main__":
    main()
