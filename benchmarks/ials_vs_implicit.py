"""unrated's ``ials`` against the ``implicit`` package's ALS, same factors and iterations.

For each data set (MovieLens-100k 20% holdout, Gowalla's LightGCN split, a synthetic
power-law set of about 20M interactions) and each factor count, both libraries are fitted
with the same number of iterations and threads, in the same process, alternately, and the
best of ``--repeats`` fit times is kept (other processes on a 2-core machine add noise).
Printed: fit seconds, seconds to recommend 20 items for every user, peak resident memory
added during the fit, and NDCG@20 / Recall@20 computed by unrated's own evaluation for both
(implicit's factors are placed in an unrated model, so ranking and exclusion are identical).
``--scaling`` adds seconds per epoch of ``ials`` at 1M, 5M and 20M synthetic interactions.

``implicit`` is a benchmark-only dependency: ``pip install implicit threadpoolctl``.

    python benchmarks/ials_vs_implicit.py --threads 2 --repeats 3 --scaling
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np

from _measure import DATA, run_with_peak_mib


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="ml-100k,gowalla,synthetic-20m")
    parser.add_argument("--factors", default="64,128")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--scaling", action="store_true", help="seconds per epoch at 1M/5M/20M")
    parser.add_argument("--skip-quality", action="store_true", help="no NDCG (faster)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", str(args.threads))
    import numba

    numba.set_num_threads(args.threads)
    print(
        f"# ials vs implicit: {args.threads} threads, {args.epochs} iterations, "
        f"best of {args.repeats}; load average at start {os.getloadavg()}"
    )
    print(f"# numba {numba.__version__}, implicit {implicit_version()}, cpu count {os.cpu_count()}")
    header = (
        "| data | users × items, nnz | factors | library | fit s | fit ratio | "
        "recommend-all s | peak MiB | NDCG@20 | Recall@20 |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name in filter(None, args.datasets.split(",")):
        train, test = load(name)
        shape = f"{train.n_users:,} × {train.n_items:,}, {train.nnz:,}"
        for factors in map(int, args.factors.split(",")):
            rows = compare(train, test, factors, args)
            base = rows["implicit"]["fit"]
            for library, row in rows.items():
                quality = (
                    f"{row['ndcg']:.4f} | {row['recall']:.4f}"
                    if row.get("ndcg") is not None
                    else "– | –"
                )
                print(
                    f"| {name} | {shape} | {factors} | {library} | {row['fit']:.2f} | "
                    f"{row['fit'] / base:.2f} | {row['recommend']:.2f} | "
                    f"{row['peak']:.0f} | {quality} |",
                    flush=True,
                )
    if args.scaling:
        scaling(args)
    print(f"# load average at end {os.getloadavg()}")


def implicit_version() -> str:
    import implicit

    return str(implicit.__version__)


# --------------------------------------------------------------------------- data
def load(name: str) -> tuple[Any, Any]:
    import unrated as ur

    if name == "ml-100k":
        split = ur.split_holdout(
            ur.read_interactions(DATA / "ml-100k" / "ratings.csv"), fraction=0.2, seed=0
        )
        return split.train, split.test
    if name == "gowalla":
        folder = DATA / "gowalla-lightgcn"
        return (
            ur.read_interactions(folder / "train.csv"),
            ur.read_interactions(folder / "test.csv"),
        )
    if name.startswith("synthetic-"):
        size = int(float(name.removeprefix("synthetic-").lower().removesuffix("m")) * 1e6)
        split = ur.split_holdout(synthetic(size), fraction=0.2, seed=0)
        return split.train, split.test
    raise SystemExit(f"unknown data set {name!r}")


def synthetic(n_interactions: int, seed: int = 0) -> Any:
    """Rows from ``unrated.data.synthetic.make_purchases``, shaped like MovieLens-20M.

    27k items and a user per 145 rows; repeated (user, item) rows merge into one pair.
    """
    import unrated as ur
    from unrated.data.synthetic import make_purchases

    frame = make_purchases(
        users=n_interactions // 145, items=27_000, interactions=n_interactions, seed=seed
    )
    return ur.read_interactions(frame)


def compare(train: Any, test: Any, factors: int, args: argparse.Namespace) -> dict[str, Any]:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from unrated.models.ials import IALS

    binary = train.matrix.copy()
    binary.data[:] = 1.0
    rows: dict[str, dict[str, Any]] = {"unrated": {"fit": np.inf}, "implicit": {"fit": np.inf}}
    for _ in range(args.repeats):
        ours = IALS(factors=factors, epochs=args.epochs)
        _, seconds, peak = run_with_peak_mib(lambda m=ours: m.fit(train))
        if seconds < rows["unrated"]["fit"]:
            rows["unrated"] |= {"fit": seconds, "peak": peak, "model": ours}
        theirs = AlternatingLeastSquares(
            factors=factors, iterations=args.epochs, num_threads=args.threads, random_state=0
        )
        with threadpool_limits(limits=1, user_api="blas"):  # as implicit asks
            _, seconds, peak = run_with_peak_mib(
                lambda m=theirs: m.fit(binary, show_progress=False)
            )
        if seconds < rows["implicit"]["fit"]:
            rows["implicit"] |= {"fit": seconds, "peak": peak, "model": theirs}
    users = np.arange(train.n_users)
    ours, theirs = rows["unrated"]["model"], rows["implicit"]["model"]
    started = time.perf_counter()
    ours.recommend(ours.users_.ids, k=20)
    rows["unrated"]["recommend"] = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, len(users), 8192):
        batch = users[start : start + 8192]
        theirs.recommend(batch, binary[batch], N=20, filter_already_liked_items=True)
    rows["implicit"]["recommend"] = time.perf_counter() - started
    if not args.skip_quality:
        rows["unrated"] |= quality(ours, test)
        rows["implicit"] |= quality(as_unrated(theirs, ours), test)
    return rows


def as_unrated(theirs: Any, ours: Any) -> Any:
    """Put implicit's factors in an unrated model fitted on the same data (same ranking code)."""
    from unrated.models.ials import IALS

    model = IALS(factors=theirs.factors)
    model.users_, model.items_, model.seen_ = ours.users_, ours.items_, ours.seen_
    model.user_factors_ = np.ascontiguousarray(theirs.user_factors, dtype=np.float32)
    model.item_factors_ = np.ascontiguousarray(theirs.item_factors, dtype=np.float32)
    return model


def quality(model: Any, test: Any) -> dict[str, float]:
    import unrated as ur

    summary = ur.evaluate(model, test, k=20).summary()
    return {"ndcg": summary["ndcg@20"], "recall": summary["recall@20"]}


def scaling(args: argparse.Namespace) -> None:
    """Seconds per epoch of ials (64 factors) at 1M, 5M and 20M interactions."""
    from unrated.models.ials import IALS

    print("\n| rows | distinct pairs | users × items | ials s/epoch (64 f.) | per 1M pairs |")
    print("|---|---|---|---|---|")
    for size in (1_000_000, 5_000_000, 20_000_000):
        data = synthetic(size)
        one = six = np.inf
        for _ in range(args.repeats):
            # Setup and the final exact user solve cost about the same in both: they cancel.
            started = time.perf_counter()
            IALS(factors=64, epochs=1).fit(data)
            one = min(one, time.perf_counter() - started)
            started = time.perf_counter()
            IALS(factors=64, epochs=6).fit(data)
            six = min(six, time.perf_counter() - started)
        best = (six - one) / 5
        print(
            f"| {size:,} | {data.nnz:,} | {data.n_users:,} × {data.n_items:,} | {best:.3f} | "
            f"{best / data.nnz * 1e6:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
