"""The Recommender contract: every model fits, recommends, folds in and finds similar items alike.

Subclasses implement only the hooks at the bottom (internal indices, batched, dense float32);
id mapping, batching, exclusion of seen items and top-k live here, once.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl
import scipy.sparse as sp

from unrated._checks import check_k
from unrated._memory import Cost, check_memory
from unrated._progress import progress_bar
from unrated.data.ids import IdIndex
from unrated.data.io import read_interactions
from unrated.errors import DataError, InvalidParameterError, NotFittedError, UnknownIdError
from unrated.models._checkpoint import Checkpoint
from unrated.models._topk import mask_items, top_k
from unrated.models._training import FitOptions

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
        return pl.DataFrame(
            {
                user_column or self.query_column: users.tolist(),
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

    users_: IdIndex
    items_: IdIndex
    seen_: sp.csr_matrix
    trained_on_: str
    #: Display names of the items (position-aligned with ``items_``), when given.
    item_names_: np.ndarray | None = None
    #: Facts about the training that are not learned arrays, e.g. the engine that trained
    #: the model and its settings (JSON values; saved as model-file metadata).
    info_: Mapping[str, Any] = MappingProxyType({})
    _popularity: tuple[sp.csr_matrix, np.ndarray] | None = None  # (seen_ it counts, counts)

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
    def fit(
        self, data: Any, *, checkpoint: str | Path | None = None, progress: bool | None = None
    ) -> Self:
        """Learn from ``data`` (Interactions, or anything :func:`read_interactions` reads).

        Args:
            data: the training interactions.
            checkpoint: a folder where iterative models (``ials``, ``bpr``, ``mf``) save
                their state after every epoch, as ``<model>.ckpt``; a fit interrupted (even
                by ``kill -9``) and started again with the same data, parameters and folder
                resumes from it and ends with exactly the same arrays as an uninterrupted
                one. A fit that ends deletes the file; one for other data or parameters is
                ignored (and replaced). Other models ignore this.
            progress: None shows a progress bar on stderr in a terminal and plain lines
                elsewhere (the environment variable UNRATED_PROGRESS=auto/1/0 can say
                otherwise); True forces bars; False shows nothing.
        """
        data = read_interactions(data)
        self.check_params()
        if data.nnz == 0:
            raise DataError("cannot fit on data without interactions")
        n_users, n_items = data.matrix.shape
        check_memory(type(self).__name__, self._memory_costs(n_users, n_items, data.nnz))
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("_")]:
            delattr(self, name)
        options = FitOptions(
            None
            if checkpoint is None
            else Checkpoint(checkpoint, self.key, self.get_params(), data.fingerprint()),
            progress,
        )
        self._fit(data.matrix, np.random.default_rng(getattr(self, "seed", 0)), options)
        if options.checkpoint is not None:
            options.checkpoint.remove()
        self.users_, self.items_ = data.users, data.items
        self.seen_ = data.matrix
        self.trained_on_ = data.fingerprint()
        return self

    def restore(
        self,
        *,
        users: IdIndex,
        items: IdIndex,
        seen: sp.csr_matrix,
        arrays: Mapping[str, np.ndarray],
        info: Mapping[str, Any] | None = None,
        item_names: Sequence[str] | None = None,
        trained_on: str = "",
    ) -> Self:
        """Install learned state made elsewhere (a model file, an engine); returns ``self``.

        Replaces any earlier learned state and cached results. ``arrays`` are what
        :meth:`_arrays` gives (checked by the model); ``seen`` the users × items training
        matrix; ``info`` the facts kept as :attr:`info_`; ``item_names`` one per item.

        Raises:
            ModelFileError: an array is missing or of the wrong dtype or shape.
            DataError: ``seen`` or ``item_names`` does not match the vocabularies.
        """
        if seen.shape != (len(users), len(items)):
            raise DataError(
                f"the seen matrix has shape {seen.shape}, not ({len(users)}, {len(items)}) "
                "(users, items)"
            )
        if item_names is not None and len(item_names) != len(items):
            raise DataError(f"{len(item_names)} item names for {len(items)} items")
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("_")]:
            delattr(self, name)
        self._popularity = None
        self.users_, self.items_, self.seen_ = users, items, seen
        self._set_arrays(arrays)
        if item_names is not None:
            self.item_names_ = np.array(item_names, dtype=object)
        if info:
            self.info_ = MappingProxyType(dict(info))
        self.trained_on_ = trained_on
        return self

    @property
    def is_fitted(self) -> bool:
        """True once ``fit`` (or loading from a file) has run."""
        return hasattr(self, "seen_")

    def check_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless the model is fitted (or loaded)."""
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
        self.check_fitted()
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
        self.check_fitted()
        user_idx = self.users_.positions(_as_list(user_ids), kind="user")
        return np.array(self._score(self.seen_[user_idx], user_idx), dtype=np.float32)

    def recommend_history(
        self,
        histories: Sequence[Iterable[Any] | Mapping[Any, float]],
        k: int = 10,
        *,
        exclude_seen: bool = True,
        exclude: Iterable[Any] | None = None,
        fallback: str | None = None,
    ) -> Recommendations:
        """Top-``k`` items for new users given their histories (fold-in, no retraining).

        Args:
            histories: per new user, the item ids they interacted with (a repeated id counts
                again, as duplicates do in training) or a mapping item id -> weight.
            k: list length.
            exclude_seen: leave out the items in each history.
            exclude: item ids to leave out for every history.
            fallback: what a history with no item the model knows (empty, or only unknown
                ids) gets: None (the default) refuses the batch; ``"popular"`` gives it the
                most popular items (distinct training users per item), marked True in the
                result's ``fallback``.

        Items the model does not know are dropped and counted in ``n_unknown_items``; a
        history keeping at least one known item is ranked by the model.

        Raises:
            InvalidParameterError: without ``fallback``, empty histories (named by their
                0-based numbers); or a ``fallback`` other than None and "popular".
            UnknownIdError: without ``fallback``, histories of only unknown items (the
                message names them and the items); or an unknown id in ``exclude``.
        """
        self.check_fitted()
        k = check_k(k)
        if fallback not in (None, "popular"):
            raise InvalidParameterError(
                f"The 'fallback' parameter of recommend_history must be None or 'popular'. "
                f"Got {fallback!r}."
            )
        history, unknown = self._history_matrix(histories)
        usable = np.diff(history.indptr) > 0
        if fallback is None and not usable.all():
            raise _unusable_histories(np.flatnonzero(~usable).tolist(), unknown)
        row_ids = np.arange(history.shape[0], dtype=np.int64).astype(object)
        if usable.all():
            result = self._rank(
                row_ids, history, None, k, exclude_history=exclude_seen, exclude=exclude
            )
        else:
            ranked = self._rank(
                row_ids[usable],
                history[usable],
                None,
                k,
                exclude_history=exclude_seen,
                exclude=exclude,
            )
            popular_idx, popular_scores = self._popular_row(k, exclude)
            item_idx = np.empty((len(row_ids), popular_idx.shape[1]), dtype=np.int64)
            scores = np.empty(item_idx.shape, dtype=np.float32)
            item_idx[usable], scores[usable] = ranked.item_idx, ranked.scores
            item_idx[~usable], scores[~usable] = popular_idx, popular_scores
            result = self._result(row_ids, [(item_idx, scores)], k)
        return replace(
            result,
            n_unknown_items=sum(len(ids) for ids in unknown),
            fallback=~usable,
            query_column="history",
        )

    def item_popularity(self) -> np.ndarray:
        """Distinct training users per item, (n_items,) int64, read-only.

        The ranking of ``recommend_history(..., fallback="popular")``.
        """
        self.check_fitted()
        if self._popularity is None or self._popularity[0] is not self.seen_:
            counts = np.bincount(self.seen_.indices, minlength=len(self.items_)).astype(np.int64)
            counts.flags.writeable = False
            self._popularity = (self.seen_, counts)
        return self._popularity[1]

    def _popular_row(self, k: int, exclude: Iterable[Any] | None) -> tuple[np.ndarray, np.ndarray]:
        """The top-``k`` of :meth:`item_popularity` (ties: lower position), ``exclude`` left out."""
        scores = self.item_popularity().astype(np.float32)[None, :]
        if exclude is not None:
            scores[:, self.items_.positions(_as_list(exclude), kind="item")] = -np.inf
        return top_k(scores, k)

    def similar_items(self, item_ids: Any, k: int = 10) -> Recommendations:
        """The ``k`` items most similar to each given item (never the item itself)."""
        self.check_fitted()
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
        result = self._result(np.asarray(items, dtype=object), parts, k)
        return replace(result, query_column="query_item_id")

    def explain(self, user_id: Any, item_id: Any, k: int = 5) -> pl.DataFrame:
        """Which of the user's past items contribute most to ``item_id``'s score.

        Returns a frame ``item_id, contribution`` of the top ``k`` history items, largest
        first. Raises InvalidParameterError for models whose scores are not a sum over the
        history (such as ``popular``).
        """
        self.check_fitted()
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
    ) -> tuple[sp.csr_matrix, list[list[Any]]]:
        """The histories as a (histories × items) weight matrix, and each one's unknown ids."""
        if isinstance(histories, str | bytes | Mapping):
            raise InvalidParameterError(
                "histories must be a list of histories, one per user, e.g. [['a', 'b']]"
            )
        rows, cols, weights, unknown = [], [], [], []
        for row, history in enumerate(histories):
            pairs = (
                history.items()
                if isinstance(history, Mapping)
                else [(item, 1.0) for item in _as_list(history)]
            )
            ids = [item for item, _ in pairs]
            idx = self.items_.positions(ids, kind="item", missing="mark")
            unknown.append(
                [item for item, position in zip(ids, idx.tolist(), strict=True) if position < 0]
            )
            for position, (_, weight) in zip(idx.tolist(), pairs, strict=True):
                if position >= 0:
                    rows.append(row)
                    cols.append(position)
                    weights.append(float(weight))
        matrix = sp.csr_matrix(
            (np.asarray(weights, dtype=np.float32), (rows, cols)),
            shape=(len(unknown), len(self.items_)),
        )
        matrix.sum_duplicates()
        return matrix, unknown

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

    def check_params(self) -> None:
        """Raise InvalidParameterError naming the first bad hyperparameter (``fit`` calls it)."""
        self._check_params()

    # ----------------------------------------------------------------- hooks
    def _check_params(self) -> None:  # noqa: B027 (optional hook)
        """Validate hyperparameters; raise InvalidParameterError naming the bad one."""

    def _memory_costs(self, n_users: int, n_items: int, nnz: int) -> list[Cost]:
        """What ``fit`` will allocate for data of this shape, checked before it starts."""
        return []

    @abstractmethod
    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        """Learn from the users × items weight matrix (float32 CSR, sorted indices).

        Iterative models hand ``options`` (checkpoint, progress) to ``_training.run_epochs``.
        """

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
        """Restore learned state from :meth:`_arrays`' output, checking it; reset own caches."""


def _unusable_histories(rows: list[int], unknown: list[list[Any]]) -> Exception:
    """The error for histories without a known item: empty ones first, then unknown-only ones."""
    hint = "; ask for the popular fallback to get the most popular items instead"
    empty = [row for row in rows if not unknown[row]]
    if empty:
        where = _histories(empty, len(unknown), "is", "are")
        return InvalidParameterError(f"{where} empty: nothing to recommend from{hint}")
    error = UnknownIdError("item", [item for row in rows for item in unknown[row]])
    where = _histories(rows, len(unknown), "has", "have")
    error.message = f"{where} no item the model knows ({error.message}){hint}"
    error.args = (error.message,)
    return error


def _histories(rows: list[int], total: int, one: str, many: str) -> str:
    """'the history is', 'history 3 is', '2 histories (0, 3) are' (at most ten numbers)."""
    if total == 1:
        return f"the history {one}"
    if len(rows) == 1:
        return f"history {rows[0]} {one}"
    shown = ", ".join(str(row) for row in rows[:10]) + (", ..." if len(rows) > 10 else "")
    return f"{len(rows)} histories ({shown}) {many}"


def _as_list(values: Any) -> list[Any]:
    """A list of ids: one id (str, int) becomes a list of one."""
    if isinstance(values, str | bytes | int | np.integer):
        return [values]
    if isinstance(values, np.ndarray):
        return values.ravel().tolist()
    return list(values)
