"""Repeat and explore: how a list that may hold re-buys splits its hits (Li et al., TOIS 2023).

With re-buys allowed, a user's held-out basket mixes *repeat* items (bought before, in the
training history) and *explore* items (new to the user). Following "A Next Basket
Recommendation Reality Check" (Li, Jullien, Ariannezhad, de Rijke; TOIS 2023), per user:

- ``repeat_recall@K``: hits among the repeat items / number of repeat items; NaN (left out
  of the mean) for a user whose basket has none.
- ``explore_recall@K``: the same for the explore items.
- ``repeat_share@K``: the share of the listed top-K items that are in the user's history.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from unrated._ranking import hit_matrix

#: The metrics, by the name used in reports, and what they mean.
REPEAT_METRICS = {
    "repeat_recall": "recall on the held-out items the user bought before (users with some)",
    "explore_recall": "recall on the held-out items new to the user (users with some)",
    "repeat_share": "share of the listed items that the user bought before",
}


def repeat_explore(
    ranked: np.ndarray, relevant: sp.csr_matrix, history: sp.csr_matrix, ks: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """Per-user ``repeat_recall@K``, ``explore_recall@K`` and ``repeat_share@K`` for each K.

    Args:
        ranked: (n_users, ≥ max K) item positions, best first, -1 for none.
        relevant: (n_users, n_items) the held-out items of each user.
        history: (n_users, n_items) each user's training items.
        ks: the list lengths.
    """
    hits = hit_matrix(ranked, relevant)
    known = hit_matrix(ranked, history)
    relevant_binary = (relevant > 0).astype(np.float32)
    n_repeat = np.asarray(relevant_binary.multiply(history > 0).sum(axis=1)).ravel()
    n_explore = np.asarray(relevant_binary.sum(axis=1)).ravel() - n_repeat
    out: dict[str, np.ndarray] = {}
    for k in ks:
        repeat_hits = (hits & known)[:, :k].sum(axis=1)
        explore_hits = (hits & ~known)[:, :k].sum(axis=1)
        listed = (ranked[:, :k] >= 0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"repeat_recall@{k}"] = np.where(n_repeat > 0, repeat_hits / n_repeat, np.nan)
            out[f"explore_recall@{k}"] = np.where(n_explore > 0, explore_hits / n_explore, np.nan)
        out[f"repeat_share@{k}"] = known[:, :k].sum(axis=1) / np.maximum(listed, 1)
    return out
