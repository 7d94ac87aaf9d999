"""evaluate_histories: new visitors scored as the sequential literature scores them.

Each history is folded in, in its order (no refit), every item the model knows is ranked with
the history's own items excluded, and the list is compared with the user's target items: the
protocol of SASRec and gSASRec's validation users. The report is the one of
:func:`~unrated.evaluation.protocol.evaluate`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from unrated.data.histories import Histories, read_histories
from unrated.data.ids import IdIndex
from unrated.errors import DataError
from unrated.evaluation.protocol import Report, Scoring, check_ks, scored
from unrated.models.base import Recommender

#: Histories ranked per call of ``recommend_history``.
HISTORY_BATCH = 10_000


def evaluate_histories(
    model: Recommender,
    histories: Histories | str | Path,
    targets: Histories | str | Path,
    *,
    k: int | Iterable[int] = (10, 20),
    curve: int = 0,
    include_seen: bool = False,
    split_name: str | None = None,
    format: str = "table",
) -> Report:
    """Score ``model`` on new visitors: each history folded in, its user's targets held out.

    The protocol of the sequential literature (SASRec, gSASRec): for each history, read in
    its order (:meth:`~unrated.models.base.Recommender.recommend_history`, no refit), every
    item the model knows is ranked, the history's own items excluded, and the top max(k)
    is compared with the items of the same user id in ``targets``.

    Args:
        model: a fitted model.
        histories: :class:`~unrated.data.histories.Histories`, or a file that
            :func:`~unrated.data.histories.read_histories` reads.
        targets: the held-out items, the same way (their order does not matter).
        k: one or more list lengths.
        curve: as in :func:`~unrated.evaluation.protocol.evaluate`.
        include_seen: rank the history's items too (re-buys allowed).
        split_name: how to describe the test set in the report.
        format: of files given by path: ``"table"`` or ``"sequences"``.

    Target pairs that cannot be ranked are dropped and counted in
    :attr:`Report.dropped_test_pairs`: their item is unknown to the model, or their user
    has no history with an item it knows.
    """
    ks = check_ks(k)
    model.check_fitted()
    if not isinstance(histories, Histories):
        histories = read_histories(histories, format=format)
    if not isinstance(targets, Histories):
        targets = read_histories(targets, format=format, order_col="")
    started = time.perf_counter()
    positions = histories.fold(model.items_)
    seen = histories.matrix(positions, len(model.items_))
    relevant, total = _relevant(histories, targets, model, seen)
    rows = np.flatnonzero(np.diff(relevant.indptr) > 0)
    if len(rows) == 0:
        raise DataError("no target can be ranked: nothing to evaluate", path=targets.path)
    max_k = max(*ks, curve)
    ids = model.items_.ids
    parts = [
        model.recommend_history(
            [ids[line] for line in histories.known(positions, rows[at : at + HISTORY_BATCH])],
            max_k,
            exclude_seen=not include_seen,
        ).item_idx
        for at in range(0, len(rows), HISTORY_BATCH)
    ]
    return scored(
        model,
        np.concatenate(parts),
        relevant[rows],
        seen[rows],
        histories.user_ids[rows],
        Scoring(
            ks,
            curve,
            include_seen,
            split_name or f"{histories.path} → {targets.path}",
            total - relevant.nnz,
            started,
            histories=True,
        ),
    )


def _relevant(
    histories: Histories, targets: Histories, model: Recommender, seen: sp.csr_matrix
) -> tuple[sp.csr_matrix, int]:
    """Each history's target items (histories × items, binary), and all distinct target pairs.

    Targets of users without a history, or whose history has no known item, are left out.
    """
    found = IdIndex(histories.user_ids).positions(
        targets.user_ids.tolist(), kind="user", missing="mark"
    )
    usable = np.append(np.diff(seen.indptr) > 0, False)  # found -1 (no history): False
    row_of = np.where(usable[found], found, -1)
    owner = np.repeat(np.arange(len(targets)), np.diff(targets.starts))
    pairs = np.unique(owner.astype(np.int64) * len(targets.items) + targets.item_codes)
    items = targets.fold(model.items_)
    rows = row_of[owner]
    keep = (rows >= 0) & (items >= 0)
    matrix = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (rows[keep], items[keep])),
        shape=seen.shape,
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix, len(pairs)
