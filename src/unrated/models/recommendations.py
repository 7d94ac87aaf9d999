"""Recommendations: the top-k lists every model returns, with ids, scores and positions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # polars is imported where a frame is made, not at start-up
    import polars as pl


@dataclass(frozen=True, eq=False)
class Recommendations:
    """Top-k lists: row ``r`` is for ``user_ids[r]``, best item first.

    Attributes:
        user_ids: (n,) the users (or history numbers, for ``recommend_history``; query
            items, for ``similar_items``).
        item_ids: (n, k) object array of external item ids; None pads a list that ran out
            of items (everything else excluded).
        scores: (n, k) float32 model scores; -inf where padded.
        item_idx: (n, k) int64 internal item positions; -1 where padded.
        n_unknown_items: items in the given histories that the model does not know (dropped).
        fallback: (n,) bool, True where a row holds the most popular items instead of the
            model's answer (``recommend_history(..., fallback="popular")``); its scores are
            then the numbers of distinct training users per item.
        query_column: what ``user_ids`` are, and their column name in :meth:`to_frame`:
            ``user_id``, ``history`` (0-based history numbers) or ``query_item_id``.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    scores: np.ndarray
    item_idx: np.ndarray
    n_unknown_items: int = 0
    fallback: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    query_column: str = "user_id"

    def __post_init__(self) -> None:
        if len(self.fallback) != len(self.user_ids):  # none given: no row is a fallback
            object.__setattr__(self, "fallback", np.zeros(len(self.user_ids), dtype=bool))

    def __len__(self) -> int:
        return len(self.user_ids)

    def to_frame(self, *, user_column: str | None = None) -> pl.DataFrame:
        """Long format, one row per recommendation: ``<query_column>, item_id, rank, score``.

        ``user_column`` renames the first column (default: :attr:`query_column`).
        """
        n, k = self.item_idx.shape
        valid = (self.item_idx >= 0).ravel()
        users = np.repeat(self.user_ids, k)[valid]
        import polars as pl

        return pl.DataFrame(
            {
                user_column or self.query_column: users.tolist(),
                "item_id": self.item_ids.ravel()[valid].tolist(),
                "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), n)[valid],
                "score": self.scores.ravel()[valid],
            }
        )
