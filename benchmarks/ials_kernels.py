"""Time iALS's CG kernel with tiled Gramian products against BLAS ones, by factors.

    python benchmarks/ials_kernels.py --factors 512,1024,1536,2048,2560,3584

Solves ``--rows`` rows of a random sparse matrix (27 items per row, Gowalla's mean) against
41k item vectors, 3 CG steps from zero (4 Gramian products per row), best of 2. This is
where ``ials.BLAS_FACTORS`` comes from.
"""

from __future__ import annotations

import argparse

import numba
import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from _measure import timed
from unrated.models import _ials_kernels as kernels

N_ITEMS = 40_981
PER_ROW = 27
STEPS = 3


def solve(fixed: tuple[np.ndarray, ...], rows: int, d: int, blas: bool) -> float:
    """Seconds for ``rows`` rows, 3 CG steps from zero."""
    x = np.zeros((rows, d), np.float32)
    objective = np.empty(rows)
    with numba.parallel_chunksize(1), threadpool_limits(1, "blas"):
        return timed(lambda: kernels.cg_solve(*fixed, x, STEPS, 0.0, objective, blas))[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--factors", default="512,1024,2048,2560")
    parser.add_argument("--rows", type=int, default=8192)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("| factors | kernel | seconds | GFLOP/s of Gramian products |\n|---|---|---|---|")
    for d in (int(f) for f in args.factors.split(",")):
        other = rng.standard_normal((N_ITEMS, d), dtype=np.float32) * np.float32(0.01)
        density = PER_ROW / N_ITEMS
        matrix = sp.random(args.rows, N_ITEMS, density, "csr", np.float32, random_state=rng)
        matrix.data[:] = 1.0
        gram = kernels.gramian(other, np.ones(N_ITEMS, np.float32))
        scale = np.ones(args.rows, np.float32)
        reg = np.full(args.rows, 0.1, np.float32)
        fixed = (matrix.indptr, matrix.indices, matrix.data, other, gram, scale, reg)
        for blas in (False, True):
            solve(fixed, 64, d, blas)  # compile
            seconds = min(solve(fixed, args.rows, d, blas) for _ in range(2))
            gflops = 2 * args.rows * d * d * (STEPS + 1) / seconds / 1e9
            kind = "BLAS" if blas else "tiled"
            print(f"| {d} | {kind} | {seconds:.3f} | {gflops:.0f} |", flush=True)


if __name__ == "__main__":
    main()
