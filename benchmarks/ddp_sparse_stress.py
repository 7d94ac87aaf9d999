r"""Why ``--engine torchrun`` all-reduces sparse gradients itself on CPU instead of using DDP.

Two ranks train a sparse embedding table (``mf``'s item tables: 1,642 × 64 and × 1) with
SparseAdam on random batches of 200-600 users × 5 items, for ``STEPS`` steps, either
wrapped in ``DistributedDataParallel`` (``ddp``) or with one ``dist.all_reduce`` per
gradient after backward (``allreduce``). Run it a few times each; with torch 2.13.0+cpu
and gloo, ``ddp`` dies with "malloc(): unaligned tcache chunk detected" in some runs.

    for mode in ddp allreduce; do for run in 1 2 3; do
      torchrun --nproc-per-node 2 --rdzv-backend c10d --rdzv-endpoint 127.0.0.1:29700 \
          benchmarks/ddp_sparse_stress.py 3000 $mode; echo "$mode exit $?"; done; done
"""

from __future__ import annotations

import sys
import time
import warnings

import torch
import torch.distributed as dist

ITEMS, FACTORS = 1642, 64


class Tables(torch.nn.Module):  # type: ignore[misc]
    """Item factors and biases, as sparse-gradient embeddings; the loss is their L2."""

    def __init__(self) -> None:
        super().__init__()
        self.factors = torch.nn.Embedding(ITEMS, FACTORS, sparse=True)
        self.bias = torch.nn.Embedding(ITEMS, 1, sparse=True)

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        """The summed squares of the rows ``items`` selects."""
        return self.factors(items).pow(2).sum() + self.bias(items).pow(2).sum()


def main() -> None:
    steps, mode = int(sys.argv[1]), sys.argv[2]
    warnings.simplefilter("ignore")  # the sparse tensors' invariant-check notice
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    tables = Tables()
    model = torch.nn.parallel.DistributedDataParallel(tables) if mode == "ddp" else tables
    optimizer = torch.optim.SparseAdam(list(tables.parameters()), lr=0.01)
    draws = torch.Generator().manual_seed(rank)
    started = time.perf_counter()
    for _ in range(steps):
        rows = int(torch.randint(200, 600, (1,), generator=draws))
        loss = model(torch.randint(0, ITEMS, (rows, 5), generator=draws))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if mode == "allreduce":
            for parameter in tables.parameters():
                dist.all_reduce(parameter.grad)
        optimizer.step()
    dist.barrier()
    if rank == 0:
        print(f"{mode}: {steps} steps in {time.perf_counter() - started:.1f} s", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
