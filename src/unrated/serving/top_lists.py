"""Every known user's top list, computed in the background once a model is in service.

Some models spend many milliseconds on one user: a graph filter reads its graph sixteen times
and its singular vectors once per request (about 35 ms of one core on Gowalla), while the
same work for a batch of users shares each pass over the graph. The service therefore ranks
all known users in batches, in a background thread at a lower priority, and answers a known
user from that list as soon as theirs is ready — the same items and scores as ranking them
alone (a model's scores do not depend on the batch), so a request never sees a difference,
only the latency. A request the list cannot answer (``k`` beyond its depth once excluded
items are taken out, seen items allowed, an ANN index) is ranked live, as before.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from unrated.models.base import Recommender

logger = logging.getLogger("uvicorn.error")

#: Items kept per user: requests for up to this many (after exclusions) are answered.
DEPTH = 100
#: Users ranked per background batch (one batch is a few seconds of work at most).
BATCH_USERS = 512
#: ``auto`` builds the lists when one user takes longer than this to rank alone.
AUTO_SECONDS = 0.005
#: ``auto`` never lets the lists take more memory than this.
AUTO_MAX_BYTES = 1 << 30
PRECOMPUTE_CHOICES = ("auto", "on", "off")


@dataclass(eq=False)
class TopLists:
    """Per known user, the ``depth`` best unseen items and their scores, filled in batches.

    Attributes:
        items: users × depth item positions (−1 where a user has fewer candidates).
        scores: users × depth scores.
        ready: per user, True once the row is filled (then never changed).
    """

    items: np.ndarray
    scores: np.ndarray
    ready: np.ndarray
    n_items: int
    started_at: float | None = None
    finished_at: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    @classmethod
    def empty(cls, n_users: int, n_items: int, depth: int = DEPTH) -> TopLists:
        """Lists for ``n_users`` users of ``n_items`` items, none ready yet."""
        depth = min(depth, n_items)
        return cls(
            items=np.full((n_users, depth), -1, dtype=np.int32),
            scores=np.full((n_users, depth), -np.inf, dtype=np.float32),
            ready=np.zeros(n_users, dtype=bool),
            n_items=n_items,
        )

    @property
    def depth(self) -> int:
        """Items kept per user."""
        return int(self.items.shape[1])

    @property
    def n_ready(self) -> int:
        """Users whose list is ready."""
        return int(self.ready.sum())

    def report(self) -> dict[str, int | float | None]:
        """Depth, users ready and in all, and the seconds it took (None until done)."""
        seconds = None
        if self.finished_at is not None and self.started_at is not None:
            seconds = round(self.finished_at - self.started_at, 3)
        return {
            "depth": self.depth,
            "ready_users": self.n_ready,
            "users": len(self.ready),
            "seconds": seconds,
        }

    def lookup(
        self, user_idx: int, k: int, blocked: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """One user's row of ``rank_positions([user_idx], k, blocked=blocked)``, from the list.

        None when the list is not ready, or runs out of allowed items before ``k`` while the
        catalogue may hold more.
        """
        if not self.ready[user_idx]:
            return None
        items, scores = self.items[user_idx], self.scores[user_idx]
        keep = items >= 0
        if blocked is not None:
            keep &= ~blocked[np.maximum(items, 0)]
        kept = np.flatnonzero(keep)
        width = min(k, self.n_items)
        if len(kept) < width and items[-1] >= 0 and self.depth < self.n_items:
            return None  # the list was cut at its depth: items further down may be allowed
        chosen = kept[:width]
        out_items = np.full(width, -1, dtype=np.int64)
        out_scores = np.full(width, -np.inf, dtype=np.float32)
        out_items[: len(chosen)] = items[chosen]
        out_scores[: len(chosen)] = scores[chosen]
        return out_items, out_scores

    def start(self, model: Recommender) -> None:
        """Fill the lists in a daemon thread at a lower priority; returns at once."""
        self.started_at = time.time()
        threading.Thread(target=self._fill, args=(model,), name="top-lists", daemon=True).start()

    def stop(self) -> None:
        """Stop filling after the current batch (the model is no longer served)."""
        self._stop.set()

    def _fill(self, model: Recommender) -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # requests come first
        n_users = len(self.ready)
        for first in range(0, n_users, BATCH_USERS):
            if self._stop.is_set():
                return
            rows = np.arange(first, min(first + BATCH_USERS, n_users))
            items, scores = model.rank_positions(rows, self.depth)
            self.items[rows, : items.shape[1]] = items
            self.scores[rows, : scores.shape[1]] = scores
            self.ready[rows] = True  # after the rows are written: a reader sees whole rows
        self.finished_at = time.time()
        logger.info(
            "unrated: top %d items of all %s users ready in %.1f s",
            self.depth,
            f"{n_users:,}",
            self.finished_at - (self.started_at or self.finished_at),
        )


def for_model(model: Recommender, choice: str) -> TopLists | None:
    """Empty top lists for ``model`` if ``choice`` wants them (not yet filled), else None.

    ``on``; ``off``; ``auto``: when ranking one user alone takes over 5 ms (the median of
    three users, so a model that answers in a millisecond is not slowed by the background
    work) and the lists take at most 1 GiB.
    """
    n_users, n_items = len(model.users_), len(model.items_)
    if choice == "off" or n_users == 0 or n_items == 0:
        return None
    if choice == "auto":
        size = n_users * min(DEPTH, n_items) * 8
        if size > AUTO_MAX_BYTES or _seconds_per_user(model) <= AUTO_SECONDS:
            return None
    return TopLists.empty(n_users, n_items)


def _seconds_per_user(model: Recommender) -> float:
    times = []
    for user in range(min(3, len(model.users_))):
        started = time.perf_counter()
        model.rank_positions(np.array([user]), 10)
        times.append(time.perf_counter() - started)
    return float(np.median(times))
