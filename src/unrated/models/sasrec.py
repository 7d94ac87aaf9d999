"""SASRec: causal self-attention over a customer's last items, trained to predict the next one.

Kang & McAuley, "Self-Attentive Sequential Recommendation" (ICDM 2018); the losses for many
negatives from Petrov & Macdonald, "gSASRec" (RecSys 2023), and full cross-entropy from
Klenitskiy & Vasilev (RecSys 2023). torch (the ``[torch]`` extra) is imported only here.

Order. A customer's sequence is their lines in :attr:`Interactions.events` order (by time, or
basket, then file order): give the data a time column or an order column (``position``,
``pos``, ``seq``, ``step``: found by name, or ``time_col=``); ``--format sequences`` reads
SASRec's one-line-per-customer files. Without either, the reader keeps no order and the
sequence is the customer's items in vocabulary order: the model then learns little more than a
set model. A folded-in history (``recommend_history``) is read in the order given: the same
items in another order give another list.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import scipy.sparse as sp

from unrated._checks import check_choice, check_float, check_int
from unrated._memory import F32, Cost
from unrated.data.negatives import NegativeSampler, _stream
from unrated.errors import DataWarning, InvalidParameterError, ModelFileError
from unrated.models._checkpoint import scalar_array
from unrated.models._mf_torch import import_torch
from unrated.models._training import FitOptions, Trainer, Validation, run_epochs
from unrated.models._validation import ndcg_at_k
from unrated.models.base import Recommender

LOSSES = ("bce", "gbce", "sampled_softmax", "softmax")
#: The output layer: the input item embeddings again, or a table of its own.
OUTPUTS = ("tied", "separate")
#: Validation users (their last item held out of training) are capped at this many.
MAX_VALIDATION_USERS = 2000
#: Validation ranks the top VALIDATION_K (NDCG@10, as in the sequential literature).
VALIDATION_K = 10
#: Sequences scored at once when recommending.
SCORE_BATCH = 256
#: Training batches drawn at random, then sorted by length and cut again (see _batches).
BUCKET_POOL = 16


class SASRec(Recommender):
    """Next-item prediction from the order of a customer's items (see the module docstring).

    Items are embedded (``factors`` dimensions; ``output="tied"`` scores the next item with
    the same table, ``"separate"`` with a table of its own, as gSASRec does), a learned
    position embedding counts back from the last item, and ``blocks`` pre-norm transformer
    blocks with causal attention (``heads`` heads, ``dropout``) read the last ``max_length``
    items. Every position learns to score the item that follows it. Losses:

    * ``bce``: logistic loss on the next item and ``negatives`` sampled items (the original
      SASRec with ``negatives=1``).
    * ``gbce``: BCE with the positive's probability raised to β = α(t(1 − 1/α) + 1/α),
      α = negatives / (items − 1), ``t = gbce_t`` (gSASRec): calibrated for many negatives.
    * ``sampled_softmax`` (the default): cross-entropy over the next item and the negatives,
      logQ-corrected. On ml-1m-gsasrec's 512 validation users it reached NDCG@10 0.170 in
      17 CPU minutes, where ``bce`` with 1 negative reached 0.096 and ``gbce`` with 256 0.018
      (benchmarks/results/sasrec.md): in a CPU budget a softmax loss learns far faster.
    * ``softmax``: cross-entropy over the whole catalogue (no negatives drawn; memory grows
      with batch × length × items).

    Negatives are items the customer never bought (unrated's :class:`NegativeSampler`,
    uniform or ∝ popularity**``sampler_alpha``); with one negative each position draws its
    own, with more a sequence draws ``negatives`` shared by its positions (memory stays
    batch × length × negatives scores instead of × ``factors``; gSASRec draws per position,
    which may be why ``gbce`` learns slowly here). Adam (``learning_rate`` 0.005: 0.001
    learned five times slower on ML-1M), mini-batches of ``batch_size`` sequences of
    similar length in random order; a fixed seed gives identical arrays on CPU.

    Early stopping: ``validation`` > 0 holds the last item of that share of customers (at
    most 2000, each with 3 items or more) out of training, ranks them by NDCG@10 after every
    epoch, stops after ``patience`` epochs without a gain and keeps the best epoch.
    """

    key = "sasrec"
    reads_order = True

    def __init__(
        self,
        *,
        factors: int = 64,
        blocks: int = 2,
        heads: int = 1,
        dropout: float = 0.2,
        max_length: int = 200,
        output: str = "tied",
        loss: str = "sampled_softmax",
        negatives: int = 256,
        gbce_t: float = 0.75,
        sampler: str = "uniform",
        sampler_alpha: float = 0.75,
        epochs: int = 100,
        learning_rate: float = 0.005,
        batch_size: int = 128,
        validation: float = 0.0,
        patience: int = 5,
        threads: int = 1,
        seed: int = 0,
    ) -> None:
        self.factors = factors
        self.blocks = blocks
        self.heads = heads
        self.dropout = dropout
        self.max_length = max_length
        self.output = output
        self.loss = loss
        self.negatives = negatives
        self.gbce_t = gbce_t
        self.sampler = sampler
        self.sampler_alpha = sampler_alpha
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.validation = validation
        self.patience = patience
        self.threads = threads
        self.seed = seed

    def _check_params(self) -> None:
        name = type(self).__name__
        check_int(self.factors, "factors", name)
        check_int(self.blocks, "blocks", name)
        check_int(self.heads, "heads", name)
        if self.factors % self.heads:
            raise InvalidParameterError(
                f"{name}: 'factors' ({self.factors}) must be a multiple of 'heads' ({self.heads})"
            )
        check_float(self.dropout, "dropout", name, maximum=0.99)
        check_int(self.max_length, "max_length", name)
        check_choice(self.output, "output", name, OUTPUTS)
        check_choice(self.loss, "loss", name, LOSSES)
        check_int(self.negatives, "negatives", name)
        check_float(self.gbce_t, "gbce_t", name, maximum=1.0)
        check_choice(self.sampler, "sampler", name, ("uniform", "popularity"))
        check_float(self.sampler_alpha, "sampler_alpha", name)
        check_int(self.epochs, "epochs", name)
        check_float(self.learning_rate, "learning_rate", name, inclusive=False)
        check_int(self.batch_size, "batch_size", name)
        check_float(self.validation, "validation", name, maximum=0.5)
        check_int(self.patience, "patience", name)
        check_int(self.threads, "threads", name, minimum=0)
        check_int(self.seed, "seed", name, minimum=0)

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """Size, depth, dropout, learning rate and the loss's negatives."""
        return {
            "factors": trial.suggest_categorical("factors", [32, 64, 128]),
            "blocks": trial.suggest_int("blocks", 1, 3),
            "dropout": trial.suggest_float("dropout", 0.0, 0.6),
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
            "negatives": trial.suggest_categorical("negatives", [1, 16, 64, 256]),
            "epochs": trial.suggest_int("epochs", 10, 200, log=True),
        }

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """Embeddings with Adam, a batch's activations and scores, the kept sequences."""
        rows = self.batch_size * self.max_length
        width = n_items if self.loss == "softmax" else self.negatives + 1
        return [
            Cost(
                4 * F32 * (n_items + self.max_length) * self.factors,
                "item embeddings and Adam's moments",
                "lower 'factors'",
            ),
            Cost(
                3 * F32 * rows * (width + self.blocks * (8 * self.factors + self.max_length)),
                f"a batch of {self.batch_size} sequences of {self.max_length} items",
                "lower 'batch_size' or 'max_length'",
            ),
            Cost(
                8 * min(nnz, n_users * self.max_length),
                "the customers' sequences",
                "lower 'max_length'",
            ),
        ]

    # ------------------------------------------------------------------ fitting
    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        events = options.events
        if events is None:
            warnings.warn(
                "sasrec: the data has no time, order or basket column, so each customer's "
                "items are read in item order, not in the order bought; name the order with "
                "--time-col (time_col=), e.g. a position column",
                DataWarning,
                stacklevel=4,
            )
            sequences = (
                matrix.indptr.astype(np.int64, copy=False),
                matrix.indices.astype(np.int32, copy=False),
            )
        else:  # lines sorted by user: offsets from the counts, the items as they are
            indptr = np.zeros(matrix.shape[0] + 1, dtype=np.int64)
            np.cumsum(np.bincount(events.user, minlength=matrix.shape[0]), out=indptr[1:])
            sequences = (indptr, events.item.astype(np.int32, copy=False))
        torch = import_torch()
        trainer = _Trainer(self, matrix, sequences, rng)
        validation = None
        if self.validation > 0:
            validation = Validation(trainer.validation_score, self.patience, "ndcg@10")
        with _threads(torch, self.threads):
            trained = run_epochs(
                trainer,
                epochs=self.epochs,
                rng=rng,
                name="sasrec",
                options=options,
                validation=validation,
            )
        self.best_epoch_ = trained.best_epoch
        self._set_network(trained.arrays)
        self.sequences_ = _last(sequences, self.max_length)

    def _update(
        self,
        matrix: sp.csr_matrix,
        users: np.ndarray,
        items: np.ndarray,
        rng: np.random.Generator,
        progress: bool | None,
    ) -> str:
        """Refused: a refit needs every customer's purchases in order, which update has not."""
        raise InvalidParameterError(
            "sasrec cannot take in new purchases: its sequences need every purchase in order; "
            "fit it again on all the data (new visitors need no refit: recommend_history)"
        )

    def _set_network(self, arrays: Mapping[str, np.ndarray]) -> None:
        torch = import_torch()
        n_items = arrays["net.items.weight"].shape[0] - 1
        with torch.random.fork_rng():
            self._net = _network(torch, self, n_items)
        self._net.load_state_dict(_torch_state(torch, arrays))
        self._net.eval()

    # ------------------------------------------------------------------ scoring
    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        if user_idx is not None:
            rows = [self.training_history(u) for u in user_idx.tolist()]
        else:  # a folded-in history keeps the order it was given in (see _history_matrix)
            rows = [
                history.indices[history.indptr[r] : history.indptr[r + 1]]
                for r in range(history.shape[0])
            ]
        return self.score_sequences(rows)

    def training_history(self, user_idx: int) -> np.ndarray:
        """The customer's last ``max_length`` items, in order."""
        indptr, items = self.sequences_
        return items[indptr[user_idx] : indptr[user_idx + 1]]

    def score_sequences(self, sequences: list[np.ndarray]) -> np.ndarray:
        """Scores (rows × items) of the item that follows each sequence of item positions."""
        torch = import_torch()
        return _score_with(torch, self._net, sequences, self.max_length)

    def _history_matrix(self, histories: Any) -> tuple[sp.csr_matrix, list[list[Any]]]:
        """The base's matrix, its rows' items kept in the order given (repeats too)."""
        matrix, unknown = super()._history_matrix(histories)
        rows, lengths = [], []
        for history in histories:
            ids = list(history.keys()) if isinstance(history, Mapping) else _ids(history)
            idx = self.items_.positions(ids, kind="item", missing="mark")
            rows.append(idx[idx >= 0].astype(np.int32))
            lengths.append(len(rows[-1]))
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        data = np.ones(int(indptr[-1]), dtype=np.float32)
        items = np.concatenate(rows) if rows else np.empty(0, np.int32)
        ordered = sp.csr_matrix((data, items, indptr), shape=matrix.shape)
        return ordered, unknown

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        """Cosine of the item embeddings."""
        table = self._net.output_weights()[1:]
        vectors: np.ndarray = table.detach().numpy().astype(np.float64)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        similarity: np.ndarray = (vectors[item_idx] @ vectors.T).astype(np.float32)
        return similarity

    def _arrays(self) -> dict[str, np.ndarray]:
        state = {f"net.{k}": v.detach().numpy().copy() for k, v in self._net.state_dict().items()}
        indptr, items = self.sequences_
        return state | {"sequences.indptr": indptr, "sequences.items": items}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        n_users, n_items = len(self.users_), len(self.items_)
        if arrays.get("net.items.weight", np.empty((0, 0))).shape != (n_items + 1, self.factors):
            raise ModelFileError(f"sasrec: item embeddings for {n_items} items are missing")
        indptr = np.asarray(arrays["sequences.indptr"], dtype=np.int64)
        if indptr.shape != (n_users + 1,):
            raise ModelFileError(f"sasrec: sequences for {n_users} users are missing")
        self.sequences_ = (indptr, np.asarray(arrays["sequences.items"], dtype=np.int32))
        self._set_network({k: v for k, v in arrays.items() if k.startswith("net.")})


def _validation_rows(
    train: tuple[np.ndarray, np.ndarray],
    users: np.ndarray,
    held: np.ndarray,
    shape: tuple[int, int],
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The validation users' training items and held-out items (other rows empty)."""
    indptr, items = train
    rows = [items[indptr[u] : indptr[u + 1]] for u in users.tolist()]
    seen = sp.csr_matrix(
        (
            np.ones(sum(len(r) for r in rows), np.float32),
            (np.repeat(users, [len(r) for r in rows]), np.concatenate(rows or [items[:0]])),
        ),
        shape=shape,
    )
    seen.sum_duplicates()
    valid = sp.csr_matrix((np.ones(len(users), np.float32), (users, held)), shape=shape)
    return seen, valid


def _ids(history: Any) -> list[Any]:
    if isinstance(history, str | bytes | int | np.integer):
        return [history]
    return list(
        np.asarray(history).ravel().tolist() if isinstance(history, np.ndarray) else history
    )


def _last(sequences: tuple[np.ndarray, np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Each sequence's last ``length`` items, as (indptr, items)."""
    indptr, items = sequences
    counts = np.minimum(np.diff(indptr), length)
    if np.array_equal(counts, np.diff(indptr)):  # nothing to cut: no copy
        return indptr.astype(np.int64, copy=False), items.astype(np.int32, copy=False)
    starts = indptr[1:] - counts
    new = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=new[1:])
    take = np.repeat(starts - new[:-1], counts) + np.arange(new[-1])
    return new, items[take].astype(np.int32, copy=False)


def _padded(sequences: list[np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (item position + 1; rows × length, right-padded with 0) and each row's length.

    Each row keeps its last ``length`` items from the left: with causal attention a position
    sees only those before it, so padding after the items needs no mask.
    """
    out = np.zeros((len(sequences), length), dtype=np.int64)
    lengths = np.zeros(len(sequences), dtype=np.int64)
    for row, sequence in enumerate(sequences):
        tail = sequence[-length:]
        out[row, : len(tail)] = tail.astype(np.int64) + 1
        lengths[row] = len(tail)
    return out, lengths


def _torch_state(torch: Any, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The network's state dict from arrays named ``net.<key>``."""
    prefix = "net."
    return {
        k.removeprefix(prefix): torch.from_numpy(np.array(v))
        for k, v in arrays.items()
        if k.startswith(prefix)
    }


@contextmanager
def _threads(torch: Any, threads: int) -> Iterator[None]:
    """Set torch's thread count for a block (0: leave it), and put it back."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _network(torch: Any, model: SASRec, n_items: int) -> Any:
    """The SASRec network; token 0 is padding, item position p is token p + 1."""
    nn, fn = torch.nn, torch.nn.functional

    class Net(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            d = model.factors
            self.items = nn.Embedding(n_items + 1, d, padding_idx=0)
            if model.output == "separate":
                self.scorer = nn.Embedding(n_items + 1, d, padding_idx=0)
            self.positions = nn.Embedding(model.max_length, d)
            self.drop = nn.Dropout(model.dropout)
            self.layers = nn.ModuleList(_Block() for _ in range(model.blocks))
            self.norm = nn.LayerNorm(d)

        def output_weights(self) -> Any:
            """The output table (token 0, padding, first): tied to the input's or its own."""
            return (self.scorer if model.output == "separate" else self.items).weight

        def forward(self, tokens: Any, lengths: Any) -> Any:
            """Hidden states (rows × length × factors) of right-padded ``tokens``."""
            steps = torch.arange(tokens.shape[1])
            back = (lengths[:, None] - 1 - steps[None]).clamp(min=0)  # counts back from the last
            x = self.items(tokens) * math.sqrt(model.factors) + self.positions(back)
            x = self.drop(x)
            for layer in self.layers:
                x = layer(x)
            return self.norm(x)

    class _Block(nn.Module):  # type: ignore[misc,name-defined]
        """Pre-norm causal attention and feed-forward, dropout on their outputs."""

        def __init__(self) -> None:
            super().__init__()
            d = model.factors
            self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.forward_net = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))
            self.drop = nn.Dropout(model.dropout)

        def forward(self, x: Any) -> Any:
            rows, length, d = x.shape
            heads = model.heads
            q, k, v = (
                self.qkv(self.norm1(x))
                .view(rows, length, 3, heads, d // heads)
                .permute(2, 0, 3, 1, 4)
            )
            y = fn.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.drop(self.out(y.transpose(1, 2).reshape(rows, length, d)))
            return x + self.drop(self.forward_net(self.norm2(x)))

    return Net()


class _Trainer(Trainer):
    """Batches of sequences (the last max_length + 1 items), Adam, one epoch at a time."""

    def __init__(
        self,
        model: SASRec,
        matrix: sp.csr_matrix,
        sequences: tuple[np.ndarray, np.ndarray],
        rng: np.random.Generator,
    ) -> None:
        self.model, self.rng, self.torch = model, rng, import_torch()
        self.n_items = matrix.shape[1]
        indptr, items = sequences
        counts = np.diff(indptr)
        self.valid_users = np.empty(0, dtype=np.int64)
        if model.validation > 0:
            eligible = np.flatnonzero(counts >= 3)
            n = min(MAX_VALIDATION_USERS, round(model.validation * matrix.shape[0]), len(eligible))
            self.valid_users = np.sort(rng.choice(eligible, n, replace=False))
        # memory: one copy of the items at most (the last max_length + 1 of each sequence,
        # less the held-out ones); the sampler reads the data's own matrix (a held-out item
        # is never drawn as its customer's negative), validation builds rows of its users only
        held = indptr[1:][self.valid_users] - 1
        kept = counts.copy()
        kept[self.valid_users] -= 1
        self.train = _last(
            (
                np.concatenate([[0], np.cumsum(kept)]),
                np.delete(items, held) if len(held) else items,
            ),
            model.max_length + 1,
        )
        self.train_matrix, self.valid_matrix = _validation_rows(
            self.train, self.valid_users, items[held], matrix.shape
        )
        self.users = np.flatnonzero(np.diff(self.train[0]) >= 2)
        self.sampler = NegativeSampler(
            matrix,
            sampler=model.sampler,
            alpha=model.sampler_alpha,
            negatives=model.negatives,
            seed=int(rng.integers(2**62)),
        )
        self.log_q = np.log(np.maximum(model.negatives * self.sampler.probabilities, 1e-30))

    def setup(self) -> None:
        torch = self.torch
        with torch.random.fork_rng():
            torch.manual_seed(int(self.rng.integers(2**62)))
            self.net = _network(torch, self.model, self.n_items)
            for name, p in self.net.named_parameters():
                if p.dim() > 1:
                    torch.nn.init.xavier_uniform_(p)
                if name in ("items.weight", "scorer.weight"):
                    torch.nn.init.normal_(p, std=1.0 / math.sqrt(self.model.factors))
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.model.learning_rate)
        self.log_q_t = torch.from_numpy(self.log_q.astype(np.float32))
        self.seed = int(self.rng.integers(2**62))

    def epoch(self, number: int) -> float:
        torch = self.torch
        indptr, items = self.train
        self.net.train()
        total, count = 0.0, 0
        with torch.random.fork_rng():
            torch.manual_seed(_stream(self.seed, number) & (2**62 - 1))
            for b, users in enumerate(self._batches(np.diff(indptr))):
                rows = [items[indptr[u] : indptr[u + 1]] for u in users.tolist()]
                tokens, lengths = _padded(rows, max(len(r) for r in rows))
                tokens_t = torch.from_numpy(tokens)
                inputs, targets = tokens_t[:, :-1], tokens_t[:, 1:]
                loss, n = self._loss(
                    inputs,
                    torch.from_numpy(lengths - 1),
                    targets,
                    users,
                    _stream(self.seed, number * 1_000_003 + b),
                )
                self.optimizer.zero_grad(set_to_none=True)
                (loss / n).backward()
                self.optimizer.step()
                total, count = total + float(loss.detach()), count + n
        self.net.eval()
        return total / max(count, 1)

    def _batches(self, lengths: np.ndarray) -> Iterator[np.ndarray]:
        """The customers in random batches of similar length (less padding to compute).

        A random pool of BUCKET_POOL batches at a time is sorted by length and cut into
        batches, which then come in random order (a bucket iterator).
        """
        size = self.model.batch_size
        order = self.rng.permutation(self.users)
        pool = size * BUCKET_POOL
        for start in range(0, len(order), pool):
            chunk = order[start : start + pool]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            batches = [chunk[i : i + size] for i in range(0, len(chunk), size)]
            for index in self.rng.permutation(len(batches)):
                yield batches[index]

    def _loss(
        self, inputs: Any, lengths: Any, targets: Any, users: np.ndarray, seed: int
    ) -> tuple[Any, int]:
        """The summed loss of a batch and its number of predicted positions."""
        torch, model = self.torch, self.model
        fn = torch.nn.functional
        hidden = self.net(inputs, lengths)
        real = targets > 0
        n = int(real.sum())
        weights = self.net.output_weights()
        if model.loss == "softmax":
            logits = hidden[real] @ weights[1:].T
            return fn.cross_entropy(logits, targets[real] - 1, reduction="sum"), n
        positive = (hidden * weights[targets]).sum(-1)[real]
        k = model.negatives
        rows, length = targets.shape
        if k == 1:  # one per position, as the original SASRec
            drawn = self.sampler.sample(np.repeat(users, length), seed=seed, negatives=1)
            negative_items = torch.from_numpy(drawn.astype(np.int64)).view(rows, length, 1)
            negative = (hidden[:, :, None, :] * weights[negative_items + 1]).sum(-1)[real]
        else:  # k per sequence, shared by its positions
            drawn = torch.from_numpy(self.sampler.sample(users, seed=seed).astype(np.int64))
            negative_items = drawn[:, None, :].expand(rows, length, k)
            negative = torch.bmm(hidden, weights[drawn + 1].transpose(1, 2))[real]
        negative_items = negative_items[real]
        if model.loss == "sampled_softmax":
            logits = torch.cat([positive[:, None], negative - self.log_q_t[negative_items]], dim=1)
            return (torch.logsumexp(logits, dim=1) - logits[:, 0]).sum(), n
        beta = 1.0
        if model.loss == "gbce":
            alpha = min(1.0, k / max(self.n_items - 1, 1))
            beta = alpha * (model.gbce_t * (1.0 - 1.0 / alpha) + 1.0 / alpha)
        return (beta * fn.softplus(-positive)).sum() + fn.softplus(negative).sum(), n

    def validation_score(self, tables: Mapping[str, np.ndarray]) -> float:
        """NDCG@10 of the held-out last items, from the network as it is now."""
        indptr, items = self.train

        def scores(users: np.ndarray) -> np.ndarray:
            rows = [items[indptr[u] : indptr[u + 1]] for u in users.tolist()]
            return _score_with(self.torch, self.net, rows, self.model.max_length)

        return ndcg_at_k(scores, self.train_matrix, self.valid_matrix, k=VALIDATION_K)

    def tables(self) -> dict[str, np.ndarray]:
        return {f"net.{k}": v.detach().numpy() for k, v in self.net.state_dict().items()}

    def state(self) -> dict[str, np.ndarray]:
        """The network and Adam's moments (zeros before the first step, as Adam starts)."""
        out = self.tables()
        saved = self.optimizer.state_dict()["state"]
        for index, param in enumerate(self.net.parameters()):
            moments = saved.get(index, {})
            zeros = np.zeros(tuple(param.shape), dtype=np.float32)
            out[f"adam.{index}.step"] = scalar_array(float(moments.get("step", 0.0)))
            for name in ("exp_avg", "exp_avg_sq"):
                out[f"adam.{index}.{name}"] = moments[name].numpy() if moments else zeros
        return out

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        torch = self.torch
        self.net.load_state_dict(_torch_state(torch, state))
        saved = self.optimizer.state_dict()
        indices = sorted({int(k.split(".")[1]) for k in state if k.startswith("adam.")})
        saved["state"] = {
            i: {
                "step": torch.tensor(float(state[f"adam.{i}.step"][0])),
                "exp_avg": torch.from_numpy(np.array(state[f"adam.{i}.exp_avg"])),
                "exp_avg_sq": torch.from_numpy(np.array(state[f"adam.{i}.exp_avg_sq"])),
            }
            for i in indices
        }
        self.optimizer.load_state_dict(saved)


def _score_with(torch: Any, net: Any, rows: list[np.ndarray], length: int) -> np.ndarray:
    """Scores (rows × items) of the next item after each sequence (the last ``length`` read).

    A row scores the same bits alone or in any batch: rows are padded to ``length`` whatever
    the batch's longest (attention kernels split the work by length), and the last product
    runs in float64, rounded to float32 (BLAS picks gemv or gemm kernels by shape, whose
    float32 sums differ).
    """
    weights = net.output_weights()[1:].detach().numpy().astype(np.float64)
    out = np.empty((len(rows), weights.shape[0]), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(rows), SCORE_BATCH):
            chunk = rows[start : start + SCORE_BATCH]
            tokens, lengths = _padded(chunk, length)
            lengths_t = torch.from_numpy(lengths)
            hidden = net(torch.from_numpy(tokens), lengths_t)
            last = hidden[torch.arange(len(chunk)), (lengths_t - 1).clamp(min=0)].numpy()
            out[start : start + len(chunk)] = last.astype(np.float64) @ weights.T
    return out
