"""The shared data sets and the split each benchmark measures them on.

Own splits where the data set ships one (Gowalla: LightGCN's; ML-1M: DiffRec's train/test;
Amazon Beauty: SELFRec's leave-last-out); elsewhere the 20% per-user holdout, seed 0.
"""

from __future__ import annotations

import unrated as ur
from _measure import DATA

#: name -> (file, None) for a 20% holdout of one file, or (train file, test file).
DATASETS: dict[str, tuple[str, str | None]] = {
    "ml-100k": ("ml-100k/ratings.csv", None),
    "ml-latest-small": ("ml-latest-small/ratings.csv", None),
    "lastfm-2k": ("lastfm-2k/user_artists.csv", None),
    "citeulike-a": ("citeulike-a/interactions.csv", None),
    "amazon-beauty": ("amazon-beauty-selfrec/train.csv", "amazon-beauty-selfrec/test.csv"),
    "ml-1m": ("ml-1m-diffrec/train.csv", "ml-1m-diffrec/test.csv"),
    "gowalla": ("gowalla-lightgcn/train.csv", "gowalla-lightgcn/test.csv"),
}


def split_name(name: str) -> str:
    """How ``name`` is split, in words, for tables."""
    return "20% per-user holdout, seed 0" if DATASETS[name][1] is None else "its own train/test"


def load(name: str) -> tuple[ur.Interactions, ur.Interactions]:
    """(train, test) of the shared data set ``name``."""
    first, second = DATASETS[name]
    if second is None:
        split = ur.split_holdout(ur.read_interactions(DATA / first), fraction=0.2, seed=0)
        return split.train, split.test
    return ur.read_interactions(DATA / first), ur.read_interactions(DATA / second)
