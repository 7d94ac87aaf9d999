"""BodyLimit in-process: slow bodies time out, too large ones are drained (or not) before 413."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from unrated.serving.guards import BodyLimit

STALL: Message = {"type": "stall"}


async def echo_length(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that reads the whole body and answers with its length."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def call(
    middleware: BodyLimit, messages: list[Message], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], dict[str, Any], int]:
    """(status, headers, JSON body, messages the middleware received) of one request."""
    queue = list(messages)
    sent: list[Message] = []
    taken = 0

    async def receive() -> Message:
        nonlocal taken
        taken += 1
        message = queue.pop(0) if queue else STALL
        if message is STALL:
            await asyncio.sleep(3600)
        return message

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    # A thread of its own: the session's Playwright fixture may hold a running event loop here.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, asyncio.wait_for(middleware(scope, receive, send), 10)).result()
    start = sent[0]
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], response_headers, json.loads(body), taken


def chunk(size: int, *, more: bool = True) -> Message:
    return {"type": "http.request", "body": b"x" * size, "more_body": more}


def test_a_body_within_limits_passes() -> None:
    middleware = BodyLimit(echo_length, max_bytes=100, timeout=1)
    assert call(middleware, [chunk(60), chunk(40, more=False)])[::2] == (200, 100)


def test_a_slow_body_is_408_and_closes() -> None:
    middleware = BodyLimit(echo_length, max_bytes=100, timeout=0.2)
    status, headers, body, _ = call(middleware, [chunk(10), STALL])
    assert (status, body["error"], headers["connection"]) == (408, "RequestTimeout", "close")


@pytest.mark.parametrize("declared", [False, True])
def test_a_body_up_to_four_times_the_limit_is_drained_before_413(declared: bool) -> None:
    middleware = BodyLimit(echo_length, max_bytes=100, timeout=1)
    headers = {"content-length": "350"} if declared else {}
    status, response_headers, body, taken = call(
        middleware, [chunk(150), chunk(150), chunk(50, more=False)], headers
    )
    assert (status, body["error"]) == (413, "ContentTooLarge")
    assert "connection" not in response_headers  # all read: the connection can go on
    assert taken == 3


@pytest.mark.parametrize(
    "headers",
    [{"content-length": "401"}, {"content-length": "200", "expect": "100-continue"}],
)
def test_a_larger_or_awaited_body_is_refused_unread(headers: dict[str, str]) -> None:
    middleware = BodyLimit(echo_length, max_bytes=100, timeout=1)
    status, response_headers, _, taken = call(middleware, [chunk(401, more=False)], headers)
    assert (status, response_headers["connection"], taken) == (413, "close", 0)


def test_an_endless_stream_is_cut_off_after_four_times_the_limit() -> None:
    middleware = BodyLimit(echo_length, max_bytes=100, timeout=1)
    status, response_headers, _, taken = call(middleware, [chunk(50)] * 100)
    assert (status, response_headers["connection"]) == (413, "close")
    assert taken <= 9  # 450 bytes read at most
