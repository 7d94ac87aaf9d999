"""iALS: matrix factorisation over all the zeros, with weighted zeros (Hu et al. 2008)."""

from __future__ import annotations

from collections.abc import Mapping

import numba
import numpy as np
import scipy.sparse as sp

from unrated._checks import check_choice, check_float, check_int, take_array
from unrated._progress import progress_bar
from unrated.models import _ials_kernels as kernels
from unrated.models.base import Recommender

CONFIDENCES = ("binary", "log", "linear")
SOLVERS = ("cg", "cholesky")
#: Exact solves by conjugate gradient stop at this relative residual ‖r‖/‖b‖ ...
EXACT_TOLERANCE = 1e-6
#: ... or after this many steps.
EXACT_MAX_STEPS = 25


class IALS(Recommender):
    """Implicit alternating least squares (Hu, Koren & Volinsky 2008; Rendle et al. 2022).

    Tuned as in Rendle, Krichene, Zhang & Koren, "Revisiting the Performance of iALS on
    Item Recommendation Benchmarks" (RecSys 2022).

    User and item vectors w_u, h_i (``factors`` long) minimise

        Σ_(u,i) observed c_ui (w_u·h_i − 1)²  +  α0 Σ_(u,i) all (w_u·h_i)²
        + λ Σ_u (C_u + α0 |I|)^ν ‖w_u‖²  +  λ Σ_i (C_i + α0 |U|)^ν ‖h_i‖²

    where the second term weighs every pair, observed or not, by ``unobserved_weight`` α0
    (the "fill the blanks with 0" idea, done right: Hu, Koren & Volinsky 2008; Pan et al.
    2008), λ is ``regularization``, ν is ``regularization_exponent`` and C_u, C_i are the
    row and column sums of the confidences c_ui. Confidence from the weight w of a pair
    (``confidence``): ``"binary"`` c = 1 (Rendle et al.; ``alpha`` unused), ``"log"``
    c = 1 + alpha·log(1 + w), ``"linear"`` c = 1 + alpha·w (Hu et al. 2008).

    Alternating exact minimisation over users and items; each row solves a ``factors``-sized
    linear system. ``solver="cg"`` takes ``cg_steps`` conjugate-gradient steps warm-started
    from the previous vector (Takács, Pilászy & Tikk 2011), with α0 YᵀY shared by all rows;
    ``"cholesky"`` solves exactly (cubic in ``factors``: for up to ~128). Initial vectors are
    N(0, 0.1²/factors), seeded by ``seed``. Training ends with an exact solve of every user
    against the final items, the same solve that fold-in (``recommend_history``) runs, so a
    training user's own history reproduces their recommendations.

    Defaults: 128 factors, 16 epochs, α0 = 0.1... chosen on MovieLens-100k (20% holdout) and
    Gowalla (LightGCN split); see ``benchmarks/results/ials.md``.
    """

    key = "ials"
    needs_history = False
    _gramian_cache: np.ndarray | None = None

    def __init__(
        self,
        *,
        factors: int = 128,
        epochs: int = 16,
        regularization: float = 0.003,
        regularization_exponent: float = 1.0,
        unobserved_weight: float = 0.1,
        unobserved_exponent: float = 0.0,
        alpha: float = 1.0,
        confidence: str = "binary",
        solver: str = "cg",
        cg_steps: int = 3,
        seed: int = 0,
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.regularization = regularization
        self.regularization_exponent = regularization_exponent
        self.unobserved_weight = unobserved_weight
        self.unobserved_exponent = unobserved_exponent
        self.alpha = alpha
        self.confidence = confidence
        self.solver = solver
        self.cg_steps = cg_steps
        self.seed = seed

    def _check_params(self) -> None:
        name = type(self).__name__
        check_int(self.factors, "factors", name)
        check_int(self.epochs, "epochs", name, minimum=0)
        check_float(self.regularization, "regularization", name)
        check_float(self.regularization_exponent, "regularization_exponent", name)
        check_float(self.unobserved_weight, "unobserved_weight", name)
        check_float(
            self.unobserved_exponent, "unobserved_exponent", name, minimum=-2.0, maximum=2.0
        )
        check_float(self.alpha, "alpha", name)
        check_choice(self.confidence, "confidence", name, CONFIDENCES)
        check_choice(self.solver, "solver", name, SOLVERS)
        check_int(self.cg_steps, "cg_steps", name)
        check_int(self.seed, "seed", name, minimum=0)

    # ----------------------------------------------------------------- training
    def _confidences(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """The matrix with each weight w replaced by its confidence c (float32)."""
        conf = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
        if self.confidence == "binary":
            conf.data[:] = 1.0
        elif self.confidence == "log":
            conf.data = 1.0 + np.float32(self.alpha) * np.log1p(np.maximum(conf.data, 0.0))
        else:
            conf.data = 1.0 + np.float32(self.alpha) * np.maximum(conf.data, 0.0)
        conf.sort_indices()
        return conf

    def _unobserved_weights(self, conf: sp.csr_matrix) -> np.ndarray:
        """a_i = α0 |I| f_i^β / Σ_j f_j^β (mean α0; all α0 when β = 0), f_i = users of i."""
        n_items = conf.shape[1]
        if self.unobserved_exponent == 0.0:
            return np.full(n_items, self.unobserved_weight, dtype=np.float32)
        counts = np.maximum(np.bincount(conf.indices, minlength=n_items), 1.0)
        powered = counts**self.unobserved_exponent
        weights = self.unobserved_weight * n_items * powered / powered.sum()
        return np.asarray(weights, dtype=np.float32)

    def _row_regularization(
        self, conf: sp.csr_matrix, unobserved: np.ndarray | np.float64
    ) -> np.ndarray:
        """λ (C_r + U_r)^ν: C_r the row's confidence mass, U_r its unobserved weight mass."""
        mass = np.asarray(conf.sum(axis=1), dtype=np.float64).ravel() + unobserved
        return np.asarray(self.regularization * mass**self.regularization_exponent, np.float32)

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator) -> None:
        self._gramian_cache = None
        conf = self._confidences(matrix)
        conf_t = conf.T.tocsr()
        conf_t.sort_indices()
        n_users, n_items = conf.shape
        scale = np.float32(0.1 / np.sqrt(self.factors))
        users = rng.standard_normal((n_users, self.factors), dtype=np.float32) * scale
        items = rng.standard_normal((n_items, self.factors), dtype=np.float32) * scale
        weights = self._unobserved_weights(conf)
        user_reg = self._row_regularization(conf, np.float64(weights.sum(dtype=np.float64)))
        item_reg = self._row_regularization(conf_t, weights.astype(np.float64) * n_users)
        ones_users = np.ones(n_users, np.float32)
        exact, loss = self.solver == "cholesky", float("nan")
        with progress_bar(self.epochs, "ials") as advance:
            for _ in range(self.epochs):
                gram = kernels.gramian(items, weights)
                self._solve(conf, items, users, user_reg, gram, ones_users, exact=exact)
                gram = kernels.gramian(users, ones_users)
                objective = self._solve(conf_t, users, items, item_reg, gram, weights, exact=exact)
                loss = objective.sum(dtype=np.float64) + float(
                    np.dot(user_reg, np.einsum("ij,ij->i", users, users, dtype=np.float64))
                )
                advance(info=f"loss {loss:.6g}")
        self.loss_ = loss
        self.item_factors_, self.unobserved_weights_ = items, weights
        self.user_factors_ = self._fold_in(conf, confidences=True)

    def _solve(
        self,
        conf: sp.csr_matrix,
        other: np.ndarray,
        x: np.ndarray,
        reg: np.ndarray,
        gram: np.ndarray,
        scale: np.ndarray,
        *,
        exact: bool,
    ) -> np.ndarray:
        """Update every row of ``x`` in place; return each row's objective (its loss terms).

        ``exact`` solves to convergence: by Cholesky, or by conjugate gradient from x (zero
        for fold-in) until ‖r‖ ≤ EXACT_TOLERANCE·‖b‖; otherwise ``cg_steps`` warm steps.
        """
        objective = np.empty(x.shape[0], dtype=np.float64)
        args = (conf.indptr, conf.indices, conf.data, other, gram, scale, reg, x)
        with numba.parallel_chunksize(1):
            if self.solver == "cholesky" and exact:
                kernels.cholesky_solve(*args, objective)
            else:
                steps, tolerance = (
                    (EXACT_MAX_STEPS, EXACT_TOLERANCE) if exact else (self.cg_steps, 0.0)
                )
                kernels.cg_solve(*args, steps, tolerance, objective)
        return objective

    # ----------------------------------------------------------------- scoring
    def _fold_in(self, history: sp.csr_matrix, *, confidences: bool = False) -> np.ndarray:
        """User vectors solved exactly against the fixed items: training's last step too."""
        if self._gramian_cache is None:
            self._gramian_cache = kernels.gramian(self.item_factors_, self.unobserved_weights_)
        conf = history if confidences else self._confidences(history)
        users = np.zeros((history.shape[0], self.item_factors_.shape[1]), dtype=np.float32)
        total = np.float64(self.unobserved_weights_.sum(dtype=np.float64))
        reg = self._row_regularization(conf, total)
        ones = np.ones(len(users), dtype=np.float32)
        self._solve(conf, self.item_factors_, users, reg, self._gramian_cache, ones, exact=True)
        return users

    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        users = self._fold_in(history) if user_idx is None else self.user_factors_[user_idx]
        return self._dot_items(users, self.item_factors_)

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        """Cosine similarity of item vectors."""
        norms = np.linalg.norm(self.item_factors_, axis=1)
        unit = (self.item_factors_ / np.maximum(norms, 1e-12)[:, None]).astype(np.float32)
        return self._dot_items(np.ascontiguousarray(unit[item_idx]), unit)

    @staticmethod
    def _dot_items(rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Rows @ items.T by a kernel whose entries never depend on the batch (BLAS's do)."""
        out = np.empty((rows.shape[0], items.shape[0]), dtype=np.float32)
        kernels.dot_rows(
            np.ascontiguousarray(rows, dtype=np.float32),
            np.ascontiguousarray(items, dtype=np.float32),
            out,
        )
        return out

    def _explain(self, history: sp.csr_matrix, user_idx: int, item_idx: int) -> np.ndarray:
        """Hu et al. 2008 §5: score_ui = Σ_j s_ij c_uj with s_ij = h_iᵀ A_u⁻¹ h_j."""
        conf = self._confidences(history)
        items = self.item_factors_.astype(np.float64)
        seen = items[conf.indices]
        weights = self.unobserved_weights_.astype(np.float64)
        reg = float(self._row_regularization(conf, np.float64(weights.sum()))[0])
        system = (items.T * weights) @ items + (seen.T * conf.data) @ seen
        system[np.diag_indices_from(system)] += reg
        weights = np.linalg.solve(system, items[item_idx])
        return np.asarray(conf.data * (seen @ weights), dtype=np.float32)

    # ----------------------------------------------------------------- model file
    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "user_factors": self.user_factors_,
            "item_factors": self.item_factors_,
            "unobserved_weights": self.unobserved_weights_,
        }

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._gramian_cache = None
        self.user_factors_ = take_array(
            arrays, "user_factors", np.float32, (len(self.users_), self.factors)
        )
        self.item_factors_ = take_array(
            arrays, "item_factors", np.float32, (len(self.items_), self.factors)
        )
        self.unobserved_weights_ = take_array(
            arrays, "unobserved_weights", np.float32, (len(self.items_),)
        )
