"""Numba kernels of iALS: per-row conjugate gradient and Cholesky solves (internal, no API).

Every kernel solves, for each row r of a CSR matrix (a user's items, or an item's users),

    A_r x_r = b_r,   A_r = G + reg_r I + Σ_j c_rj y_j y_jᵀ,   b_r = Σ_j c_rj y_j,

where G = α0 YᵀY is the (already scaled) Gramian of the fixed side Y, and writes the row's
objective x'A x − 2 b'x + Σ_j c_rj (its share of the training loss) to ``objective``.
Rows are independent and each is computed by one thread in a fixed order, so results never
depend on thread scheduling, nor on which other rows are solved in the same call.
"""

from __future__ import annotations

import numba
import numpy as np

_JIT = {"parallel": True, "cache": True, "fastmath": True, "nogil": True}


@numba.njit(cache=True, fastmath=True, inline="always")
def _dot(a, b):  # type: ignore[no-untyped-def]
    total = np.float32(0.0)
    for k in range(a.shape[0]):
        total += a[k] * b[k]
    return total


@numba.njit(cache=True, fastmath=True, inline="always")
def _apply(indptr, indices, conf, other, gram, reg, row, v, out):  # type: ignore[no-untyped-def]
    """out = A_row v."""
    d = v.shape[0]
    for i in range(d):
        out[i] = _dot(gram[i], v) + reg * v[i]
    for idx in range(indptr[row], indptr[row + 1]):
        y = other[indices[idx]]
        t = conf[idx] * _dot(y, v)
        for k in range(d):
            out[k] += t * y[k]


@numba.njit(**_JIT)
def cg_solve(indptr, indices, conf, other, gram, reg, x, steps, tolerance, objective):  # type: ignore[no-untyped-def]
    """Conjugate gradient from the current rows of ``x`` (updated in place), per row.

    Stops after ``steps`` steps, or once ‖r‖ ≤ tolerance·‖b‖ (tolerance 0: never early).
    """
    n_rows, d = x.shape
    for row in numba.prange(n_rows):
        xr = x[row]
        b = np.zeros(d, dtype=np.float32)
        r = np.empty(d, dtype=np.float32)
        ap = np.empty(d, dtype=np.float32)
        mass = np.float32(0.0)
        for idx in range(indptr[row], indptr[row + 1]):
            y = other[indices[idx]]
            c = conf[idx]
            mass += c
            for k in range(d):
                b[k] += c * y[k]
        _apply(indptr, indices, conf, other, gram, reg[row], row, xr, ap)
        for k in range(d):
            r[k] = b[k] - ap[k]
        p = r.copy()
        rs = _dot(r, r)
        limit = tolerance * tolerance * _dot(b, b)
        for _ in range(steps):
            if rs <= limit or rs == 0.0:
                break
            _apply(indptr, indices, conf, other, gram, reg[row], row, p, ap)
            pap = _dot(p, ap)
            if not pap > 0.0:
                break
            step = rs / pap
            for k in range(d):
                xr[k] += step * p[k]
                r[k] -= step * ap[k]
            rs_new = _dot(r, r)
            beta = rs_new / rs
            for k in range(d):
                p[k] = r[k] + beta * p[k]
            rs = rs_new
        # x'Ax - 2b'x + C = -b'x - x'r + C, since r = b - Ax.
        objective[row] = mass - _dot(b, xr) - _dot(xr, r)


@numba.njit(**_JIT)
def cholesky_solve(indptr, indices, conf, other, gram, reg, x, objective):  # type: ignore[no-untyped-def]
    """Exact solve of every row by Cholesky factorisation (float64), into ``x``."""
    n_rows, d = x.shape
    for row in numba.prange(n_rows):
        a = np.empty((d, d), dtype=np.float64)
        rhs = np.zeros(d, dtype=np.float64)
        mass = 0.0
        for i in range(d):
            for k in range(i + 1):
                a[i, k] = gram[i, k]
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


@numba.njit(**_JIT)
def gramian(y, scale):  # type: ignore[no-untyped-def]
    """scale · YᵀY in float32, accumulated in float64 in a fixed order (no BLAS threads)."""
    n, d = y.shape
    band = 16
    out = np.empty((d, d), dtype=np.float32)
    for block in numba.prange((d + band - 1) // band):
        lo = block * band
        hi = min(lo + band, d)
        acc = np.zeros((hi - lo, d), dtype=np.float64)
        for row in range(n):
            yr = y[row]
            for i in range(lo, hi):
                a = np.float64(yr[i])
                for k in range(d):
                    acc[i - lo, k] += a * yr[k]
        for i in range(lo, hi):
            for k in range(d):
                out[i, k] = np.float32(scale * acc[i - lo, k])
    return out
