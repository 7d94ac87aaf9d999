"""Fit time of unrated's ``bpr`` against the ``implicit`` package's BPR (benchmark only).

Equal factors, equal iterations (epochs: each visits ~nnz triples), no early stopping,
both on all cores, timed in the same run; quality reported on the same split.

    python benchmarks/bpr_vs_implicit.py [TRAIN TEST]   (default: ML-100k holdout, seed 0)
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from implicit.bpr import BayesianPersonalizedRanking

import unrated as ur
from _measure import DATA

FACTORS, ITERATIONS, REPEATS = 64, 100, 3


def main() -> None:
    if len(sys.argv) > 2:
        train, test = ur.read_interactions(sys.argv[1]), ur.read_interactions(sys.argv[2])
    else:
        split = ur.split_holdout(ur.read_interactions(DATA / "ml-100k" / "ratings.csv"), seed=0)
        train, test = split.train, split.test
    matrix = train.binary()
    print(
        f"{train!r}; {FACTORS} factors, {ITERATIONS} iterations; "
        f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    ours = ur.BPR(factors=FACTORS, epochs=ITERATIONS, negatives=1, validation=0)
    theirs = BayesianPersonalizedRanking(factors=FACTORS, iterations=ITERATIONS, random_state=0)
    ours.set_params(epochs=1).fit(train)  # numba compile
    ours.set_params(epochs=ITERATIONS)
    times: dict[str, list[float]] = {"unrated": [], "implicit": []}
    for _ in range(REPEATS):  # interleaved, so both see the same machine load
        started = time.perf_counter()
        ours.fit(train)
        times["unrated"].append(time.perf_counter() - started)
        started = time.perf_counter()
        theirs.fit(matrix, show_progress=False)
        times["implicit"].append(time.perf_counter() - started)
    best = {name: min(values) for name, values in times.items()}
    ndcg = ur.evaluate(ours, test, k=20).summary()["ndcg@20"]
    print(
        f"unrated bpr: {best['unrated']:.2f} s (runs {np.round(times['unrated'], 2)}), "
        f"NDCG@20 {ndcg:.4f}"
    )
    print(f"implicit bpr: {best['implicit']:.2f} s (runs {np.round(times['implicit'], 2)})")
    print(f"ratio unrated / implicit: {best['unrated'] / best['implicit']:.2f}")


if __name__ == "__main__":
    main()
