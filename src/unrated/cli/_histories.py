"""``unrated recommend --histories``: lists for new visitors, a chunk of users at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from unrated.data.histories import Histories
    from unrated.models.base import Recommender

#: Rows of recommendations in memory at once (users: this // k).
CHUNK_ROWS = 100_000


def lists_for_histories(
    recommender: Recommender,
    histories: Histories,
    k: int,
    *,
    include_seen: bool,
    fallback: bool,
    rules: dict[str, Any],
) -> Iterator[pl.DataFrame]:
    """The lists of ``histories``, a frame per chunk of users: the columns of ``recommend``.

    ``user_id`` holds the file's ids; ``fallback`` is there with ``fallback``.
    """
    import polars as pl

    from unrated.errors import DataError, quoted

    positions = histories.fold(recommender.items_)
    if not fallback and len(lost := histories.users_without(positions)):
        users = ", ".join(quoted(u) for u in lost[:5].tolist()) + (", ..." if len(lost) > 5 else "")
        many = f"{len(lost):,} histories have" if len(lost) > 1 else "1 history has"
        raise DataError(
            f"{many} no item the model knows (users {users}); "
            "--fallback-popular gives them the most popular items",
            path=histories.path,
        )
    ids = recommender.items_.ids
    for user_ids, lines in histories.chunks(positions, max(1, CHUNK_ROWS // k)):
        recs = recommender.recommend_history(
            [ids[line] for line in lines],
            k,
            exclude_seen=not include_seen,
            fallback="popular" if fallback else None,
            **rules,
        )
        frame = recs.to_frame()
        rows = frame["history"].to_numpy()
        frame = frame.with_columns(pl.Series("history", user_ids[rows])).rename(
            {"history": "user_id"}
        )
        if fallback:
            flags = ["popular" if f else None for f in recs.fallback[rows].tolist()]
            frame = frame.with_columns(pl.Series("fallback", flags, dtype=pl.String))
        yield frame
