"""PyTorch engine of ``mf``: the GPU path, and the CPU path when an MLP tower is on.

Same algorithm as the numba kernel (``_sgd_kernels.mf_epoch``): user-grouped batches, the
summed loss, lazy Adam (``torch.optim.SparseAdam``) on the embeddings and biases. torch is
imported here only, so the rest of unrated works without it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from unrated.errors import InvalidParameterError


def import_torch() -> Any:
    """The torch module, or an error that says how to install it."""
    try:
        import torch
    except ImportError:
        raise InvalidParameterError(
            "EmbeddingMF needs PyTorch for device='cuda' or tower > 0: "
            "pip install 'unrated[torch]' (or use device='cpu' with tower=0)"
        ) from None
    return torch


def cuda_available() -> bool:
    """True when torch is installed and sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def batch_loss(torch: Any, loss: int, scores: Any, correction: Any | None) -> Any:
    """The summed loss of a batch: ``scores`` (rows, 1 + negatives), the positive first.

    ``loss`` indexes ``_sgd_kernels.LOSSES`` (bce, mse, bpr, softmax); ``correction`` is
    sampled softmax's logQ term for the negatives (None for the other losses).
    """
    fn = torch.nn.functional
    if loss == 0:
        return fn.softplus(-scores[:, 0]).sum() + fn.softplus(scores[:, 1:]).sum()
    if loss == 1:
        return ((scores[:, 0] - 1.0) ** 2).sum() + (scores[:, 1:] ** 2).sum()
    if loss == 2:
        return fn.softplus(scores[:, 1:] - scores[:, :1]).sum()
    logits = torch.cat([scores[:, :1], scores[:, 1:] - correction], dim=1)
    return (torch.logsumexp(logits, dim=1) - logits[:, 0]).sum()


class TorchEngine:
    """Holds the tables on ``device`` and trains them one epoch at a time."""

    def __init__(
        self,
        tables: dict[str, np.ndarray],
        indptr: np.ndarray,
        items: np.ndarray,
        *,
        device: str,
        tower: int,
        loss: int,
        learning_rate: float,
        regularization: float,
        log_q: np.ndarray,
        user_log_free: np.ndarray,
        seed: int,
    ) -> None:
        if device == "cuda":  # deterministic cuBLAS (must be set before CUDA starts)
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch = self.torch = import_torch()
        self.device = torch.device(device)
        generator = torch.Generator().manual_seed(seed)
        self.embeddings = {
            name: torch.nn.Embedding.from_pretrained(
                torch.from_numpy(np.atleast_2d(array.T).T.copy()), freeze=False, sparse=True
            ).to(self.device)
            for name, array in tables.items()
        }
        params = [p for e in self.embeddings.values() for p in e.parameters()]
        self.optimizers = [torch.optim.SparseAdam(params, lr=learning_rate)]
        self.towers: list[Any] = []
        if tower > 0:
            factors = tables["user_factors"].shape[1]
            for _ in range(2):  # user tower, item tower
                net = torch.nn.Sequential(
                    torch.nn.Linear(factors, tower),
                    torch.nn.ReLU(),
                    torch.nn.Linear(tower, factors),
                )
                for layer in (net[0], net[2]):
                    torch.nn.init.normal_(layer.weight, std=0.01, generator=generator)
                    torch.nn.init.zeros_(layer.bias)
                self.towers.append(net.to(self.device))
            tower_params = [p for net in self.towers for p in net.parameters()]
            self.optimizers.append(torch.optim.Adam(tower_params, lr=learning_rate))
        self.indptr, self.items = indptr, items
        self.loss, self.regularization = loss, regularization
        self.log_q = torch.from_numpy(log_q.astype(np.float32)).to(self.device)
        self.user_log_free = torch.from_numpy(user_log_free.astype(np.float32)).to(self.device)

    def _towered(self, vectors: Any, which: int) -> Any:
        return vectors + self.towers[which](vectors) if self.towers else vectors

    def run_epoch(self, order: np.ndarray, starts: np.ndarray, negatives: np.ndarray) -> float:
        """Train one epoch; returns the summed loss.

        Batch b holds users ``order[starts[b]:starts[b+1]]``: all their positives, each
        with its row of ``negatives``.
        """
        counts = self.indptr[order + 1] - self.indptr[order]
        offsets = np.concatenate([[0], np.cumsum(counts)])
        rows = np.repeat(self.indptr[order] - offsets[:-1], counts) + np.arange(offsets[-1])
        row_users = np.repeat(order, counts)
        tuples = np.concatenate([self.items[:, None], negatives], axis=1)
        torch = self.torch
        previous, threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
        torch.use_deterministic_algorithms(True)  # sorted, not atomic, scatter-adds on CUDA
        if self.device.type == "cpu":
            # A batch's operations are far too small for intra-op threads to pay: 2 epochs of
            # ML-100k with a tower take 4.1 s on one thread and 58.7 s on two (2 busy cores).
            torch.set_num_threads(1)
        try:
            return self._run_epoch(rows, row_users, offsets[starts], tuples)
        finally:
            torch.use_deterministic_algorithms(previous)
            torch.set_num_threads(threads)

    def _run_epoch(
        self, rows: np.ndarray, row_users: np.ndarray, row_starts: np.ndarray, tuples: np.ndarray
    ) -> float:
        torch = self.torch
        users_all = torch.from_numpy(row_users.astype(np.int64)).to(self.device)
        tuples_all = torch.from_numpy(tuples[rows].astype(np.int64)).to(self.device)
        e = self.embeddings
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        for b in range(len(row_starts) - 1):
            users = users_all[row_starts[b] : row_starts[b + 1]]
            items = tuples_all[row_starts[b] : row_starts[b + 1]]
            raw_u, raw_i = e["user_factors"](users), e["item_factors"](items)
            bias_u, bias_i = e["user_bias"](users)[:, 0], e["item_bias"](items)[..., 0]
            scores = torch.bmm(self._towered(raw_i, 1), self._towered(raw_u, 0)[:, :, None])
            if self.loss >= 2:  # bpr and softmax are blind to a user bias: leave it at 0
                bias_u = bias_u.detach()
            scores = scores[:, :, 0] + bias_u[:, None] + bias_i
            correction = None
            if self.loss == 3:
                correction = self.log_q[items[:, 1:]] - self.user_log_free[users][:, None]
            data = batch_loss(torch, self.loss, scores, correction)
            penalty = (raw_u**2).sum() + (raw_i**2).sum() + (bias_u**2).sum() + (bias_i**2).sum()
            for optimizer in self.optimizers:
                optimizer.zero_grad(set_to_none=True)
            (data + self.regularization * penalty).backward()
            for optimizer in self.optimizers:
                optimizer.step()
            total += data.detach()
        return float(total.cpu())

    def tables(self) -> dict[str, np.ndarray]:
        """The factors after the towers (what scoring uses), as float32 numpy arrays."""
        torch = self.torch
        with torch.no_grad():
            out = {}
            for name, embedding in self.embeddings.items():
                weight = embedding.weight
                if name.endswith("factors"):
                    weight = self._towered(weight, 0 if name.startswith("user") else 1)
                else:
                    weight = weight[:, 0]
                out[name] = weight.detach().cpu().numpy().astype(np.float32, copy=True)
        return out
