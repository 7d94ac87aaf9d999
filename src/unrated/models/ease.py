"""EASE: a closed-form item-item model over all the zeros (Steck 2019)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from unrated._checks import check_float, take_array
from unrated._memory import F32, F64, Cost, pairs_cost
from unrated.data.interactions import binary_matrix
from unrated.errors import InvalidParameterError
from unrated.models._training import FitOptions
from unrated.models.base import BATCH_CELLS, Recommender

#: The default λ over the mean non-zero eigenvalue of XᵀX (see EASE).
SCALE = 1.8


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder (Steck, WWW 2019).

    Learns an items × items weight matrix B minimising ‖X − XB‖² + λ‖B‖² with diag(B) = 0,
    over every cell of the binary matrix X (each zero is a negative). Closed form: with
    P = (XᵀX + λI)⁻¹, B = −P / diag(P) column-wise and diag(B) = 0. Scores are X_u B.

    The inverse is taken in the smaller dimension: with many fewer users than items
    (8·users² ≤ items², where the users × users float64 system needs no more memory than
    the direct path) through the Woodbury identity P = (I − Xᵀ(λI + XXᵀ)⁻¹X) / λ, so only a
    users × users system is factored (Last.fm-2k: 1,892 users × 15,400 items); otherwise
    XᵀX + λI directly. Both are Cholesky inverses (the matrices are positive definite) and
    agree to float32 rounding. Memory is one dense float32 items × items matrix: ``fit``
    refuses, before allocating, if it would not fit.

    ``regularization`` λ: None (default) scales it with the data, λ = 1.8 · nnz / min(users,
    items): 1.8 times the mean non-zero eigenvalue of XᵀX (its trace, nnz, over its rank
    when full), the spectrum λ is added to; ``fit`` records the λ it used in
    ``info_["regularization"]``. No constant suits every data set: NDCG@20 over λ ∈ {10,
    25, …, 5000} (full ranking, ``benchmarks/ease_dimensions.py sweep``) peaks between 25
    and 500, and 250, the earlier default, loses up to 12.5%; the scaled λ stays within
    1.5% of each best:

    ===============  ======  ========  =========  ========  ========
    data set         best λ  NDCG@20   scaled λ   NDCG@20   λ = 250
    ===============  ======  ========  =========  ========  ========
    ML-100k          250     0.4464    152.7      0.4397    0.4464
    ML-latest-small  250     0.3500    214.6      0.3504    0.3500
    Last.fm-2k       100     0.2966    70.7       0.2955    0.2864
    CiteULike-a      25      0.2933    53.2       0.2888    0.2566
    Amazon Beauty    50      0.0521    26.2       0.0516    0.0494
    ML-1M (DiffRec)  500     0.1093    258.3      0.1087    0.1086
    ===============  ======  ========  =========  ========  ========

    (20% per-user holdout, seed 0, except Amazon Beauty and ML-1M on their own splits.) λ
    proportional to the mean item degree cannot do as well: ML-latest-small (9.5 users per
    item) needs λ ≥ 100 and CiteULike-a (9.7) λ ≤ 50 to stay within 2% of their best.
    """

    key = "ease"

    def __init__(self, *, regularization: float | None = None) -> None:
        self.regularization = regularization

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """λ from 1 to 10,000 on a log scale: the default and every best λ above lie inside."""
        return {"regularization": trial.suggest_float("regularization", 1.0, 1e4, log=True)}

    def _check_params(self) -> None:
        if self.regularization is not None:
            check_float(
                self.regularization,
                "regularization",
                type(self).__name__,
                minimum=0.0,
                inclusive=False,
            )

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """The float32 items × items result, plus a quarter for the blocks building it.

        The direct path inverts it in place; through Woodbury add the float64 users × users
        system and two float64 blocks of its products.
        """
        remedy = "use 'item-knn' or 'ials', or keep fewer items (drop the rarest)"
        dense = Cost(
            F32 * n_items * n_items * 5 // 4,
            f"a dense {n_items:,} × {n_items:,} float32 matrix",
            remedy,
        )
        costs = [dense, pairs_cost(nnz, 3 * F32)]
        if woodbury(n_users, n_items):
            cells = n_users * n_users + 2 * _columns(n_users, n_items) * (n_users + n_items)
            costs.append(
                Cost(F64 * cells, f"a dense {n_users:,} × {n_users:,} float64 matrix", remedy)
            )
        return costs

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        binary = binary_matrix(matrix)
        lam = self.regularization
        lam = scaled_regularization(binary) if lam is None else float(lam)
        if woodbury(*binary.shape):
            self.weights_ = woodbury_weights(binary, lam)
        else:
            self.weights_ = direct_weights(binary, lam)
        self.info_ = {"regularization": lam}  # a dict (not a mappingproxy): it pickles

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


def scaled_regularization(binary: sp.csr_matrix) -> float:
    """The default λ: SCALE times the mean non-zero eigenvalue of XᵀX, nnz / min(users, items)."""
    return round(SCALE * binary.nnz / max(1, min(binary.shape)), 1)


def woodbury(n_users: int, n_items: int) -> bool:
    """Whether to solve in the users × users dimension (Woodbury).

    Only when its float64 system is no larger than the float32 items × items result (so the
    memory stays that of the direct path); it is then also far faster to invert.
    """
    return 8 * n_users * n_users <= n_items * n_items


def direct_weights(binary: sp.csr_matrix, lam: float) -> np.ndarray:
    """B from P = (XᵀX + λI)⁻¹, inverted in float32 in place."""
    n_items = binary.shape[1]
    inverse = spd_inverse(dense_gram(binary.T.tocsr(), binary, np.float32), lam)
    diagonal = np.diag(inverse).copy()
    inverse /= -diagonal[np.newaxis, :]
    inverse[np.diag_indices(n_items)] = 0.0
    return inverse


def woodbury_weights(binary: sp.csr_matrix, lam: float) -> np.ndarray:
    """B from P = (I − XᵀMX)/λ, M = (λI + XXᵀ)⁻¹: B_ij = (XᵀMX)_ij / (1 − (XᵀMX)_jj).

    M is float64; XᵀMX is two sparse products per column block, float64 until stored.
    """
    n_users, n_items = binary.shape
    binary_t = binary.T.tocsr()
    system = spd_inverse(dense_gram(binary, binary_t, np.float64), lam)
    by_item = binary.tocsc()
    weights = np.empty((n_items, n_items), dtype=np.float32)
    denominators = np.empty(n_items)
    columns = _columns(n_users, n_items)
    for start in range(0, n_items, columns):
        stop = min(start + columns, n_items)
        solved = by_item[:, start:stop].T @ system  # (M X_block)ᵀ, columns × users
        block = np.asarray(binary_t @ solved.T)  # (XᵀMX)[:, block], items × columns
        positions = np.arange(start, stop)
        denominators[start:stop] = 1.0 - block[positions, positions - start]
        weights[:, start:stop] = block
    weights /= denominators.astype(np.float32)[np.newaxis, :]
    weights[np.diag_indices(n_items)] = 0.0
    return weights


def _columns(n_users: int, n_items: int) -> int:
    """Items per block of the Woodbury products (two float64 blocks of 64 MiB at most)."""
    return min(n_items, max(1, BATCH_CELLS // (8 * (n_users + n_items))))


def dense_gram(
    left: sp.csr_matrix, right: sp.csr_matrix, dtype: type[np.floating[Any]]
) -> np.ndarray:
    """``left @ right`` as a dense array, built a block of columns at a time."""
    size = right.shape[1]
    gram: np.ndarray = np.empty((left.shape[0], size), dtype=dtype)
    columns = max(1, BATCH_CELLS // max(left.shape[0], 1))
    for start in range(0, size, columns):
        gram[:, start : start + columns] = (left @ right[:, start : start + columns]).toarray()
    return gram


#: Rows per block when mirroring a triangle (small: the copy is a transpose).
_SYMMETRIC_BLOCK = 256


def spd_inverse(gram: np.ndarray, lam: float) -> np.ndarray:
    """(gram + λI)⁻¹ of a symmetric positive semi-definite ``gram``, in its memory (Cholesky)."""
    import scipy.linalg  # 0.1 s to import: only when fitting (not to load or serve)

    size = len(gram)
    gram[np.diag_indices(size)] += gram.dtype.type(lam)
    # The transpose of a C-ordered symmetric matrix is the same matrix, Fortran-ordered:
    # LAPACK then works in place. Only the upper triangle of `inverse` is computed.
    lapack = scipy.linalg.lapack
    single = gram.dtype == np.float32
    potrf, potri = (lapack.spotrf, lapack.spotri) if single else (lapack.dpotrf, lapack.dpotri)
    factor, info = potrf(gram.T, lower=False, clean=False, overwrite_a=True)
    if info == 0:
        inverse, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise InvalidParameterError(
            f"EASE: XᵀX + λI is not numerically positive definite with regularization={lam:g}"
            f" (LAPACK info {info}); use a larger regularization"
        )
    for start in range(0, size, _SYMMETRIC_BLOCK):  # copy the upper triangle to the lower
        stop = min(start + _SYMMETRIC_BLOCK, size)
        inverse[start:stop, :start] = inverse[:start, start:stop].T
        square = inverse[start:stop, start:stop]
        square[:] = np.triu(square) + np.triu(square, 1).T
    return gram if np.shares_memory(inverse, gram) else np.ascontiguousarray(inverse)
