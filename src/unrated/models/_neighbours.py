"""The nearest bought items of each item nobody bought, by features (for ``hybrid``)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from unrated.data.features import empty_rows
from unrated.models._topk import top_k
from unrated.models.base import BATCH_CELLS


def nearest_bought(features: sp.csr_matrix, matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Items × items: each unbought item's ``k`` nearest bought items, weights summing to 1.

    Nearness is the cosine of the unit-length ``features`` rows (> 0 only); an item is
    bought when ``matrix`` (users × items) has a purchase of it. Rows of bought items and of
    items without features are empty.
    """
    n_items = matrix.shape[1]
    bought = np.bincount(matrix.indices, minlength=n_items) > 0
    cold, warm = np.flatnonzero(~bought), np.flatnonzero(bought)
    rows, cols, data = [], [], []
    per_block = max(1, BATCH_CELLS // max(len(warm), 1))
    warm_t = features[warm].T.tocsr()
    for start in range(0, len(cold), per_block):
        block = cold[start : start + per_block]
        scores = np.asarray((features[block] @ warm_t).toarray(), dtype=np.float32)
        scores[scores <= 0] = -np.inf
        idx, values = top_k(scores, k)
        found = idx >= 0
        kept = np.where(found, values, 0)
        weights = kept / np.maximum(kept.sum(axis=1, keepdims=True), 1e-30)
        rows.append(np.repeat(block, found.sum(axis=1)))
        cols.append(warm[idx[found]])
        data.append(weights[found])
    if not rows:
        return empty_rows(n_items, n_items)
    out = sp.csr_matrix(
        (np.concatenate(data).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, n_items),
    )
    out.sort_indices()
    return out
