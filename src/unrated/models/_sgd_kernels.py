"""Numba hot loop of ``mf`` on CPU, and the loss helpers shared with fold-in; no API here.

The kernel is deterministic for a given input and independent of the thread count:
every parallel loop writes rows that no other iteration of the same loop touches.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: Loss codes shared with the torch kernel and fold-in.
LOSSES = ("bce", "mse", "bpr", "softmax")
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


@numba.njit(inline="always")
def softplus(x: float) -> float:
    """log(1 + e^x), stable."""
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


@numba.njit(inline="always")
def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), stable."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@numba.njit(inline="always")
def _score_gradients(s: np.ndarray, g: np.ndarray, loss: int) -> float:
    """D loss / d s for one tuple (positive at 0, negatives after); returns the loss.

    For softmax, ``s`` must already hold the logQ-corrected logits.
    """
    k1 = len(s)
    value = 0.0
    if loss == 0:  # binary cross-entropy
        g[0] = sigmoid(s[0]) - 1.0
        value = softplus(-s[0])
        for k in range(1, k1):
            g[k] = sigmoid(s[k])
            value += softplus(s[k])
    elif loss == 1:  # squared error against 1 / 0
        g[0] = 2.0 * (s[0] - 1.0)
        value = (s[0] - 1.0) ** 2
        for k in range(1, k1):
            g[k] = 2.0 * s[k]
            value += s[k] * s[k]
    elif loss == 2:  # bpr: -log sigmoid(s_pos - s_neg) per negative
        total = 0.0
        for k in range(1, k1):
            gk = sigmoid(s[k] - s[0])
            g[k] = gk
            total += gk
            value += softplus(s[k] - s[0])
        g[0] = -total
    else:  # sampled softmax
        top = s[0]
        for k in range(1, k1):
            top = max(top, s[k])
        z = 0.0
        for k in range(k1):
            g[k] = math.exp(s[k] - top)
            z += g[k]
        for k in range(k1):
            g[k] /= z
        g[0] -= 1.0
        value = top + math.log(z) - s[0]
    return value


@numba.njit(inline="always")
def _adam_row(
    row: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, step_size: float
) -> None:
    """Lazy Adam on one row (as torch.optim.SparseAdam): only rows with a gradient move."""
    b1, b2, eps, size = np.float32(BETA1), np.float32(BETA2), np.float32(EPS), np.float32(step_size)
    c1, c2 = np.float32(1.0 - BETA1), np.float32(1.0 - BETA2)
    for d in range(len(row)):  # float32 throughout, so that the loop runs in SIMD lanes
        m[d] = b1 * m[d] + c1 * grad[d]
        v[d] = b2 * v[d] + c2 * grad[d] * grad[d]
        row[d] -= size * m[d] / (np.sqrt(v[d]) + eps)


@numba.njit(inline="always")
def _adam_one(
    values: np.ndarray, m: np.ndarray, v: np.ndarray, at: int, grad: float, step_size: float
) -> None:
    """Lazy Adam on one scalar parameter ``values[at]`` (a bias)."""
    m[at] = BETA1 * m[at] + (1.0 - BETA1) * grad
    v[at] = BETA2 * v[at] + (1.0 - BETA2) * grad * grad
    values[at] -= step_size * m[at] / (math.sqrt(v[at]) + EPS)


@numba.njit(parallel=True, fastmath=True, cache=True)
def mf_epoch(
    params: tuple[np.ndarray, ...],
    state: tuple[np.ndarray, ...],
    step: int,
    indptr: np.ndarray,
    items: np.ndarray,
    negatives: np.ndarray,
    log_q: np.ndarray,
    user_log_free: np.ndarray,
    order: np.ndarray,
    batch_starts: np.ndarray,
    loss: int,
    learning_rate: float,
    regularization: float,
    scratch: np.ndarray,
) -> tuple[int, float]:
    """One epoch of mini-batch lazy Adam over user-grouped batches; returns (step, loss sum).

    A batch is the positives of users ``order[batch_starts[b]:batch_starts[b+1]]``, each with
    its negatives. Gradients of the summed loss are taken at the batch's start (as autograd
    would), then each touched user and item row takes one Adam step. ``log_q`` and
    ``user_log_free`` are the softmax logQ terms log(K q_j) and log(1 - q(P_u)).
    ``scratch`` is (threads, factors) float32 work space, one row per thread.
    """
    U, V, bu, bv = params
    mU, vU, mV, vV, mbu, vbu, mbv, vbv = state
    n_items, f = V.shape
    k1 = negatives.shape[1] + 1
    reg2 = 2.0 * regularization
    reg2_32 = np.float32(reg2)
    n_batches = len(batch_starts) - 1
    rows_max, users_max = 1, 1
    for b in range(n_batches):
        users_max = max(users_max, batch_starts[b + 1] - batch_starts[b])
        total = 0
        for t in range(batch_starts[b], batch_starts[b + 1]):
            total += indptr[order[t] + 1] - indptr[order[t]]
        rows_max = max(rows_max, total)
    g_rows = np.empty((rows_max, k1), np.float32)
    row_user = np.empty(rows_max, np.int64)
    row_pos = np.empty(rows_max, np.int64)
    g_users = np.empty((users_max, f + 1), np.float32)
    user_loss = np.empty(users_max, np.float64)
    starts = np.empty(users_max + 1, np.int64)
    count = np.empty(n_items + 1, np.int64)
    occurrences = np.empty(rows_max * k1, np.int64)
    loss_sum = 0.0
    for b in range(n_batches):
        step += 1
        step_size = learning_rate * math.sqrt(1.0 - BETA2**step) / (1.0 - BETA1**step)
        first, n_users = batch_starts[b], batch_starts[b + 1] - batch_starts[b]
        starts[0] = 0
        for t in range(n_users):
            u = order[first + t]
            starts[t + 1] = starts[t] + indptr[u + 1] - indptr[u]
            for p in range(indptr[u], indptr[u + 1]):
                row_user[starts[t] + p - indptr[u]] = u
                row_pos[starts[t] + p - indptr[u]] = p
        # 1. scores and gradients at the batch start; user gradients (rows unique per batch)
        for t in numba.prange(n_users):
            u = order[first + t]
            s = np.empty(k1, np.float64)
            g = np.empty(k1, np.float64)
            grad = np.zeros(f + 1, np.float32)
            value = 0.0
            for r in range(starts[t], starts[t + 1]):
                p = row_pos[r]
                for k in range(k1):
                    j = items[p] if k == 0 else negatives[p, k - 1]
                    acc = bu[u] + bv[j]  # float32, SIMD-friendly
                    for d in range(f):
                        acc += U[u, d] * V[j, d]
                    s[k] = acc
                    if loss == 3 and k > 0:
                        s[k] -= log_q[j] - user_log_free[u]
                value += _score_gradients(s, g, loss)
                for k in range(k1):
                    j = items[p] if k == 0 else negatives[p, k - 1]
                    gk = np.float32(g[k])
                    g_rows[r, k] = gk
                    for d in range(f):
                        grad[d] += gk * V[j, d]
                    grad[f] += gk
                for d in range(f):
                    grad[d] += reg2_32 * U[u, d]
                grad[f] += reg2_32 * bu[u]
            g_users[t] = grad
            user_loss[t] = value
        # 2. items: counting sort of the batch's (row, slot) occurrences by item, then one
        #    Adam step per touched item (users still hold their batch-start values)
        n_rows = starts[n_users]
        count[:] = 0
        for r in range(n_rows):
            p = row_pos[r]
            count[items[p] + 1] += 1
            for k in range(1, k1):
                count[negatives[p, k - 1] + 1] += 1
        for j in range(n_items):
            count[j + 1] += count[j]
        fill = count[:-1].copy()
        for r in range(n_rows):
            p = row_pos[r]
            for k in range(k1):
                j = items[p] if k == 0 else negatives[p, k - 1]
                occurrences[fill[j]] = r * k1 + k
                fill[j] += 1
        for j in numba.prange(n_items):
            if count[j] == count[j + 1]:
                continue
            grad = scratch[numba.get_thread_id()]  # type: ignore[attr-defined]
            decay = np.float32((count[j + 1] - count[j]) * reg2)
            for d in range(f):
                grad[d] = decay * V[j, d]
            bias_grad = decay * bv[j]
            for o in range(count[j], count[j + 1]):
                r, k = occurrences[o] // k1, occurrences[o] % k1
                gk = g_rows[r, k]
                u = row_user[r]
                for d in range(f):
                    grad[d] += gk * U[u, d]
                bias_grad += gk
            _adam_row(V[j], grad, mV[j], vV[j], step_size)
            _adam_one(bv, mbv, vbv, j, bias_grad, step_size)
        # 3. users
        for t in numba.prange(n_users):
            u = order[first + t]
            _adam_row(U[u], g_users[t, :f], mU[u], vU[u], step_size)
            if loss <= 1:  # bpr and softmax are blind to a user bias: leave it at 0
                _adam_one(bu, mbu, vbu, u, g_users[t, f], step_size)
        for t in range(n_users):
            loss_sum += user_loss[t]
    return step, loss_sum
