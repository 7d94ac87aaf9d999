"""EASE: the two ways of solving it (fit time), and NDCG@20 over λ on the shared data sets.

    python benchmarks/ease_dimensions.py time lastfm-2k citeulike-a
    python benchmarks/ease_dimensions.py sweep --cache /tmp/ease-sweep.json

``time`` fits the direct (items × items) and the Woodbury (users × users) solutions at the
default λ on each data set's training split, prints their seconds and the peak memory each
added, and how far apart their weights are. ``sweep`` fits EASE for every λ of the grid (and the
default) on each data set and prints a markdown table: the best λ, its NDCG@20, the
default's λ and NDCG@20, and 250's; ``--cache`` keeps the NDCG@20 of each (data set, λ)
between runs.
"""

from __future__ import annotations

import argparse
import json
import os
from functools import partial
from pathlib import Path

import numpy as np

import unrated as ur
from _datasets import DATASETS, load
from _measure import run_with_peak_mib
from unrated.data.interactions import binary_matrix
from unrated.models.ease import direct_weights, scaled_regularization, woodbury_weights

GRID = [10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0]
SWEPT = [name for name in DATASETS if name != "gowalla"]  # too big for a dense items²


def time_paths(names: list[str]) -> None:
    for name in names:
        train, _ = load(name)
        binary = binary_matrix(train.matrix)
        lam = scaled_regularization(binary)
        results = {}
        for path, solve in [("woodbury", woodbury_weights), ("direct", direct_weights)]:
            weights, seconds, mib = run_with_peak_mib(partial(solve, binary, lam))
            results[path] = weights
            print(
                f"{name} {train.matrix.shape} | {path} | fit {seconds:.1f} s"
                f" | peak +{mib:,.0f} MiB | load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        gap = np.abs(results["woodbury"] - results["direct"]).max()
        print(f"{name} | max |B_woodbury - B_direct| = {gap:.2e}", flush=True)


def sweep(names: list[str], grid: list[float], cache_path: Path | None) -> None:
    cache = json.loads(cache_path.read_text()) if cache_path and cache_path.exists() else {}
    rows = []
    for name in names:
        train, test = load(name)

        default_lam = scaled_regularization(binary_matrix(train.matrix))
        for lam in [*grid, default_lam]:
            key = f"{name} {lam}"
            if key not in cache:
                model = ur.EASE(regularization=lam).fit(train)
                cache[key] = ur.evaluate(model, test, k=20).summary()["ndcg@20"]
                print(f"{key} NDCG@20 {cache[key]:.4f}", flush=True)
                if cache_path:
                    cache_path.write_text(json.dumps(cache, indent=1))
        scores = {lam: float(cache[f"{name} {lam}"]) for lam in grid}
        default_score = float(cache[f"{name} {default_lam}"])
        best = max(scores, key=scores.__getitem__)
        gap = 100 * (default_score / scores[best] - 1)
        rows.append(
            f"| {name} | {best:g} | {scores[best]:.4f} | {default_lam:.1f} | {default_score:.4f}"
            f" ({gap:+.1f}%) | {scores.get(250.0, float('nan')):.4f} |"
        )
    print("| data set | best λ | its NDCG@20 | default λ | its NDCG@20 | λ = 250 |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["time", "sweep"])
    parser.add_argument("data", nargs="*", help=f"of {', '.join(SWEPT)} (default: all)")
    parser.add_argument("--grid", type=float, nargs="+", default=GRID, help="the λ values")
    parser.add_argument("--cache", type=Path, help="a JSON file of NDCG@20 per (data set, λ)")
    args = parser.parse_args()
    names = args.data or SWEPT
    if unknown := set(names) - set(SWEPT):
        parser.error(f"unknown data sets {sorted(unknown)}; known: {', '.join(SWEPT)}")
    if args.command == "time":
        time_paths(names)
    else:
        sweep(names, args.grid, args.cache)


if __name__ == "__main__":
    main()
