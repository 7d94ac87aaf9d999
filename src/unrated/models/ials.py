"""iALS: matrix factorisation over all the zeros, with weighted zeros (Hu et al. 2008)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from unrated._checks import check_choice, check_float, check_int, take_array
from unrated._memory import F32, F64, Cost, pairs_cost
from unrated._progress import progress_bar
from unrated.models import _ials_kernels as kernels
from unrated.models._topk import dot
from unrated.models._training import FitOptions, Trainer, run_epochs
from unrated.models.base import Recommender

CONFIDENCES = ("binary", "log", "linear")
SOLVERS = ("cg", "cholesky")
#: The learned arrays (attributes with a trailing underscore), as named in model files.
ARRAYS = ("user_factors", "item_factors", "unobserved_weights")
#: The default unobserved weight is this over the number of items (at most 1).
AUTO_UNOBSERVED_MASS = 250.0
#: Exact solves by conjugate gradient stop at this relative residual ‖r‖/‖b‖ ...
EXACT_TOLERANCE = 1e-5
#: ... or after this many steps.
EXACT_MAX_STEPS = 15
#: From this many factors on, training solves take their Gramian products from BLAS.
BLAS_FACTORS = 2048
#: Rounds of an update, each: the touched items, then the touched users (IALS._update).
UPDATE_ROUNDS = 2


class IALS(Recommender):
    """Implicit alternating least squares (Hu, Koren & Volinsky 2008; Rendle et al. 2022).

    The formulation and tuning of Rendle, Krichene, Zhang & Koren, "Revisiting the
    Performance of iALS on Item Recommendation Benchmarks" (RecSys 2022): user and item
    vectors w_u, h_i (``factors`` long) minimise

        Σ_(u,i) observed c_ui (w_u·h_i − 1)²  +  Σ_(u,i) all a_i (w_u·h_i)²
        + λ Σ_u (C_u + Σ_i a_i)^ν ‖w_u‖²  +  λ Σ_i (C_i + a_i |U|)^ν ‖h_i‖²

    The second term weighs every pair, observed or not, by a_i: the "fill the blanks with 0"
    idea done right (Hu et al. 2008; Pan et al. 2008). Parameters:

    * ``unobserved_weight`` α0, the mean of a_i. Larger: more pull of all scores to 0,
      less popularity bias. None (default): 250 / n_items (at most 1), so that each user's
      unobserved pairs weigh as much as 250 observed ones whatever the catalogue size.
    * ``unobserved_exponent`` β: a_i ∝ (users of item i)^β, mean α0 (He et al., "Fast
      Matrix Factorization for Online Recommendation with Implicit Feedback", SIGIR 2016).
      0 (default) is Rendle et al.'s uniform α0.
    * ``regularization`` λ and ``regularization_exponent`` ν: a row's L2 penalty grows with
      its confidence mass C (row or column sum of c) plus its unobserved mass, to the
      power ν (Rendle et al. §3.2). Larger λ: smoother, more popular recommendations.
    * ``confidence`` c of an observed pair of weight w: ``"binary"`` c = 1 (Rendle et al.;
      ``alpha`` unused), ``"log"`` 1 + alpha·log(1 + w), ``"linear"`` 1 + alpha·w (Hu et
      al.). Weights such as ratings are ignored unless asked for.
    * ``factors``, ``epochs`` (one epoch solves all users, then all items), ``seed``
      (initial vectors N(0, 0.1²/factors)).
    * ``solver``: ``"cg"`` takes ``cg_steps`` conjugate-gradient steps per row, warm-started
      from its previous vector, with the Gramian shared by all rows (Takács, Pilászy & Tikk,
      "Applications of the conjugate gradient method for implicit feedback collaborative
      filtering", RecSys 2011); ``"cholesky"`` solves each row exactly (cubic in
      ``factors``: up to ~128). From 2,048 factors on, training's Gramian products run as
      BLAS matrix products over 512 rows at a time (2× faster at 2,560 factors).

    Training ends with an exact solve of every user against the final items, the solve that
    fold-in (``recommend_history``) runs: a training user's own history reproduces their
    recommendations. ``explain`` splits a score exactly over the user's items (Hu et al.
    §5). The progress bar shows the loss per epoch; ``loss_`` holds the last.

    Defaults (128 factors, 16 epochs, λ = 0.015, ν = 1, α0 = 250/n_items) were picked on
    MovieLens-100k (20% holdout; NDCG@20 0.445, where a fixed α0 = 0.1 reaches 0.446)
    and Gowalla (LightGCN split; Recall@20 0.161, where that fixed α0 collapses to 0.01).
    Larger ``factors`` with smaller λ are better on large sparse data: see
    ``benchmarks/results/ials.md``.
    """

    key = "ials"
    _gramian_cache: np.ndarray | None = None
    _items_t: tuple[np.ndarray, np.ndarray] | None = None  # (item_factors_, its transpose)

    def __init__(
        self,
        *,
        factors: int = 128,
        epochs: int = 16,
        regularization: float = 0.015,
        regularization_exponent: float = 1.0,
        unobserved_weight: float | None = None,
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

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """Rendle et al. 2021's grids, as ranges: α0 and λ on log scales, ν, the dimension."""
        return {
            "factors": trial.suggest_categorical("factors", [64, 128, 256, 512]),
            "unobserved_weight": trial.suggest_float("unobserved_weight", 1e-3, 1.0, log=True),
            "regularization": trial.suggest_float("regularization", 1e-4, 0.3, log=True),
            "regularization_exponent": trial.suggest_float("regularization_exponent", 0.0, 1.5),
        }

    def _check_params(self) -> None:
        name = type(self).__name__
        check_int(self.factors, "factors", name)
        check_int(self.epochs, "epochs", name, minimum=0)
        check_float(self.regularization, "regularization", name)
        check_float(self.regularization_exponent, "regularization_exponent", name)
        if self.unobserved_weight is not None:
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
        alpha0 = self.unobserved_weight
        if alpha0 is None:
            alpha0 = min(1.0, AUTO_UNOBSERVED_MASS / n_items)
        if self.unobserved_exponent == 0.0:
            return np.full(n_items, alpha0, dtype=np.float32)
        counts = np.maximum(np.bincount(conf.indices, minlength=n_items), 1.0)
        powered = counts**self.unobserved_exponent
        weights = alpha0 * n_items * powered / powered.sum()
        return np.asarray(weights, dtype=np.float32)

    def _row_regularization(
        self, conf: sp.csr_matrix, unobserved: np.ndarray | np.float64
    ) -> np.ndarray:
        """λ (C_r + U_r)^ν: C_r the row's confidence mass, U_r its unobserved weight mass."""
        mass = np.asarray(conf.sum(axis=1), dtype=np.float64).ravel() + unobserved
        return np.asarray(self.regularization * mass**self.regularization_exponent, np.float32)

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """User and item tables (one more while drawing), Gramians (float64, one per thread)."""
        f = self.factors
        tables = F32 * f * (2 * (n_users + n_items) + max(n_users, n_items))
        gramians = F64 * f * f * (2 + numba.get_num_threads())
        return [
            Cost(
                tables + gramians,
                f"user and item tables of ({n_users:,} + {n_items:,}) × {f:,} factors",
                "lower 'factors'",
            ),
            pairs_cost(nnz, 6 * F32),
        ]

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        self._gramian_cache = None
        conf = self._confidences(matrix)
        trainer = _IALSTrainer(self, conf, rng)
        trained = run_epochs(
            trainer, epochs=self.epochs, rng=rng, name="ials", options=options, loss_format=".6g"
        )
        self.loss_ = trained.loss
        self.item_factors_, self.unobserved_weights_ = trained.arrays["items"], trainer.weights
        # users were solved against the previous epoch's items: solve them once more, exactly,
        # against the final ones (so a user's fold-in reproduces their row), from where they are
        self.user_factors_ = self._fold_in(
            conf, confidences=True, start=trained.arrays["users"], blas=trainer.blas
        )

    def _update(
        self,
        matrix: sp.csr_matrix,
        users: np.ndarray,
        items: np.ndarray,
        rng: np.random.Generator,
        progress: bool | None,
    ) -> str:
        """Re-solve, from the learned vectors, the users and items of the new pairs.

        New users are first folded in (solved exactly against the learned items); new items
        start from small random vectors, as in ``fit``. Then UPDATE_ROUNDS rounds of: the
        touched items against every user (every user who has them is in their rows), then
        the touched users against every item, both by ``cg_steps`` warm steps as in
        training. The other users and items keep their vectors.
        Measured on time splits (benchmarks/update.py, results/update.md; NDCG@20 against
        refits, means of 5 seeds): one round fell 1.5-2.1% behind on online-retail, two are
        +0.4%; re-solving every item of the touched users' histories instead cost more for
        the same; without folding in new users first, ml-latest-small (most touched users
        new) fell 12-16% behind; an exact last solve of the touched users (fit's last step)
        cost 30% more time for no gain. No cheap variant closed ml-100k's gap (-2%): only
        re-solving every user, round after round, came near a refit.
        """
        self._gramian_cache = self._items_t = None
        n_users, n_old = matrix.shape[0], len(self.user_factors_)
        conf = self._confidences(matrix)
        weights = self._unobserved_weights(conf)
        item_table = _grown(self.item_factors_, matrix.shape[1], rng)
        self.item_factors_, self.unobserved_weights_ = item_table, weights
        blas = self.factors >= BLAS_FACTORS
        parts = [self.user_factors_]  # copied: a loaded model's arrays may be read-only
        if n_users > n_old:
            parts.append(self._fold_in(conf[n_old:], confidences=True))
        user_table = np.concatenate(parts)
        touched, ones = conf[users], np.ones(n_users, np.float32)
        rows = conf.T.tocsr()[items]
        rows.sort_indices()
        reg = self._row_regularization(rows, weights[items].astype(np.float64) * n_users)
        with progress_bar(UPDATE_ROUNDS, "ials update", show=progress) as advance:
            for _ in range(UPDATE_ROUNDS):
                gram, solved = kernels.gramian(user_table, ones), item_table[items]
                self._solve(
                    rows, user_table, solved, reg, gram, weights[items], exact=False, blas=blas
                )
                item_table[items] = solved
                self._gramian_cache = None  # the items moved
                solved = user_table[users]
                self._fold_in(touched, confidences=True, start=solved, blas=blas, exact=False)
                user_table[users] = solved
                advance()
        self.user_factors_ = user_table
        return "partial"

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
        blas: bool = False,
    ) -> np.ndarray:
        """Update every row of ``x`` in place; return each row's objective (its loss terms).

        ``exact`` solves to convergence: by Cholesky, or by conjugate gradient from x (zero
        for fold-in) until ‖r‖ ≤ EXACT_TOLERANCE·‖b‖; otherwise ``cg_steps`` warm steps.
        ``blas``: CG's Gramian products by single-threaded BLAS in each numba thread (fast at
        many factors; a row's last bits may depend on the rows solved beside it).
        """
        objective = np.empty(x.shape[0], dtype=np.float64)
        args = (conf.indptr, conf.indices, conf.data, other, gram, scale, reg, x)
        one_blas_thread = threadpool_limits(1, "blas") if blas else nullcontext()
        with numba.parallel_chunksize(1), one_blas_thread:
            if self.solver == "cholesky" and exact:
                kernels.cholesky_solve(*args, objective)
            else:
                steps, tolerance = (
                    (EXACT_MAX_STEPS, EXACT_TOLERANCE) if exact else (self.cg_steps, 0.0)
                )
                kernels.cg_solve(*args, steps, tolerance, objective, blas)
        return objective

    # ----------------------------------------------------------------- scoring
    def _fold_in(
        self,
        history: sp.csr_matrix,
        *,
        confidences: bool = False,
        start: np.ndarray | None = None,
        blas: bool = False,
        exact: bool = True,
    ) -> np.ndarray:
        """User vectors solved exactly (or, not ``exact``, by ``cg_steps``) against the items.

        CG starts from 0, or from ``start``, which is then updated in place and returned.
        ``blas`` only for training's users (fit's last solve, update's): a new history's
        vector must not depend on the other histories in its batch.
        """
        if self._gramian_cache is None:
            self._gramian_cache = kernels.gramian(self.item_factors_, self.unobserved_weights_)
        conf = history if confidences else self._confidences(history)
        shape = (history.shape[0], self.item_factors_.shape[1])
        users = np.zeros(shape, dtype=np.float32) if start is None else start
        total = np.float64(self.unobserved_weights_.sum(dtype=np.float64))
        reg = self._row_regularization(conf, total)
        ones = np.ones(len(users), dtype=np.float32)
        gram = self._gramian_cache
        self._solve(conf, self.item_factors_, users, reg, gram, ones, exact=exact, blas=blas)
        return users

    def _vectors(
        self, history: sp.csr_matrix, user_idx: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        users = self._fold_in(history) if user_idx is None else self.user_factors_[user_idx]
        if self._items_t is None or self._items_t[0] is not self.item_factors_:
            self._items_t = (self.item_factors_, np.ascontiguousarray(self.item_factors_.T))
        return users, self._items_t[1]

    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        return dot(*self._vectors(history, user_idx))

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        """Cosine similarity of item vectors."""
        norms = np.linalg.norm(self.item_factors_, axis=1)
        unit = (self.item_factors_ / np.maximum(norms, 1e-12)[:, None]).astype(np.float32)
        return dot(unit[item_idx], unit.T)

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

    def _arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name + "_") for name in ARRAYS}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._gramian_cache = None
        n_users, n_items, d = len(self.users_), len(self.items_), self.factors
        for name, shape in zip(ARRAYS, ((n_users, d), (n_items, d), (n_items,)), strict=True):
            setattr(self, name + "_", take_array(arrays, name, np.float32, shape))


class _IALSTrainer(Trainer):
    """One epoch solves every user against the items, then every item against the users."""

    def __init__(self, model: IALS, conf: sp.csr_matrix, rng: np.random.Generator) -> None:
        self.model, self.conf, self.rng = model, conf, rng
        self.weights = model._unobserved_weights(conf)
        self.blas = model.factors >= BLAS_FACTORS

    def setup(self) -> None:
        model, conf = self.model, self.conf
        self.conf_t = conf.T.tocsr()
        self.conf_t.sort_indices()
        (n_users, n_items), f = conf.shape, model.factors
        self.users, self.items = _draw(self.rng, n_users, f), _draw(self.rng, n_items, f)
        weights = self.weights
        self.user_reg = model._row_regularization(conf, np.float64(weights.sum(dtype=np.float64)))
        self.item_reg = model._row_regularization(self.conf_t, weights.astype(np.float64) * n_users)
        self.ones = np.ones(n_users, np.float32)

    def epoch(self, number: int) -> float:
        """Returns the training objective after the epoch."""
        model, exact, blas = self.model, self.model.solver == "cholesky", self.blas
        users, items, weights = self.users, self.items, self.weights
        gram = kernels.gramian(items, weights)
        model._solve(
            self.conf, items, users, self.user_reg, gram, self.ones, exact=exact, blas=blas
        )
        gram = kernels.gramian(users, self.ones)
        objective = model._solve(
            self.conf_t, users, items, self.item_reg, gram, weights, exact=exact, blas=blas
        )
        penalty = np.dot(self.user_reg, np.einsum("ij,ij->i", users, users, dtype=np.float64))
        return float(objective.sum(dtype=np.float64) + float(penalty))

    def tables(self) -> dict[str, np.ndarray]:
        return {"users": self.users, "items": self.items}

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.users, self.items = state["users"], state["items"]


def _draw(rng: np.random.Generator, rows: int, factors: int) -> np.ndarray:
    """Initial vectors: N(0, 0.1² / factors), float32."""
    return rng.standard_normal((rows, factors), dtype=np.float32) * np.float32(
        0.1 / np.sqrt(factors)
    )


def _grown(table: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``table`` with initial vectors appended up to ``rows`` (new users or items)."""
    return np.concatenate([table, _draw(rng, rows - len(table), table.shape[1])])
