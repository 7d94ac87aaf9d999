"""The service's endpoints, as one ``APIRouter`` (``create_app`` wires it into the app).

Each request reads ``service.current`` once, so a reload never mixes two models in one
answer. Endpoints run on the event loop except batches, which go to a thread. The limits
are part of the endpoints' signatures (FastAPI checks them and the OpenAPI schema shows
them), so a router is made for one app's settings.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations,
# and the ones carrying per-app limits (KQuery, RecommendRequest) are local to make_router.
import os
import signal
from pathlib import Path
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from unrated._version import __version__
from unrated.serving import schemas
from unrated.serving.api_key import api_key_guard
from unrated.serving.events import Event, EventsFullError
from unrated.serving.guards import error_response, json_response
from unrated.serving.service import ModelService

#: The page's files (``/`` and ``/static/...``).
STATIC = Path(__file__).parent / "static"

UserQuery = Annotated[str, Query(min_length=1, max_length=1000, description="A user id.")]
ItemQuery = Annotated[str, Query(min_length=1, max_length=1000, description="An item id.")]

ExcludeQuery = Annotated[
    list[str], Query(description="Item ids to leave out (repeat, or separate by commas).")
]
OnlyQuery = Annotated[
    list[str] | None,
    Query(description="List only these item ids (repeat, or separate by commas)."),
]
WhereQuery = Annotated[
    list[str],
    Query(
        max_length=20,
        description="Conditions on item attributes, all to hold: COLUMN=VALUE, !=, <, <=, "
        ">, >= (e.g. category=Kitchen, price<20; repeat for more).",
    ),
]


def _ids(values: list[str] | None) -> list[str] | None:
    """Ids given as repeated parameters or separated by commas."""
    return None if values is None else [p for value in values for p in value.split(",") if p]


_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:",
    "X-Content-Type-Options": "nosniff",
}


def make_router(
    service: ModelService,
    *,
    wanted: bytes | None,
    fallback_popular: bool,
    max_k: int,
    max_batch: int,
    max_body_bytes: int,
    supervisor_pid: int | None,
) -> APIRouter:
    """The endpoints for one app, with ``create_app``'s settings.

    ``wanted`` is the API key's bytes (:func:`~unrated.serving.api_key.check_api_key`).
    """
    router = APIRouter()
    guard = [Depends(api_key_guard(wanted))] if wanted is not None else []
    KQuery = Annotated[int, Query(ge=1, le=max_k, description="List length.")]
    RecommendRequest, HistoryRequest = schemas.limited_requests(max_k, max_batch)
    EventsRequest = schemas.limited_events(max_batch)

    @router.get("/health", response_model=schemas.Health, tags=["service"])
    async def health() -> Response:
        """The service's state and the model it serves (no API key needed)."""
        current = service.current
        meta, report = current.metadata, current.ann
        return json_response(
            {
                "status": "ok",
                "model": meta.get("model", ""),
                "params": current.model.get_params(),
                "unrated_version": __version__,
                "model_unrated_version": meta.get("unrated_version", ""),
                "trained_on": meta.get("trained_on", ""),
                "users": current.n_users,
                "items": current.n_items,
                "item_names": current.has_names,
                "generation": current.generation,
                "loaded_at": current.loaded_at,
                "ann": None
                if report is None
                else {
                    "recall": report.recall,
                    "k": report.k,
                    "sample_users": report.sample_users,
                    "build_seconds": report.build_seconds,
                    "ef": report.ef,
                },
                "top_lists": None if current.top_lists is None else current.top_lists.report(),
                "item_filters": current.item_filters(),
                "api_key_required": wanted is not None,
                "fallback_popular": fallback_popular,
                "ranks_rebuys": current.ranks_rebuys,
                "limits": {
                    "max_k": max_k,
                    "max_batch": max_batch,
                    "max_body_bytes": max_body_bytes,
                },
            }
        )

    @router.get(
        "/recommend",
        response_model=schemas.UserRecommendations,
        dependencies=guard,
        tags=["recommend"],
    )
    async def recommend(
        user: UserQuery,
        k: KQuery = 10,
        exclude: ExcludeQuery = [],  # noqa: B006 (FastAPI copies defaults)
        only: OnlyQuery = None,
        where: WhereQuery = [],  # noqa: B006
        exclude_seen: bool = True,
        fallback: Annotated[
            bool | None, Query(description="Popular items for unknown users.")
        ] = None,
        explain: Annotated[bool, Query(description="Add 'because' to each item.")] = False,
        include_seen: Annotated[
            bool,
            Query(
                description="Re-buys allowed: rank the user's own items too, each with "
                "'bought' (what exclude_seen=false does)."
            ),
        ] = False,
    ) -> Response:
        """Top-k items for one known user (seen items left out unless include_seen)."""
        result = service.current.recommend_users(
            [user],
            k,
            exclude=_ids(exclude),
            only=_ids(only),
            where=where,
            exclude_seen=exclude_seen and not include_seen,
            fallback=fallback_popular if fallback is None else fallback,
            because=explain,
            bought=service.events.new_items([user]),
        )
        return json_response(result[0])

    @router.post(
        "/recommend",
        response_model=schemas.RecommendResponse,
        dependencies=guard,
        tags=["recommend"],
    )
    async def recommend_many(request: RecommendRequest) -> Response:  # type: ignore[valid-type]
        """Top-k items for many users at once (at most the batch limit)."""
        body = cast(schemas.RecommendRequest, request)
        current = service.current
        results = await run_in_threadpool(
            current.recommend_users,
            body.users,
            body.k,
            exclude=body.exclude,
            exclude_seen=body.exclude_seen,
            fallback=fallback_popular if body.fallback is None else body.fallback,
            bought=service.events.new_items(body.users),
            only=body.only,
            where=body.where,
        )
        return json_response({"results": results})

    @router.post(
        "/events",
        response_model=schemas.EventsResponse,
        dependencies=guard,
        tags=["events"],
        responses={
            429: {"description": "The service holds its limit of events: update and reload."},
        },
    )
    async def post_events(request: EventsRequest) -> Response:  # type: ignore[valid-type]
        """Purchases since the model: written to the events file (fsync'd) before the answer.

        From the next request on, each customer's seen items include them and their list is
        folded in from their history plus these items (a new customer gets one too).
        """
        body = cast(schemas.EventsRequest, request)
        events = [Event(e.user, e.item, e.weight, e.timestamp) for e in body.events]
        try:
            await run_in_threadpool(service.events.append, events)
        except EventsFullError as full:
            return error_response(429, "too many events held", str(full))
        return json_response({"accepted": len(events), "held": service.events.count})

    @router.post(
        "/recommend/history",
        response_model=schemas.HistoryResponse,
        dependencies=guard,
        tags=["recommend"],
    )
    async def recommend_history(request: HistoryRequest) -> Response:  # type: ignore[valid-type]
        """Top-k items for a new visitor's basket (fold-in: no retraining).

        A basket with no item the model knows is a 404 naming its items, unless the
        fallback is asked for: then the most popular items, flagged. An empty one is a 422.
        """
        body = cast(schemas.HistoryRequest, request)
        result = service.current.recommend_basket(
            body.items,
            body.k,
            exclude_seen=body.exclude_seen,
            fallback=fallback_popular if body.fallback is None else body.fallback,
            exclude=body.exclude,
            only=body.only,
            where=body.where,
        )
        return json_response(result)

    @router.get(
        "/similar", response_model=schemas.SimilarResponse, dependencies=guard, tags=["recommend"]
    )
    async def similar(
        item: ItemQuery,
        k: KQuery = 10,
        exclude: ExcludeQuery = [],  # noqa: B006
        only: OnlyQuery = None,
        where: WhereQuery = [],  # noqa: B006
    ) -> Response:
        """The items most similar to one item ("bought X also bought")."""
        return json_response(
            service.current.similar(item, k, exclude=_ids(exclude), only=_ids(only), where=where)
        )

    @router.get("/users", response_model=schemas.UserList, dependencies=guard, tags=["catalogue"])
    async def list_users(
        offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 20
    ) -> Response:
        """A page of the user ids the model knows."""
        current = service.current
        return json_response({"total": current.n_users, "users": current.list_users(offset, limit)})

    @router.get(
        "/users/{user}", response_model=schemas.UserResponse, dependencies=guard, tags=["catalogue"]
    )
    async def get_user(user: str, limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Response:
        """What a user has in the training data, heaviest first."""
        return json_response(service.current.user_history(user, limit))

    @router.get("/items", response_model=schemas.ItemList, dependencies=guard, tags=["catalogue"])
    async def search_items(
        q: Annotated[str, Query(max_length=200, description="Part of an id or name.")] = "",
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> Response:
        """Items whose id or name contains ``q``, most popular first."""
        return json_response({"items": service.current.search_items(q, limit)})

    @router.get(
        "/items/{item}", response_model=schemas.ItemResponse, dependencies=guard, tags=["catalogue"]
    )
    async def get_item(item: str) -> Response:
        """An item's name and how many users have it."""
        return json_response(service.current.item_info(item))

    @router.post(
        "/reload",
        response_model=schemas.ReloadResponse,
        dependencies=guard,
        tags=["service"],
        responses={403: {"model": schemas.ErrorResponse}, 409: {"model": schemas.ErrorResponse}},
    )
    async def reload() -> Response:
        """Load the model file again and swap it in; requests in flight finish on the old one.

        Needs the API key (403 when the server has none: send SIGHUP instead). 409 when the
        file cannot be loaded: the previous model stays in service.
        """
        if wanted is None:
            return error_response(
                403, "Forbidden", "reload over HTTP needs 'unrated serve --api-key'; send SIGHUP"
            )
        served, seconds = await service.reload()
        workers = None
        if supervisor_pid is not None:
            os.kill(supervisor_pid, signal.SIGHUP)
            workers = "every worker is being replaced in turn with the new model"
        return json_response(
            {
                "reloaded": True,
                "model": served.metadata.get("model", ""),
                "generation": served.generation,
                "seconds": seconds,
                "workers": workers,
            }
        )

    @router.put(
        "/items",
        response_model=schemas.ReloadResponse,
        dependencies=guard,
        tags=["service"],
        responses={403: {"model": schemas.ErrorResponse}, 409: {"model": schemas.ErrorResponse}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        },
    )
    async def put_items(request: Request) -> Response:
        """Replace the items' names and attributes, then reload (needs the API key).

        The body is an items file (CSV: item id, a name column, attribute columns) as for
        ``unrated fit --items``: the model file is rewritten with it (atomically; the learned
        arrays stay) and loaded again, as ``POST /reload`` does. 422 for a table that
        cannot be read; the model in service is unchanged then.
        """
        if wanted is None:
            return error_response(
                403, "Forbidden", "PUT /items needs 'unrated serve --api-key'; use 'unrated items'"
            )
        await run_in_threadpool(service.replace_items, await request.body())
        return await reload()

    @router.get("/", include_in_schema=False)
    async def page() -> Response:
        return FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)

    return router
