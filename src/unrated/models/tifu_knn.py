"""TIFU-KNN: a customer's time-decayed basket history, blended with their nearest customers'.

Hu, He, Gao & Zhang, "Modeling Personalized Item Frequency Information for Next-basket
Recommendation" (SIGIR 2020). A customer's baskets, oldest first, are split into ``groups``
consecutive groups (the later groups one basket larger when they do not divide evenly). In a
group of ``s`` baskets the j-th (0-based) counts ``basket_decay ** (s - 1 - j)``; the group is
the mean of its weighted basket vectors (1 for each item in the basket). Group g of G counts
``group_decay ** (G - 1 - g)``, and the customer's vector is the mean of the weighted groups.
The score is ``own_weight`` times that vector plus ``1 - own_weight`` times the mean vector of
the ``neighbors`` customers nearest to it (Euclidean distance, as in the authors' code).

Baskets come from :attr:`Interactions.events` (a basket column, or a customer's lines with one
timestamp). Without them (no basket or time column), and for histories folded in
(``recommend_history``, which carries no baskets), a customer's vector is their item weights
divided by the largest: all their purchases taken as one flat group, the most bought item at 1
as if it were in every basket. The model has its own decay: ``--half-life`` changes only the
weights it excludes and shows, not its vectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from unrated._checks import check_float, check_int, csr_arrays, take_csr
from unrated._memory import F32, F64, Cost, pairs_cost
from unrated.data.events import Events
from unrated.errors import InvalidParameterError
from unrated.models._training import FitOptions
from unrated.models.base import BATCH_CELLS, Recommender


class TifuKNN(Recommender):
    """Temporal item-frequency user-KNN (Hu et al. 2020), for re-buys and next baskets.

    Defaults are the paper's Instacart settings (its grocery data set): 900 neighbours,
    3 groups, within-group decay 0.9, group decay 0.7, own weight 0.9 (the paper's k, m,
    r_b, r_g and alpha). Use it with re-buys allowed (``--include-seen``): most of its score
    sits on the customer's own items.
    """

    key = "tifu-knn"
    #: Made to rank a customer's own items (re-buys); the page's "buy again" uses it.
    ranks_rebuys: ClassVar[bool] = True

    def __init__(
        self,
        *,
        neighbors: int = 900,
        groups: int = 3,
        basket_decay: float = 0.9,
        group_decay: float = 0.7,
        own_weight: float = 0.9,
    ) -> None:
        self.neighbors = neighbors
        self.groups = groups
        self.basket_decay = basket_decay
        self.group_decay = group_decay
        self.own_weight = own_weight

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """Neighbours 10–1000 (log), 1–20 groups, both decays and the own weight in (0, 1]."""
        return {
            "neighbors": trial.suggest_int("neighbors", 10, 1000, log=True),
            "groups": trial.suggest_int("groups", 1, 20),
            "basket_decay": trial.suggest_float("basket_decay", 0.1, 1.0),
            "group_decay": trial.suggest_float("group_decay", 0.1, 1.0),
            "own_weight": trial.suggest_float("own_weight", 0.0, 1.0),
        }

    def _check_params(self) -> None:
        name = type(self).__name__
        check_int(self.neighbors, "neighbors", name)
        check_int(self.groups, "groups", name)
        check_float(self.basket_decay, "basket_decay", name, inclusive=False, maximum=1.0)
        check_float(self.group_decay, "group_decay", name, inclusive=False, maximum=1.0)
        check_float(self.own_weight, "own_weight", name, maximum=1.0)

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """The customers' vectors (and their transpose), a block of customer distances."""
        rows = min(max(1, BATCH_CELLS // max(n_items, 1)), n_users)
        return [
            pairs_cost(nnz, 4 * (F32 + F32)),
            Cost(3 * F64 * rows * n_users, "blocks of customer distances", "keep fewer users"),
        ]

    # ------------------------------------------------------------------ fitting
    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        events: Events | None = options.events
        if events is None or not len(events):
            vectors = flat_vectors(matrix)
        else:
            vectors = basket_vectors(
                events, matrix.shape, self.groups, self.basket_decay, self.group_decay
            )
        self._install(vectors)

    def _update(
        self,
        matrix: sp.csr_matrix,
        users: np.ndarray,
        items: np.ndarray,
        rng: np.random.Generator,
        progress: bool | None,
    ) -> str:
        """Refused: the vectors need every basket in order, and the model keeps none."""
        raise InvalidParameterError(
            "tifu-knn cannot take in new purchases: its vectors need each customer's "
            "earlier baskets, which the model does not keep; fit it again on all the data"
        )

    def _install(self, vectors: sp.csr_matrix) -> None:
        vectors = sp.csr_matrix(vectors, dtype=np.float32)
        vectors.sort_indices()
        self.vectors_ = vectors
        self._transposed = vectors.T.tocsr()
        self._norms = np.asarray(vectors.multiply(vectors).sum(axis=1), dtype=np.float64).ravel()
        item_norms = np.asarray(vectors.multiply(vectors).sum(axis=0), dtype=np.float64).ravel()
        self._item_norms = np.sqrt(item_norms)

    # ------------------------------------------------------------------ scoring
    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        own = self.vectors_[user_idx] if user_idx is not None else flat_vectors(history)
        scores = self.own_weight * own.toarray().astype(np.float64)
        if self.own_weight < 1.0:
            scores += (1.0 - self.own_weight) * self._neighbour_mean(own, user_idx)
        return scores.astype(np.float32)

    def _neighbour_mean(self, own: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        """Per row, the mean vector of the ``neighbors`` nearest customers (never itself)."""
        n_users, n_rows = self.vectors_.shape[0], own.shape[0]
        keep = min(self.neighbors, n_users - (0 if user_idx is None else 1))
        if keep <= 0:
            return np.zeros(own.shape)
        dots = np.asarray((own @ self._transposed).toarray(), dtype=np.float64)
        own_norms = np.asarray(own.multiply(own).sum(axis=1), dtype=np.float64)
        distances = own_norms + self._norms[np.newaxis, :] - 2.0 * dots
        if user_idx is not None:
            distances[np.arange(n_rows), user_idx] = np.inf
        if keep < n_users:
            nearest = np.argpartition(distances, keep - 1, axis=1)[:, :keep]
        else:
            nearest = np.argsort(distances, axis=1, kind="stable")[:, :keep]
        weights = sp.csr_matrix(
            (np.full(n_rows * keep, 1.0 / keep), nearest.ravel(), np.arange(n_rows + 1) * keep),
            shape=(n_rows, n_users),
        )
        return np.asarray((weights @ self.vectors_).toarray(), dtype=np.float64)

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        """Cosine of the items' columns of the customers' vectors."""
        dots = np.asarray((self._transposed[item_idx] @ self.vectors_).toarray(), dtype=np.float64)
        norms = self._item_norms[item_idx][:, np.newaxis] * self._item_norms[np.newaxis, :]
        return (dots / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    def _arrays(self) -> dict[str, np.ndarray]:
        return csr_arrays("vectors", self.vectors_)

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._install(take_csr(arrays, "vectors", (len(self.users_), len(self.items_))))


def flat_vectors(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Each row divided by its largest weight: a history without baskets, as one flat group."""
    rows = sp.csr_matrix(matrix, dtype=np.float64)
    counts = np.diff(rows.indptr)
    tops = np.ones(rows.shape[0])
    filled = counts > 0
    if rows.nnz:
        tops[filled] = np.maximum.reduceat(rows.data, rows.indptr[:-1][filled])
    rows.data = rows.data / np.repeat(np.where(tops > 0, tops, 1.0), counts)
    return rows


def basket_vectors(
    events: Events, shape: tuple[int, int], groups: int, basket_decay: float, group_decay: float
) -> sp.csr_matrix:
    """Each customer's TIFU vector (module docstring) from their baskets, as users × items."""
    n_users, n_items = shape
    starts = events.user_basket_starts(n_users)
    owner = events.basket_users.astype(np.int64)
    count = np.diff(starts)[owner]  # the owner's number of baskets
    position = np.arange(len(owner)) - starts[owner]
    n_groups = np.minimum(count, groups)
    base = count // n_groups
    small = n_groups - count % n_groups  # the first groups, of `base` baskets; then base + 1
    cut = small * base
    late = position >= cut
    group = np.where(late, small + (position - cut) // (base + 1), position // base)
    size = base + late
    first = np.where(late, cut + (group - small) * (base + 1), group * base)
    weight = (
        basket_decay ** (size - 1 - (position - first)).astype(np.float64)
        / size
        * group_decay ** (n_groups - 1 - group).astype(np.float64)
        / n_groups
    )
    # A basket counts an item once, however many lines or units it has.
    lines = np.unique(events.basket.astype(np.int64) * n_items + events.item)
    basket, item = lines // n_items, lines % n_items
    vectors = sp.csr_matrix((weight[basket], (owner[basket], item)), shape=shape)
    vectors.sum_duplicates()
    return vectors
