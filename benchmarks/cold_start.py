"""New products (issue 19): content and hybrid models against collaborative ones, three splits.

* ``new-items``: the products first sold in the last 90 days are held out with every purchase
  of them (``split --protocol new-items --days 90``); every model ranks them with the others.
* ``mixed``: every pair first seen in the last 90 days is held out (new products and old
  ones alike), the new products kept in the vocabulary with no purchases: what giving new
  products a place in the lists (``cold_weight``) costs the old ones.
* ``holdout``: the 20% per-user holdout, seed 0 (bought items only): the hybrid against its
  base with a paired test (no loss for warm items).

Recall@20 and NDCG@20 with 95% bootstrap intervals (1,000 resamples of the users); "new
share" is the share of the top-20 lists taken by products nobody bought in train. Data:
online-retail (cleaned; its Description column describes the products) and ml-100k (its
items.csv: title, year, genres). ml-latest-small ships no movies file, so it has nothing to
describe its movies by and is left out.

    nice -n 10 python benchmarks/cold_start.py [--data online-retail ml-100k] [--days 90]
"""

from __future__ import annotations

import argparse
import warnings
from dataclasses import replace
from typing import Any

import numpy as np

import unrated as ur
from _measure import DATA
from unrated.data.catalogue import Catalogue, describe, read_catalogue
from unrated.data.decay import SECONDS_PER_DAY
from unrated.data.ids import IdIndex
from unrated.data.interactions import build_interactions
from unrated.data.new_items import split_new_items
from unrated.data.split import Split
from unrated.evaluation.compare import Comparison, compare
from unrated.evaluation.stats import bootstrap_indices, paired_test

SETS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "online-retail": ("online-retail/online_retail.csv.gz", {"clean": True}, None),
    "ml-100k": ("ml-100k/ratings.csv", {}, "ml-100k/items.csv"),
}
NEW_ITEMS = [
    "ials",
    "ease",
    "item-knn",
    "content",
    "hybrid:base=ials",
    "hybrid:base=ease",
    "hybrid:base=item-knn",
    "hybrid:base=ials,cold_weight=1.5",
    "hybrid:base=ials,cold_weight=2",
    "hybrid:base=ease,cold_weight=2",
]
MIXED = [
    "ials",
    "content",
    "hybrid:base=ials",
    "hybrid:base=ials,cold_weight=1.5",
    "hybrid:base=ials,cold_weight=2",
    "ease",
    "hybrid:base=ease",
    "hybrid:base=ease,cold_weight=1.5",
    "hybrid:base=ease,cold_weight=2",
]
WARM_BASES = ["ials", "ease", "item-knn"]


def split_mixed(data: ur.Interactions, days: float) -> Split:
    """Pairs first seen in the last ``days`` days to test (train users only), all items kept."""
    assert data.times is not None
    coo = data.matrix.tocoo()
    in_test = data.times >= data.times.max() - days * SECONDS_PER_DAY
    train_users = np.bincount(coo.row[~in_test], minlength=data.n_users) > 0
    kept = in_test & train_users[coo.row]
    user_map = np.cumsum(train_users) - 1
    users = IdIndex(data.users.ids[train_users])

    def part(mask: np.ndarray) -> ur.Interactions:
        rows, cols = user_map[coo.row[mask]], coo.col[mask]
        return build_interactions(rows, cols, coo.data[mask], users, data.items)

    train = replace(part(~in_test), item_names=data.item_names)
    return Split(train, part(kept), f"mixed(pairs of the last {days:g} days)")


def new_share(comparison: Comparison, spec: str) -> float:
    """Share of the top-K lists taken by items with no purchase in train."""
    result = next(r for r in comparison.results if r.spec == spec)
    unbought = (
        np.bincount(comparison.split.train.matrix.indices, minlength=len(result.report.item_counts))
        == 0
    )
    counts = result.report.item_counts
    return float(counts[unbought].sum() / max(counts.sum(), 1))


def ridge(split: Split, catalogue: Catalogue | None, penalty: float) -> tuple[float, float]:
    """(NDCG@20, new share) of iALS with its unbought items' factors from their features.

    What was tried instead of neighbours: a ridge regression of the bought items' factors
    on their features, applied to the unbought ones.
    """
    model = ur.make_model("ials").fit(split.train)
    features = ur.make_model("content").fit(split.train, items=catalogue).features_
    factors = model.item_factors_.astype(np.float64)
    bought = np.bincount(split.train.matrix.indices, minlength=factors.shape[0]) > 0
    warm = features[np.flatnonzero(bought)]
    gram = (warm.T @ warm).toarray() + penalty * np.eye(features.shape[1])
    weights = np.linalg.solve(gram, warm.T @ factors[bought])
    factors[~bought] = features[np.flatnonzero(~bought)] @ weights
    model.item_factors_ = factors.astype(np.float32)
    report = ur.evaluate(model, split, k=20)
    counts = report.item_counts
    return report.summary()["ndcg@20"], float(counts[~bought].sum() / max(counts.sum(), 1))


def table(comparison: Comparison, specs: list[str]) -> None:
    print("| model | NDCG@20 | Recall@20 | new share | fit s |")
    print("|---|---|---|---|---|")
    by_spec = {r.spec: r for r in comparison.results}
    for spec in specs:
        result = by_spec[spec]
        cells = []
        for metric in ("ndcg@20", "recall@20"):
            interval = result.intervals[metric]
            cells.append(f"{interval.mean:.4f} [{interval.low:.4f}, {interval.high:.4f}]")
        share = new_share(comparison, spec)
        print(f"| `{spec}` | {' | '.join(cells)} | {share:.1%} | {result.fit_seconds:.1f} |")
    print()


def warm(split: Split, catalogue: Catalogue | None) -> None:
    """The hybrid against its base on bought items: paired differences of NDCG@20."""
    print("| base | base NDCG@20 | hybrid NDCG@20 | hybrid − base [95%] | p |")
    print("|---|---|---|---|---|")
    for base in WARM_BASES:
        alone = ur.make_model(base).fit(split.train)
        hybrid = ur.make_model(f"hybrid:base={base}").fit(split.train, items=catalogue)
        a = ur.evaluate(alone, split, k=20).per_user["ndcg@20"]
        b = ur.evaluate(hybrid, split, k=20).per_user["ndcg@20"]
        test = paired_test(b, a, bootstrap_indices(len(a), rounds=1000, seed=0))
        difference = test.difference
        print(
            f"| `{base}` | {a.mean():.4f} | {b.mean():.4f} | {difference.mean:+.5f} "
            f"[{difference.low:+.5f}, {difference.high:+.5f}] | {test.p_value:.2g} |"
        )
    print()


def print_ridge(split: Split, catalogue: Catalogue | None) -> None:
    cells = []
    for penalty in (0.01, 0.1, 1.0):
        ndcg, share = ridge(split, catalogue, penalty)
        cells.append(f"λ {penalty:g}: NDCG@20 {ndcg:.4f}, new share {share:.1%}")
    print("Ridge from features to iALS factors instead of neighbours: " + "; ".join(cells) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--days", type=float, default=90.0)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ur.DataWarning)  # online-retail's cleaning notes
    for name in args.data:
        path, options, items = SETS[name]
        data = ur.read_interactions(DATA / path, **options)
        catalogue = read_catalogue(DATA / items) if items else None
        if catalogue is not None:
            data = describe(data, catalogue, complete=False)[0]
        print(f"## {name}\n")
        split = split_new_items(data, days=args.days)
        print(f"### new-items: {split.protocol}; {split.test.nnz:,} test pairs\n")
        table(compare(NEW_ITEMS, split, k=(20,), curve=0, items=catalogue), NEW_ITEMS)
        print_ridge(split, catalogue)
        split = split_mixed(data, args.days)
        print(f"### {split.protocol}; {split.test.nnz:,} test pairs\n")
        table(compare(MIXED, split, k=(20,), curve=0, items=catalogue), MIXED)
        print_ridge(split, catalogue)
        print("### 20% per-user holdout, seed 0 (bought items)\n")
        warm(ur.split_holdout(data, fraction=0.2, seed=0), catalogue)


if __name__ == "__main__":
    main()
