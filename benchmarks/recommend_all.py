"""Top-20 for every Gowalla user: unrated's ``ials`` against ``implicit``'s batch recommend.

``ials`` is fitted on Gowalla's LightGCN training split (a few epochs: only the factors'
shape matters here); the same factors are then loaded into an ``implicit`` CPU ALS model, so
both libraries rank the same scores. Timed, best of ``--repeats``: unrated's
``recommend(all users, k=20)`` (seen items excluded) and implicit's
``recommend(userids, user_items, N=20, filter_already_liked_items=True)``, each on
``--threads`` threads; implicit both as the environment sets BLAS and with BLAS on one
thread (as its own warning asks), keeping its faster. Printed: seconds for both, their
ratio, whether the two top-20 lists agree, and which BLAS library and kernel threadpoolctl
found.

``implicit`` is a benchmark-only dependency: ``pip install implicit``.

    python benchmarks/recommend_all.py --threads 2 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from _measure import DATA


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--factors", default="64,128")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--k", type=int, default=20)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", str(args.threads))
    import implicit
    import numba
    from threadpoolctl import threadpool_info, threadpool_limits

    import unrated as ur

    numba.set_num_threads(args.threads)
    train = ur.read_interactions(DATA / "gowalla-lightgcn" / "train.csv")
    print(
        f"# recommend-all, Gowalla {train.n_users:,} users × {train.n_items:,} items, "
        f"k={args.k}, seen excluded; {args.threads} threads, best of {args.repeats}; "
        f"load average {os.getloadavg()}"
    )
    print(f"# numba {numba.__version__}, implicit {implicit.__version__}")
    print(f"# OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    for pool in threadpool_info():
        if pool["user_api"] == "blas":
            print(
                f"# BLAS: {pool['internal_api']} {pool['version']}, kernel {pool['architecture']}"
            )
    print("| factors | unrated s | implicit s | unrated / implicit | same lists |")
    print("|---|---|---|---|---|")
    for factors in map(int, args.factors.split(",")):
        ours = ur.IALS(factors=factors, epochs=args.epochs).fit(train)
        theirs = as_implicit(ours, args.threads)
        users = np.arange(train.n_users)
        liked = binary(ours.seen_)

        def run_ours(model: Any = ours) -> np.ndarray:
            return np.asarray(model.recommend(model.users_.ids, k=args.k).item_idx)

        def run_theirs(model: Any = theirs, users: Any = users, liked: Any = liked) -> np.ndarray:
            ids, _ = model.recommend(users, liked, N=args.k, filter_already_liked_items=True)
            return np.asarray(ids)

        our_lists, our_seconds = best_of(run_ours, args.repeats)
        their_lists, their_seconds = best_of(run_theirs, args.repeats)
        with threadpool_limits(limits=1, user_api="blas"):
            their_seconds = min(their_seconds, best_of(run_theirs, args.repeats)[1])
        same = float((np.sort(our_lists, axis=1) == np.sort(their_lists, axis=1)).all(1).mean())
        print(
            f"| {factors} | {our_seconds:.2f} | {their_seconds:.2f} | "
            f"{our_seconds / their_seconds:.2f} | {same:.1%} of users |",
            flush=True,
        )


def as_implicit(model: Any, threads: int) -> Any:
    """An implicit CPU ALS model holding ``model``'s factors."""
    from implicit.cpu.als import AlternatingLeastSquares

    theirs = AlternatingLeastSquares(factors=model.factors, num_threads=threads)
    theirs.user_factors = np.ascontiguousarray(model.user_factors_, dtype=np.float32)
    theirs.item_factors = np.ascontiguousarray(model.item_factors_, dtype=np.float32)
    return theirs


def binary(matrix: Any) -> Any:
    ones = matrix.copy()
    ones.data[:] = 1.0
    return ones


def best_of(run: Callable[[], np.ndarray], repeats: int) -> tuple[np.ndarray, float]:
    """The result of the first run and the fastest of ``repeats`` runs' seconds."""
    result, best = None, np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        lists = run()
        best = min(best, time.perf_counter() - started)
        result = lists if result is None else result
    assert result is not None
    return result, best


if __name__ == "__main__":
    main()
