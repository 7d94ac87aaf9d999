"""Fit ``ials`` specs on Gowalla (LightGCN split) and print Recall@20 / NDCG@20 and fit time.

    python benchmarks/gowalla_ials.py "$(head -1 benchmarks/specs/gowalla-ials.txt)" ials

Recall@20 = hits/|test_u| and NDCG@20 over full-catalogue rankings with training items
excluded, as LightGCN (He et al. 2020: 0.1830 / 0.1554) reports them.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import unrated as ur
from unrated.models.registry import make_model

DATA = Path(os.environ.get("UNRATED_DATA", Path(__file__).parents[1] / ".." / "shared" / "data"))


def main() -> None:
    folder = DATA / "gowalla-lightgcn"
    train = ur.read_interactions(folder / "train.csv")
    test = ur.read_interactions(folder / "test.csv")
    for spec in sys.argv[1:] or ["ials"]:
        model = make_model(spec)
        started = time.perf_counter()
        model.fit(train)
        seconds = time.perf_counter() - started
        summary = ur.evaluate(model, test, k=20).summary()
        print(
            f"{spec} | Recall@20 {summary['recall@20']:.4f} | NDCG@20 {summary['ndcg@20']:.4f}"
            f" | fit {seconds:.0f} s | load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
