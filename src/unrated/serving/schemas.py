"""The JSON shapes of the HTTP service (pydantic), published at ``/openapi.json``.

Requests are validated with them; responses are built as plain dicts and checked against
them in the tests (and by schemathesis).

Ids are JSON strings or integers, as the model's vocabulary holds them (a model trained on
integer ids answers with integers; a query may send either form).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, create_model

Id = Annotated[StrictStr | StrictInt, Field(union_mode="left_to_right")]
Fallback = Literal["popular"] | None
ONLY = "If given, list only these item ids."
WHERE = (
    "Conditions on item attributes, all to hold: COLUMN=VALUE, !=, <, <=, >, >= "
    "(e.g. category=Kitchen, price<20)."
)
HISTORY_ITEMS = (
    "Item ids (at least one); unknown ones are dropped and counted. With no known item: "
    "404, unless fallback."
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemRef(_Strict):
    """An item and its display name (null when the model has none)."""

    item: Id
    name: str | None
    new: bool = Field(
        default=False, description="A product nobody has bought yet (only sent when true)."
    )


class ScoredItem(ItemRef):
    """A recommended item: higher scores first (the scale depends on the model)."""

    score: float
    because: list[ItemRef] | None = Field(
        default=None,
        description="With explain=true: the user's past items that led to this one "
        "(null when the model's scores are not a sum over the history).",
    )
    bought: float | None = Field(
        default=None,
        description="With include_seen=true (re-buys allowed): how much the user bought "
        "this item in training (their weight: times or units, decayed with --half-life); "
        "null for an item new to them.",
    )


class UserRecommendations(_Strict):
    """Top-k for one user.

    ``fallback`` is "popular" when the user was unknown and got the most popular items.
    """

    user: Id
    items: list[ScoredItem]
    fallback: Fallback


class RecommendRequest(_Strict):
    """Recommendations for several known users at once."""

    users: list[Id] = Field(min_length=1, description="User ids (at most the batch limit).")
    k: int = Field(default=10, ge=1, description="List length (at most the k limit).")
    exclude: list[Id] = Field(default_factory=list, description="Item ids to leave out.")
    only: list[Id] | None = Field(default=None, description=ONLY)
    where: list[str] = Field(default_factory=list, max_length=20, description=WHERE)
    exclude_seen: bool = Field(default=True, description="Leave out what each user has.")
    fallback: bool | None = Field(
        default=None,
        description="Unknown users get the most popular items instead of a 404 "
        "(default: the server's --fallback-popular setting).",
    )


class RecommendResponse(_Strict):
    """One entry per requested user, in the order asked."""

    results: list[UserRecommendations]


class HistoryRequest(_Strict):
    """A new visitor's basket: the items they have, oldest first (sasrec reads the order)."""

    items: list[Id] = Field(min_length=1, description=HISTORY_ITEMS)
    k: int = Field(default=10, ge=1, description="List length (at most the k limit).")
    exclude_seen: bool = Field(default=True, description="Leave out the basket's items.")
    exclude: list[Id] = Field(default_factory=list, description="Item ids to leave out.")
    only: list[Id] | None = Field(default=None, description=ONLY)
    where: list[str] = Field(default_factory=list, max_length=20, description=WHERE)
    fallback: bool | None = Field(
        default=None,
        description="A basket with no known item gets the most popular items instead of a "
        "404 (default: the server's --fallback-popular setting).",
    )


class HistoryResponse(_Strict):
    """Recommendations for a basket (fold-in: no retraining)."""

    items: list[ScoredItem]
    n_unknown_items: int = Field(description="Basket items the model does not know.")
    fallback: Fallback = Field(
        description='"popular" when no basket item was known and the fallback was asked for.'
    )


class SimilarResponse(_Strict):
    """Items most similar to one item ("bought X also bought")."""

    item: Id
    items: list[ScoredItem]


class HistoryItem(ItemRef):
    """An item in a user's training history, with its weight (count, quantity)."""

    weight: float


class UserResponse(_Strict):
    """What a user has, heaviest first."""

    user: Id
    n_items: int = Field(description="All the items the user has (the list may be cut).")
    items: list[HistoryItem]


class ItemResponse(ItemRef):
    """An item of the catalogue."""

    users: int = Field(description="How many users have it in the training data.")


class UserList(_Strict):
    """A page of user ids, in the model's order."""

    total: int
    users: list[Id]


class ItemList(_Strict):
    """Items matching a search, most popular first."""

    items: list[ItemRef]


class AnnReport(_Strict):
    """The approximate index, and how close it comes to exact search."""

    recall: float = Field(description="Mean recall@k against exact top-k.")
    k: int
    sample_users: int
    build_seconds: float
    ef: int


class TopListsReport(_Strict):
    """Every known user's top items, ranked in the background (``--precompute``)."""

    depth: int = Field(description="Items kept per user; longer requests are ranked live.")
    ready_users: int = Field(description="Users answered from their list so far.")
    users: int
    seconds: float | None = Field(description="Time taken to rank every user, once done.")


class Limits(_Strict):
    """The service's request limits."""

    max_k: int
    max_batch: int
    max_body_bytes: int


class Health(_Strict):
    """The service and the model it serves."""

    status: Literal["ok"]
    model: str
    params: dict[str, Any] = Field(description="The model's hyperparameters.")
    unrated_version: str
    model_unrated_version: str
    trained_on: str
    users: int
    items: int
    item_names: bool
    generation: int = Field(description="1 at start, +1 at each reload.")
    loaded_at: float = Field(description="Unix time the model was loaded.")
    ann: AnnReport | None
    top_lists: TopListsReport | None
    item_filters: dict[str, list[str]] = Field(
        description="Text item attributes with 2–50 values, and the values (for where=)."
    )
    api_key_required: bool
    fallback_popular: bool
    ranks_rebuys: bool = Field(
        description="The model is made to rank a customer's own items (top-freq, tifu-knn, "
        "repeat); the page orders other models' 'buy again' by the customer's own frequency."
    )
    limits: Limits


class ReloadResponse(_Strict):
    """The model now served."""

    reloaded: bool
    model: str
    generation: int
    seconds: float
    workers: str | None = Field(
        default=None, description="With several workers: each one is replaced in turn."
    )


class ErrorResponse(_Strict):
    """Every error: the kind (an unrated error class or an HTTP status name) and a message."""

    error: str
    detail: str


#: The errors every endpoint may answer, for the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in [
        (401, "Missing or wrong API key."),
        (404, "Unknown user or item id."),
        (413, "Request body too large."),
        (422, "Invalid parameters."),
    ]
}


#: An id in the events file: any text but a NUL (which no data file may hold), or an int.
EventId = Annotated[
    Annotated[StrictStr, Field(pattern=r"^[^\x00]*$")] | StrictInt,
    Field(union_mode="left_to_right"),
]


class EventIn(_Strict):
    """One purchase: a user (known or new) bought an item."""

    user: EventId
    item: EventId
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False, description="How much.")
    timestamp: float | None = Field(
        default=None, allow_inf_nan=False, description="Unix seconds (default: now)."
    )


class EventsRequest(_Strict):
    """Purchases since the model was fitted (at most the batch limit per request)."""

    events: list[EventIn] = Field(min_length=1)


class EventsResponse(_Strict):
    """What was written (and fsync'd) to the events file."""

    accepted: int
    held: int = Field(description="Events in the events file: bought since the model.")


def limited_events(max_batch: int) -> type[EventsRequest]:
    """EventsRequest with the server's limit on events per request (in the schema too)."""
    return create_model(
        "EventsRequest",
        __base__=EventsRequest,
        __doc__=EventsRequest.__doc__,
        events=(list[EventIn], Field(min_length=1, max_length=max_batch)),
    )


def limited_requests(
    max_k: int, max_batch: int
) -> tuple[type[RecommendRequest], type[HistoryRequest]]:
    """The request bodies with the server's limits on k and list lengths (in the schema too)."""
    k = (int, Field(default=10, ge=1, le=max_k, description="List length."))
    recommend = create_model(
        "RecommendRequest",
        __base__=RecommendRequest,
        __doc__=RecommendRequest.__doc__,
        users=(list[Id], Field(min_length=1, max_length=max_batch, description="User ids.")),
        k=k,
    )
    history = create_model(
        "HistoryRequest",
        __base__=HistoryRequest,
        __doc__=HistoryRequest.__doc__,
        items=(list[Id], Field(min_length=1, max_length=max_batch, description=HISTORY_ITEMS)),
        k=k,
    )
    return recommend, history
