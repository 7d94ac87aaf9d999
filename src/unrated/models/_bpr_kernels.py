"""Numba hot loop of ``bpr``: deterministic stratified SGD over sampled triples; no API here."""

from __future__ import annotations

import numba
import numpy as np

from unrated.models._sgd_kernels import sigmoid, softplus


@numba.njit(cache=True)
def _round_robin(blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Round and slot of every pair of 2S item blocks (the circle method).

    Each round's S pairs are disjoint; a diagonal pair takes round 0, with its partner.
    """
    rounds = np.empty((blocks, blocks), np.int64)
    slots = np.empty((blocks, blocks), np.int64)
    ring = np.arange(blocks)
    for r in range(blocks - 1):
        for m in range(blocks // 2):
            a, c = ring[m], ring[blocks - 1 - m]
            rounds[a, c] = rounds[c, a] = r
            slots[a, c] = slots[c, a] = m
            if r == 0:
                rounds[a, a] = rounds[c, c] = 0
                slots[a, a] = slots[c, c] = m
        last = ring[blocks - 1]
        for i in range(blocks - 1, 1, -1):
            ring[i] = ring[i - 1]
        ring[1] = last
    return rounds, slots


@numba.njit(parallel=True, fastmath=True, cache=True)
def bpr_epoch(
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    item_bias: np.ndarray,
    users: np.ndarray,
    positives: np.ndarray,
    negatives: np.ndarray,
    user_block: np.ndarray,
    item_block: np.ndarray,
    slots: int,
    learning_rate: float,
    regularization: float,
) -> float:
    """One epoch of BPR SGD over the triples (users[t], positives[t], negatives[t, k]).

    Deterministic parallel SGD, stratified as in DSGD (Gemulla et al. 2011): users fall in
    ``slots`` blocks and items in 2·slots blocks; a sub-epoch runs ``slots`` strata at once,
    each with its own user block and its own pair of item blocks, so no two threads ever
    touch the same row. Within a stratum, triples keep the (random) order given.
    Returns the summed loss -log σ(x_uij).
    """
    n_triples = len(users) * negatives.shape[1]
    n_neg = negatives.shape[1]
    f = user_factors.shape[1]
    rounds, pair_slots = _round_robin(2 * slots)
    n_strata = (2 * slots - 1) * slots * slots
    keys = np.empty(n_triples, np.int64)
    count = np.zeros(n_strata + 1, np.int64)
    for t in range(n_triples):
        row, k = t // n_neg, t % n_neg
        bi, bj = item_block[positives[row]], item_block[negatives[row, k]]
        m = pair_slots[bi, bj]
        sub = rounds[bi, bj] * slots + (user_block[users[row]] - m) % slots
        keys[t] = sub * slots + m
        count[keys[t] + 1] += 1
    for s in range(n_strata):
        count[s + 1] += count[s]
    order = np.empty(n_triples, np.int64)
    fill = count[:-1].copy()
    for t in range(n_triples):
        order[fill[keys[t]]] = t
        fill[keys[t]] += 1
    losses = np.zeros(slots, np.float64)
    for sub in range((2 * slots - 1) * slots):
        for m in numba.prange(slots):
            stratum = sub * slots + m
            old = np.empty(f, np.float32)
            for o in range(count[stratum], count[stratum + 1]):
                row, k = order[o] // n_neg, order[o] % n_neg
                u, i, j = users[row], positives[row], negatives[row, k]
                x = item_bias[i] - item_bias[j]
                for d in range(f):
                    x += user_factors[u, d] * (item_factors[i, d] - item_factors[j, d])
                z = sigmoid(-x)
                losses[m] += softplus(-x)
                for d in range(f):
                    old[d] = user_factors[u, d]
                    user_factors[u, d] += learning_rate * (
                        z * (item_factors[i, d] - item_factors[j, d])
                        - regularization * user_factors[u, d]
                    )
                for d in range(f):
                    item_factors[i, d] += learning_rate * (
                        z * old[d] - regularization * item_factors[i, d]
                    )
                    item_factors[j, d] += learning_rate * (
                        -z * old[d] - regularization * item_factors[j, d]
                    )
                item_bias[i] += learning_rate * (z - regularization * item_bias[i])
                item_bias[j] += learning_rate * (-z - regularization * item_bias[j])
    return float(losses.sum())
