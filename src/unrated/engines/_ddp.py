"""One torchrun rank's training of ``mf``: data parallel over users, item tables replicated.

The algorithm is ``mf``'s (user-grouped batches, summed loss, lazy Adam, early stopping on
validation NDCG); only the work is split. Each rank owns its shard's user embeddings and
biases, which no other rank touches, so they stay local. The item embeddings and biases are
replicated; after every backward pass their gradients are all-reduced, so every replica
takes the same Adam step and stays bit-identical:

* On GPU (NCCL) the item tables are wrapped in ``DistributedDataParallel``, which
  all-reduces their dense gradients (NCCL has no sparse all-reduce), then averaged over
  the ranks; Adam's step does not change with a constant scale of the gradient (up to its
  ε), and the rows are handed to lazy Adam as a sparse gradient.
* On CPU (gloo) the gradients stay sparse (the rows a batch touched) and each is summed
  over the ranks with one ``all_reduce`` call, the collective DDP would run: the global
  batch's gradient, exactly as ``mf`` computes it in one process. DDP itself is not used
  here: with sparse gradients on gloo, torch 2.13's DDP corrupted the heap (``malloc():
  unaligned tcache chunk detected``) in 3 of 7 two-rank runs of a 3000-step stress test,
  while the same ``all_reduce`` called directly never did (7 runs; ``benchmarks/results/
  engines.md``).

A global batch is ``batch_size`` positives, ``batch_size / world`` per rank. All ranks run
the same number of batches per epoch (the largest any rank needs; a rank with fewer
positives makes smaller batches), so no rank waits for a collective that never comes; a
collective that still waits past the process group's timeout fails instead of hanging.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from unrated.data.interactions import binary_matrix
from unrated.data.negatives import NegativeSampler
from unrated.engines._shards import Shard
from unrated.errors import EngineError, InvalidParameterError
from unrated.models._factors import ndcg_validation
from unrated.models._mf_torch import batch_loss, import_torch
from unrated.models._sgd_kernels import LOSSES
from unrated.models._training import FitOptions, Trainer, Validation, run_epochs
from unrated.models._validation import carve_validation
from unrated.models.embedding_mf import EmbeddingMF, softmax_corrections

TABLES = ("user_factors", "item_factors", "user_bias", "item_bias")
torch: Any = import_torch()  # Any, as in _mf_torch: unrated's types do not depend on torch's


@dataclass
class RankResult:
    """What a rank ends with: the whole model's tables (gathered) and training facts."""

    tables: dict[str, np.ndarray]
    item_prior: np.ndarray
    best_epoch: int
    validation_ndcg: float
    digest: str  # blake2b of every table: equal on every rank


def train_shard(
    model: EmbeddingMF, shard: Shard, *, rank: int, world: int, group: Any, device: str
) -> RankResult:
    """Train ``model``'s parameters on this rank's ``shard``, together with the other ranks."""
    rng = np.random.default_rng([model.seed, rank])  # this rank's draws
    binary = binary_matrix(shard.matrix)
    train, valid = binary, None
    if model.validation > 0:
        train, valid = carve_validation(binary, model.validation, rng)
    n_valid = int((np.diff(valid.indptr) > 0).sum()) if valid is not None else 0
    if _all_sum([n_valid], group)[0] == 0:
        train, valid = binary, None
    counts = np.bincount(train.indices, minlength=len(shard.items)).astype(np.float64)
    sampler = NegativeSampler(
        train,
        sampler=model.sampler,
        alpha=model.sampler_alpha,
        negatives=model.negatives,
        resample=model.resample,
        seed=int(rng.integers(2**62)),
        item_counts=_all_sum(counts.tolist(), group),
    )
    trainer = _RankTrainer(
        model, shard, train, sampler, rng, world=world, group=group, device=device
    )
    trained = run_epochs(
        trainer,
        epochs=model.epochs,
        rng=rng,
        name=f"mf ×{world}",
        options=FitOptions(progress=None if rank == 0 else False),
        validation=None if valid is None else _over_ranks(train, valid, model.patience, group),
    )
    return RankResult(
        tables=trained.arrays,
        item_prior=sampler.probabilities.astype(np.float32),
        best_epoch=trained.best_epoch,
        validation_ndcg=trained.best_score,
        digest=trainer.digest,
    )


def _over_ranks(
    train: sp.csr_matrix, valid: sp.csr_matrix, patience: int, group: Any
) -> Validation:
    """``mf``'s validation NDCG, averaged over every rank's validation users."""
    local = ndcg_validation(train, valid, patience)
    n_local = int((np.diff(valid.indptr) > 0).sum())

    def score(tables: Mapping[str, np.ndarray]) -> float:
        mine = local.score(tables)
        summed = _all_sum([mine * n_local if n_local else 0.0, n_local], group)
        return float(summed[0] / summed[1])

    return Validation(score, patience, local.label)


class _RankTrainer(Trainer):
    """One rank's share of ``mf``'s epochs: its users' batches, item gradients all-reduced."""

    def __init__(
        self,
        model: EmbeddingMF,
        shard: Shard,
        train: sp.csr_matrix,
        sampler: NegativeSampler,
        rng: np.random.Generator,
        *,
        world: int,
        group: Any,
        device: str,
    ) -> None:
        self.model, self.shard, self.train, self.sampler, self.rng = (
            model,
            shard,
            train,
            sampler,
            rng,
        )
        self.world, self.group, self.on = world, group, torch.device(device)
        self.sparse_items = device == "cpu"  # gloo all-reduces sparse tensors; NCCL only dense
        self.local_counts = np.diff(train.indptr)
        self.active = np.flatnonzero((self.local_counts > 0) & sampler.has_negatives)
        self.per_rank = max(1, model.batch_size // world)
        self.digest = ""

    def setup(self) -> None:
        from torch.nn.parallel import DistributedDataParallel

        model, shard, on = self.model, self.shard, self.on
        n_users, n_items, f = len(shard.users), len(shard.items), model.factors
        init = np.random.default_rng(model.seed)  # the same initial tables on every rank
        user_init = init.standard_normal((n_users, f), np.float32)[shard.user_rows] * np.float32(
            0.1
        )
        item_init = init.standard_normal((n_items, f), np.float32) * np.float32(0.1)
        log_q, log_free = softmax_corrections(
            self.train, self.sampler.probabilities, model.negatives
        )
        self.log_q = torch.from_numpy(log_q.astype(np.float32)).to(on)
        self.log_free = torch.from_numpy(log_free.astype(np.float32)).to(on)
        sparse = self.sparse_items
        self.items = torch.nn.ModuleDict(
            {
                "item_factors": _embedding(item_init, on, sparse=sparse),
                "item_bias": _embedding(np.zeros(n_items, np.float32), on, sparse=sparse),
            }
        )
        self.replicated = (
            _ItemTables(self.items)  # gradients all-reduced in epoch(), after each backward
            if sparse
            else DistributedDataParallel(_ItemTables(self.items), device_ids=[on.index])
        )
        self.users = {
            "user_factors": _embedding(user_init, on, sparse=True),
            "user_bias": _embedding(np.zeros(len(shard.user_rows), np.float32), on, sparse=True),
        }
        params = [p for e in self.users.values() for p in e.parameters()]
        params += list(self.items.parameters())
        self.optimizer = torch.optim.SparseAdam(params, lr=model.learning_rate)
        self.loss_kind = LOSSES.index(model.loss)
        self.indptr = self.train.indptr.astype(np.int64)
        self.positives = self.train.indices.astype(np.int64)

    def epoch(self, number: int) -> float:
        import torch.distributed as dist

        model, on, group = self.model, self.on, self.group
        users, items, loss_kind = self.users, self.items, self.loss_kind
        negatives = self.sampler.draw(number).astype(np.int64)
        order = self.rng.permutation(self.active)
        sums = np.cumsum(self.local_counts[order])
        total = int(sums[-1]) if len(sums) else 0
        batches = _max_over_ranks(dist, group, math.ceil(total / self.per_rank))
        cuts = np.searchsorted(sums, total * np.arange(1, batches) / batches, side="right")
        starts = np.concatenate([[0], cuts, [len(order)]]).astype(np.int64)
        lengths = self.local_counts[order]
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        rows = np.repeat(self.indptr[order] - offsets[:-1], lengths) + np.arange(offsets[-1])
        row_users = torch.from_numpy(np.repeat(order, lengths)).to(on)
        tuples = torch.from_numpy(
            np.concatenate([self.positives[rows, None], negatives[rows]], axis=1)
        ).to(on)
        bounds = offsets[starts].tolist()
        loss_sum = torch.zeros((), dtype=torch.float64, device=on)
        for b in range(batches):
            batch_users = row_users[bounds[b] : bounds[b + 1]]
            batch_items = tuples[bounds[b] : bounds[b + 1]]
            vectors, item_bias = self.replicated(batch_items)
            raw_u = users["user_factors"](batch_users)
            bias_u = users["user_bias"](batch_users)[:, 0]
            if loss_kind >= 2:  # bpr and softmax are blind to a user bias: leave it at 0
                bias_u = bias_u.detach()
            scores = torch.bmm(vectors, raw_u[:, :, None])[:, :, 0] + bias_u[:, None] + item_bias
            correction = None
            if loss_kind == 3:
                correction = self.log_q[batch_items[:, 1:]] - self.log_free[batch_users][:, None]
            data = batch_loss(torch, loss_kind, scores, correction)
            penalty = (raw_u**2).sum() + (vectors**2).sum() + (bias_u**2).sum()
            penalty = penalty + (item_bias**2).sum()
            self.optimizer.zero_grad(set_to_none=True)
            (data + model.regularization * penalty).backward()
            for p in items.parameters():
                if self.sparse_items:  # the global batch's gradient: every rank's rows, summed
                    dist.all_reduce(p.grad, group=group)
                else:  # DDP averaged the dense gradients over NCCL; lazy Adam wants rows
                    p.grad = p.grad.to_sparse(1)
            self.optimizer.step()
            loss_sum += data.detach()
        summed = _all_sum([float(loss_sum.cpu()), float(len(rows))], group)
        return float(summed[0] / max(summed[1], 1.0))

    def tables(self) -> dict[str, np.ndarray]:
        """This rank's user rows and the item tables."""
        with torch.no_grad():
            out = {n: e.weight.detach().cpu().numpy().copy() for n, e in self.users.items()}
            out |= {n: e.weight.detach().cpu().numpy().copy() for n, e in self.items.items()}
        return {n: (a[:, 0] if n.endswith("bias") else a) for n, a in out.items()}

    def state(self) -> dict[str, np.ndarray]:
        raise InvalidParameterError("--engine torchrun saves no checkpoints")

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        raise InvalidParameterError("--engine torchrun saves no checkpoints")

    def finish(self, tables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The whole model's tables, gathered; checks that every rank holds the same."""
        full = _gather_users(tables, self.shard, self.group, self.world)
        self.digest = _agree(full, self.group, self.world)
        return full


def _embedding(array: np.ndarray, on: Any, *, sparse: bool) -> Any:
    weight = torch.from_numpy(np.atleast_2d(array.T).T.copy())
    return torch.nn.Embedding.from_pretrained(weight, freeze=False, sparse=sparse).to(on)


def _all_sum(values: list[float], group: Any) -> np.ndarray:
    import torch.distributed as dist

    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor, group=group)
    return np.asarray(tensor.numpy())


class _ItemTables(torch.nn.Module):  # type: ignore[misc]
    """The replicated parameters: item embeddings and biases (their gradients all-reduced)."""

    def __init__(self, tables: Any) -> None:
        super().__init__()
        self.tables = tables

    def forward(self, items: Any) -> tuple[Any, Any]:
        return self.tables["item_factors"](items), self.tables["item_bias"](items)[..., 0]


def _max_over_ranks(dist: Any, group: Any, value: int) -> int:
    tensor = torch.tensor([value], dtype=torch.int64)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX, group=group)
    return int(tensor.item())


def _gather_users(
    local: dict[str, np.ndarray], shard: Shard, group: Any, world: int
) -> dict[str, np.ndarray]:
    """Every rank's user rows, so that each rank ends with the whole model."""
    import torch.distributed as dist

    pieces: list[Any] = [None] * world
    dist.all_gather_object(
        pieces, (shard.user_rows, local["user_factors"], local["user_bias"]), group=group
    )
    n_users, f = len(shard.users), local["item_factors"].shape[1]
    user_factors = np.zeros((n_users, f), dtype=np.float32)
    user_bias = np.zeros(n_users, dtype=np.float32)
    for rows, factors, bias in pieces:
        user_factors[rows], user_bias[rows] = factors, bias
    return {
        "user_factors": user_factors,
        "item_factors": local["item_factors"],
        "user_bias": user_bias,
        "item_bias": local["item_bias"],
    }


def _agree(tables: dict[str, np.ndarray], group: Any, world: int) -> str:
    """The tables' digest, after checking that every rank holds bit-identical ones."""
    import torch.distributed as dist

    digest = hashlib.blake2b(digest_size=16)
    for name in TABLES:
        digest.update(np.ascontiguousarray(tables[name]).tobytes())
    mine = digest.hexdigest()
    digests: list[Any] = [None] * world
    dist.all_gather_object(digests, mine, group=group)
    if len(set(digests)) > 1:
        raise EngineError(f"the ranks' parameters differ after training: {digests}")
    return mine
