"""Popular: recommend what most users have; the floor every other model must beat."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from unrated._checks import take_array
from unrated._memory import F64, Cost
from unrated.models._training import FitOptions
from unrated.models.base import Recommender


class Popular(Recommender):
    """Scores every item by the number of distinct users who interacted with it.

    The same list for everyone (minus what each user already has). Any personalised model
    that does not beat it on a ranking metric has learned nothing useful.
    """

    key = "popular"

    def __init__(self) -> None:
        pass

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """One count per item (no parameter changes it)."""
        return [Cost(F64 * n_items, f"{n_items:,} item counts", "keep fewer items")]

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        self.counts_ = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float32)

    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        return np.broadcast_to(self.counts_, (history.shape[0], len(self.counts_))).copy()

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.counts_, (len(item_idx), len(self.counts_))).copy()

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts_}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.counts_ = take_array(arrays, "counts", np.float32, (len(self.items_),))
