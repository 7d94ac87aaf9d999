"""Fold-in for the sampled-negative models: a new user's vector against fixed item factors.

The training objective of ``mf`` and ``bpr`` is a sum over sampled tuples; its expectation
over the sampler is deterministic. For a history P (m items) with K negatives per positive,
drawn from q restricted to the other items (q̃), fold-in minimises, over the user vector w
(and user bias, where the model has one):

* bce:     Σ_{i∈P} softplus(-s_i) + K·m·Σ_{j∉P} q̃_j softplus(s_j)
* mse:     Σ_{i∈P} (s_i - 1)²     + K·m·Σ_{j∉P} q̃_j s_j²
* bpr:     K·Σ_{i∈P} Σ_{j∉P} q̃_j softplus(s_j - s_i)
* softmax: Σ_{i∈P} [log(e^{s_i} + Σ_{j∉P} e^{s_j}) - s_i]   (what logQ-corrected sampled
  softmax estimates; Yi et al. 2019)

plus ``reg``·‖w‖², with s = w·q̂ + b. Each step is a Newton-type step with a fixed
per-user curvature bound (Böhning 1992 for the logistic losses; exact for mse) and a
backtracking line search, so a few steps converge; the objective is convex in w.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.sparse as sp

from unrated.models._sgd_kernels import LOSSES, sigmoid, softplus

#: Fold-in works on blocks of at most this many (row, item) cells.
BLOCK_CELLS = 1 << 22


def fold_in(
    history: sp.csr_matrix,
    item_factors: np.ndarray,
    item_bias: np.ndarray,
    *,
    loss: str,
    negatives: int,
    probabilities: np.ndarray,
    reg_per_positive: float,
    user_bias: bool,
    iterations: int = 30,
) -> tuple[np.ndarray, np.ndarray]:
    """User vectors (rows × factors) and user biases (rows,) for the history rows."""
    n_items, factors = item_factors.shape
    rows = history.shape[0]
    vectors = np.zeros((rows, factors), dtype=np.float32)
    biases = np.zeros(rows, dtype=np.float32)
    step = max(1, BLOCK_CELLS // max(n_items, 1))
    for start in range(0, rows, step):
        block = sp.csr_matrix(history[start : start + step], dtype=np.float64)
        block.sort_indices()
        w = _solve(
            block,
            item_factors,
            item_bias,
            LOSSES.index(loss),
            negatives,
            probabilities,
            reg_per_positive,
            user_bias,
            iterations,
        )
        vectors[start : start + step] = w[:, :factors]
        if user_bias:
            biases[start : start + step] = w[:, factors]
    return vectors, biases


def _solve(
    history: sp.csr_matrix,
    item_factors: np.ndarray,
    item_bias: np.ndarray,
    loss: int,
    negatives: int,
    probabilities: np.ndarray,
    reg_per_positive: float,
    user_bias: bool,
    iterations: int,
) -> np.ndarray:
    q_hat = item_factors.astype(np.float64)
    if user_bias:
        q_hat = np.hstack([q_hat, np.ones((len(q_hat), 1))])
    bias = item_bias.astype(np.float64)
    n_items, width = q_hat.shape
    q = probabilities if loss != 3 else np.full(n_items, 1.0 / n_items)
    gram_q, mean_q = q_hat.T @ (q[:, None] * q_hat), q_hat.T @ q
    counts = np.diff(history.indptr)
    reg = reg_per_positive * counts
    curvature = np.empty((history.shape[0], width, width))
    for r in range(history.shape[0]):
        items = history.indices[history.indptr[r] : history.indptr[r + 1]]
        m, own = len(items), q_hat[items]
        free = max(1.0 - q[items].sum(), 1e-12)
        gram = (gram_q - own.T @ (q[items, None] * own)) / free
        mean = (mean_q - own.T @ q[items]) / free
        if loss == 0:
            h = 0.25 * (own.T @ own + negatives * m * gram)
        elif loss == 1:
            h = 2.0 * (own.T @ own + negatives * m * gram)
        elif loss == 2:
            total = own.sum(axis=0)
            h = (
                0.25
                * negatives
                * (own.T @ own - np.outer(total, mean) - np.outer(mean, total) + m * gram)
            )
        else:
            h = m * (gram - np.outer(mean, mean))
        curvature[r] = h + 2.0 * max(reg[r], 1e-6) * np.eye(width)
    w = np.zeros((history.shape[0], width))
    value, grad = _objective(w, q_hat, bias, history, loss, negatives, probabilities, reg)
    for _ in range(iterations):
        direction = np.linalg.solve(curvature, grad[:, :, None])[:, :, 0]
        slope = np.einsum("rf,rf->r", grad, direction)
        t = np.ones(len(w))
        active = slope > 1e-12 * (1.0 + np.abs(value))
        if not active.any():
            break
        candidate = w.copy()
        for _ in range(12):
            candidate[active] = w[active] - t[active, None] * direction[active]
            new_value, _ = _objective(
                candidate, q_hat, bias, history, loss, negatives, probabilities, reg, rows=active
            )
            failed = active & (new_value > value - 1e-4 * t * slope)
            if not failed.any():
                break
            t[failed] *= 0.5
            active = failed
        w = candidate
        value, grad = _objective(w, q_hat, bias, history, loss, negatives, probabilities, reg)
    return w


def _objective(
    w: np.ndarray,
    q_hat: np.ndarray,
    bias: np.ndarray,
    history: sp.csr_matrix,
    loss: int,
    negatives: int,
    probabilities: np.ndarray,
    reg: np.ndarray,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Objective (rows,) and its gradient (rows × width); only ``rows`` when given."""
    selected = np.arange(len(w)) if rows is None else np.flatnonzero(rows)
    value = np.full(len(w), np.inf)
    grad = np.zeros_like(w)
    if len(selected) == 0:
        return value, grad
    scores = w[selected] @ q_hat.T + bias
    sub = history[selected]
    score_grad = np.empty_like(scores)
    data = np.empty(len(selected))
    _score_loss(scores, sub.indptr, sub.indices, probabilities, loss, negatives, score_grad, data)
    value[selected] = data + reg[selected] * np.einsum("rf,rf->r", w[selected], w[selected])
    grad[selected] = score_grad @ q_hat + 2.0 * reg[selected, None] * w[selected]
    return value, grad


@numba.njit(parallel=True, cache=True)
def _score_loss(
    scores: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    q: np.ndarray,
    loss: int,
    negatives: int,
    grad: np.ndarray,
    value: np.ndarray,
) -> None:
    n_items = scores.shape[1]
    for r in numba.prange(scores.shape[0]):
        start, stop = indptr[r], indptr[r + 1]
        m = stop - start
        own = np.zeros(n_items, np.bool_)
        free = 1.0
        for p in range(start, stop):
            own[indices[p]] = True
            free -= q[indices[p]]
        free = max(free, 1e-12)
        s, g = scores[r], grad[r]
        total = 0.0
        if loss <= 1:
            weight = negatives * m / free
            for j in range(n_items):
                if own[j]:
                    if loss == 0:
                        total += softplus(-s[j])
                        g[j] = -sigmoid(-s[j])
                    else:
                        total += (s[j] - 1.0) ** 2
                        g[j] = 2.0 * (s[j] - 1.0)
                elif loss == 0:
                    total += weight * q[j] * softplus(s[j])
                    g[j] = weight * q[j] * sigmoid(s[j])
                else:
                    total += weight * q[j] * s[j] * s[j]
                    g[j] = 2.0 * weight * q[j] * s[j]
        elif loss == 2:
            weight = negatives / free
            for j in range(n_items):
                g[j] = 0.0
            for p in range(start, stop):
                i = indices[p]
                for j in range(n_items):
                    if not own[j]:
                        x = s[j] - s[i]
                        total += weight * q[j] * softplus(x)
                        d = weight * q[j] * sigmoid(x)
                        g[j] += d
                        g[i] -= d
        else:
            top = -np.inf
            for j in range(n_items):
                top = max(top, s[j])
            rest = 0.0
            for j in range(n_items):
                if not own[j]:
                    rest += math.exp(s[j] - top)
            inverse_sum = 0.0
            for p in range(start, stop):
                i = indices[p]
                z = math.exp(s[i] - top) + rest
                total += math.log(z) + top - s[i]
                inverse_sum += 1.0 / z
                g[i] = math.exp(s[i] - top) / z - 1.0
            for j in range(n_items):
                if not own[j]:
                    g[j] = math.exp(s[j] - top) * inverse_sum
        value[r] = total
