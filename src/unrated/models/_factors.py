"""What the sampled-negative factor models (``mf``, ``bpr``) share.

Training set-up (validation split, negative sampler, NDCG early stopping), scoring, fold-in,
cosine similar items, saved arrays. The epochs run in ``_training.run_epochs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp

from unrated._checks import check_choice, check_float, check_int, take_array
from unrated._memory import F32, F64, Cost, pairs_cost
from unrated._progress import progress_bar
from unrated.data.interactions import binary_matrix
from unrated.data.negatives import RESAMPLE, SAMPLERS, NegativeSampler
from unrated.errors import InvalidParameterError
from unrated.models._fold_in import fold_in
from unrated.models._training import FitOptions, Trainer, Validation, run_epochs
from unrated.models._validation import carve_validation, ndcg_at_k
from unrated.models.base import Recommender

#: Early stopping compares NDCG at this list length.
VALIDATION_K = 20
#: Epochs an update runs over the touched users' positives (a fit runs ``epochs``).
UPDATE_EPOCHS = 10


class FactorModel(Recommender):
    """Base of the models that score s_ui = p_u·q_i + b_u + b_i and learn from sampled negatives.

    Subclasses define ``_trainer`` and the hyperparameters ``factors``, ``epochs``,
    ``negatives``, ``sampler``, ``sampler_alpha``, ``resample``, ``regularization``,
    ``validation``, ``patience``, ``seed``.
    """

    factors: int
    epochs: int
    negatives: int
    sampler: str
    sampler_alpha: float
    resample: str
    regularization: float
    validation: float
    patience: int
    seed: int

    user_factors_: np.ndarray
    item_factors_: np.ndarray
    user_bias_: np.ndarray
    item_bias_: np.ndarray
    item_prior_: np.ndarray

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """Dimension, negatives per positive, learning rate and λ (log scales)."""
        return {
            "factors": trial.suggest_categorical("factors", [32, 64, 128]),
            "negatives": trial.suggest_categorical("negatives", [1, 4, 16]),
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.1, log=True),
            "regularization": trial.suggest_float("regularization", 1e-4, 0.1, log=True),
        }

    def _check_common(self) -> None:
        name = type(self).__name__
        check_int(self.factors, "factors", name)
        check_int(self.epochs, "epochs", name)
        check_int(self.negatives, "negatives", name)
        check_choice(self.sampler, "sampler", name, SAMPLERS)
        check_float(self.sampler_alpha, "sampler_alpha", name)
        check_choice(self.resample, "resample", name, RESAMPLE)
        check_float(self.regularization, "regularization", name)
        check_float(self.validation, "validation", name, maximum=0.5)
        check_int(self.patience, "patience", name)
        check_int(self.seed, "seed", name, minimum=0)

    def _has_user_bias(self) -> bool:
        """Whether the loss sees b_u (ranking losses are blind to it)."""
        return self._loss_name() in ("bce", "mse")

    def _reg_per_positive(self) -> float:
        """Weight of ‖p_u‖² per training positive of the user in the training loss."""
        return float(self.regularization)

    def _loss_name(self) -> str:
        """The loss the model optimises (for fold-in)."""
        raise NotImplementedError

    def _trainer(
        self, positives: sp.csr_matrix, sampler: NegativeSampler, rng: np.random.Generator
    ) -> Trainer:
        raise NotImplementedError

    #: Copies of the user and item tables held while training: the tables, the kept best
    #: epoch's and the latest copy (subclasses add optimiser state).
    table_copies: int = 3

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """Tables (plus one while drawing, and float64 items for validation), negatives."""
        f = self.factors
        tables = F32 * f * (self.table_copies * (n_users + n_items) + max(n_users, n_items))
        return [
            Cost(
                tables + F64 * f * n_items,
                f"user and item tables of ({n_users:,} + {n_items:,}) × {f:,} factors",
                "lower 'factors'",
            ),
            Cost(
                3 * F32 * nnz * self.negatives,
                f"{self.negatives:,} sampled negatives for each of {nnz:,} positives",
                "lower 'negatives'",
            ),
            pairs_cost(nnz, 8 * F32),
        ]

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        binary = binary_matrix(matrix)
        binary.sort_indices()
        train, valid = binary, None
        if self.validation > 0:
            train, valid = carve_validation(binary, self.validation, rng)
            if valid.nnz == 0:
                train, valid = binary, None
        sampler = NegativeSampler(
            train,
            sampler=self.sampler,
            alpha=self.sampler_alpha,
            negatives=self.negatives,
            resample=self.resample,
            seed=int(rng.integers(2**62)),
        )
        trained = run_epochs(
            self._trainer(train, sampler, rng),
            epochs=self.epochs,
            rng=rng,
            name=type(self).key,
            options=options,
            validation=None if valid is None else ndcg_validation(train, valid, self.patience),
        )
        self._install(trained.arrays, sampler)
        #: Epoch whose factors were kept, and its validation NDCG (nan without validation).
        self.best_epoch_, self.validation_ndcg_ = trained.best_epoch, trained.best_score

    def _install(self, final: Mapping[str, np.ndarray], sampler: NegativeSampler) -> None:
        self.user_factors_ = final["user_factors"]
        self.item_factors_ = final["item_factors"]
        self.user_bias_ = final["user_bias"]
        self.item_bias_ = final["item_bias"]
        self.item_prior_ = sampler.probabilities.astype(np.float32)

    def _update(
        self,
        matrix: sp.csr_matrix,
        users: np.ndarray,
        items: np.ndarray,
        rng: np.random.Generator,
        progress: bool | None,
    ) -> str:
        """UPDATE_EPOCHS epochs over the touched users' positives, from the learned tables.

        New users and items start as a fit starts them; negatives are drawn from the whole
        catalogue (popularity from all the data). The torch engine refits.
        """
        binary = binary_matrix(matrix)
        keep = np.zeros(binary.shape[0], dtype=np.float32)
        keep[users] = 1.0
        touched = sp.csr_matrix(sp.diags(keep) @ binary)
        touched.eliminate_zeros()
        touched.sort_indices()
        sampler = NegativeSampler(
            touched,
            sampler=self.sampler,
            alpha=self.sampler_alpha,
            negatives=self.negatives,
            resample=self.resample,
            seed=int(rng.integers(2**62)),
            item_counts=np.bincount(binary.indices, minlength=binary.shape[1]),
        )
        trainer = self._trainer(touched, sampler, rng)
        trainer.setup()
        try:
            state = dict(trainer.state())
        except InvalidParameterError:  # the torch engine keeps its state to itself
            return super()._update(matrix, users, items, rng, progress)
        for name, learned in self._arrays().items():
            if name in state:
                state[name][: len(learned)] = learned
        trainer.restore(state)
        with progress_bar(UPDATE_EPOCHS, f"{self.key} update", show=progress) as advance:
            for epoch in range(UPDATE_EPOCHS):
                advance(info=f"loss {trainer.epoch(epoch):.4f}")
        self._install(trainer.finish(trainer.tables()), sampler)
        return "partial"

    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        if user_idx is not None:
            users, bias = self.user_factors_[user_idx], self.user_bias_[user_idx]
        else:
            users, bias = fold_in(
                history,
                self.item_factors_,
                self.item_bias_,
                loss=self._loss_name(),
                negatives=self.negatives,
                probabilities=self.item_prior_.astype(np.float64),
                reg_per_positive=self._reg_per_positive(),
                user_bias=self._has_user_bias(),
            )
        return factor_scores(
            {
                "user_factors": users,
                "item_factors": self.item_factors_,
                "user_bias": bias,
                "item_bias": self.item_bias_,
            },
            None,
        )

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(self.item_factors_, axis=1)
        unit = self.item_factors_ / np.maximum(norms, 1e-12)[:, None]
        return np.asarray(unit[item_idx] @ unit.T, dtype=np.float32)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "user_factors": self.user_factors_,
            "item_factors": self.item_factors_,
            "user_bias": self.user_bias_,
            "item_bias": self.item_bias_,
            "item_prior": self.item_prior_,
        }

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        n_users, n_items = len(self.users_), len(self.items_)
        self.user_factors_ = take_array(arrays, "user_factors", np.float32, (n_users, None))
        factors = self.user_factors_.shape[1]
        self.item_factors_ = take_array(arrays, "item_factors", np.float32, (n_items, factors))
        self.user_bias_ = take_array(arrays, "user_bias", np.float32, (n_users,))
        self.item_bias_ = take_array(arrays, "item_bias", np.float32, (n_items,))
        self.item_prior_ = take_array(arrays, "item_prior", np.float32, (n_items,))


def ndcg_validation(train: sp.csr_matrix, valid: sp.csr_matrix, patience: int) -> Validation:
    """Early stopping on NDCG@VALIDATION_K of the scores for ``valid`` (``train`` left out)."""

    def score(tables: Mapping[str, np.ndarray]) -> float:
        return ndcg_at_k(partial(factor_scores, tables), train, valid, VALIDATION_K)

    return Validation(score, patience, f"ndcg@{VALIDATION_K}")


def factor_scores(tables: Mapping[str, np.ndarray], users: np.ndarray | None) -> np.ndarray:
    """p_u·q_i + b_u + b_i for the given user rows (all rows of the tables when None)."""
    factors, bias = tables["user_factors"], tables["user_bias"]
    if users is not None:
        factors, bias = factors[users], bias[users]
    # float64 products rounded to float32: the same row scores whatever the batch (BLAS picks
    # gemv or gemm kernels by shape, whose float32 sums differ in the last bit)
    scores = factors.astype(np.float64) @ tables["item_factors"].T.astype(np.float64)
    scores += bias[:, None]
    scores += tables["item_bias"][None, :]
    return np.asarray(scores, dtype=np.float32)
