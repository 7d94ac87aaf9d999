"""Fit model specs on a train/test pair and print their full-ranking quality and fit time.

    python benchmarks/run_model.py 'mf:validation=0'        # ML-100k 20% holdout, seed 0
    python benchmarks/run_model.py "$(head -1 benchmarks/specs/gowalla-ials.txt)" --data gowalla
    python benchmarks/run_model.py bpr --train TRAIN.csv --test TEST.csv

Recall@20 = hits/|test_u| and NDCG@20 over the whole catalogue with training items excluded
(as LightGCN, He et al. 2020, reports Gowalla: 0.1830 / 0.1554).
"""

from __future__ import annotations

import argparse
import os

import unrated as ur
from _measure import DATA, timed
from unrated.models.registry import make_model


def load(args: argparse.Namespace) -> tuple[ur.Interactions, ur.Interactions]:
    if args.train and args.test:
        return ur.read_interactions(args.train), ur.read_interactions(args.test)
    if args.data == "gowalla":
        folder = DATA / "gowalla-lightgcn"
        return (
            ur.read_interactions(folder / "train.csv"),
            ur.read_interactions(folder / "test.csv"),
        )
    ratings = ur.read_interactions(DATA / "ml-100k" / "ratings.csv")
    split = ur.split_holdout(ratings, fraction=0.2, seed=0)
    return split.train, split.test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("specs", nargs="+", help="model specs, e.g. ials:factors=256")
    parser.add_argument("--data", choices=["ml-100k", "gowalla"], default="ml-100k")
    parser.add_argument("--train", help="a training file (with --test), instead of --data")
    parser.add_argument("--test", help="the test file")
    args = parser.parse_args()
    train, test = load(args)
    for spec in args.specs:
        model = make_model(spec)
        _, seconds = timed(lambda model=model: model.fit(train))
        summary = ur.evaluate(model, test, k=20).summary()
        print(
            f"{spec} | NDCG@20 {summary['ndcg@20']:.5f} | Recall@20 {summary['recall@20']:.5f}"
            f" | truncated Recall@20 {summary['truncated_recall@20']:.4f}"
            f" | coverage@20 {summary['coverage@20']:.3f} | fit {seconds:.1f} s"
            f" | best epoch {getattr(model, 'best_epoch_', '-')}"
            f" | load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
