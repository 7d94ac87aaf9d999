"""Content: score an item by how much its features resemble those of the customer's items.

With F the items × features matrix of :mod:`unrated.data.features` (rows of unit length) and
x_u the customer's items (0/1), the score of item i is x_u · F · F_i: the sum of the cosine
similarities of i to each item the customer bought. An item nobody bought scores like any
other, so new products are recommended from what they are. Without any item description
(no items file and no name column) items are described by their buyers instead, which makes
this a cosine item-item model.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from unrated._checks import check_int, csr_arrays, take_csr
from unrated._memory import F32, Cost, pairs_cost
from unrated.data.features import KINDS, FeatureSpace, empty_rows, learn_features, normalised
from unrated.data.interactions import Interactions, binary_matrix
from unrated.errors import DataWarning, InvalidParameterError
from unrated.models._training import FitOptions
from unrated.models.base import BATCH_CELLS, Recommender

if TYPE_CHECKING:
    from unrated.data.catalogue import Catalogue


class Content(Recommender):
    """Content-based: TF-IDF words, one-hot categories and binned numbers of each item.

    ``columns``: the item columns to use, separated by ``;``, each optionally with its kind
    (``title:text;genre:category;price:number``); empty (the default) uses the names and every
    attribute, each of the kind it looks like. ``bins``: quantile bins per number column.
    """

    key = "content"
    #: ``fit`` takes ``items=`` (a Catalogue): ``unrated fit --items`` passes it.
    uses_features: ClassVar[bool] = True

    features_: sp.csr_matrix
    space_: FeatureSpace
    _columns: Mapping[str, np.ndarray] | None = None  # during fit: what describes the items

    def __init__(self, *, columns: str = "", bins: int = 5) -> None:
        self.columns = columns
        self.bins = bins

    def _check_params(self) -> None:
        check_int(self.bins, "bins", type(self).__name__)
        self._chosen_kinds()

    def _chosen_kinds(self) -> dict[str, str]:
        """``columns`` as column -> kind ("" for found by its values)."""
        if not isinstance(self.columns, str):
            raise InvalidParameterError(
                f"The 'columns' parameter of {type(self).__name__} must be text such as "
                f"'title;genre:category'. Got {self.columns!r} instead."
            )
        chosen = {}
        for part in filter(None, (p.strip() for p in self.columns.split(";"))):
            column, _, kind = part.rpartition(":") if ":" in part else (part, "", "")
            if kind and kind not in KINDS:
                raise InvalidParameterError(
                    f"The 'columns' parameter of {type(self).__name__}: kind of {column!r} "
                    f"must be one of {', '.join(KINDS)}. Got {kind!r} instead."
                )
            chosen[column.strip()] = kind
        return chosen

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """Scores of a block of customers, and (described by buyers) the items × users copy."""
        rows = min(max(1, BATCH_CELLS // max(n_items, 1)), max(n_users, 1))
        return [
            Cost(2 * F32 * rows * n_items, "blocks of scores", "keep fewer items"),
            pairs_cost(nnz, 6 * F32),
        ]

    def fit(
        self,
        data: Any,
        *,
        items: Catalogue | None = None,
        checkpoint: str | Path | None = None,
        progress: bool | None = None,
    ) -> Self:
        """Learn from ``data`` and the catalogue ``items`` (its items nobody bought too)."""
        from unrated.data.catalogue import describe
        from unrated.data.io import read_interactions

        data, columns = describe(read_interactions(data), items)
        return self.fit_described(data, columns, progress=progress)

    def fit_described(
        self, data: Interactions, columns: Mapping[str, np.ndarray], *, progress: bool | None
    ) -> Self:
        """Fit on ``data`` whose items the ``columns`` describe (from ``describe``)."""
        self._columns = columns
        try:
            return super().fit(data, progress=progress)
        finally:
            self._columns = None

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        chosen = self._chosen_kinds()
        given = self._columns or {}
        unknown = [c for c in chosen if c not in given]
        if unknown:
            raise InvalidParameterError(
                f"content: no item column {unknown[0]!r}; the items have: "
                f"{', '.join(given) or '(no columns: give an items file)'}"
            )
        columns = {c: v for c, v in given.items() if not chosen or c in chosen}
        kinds = {c: k for c, k in chosen.items() if k}
        self.space_ = learn_features(columns, kinds=kinds, bins=self.bins)
        self.features_ = self._describe(matrix, columns)
        empty = int((np.diff(self.features_.indptr) == 0).sum())
        if len(self.space_) and empty:
            warnings.warn(
                f"{empty:,} of {matrix.shape[1]:,} items have no features (empty text, no "
                f"category, no number in {', '.join(columns)}): content never recommends them",
                DataWarning,
                stacklevel=4,
            )
        self.info_ = {
            "features": f"{len(self.space_):,} from {', '.join(columns)}"
            if len(self.space_)
            else "none given: items are described by their buyers"
        }

    def _describe(self, matrix: sp.csr_matrix, columns: Mapping[str, np.ndarray]) -> sp.csr_matrix:
        """Items × features: from the space, or (no features) each item's buyers."""
        if len(self.space_):
            return self.space_.transform(columns, matrix.shape[1])
        return normalised(sp.csr_matrix(binary_matrix(matrix).T))

    def add_items(self, catalogue: Catalogue) -> int:
        """Describe the items of ``catalogue`` anew; those not known are appended, unbought.

        Returns how many items are new. Features come from the space learnt at fit time
        (words not seen then are ignored). Models described by buyers give new items none.
        """
        from unrated.data.catalogue import describe

        self.check_fitted()
        before = len(self.items_)
        known = Interactions(self.seen_, self.users_, self.items_)
        data, columns = describe(known, catalogue, complete=False)
        n_items = len(data.items)
        features = sp.vstack(
            [self.features_, empty_rows(n_items - before, self.features_.shape[1])],
            format="csr",
            dtype=np.float32,
        )
        if len(self.space_):
            listed = data.items.positions(catalogue.ids, kind="item")
            fresh = self.space_.transform(columns, n_items)
            keep = np.ones(n_items, dtype=np.float32)
            keep[listed] = 0.0
            features = sp.csr_matrix(sp.diags(keep) @ features + sp.diags(1.0 - keep) @ fresh)
            features.eliminate_zeros()
            features.sort_indices()
        self.items_, self.seen_, self.features_ = data.items, data.matrix, features
        self._popularity = None
        pad_descriptions(self)
        return n_items - before

    def shared_features(self, item_id: Any, other_id: Any, k: int = 5) -> list[str]:
        """What the two items have in common, most telling first (at most ``k`` labels)."""
        self.check_fitted()
        a, b = self.items_.positions([item_id, other_id], kind="item").tolist()
        if not len(self.space_):
            return []
        product = self.features_[a].multiply(self.features_[b]).tocsr()
        order = np.argsort(-product.data, kind="stable")[:k]
        return [self.space_.label(int(f)) for f in product.indices[order]]

    def _update(
        self,
        matrix: sp.csr_matrix,
        users: np.ndarray,
        items: np.ndarray,
        rng: np.random.Generator,
        progress: bool | None,
    ) -> str:
        """New items get no features (describe them with ``unrated items``)."""
        if not len(self.space_):
            self.features_ = self._describe(matrix, {})
            return "exact"
        added = matrix.shape[1] - self.features_.shape[0]
        self.features_ = sp.vstack(
            [self.features_, empty_rows(added, self.features_.shape[1])],
            format="csr",
            dtype=np.float32,
        )
        return "exact"

    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        profile = binary_matrix(history) @ self.features_
        return np.asarray((profile @ self.features_.T).toarray(), dtype=np.float32)

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        rows = self.features_[item_idx]
        return np.asarray((rows @ self.features_.T).toarray(), dtype=np.float32)

    def _explain(self, history: sp.csr_matrix, user_idx: int, item_idx: int) -> np.ndarray:
        """Each bought item's feature similarity to ``item_idx``."""
        bought = self.features_[history.indices]
        return np.asarray((bought @ self.features_[item_idx].T).toarray()).ravel()

    def _arrays(self) -> dict[str, np.ndarray]:
        return csr_arrays("features", self.features_) | self.space_.to_arrays("space")

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.space_ = FeatureSpace.from_arrays(arrays, "space")
        width = len(self.space_) or len(self.users_)
        self.features_ = take_csr(arrays, "features", (len(self.items_), width))


def pad_descriptions(model: Recommender) -> None:
    """Give items appended to ``model`` empty names and attributes (if it has any)."""
    n_items = len(model.items_)
    if model.item_names_ is not None:
        names = model.item_names_
        model.item_names_ = np.concatenate([names, np.full(n_items - len(names), "", object)])
    if model.item_attributes_ is not None:
        model.set_item_attributes(
            {
                column: np.concatenate(
                    [
                        values,
                        np.full(
                            n_items - len(values),
                            np.nan if values.dtype == np.float64 else "",
                            values.dtype,
                        ),
                    ]
                )
                for column, values in model.item_attributes_.items()
            }
        )
