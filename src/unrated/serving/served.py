"""ServedModel: one loaded model file and everything the HTTP service asks of it.

The service holds one ``ServedModel`` at a time and never changes it: a reload builds a new
one and swaps the reference, so a request that started on the old model finishes on it.
Answers are plain dicts and lists of Python values, ready for ``json.dumps``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp

from unrated.errors import InvalidParameterError
from unrated.modelfile import load_model, read_metadata
from unrated.models.base import Recommender
from unrated.models.rules import items_allowed
from unrated.serving.ann import AnnIndex, build_ann
from unrated.serving.top_lists import TopLists, for_model

Payload = dict[str, Any]
#: Sets of ``where`` conditions whose item masks a served model keeps.
MASKS = 256
#: Text attributes with at most this many values are offered as filters on the page.
FILTER_VALUES = 50


@dataclass(frozen=True, eq=False)
class ServedModel:
    """A model file loaded for serving, with what requests need precomputed.

    Attributes:
        model: the loaded model (read-only from here on).
        path: the model file it came from.
        metadata: the file's string metadata (model name, version, fingerprint).
        generation: 1 for the first model of a process, +1 at each reload.
        loaded_at: Unix time of loading.
        popularity: per item, the number of distinct users who have it
            (:meth:`Recommender.item_popularity`, the fallback's ranking).
        ann: the approximate index, when built (``--ann``).
        top_lists: every known user's top items, filled in the background once started
            (``serving.top_lists``); None when the model ranks a user fast enough alone.
    """

    model: Recommender
    path: Path
    metadata: dict[str, str]
    generation: int
    loaded_at: float
    popularity: np.ndarray
    ann: AnnIndex | None = None
    top_lists: TopLists | None = None
    _names: np.ndarray | None = field(repr=False, default=None)
    _search_ids: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0, dtype=str))
    _search_names: np.ndarray | None = field(repr=False, default=None)
    #: Items passing each set of ``where`` conditions asked so far (at most MASKS of them):
    #: a condition over 41k text attributes costs ~20 ms, a lookup nothing.
    _masks: dict[tuple[str, ...], np.ndarray] = field(repr=False, default_factory=dict)

    # ------------------------------------------------------------------ sizes
    @property
    def n_users(self) -> int:
        """Users the model knows."""
        return len(self.model.users_)

    @property
    def n_items(self) -> int:
        """Items the model knows."""
        return len(self.model.items_)

    @property
    def has_names(self) -> bool:
        """True when the model file holds item names (``unrated fit --items``)."""
        return self._names is not None

    @property
    def ranks_rebuys(self) -> bool:
        """True for models made to rank a customer's own items (top-freq, tifu-knn, repeat)."""
        return bool(getattr(self.model, "ranks_rebuys", False))

    def item_filters(self) -> dict[str, list[str]]:
        """What the page offers to filter on (e.g. a category), with the values (sorted).

        Text attributes with 2 to FILTER_VALUES distinct values.
        """
        filters = {}
        for column, values in (self.model.item_attributes_ or {}).items():
            if values.dtype == np.float64:
                continue
            distinct = sorted({str(v) for v in values.tolist()} - {""})
            if 2 <= len(distinct) <= FILTER_VALUES:
                filters[column] = distinct
        return filters

    # ------------------------------------------------------------------ recommending
    def recommend_users(
        self,
        users: list[Any],
        k: int,
        *,
        exclude: list[Any] | None = None,
        exclude_seen: bool = True,
        fallback: bool = False,
        because: bool = False,
        bought: list[dict[str, float] | None] | None = None,
        only: list[Any] | None = None,
        where: list[str] | None = None,
    ) -> list[Payload]:
        """One ``{"user", "items", "fallback"}`` per user, in order.

        Unknown users raise :class:`UnknownIdError` unless ``fallback``, which gives them what
        an empty history gets: the most popular items, flagged ``"fallback": "popular"``.
        Unknown ``exclude`` ids are ignored: they could not be recommended anyway. Without
        ``exclude_seen`` (re-buys allowed) each item of a known user says how much they
        bought it (``"bought"``: their training weight; null for an item new to them).
        ``bought``: per user, items bought since the model was fitted (``POST /events``):
        such a user, known or new, is ranked from their history plus those items (fold-in).
        ``only`` (item ids) and ``where`` (conditions on item attributes) as in
        :meth:`Recommender.recommend`.
        """
        _one_thread()
        positions = self.model.users_.positions(users, kind="user", missing="mark")
        fresh = np.array([extra is not None for extra in bought or [None] * len(users)], bool)
        if not fallback and ((positions < 0) & ~fresh).any():
            unknown = [user for user, new in zip(users, fresh.tolist(), strict=True) if not new]
            self.model.users_.positions(unknown, kind="user")  # raises, naming the unknown ids
        blocked = self._blocked(exclude or [], only, where)
        known = np.flatnonzero((positions >= 0) & ~fresh)
        lists: list[list[Payload]] = [[] for _ in users]
        if fresh.any():
            folded = np.flatnonzero(fresh)
            extras = [extra for extra in bought or [] if extra is not None]
            rows = self._histories_with(positions[folded], extras)
            idx, scores = self.model.rank_positions(
                rows, k, exclude_seen=exclude_seen, blocked=blocked
            )
            for row, place in enumerate(folded.tolist()):
                lists[place] = self._items(idx[row], scores[row])
        if len(known):
            idx, scores = self._rank_known(positions[known], k, blocked, exclude_seen)
            for row, place in enumerate(known.tolist()):
                user_idx = int(positions[place])
                lists[place] = self._items(
                    idx[row], scores[row], because_of=user_idx if because else None
                )
                if not exclude_seen:
                    self._add_bought(lists[place], user_idx, idx[row])
        answered = (positions >= 0) | fresh
        popular = self._popular(k, blocked) if not answered.all() else []
        canonical = self.model.users_.ids[np.maximum(positions, 0)].tolist() if len(users) else []
        return [
            {
                "user": canonical[place] if position >= 0 else user,  # as the model writes it
                "items": lists[place] if ok else popular,
                "fallback": None if ok else "popular",
            }
            for place, (user, position, ok) in enumerate(
                zip(users, positions.tolist(), answered.tolist(), strict=True)
            )
        ]

    def _histories_with(
        self, user_idx: np.ndarray, bought: list[dict[str, float]]
    ) -> sp.csr_matrix:
        """Rows of training history (none for a new user, position -1) plus items bought since.

        For a model that reads order (sasrec) a row keeps it: the history as the model reads
        it, then the new items as they came; other models get sets, weights summed.
        """
        items = self.model.items_
        indptr, cols, weights = [0], list[int](), list[float]()
        seen = self.model.seen_
        for user, extra in zip(user_idx.tolist(), bought, strict=True):
            if user >= 0:
                history = self.model.training_history(user)
                cols += history.tolist()
                weights += (
                    [1.0] * len(history)
                    if self.model.reads_order
                    else seen.data[seen.indptr[user] : seen.indptr[user + 1]].tolist()
                )
            at = items.positions(list(extra), kind="item", missing="mark")
            for position, weight in zip(at.tolist(), extra.values(), strict=True):
                if position >= 0:  # a product the model does not know yet is left out
                    cols.append(position)
                    weights.append(weight)
            indptr.append(len(cols))
        matrix = sp.csr_matrix(
            (np.asarray(weights, np.float32), np.asarray(cols, np.int32), indptr),
            shape=(len(bought), len(items)),
        )
        if not self.model.reads_order:
            matrix.sum_duplicates()
        return matrix

    def recommend_basket(
        self,
        items: list[Any],
        k: int,
        *,
        exclude_seen: bool = True,
        fallback: bool = False,
        exclude: list[Any] | None = None,
        only: list[Any] | None = None,
        where: list[str] | None = None,
    ) -> Payload:
        """Recommendations for a new visitor from the items in their basket (fold-in).

        The rule of :meth:`Recommender.recommend_history`: unknown items are dropped and
        counted; a basket with no known item raises (:class:`UnknownIdError` naming the
        items, or :class:`InvalidParameterError` when empty) unless ``fallback``, which gives
        it the most popular items, flagged ``"fallback": "popular"``.
        """
        _one_thread()
        recs = self.model.recommend_history(
            [items],
            k=k,
            exclude_seen=exclude_seen,
            fallback="popular" if fallback else None,
            **self._rules(exclude, only, where),
        )
        return {
            "items": self._items(recs.item_idx[0], recs.scores[0]),
            "n_unknown_items": recs.n_unknown_items,
            "fallback": "popular" if recs.fallback[0] else None,
        }

    def similar(
        self,
        item: Any,
        k: int,
        *,
        exclude: list[Any] | None = None,
        only: list[Any] | None = None,
        where: list[str] | None = None,
    ) -> Payload:
        """The ``k`` items most similar to ``item`` (never itself), rules as for users."""
        _one_thread()
        recs = self.model.similar_items([item], k=k, **self._rules(exclude, only, where))
        item_idx = self.model.items_.positions([item], kind="item")
        return {
            "item": self.model.items_.ids[item_idx].tolist()[0],
            "items": self._items(recs.item_idx[0], recs.scores[0]),
        }

    # ------------------------------------------------------------------ looking up
    def user_history(self, user: Any, limit: int) -> Payload:
        """What ``user`` has, heaviest first (at most ``limit`` items)."""
        user_idx = int(self.model.users_.positions([user], kind="user")[0])
        seen = self.model.seen_
        start, stop = seen.indptr[user_idx], seen.indptr[user_idx + 1]
        indices, weights = seen.indices[start:stop], seen.data[start:stop]
        order = np.lexsort((indices, -weights))[:limit]
        refs = self._refs(indices[order])
        for ref, weight in zip(refs, weights[order].tolist(), strict=True):
            ref["weight"] = weight
        return {
            "user": self.model.users_.ids[user_idx : user_idx + 1].tolist()[0],
            "n_items": int(stop - start),
            "items": refs,
        }

    def item_info(self, item: Any) -> Payload:
        """An item's name and how many users have it."""
        item_idx = self.model.items_.positions([item], kind="item")
        ref = self._refs(item_idx)[0]
        ref["users"] = int(self.popularity[item_idx[0]])
        return ref

    def list_users(self, offset: int, limit: int) -> list[Any]:
        """User ids in the model's order, ``offset`` onwards."""
        return self.model.users_.ids[offset : offset + limit].tolist()  # type: ignore[no-any-return]

    def search_items(self, query: str, limit: int) -> list[Payload]:
        """Items whose id or name contains ``query`` (case-insensitive).

        Those whose whole id or name is ``query`` come first (the page matches names
        exactly), then the most popular.
        """
        ids, names = self._search_ids, self._search_names
        needle = query.strip().lower()
        if not needle:
            hits = np.arange(self.n_items)
            exact = np.zeros(len(hits), dtype=bool)
        else:
            found = np.char.find(ids, needle) >= 0
            if names is not None:
                found |= np.char.find(names, needle) >= 0
            hits = np.flatnonzero(found)
            exact = ids[hits] == needle
            if names is not None:
                exact |= names[hits] == needle
        order = np.lexsort((-self.popularity[hits], ~exact))[:limit]
        return self._refs(hits[order])

    # ------------------------------------------------------------------ internals
    def _blocked(
        self, items: list[Any], only: list[Any] | None = None, where: list[str] | None = None
    ) -> np.ndarray | None:
        """The items no list may hold (None when no rule applies).

        The known ``items``; all but the known ``only`` ones, when given; those failing a
        ``where`` condition.
        """
        if not items and only is None and not where:
            return None
        rules = self._rules(items, only, where)
        blocked = ~self._allowed(tuple(where or ()))
        blocked[self.model.items_.positions(rules["exclude"] or [], kind="item")] = True
        if only is not None:
            allowed = np.zeros(self.n_items, dtype=bool)
            allowed[self.model.items_.positions(rules["candidates"], kind="item")] = True
            blocked |= ~allowed
        return blocked

    def _allowed(self, where: tuple[str, ...]) -> np.ndarray:
        """The items meeting every condition (read-only; cached)."""
        mask = self._masks.get(where)
        if mask is None:
            model = self.model
            mask = items_allowed(
                where, model.item_attributes_, self.n_items, model._folded_attributes
            )
            mask.flags.writeable = False
            if len(self._masks) >= MASKS:
                self._masks.clear()
            self._masks[where] = mask
        return mask

    def _rules(
        self, exclude: list[Any] | None, only: list[Any] | None, where: list[str] | None
    ) -> dict[str, Any]:
        """The model's rule arguments, with item ids it does not know left out."""

        def known(ids: list[Any] | None) -> list[Any] | None:
            if ids is None:
                return None
            positions = self.model.items_.positions(ids, kind="item", missing="mark")
            return [item for item, at in zip(ids, positions.tolist(), strict=True) if at >= 0]

        return {"exclude": known(exclude), "candidates": known(only), "where": where or None}

    def _rank_known(
        self, user_idx: np.ndarray, k: int, blocked: np.ndarray | None, exclude_seen: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.ann is None:
            found = self._from_top_lists(user_idx, k, blocked) if exclude_seen else None
            if found is not None:
                return found
            return self.model.rank_positions(
                user_idx, k, exclude_seen=exclude_seen, blocked=blocked
            )
        seen = self.model.seen_
        rows = [
            self.ann.query(int(u), k, excluded=seen[u] if exclude_seen else None, blocked=blocked)
            for u in user_idx.tolist()
        ]
        return np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows])

    def _from_top_lists(
        self, user_idx: np.ndarray, k: int, blocked: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The users' lists from the precomputed top lists, if every one can be answered."""
        if self.top_lists is None:
            return None
        found = []
        for user in user_idx.tolist():
            row = self.top_lists.lookup(user, k, blocked)
            if row is None:
                return None
            found.append(row)
        return np.stack([items for items, _ in found]), np.stack([scores for _, scores in found])

    def _popular(self, k: int, blocked: np.ndarray | None) -> list[Payload]:
        """What an empty history gets: the most popular items, ``blocked`` left out."""
        item_idx, scores = self.model.popular_positions(k, blocked=blocked)
        return self._items(item_idx[0], scores[0])

    def _refs(self, item_idx: np.ndarray) -> list[Payload]:
        ids = self.model.items_.ids[item_idx].tolist()
        names = [None] * len(ids) if self._names is None else self._names[item_idx].tolist()
        refs: list[Payload] = [
            {"item": item, "name": name or None} for item, name in zip(ids, names, strict=True)
        ]
        for ref, bought in zip(refs, self.popularity[item_idx].tolist(), strict=True):
            if bought == 0:  # in the catalogue, never bought (content and hybrid models)
                ref["new"] = True
        return refs

    def _items(
        self, item_idx: np.ndarray, scores: np.ndarray, *, because_of: int | None = None
    ) -> list[Payload]:
        valid = item_idx >= 0
        item_idx = item_idx[valid]
        refs = self._refs(item_idx)
        for ref, score in zip(refs, scores[valid].tolist(), strict=True):
            ref["score"] = score
        if because_of is not None:
            for ref, idx in zip(refs, item_idx.tolist(), strict=True):
                ref["because"] = self._because(because_of, idx)
        return refs

    def _add_bought(self, refs: list[Payload], user_idx: int, item_idx: np.ndarray) -> None:
        """Each ref's ``"bought"``: the user's training weight for it, None if they had none."""
        seen = self.model.seen_
        start, stop = seen.indptr[user_idx], seen.indptr[user_idx + 1]
        own = zip(seen.indices[start:stop].tolist(), seen.data[start:stop].tolist(), strict=True)
        weights = dict(own)
        for ref, idx in zip(refs, item_idx[item_idx >= 0].tolist(), strict=True):
            ref["bought"] = weights.get(idx)

    def _because(self, user_idx: int, item_idx: int, shown: int = 3) -> list[Payload] | None:
        """The user's past items that contribute most to the item's score (None: no reason)."""
        model = self.model
        try:
            frame = model.explain(model.users_.ids[user_idx], model.items_.ids[item_idx], shown)
        except InvalidParameterError:
            return None  # scores that are not a sum over the history (popular)
        positive = frame.filter(frame["contribution"] > 0)
        return self._refs(model.items_.positions(positive["item_id"].to_list(), kind="item"))


def load_served(
    path: str | os.PathLike[str],
    *,
    generation: int = 1,
    ann: bool = False,
    precompute: str = "auto",
) -> ServedModel:
    """Load a model file for serving; with ``ann``, build the approximate index too.

    ``precompute`` (auto, on, off) says whether the served model gets top lists
    (``serving.top_lists``): they are made empty here and filled once the service starts them.

    Raises:
        ModelFileError: the file cannot be loaded (nothing is served from it).
        InvalidParameterError: ``ann`` for a model without user and item factors.
    """
    _one_thread()
    source = Path(path)
    model = load_model(source)
    metadata = read_metadata(source)
    popularity = model.item_popularity()
    if len(model.users_):  # compile/load the numba kernels now, not on the first request
        model.recommend(model.users_.ids[:1], k=1)
    names = getattr(model, "item_names_", None)
    return ServedModel(
        model=model,
        path=source,
        metadata=metadata,
        generation=generation,
        loaded_at=time.time(),
        popularity=popularity,
        ann=build_ann(model) if ann else None,
        top_lists=None if ann else for_model(model, precompute),
        _names=None if names is None else np.asarray(names, dtype=object),
        _search_ids=_lower(model.items_.ids),
        _search_names=None if names is None else _lower(names),
    )


def _lower(texts: np.ndarray) -> np.ndarray:
    return np.asarray([str(text).lower() for text in texts.tolist()], dtype=str)


def _one_thread() -> None:
    # One request is one row: numba's parallel launch costs milliseconds on a busy machine
    # (measured: 0.2 ms per Gowalla recommendation on one thread, 4-16 ms on two). Workers,
    # not threads, use the other cores. The setting is per thread, hence at each entry.
    numba.set_num_threads(1)
