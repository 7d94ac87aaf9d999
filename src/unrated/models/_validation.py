"""Early stopping for the SGD models: a validation split carved from train, scored by NDCG@K."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from unrated._ranking import hit_matrix
from unrated._ranking import ndcg_at_k as user_ndcg
from unrated.models._topk import top_k

#: Validation users are capped at this many (a random subset) to keep each check cheap.
MAX_VALIDATION_USERS = 2000
#: Users with fewer training items than this give none to validation.
MIN_ITEMS = 5


def carve_validation(
    matrix: sp.csr_matrix, fraction: float, rng: np.random.Generator
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Hold out ``fraction`` of the items of up to MAX_VALIDATION_USERS random users.

    Returns (train, validation), both users × items with the shape of ``matrix``; the
    validation matrix is empty when no user has MIN_ITEMS items.
    """
    counts = np.diff(matrix.indptr)
    eligible = np.flatnonzero(counts >= MIN_ITEMS)
    if len(eligible) > MAX_VALIDATION_USERS:
        eligible = np.sort(rng.choice(eligible, MAX_VALIDATION_USERS, replace=False))
    chosen = np.zeros(matrix.shape[0], dtype=bool)
    chosen[eligible] = True
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    order = np.lexsort((rng.random(matrix.nnz), rows))
    rank = np.empty(matrix.nnz, dtype=np.int64)
    rank[order] = np.arange(matrix.nnz) - np.repeat(matrix.indptr[:-1], counts)
    n_held = np.where(chosen, np.maximum(1, np.round(fraction * counts)), 0)
    held = rank < n_held[rows]
    return _subset(matrix, ~held), _subset(matrix, held)


def _subset(matrix: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    out = sp.csr_matrix(
        (matrix.data[keep], (rows[keep], matrix.indices[keep])),
        shape=matrix.shape,
        dtype=np.float32,
    )
    out.sort_indices()
    return out


def ndcg_at_k(
    scores: Callable[[np.ndarray], np.ndarray],
    train: sp.csr_matrix,
    valid: sp.csr_matrix,
    k: int = 20,
) -> float:
    """Mean NDCG@k over users with validation items; ``scores(users)`` gives their score rows.

    Full-catalogue ranking with training items excluded, scored as in evaluation.
    """
    users = np.flatnonzero(np.diff(valid.indptr))
    if len(users) == 0:
        return 0.0
    values = []
    step = max(1, (1 << 24) // max(train.shape[1], 1))
    for start in range(0, len(users), step):
        batch = users[start : start + step]
        block = np.array(scores(batch), dtype=np.float32)
        ranked, _ = top_k(block, k, excluded=train[batch])
        truth = valid[batch]
        hits = hit_matrix(ranked, truth)
        values.append(user_ndcg(hits, np.diff(truth.indptr), ranked.shape[1]))
    return float(np.concatenate(values).mean())


@dataclass
class EarlyStopping:
    """Keeps the best snapshot by validation score; says when ``patience`` checks gave none."""

    patience: int
    best_score: float = -np.inf
    best_epoch: int = 0
    best_state: dict[str, np.ndarray] = field(default_factory=dict)
    scores: list[float] = field(default_factory=list)

    def update(
        self, epoch: int, score: float, snapshot: Callable[[], dict[str, np.ndarray]]
    ) -> bool:
        """Record ``score`` for ``epoch`` (1-based); True when training should stop."""
        self.scores.append(score)
        if score > self.best_score:
            self.best_score, self.best_epoch, self.best_state = score, epoch, snapshot()
        return epoch - self.best_epoch >= self.patience

    def arrays(
        self, epochs: int, tables: Callable[[], Mapping[str, np.ndarray]]
    ) -> dict[str, np.ndarray]:
        """The state as arrays, for a checkpoint; ``tables()`` stands in for a missing best."""
        scores = np.full(epochs, np.nan)
        scores[: len(self.scores)] = self.scores
        progress = [self.best_score, self.best_epoch, len(self.scores)]
        best = self.best_state or tables()
        return {
            "stopping.progress": np.array(progress, dtype=np.float64),
            "stopping.scores": scores,
        } | {f"stopping.best.{name}": array for name, array in best.items()}

    def restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Continue from the state :meth:`arrays` gave."""
        best_score, best_epoch, count = arrays["stopping.progress"].tolist()
        self.best_score, self.best_epoch = best_score, int(best_epoch)
        self.scores = arrays["stopping.scores"][: int(count)].tolist()
        prefix = "stopping.best."
        best = {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}
        self.best_state = best if self.best_epoch > 0 else {}
