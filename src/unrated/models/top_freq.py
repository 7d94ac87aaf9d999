"""TopFreq: what the customer buys most often, then what everyone buys most (re-buy baseline).

The P-TopFreq / GP-TopFreq baseline of Li et al., "A Next Basket Recommendation Reality
Check" (TOIS 2023): a customer's own items by how often they bought them, filled with the
items bought most often overall. In groceries it is hard to beat. With the weights of
``--half-life`` (:mod:`unrated.data.decay`) the frequencies decay with age: recent purchases
count more. With ``exclude_seen`` (the default) the own items are left out and the list is
the popular fill alone: use it with re-buys allowed (``--include-seen``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from unrated._checks import take_array
from unrated._memory import F64, Cost
from unrated.models._training import FitOptions
from unrated.models.base import Recommender


class TopFreq(Recommender):
    """Scores a user's items by their weight (frequency) first, every other item by its total.

    A bought item scores ``1 + w_ui / max_j w_uj`` (in (1, 2]); any other item
    ``c_i / (max_j c_j + 1)`` (in [0, 1)), where ``c_i`` is the item's summed weight over
    all users. So the user's own items come first, most bought first, then the shop's
    bestsellers. No hyperparameters.
    """

    key = "top-freq"
    #: Made to rank a customer's own items (re-buys); the page's "buy again" uses it.
    ranks_rebuys: ClassVar[bool] = True

    def __init__(self) -> None:
        pass

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """One total per item (no parameter changes it)."""
        return [Cost(F64 * n_items, f"{n_items:,} item totals", "keep fewer items")]

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        totals = np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()
        self.totals_ = totals.astype(np.float32)

    def _fill(self) -> np.ndarray:
        totals = self.totals_.astype(np.float64)
        fill: np.ndarray = totals / (totals.max(initial=0.0) + 1.0)
        return fill

    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        scores = np.tile(self._fill(), (history.shape[0], 1))
        rows = sp.csr_matrix(history, dtype=np.float64)
        counts = np.diff(rows.indptr)
        tops = np.ones(rows.shape[0])
        if rows.nnz:
            tops[counts > 0] = np.maximum.reduceat(rows.data, rows.indptr[:-1][counts > 0])
        own = np.repeat(np.arange(rows.shape[0]), counts)
        scores[own, rows.indices] = 1.0 + rows.data / np.where(tops > 0, tops, 1.0)[own]
        return scores.astype(np.float32)

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        return np.tile(self._fill().astype(np.float32), (len(item_idx), 1))

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"totals": self.totals_}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.totals_ = take_array(arrays, "totals", np.float32, (len(self.items_),))
