"""EASE: a closed-form item-item model over all the zeros (Steck 2019)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from unrated._checks import check_float, take_array
from unrated._memory import F32, Cost, pairs_cost
from unrated.data.interactions import binary_matrix
from unrated.models._training import FitOptions
from unrated.models.base import BATCH_CELLS, Recommender


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder (Steck, WWW 2019).

    Learns an items × items weight matrix B minimising ‖X − XB‖² + λ‖B‖² with diag(B) = 0,
    over every cell of the binary matrix X (each zero is a negative). Closed form: with
    P = (XᵀX + λI)⁻¹, B = −P / diag(P) column-wise and diag(B) = 0. Scores are X_u B.

    ``regularization`` (λ) defaults to 250, best on MovieLens-100k among 50–1000 (Steck
    reports 200–1000 on larger sets). Memory is one dense float32 items × items matrix
    (plus LAPACK workspace): ``fit`` refuses, before allocating, if it would not fit.
    """

    key = "ease"

    def __init__(self, *, regularization: float = 250.0) -> None:
        self.regularization = regularization

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """λ from 1 to 10,000 on a log scale (Steck's best values lie in 100–1000)."""
        return {"regularization": trial.suggest_float("regularization", 1.0, 1e4, log=True)}

    def _check_params(self) -> None:
        check_float(
            self.regularization, "regularization", type(self).__name__, minimum=0.0, inclusive=False
        )

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """One dense items × items float32 matrix, plus a quarter for LAPACK's workspace."""
        dense = Cost(
            F32 * n_items * n_items * 5 // 4,
            f"a dense {n_items:,} × {n_items:,} float32 matrix",
            "use 'item-knn' or 'ials', or keep fewer items (drop the rarest)",
        )
        return [dense, pairs_cost(nnz, 3 * F32)]

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        n_items = matrix.shape[1]
        binary = binary_matrix(matrix)
        gram = np.empty((n_items, n_items), dtype=np.float32)
        binary_t = binary.T.tocsr()
        columns = max(1, BATCH_CELLS // max(n_items, 1))
        for start in range(0, n_items, columns):
            gram[:, start : start + columns] = (
                binary_t @ binary[:, start : start + columns]
            ).toarray()
        gram[np.diag_indices(n_items)] += np.float32(self.regularization)
        import scipy.linalg  # 0.1 s to import: only when fitting (not to load or serve)

        inverse = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        diagonal = np.diag(inverse).copy()
        inverse /= -diagonal[np.newaxis, :]
        inverse[np.diag_indices(n_items)] = 0.0
        self.weights_ = inverse.astype(np.float32, copy=False)

    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        return np.asarray(binary_matrix(history) @ self.weights_, dtype=np.float32)

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        return np.asarray(self.weights_[item_idx])

    def _explain(self, history: sp.csr_matrix, user_idx: int, item_idx: int) -> np.ndarray:
        return np.asarray(self.weights_[history.indices, item_idx])

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        n_items = len(self.items_)
        self.weights_ = take_array(arrays, "weights", np.float32, (n_items, n_items))
