"""Fit one model spec on a train/test pair (or ML-100k's 20% holdout, seed 0) and report.

python benchmarks/run_model.py 'mf:validation=0' [TRAIN TEST]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import unrated as ur
from unrated.models.registry import make_model

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    spec = sys.argv[1]
    if len(sys.argv) > 3:
        train, test = ur.read_interactions(sys.argv[2]), ur.read_interactions(sys.argv[3])
    else:
        split = ur.split_holdout(
            ur.read_interactions(DATA / "ml-100k" / "ratings.csv"), fraction=0.2, seed=0
        )
        train, test = split.train, split.test
    model = make_model(spec)
    started = time.perf_counter()
    model.fit(train)
    seconds = time.perf_counter() - started
    summary = ur.evaluate(model, test, k=20).summary()
    print(
        f"{spec}: NDCG@20 {summary['ndcg@20']:.4f}  Recall@20 {summary['recall@20']:.4f}  "
        f"truncated Recall@20 {summary['truncated_recall@20']:.4f}  "
        f"coverage@20 {summary['coverage@20']:.3f}  fit {seconds:.1f} s  "
        f"(best epoch {getattr(model, 'best_epoch_', '-')})"
    )


if __name__ == "__main__":
    main()
