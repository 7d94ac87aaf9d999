"""The Recommender contract: every model fits, recommends, folds in and finds similar items alike.

Subclasses implement only the hooks at the bottom (internal positions, batched, dense float32).
Inside, everything is positions: :meth:`Recommender.rank_positions` ranks users or history
rows (batching, exclusion and top-k in ``_topk``); the public calls map ids at the edges.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from unrated._checks import check_k
from unrated._memory import Cost, check_memory
from unrated._progress import progress_bar
from unrated.data.ids import IdIndex
from unrated.errors import DataError, InvalidParameterError, NotFittedError, UnknownIdError
from unrated.models._checkpoint import Checkpoint
from unrated.models._topk import top_k, top_k_dot
from unrated.models._training import FitOptions
from unrated.models.recommendations import Recommendations as Recommendations
from unrated.models.rules import folded_text, items_allowed

if TYPE_CHECKING:  # polars is imported where a frame is made, not at start-up
    import polars as pl

    from unrated.data.interactions import Interactions
    from unrated.data.merge import Merged

#: An item attribute's missing value, by dtype kind: number NaN, text empty.
_EMPTY = {"f": np.nan, "O": ""}
#: Scores are computed for at most this many (row, item) cells at once (float32: 256 MiB).
BATCH_CELLS = 1 << 26


class Recommender(ABC):
    """Base class of every unrated model.

    ``__init__`` only stores keyword parameters; ``fit`` checks them, learns, and returns
    ``self``. Learned state ends in ``_``: ``users_``, ``items_`` (id vocabularies),
    ``seen_`` (the training matrix, to exclude what users already have).
    """

    key: ClassVar[str]
    #: True for a model that reads a history in order (sasrec): the rows it is given for
    #: fold-in must keep their order (see :meth:`training_history`), not be sorted sets.
    reads_order: ClassVar[bool] = False

    users_: IdIndex
    items_: IdIndex
    seen_: sp.csr_matrix
    trained_on_: str
    #: Display names of the items (position-aligned with ``items_``), when given.
    item_names_: np.ndarray | None = None
    #: Item attributes from the items file (column -> position-aligned float64 or text
    #: values), which ``where`` rules filter on; None without an items file.
    item_attributes_: Mapping[str, np.ndarray] | None = None
    _folded_attributes: Mapping[str, np.ndarray] | None = None  # their text, lower-cased
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
        from unrated.data.io import read_interactions  # polars: only when reading data

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
            data.events,
        )
        self._fit(data.matrix, np.random.default_rng(getattr(self, "seed", 0)), options)
        if options.checkpoint is not None:
            options.checkpoint.remove()
        self.users_, self.items_ = data.users, data.items
        self.seen_ = data.matrix
        self.trained_on_ = data.fingerprint()
        return self

    def update(self, data: Any, *, progress: bool | None = None) -> Self:
        """Take in new interactions without a full refit where the model can; returns ``self``.

        ``data`` (read as by :meth:`fit`) may hold new users and new items: they are added
        after the known ones, whose positions stay. Afterwards the model has seen the old
        pairs plus the new (a pair seen again has its weights summed): recommendations
        leave out the new purchases and ``trained_on_`` is the fingerprint of all of it.
        How each model takes the data in is its own (:meth:`_update`): iALS re-solves the
        users and items the new pairs touch; models that are cheap to fit, or that have no
        cheaper exact way, fit again on everything. ``info_["update"]`` says which was
        done, and how much was new.

        Raises:
            NotFittedError: the model was never fitted.
            DataError: ``data`` has no interactions, or an id of the wrong kind.
        """
        from unrated.data.io import read_interactions  # polars: only when reading data
        from unrated.data.merge import merge

        self.check_fitted()
        new = read_interactions(data)
        if new.nnz == 0:
            raise DataError("no new interactions to update with")
        merged = merge(self.users_, self.items_, self.seen_, new)
        n_users, n_items = merged.data.matrix.shape
        check_memory(type(self).__name__, self._memory_costs(n_users, n_items, merged.data.nnz))
        saved = dict(vars(self))  # an interrupted update leaves the model as it was
        try:
            rng = np.random.default_rng(getattr(self, "seed", 0))
            how = self._update(merged.data.matrix, merged.users, merged.items, rng, progress)
            self._took_in(merged, new, how)
        except BaseException:
            vars(self).clear()
            vars(self).update(saved)
            raise
        return self

    def _took_in(self, merged: Merged, new: Interactions, how: str) -> None:
        """After :meth:`_update`: the merged ids, seen items, names, attributes and info."""
        self.users_, self.items_, self.seen_ = (
            merged.data.users,
            merged.data.items,
            merged.data.matrix,
        )
        self._popularity = None
        if merged.new_items and (self.item_names_ is not None or new.item_names is not None):
            self.item_names_ = _names_after_update(self.item_names_, new, merged)
        if merged.new_items and self.item_attributes_ is not None:  # new items: no values yet
            self.set_item_attributes(
                {
                    column: np.concatenate(
                        [
                            values,
                            np.full(merged.new_items, _EMPTY[values.dtype.kind], values.dtype),
                        ]
                    )
                    for column, values in self.item_attributes_.items()
                }
            )
        self.trained_on_ = merged.data.fingerprint()
        self.info_ = MappingProxyType(
            dict(self.info_)
            | {
                "update": {
                    "how": how,
                    "pairs": new.nnz,
                    "users": len(merged.users),
                    "items": len(merged.items),
                    "new_users": merged.new_users,
                    "new_items": merged.new_items,
                }
            }
        )

    def training_history(self, user_idx: int) -> np.ndarray:
        """The item positions of training user ``user_idx``, in the order the model reads."""
        start, stop = self.seen_.indptr[user_idx], self.seen_.indptr[user_idx + 1]
        return np.asarray(self.seen_.indices[start:stop])

    def restore(
        self,
        *,
        users: IdIndex,
        items: IdIndex,
        seen: sp.csr_matrix,
        arrays: Mapping[str, np.ndarray],
        info: Mapping[str, Any] | None = None,
        item_names: Sequence[str] | None = None,
        item_attributes: Mapping[str, np.ndarray] | None = None,
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
        if item_attributes is not None:
            self.set_item_attributes(item_attributes)
        if info:
            self.info_ = MappingProxyType(dict(info))
        self.trained_on_ = trained_on
        return self

    def set_item_attributes(self, attributes: Mapping[str, np.ndarray]) -> None:
        """Install item attributes for ``where`` rules, replacing any earlier ones.

        ``attributes``: column -> one value per item (float64 numbers, or text).

        Raises:
            DataError: a column of the wrong length or type.
        """
        n_items = len(self.items_)
        for column, values in attributes.items():
            if values.shape != (n_items,) or values.dtype not in (np.float64, np.object_):
                raise DataError(
                    f"item attribute {column!r} must hold {n_items:,} numbers (float64) or "
                    f"texts; got {values.dtype} of shape {values.shape}"
                )
        self.item_attributes_ = MappingProxyType(dict(attributes))
        self._folded_attributes = {
            column: folded_text(values)
            for column, values in attributes.items()
            if values.dtype != np.float64
        }

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
        where: Iterable[str] | None = None,
    ) -> Recommendations:
        """Top-``k`` items for known users.

        Args:
            user_ids: one id or a sequence of ids of users seen in training.
            k: list length.
            exclude_seen: leave out the items each user interacted with in training
                (set False for re-purchase domains such as groceries).
            exclude: item ids to leave out for every user.
            candidates: if given, rank only these item ids.
            where: conditions on item attributes, all to be met (``"category=Kitchen"``,
                ``"price<20"``; see :mod:`unrated.models.rules`). Exactly ``k`` items come
                back whenever ``k`` items pass the rules.

        Raises:
            UnknownIdError: a user id the model was not trained on.
        """
        self.check_fitted()
        k = check_k(k)
        users = _as_list(user_ids)
        user_idx = self.users_.positions(users, kind="user")
        blocked = self._blocked(exclude, candidates, where)
        ranked = self.rank_positions(user_idx, k, exclude_seen=exclude_seen, blocked=blocked)
        return self._recommendations(np.asarray(users, dtype=object), *ranked)

    def score(self, user_ids: Any) -> np.ndarray:
        """Raw scores of every item for known users: (n_users, n_items) float32.

        Nothing is excluded. Dense: for a few users at a time (``recommend`` batches itself).
        """
        self.check_fitted()
        return self.score_positions(self.users_.positions(_as_list(user_ids), kind="user"))

    def score_positions(self, user_idx: np.ndarray) -> np.ndarray:
        """:meth:`score` for user positions (internal: for evaluation)."""
        user_idx = np.asarray(user_idx, dtype=np.int64)
        return np.array(self._score(self.seen_[user_idx], user_idx), dtype=np.float32)

    def rank_positions(
        self,
        rows: np.ndarray | sp.csr_matrix,
        k: int,
        *,
        exclude_seen: bool = True,
        blocked: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item positions and scores: the ranking under every public list.

        Internal, for evaluation and serving, which hold positions (nothing is checked).

        Args:
            rows: user positions (int array), ranked from what the model learned of them; or
                history rows (CSR, rows × items, as :meth:`_history_matrix` builds), folded in.
            k: list length.
            exclude_seen: leave out each user's training items (each history's own items).
            blocked: (n_items,) bool, True for items left out of every list.

        Returns:
            ``(item_idx, scores)``, each (rows, min(k, n_items)): int64 positions, best first,
            -1 where a list ran out of items; float32 scores, -inf there.
        """
        user_idx = None if sp.issparse(rows) else np.asarray(rows, dtype=np.int64)
        history = self.seen_[user_idx] if user_idx is not None else sp.csr_matrix(rows)

        def rank(batch: slice) -> tuple[np.ndarray, np.ndarray]:
            part = history[batch]
            idx = None if user_idx is None else user_idx[batch]
            excluded = part if exclude_seen else None
            vectors = self._vectors(part, idx)
            if vectors is not None:
                return top_k_dot(*vectors, k, excluded=excluded, blocked=blocked)
            scores = self._score(part, idx)
            return top_k(scores, k, excluded=excluded, blocked=blocked)

        return self._ranked(history.shape[0], k, rank)

    def recommend_history(
        self,
        histories: Sequence[Iterable[Any] | Mapping[Any, float]],
        k: int = 10,
        *,
        exclude_seen: bool = True,
        exclude: Iterable[Any] | None = None,
        fallback: str | None = None,
        candidates: Iterable[Any] | None = None,
        where: Iterable[str] | None = None,
    ) -> Recommendations:
        """Top-``k`` items for new users given their histories (fold-in, no retraining).

        Args:
            histories: per new user, the item ids they interacted with (a repeated id counts
                again, as duplicates do in training) or a mapping item id -> weight.
            k: list length.
            exclude_seen: leave out the items in each history.
            exclude: item ids to leave out for every history.
            candidates: as in :meth:`recommend`.
            where: as in :meth:`recommend`.
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
        blocked = self._blocked(exclude, candidates, where)
        item_idx, scores = self.rank_positions(
            history[usable], k, exclude_seen=exclude_seen, blocked=blocked
        )
        if not usable.all():
            popular_idx, popular_scores = self.popular_positions(k, blocked=blocked)
            item_idx, scores = _fill(usable, (item_idx, scores), (popular_idx, popular_scores))
        return replace(
            self._recommendations(row_ids, item_idx, scores),
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

    def popular_positions(
        self, k: int, *, blocked: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The fallback list, (1, k): the top-``k`` of :meth:`item_popularity` as positions.

        Ties go to the lower position; ``blocked`` as in :meth:`rank_positions`. Internal.
        """
        return top_k(self.item_popularity().astype(np.float32)[None, :], k, blocked=blocked)

    def similar_items(
        self,
        item_ids: Any,
        k: int = 10,
        *,
        exclude: Iterable[Any] | None = None,
        candidates: Iterable[Any] | None = None,
        where: Iterable[str] | None = None,
    ) -> Recommendations:
        """The ``k`` items most similar to each given item (never the item itself).

        ``exclude``, ``candidates`` and ``where`` as in :meth:`recommend`.
        """
        self.check_fitted()
        k = check_k(k)
        items = _as_list(item_ids)
        item_idx = self.items_.positions(items, kind="item")
        own = sp.csr_matrix(
            (np.ones(len(item_idx), dtype=np.float32), item_idx, np.arange(len(item_idx) + 1)),
            shape=(len(item_idx), len(self.items_)),
        )
        blocked = self._blocked(exclude, candidates, where)

        def rank(batch: slice) -> tuple[np.ndarray, np.ndarray]:
            scores = self._similar(item_idx[batch])
            return top_k(scores, k, excluded=own[batch], blocked=blocked)

        ranked = self._ranked(len(item_idx), k, rank)
        result = self._recommendations(np.asarray(items, dtype=object), *ranked)
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
        import polars as pl

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

    def _blocked(
        self,
        exclude: Iterable[Any] | None,
        candidates: Iterable[Any] | None = None,
        where: Iterable[str] | None = None,
    ) -> np.ndarray | None:
        """The items left out of every list (None: none is).

        ``exclude``; all but ``candidates`` if given; those failing a ``where`` condition.
        """
        conditions = list(where or [])
        if exclude is None and candidates is None and not conditions:
            return None
        n_items = len(self.items_)
        blocked = ~items_allowed(
            conditions, self.item_attributes_, n_items, self._folded_attributes
        )
        if exclude is not None:
            blocked[self.items_.positions(_as_list(exclude), kind="item")] = True
        if candidates is not None:
            allowed = np.zeros(n_items, dtype=bool)
            allowed[self.items_.positions(_as_list(candidates), kind="item")] = True
            blocked |= ~allowed
        return blocked

    def _ranked(
        self, n_rows: int, k: int, rank: Callable[[slice], tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """``rank`` over batches of at most BATCH_CELLS scores, with a progress bar if long."""
        width = min(k, len(self.items_))
        rows_per_batch = max(1, BATCH_CELLS // max(len(self.items_), 1))
        starts = range(0, n_rows, rows_per_batch)
        parts = [(np.empty((0, width), dtype=np.int64), np.empty((0, width), dtype=np.float32))]
        with progress_bar(len(starts) if len(starts) > 2 else 0, "recommending") as advance:
            for start in starts:
                parts.append(rank(slice(start, start + rows_per_batch)))
                advance()
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _recommendations(
        self, row_ids: np.ndarray, item_idx: np.ndarray, scores: np.ndarray
    ) -> Recommendations:
        """The id edge: positions and scores become a :class:`Recommendations`."""
        return Recommendations(row_ids, self.items_.take(item_idx).astype(object), scores, item_idx)

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

    def _update(
        self,
        matrix: sp.csr_matrix,
        users: np.ndarray,
        items: np.ndarray,
        rng: np.random.Generator,
        progress: bool | None,
    ) -> str:
        """Learn from ``matrix`` (all the data) after new pairs touched ``users`` and ``items``.

        Returns how: ``"refit"`` (this default: fit again on everything), ``"partial"``
        (only what the new pairs touch was learned again) or ``"exact"`` (the same as a
        refit, done more cheaply).
        """
        self._fit(matrix, rng, FitOptions(None, progress))
        return "refit"

    @abstractmethod
    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        """Scores (rows × items) for history rows; ``user_idx`` None means unknown users."""

    def _vectors(
        self, history: sp.csr_matrix, user_idx: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """For models whose scores are inner products: (rows × d queries, d × items vectors).

        Ranking then scores and selects tile by tile (``_topk.top_k_dot``) instead of calling
        :meth:`_score`, which must return the same numbers (``_topk.dot`` of these). None
        (the default): rank :meth:`_score`'s dense rows.
        """
        return None

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


def _names_after_update(names: np.ndarray | None, new: Interactions, merged: Merged) -> np.ndarray:
    """Item names for the merged items: the old ones, then the new items' from ``new``."""
    old = np.full(len(merged.data.items) - merged.new_items, "", dtype=object)
    out = np.concatenate([old if names is None else names, np.full(merged.new_items, "", object)])
    if new.item_names is not None:
        added = merged.data.items.ids[len(old) :]
        at = new.items.positions(added.tolist(), kind="item")
        out[len(old) :] = new.item_names[at]
    return out


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


def _fill(
    chosen: np.ndarray, ranked: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows where ``chosen`` from ``ranked`` (in order), the others all from ``other`` (1 row)."""
    item_idx = np.empty((len(chosen), other[0].shape[1]), dtype=np.int64)
    scores = np.empty(item_idx.shape, dtype=np.float32)
    item_idx[chosen], scores[chosen] = ranked
    item_idx[~chosen], scores[~chosen] = other
    return item_idx, scores


def _as_list(values: Any) -> list[Any]:
    """A list of ids: one id (str, int) becomes a list of one."""
    if isinstance(values, str | bytes | int | np.integer):
        return [values]
    if isinstance(values, np.ndarray):
        return values.ravel().tolist()
    return list(values)
