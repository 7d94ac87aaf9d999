"""Each torchrun rank reads its own shard of the users, and the ranks agree on the ids.

A user's rows all go to rank ``hash(user id) mod world``, so every rank holds whole user
histories (the negative sampler needs a user's every positive). The id vocabularies are the
sorted union of the ranks' ids: the same ``users_``/``items_`` that
:func:`unrated.read_interactions` gives for the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from unrated.data._text import guess_delimiter
from unrated.data.ids import IdIndex
from unrated.data.interactions import Interactions
from unrated.data.io import find_columns, read_interactions
from unrated.errors import DataError, EngineError


@dataclass(frozen=True)
class Shard:
    """One rank's users: their rows of the users × items matrix, in global positions."""

    users: IdIndex  # every rank's users (the global vocabulary)
    items: IdIndex
    user_rows: np.ndarray  # (n_local,) int64 global positions of this rank's users
    matrix: sp.csr_matrix  # (n_local, n_items) float32 weights, sorted indices


def read_shard(
    path: Path,
    *,
    rank: int,
    world: int,
    group: Any,
    user_col: str | None = None,
    item_col: str | None = None,
    weight_col: str | None = None,
) -> Shard:
    """Read the rows of this rank's users from ``path`` (CSV/TSV/Parquet)."""
    import torch.distributed as dist

    lazy = _scan(path)
    user, item, _, weight = find_columns(
        lazy.collect_schema().names(),
        user_col=user_col,
        item_col=item_col,
        weight_col=weight_col,
        path=str(path),
    )
    columns = [user, item] + ([weight] if weight else [])
    # polars' hash is the same in every process of one polars version (checked below)
    mine = (pl.col(user).hash(seed=0) % world) == rank
    part = lazy.select(columns).filter(mine).collect()
    local = (
        read_interactions(part, user_col=user, item_col=item, time_col="", weight_col=weight or "")
        if part.height
        else None
    )
    local_ids = (local.users.ids, local.items.ids) if local else (None, None)
    gathered: list[Any] = [None] * world
    dist.all_gather_object(gathered, (*local_ids, pl.__version__), group=group)
    if len({g[2] for g in gathered}) > 1:
        raise EngineError("the ranks run different polars versions: shards would not match")
    users = _union([g[0] for g in gathered])
    items = _union([g[1] for g in gathered])
    if len(users) == 0:
        raise DataError("no interactions: the data has a header but no rows", path=str(path))
    if local is None:
        nothing = (np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(1, np.int64))
        empty = sp.csr_matrix(nothing, shape=(0, len(items)))
        return Shard(users, items, np.zeros(0, dtype=np.int64), empty)
    rows = users.positions(local.users.ids, kind="user")
    cols = items.positions(local.items.ids, kind="item")
    matrix = local.matrix
    remapped = sp.csr_matrix(
        (matrix.data, cols[matrix.indices].astype(np.int32), matrix.indptr),
        shape=(matrix.shape[0], len(items)),
    )
    remapped.sort_indices()
    return Shard(users, items, rows, remapped)


def gather_interactions(shard: Shard, *, rank: int, world: int, group: Any) -> Interactions | None:
    """The whole training data on rank 0 (for ``seen_`` and the fingerprint); None elsewhere."""
    import torch.distributed as dist

    pieces: list[Any] | None = [None] * world if rank == 0 else None
    dist.gather_object((shard.user_rows, shard.matrix), pieces, dst=0, group=group)
    if pieces is None:
        return None
    n_users, n_items = len(shard.users), len(shard.items)
    counts = np.zeros(n_users, dtype=np.int64)
    for user_rows, matrix in pieces:
        counts[user_rows] = np.diff(matrix.indptr)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    indices = np.empty(indptr[-1], dtype=np.int32)
    data = np.empty(indptr[-1], dtype=np.float32)
    for user_rows, matrix in pieces:
        lengths = np.diff(matrix.indptr)
        at = np.repeat(indptr[user_rows] - matrix.indptr[:-1], lengths) + np.arange(matrix.nnz)
        indices[at], data[at] = matrix.indices, matrix.data
    full = sp.csr_matrix((data, indices, indptr), shape=(n_users, n_items))
    return Interactions(full, shard.users, shard.items)


def _scan(path: Path) -> pl.LazyFrame:
    if not path.exists():
        raise DataError("file not found", path=str(path))
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        return pl.scan_parquet(path)
    opener = _gzip_head if suffixes and suffixes[-1] == ".gz" else _head
    separator = guess_delimiter(path, opener(path))
    frame = (
        pl.read_csv(path, separator=separator, infer_schema=False).lazy()
        if suffixes and suffixes[-1] == ".gz"
        else pl.scan_csv(path, separator=separator, infer_schema=False)
    )
    names = frame.collect_schema().names()
    return frame.rename({name: name.strip().lstrip("\ufeff") for name in names})


def _head(path: Path) -> str:
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        return handle.readline()


def _gzip_head(path: Path) -> str:
    import gzip

    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
        return handle.readline()


def _union(parts: list[np.ndarray | None]) -> IdIndex:
    """Sorted distinct ids of all ranks (sorted as read_interactions sorts them)."""
    present = [p for p in parts if p is not None and len(p)]
    if not present:
        return IdIndex([])
    if present[0].dtype == object:
        series = pl.Series([i for p in present for i in p.tolist()], dtype=pl.String)
    else:
        series = pl.Series(np.concatenate(present))
    return IdIndex(series.unique().sort().to_numpy())
