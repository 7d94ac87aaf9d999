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
    """Implicit alternating least squares, as tuned by Rendle et al. ("Revisiting the
    Performance of iALS on Item Recommendation Benchmarks", RecSys 2022).

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

    def __init__(
        self,
        *,
        factors: int = 128,
        epochs: int = 16,
        regularization: float = 0.003,
        regularization_exponent: float = 1.0,
        unobserved_weight: float = 0.1,
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

    def _row_regularization(self, conf: sp.csr_matrix, n_other: int) -> np.ndarray:
        """λ (C_r + α0·n_other)^ν for every row (Rendle et al. 2022, §3.2)."""
        mass = np.asarray(conf.sum(axis=1), dtype=np.float64).ravel()
        base = mass + self.unobserved_weight * n_other
        return (self.regularization * base**self.regularization_exponent).astype(np.float32)

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator) -> None:
        self._gramian_cache = None
        conf = self._confidences(matrix)
        conf_t = conf.T.tocsr()
        conf_t.sort_indices()
        n_users, n_items = conf.shape
        scale = np.float32(0.1 / np.sqrt(self.factors))
        users = rng.standard_normal((n_users, self.factors), dtype=np.float32) * scale
        items = rng.standard_normal((n_items, self.factors), dtype=np.float32) * scale
        user_reg = self._row_regularization(conf, n_items)
        item_reg = self._row_regularization(conf_t, n_users)
        exact, loss = self.solver == "cholesky", float("nan")
        with progress_bar(self.epochs, "ials") as advance:
            for _ in range(self.epochs):
                self._solve(conf, items, users, user_reg, exact=exact)
                objective = self._solve(conf_t, users, items, item_reg, exact=exact)
                loss = objective.sum(dtype=np.float64) + float(
                    np.dot(user_reg, np.einsum("ij,ij->i", users, users, dtype=np.float64))
                )
                advance(info=f"loss {loss:.6g}")
        self.loss_ = loss
        users[:] = 0.0
        self._solve(conf, items, users, user_reg, exact=True)
        self.user_factors_ = users
        self.item_factors_ = items

    def _solve(
        self,
        conf: sp.csr_matrix,
        other: np.ndarray,
        x: np.ndarray,
        reg: np.ndarray,
        *,
        exact: bool,
        gramian: np.ndarray | None = None,
    ) -> np.ndarray:
        """Update every row of ``x`` in place; return each row's objective (its loss terms).

        ``exact`` solves to convergence: by Cholesky, or by conjugate gradient from x (zero
        for fold-in) until ‖r‖ ≤ EXACT_TOLERANCE·‖b‖; otherwise ``cg_steps`` warm steps.
        """
        if gramian is None:
            gramian = self._gramian(other)
        objective = np.empty(x.shape[0], dtype=np.float64)
        args = (conf.indptr, conf.indices, conf.data, other, gramian, reg, x)
        with numba.parallel_chunksize(1):
            if self.solver == "cholesky" and exact:
                kernels.cholesky_solve(*args, objective)
            else:
                steps, tolerance = (EXACT_MAX_STEPS, EXACT_TOLERANCE) if exact else (
                    self.cg_steps, 0.0)
                kernels.cg_solve(*args, steps, tolerance, objective)
        return objective

    def _gramian(self, other: np.ndarray) -> np.ndarray:
        """α0 YᵀY, by a numba kernel: BLAS threads left spinning would slow the solves."""
        return np.asarray(kernels.gramian(other, float(self.unobserved_weight)))

    # ----------------------------------------------------------------- scoring
    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """User vectors solved exactly against the fixed item vectors (as in training)."""
        if getattr(self, "_gramian_cache", None) is None:
            self._gramian_cache = self._gramian(self.item_factors_)
        conf = self._confidences(history)
        users = np.zeros((history.shape[0], self.item_factors_.shape[1]), dtype=np.float32)
        reg = self._row_regularization(conf, self.item_factors_.shape[0])
        self._solve(conf, self.item_factors_, users, reg, exact=True,
                    gramian=self._gramian_cache)
        return users

    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        users = self._fold_in(history) if user_idx is None else self.user_factors_[user_idx]
        return np.asarray(users @ self.item_factors_.T, dtype=np.float32)

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        """Cosine similarity of item vectors."""
        norms = np.linalg.norm(self.item_factors_, axis=1)
        unit = self.item_factors_ / np.maximum(norms, 1e-12)[:, None]
        return np.asarray(unit[item_idx] @ unit.T, dtype=np.float32)

    def _explain(self, history: sp.csr_matrix, user_idx: int, item_idx: int) -> np.ndarray:
        """Hu et al. 2008 §5: score_ui = Σ_j s_ij c_uj with s_ij = h_iᵀ A_u⁻¹ h_j."""
        conf = self._confidences(history)
        items = self.item_factors_.astype(np.float64)
        seen = items[conf.indices]
        reg = float(self._row_regularization(conf, items.shape[0])[0])
        system = self.unobserved_weight * (items.T @ items) + (seen.T * conf.data) @ seen
        system[np.diag_indices_from(system)] += reg
        weights = np.linalg.solve(system, items[item_idx])
        return np.asarray(conf.data * (seen @ weights), dtype=np.float32)

    # ----------------------------------------------------------------- model file
    def _arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._gramian_cache = None
        self.user_factors_ = take_array(arrays, "user_factors", np.float32,
                                        (len(self.users_), self.factors))
        self.item_factors_ = take_array(arrays, "item_factors", np.float32,
                                        (len(self.items_), self.factors))
