"""Sampled metrics (the NCF protocol): each held-out item ranked among 100 random items.

Only on request, and always labelled "sampled": Krichene & Rendle (KDD 2020, "On Sampled
Metrics for Item Recommendation") show that they can rank models differently from the
full-catalogue metrics they are meant to approximate.
"""

from __future__ import annotations

import numpy as np

from unrated.data.interactions import Interactions, reindex
from unrated.models.base import Recommender

WARNING = (
    "sampled metrics rank each held-out item among a few random items only; they can order "
    "models differently from full-catalogue ranking (Krichene & Rendle, KDD 2020)"
)


def sampled_metrics(
    model: Recommender, test: Interactions, *, negatives: int = 100, k: int = 10, seed: int = 0
) -> dict[str, float]:
    """Mean HitRate@k and NDCG@k of each test pair ranked among ``negatives`` sampled items.

    Negatives are drawn uniformly from the items the user has in neither train nor test.
    Ties with the held-out item count against it.
    """
    aligned, _ = reindex(test, model.users_, model.items_)
    relevant = aligned.matrix
    known = (model.seen_ + relevant).tocsr()
    rng = np.random.default_rng(seed)
    n_items = len(model.items_)
    users = np.flatnonzero(np.diff(relevant.indptr) > 0)
    hits, gains = [], []
    for start in range(0, len(users), 256):
        batch = users[start : start + 256]
        scores = model.score_positions(batch)
        for row, user in enumerate(batch):
            positives = relevant.indices[relevant.indptr[user] : relevant.indptr[user + 1]]
            excluded = known.indices[known.indptr[user] : known.indptr[user + 1]]
            pool = np.setdiff1d(np.arange(n_items), excluded, assume_unique=True)
            if len(pool) == 0:
                continue
            replace = len(pool) < negatives
            sample = np.stack([rng.choice(pool, negatives, replace=replace) for _ in positives])
            rank = (scores[row, sample] >= scores[row, positives][:, None]).sum(axis=1)
            hits.append(rank < k)
            gains.append(np.where(rank < k, 1.0 / np.log2(rank + 2.0), 0.0))
    hit = np.concatenate(hits) if hits else np.zeros(0)
    gain = np.concatenate(gains) if gains else np.zeros(0)
    return {
        f"sampled_hit_rate@{k}": float(hit.mean()) if len(hit) else 0.0,
        f"sampled_ndcg@{k}": float(gain.mean()) if len(gain) else 0.0,
    }
