"""Issue 2's figures: quality and speed of popular, item-knn and EASE.

ML-100k, 20% per-user holdout (seed 0): NDCG@20, Recall@20, fit and recommend-all times.
Gowalla (LightGCN split): item-knn fit + recommend top-20 for every user, and peak memory.

Run: python benchmarks/foundation.py [--skip-gowalla]
"""

from __future__ import annotations

import sys

import unrated as ur
from _measure import DATA, peak_rss_gib, timed


def movielens() -> None:
    data = ur.read_interactions(DATA / "ml-100k" / "ratings.csv")
    split = ur.split_holdout(data, fraction=0.2, seed=0)
    print("ML-100k, 20% per-user holdout, seed 0 (full ranking, train items excluded)")
    print("| model | NDCG@20 | truncated Recall@20 | Recall@20 | fit s | recommend-all s |")
    print("|---|---|---|---|---|---|")
    for spec in ("popular", "item-knn", "ease"):
        model = ur.make_model(spec)
        _, fit_s = timed(lambda model=model: model.fit(split.train))
        _, rec_s = timed(lambda model=model: model.recommend(model.users_.ids, k=20))
        summary = ur.evaluate(model, split, k=20).summary()
        print(
            f"| {spec} | {summary['ndcg@20']:.4f} | {summary['truncated_recall@20']:.4f} "
            f"| {summary['recall@20']:.4f} | {fit_s:.2f} | {rec_s:.2f} |"
        )


def gowalla() -> None:
    folder = DATA / "gowalla-lightgcn"
    (train, read_s) = timed(lambda: ur.read_interactions(folder / "train.csv"))
    test = ur.read_interactions(folder / "test.csv")
    model = ur.ItemKNN()
    _, fit_s = timed(lambda: model.fit(train))
    recs, rec_s = timed(lambda: model.recommend(model.users_.ids, k=20))
    summary = ur.evaluate(model, test, k=20).summary()
    print(f"\nGowalla (LightGCN split): {train!r}")
    print(
        f"item-knn (defaults): read {read_s:.1f} s, fit {fit_s:.1f} s, "
        f"recommend top-20 for {len(recs):,} users {rec_s:.1f} s, peak RSS {peak_rss_gib():.2f} GiB"
    )
    print(f"Recall@20 {summary['recall@20']:.4f}, NDCG@20 {summary['ndcg@20']:.4f}")


if __name__ == "__main__":
    movielens()
    if "--skip-gowalla" not in sys.argv:
        gowalla()
