"""SASRec on ml-1m-gsasrec's 512 validation users, as gSASRec measured them, beside set models.

    nice -n 10 python benchmarks/sasrec.py --minutes 8          # -> results/sasrec.md
    nice -n 10 python benchmarks/sasrec.py --minutes 8 --only ials,ease,graph-filter
    nice -n 10 python benchmarks/sasrec.py --minutes 4 --data beauty

Data: ``../shared/data/ml-1m-gsasrec`` (see its SOURCE.md). Training: ``train_sequences.txt``
(6,040 users, each line in order; read with its position as the time column). Test: the 512
validation users, history = ``val_sequences.txt`` (folded in, in order, no retraining), target
= ``val_next_item.txt``; every one of the 3,416 items ranked, the history's items filtered
(gSASRec's protocol). NDCG@10 and Recall@10 (one target: the hit rate), with 95% bootstrap
intervals over the 512 users (2,000 resamples). Published validation NDCG@10 on these users:
0.1428 (SASRec, BCE, 1 negative) and 0.1974 (gSASRec, gBCE, 256 negatives, t = 0.75).

``--data beauty``: ``amazon-beauty-selfrec`` (SELFRec's leave-last-out split: train.csv read
with its position as the time, each user's test.csv item the target, all 12,101 items ranked,
training items filtered). No published figure is checked for it.

Each sasrec run is time-boxed: one epoch is timed on its own, then the model is fitted for as
many epochs as ``--minutes`` holds (the table gives the epochs and the seconds). Torch on
1 thread (on 2 busy cores, 2 threads took 8x longer a batch).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import polars as pl
import torch

import unrated as ur
from _measure import DATA
from unrated.models.registry import make_model

SET = DATA / "ml-1m-gsasrec"
BEAUTY = DATA / "amazon-beauty-selfrec"
OUT = Path(__file__).parent / "results" / "sasrec.md"
SET_MODELS = {"ials": "ials", "ease": "ease", "graph-filter": "graph-filter"}
RUNS = {  # per data set, the goal first
    "ml-1m": {
        "sasrec gbce-256": "sasrec:loss=gbce,negatives=256,gbce_t=0.75",
        "sasrec bce-1": "sasrec:loss=bce,negatives=1",
        "sasrec softmax": "sasrec:loss=softmax",
        "sasrec sampled-softmax-256": "sasrec:loss=sampled_softmax,negatives=256",
        "sasrec sampled-softmax-256 early-stop": "sasrec:loss=sampled_softmax,negatives=256,"
        "validation=0.33,patience=10",
        "sasrec sampled-softmax-256 gsasrec-size": "sasrec:loss=sampled_softmax,negatives=256,"
        "factors=128,dropout=0.5,output=separate,validation=0.33,patience=10",
    }
    | SET_MODELS,
    "beauty": {  # the SASRec paper's length and dropout for Beauty
        "sasrec gbce-256": "sasrec:loss=gbce,negatives=256,max_length=50,dropout=0.5",
        "sasrec bce-1": "sasrec:loss=bce,negatives=1,max_length=50,dropout=0.5",
        "sasrec softmax": "sasrec:loss=softmax,max_length=50,dropout=0.5",
        "sasrec sampled-softmax-256": "sasrec:loss=sampled_softmax,max_length=50,dropout=0.5",
    }
    | SET_MODELS,
}


def read_lines(name: str) -> list[list[int]]:
    return [[int(x) for x in line.split()] for line in (SET / name).read_text().splitlines()]


def training_frame() -> pl.DataFrame:
    lines = read_lines("train_sequences.txt")
    return pl.DataFrame(
        {
            "user_id": np.repeat(np.arange(len(lines)), [len(x) for x in lines]),
            "item_id": np.concatenate([np.asarray(x) for x in lines]),
            "position": np.concatenate([np.arange(len(x)) for x in lines]),
        }
    )


def evaluate(model: ur.Recommender, data: str) -> tuple[np.ndarray, np.ndarray]:
    """Per user NDCG@10 and hit@10 of the next item.

    ml-1m: the validation histories folded in, in order; beauty: every user's training
    sequence (what the model learned of them), the test item the target.
    """
    if data == "beauty":
        test = pl.read_csv(BEAUTY / "test.csv")
        ranked = model.recommend(test["user_id"].to_list(), k=10).item_ids.astype(np.int64)
        targets = test["item_id"].to_numpy()
    else:
        histories = read_lines("val_sequences.txt")
        targets = np.array([int(x) for x in (SET / "val_next_item.txt").read_text().split()])
        ranked = model.recommend_history(histories, k=10).item_ids.astype(np.int64)
    hits = ranked == targets[:, None]
    where = hits.argmax(axis=1)
    ndcg = np.where(hits.any(axis=1), 1.0 / np.log2(where + 2.0), 0.0)
    return ndcg, hits.any(axis=1).astype(np.float64)


def interval(values: np.ndarray) -> str:
    rng = np.random.default_rng(0)
    means = values[rng.integers(0, len(values), (2000, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return f"{values.mean():.4f} [{low:.4f}, {high:.4f}]"


def fit(
    spec: str, data: ur.Interactions, minutes: float, threads: int, epochs: int
) -> tuple[ur.Recommender, str]:
    model = make_model(spec)
    if not spec.startswith("sasrec"):
        started = time.perf_counter()
        model.fit(data, progress=False)
        return model, f"{time.perf_counter() - started:.0f} s"
    if not epochs:  # time one epoch alone, then fill the box (loose on a busy machine)
        model.set_params(threads=threads, epochs=1)
        started = time.perf_counter()
        model.fit(data, progress=False)
        epochs = max(1, int(minutes * 60 / (time.perf_counter() - started)))
    model.set_params(threads=threads, epochs=epochs)
    started = time.perf_counter()
    model.fit(data, progress=True)
    seconds = time.perf_counter() - started
    return model, f"{epochs} epochs, {seconds:.0f} s ({seconds / epochs:.1f} s/epoch)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=8.0, help="training box per sasrec run")
    parser.add_argument("--only", default="", help="comma-separated run names (RUNS)")
    parser.add_argument("--data", default="ml-1m", choices=list(RUNS))
    parser.add_argument("--epochs", type=int, default=0, help="sasrec epochs (0: fill --minutes)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on busy cores)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.data == "beauty":
        data = ur.read_interactions(BEAUTY / "train.csv", time_col="position")
    else:
        data = ur.read_interactions(training_frame(), time_col="position")
    runs = RUNS[args.data]
    chosen = [n for n in runs if not args.only or any(o == n for o in args.only.split(","))]
    rows = []
    for name in chosen:
        model, cost = fit(runs[name], data, args.minutes, args.threads, args.epochs)
        ndcg, recall = evaluate(model, args.data)
        row = f"| {name} | `{runs[name]}` | {interval(ndcg)} | {interval(recall)} | {cost} |"
        print(row, flush=True)
        rows.append(row)
    users = "its test users" if args.data == "beauty" else "512 validation users"
    header = [
        f"# SASRec on {args.data}, {users} ({platform.processor() or 'cpu'}, "
        f"torch {args.threads} threads, "
        + (f"{args.epochs} epochs" if args.epochs else f"box {args.minutes:g} min")
        + f" per sasrec run, load {os.getloadavg()[0]:.1f} at the end)",
        "",
        "Command: `nice -n 10 python benchmarks/sasrec.py "
        + " ".join(f"--{k} {v}" for k, v in vars(args).items() if v)
        + "`",
        "",
        "Published validation NDCG@10: 0.1428 (SASRec, BCE, 1 negative), 0.1974 (gSASRec).",
        "",
        "| run | spec | NDCG@10 [95%] | Recall@10 [95%] | training |",
        "|---|---|---|---|---|",
    ]
    OUT.parent.mkdir(exist_ok=True)
    with OUT.open("a") as out:
        out.write("\n".join(header + rows) + "\n\n")


if __name__ == "__main__":
    main()
