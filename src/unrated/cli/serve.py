"""``unrated serve``: the HTTP API and the web page for one model file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from unrated.cli import app
from unrated.cli._display import plain
from unrated.cli._options import errors
from unrated.errors import InvalidParameterError


@app.command(
    help="Serve MODEL over HTTP: JSON API (schema at /openapi.json) and a web page at /.\n\n"
    "Reload a new model file in place with SIGHUP or POST /reload (needs --api-key): "
    "requests in flight finish on the old model, none fails."
)
def serve(
    model: Annotated[Path, typer.Argument(help="Model file written by 'unrated fit'.")],
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 exposes the service to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="UNRATED_API_KEY",
            help="Require this key in the X-API-Key header (all but /health and the page).",
            show_envvar=True,
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Worker processes; each loads its own copy of the model.")
    ] = 1,
    ann: Annotated[
        bool, typer.Option("--ann", help="Approximate top-k (hnswlib) for factor models.")
    ] = False,
    precompute: Annotated[
        str,
        typer.Option(
            help="Rank every known user in the background and answer from those lists: "
            "auto (when one user takes over 5 ms alone, as a graph filter does), on, off."
        ),
    ] = "auto",
    fallback_popular: Annotated[
        bool,
        typer.Option("--fallback-popular", help="Unknown users get popular items, not a 404."),
    ] = False,
    max_k: Annotated[int, typer.Option(help="Largest k a request may ask for.")] = 1000,
    max_batch: Annotated[
        int, typer.Option(help="Most users (or basket items) per request.")
    ] = 1000,
    access_log: Annotated[
        bool,
        typer.Option(help="One log line per request: client, method, path, status, ms."),
    ] = True,
    events: Annotated[
        Path | None,
        typer.Option(
            help="Where POST /events appends purchases (default: MODEL.events.csv); "
            "'unrated update' reads it."
        ),
    ] = None,
    max_events: Annotated[
        int, typer.Option(help="Most events held until an update (429 beyond).")
    ] = 1_000_000,
) -> None:
    """Serve MODEL over HTTP (the help above keeps each paragraph on one line)."""
    import uvicorn

    from unrated._checks import check_choice, check_int
    from unrated.serving.api_key import check_api_key
    from unrated.serving.app import CONFIG_VARIABLE, create_app
    from unrated.serving.connections import PROTOCOL, raise_open_file_limit
    from unrated.serving.served import load_served
    from unrated.serving.top_lists import PRECOMPUTE_CHOICES

    check_int(port, "port", "serve", minimum=1)
    if port > 65535:
        raise InvalidParameterError(f"The 'port' parameter of serve must be ≤ 65535. Got {port}.")
    check_int(workers, "workers", "serve")
    check_int(max_k, "max_k", "serve")
    check_int(max_batch, "max_batch", "serve")
    check_int(max_events, "max_events", "serve")
    check_choice(precompute, "precompute", "serve", PRECOMPUTE_CHOICES)
    if api_key is None and os.environ.get("UNRATED_API_KEY") == "":
        api_key = ""  # set but empty (click reads it as unset): refused as --api-key '' is
    check_api_key(api_key)
    settings = {
        "model_path": str(model.resolve()),
        "api_key": api_key,
        "ann": ann,
        "precompute": precompute,
        "fallback_popular": fallback_popular,
        "max_k": max_k,
        "max_batch": max_batch,
        "access_log": access_log,
        "events": None if events is None else str(events.resolve()),
        "max_events": max_events,
    }
    # Load (and check) the model here, so a bad file is one line on stderr, not a traceback
    # in the server's log. One worker keeps this copy; several load their own.
    served = load_served(model, ann=ann, precompute=precompute)
    errors.print(
        f"unrated: serving {plain(served.metadata.get('model'))} ({served.n_users:,} users × "
        f"{served.n_items:,} items) at http://{plain(host)}:{port}/ — API schema at /openapi.json"
        + ("; API key required" if api_key else ""),
        markup=False,
    )
    if host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        errors.print(
            f"warning: listening on {plain(host)} without --api-key: "
            "anyone who can reach it may use it",
            markup=False,
        )
    raise_open_file_limit()  # one file per connection: a soft limit of 1024 is soon reached
    options = {
        "host": host,
        "port": port,
        "http": PROTOCOL,  # bounded request heads (size and time): see serving/connections.py
        "timeout_keep_alive": 5,
        "access_log": False,  # the app logs requests itself (serving/access_log.py)
        "log_level": "info",
        "timeout_graceful_shutdown": 10,
    }
    if workers == 1:
        uvicorn.run(create_app(served=served, **settings), **options)  # type: ignore[arg-type]
        return
    del served
    settings["supervisor_pid"] = os.getpid()
    os.environ[CONFIG_VARIABLE] = json.dumps(settings)
    uvicorn.run(
        "unrated.serving.app:app_from_environment",
        factory=True,
        workers=workers,
        **options,  # type: ignore[arg-type]
    )
