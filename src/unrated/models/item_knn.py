"""ItemKNN: score an item by its similarity to the items in the user's history."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from unrated._checks import check_choice, check_float, check_int, csr_arrays, take_csr
from unrated.models._topk import top_k
from unrated.models.base import BATCH_CELLS, Recommender

SIMILARITIES = ("cosine", "bm25")


class ItemKNN(Recommender):
    """Item-item nearest neighbours (Sarwar et al. 2001; Deshpande & Karypis 2004).

    Each item keeps its ``neighbors`` most similar items; a user's score for item j is
    the sum of the similarities to j of the items in their history. Similarity between
    item columns x_i, x_j of the binary users × items matrix:

    * ``cosine``: x_i·x_j / (‖x_i‖ ‖x_j‖ + shrinkage).
    * ``bm25``: dot product of BM25-weighted item vectors (Robertson & Zaragoza 2009, as
      used by the ``implicit`` package): an item is a document whose terms are its users,
      so heavy users weigh less (idf = log(n_items / (1 + items of user))) and popular
      items' vectors are length-normalised (``bm25_b``) and saturated (``bm25_k1``).

    Defaults (cosine, 100 neighbours) were picked on MovieLens-100k and Gowalla; see
    benchmarks/README.md.
    """

    key = "item-knn"

    def __init__(
        self,
        *,
        neighbors: int = 100,
        similarity: str = "cosine",
        shrinkage: float = 0.0,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
    ) -> None:
        self.neighbors = neighbors
        self.similarity = similarity
        self.shrinkage = shrinkage
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b

    def _check_params(self) -> None:
        name = type(self).__name__
        check_int(self.neighbors, "neighbors", name)
        check_choice(self.similarity, "similarity", name, SIMILARITIES)
        check_float(self.shrinkage, "shrinkage", name)
        check_float(self.bm25_k1, "bm25_k1", name)
        check_float(self.bm25_b, "bm25_b", name, maximum=1.0)

    def _item_vectors(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """Items × users matrix whose row dot products are the chosen similarity."""
        items = matrix.T.tocsr().astype(np.float32)
        items.data[:] = 1.0
        if self.similarity == "bm25":
            n_items = items.shape[0]
            idf = np.log(n_items / (1.0 + np.bincount(items.indices, minlength=items.shape[1])))
            lengths = np.diff(items.indptr).astype(np.float64)
            norm = (1.0 - self.bm25_b) + self.bm25_b * lengths / max(lengths.mean(), 1e-12)
            rows = np.repeat(np.arange(n_items), np.diff(items.indptr))
            tf = items.data
            items.data = ((tf * (self.bm25_k1 + 1.0)) / (self.bm25_k1 * norm[rows] + tf)
                          * np.maximum(idf[items.indices], 0.0)).astype(np.float32)
            return items
        norms = np.sqrt(np.asarray(items.multiply(items).sum(axis=1)).ravel())
        scale = 1.0 / np.sqrt(norms * norms + self.shrinkage * norms + 1e-12)
        # With shrinkage s the dot product becomes x_i·x_j / sqrt((|x_i|²+s|x_i|)(|x_j|²+s|x_j|)).
        return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ items)

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator) -> None:
        vectors = self._item_vectors(matrix)
        n_items = vectors.shape[0]
        keep = min(self.neighbors, max(n_items - 1, 1))
        transposed = vectors.T.tocsr()
        rows_per_block = max(1, BATCH_CELLS // max(n_items, 1))
        indices, data = [], []
        for start in range(0, n_items, rows_per_block):
            stop = min(start + rows_per_block, n_items)
            block = (vectors[start:stop] @ transposed).toarray()
            block[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # never itself
            block[block <= 0] = -np.inf
            idx, values = top_k(block, keep)
            indices.append(idx)
            data.append(values)
        idx_all, values_all = np.concatenate(indices), np.concatenate(data)
        valid = idx_all >= 0
        indptr = np.zeros(n_items + 1, dtype=np.int64)
        np.cumsum(valid.sum(axis=1), out=indptr[1:])
        weights = sp.csr_matrix(
            (values_all[valid], idx_all[valid].astype(np.int32), indptr), shape=(n_items, n_items)
        )
        weights.sort_indices()
        self.weights_ = weights

    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        binary = history.copy()
        binary.data[:] = 1.0
        return np.asarray((binary @ self.weights_).toarray(), dtype=np.float32)

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        return np.asarray(self.weights_[item_idx].toarray(), dtype=np.float32)

    def _explain(self, history: sp.csr_matrix, user_idx: int, item_idx: int) -> np.ndarray:
        return np.asarray(self.weights_[history.indices, item_idx].toarray()).ravel()

    def _arrays(self) -> dict[str, np.ndarray]:
        return csr_arrays("weights", self.weights_)

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        n_items = len(self.items_)
        self.weights_ = take_csr(arrays, "weights", (n_items, n_items))
