"""AccessLog: one line per request on the server's log (``unrated serve``; ``--no-access-log``).

``127.0.0.1:50412 "GET /recommend HTTP/1.1" 200 0.6 ms``: client, method, path, protocol,
status and the time from the request's arrival at the app to its last byte sent. The query
string is left out (it holds user ids, exclusions, searches) and so is every header (the
API key above all). The path is written as it came on the wire, percent-encoding kept and
any other byte escaped, so a client cannot put control characters in the log.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("uvicorn.error")


class AccessLog:
    """Pure ASGI middleware: logs each HTTP request once it is answered (or has failed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, then log it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def status_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, status_send)
        except BaseException:
            status = status or 500  # what the server answers for an escaped exception
            raise
        finally:
            client = scope.get("client")
            raw = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            logger.info(
                '%s "%s %s HTTP/%s" %s %.1f ms',
                f"{client[0]}:{client[1]}" if client else "-",
                scope["method"],
                repr(raw.partition(b"?")[0])[2:-1],  # printable ASCII, the rest escaped
                scope.get("http_version", "1.1"),
                status or "-",
                (time.perf_counter() - started) * 1000,
            )
