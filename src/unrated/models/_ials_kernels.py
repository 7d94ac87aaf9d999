"""Numba kernels of iALS: per-row conjugate gradient and Cholesky solves (internal, no API).

Every kernel solves, for each row r of a CSR matrix (a user's items, or an item's users),

    A_r x_r = b_r,   A_r = s_r G + reg_r I + Σ_j c_rj y_j y_jᵀ,   b_r = Σ_j c_rj y_j,

where G = Yᵀ diag(a) Y is the Gramian of the fixed side Y weighted by the unobserved
weights a, and s_r the row's own unobserved weight (1 when the weights are in G). Each
kernel writes the row's objective x'A x − 2 b'x + Σ_j c_rj (its share of the training
loss) to ``objective``.
Rows are independent and each is computed by one thread in a fixed order, so results never
depend on thread scheduling, nor (with ``blas=False``) on which other rows are solved in the
same call. With ``blas=True`` the Gramian products of BLAS_GROUP rows at a time are one
BLAS matrix product (1.9× the tiled kernel's speed at 2,560 factors, benchmarks/ials_kernels.py);
a row's last bits can then depend on the rows beside it, so fold-in of new histories keeps
the tiled kernel.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from threadpoolctl import ThreadpoolController


@numba.njit(cache=True, fastmath=True, inline="always")
def _dot(a: np.ndarray, b: np.ndarray) -> np.float32:
    total = np.float32(0.0)
    for k in range(a.shape[0]):
        total += a[k] * b[k]
    return total


#: Rows solved together by one thread, so that each Gramian row is loaded once per group.
GROUP = 8
#: Rows per BLAS product: enough for single-threaded sgemm to run near its peak.
BLAS_GROUP = 512


@numba.njit(cache=True, fastmath=True, inline="always")
def _dots_2x4(
    u0: np.ndarray,
    u1: np.ndarray,
    g: np.ndarray,
    i: int,
    last: int,
    lo: int,
    hi: int,
    out0: np.ndarray,
    out1: np.ndarray,
) -> None:
    """out_q[i..i+3] = g[i..i+3, lo:hi] · u_q[lo:hi] for q = 0, 1: a register tile.

    Rows past ``last`` repeat row ``last`` and are not stored. Each output is the same
    sequence of operations whatever its position, so results never depend on grouping.
    """
    g0, g1, g2, g3 = g[i], g[min(i + 1, last)], g[min(i + 2, last)], g[min(i + 3, last)]
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = np.float32(0.0)
    for k in range(lo, hi):
        a, b = u0[k], u1[k]
        s00 += g0[k] * a
        s01 += g1[k] * a
        s02 += g2[k] * a
        s03 += g3[k] * a
        s10 += g0[k] * b
        s11 += g1[k] * b
        s12 += g2[k] * b
        s13 += g3[k] * b
    out0[i], out1[i] = s00, s10
    if i + 1 <= last:
        out0[i + 1], out1[i + 1] = s01, s11
    if i + 2 <= last:
        out0[i + 2], out1[i + 2] = s02, s12
    if i + 3 <= last:
        out0[i + 3], out1[i + 3] = s03, s13


@numba.njit(cache=True, fastmath=True, inline="always")
def _apply(
    indptr: np.ndarray,
    indices: np.ndarray,
    conf: np.ndarray,
    other: np.ndarray,
    gram: np.ndarray,
    scale: np.ndarray,
    reg: np.ndarray,
    first: int,
    v: np.ndarray,
    out: np.ndarray,
    active: np.ndarray,
    blas: bool,
) -> None:
    """out[q] = A_(first+q) v[q] for the active rows q of the group (others: garbage)."""
    group, d = v.shape
    if blas:
        np.dot(v, gram, out)  # G is symmetric: v G = (G v)ᵀ
    else:
        scratch = np.empty(d, dtype=np.float32)
        for i in range(0, d, 4):
            for q in range(0, group, 2):
                if q + 1 < group:
                    _dots_2x4(v[q], v[q + 1], gram, i, d - 1, 0, d, out[q], out[q + 1])
                else:  # odd tail: pair the row with itself
                    _dots_2x4(v[q], v[q], gram, i, d - 1, 0, d, out[q], scratch)
    for q in range(group):
        if not active[q]:
            continue
        row = first + q
        for k in range(d):
            out[q, k] = scale[row] * out[q, k] + reg[row] * v[q, k]
        for idx in range(indptr[row], indptr[row + 1]):
            y = other[indices[idx]]
            t = conf[idx] * _dot(y, v[q])
            for k in range(d):
                out[q, k] += t * y[k]


@numba.njit(parallel=True, cache=True, fastmath=True, nogil=True)
def cg_solve(
    indptr: np.ndarray,
    indices: np.ndarray,
    conf: np.ndarray,
    other: np.ndarray,
    gram: np.ndarray,
    scale: np.ndarray,
    reg: np.ndarray,
    x: np.ndarray,
    steps: int,
    tolerance: float,
    objective: np.ndarray,
    blas: bool,
) -> None:
    """Conjugate gradient from the current rows of ``x`` (updated in place), per row.

    Each row stops after ``steps`` steps, or once ‖r‖ ≤ tolerance·‖b‖ (0: never early).
    Rows are taken GROUP (BLAS_GROUP) at a time, but every row follows its own recurrence.
    """
    n_rows, d = x.shape
    width = BLAS_GROUP if blas else GROUP
    n_groups = (n_rows + width - 1) // width
    for group in numba.prange(n_groups):
        first = group * width
        size = min(width, n_rows - first)
        xg = x[first : first + size]
        b = np.zeros((size, d), dtype=np.float32)
        r = np.empty((size, d), dtype=np.float32)
        p = np.empty((size, d), dtype=np.float32)
        ap = np.empty((size, d), dtype=np.float32)
        rs = np.empty(size, dtype=np.float32)
        limit = np.empty(size, dtype=np.float32)
        mass = np.zeros(size, dtype=np.float32)
        active = np.ones(size, dtype=np.bool_)
        for q in range(size):
            for idx in range(indptr[first + q], indptr[first + q + 1]):
                y = other[indices[idx]]
                c = conf[idx]
                mass[q] += c
                for k in range(d):
                    b[q, k] += c * y[k]
        _apply(indptr, indices, conf, other, gram, scale, reg, first, xg, ap, active, blas)
        for q in range(size):
            for k in range(d):
                r[q, k] = b[q, k] - ap[q, k]
                p[q, k] = r[q, k]
            rs[q] = _dot(r[q], r[q])
            limit[q] = tolerance * tolerance * _dot(b[q], b[q])
        for _ in range(steps):
            n_active = 0
            for q in range(size):
                active[q] = active[q] and rs[q] > limit[q] and rs[q] > 0.0
                n_active += active[q]
            if n_active == 0:
                break
            _apply(indptr, indices, conf, other, gram, scale, reg, first, p, ap, active, blas)
            for q in range(size):
                if not active[q]:
                    continue
                pap = _dot(p[q], ap[q])
                if not pap > 0.0:
                    active[q] = False
                    continue
                step = rs[q] / pap
                for k in range(d):
                    xg[q, k] += step * p[q, k]
                    r[q, k] -= step * ap[q, k]
                rs_new = _dot(r[q], r[q])
                beta = rs_new / rs[q]
                for k in range(d):
                    p[q, k] = r[q, k] + beta * p[q, k]
                rs[q] = rs_new
        for q in range(size):
            # x'Ax - 2b'x + C = -b'x - x'r + C, since r = b - Ax.
            objective[first + q] = mass[q] - _dot(b[q], xg[q]) - _dot(xg[q], r[q])


@numba.njit(parallel=True, cache=True, fastmath=True, nogil=True)
def cholesky_solve(
    indptr: np.ndarray,
    indices: np.ndarray,
    conf: np.ndarray,
    other: np.ndarray,
    gram: np.ndarray,
    scale: np.ndarray,
    reg: np.ndarray,
    x: np.ndarray,
    objective: np.ndarray,
) -> None:
    """Exact solve of every row by Cholesky factorisation (float64), into ``x``."""
    n_rows, d = x.shape
    for row in numba.prange(n_rows):
        a = np.empty((d, d), dtype=np.float64)
        rhs = np.zeros(d, dtype=np.float64)
        mass = 0.0
        for i in range(d):
            for k in range(i + 1):
                a[i, k] = scale[row] * gram[i, k]
            a[i, i] += reg[row]
        for idx in range(indptr[row], indptr[row + 1]):
            y = other[indices[idx]]
            c = np.float64(conf[idx])
            mass += c
            for i in range(d):
                cy = c * y[i]
                rhs[i] += cy
                for k in range(i + 1):
                    a[i, k] += cy * y[k]
        b = rhs.copy()
        # In-place lower Cholesky factor L (A = L Lᵀ), then L z = rhs and Lᵀ x = z.
        for j in range(d):
            s = a[j, j]
            for k in range(j):
                s -= a[j, k] * a[j, k]
            s = np.sqrt(max(s, 1e-30))
            a[j, j] = s
            for i in range(j + 1, d):
                t = a[i, j]
                for k in range(j):
                    t -= a[i, k] * a[j, k]
                a[i, j] = t / s
        for i in range(d):
            t = rhs[i]
            for k in range(i):
                t -= a[i, k] * rhs[k]
            rhs[i] = t / a[i, i]
        for i in range(d - 1, -1, -1):
            t = rhs[i]
            for k in range(i + 1, d):
                t -= a[k, i] * rhs[k]
            rhs[i] = t / a[i, i]
        bx = 0.0
        for k in range(d):
            x[row, k] = rhs[k]
            bx += b[k] * rhs[k]
        objective[row] = mass - bx  # at the exact solution x'Ax = b'x


#: Rows per float32 Gramian product; the products are summed in float64.
GRAMIAN_CHUNK = 4096


def gramian(y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Yᵀ diag(weights) Y (float32): BLAS products of GRAMIAN_CHUNK rows, summed in float64.

    Each chunk's ``part.T @ part`` (BLAS syrk: exactly symmetric) runs on one BLAS thread,
    large ones on numba's threads, and the sums in chunk order: the result is the same
    whatever the number of threads. (OpenBLAS's threaded syrk is not: with its Haswell and
    Zen kernels, 1 and 2 threads differ in the last bits of float32.)
    """
    d = y.shape[1]
    total = np.zeros((d, d))
    root = np.sqrt(weights, dtype=np.float32)[:, None]

    def product(start: int) -> np.ndarray:
        part = y[start : start + GRAMIAN_CHUNK] * root[start : start + GRAMIAN_CHUNK]
        square: np.ndarray = part.T @ part
        return square

    starts = range(0, len(y), GRAMIAN_CHUNK)
    workers = min(numba.get_num_threads(), len(starts))
    with _blas_controller().limit(limits=1, user_api="blas"):
        if workers <= 1 or len(y) * d * d < GRAMIAN_PARALLEL_WORK:
            for start in starts:
                total += product(start)
        else:
            with ThreadPoolExecutor(workers) as pool:
                for window in range(0, len(starts), workers):  # hold at most `workers` products
                    for part_product in pool.map(product, starts[window : window + workers]):
                        total += part_product
    return total.astype(np.float32)


#: From this many multiply-adds, a Gramian's chunks go to threads (below, starting them costs more).
GRAMIAN_PARALLEL_WORK = 1 << 28


@functools.cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()  # found once: threadpool_limits looks for BLAS on every call
