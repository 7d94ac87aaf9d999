"""Hybrid: a collaborative model's scores for bought items, carried to new ones by features.

``hybrid:base=ials`` fits the base model (any registered model, its own parameters separated
by ``;`` as in ``repeat``) on the purchases and the :class:`~unrated.models.content.Content`
model on the item features. Items with purchases keep the base model's scores exactly, so
warm items lose nothing. An item nobody bought (a new product) gets

    s_ui = cold_weight * Σ_j w_ij s_uj,   w_ij = cos(F_i, F_j) / Σ_j' cos(F_i, F_j')

over its ``neighbors`` most similar bought items j by features: the base model's scores of
the products it resembles, on the base model's own scale, so warm and cold items are ranked
together. For a factor model this gives the new item the similarity-weighted mean of its
neighbours' factors; for item-based models (item-knn, EASE) a bought item's score leaves the
item itself out, so the twin of a customer's only purchase gets little. A ridge regression
from features to iALS item factors was tried instead and measured worse on online-retail's
new products (benchmarks/results/cold_start.md). ``cold_weight`` scales new products' scores:
how much room they get in the lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from unrated._checks import check_float, check_int, csr_arrays, take_array, take_csr
from unrated._memory import Cost
from unrated.data.ids import IdIndex
from unrated.data.interactions import Interactions
from unrated.errors import InvalidParameterError, ModelFileError
from unrated.models._neighbours import nearest_bought
from unrated.models._training import FitOptions
from unrated.models.base import Recommender
from unrated.models.content import Content, pad_descriptions

if TYPE_CHECKING:
    from unrated.data.catalogue import Catalogue

BASE, CONTENT = "base.", "content."
#: Models that cannot be a hybrid's base (they blend other models themselves).
NOT_BASES = ("hybrid", "content", "repeat")


class Hybrid(Recommender):
    """A base model's scores for bought items, their feature neighbours' for new ones.

    ``neighbors`` 20 and ``cold_weight`` 1 by default. On the time splits of
    benchmarks/cold_start.py (the last 90 days held out, new products and old), 1 costs
    nothing on ml-100k (NDCG@20 -0.0003 against iALS alone, p=0.32) and gains a little on
    online-retail (0.112 vs 0.108); 1.5 gains more there (0.130) but costs ml-100k 0.011
    (p=0.002): a shop whose sales lean on new products should try it. ``columns`` and
    ``bins`` as in ``content``. Without item features it is its base model.
    """

    key = "hybrid"
    uses_features: ClassVar[bool] = True

    base_model_: Recommender
    content_model_: Content
    cold_map_: sp.csr_matrix
    #: During fit: the data, the data with the catalogue's items, their columns, checkpoint.
    _given: tuple[Interactions, Interactions, dict[str, np.ndarray], Any] | None = None

    def __init__(
        self,
        *,
        base: str = "ials",
        neighbors: int = 20,
        cold_weight: float = 1.0,
        columns: str = "",
        bins: int = 5,
    ) -> None:
        self.base = base
        self.neighbors = neighbors
        self.cold_weight = cold_weight
        self.columns = columns
        self.bins = bins

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """Neighbours 1–200 (log) and the weight of new items 0.1–2 (the base keeps its spec)."""
        return {
            "neighbors": trial.suggest_int("neighbors", 1, 200, log=True),
            "cold_weight": trial.suggest_float("cold_weight", 0.1, 2.0),
        }

    def _check_params(self) -> None:
        name = type(self).__name__
        check_int(self.neighbors, "neighbors", name)
        check_float(self.cold_weight, "cold_weight", name)
        self._content().check_params()
        self._base_model()

    def _content(self) -> Content:
        return Content(columns=self.columns, bins=self.bins)

    def _base_model(self) -> Recommender:
        """A new base model from ``base`` (``;`` between its parameters)."""
        from unrated.models.registry import make_model, parse_spec

        if not isinstance(self.base, str):
            raise InvalidParameterError(
                f"the 'base' parameter of Hybrid must be a model spec, got {self.base!r}"
            )
        spec = self.base.replace(";", ",")
        if parse_spec(spec)[0] in NOT_BASES:
            raise InvalidParameterError(
                f"the base of a 'hybrid' model must be a collaborative model, not {self.base!r}"
            )
        return make_model(spec)

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """The base model's."""
        return self._base_model()._memory_costs(n_users, n_items, nnz)

    def fit(
        self,
        data: Any,
        *,
        items: Catalogue | None = None,
        checkpoint: str | Path | None = None,
        progress: bool | None = None,
    ) -> Self:
        """Fit the base on ``data``, the content model on ``items`` (new products included)."""
        from unrated.data.catalogue import describe
        from unrated.data.io import read_interactions

        data = read_interactions(data)
        described, columns = describe(data, items)
        self._given = (data, described, columns, checkpoint)
        try:
            return super().fit(described, progress=progress)
        finally:
            self._given = None

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        given = self._given
        if given is None:  # not through fit(): the matrix is all there is
            rows, cols = (IdIndex(np.arange(n)) for n in matrix.shape)
            whole = Interactions(matrix, rows, cols)
            given = (whole, whole, {}, None)
        data, described, columns, checkpoint = given
        self.base_model_ = self._base_model().fit(
            data, checkpoint=checkpoint, progress=options.progress
        )
        self.content_model_ = self._content().fit_described(
            described, columns, progress=options.progress
        )
        self.cold_map_ = nearest_bought(self.content_model_.features_, matrix, self.neighbors)
        self.info_ = {"content": dict(self.content_model_.info_)} | (
            {"base": dict(self.base_model_.info_)} if self.base_model_.info_ else {}
        )

    def add_items(self, catalogue: Catalogue) -> int:
        """Describe the items of ``catalogue`` anew, appending unknown ones; new neighbours."""
        self.check_fitted()
        added = self.content_model_.add_items(catalogue)
        self.items_, self.seen_ = self.content_model_.items_, self.content_model_.seen_
        self.cold_map_ = nearest_bought(self.content_model_.features_, self.seen_, self.neighbors)
        self._popularity = None
        pad_descriptions(self)
        return added

    def update(self, data: Any, *, progress: bool | None = None) -> Self:
        """Take in new purchases: the base model fits again on all of them (see ``_update``)."""
        super().update(data, progress=progress)
        for model in (self.base_model_, self.content_model_):
            model.users_, model.items_, model.seen_ = self.users_, self.items_, self.seen_
        return self

    def _update(
        self,
        matrix: sp.csr_matrix,
        users: np.ndarray,
        items: np.ndarray,
        rng: np.random.Generator,
        progress: bool | None,
    ) -> str:
        self.base_model_ = self._base_model().fit(matrix, progress=progress)
        self.content_model_._update(matrix, users, items, rng, progress)
        self.cold_map_ = nearest_bought(self.content_model_.features_, matrix, self.neighbors)
        return "refit"

    def _cold(self) -> np.ndarray:
        """Positions of the items with neighbours to borrow scores from."""
        return np.flatnonzero(np.diff(self.cold_map_.indptr) > 0)

    def _spread(self, base: np.ndarray, own: sp.csr_matrix | None = None) -> np.ndarray:
        """(rows × items) scores: ``base`` (rows × base items), new items from the map.

        ``own`` (a row's query item, for similar items) counts as the row's best score when
        carried to new items: an item is most like itself, though models give it 0.
        """
        n_base = base.shape[1]
        out = np.zeros((base.shape[0], len(self.items_)), dtype=np.float32)
        out[:, :n_base] = base
        cold = self._cold()
        if len(cold):
            carried = base
            if own is not None:
                carried = base.copy()
                rows, cols = own.nonzero()
                carried[rows, cols] = np.maximum(carried[rows, cols], base.max(axis=1)[rows])
            mapped = self.cold_map_[cold][:, :n_base] @ carried.T
            out[:, cold] = self.cold_weight * np.asarray(mapped, dtype=np.float32).T
        return out

    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        n_base = len(self.base_model_.items_)
        base = self.base_model_._score(history[:, :n_base].tocsr(), user_idx)
        return self._spread(np.asarray(base, dtype=np.float32))

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        """Bought items: the base's similarities (carried to new items); new ones: features'."""
        n_base = len(self.base_model_.items_)
        new = np.isin(item_idx, self._cold()) | (item_idx >= n_base)
        out = np.empty((len(item_idx), len(self.items_)), dtype=np.float32)
        if (~new).any():
            query = item_idx[~new]
            own = sp.csr_matrix(
                (np.ones(len(query), np.float32), (np.arange(len(query)), query)),
                shape=(len(query), n_base),
            )
            out[~new] = self._spread(self.base_model_._similar(query), own)
        if new.any():
            out[new] = self.content_model_._similar(item_idx[new])
        return out

    def _explain(self, history: sp.csr_matrix, user_idx: int, item_idx: int) -> np.ndarray:
        """The base's contributions for bought items; feature similarity for new ones."""
        n_base = len(self.base_model_.items_)
        if item_idx >= n_base or item_idx in set(self._cold().tolist()):
            return self.content_model_._explain(history, user_idx, item_idx)
        return self.base_model_._explain(history[:, :n_base].tocsr(), user_idx, item_idx)

    def shared_features(self, item_id: Any, other_id: Any, k: int = 5) -> list[str]:
        """What the two items have in common (see :meth:`Content.shared_features`)."""
        return self.content_model_.shared_features(item_id, other_id, k)

    def _arrays(self) -> dict[str, np.ndarray]:
        out = {BASE + k: v for k, v in self.base_model_._arrays().items()}
        out |= {CONTENT + k: v for k, v in self.content_model_._arrays().items()}
        out["base_items"] = np.array([len(self.base_model_.items_)], dtype=np.int64)
        return out | csr_arrays("cold_map", self.cold_map_)

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        n_items = len(self.items_)
        n_base = int(take_array(arrays, "base_items", np.int64, (1,))[0])
        if not 0 < n_base <= n_items:
            raise ModelFileError(f"base_items {n_base} is not within the {n_items:,} items")
        try:
            base = self._base_model()
        except InvalidParameterError as error:
            raise ModelFileError(f"the base model: {error}") from None
        self.base_model_ = base.restore(
            users=self.users_,
            items=IdIndex(self.items_.ids[:n_base]),
            seen=self.seen_[:, :n_base].tocsr(),
            arrays={k.removeprefix(BASE): v for k, v in arrays.items() if k.startswith(BASE)},
        )
        self.content_model_ = self._content().restore(
            users=self.users_,
            items=self.items_,
            seen=self.seen_,
            arrays={k.removeprefix(CONTENT): v for k, v in arrays.items() if k.startswith(CONTENT)},
        )
        self.cold_map_ = take_csr(arrays, "cold_map", (n_items, n_items))
