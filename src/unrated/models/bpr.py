"""BPR: Bayesian personalised ranking from sampled (user, positive, negative) triples."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from unrated._checks import check_float
from unrated._parallel import ThreadChoice
from unrated.data.negatives import NegativeSampler
from unrated.models._bpr_kernels import bpr_epoch
from unrated.models._factors import FactorModel
from unrated.models._training import Trainer

#: Strata run at once (parallel width); fixed so that results never depend on the thread count.
SLOTS = 4


class BPR(FactorModel):
    """Bayesian Personalized Ranking matrix factorisation.

    Rendle, Freudenthaler, Gantner & Schmidt-Thieme, "BPR: Bayesian Personalized Ranking
    from Implicit Feedback", UAI 2009.

    Maximises Σ log σ(x_ui - x_uj) - λ‖Θ‖² over triples of a user u, one of their items i
    and ``negatives`` sampled items j per positive (never one of u's items), with
    x_ui = p_u·q_i + b_i, by SGD (LearnBPR). Each epoch visits every positive once, in a
    new random order, with negatives drawn uniformly or ∝ popularity**``sampler_alpha``,
    fresh each epoch or fixed once (``resample``).

    Parallel and deterministic: instead of hogwild (whose races make runs differ), triples
    are stratified as in DSGD (Gemulla et al. 2011) — 4 user blocks × 8 item blocks, fresh
    random blocks each epoch; strata that share no user and no item run at the same time,
    so a fixed ``seed`` gives identical factors on any number of threads.

    Optional early stopping on a validation split as for ``mf`` (``validation`` > 0,
    ``patience``). Defaults (64 factors, lr 0.02, λ = 0.02, 4 negatives) were picked on
    MovieLens-100k (``benchmarks/README.md``); 100 epochs on all the data (``validation=0``)
    beat early stopping on every shared data set (``benchmarks/defaults_vs_popular.py``;
    NDCG@20, early stopping → default, ``popular``): ML-100k 0.407 → 0.424 (0.213),
    ml-latest-small 0.251 → 0.286 (0.175), Last.fm-2k 0.221 → 0.265 (0.104), CiteULike-a
    0.147 → 0.157 (0.014), Amazon Beauty 0.020 → 0.028 (0.008), ML-1M 0.094 → 0.099
    (0.067). Early stopping trained on 90% of the items and could stop at the popularity
    plateau of the first epochs (ml-latest-small, ``negatives=1``: epoch 6, 0.170).
    """

    key = "bpr"

    def __init__(
        self,
        *,
        factors: int = 64,
        negatives: int = 4,
        sampler: str = "uniform",
        sampler_alpha: float = 0.75,
        resample: str = "epoch",
        epochs: int = 100,
        learning_rate: float = 0.02,
        regularization: float = 0.02,
        validation: float = 0.0,
        patience: int = 5,
        seed: int = 0,
    ) -> None:
        self.factors = factors
        self.negatives = negatives
        self.sampler = sampler
        self.sampler_alpha = sampler_alpha
        self.resample = resample
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.validation = validation
        self.patience = patience
        self.seed = seed

    def _check_params(self) -> None:
        self._check_common()
        check_float(self.learning_rate, "learning_rate", type(self).__name__, inclusive=False)

    def _loss_name(self) -> str:
        return "bpr"

    def _reg_per_positive(self) -> float:
        # each of the K triples of a positive pulls p_u by λ p_u: (λ/2)‖p_u‖² per triple
        return 0.5 * self.negatives * self.regularization

    def _trainer(
        self, positives: sp.csr_matrix, sampler: NegativeSampler, rng: np.random.Generator
    ) -> Trainer:
        return _BPRTrainer(self, positives, sampler, rng)


class _BPRTrainer(Trainer):
    """One epoch is one stratified SGD pass over every positive's triples."""

    def __init__(
        self,
        model: BPR,
        positives: sp.csr_matrix,
        sampler: NegativeSampler,
        rng: np.random.Generator,
    ) -> None:
        self.shape = positives.shape
        self.keep = np.flatnonzero(sampler.has_negatives[sampler.users])
        self.sampler, self.rng, self.model = sampler, rng, model
        strata = (2 * SLOTS - 1) * SLOTS  # parallel regions per epoch
        self.threads = ThreadChoice(len(self.keep) * sampler.negatives / strata)

    def setup(self) -> None:
        (n_users, n_items), factors, scale = self.shape, self.model.factors, np.float32(0.1)
        self.user_factors = self.rng.standard_normal((n_users, factors), np.float32) * scale
        self.item_factors = self.rng.standard_normal((n_items, factors), np.float32) * scale
        self.item_bias = np.zeros(n_items, np.float32)

    def epoch(self, number: int) -> float:
        negatives = self.sampler.draw(number)
        rows = self.rng.permutation(self.keep)
        user_block = self.rng.integers(0, SLOTS, len(self.user_factors))
        item_block = self.rng.integers(0, 2 * SLOTS, len(self.item_factors))
        with self.threads.run():
            total = bpr_epoch(
                self.user_factors,
                self.item_factors,
                self.item_bias,
                self.sampler.users[rows],
                self.sampler.items[rows],
                negatives[rows],
                user_block,
                item_block,
                SLOTS,
                self.model.learning_rate,
                self.model.regularization,
            )
        return float(total) / max(len(rows) * int(negatives.shape[1]), 1)

    def tables(self) -> dict[str, np.ndarray]:
        return self.state() | {"user_bias": np.zeros(len(self.user_factors), np.float32)}

    def state(self) -> dict[str, np.ndarray]:
        return {
            "user_factors": self.user_factors,
            "item_factors": self.item_factors,
            "item_bias": self.item_bias,
        }

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.user_factors = state["user_factors"]
        self.item_factors = state["item_factors"]
        self.item_bias = state["item_bias"]
