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
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from unrated._progress import progress_bar
from unrated.data.interactions import binary_matrix
from unrated.data.negatives import NegativeSampler
from unrated.engines._shards import Shard
from unrated.errors import EngineError
from unrated.models._factors import VALIDATION_K, _scores
from unrated.models._mf_torch import batch_loss, import_torch
from unrated.models._sgd_kernels import LOSSES
from unrated.models._validation import EarlyStopping, carve_validation, ndcg_at_k
from unrated.models.embedding_mf import EmbeddingMF

TABLES = ("user_factors", "item_factors", "user_bias", "item_bias")
torch: Any = import_torch()  # Any, as in _mf_torch: unrated's types do not depend on torch's


@dataclass
class Trained:
    """What a rank ends with: the whole model's tables (gathered) and training facts."""

    tables: dict[str, np.ndarray]
    item_prior: np.ndarray
    best_epoch: int
    validation_ndcg: float
    digest: str  # blake2b of every table: equal on every rank


def train_shard(
    model: EmbeddingMF, shard: Shard, *, rank: int, world: int, group: Any, device: str
) -> Trained:
    """Train ``model``'s parameters on this rank's ``shard``, together with the other ranks."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    def all_sum(values: list[float]) -> np.ndarray:
        tensor = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(tensor, group=group)
        return np.asarray(tensor.numpy())

    n_users, n_items, f = len(shard.users), len(shard.items), model.factors
    init = np.random.default_rng(model.seed)  # the same initial tables on every rank
    user_init = init.standard_normal((n_users, f), np.float32)[shard.user_rows] * np.float32(0.1)
    item_init = init.standard_normal((n_items, f), np.float32) * np.float32(0.1)
    rng = np.random.default_rng([model.seed, rank])  # this rank's draws
    binary = binary_matrix(shard.matrix)
    train, valid = binary, None
    if model.validation > 0:
        train, valid = carve_validation(binary, model.validation, rng)
    n_valid = int((np.diff(valid.indptr) > 0).sum()) if valid is not None else 0
    if all_sum([n_valid])[0] == 0:
        train, valid = binary, None
    counts = np.bincount(train.indices, minlength=n_items).astype(np.float64)
    sampler = NegativeSampler(
        train,
        sampler=model.sampler,
        alpha=model.sampler_alpha,
        negatives=model.negatives,
        resample=model.resample,
        seed=int(rng.integers(2**62)),
        item_counts=all_sum(counts.tolist()),
    )
    q = sampler.probabilities
    local_counts = np.diff(train.indptr)
    mass = np.bincount(
        np.repeat(np.arange(train.shape[0]), local_counts),
        weights=q[train.indices],
        minlength=train.shape[0],
    )
    on = torch.device(device)
    log_q = torch.from_numpy(np.log(np.maximum(model.negatives * q, 1e-300)).astype(np.float32))
    log_free = torch.from_numpy(np.log(np.maximum(1.0 - mass, 1e-12)).astype(np.float32))
    log_q, log_free = log_q.to(on), log_free.to(on)

    def embedding(array: np.ndarray, *, sparse: bool) -> Any:
        weight = torch.from_numpy(np.atleast_2d(array.T).T.copy())
        return torch.nn.Embedding.from_pretrained(weight, freeze=False, sparse=sparse).to(on)

    sparse_items = device == "cpu"  # gloo all-reduces sparse tensors; NCCL only dense ones
    items = torch.nn.ModuleDict(
        {
            "item_factors": embedding(item_init, sparse=sparse_items),
            "item_bias": embedding(np.zeros(n_items, np.float32), sparse=sparse_items),
        }
    )
    replicated = (
        _ItemTables(items)  # gradients all-reduced below, after each backward pass
        if sparse_items
        else DistributedDataParallel(_ItemTables(items), device_ids=[on.index])
    )
    users = {
        "user_factors": embedding(user_init, sparse=True),
        "user_bias": embedding(np.zeros(len(shard.user_rows), np.float32), sparse=True),
    }
    params = [p for e in users.values() for p in e.parameters()] + list(items.parameters())
    optimizer = torch.optim.SparseAdam(params, lr=model.learning_rate)
    loss_kind = LOSSES.index(model.loss)
    indptr, positives = train.indptr.astype(np.int64), train.indices.astype(np.int64)
    active = np.flatnonzero((local_counts > 0) & sampler.has_negatives)
    per_rank = max(1, model.batch_size // world)

    def tables() -> dict[str, np.ndarray]:
        with torch.no_grad():
            out = {n: e.weight.detach().cpu().numpy().copy() for n, e in users.items()}
            out |= {n: e.weight.detach().cpu().numpy().copy() for n, e in items.items()}
        return {n: (a[:, 0] if n.endswith("bias") else a) for n, a in out.items()}

    def run_epoch(number: int) -> float:
        negatives = sampler.draw(number).astype(np.int64)
        order = rng.permutation(active)
        sums = np.cumsum(local_counts[order])
        total = int(sums[-1]) if len(sums) else 0
        batches = _max_over_ranks(dist, group, math.ceil(total / per_rank))
        cuts = np.searchsorted(sums, total * np.arange(1, batches) / batches, side="right")
        starts = np.concatenate([[0], cuts, [len(order)]]).astype(np.int64)
        lengths = local_counts[order]
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        rows = np.repeat(indptr[order] - offsets[:-1], lengths) + np.arange(offsets[-1])
        row_users = torch.from_numpy(np.repeat(order, lengths)).to(on)
        tuples = torch.from_numpy(
            np.concatenate([positives[rows, None], negatives[rows]], axis=1)
        ).to(on)
        bounds = offsets[starts].tolist()
        loss_sum = torch.zeros((), dtype=torch.float64, device=on)
        for b in range(batches):
            batch_users = row_users[bounds[b] : bounds[b + 1]]
            batch_items = tuples[bounds[b] : bounds[b + 1]]
            vectors, item_bias = replicated(batch_items)
            raw_u = users["user_factors"](batch_users)
            bias_u = users["user_bias"](batch_users)[:, 0]
            if loss_kind >= 2:  # bpr and softmax are blind to a user bias: leave it at 0
                bias_u = bias_u.detach()
            scores = torch.bmm(vectors, raw_u[:, :, None])[:, :, 0] + bias_u[:, None] + item_bias
            correction = None
            if loss_kind == 3:
                correction = log_q[batch_items[:, 1:]] - log_free[batch_users][:, None]
            data = batch_loss(torch, loss_kind, scores, correction)
            penalty = (raw_u**2).sum() + (vectors**2).sum() + (bias_u**2).sum()
            penalty = penalty + (item_bias**2).sum()
            optimizer.zero_grad(set_to_none=True)
            (data + model.regularization * penalty).backward()
            for p in items.parameters():
                if sparse_items:  # the global batch's gradient: every rank's rows, summed
                    dist.all_reduce(p.grad, group=group)
                else:  # DDP averaged the dense gradients over NCCL; lazy Adam wants rows
                    p.grad = p.grad.to_sparse(1)
            optimizer.step()
            loss_sum += data.detach()
        summed = all_sum([float(loss_sum.cpu()), float(len(rows))])
        return float(summed[0] / max(summed[1], 1.0))

    stopping = EarlyStopping(model.patience)
    with progress_bar(model.epochs if rank == 0 else 0, f"mf ×{world}") as advance:
        for epoch in range(model.epochs):
            info = f"loss {run_epoch(epoch):.4f}"
            if valid is not None:
                current = tables()
                local = ndcg_at_k(partial(_scores, current), train, valid, VALIDATION_K)
                n_local = int((np.diff(valid.indptr) > 0).sum())
                summed = all_sum([local * n_local if n_local else 0.0, n_local])
                score = float(summed[0] / summed[1])
                info += f"  valid ndcg@{VALIDATION_K} {score:.4f}"
                if stopping.update(epoch + 1, score, partial(dict, current)):
                    advance(info=info)
                    break
            advance(info=info)
    final = stopping.best_state if valid is not None else tables()
    full = _gather_users(final, shard, group, world)
    return Trained(
        tables=full,
        item_prior=q.astype(np.float32),
        best_epoch=stopping.best_epoch if valid is not None else model.epochs,
        validation_ndcg=stopping.best_score if valid is not None else float("nan"),
        digest=_agree(full, group, world),
    )


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
