"""Training throughput of ``mf`` (positives per second per epoch) against a plain PyTorch loop.

Both sides train the same model (64 factors, biases, BCE, 4 uniform negatives per positive,
batches of BATCH positives) on the same data, timed in the same run:

* unrated: ``EmbeddingMF`` on CPU (bulk numba sampling + the numba batch kernel).
* baseline: the straightforward PyTorch way — a ``Dataset`` whose ``__getitem__`` draws the
  negatives of one positive (rejecting the user's items), a ``DataLoader``, ``nn.Embedding``
  and ``torch.optim.Adam``; timed over the first BASELINE_POSITIVES positives of an epoch.

    python benchmarks/mf_throughput.py [TRAIN.csv] [--batches 1024,8192,16384]  (default: Gowalla)

``--batches`` times ``mf`` at each batch size (the plain loop always at BATCH).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

import unrated as ur
from _measure import DATA

BATCH, NEGATIVES, FACTORS = 1024, 4, 64
BASELINE_POSITIVES = 100_000


class Pairs(Dataset[tuple[int, int, list[int]]]):
    """One positive per item, its negatives drawn in Python (the usual tutorial code)."""

    def __init__(self, matrix: object) -> None:
        coo = matrix.tocoo()  # type: ignore[attr-defined]
        self.users, self.items = coo.row, coo.col
        self.n_items = matrix.shape[1]  # type: ignore[attr-defined]
        self.rng = np.random.default_rng(0)
        self.owned = [
            set(matrix[u].indices.tolist())  # type: ignore[index]
            for u in range(matrix.shape[0])
        ]  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return len(self.users)

    def __getitem__(self, index: int) -> tuple[int, int, list[int]]:
        user = int(self.users[index])
        negatives = []
        while len(negatives) < NEGATIVES:
            item = int(self.rng.integers(self.n_items))
            if item not in self.owned[user]:
                negatives.append(item)
        return user, int(self.items[index]), negatives


class MF(torch.nn.Module):
    """Embeddings + biases, as in fastai's collab learner."""

    def __init__(self, n_users: int, n_items: int) -> None:
        super().__init__()
        self.users = torch.nn.Embedding(n_users, FACTORS)
        self.items = torch.nn.Embedding(n_items, FACTORS)
        self.user_bias = torch.nn.Embedding(n_users, 1)
        self.item_bias = torch.nn.Embedding(n_items, 1)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores (batch, 1 + negatives)."""
        return (
            (self.users(users)[:, None, :] * self.items(items)).sum(-1)
            + self.user_bias(users)
            + self.item_bias(items)[..., 0]
        )


def baseline(matrix: object) -> float:
    data = Pairs(matrix)
    loader = DataLoader(data, batch_size=BATCH, shuffle=True)
    model = MF(*matrix.shape)  # type: ignore[attr-defined]
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
    seen, started = 0, time.perf_counter()
    for users, positives, negatives in loader:
        items = torch.cat([positives[:, None], torch.stack(negatives, 1)], 1)
        labels = torch.zeros(items.shape, dtype=torch.float32)
        labels[:, 0] = 1
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(users, items), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(users)
        if seen >= BASELINE_POSITIVES:
            break
    return seen / (time.perf_counter() - started)


def unrated_rate(train: ur.Interactions, batch: int = BATCH, epochs: int = 5) -> float:
    model = ur.EmbeddingMF(
        factors=FACTORS,
        negatives=NEGATIVES,
        loss="bce",
        batch_size=batch,
        epochs=1,
        validation=0,
        device="cpu",
    )
    model.fit(train)  # compile and warm up
    model.set_params(epochs=epochs)
    started = time.perf_counter()
    model.fit(train)
    return train.nnz * epochs / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("train", nargs="?", default=DATA / "gowalla-lightgcn" / "train.csv")
    parser.add_argument("--batches", default=str(BATCH), help="mf batch sizes, comma-separated")
    args = parser.parse_args()
    train = ur.read_interactions(args.train)
    print(
        f"{args.train}: {train!r}; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"{NEGATIVES} negatives per positive, {FACTORS} factors; "
        f"torch threads {torch.get_num_threads()}"
    )
    rates = {int(b): unrated_rate(train, int(b)) for b in args.batches.split(",")}
    plain = baseline(train.binary())
    for batch, rate in rates.items():
        print(
            f"unrated mf (numba, fit incl. sampling), batch {batch}: {rate:,.0f} positives/s "
            f"per epoch ({rate / plain:.0f}x the plain loop)"
        )
    print(f"plain PyTorch DataLoader loop, batch {BATCH}: {plain:,.0f} positives/s")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
