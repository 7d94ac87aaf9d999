"""The Recommender contract: every model fits, recommends, folds in and finds similar items alike.

Subclasses implement only the hooks at the bottom (internal indices, batched, dense float32);
id mapping, batching, exclusion of seen items and top-k live here, once.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl
import scipy.sparse as sp

from unrated._checks import check_k
from unrated._progress import progress_bar
from unrated.data.ids import IdIndex
from unrated.data.io import read_interactions
from unrated.errors import DataError, InvalidParameterError, NotFittedError
from unrated.models._checkpoint import Checkpoint
from unrated.models._topk import mask_items, top_k

#: Scores are computed for at most this many (row, item) cells at once (float32: 256 MiB).
BATCH_CELLS = 1 << 26


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
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    scores: np.ndarray
    item_idx: np.ndarray
    n_unknown_items: int = 0

    def __len__(self) -> int:
        return len(self.user_ids)

    def to_frame(self, *, user_column: str = "user_id") -> pl.DataFrame:
        """Long format: one row per recommendation, ``user_id, item_id, rank, score``."""
        n, k = self.item_idx.shape
        valid = (self.item_idx >= 0).ravel()
        users = np.repeat(self.user_ids, k)[valid]
        return pl.DataFrame(
            {
                user_column: users.tolist(),
                "item_id": self.item_ids.ravel()[valid].tolist(),
                "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), n)[valid],
                "score": self.scores.ravel()[valid],
            }
        )


class Recommender(ABC):
    """Base class of every unrated model.

    ``__init__`` only stores keyword parameters; ``fit`` checks them, learns, and returns
    ``self``. Learned state ends in ``_``: ``users_``, ``items_`` (id vocabularies),
    ``seen_`` (the training matrix, to exclude what users already have).
    """

    key: ClassVar[str]
    #: Whether ``_score`` needs the users' history rows (False: user factors suffice).
    needs_history: ClassVar[bool] = True

    users_: IdIndex
    items_: IdIndex
    seen_: sp.csr_matrix
    trained_on_: str
    _checkpoint: Checkpoint | None = None

    # ----------------------------------------------------------------- parameters
    @classmethod
    def param_names(cls) -> list[str]:
        """The hyperparameter names, from ``__init__``'s signature."""
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, as given to ``__init__``."""
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> Self:
        """Change hyperparameters (takes effect at the next ``fit``)."""
        valid = self.param_names()
        for name, value in params.items():
            if name not in valid:
                raise InvalidParameterError(
                    f"{type(self).__name__} has no parameter {name!r}; valid: {', '.join(valid)}"
                )
            setattr(self, name, value)
        return self

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """Hyperparameters for one tuning trial, drawn with an Optuna ``trial``.

        Each model defines its own space next to its code; ``unrated tune`` uses it.
        """
        raise InvalidParameterError(f"{cls.__name__} has no hyperparameters to tune")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # ----------------------------------------------------------------- fitting
    def fit(self, data: Any, *, checkpoint: str | Path | None = None) -> Self:
        """Learn from ``data`` (Interactions, or anything :func:`read_interactions` reads).

        Args:
            data: the training interactions.
            checkpoint: a folder where iterative models (``ials``, ``bpr``, ``mf``) save
                their state after every epoch, as ``<model>.ckpt``; a fit interrupted (even
                by ``kill -9``) and started again with the same data, parameters and folder
                resumes from it and ends with exactly the same arrays as an uninterrupted
                one. A fit that ends deletes the file; one for other data or parameters is
                ignored (and replaced). Other models ignore this.
        """
        data = read_interactions(data)
        self._check_params()
        if data.nnz == 0:
            raise DataError("cannot fit on data without interactions")
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("_")]:
            delattr(self, name)
        seed = getattr(self, "seed", 0)
        self._checkpoint = (
            None
            if checkpoint is None
            else Checkpoint(checkpoint, self.key, self.get_params(), data.fingerprint())
        )
        try:
            self._fit(data.matrix, np.random.default_rng(seed))
            if self._checkpoint is not None:
                self._checkpoint.remove()
        finally:
            self._checkpoint = None
        self.users_, self.items_ = data.users, data.items
        self.seen_ = data.matrix
        self.trained_on_ = data.fingerprint()
        return self

    @property
    def is_fitted(self) -> bool:
        """True once ``fit`` (or loading from a file) has run."""
        return hasattr(self, "seen_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' first."
            )

    # ----------------------------------------------------------------- recommending
    def recommend(
        self,
        user_ids: Any,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        exclude: Iterable[Any] | None = None,
        candidates: Iterable[Any] | None = None,
    ) -> Recommendations:
        """Top-``k`` items for known users.

        Args:
            user_ids: one id or a sequence of ids of users seen in training.
            k: list length.
            exclude_seen: leave out the items each user interacted with in training
                (set False for re-purchase domains such as groceries).
            exclude: item ids to leave out for every user.
            candidates: if given, rank only these item ids.

        Raises:
            UnknownIdError: a user id the model was not trained on.
        """
        self._check_fitted()
        k = check_k(k)
        users = _as_list(user_ids)
        user_idx = self.users_.positions(users, kind="user")
        history = self.seen_[user_idx]
        return self._rank(
            np.asarray(users, dtype=object),
            history,
            user_idx,
            k,
            exclude_history=exclude_seen,
            exclude=exclude,
            candidates=candidates,
        )

    def score(self, user_ids: Any) -> np.ndarray:
        """Raw scores of every item for known users: (n_users, n_items) float32.

        Nothing is excluded. Dense: for a few users at a time (``recommend`` batches itself).
        """
        self._check_fitted()
        user_idx = self.users_.positions(_as_list(user_ids), kind="user")
        return np.array(self._score(self.seen_[user_idx], user_idx), dtype=np.float32)

    def recommend_history(
        self,
        histories: Sequence[Iterable[Any] | Mapping[Any, float]],
        k: int = 10,
        *,
        exclude_seen: bool = True,
    ) -> Recommendations:
        """Top-``k`` items for new users given their histories (fold-in, no retraining).

        Args:
            histories: per new user, the item ids they interacted with (a repeated id counts
                again, as duplicates do in training) or a mapping item id -> weight.
            k: list length.
            exclude_seen: leave out the items in each history.

        Items the model does not know are dropped and counted in ``n_unknown_items``.
        """
        self._check_fitted()
        k = check_k(k)
        history, n_unknown = self._history_matrix(histories)
        user_ids = np.arange(history.shape[0], dtype=np.int64).astype(object)
        result = self._rank(user_ids, history, None, k, exclude_history=exclude_seen)
        return Recommendations(
            result.user_ids, result.item_ids, result.scores, result.item_idx, n_unknown
        )

    def similar_items(self, item_ids: Any, k: int = 10) -> Recommendations:
        """The ``k`` items most similar to each given item (never the item itself)."""
        self._check_fitted()
        k = check_k(k)
        items = _as_list(item_ids)
        item_idx = self.items_.positions(items, kind="item")
        own = sp.csr_matrix(
            (np.ones(len(item_idx), dtype=np.float32), item_idx, np.arange(len(item_idx) + 1)),
            shape=(len(item_idx), self.items_.__len__()),
        )
        rows_per_batch = max(1, BATCH_CELLS // max(len(self.items_), 1))
        parts = []
        for start in range(0, len(item_idx), rows_per_batch):
            stop = start + rows_per_batch
            scores = np.array(self._similar(item_idx[start:stop]), dtype=np.float32)
            mask_items(scores, own[start:stop])
            parts.append(top_k(scores, k))
        return self._result(np.asarray(items, dtype=object), parts, k)

    def explain(self, user_id: Any, item_id: Any, k: int = 5) -> pl.DataFrame:
        """Which of the user's past items contribute most to ``item_id``'s score.

        Returns a frame ``item_id, contribution`` of the top ``k`` history items, largest
        first. Raises InvalidParameterError for models whose scores are not a sum over the
        history (such as ``popular``).
        """
        self._check_fitted()
        user_idx = self.users_.positions([user_id], kind="user")
        item_idx = int(self.items_.positions([item_id], kind="item")[0])
        history = self.seen_[user_idx]
        contributions = self._explain(history, int(user_idx[0]), item_idx)
        order = np.argsort(-contributions, kind="stable")[: check_k(k)]
        return pl.DataFrame(
            {
                "item_id": self.items_.take(history.indices[order]).tolist(),
                "contribution": contributions[order].astype(np.float32),
            }
        )

    # ----------------------------------------------------------------- shared machinery
    def _history_matrix(
        self, histories: Sequence[Iterable[Any] | Mapping[Any, float]]
    ) -> tuple[sp.csr_matrix, int]:
        if isinstance(histories, str | bytes | Mapping):
            raise InvalidParameterError(
                "histories must be a list of histories, one per user, e.g. [['a', 'b']]"
            )
        rows, cols, weights, n_unknown = [], [], [], 0
        for row, history in enumerate(histories):
            pairs = (
                history.items()
                if isinstance(history, Mapping)
                else [(item, 1.0) for item in _as_list(history)]
            )
            ids = [item for item, _ in pairs]
            idx = self.items_.positions(ids, kind="item", missing="mark")
            for position, (_, weight) in zip(idx.tolist(), pairs, strict=True):
                if position < 0:
                    n_unknown += 1
                    continue
                rows.append(row)
                cols.append(position)
                weights.append(float(weight))
        matrix = sp.csr_matrix(
            (np.asarray(weights, dtype=np.float32), (rows, cols)),
            shape=(len(histories), len(self.items_)),
        )
        matrix.sum_duplicates()
        return matrix, n_unknown

    def _rank(
        self,
        row_ids: np.ndarray,
        history: sp.csr_matrix,
        user_idx: np.ndarray | None,
        k: int,
        *,
        exclude_history: bool,
        exclude: Iterable[Any] | None = None,
        candidates: Iterable[Any] | None = None,
    ) -> Recommendations:
        n_items = len(self.items_)
        blocked = np.zeros(n_items, dtype=bool)
        if exclude is not None:
            blocked[self.items_.positions(_as_list(exclude), kind="item")] = True
        if candidates is not None:
            allowed = np.zeros(n_items, dtype=bool)
            allowed[self.items_.positions(_as_list(candidates), kind="item")] = True
            blocked |= ~allowed
        rows_per_batch = max(1, BATCH_CELLS // max(n_items, 1))
        starts = range(0, history.shape[0], rows_per_batch)
        parts = []
        with progress_bar(len(starts) if len(starts) > 2 else 0, "recommending") as advance:
            for start in starts:
                stop = start + rows_per_batch
                batch = history[start:stop]
                idx = None if user_idx is None else user_idx[start:stop]
                scores = np.array(self._score(batch, idx), dtype=np.float32)
                if exclude_history:
                    mask_items(scores, batch)
                scores[:, blocked] = -np.inf
                parts.append(top_k(scores, k))
                advance()
        return self._result(row_ids, parts, k)

    def _result(
        self, row_ids: np.ndarray, parts: list[tuple[np.ndarray, np.ndarray]], k: int
    ) -> Recommendations:
        width = min(k, len(self.items_))
        if parts:
            item_idx = np.concatenate([p[0] for p in parts])
            scores = np.concatenate([p[1] for p in parts])
        else:
            item_idx = np.empty((0, width), dtype=np.int64)
            scores = np.empty((0, width), dtype=np.float32)
        item_ids = self.items_.take(item_idx).astype(object)
        return Recommendations(row_ids, item_ids, scores, item_idx)

    # ----------------------------------------------------------------- hooks
    def _check_params(self) -> None:  # noqa: B027 (optional hook)
        """Validate hyperparameters; raise InvalidParameterError naming the bad one."""

    @abstractmethod
    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator) -> None:
        """Learn from the users × items weight matrix (float32 CSR, sorted indices)."""

    @abstractmethod
    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        """Scores (rows × items) for history rows; ``user_idx`` None means unknown users."""

    @abstractmethod
    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        """Similarity scores (len(item_idx) × items) of the given items to every item."""

    def _explain(self, history: sp.csr_matrix, user_idx: int, item_idx: int) -> np.ndarray:
        """Contribution of each stored item of the 1-row ``history`` to ``item_idx``'s score."""
        raise InvalidParameterError(
            f"{type(self).__name__} scores are not a sum over the user's history; "
            "there is nothing to explain"
        )

    @abstractmethod
    def _arrays(self) -> dict[str, np.ndarray]:
        """The learned arrays, for the model file."""

    @abstractmethod
    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Restore learned state from :meth:`_arrays`' output (checked by the caller's hooks)."""


def _as_list(values: Any) -> list[Any]:
    """A list of ids: one id (str, int) becomes a list of one."""
    if isinstance(values, str | bytes | int | np.integer):
        return [values]
    if isinstance(values, np.ndarray):
        return values.ravel().tolist()
    return list(values)
