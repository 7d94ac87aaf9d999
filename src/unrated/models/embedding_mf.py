"""EmbeddingMF: user/item embeddings + biases trained on positives and sampled negatives."""

from __future__ import annotations

from collections.abc import Mapping

import numba
import numpy as np
import scipy.sparse as sp

from unrated._checks import check_choice, check_float, check_int
from unrated._memory import F32, Cost
from unrated._parallel import ThreadChoice
from unrated.data.negatives import NegativeSampler
from unrated.errors import InvalidParameterError
from unrated.models._checkpoint import scalar_array
from unrated.models._factors import FactorModel
from unrated.models._mf_torch import TorchEngine, cuda_available, import_torch
from unrated.models._sgd_kernels import LOSSES, mf_epoch
from unrated.models._training import Trainer

DEVICES = ("cpu", "cuda", "auto")


class EmbeddingMF(FactorModel):
    """Matrix factorisation from implicit feedback with sampled negatives, done right.

    Scores s_ui = p_u·q_i + b_u + b_i. Each training positive (u, i) comes with ``negatives``
    items the user has not interacted with (never one of their positives), drawn uniformly
    or ∝ popularity**``sampler_alpha`` (Mikolov et al. 2013), once or every epoch. Losses:

    * ``bce``: logistic loss, 1 for the positive and 0 for each negative (He et al. 2017).
    * ``mse``: squared error against 1 / 0 — the common first attempt; poor for ranking.
    * ``bpr``: -log σ(s_ui - s_uj) per negative (Rendle et al. 2009).
    * ``softmax``: sampled softmax, negatives' logits corrected by -log(K·q_j) — the logQ
      correction (Bengio & Senécal 2008; Yi et al. 2019) — so it estimates the full softmax.

    Each occurrence of an embedding or bias in a tuple adds ``regularization``·‖·‖² to the
    loss. Training is mini-batch lazy Adam on user-grouped batches of about ``batch_size``
    positives: a numba kernel on CPU, PyTorch on CUDA (``device``) or when the optional MLP
    ``tower`` (hidden units; 0 = off) is on. The tower, x + W₂ relu(W₁x), is applied to user
    and item embeddings alike; on id-only data it only reparametrises them (dot products
    beat learned similarities: Rendle et al. 2020), hence off by default.

    Optional early stopping: ``validation`` > 0 holds that share of the items of up to 2000
    users out of train, checks NDCG@20 after each epoch, stops after ``patience`` epochs
    without a gain and keeps the best epoch's factors (``best_epoch_``). The default,
    ``validation=0``, trains all ``epochs`` on everything. Fold-in minimises the expected
    training loss for the new user with item factors fixed; ``similar_items`` is the cosine
    of item embeddings.

    Defaults (bce, 4 uniform negatives redrawn each epoch, 64 factors, λ = 0.02, lr 0.005,
    batches of ~1024 positives) were the best on MovieLens-100k in ``benchmarks/README.md``
    (sampled softmax with 16 negatives ties, at 3× the cost); popularity sampling without
    correction hurts. 100 epochs on all the data (``validation=0``) beat early stopping on
    every shared data set (``benchmarks/defaults_vs_popular.py``; NDCG@20, early stopping →
    default, ``popular``): ML-100k 0.425 → 0.437 (0.213), ml-latest-small 0.260 → 0.288
    (0.175), Last.fm-2k 0.246 → 0.262 (0.104), CiteULike-a 0.154 → 0.170 (0.014), Amazon
    Beauty 0.029 → 0.031 (0.008), ML-1M 0.098 → 0.102 (0.067). Early stopping held 10%
    of the items out of training, its NDCG check cost most of the fit (Last.fm-2k 143 s →
    28 s) and, with patience 5, it could stop at the popularity plateau of the first epochs:
    on ml-latest-small ``negatives=8`` stopped at epoch 7 with 0.174 and
    ``regularization=0.05`` at epoch 4 with 0.166, below ``popular``. A fixed seed gives
    identical results on the same device, whatever the thread count.
    """

    key = "mf"
    table_copies = 5  # FactorModel's three, and Adam's two moments

    def __init__(
        self,
        *,
        factors: int = 64,
        loss: str = "bce",
        negatives: int = 4,
        sampler: str = "uniform",
        sampler_alpha: float = 0.75,
        resample: str = "epoch",
        epochs: int = 100,
        learning_rate: float = 0.005,
        regularization: float = 0.02,
        batch_size: int = 1024,
        tower: int = 0,
        validation: float = 0.0,
        patience: int = 5,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        self.factors = factors
        self.loss = loss
        self.negatives = negatives
        self.sampler = sampler
        self.sampler_alpha = sampler_alpha
        self.resample = resample
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.batch_size = batch_size
        self.tower = tower
        self.validation = validation
        self.patience = patience
        self.device = device
        self.seed = seed

    def _check_params(self) -> None:
        self._check_common()
        name = type(self).__name__
        check_choice(self.loss, "loss", name, LOSSES)
        check_float(self.learning_rate, "learning_rate", name, inclusive=False)
        check_int(self.batch_size, "batch_size", name)
        check_int(self.tower, "tower", name, minimum=0)
        check_choice(self.device, "device", name, DEVICES)

    def _loss_name(self) -> str:
        return str(self.loss)

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """FactorModel's, and the tower's weights (with Adam) and activations."""
        costs = super()._memory_costs(n_users, n_items, nnz)
        if self.tower > 0:
            rows = n_users + n_items + 3 * min(self.batch_size, nnz) * (self.negatives + 2)
            costs.append(
                Cost(
                    F32 * self.tower * (16 * self.factors + rows),
                    f"an MLP tower of {self.tower:,} hidden units",
                    "lower 'tower'",
                )
            )
        return costs

    def resolved_device(self) -> str:
        """``device`` with "auto" resolved: "cuda" when PyTorch sees a GPU, else "cpu"."""
        if self.device == "auto":
            return "cuda" if cuda_available() else "cpu"
        if self.device == "cuda" and not import_torch().cuda.is_available():
            raise InvalidParameterError("device='cuda' but PyTorch sees no CUDA device; use 'cpu'")
        return str(self.device)

    def _trainer(
        self, positives: sp.csr_matrix, sampler: NegativeSampler, rng: np.random.Generator
    ) -> Trainer:
        return _MFTrainer(self, positives, sampler, rng)


#: A batch's parallel regions use every core from this many (positive or negative) pairs:
#: each pair costs ~4·factors multiply-adds, so a region then holds milliseconds of work, and
#: a busy machine's late second thread costs less than it brings. Measured on Gowalla with
#: 4 negatives: batch 8192 on two threads 1.5M positives/s (quiet machine); batch 1024 on
#: one thread 0.42M/s (load ~2.9); on a loaded machine two threads at batch 1024 made
#: ML-100k's fit 20x slower. Below it, :class:`ThreadChoice` times one thread against all.
MIN_PAIRS_PER_THREAD_REGION = 20_000


def softmax_corrections(
    positives: sp.csr_matrix, probabilities: np.ndarray, negatives: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sampled softmax's logQ terms: log(K·q_j) per item, log(1 − Σ_(i ∈ u) q_i) per user."""
    counts = np.diff(positives.indptr)
    mass = np.bincount(
        np.repeat(np.arange(positives.shape[0]), counts),
        weights=probabilities[positives.indices],
        minlength=positives.shape[0],
    )
    log_q = np.log(np.maximum(negatives * probabilities, 1e-300))
    return log_q, np.log(np.maximum(1.0 - mass, 1e-12))


class _MFTrainer(Trainer):
    """Feeds user-grouped batches and fresh negatives to the numba or torch engine."""

    def __init__(
        self,
        model: EmbeddingMF,
        positives: sp.csr_matrix,
        sampler: NegativeSampler,
        rng: np.random.Generator,
    ) -> None:
        self.model, self.shape = model, positives.shape
        self.indptr = positives.indptr.astype(np.int64)
        self.items = positives.indices.astype(np.int32)
        self.counts = np.diff(self.indptr)
        self.users = np.flatnonzero((self.counts > 0) & sampler.has_negatives).astype(np.int64)
        self.n_positives = int(self.counts[self.users].sum())
        self.sampler, self.rng, self.batch_size = sampler, rng, model.batch_size
        self.log_q, self.user_log_free = softmax_corrections(
            positives, sampler.probabilities, model.negatives
        )
        self.loss = LOSSES.index(model.loss)
        self.device = model.resolved_device()
        pairs = min(self.batch_size, self.n_positives) * (model.negatives + 1)
        self.threads = ThreadChoice(pairs, minimum=MIN_PAIRS_PER_THREAD_REGION)
        self.learning_rate, self.regularization = model.learning_rate, model.regularization

    def setup(self) -> None:
        (n_users, n_items), factors, scale = self.shape, self.model.factors, np.float32(0.1)
        self._tables = {
            "user_factors": (self.rng.standard_normal((n_users, factors), np.float32) * scale),
            "item_factors": (self.rng.standard_normal((n_items, factors), np.float32) * scale),
            "user_bias": np.zeros(n_users, np.float32),
            "item_bias": np.zeros(n_items, np.float32),
        }
        self.engine: TorchEngine | None = None
        if self.device != "cpu" or self.model.tower > 0:
            self.engine = TorchEngine(
                self._tables,
                self.indptr,
                self.items,
                device=self.device,
                tower=self.model.tower,
                loss=self.loss,
                learning_rate=self.learning_rate,
                regularization=self.regularization,
                log_q=self.log_q,
                user_log_free=self.user_log_free,
                seed=int(self.rng.integers(2**62)),
            )
            return
        moments = ("user_factors", "item_factors", "user_bias", "item_bias")
        self.moments = tuple(np.zeros_like(self._tables[n]) for n in moments for _ in range(2))
        self.step = 0

    def epoch(self, number: int) -> float:
        negatives = self.sampler.draw(number)
        order = self.rng.permutation(self.users)
        sums = np.cumsum(self.counts[order])
        cuts = np.searchsorted(sums, np.arange(self.batch_size, sums[-1], self.batch_size)) + 1
        starts = np.unique(np.concatenate([[0], cuts, [len(order)]])).astype(np.int64)
        if self.engine is not None:
            total = self.engine.run_epoch(order, starts, negatives)
        else:
            with self.threads.run():
                self.step, total = self._run_numba(order, starts, negatives)
        return float(total) / max(self.n_positives, 1)

    def _run_numba(
        self, order: np.ndarray, starts: np.ndarray, negatives: np.ndarray
    ) -> tuple[int, float]:
        t = self._tables
        params = (t["user_factors"], t["item_factors"], t["user_bias"], t["item_bias"])
        scratch = np.empty((numba.get_num_threads(), t["item_factors"].shape[1]), np.float32)
        step, total = mf_epoch(
            params,
            self.moments,
            self.step,
            self.indptr,
            self.items,
            negatives,
            self.log_q,
            self.user_log_free,
            order,
            starts,
            self.loss,
            self.learning_rate,
            self.regularization,
            scratch,
        )
        return int(step), float(total)

    def state(self) -> dict[str, np.ndarray]:
        if self.engine is not None:  # the torch engine's optimizer state stays in torch
            raise InvalidParameterError(
                "EmbeddingMF saves checkpoints only with its numba engine: "
                "use device='cpu' and tower=0, or fit without a checkpoint"
            )
        moments = {f"adam.{number}": array for number, array in enumerate(self.moments)}
        return self._tables | moments | {"step": scalar_array(self.step)}

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        self._tables = {name: state[name] for name in self._tables}
        self.moments = tuple(state[f"adam.{number}"] for number in range(len(self.moments)))
        self.step = int(state["step"][0])

    def tables(self) -> dict[str, np.ndarray]:
        return self.engine.tables() if self.engine is not None else dict(self._tables)
