"""The HTTP service: ``create_app(model_path)`` -> a FastAPI app that serves one model file.

The model is loaded once, at start-up, and never changed: ``POST /reload`` (API key
required) or SIGHUP loads the file again into a new :class:`ServedModel` and swaps one
reference, so requests in flight finish on the model they started with. This module only
wires the app: lifespan (load, SIGHUP), middleware, error handlers, the endpoints of
:mod:`unrated.serving.routes` and the page's static files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from unrated._checks import check_choice
from unrated.serving import schemas
from unrated.serving.access_log import AccessLog
from unrated.serving.api_key import ApiKeyGate, check_api_key
from unrated.serving.events import MAX_EVENTS, EventLog
from unrated.serving.guards import BodyLimit, add_error_handlers
from unrated.serving.routes import STATIC, make_router
from unrated.serving.served import ServedModel
from unrated.serving.service import ModelService
from unrated.serving.top_lists import PRECOMPUTE_CHOICES

#: The environment variable through which ``unrated serve --workers N`` configures workers.
CONFIG_VARIABLE = "UNRATED_SERVE_CONFIG"


def create_app(
    model_path: str | os.PathLike[str],
    *,
    api_key: str | None = None,
    ann: bool = False,
    precompute: str = "auto",
    fallback_popular: bool = False,
    max_k: int = 1000,
    max_batch: int = 1000,
    max_body_bytes: int = 1 << 20,
    access_log: bool = False,
    events: str | os.PathLike[str] | None = None,
    max_events: int = MAX_EVENTS,
    served: ServedModel | None = None,
    supervisor_pid: int | None = None,
) -> FastAPI:
    """The FastAPI app serving the model file at ``model_path``.

    Args:
        model_path: a file written by ``unrated fit`` / ``save_model``.
        api_key: if given, all but ``api_key.PUBLIC_PATHS`` need its UTF-8 bytes in the
            ``X-API-Key`` header (``POST /reload`` is refused without a key); keys no
            client could send are refused (``api_key.check_api_key``).
        ann: build an approximate (HNSW) index for factor models at load time.
        precompute: rank every known user in the background and answer from those lists
            (``serving.top_lists``): ``auto`` (for models slow per user), ``on``, ``off``.
        fallback_popular: unknown users, and baskets without a known item, get the most
            popular items (flagged) instead of a 404, unless a request says otherwise.
        max_k: the largest list length a request may ask for (422 beyond).
        max_batch: the most users, or basket items, in one request (422 beyond).
        max_body_bytes: the largest request body (413 beyond).
        access_log: log one line per request (``access_log.AccessLog``).
        events: the events file of ``POST /events`` (default: the model's path +
            ``.events.csv``).
        max_events: the most events held until an update (429 beyond).
        served: an already loaded model (the CLI loads it first to fail early).
        supervisor_pid: with several worker processes, the supervisor to send SIGHUP to on
            ``POST /reload``, so that every worker is replaced in turn.
    """
    wanted = check_api_key(api_key)
    check_choice(precompute, "precompute", "serve", PRECOMPUTE_CHOICES)
    path = Path(model_path)
    log = EventLog(
        Path(events) if events else path.with_name(path.name + ".events.csv"),
        max_events=max_events,
    )
    service = ModelService(path, ann=ann, served=served, precompute=precompute, events=log)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        loop = asyncio.get_running_loop()
        on_main_thread = threading.current_thread() is threading.main_thread()
        if on_main_thread:
            loop.add_signal_handler(signal.SIGHUP, service.reload_in_background)
        yield
        if on_main_thread:
            loop.remove_signal_handler(signal.SIGHUP)

    app = FastAPI(
        title="unrated",
        summary="Top-K recommendations from implicit feedback.",
        lifespan=lifespan,
        responses=schemas.ERROR_RESPONSES,
        docs_url=None,  # Swagger UI and ReDoc load from a CDN: no network at run time
        redoc_url=None,
    )
    add_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if wanted is not None:  # added after BodyLimit, so it runs first: a refused body is unread
        app.add_middleware(ApiKeyGate, api_key=wanted)
    if access_log:  # outermost: refusals are logged too
        app.add_middleware(AccessLog)
    app.include_router(
        make_router(
            service,
            wanted=wanted,
            fallback_popular=fallback_popular,
            max_k=max_k,
            max_batch=max_batch,
            max_body_bytes=max_body_bytes,
            supervisor_pid=supervisor_pid,
        )
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def app_from_environment() -> FastAPI:
    """The app of one worker of ``unrated serve --workers N`` (settings in the environment)."""
    settings = json.loads(os.environ[CONFIG_VARIABLE])
    return create_app(**settings)
