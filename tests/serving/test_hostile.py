"""The service under hostile traffic: it answers or refuses cleanly, and never crashes.

Malformed and huge bodies, slow clients, 1,000 connections at once, odd ids, requests
without the API key. Every test talks to a real server over loopback; the session's
teardown checks that the server's log holds no traceback.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Mount, Route

from tests.counts import count
from tests.serving.conftest import Server, StartServer
from unrated.serving.api_key import is_public
from unrated.serving.app import create_app
from unrated.serving.connections import HEAD_TIMEOUT, MAX_HEAD_BYTES, raise_open_file_limit

pytestmark = pytest.mark.server
KEY = "hostile-key"
JSON_TYPE = {"content-type": "application/json"}
USER = "C00001"

#: Bodies that are not JSON, or not JSON of the right shape: 422 on both POST endpoints.
MALFORMED: dict[str, bytes] = {
    "truncated": b'{"users": [',
    "trailing comma": b'{"users": ["C00001",]}',
    "single quotes": b"{'users': ['C00001']}",
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "nested in a field": b'{"users": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    "5,000-digit k": b'{"users": ["C00001"], "k": ' + b"9" * 5000 + b"}",
    "5,000-digit id": b'{"users": [' + b"9" * 5000 + b"]}",
    "not UTF-8": b'{"users": ["\xff\xfe"]}',
    "NaN": b'{"users": ["C00001"], "k": NaN}',
    "infinite": b'{"users": ["C00001"], "k": 1e999}',
    "empty": b"",
    "null": b"null",
    "a string": b'"C00001"',
    "a number": b"42",
    "an object as id": b'{"users": [{}]}',
    "true as id": b'{"users": [true]}',
    "float as id": b'{"users": [1e308]}',
    "NUL bytes": b"\x00" * 64,
    "every byte": bytes(range(256)),
    "unknown field": b'{"users": ["C00001"], "drop table": 1}',
}
#: Unusual but valid JSON: any documented answer (200/404/422), never a 500.
ODD: dict[str, bytes] = {
    "lone surrogate, echoed": b'{"users": ["\\ud800"], "fallback": true}',
    "lone surrogate": b'{"users": ["\\udfff"]}',
    "NUL in id": b'{"users": ["\\u0000"], "fallback": true}',
    "UTF-8 BOM": b'\xef\xbb\xbf{"users": ["C00001"]}',
    "UTF-16": '{"users": ["C00001"]}'.encode("utf-16"),
    "duplicate keys": b'{"users": ["C00001"], "users": ["C00002"]}',
    "negative zero id": b'{"users": [-0]}',
    "huge integer id": b'{"users": [123456789012345678901234567890]}',
}


def run_async(factory: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 120) -> Any:
    """Run a coroutine in a thread of its own (Playwright may hold this thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result(timeout=timeout)


def port_of(server: Server) -> int:
    return int(urlsplit(server.base).port or 0)


def answer(response: httpx.Response, allowed: set[int]) -> dict[str, Any]:
    """The JSON body of ``response``, whose status must be one of ``allowed``."""
    count("requests: hostile")
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    body = response.json()
    assert isinstance(body, dict)
    if response.status_code >= 400:
        assert set(body) == {"error", "detail"}, body
    return body


async def raw_exchange(port: int, request: bytes, timeout: float = 30) -> tuple[int, bytes]:
    """Send raw bytes, read until the server closes: (status, body)."""
    count("requests: hostile")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


# ---------------------------------------------------------------------- bodies
@pytest.mark.parametrize("path", ["/recommend", "/recommend/history"])
def test_malformed_json_is_422_never_500(api: httpx.Client, path: str) -> None:
    for name, body in MALFORMED.items():
        if path.endswith("history"):
            body = body.replace(b'"users"', b'"items"')
        for content_type in ("application/json", "text/plain"):
            response = api.post(path, content=body, headers={"content-type": content_type})
            error = answer(response, {422})
            assert error["error"] == "InvalidParameterError", (name, error)
    for name, body in ODD.items():
        if path.endswith("history"):
            body = body.replace(b'"users"', b'"items"')
        response = api.post(path, content=body, headers={"content-type": "application/json"})
        result = answer(response, {200, 404, 422})
        if name == "lone surrogate, echoed" and path == "/recommend":
            assert result["results"][0]["user"] == "\ud800"  # as sent, escaped


def test_declared_huge_body_is_refused_at_once(shop_server: Server) -> None:
    async def run() -> list[tuple[int, bytes]]:
        answers = []
        for length, expect in (
            (10**12, ""),
            (2**63 - 1, ""),
            (2 << 20, "Expect: 100-continue\r\n"),  # the client waits for a go-ahead
        ):
            head = (
                f"POST /recommend HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {length}\r\n{expect}\r\n"
            )
            # nothing of the body is sent: the answer must not wait for it
            answers.append(await raw_exchange(port_of(shop_server), head.encode(), timeout=5))
        return answers

    for status, body in run_async(run):
        assert status == 413, body
        assert json.loads(body)["error"] == "ContentTooLarge"


def big_body(megabytes: float) -> Iterator[bytes]:
    """A JSON body of about ``megabytes`` MiB, streamed (chunked: no Content-Length)."""
    yield b'{"items": ['
    for _ in range(int(megabytes * 16)):
        yield b'"' + b"x" * 65_530 + b'",'
    yield b'"x"]}'


def test_huge_bodies_get_their_413(api: httpx.Client) -> None:
    for declared in (True, False):  # with a Content-Length, or chunked
        for _ in range(5):
            body: bytes | Iterator[bytes] = big_body(2)
            if declared:
                body = b"".join(body)
            response = api.post("/recommend/history", content=body, headers=JSON_TYPE)
            assert answer(response, {413})["error"] == "ContentTooLarge"
            # read and dropped: the same connection goes on serving
            assert answer(api.get("/health"), {200})["status"] == "ok"


def test_endless_body_is_cut_off(api: httpx.Client) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for chunk in big_body(64):
            sent += len(chunk)
            yield chunk

    try:
        response = api.post("/recommend/history", content=chunks(), headers=JSON_TYPE)
    except httpx.TransportError:  # the server hung up while we were still sending
        count("requests: hostile")
    else:
        assert answer(response, {413})["error"] == "ContentTooLarge"
    assert sent < 16 << 20  # the server stopped reading long before the end


def test_huge_head_is_refused(shop_server: Server) -> None:
    filler = b"a" * (MAX_HEAD_BYTES + 10)
    for request in (
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: " + filler + b"\r\n\r\n",
        b"GET /recommend?user=" + filler + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ):
        try:
            status, body = run_async(lambda r=request: raw_exchange(port_of(shop_server), r))
        except ConnectionResetError:  # refused before reading all we sent: fine too
            continue
        assert status == 431, body
        assert json.loads(body)["error"] == "RequestHeaderFieldsTooLarge"
    with httpx.Client(base_url=shop_server.base, timeout=10) as client:
        assert answer(client.get("/health"), {200})["status"] == "ok"


# ---------------------------------------------------------------------- slow clients
@pytest.mark.slow
def test_slow_and_idle_clients_do_not_block_others_and_are_cut_off(shop_server: Server) -> None:
    port = port_of(shop_server)
    request = f"GET /recommend?user={USER} HTTP/1.1\r\nHost: x\r\n\r\n".encode()

    async def drip() -> tuple[int, float]:
        """Send the head one byte every 0.25 s (it would take ~12 s): slowloris."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        reply = asyncio.create_task(reader.read())
        for byte in request:
            if reply.done():
                break
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except ConnectionError:
                break
            await asyncio.sleep(0.25)
        data = await asyncio.wait_for(reply, HEAD_TIMEOUT + 10)
        seconds = time.monotonic() - started
        writer.close()
        count("requests: slowloris")
        return (int(data.split(b" ", 2)[1]) if data else 0), seconds

    async def idle() -> tuple[int, float]:
        """Connect and send nothing at all."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        data = await asyncio.wait_for(reader.read(), HEAD_TIMEOUT + 10)
        writer.close()
        return (-1 if data else 0), time.monotonic() - started

    async def run() -> tuple[list[tuple[int, float]], list[float]]:
        slow = [asyncio.create_task(drip()) for _ in range(50)]
        slow += [asyncio.create_task(idle()) for _ in range(50)]
        latencies: list[float] = []
        async with httpx.AsyncClient(base_url=shop_server.base, timeout=10) as client:
            while not all(task.done() for task in slow):
                started = time.monotonic()
                response = await client.get("/recommend", params={"user": USER})
                latencies.append(time.monotonic() - started)
                answer(response, {200})
                await asyncio.sleep(0.05)
        return await asyncio.gather(*slow), latencies

    cut_off, latencies = run_async(run, timeout=60)
    assert [status for status, _ in cut_off] == [408] * 50 + [0] * 50  # 408, or closed unasked
    for _, seconds in cut_off:
        assert HEAD_TIMEOUT - 1 < seconds < HEAD_TIMEOUT + 5
    assert len(latencies) > 50
    assert max(latencies) < 2.0, sorted(latencies)[-5:]  # the others were served meanwhile


# ---------------------------------------------------------------------- many connections
def test_a_thousand_concurrent_connections(shop_server: Server) -> None:
    raise_open_file_limit(4096)  # this process holds the 1,000 client ends
    port, n = port_of(shop_server), 1000

    async def run() -> list[int]:
        opened = await asyncio.gather(
            *(asyncio.open_connection("127.0.0.1", port) for _ in range(n))
        )  # all open at once before any request goes out

        async def ask(number: int, reader: Any, writer: Any) -> int:
            user = f"C{number % 400:05d}"
            writer.write(
                f"GET /recommend?user={user}&k=5 HTTP/1.1\r\nHost: x\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            try:
                await writer.drain()
                data = await asyncio.wait_for(reader.read(), 60)
            except (ConnectionError, TimeoutError):
                return -1
            finally:
                writer.close()
            return int(data.split(b" ", 2)[1]) if data else -1

        return await asyncio.gather(*(ask(i, r, w) for i, (r, w) in enumerate(opened)))

    statuses = run_async(run, timeout=120)
    count("requests: 1,000 connections", len(statuses))
    # served (200) or refused with an answer (503), never dropped
    assert set(statuses) <= {200, 503}, {s: statuses.count(s) for s in set(statuses)}
    assert statuses.count(200) >= 900
    with httpx.Client(base_url=shop_server.base, timeout=10) as client:
        assert answer(client.get("/health"), {200})["status"] == "ok"


# ---------------------------------------------------------------------- unknown ids
ODD_PIECES = ["%", "%2F", "%00", "%ff", "%zz", "%ED%A0%80", "/", "?", "#", "&", "=", "..", "\\"]
ids = st.one_of(
    st.text(min_size=1, max_size=40),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.lists(st.sampled_from([*ODD_PIECES, "C00001", "é", "🍣", " "]), min_size=1).map("".join),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(min_size=900, max_size=3000),  # very long, past the 1,000-character limit
)


def not_broken(response: httpx.Response) -> None:
    """Any answer but a server error; errors in the JSON error format."""
    count("requests: hostile")
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert set(response.json()) == {"error", "detail"}, response.text[:300]


@pytest.mark.slow
def test_unknown_ids_never_give_500(shop_server: Server) -> None:
    allowed = {200, 404, 422}
    with httpx.Client(base_url=shop_server.base, timeout=10) as client:

        @given(identifier=ids)
        @settings(
            max_examples=150,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(identifier: str) -> None:
            for params in ({"user": identifier}, {"user": identifier, "fallback": "true"}):
                answer(client.get("/recommend", params=params), allowed)
            answer(client.get("/similar", params={"item": identifier}), allowed)
            answer(client.get("/items", params={"q": identifier[:200]}), {200})
            escaped = quote(identifier, safe="").replace(".", "%2E")
            raw = quote(identifier, safe="%").replace(".", "%2E")  # %-escapes left as they are
            for path in (f"/users/{escaped}", f"/items/{escaped}", f"/users/{raw}"):
                not_broken(client.get(path))  # a "/" in an id: another route, or none
            users = {"users": [identifier], "fallback": True}
            body = answer(client.post("/recommend", json=users), allowed)
            if "results" in body:
                assert body["results"][0]["user"] == identifier
            answer(client.post("/recommend", json={"users": [identifier]}), allowed)
            answer(client.post("/recommend/history", json={"items": [identifier]}), allowed)

        check()


# ---------------------------------------------------------------------- API key
ODD_PATHS = [
    "/no-such-page",
    "/recommend/",
    "//recommend",
    "/static/../recommend",
    "/static/%2e%2e/recommend",
    "/static/..%2frecommend",
    "/RECOMMEND",
    "/health/../recommend",
    "/recommend%00",
]


def flat_routes(routes: Any) -> Iterator[Any]:
    """The routes, those of included routers among them (FastAPI keeps a router as one entry)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from flat_routes(inner.routes) if inner is not None else [route]


def concrete_requests(app: Any) -> Iterator[tuple[str, str]]:
    """(method, path) for every route of ``app``, path parameters filled in."""
    for route in flat_routes(app.routes):
        if isinstance(route, Mount):
            yield "GET", route.path + "/app.js"
        elif isinstance(route, APIRoute | Route):
            path = route.path.replace("{user}", USER).replace("{item}", "P0001")
            assert "{" not in path, f"fill in the parameters of {route.path}"
            for method in sorted(route.methods or {"GET"}):
                yield method, path
        else:
            pytest.fail(f"unexpected kind of route: {route!r}")


@pytest.mark.slow
def test_with_an_api_key_only_public_paths_answer_without_it(
    start_server: StartServer, knn_model_file: Path
) -> None:
    server = start_server(knn_model_file, "--api-key", KEY)
    app = create_app(knn_model_file, api_key=KEY)  # the route table the server runs
    requests = list(concrete_requests(app))
    assert len(requests) >= 12
    body = {"users": [USER], "items": ["P0001"]}
    with (
        server.client() as anonymous,
        server.client(**{"X-API-Key": KEY + "x"}) as wrong,
        server.client(**{"X-API-Key": ""}) as empty,
        server.client(**{"X-API-Key": KEY}) as keyed,
    ):
        for method, path in requests:
            for client in (anonymous, wrong, empty):
                response = client.request(method, path, json=body if method == "POST" else None)
                count("requests: API key")
                if is_public(path):
                    assert response.status_code < 400, (method, path, response.status_code)
                    assert USER not in response.text  # public answers hold no data
                else:
                    assert response.status_code == 401, (method, path, response.text)
                    assert response.json()["error"] == "Unauthorized"
            response = keyed.request(method, path, json=body if method == "POST" else None)
            count("requests: API key")
            assert response.status_code not in (401, 500), (method, path, response.text)

    async def odd_paths() -> list[int]:  # sent as written (httpx would normalise them)
        statuses = []
        for path in ODD_PATHS:
            request = f"GET {path}?user={USER} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            statuses.append((await raw_exchange(port_of(server), request.encode()))[0])
        return statuses

    statuses = run_async(odd_paths)
    refused = dict(zip(ODD_PATHS, statuses, strict=True))
    assert set(statuses) <= {401, 404}, refused
    with server.client() as anonymous:
        two_keys = anonymous.get(
            "/recommend", params={"user": USER}, headers=[("X-API-Key", KEY), ("X-API-Key", KEY)]
        )
        assert two_keys.status_code == 401
        count("requests: API key")


# ---------------------------------------------------------------------- access log
def test_the_access_log_writes_what_clients_send_as_inert_text(
    start_server: StartServer, knn_model_file: Path
) -> None:
    """Bytes a client puts in a path reach the log escaped; the query string never does."""
    server = start_server(knn_model_file, "--api-key", KEY)
    requests = [
        b"GET /users/\xc3\xa9t\xc3\xa9 HTTP/1.1\r\n",  # raw UTF-8 in the path
        b"GET /users/%1b%5B2J%07?user=secret-user HTTP/1.1\r\n",  # an escape sequence, encoded
        b"GET /items/\x1b[2J HTTP/1.1\r\n",  # a raw one (the parser may refuse it first)
    ]

    async def send_all() -> list[int]:
        head = f"Host: x\r\nX-API-Key: {KEY}\r\nConnection: close\r\n\r\n".encode()
        return [(await raw_exchange(port_of(server), line + head))[0] for line in requests]

    statuses = run_async(send_all)
    assert statuses[1] == 404 and set(statuses) <= {400, 404}, statuses  # 400: the parser's
    log = server.log_text()
    if statuses[0] == 404:
        assert '"GET /users/\\xc3\\xa9t\\xc3\\xa9 HTTP/1.1" 404 ' in log
    assert '"GET /users/%1b%5B2J%07 HTTP/1.1" 404 ' in log
    assert "\x1b" not in log and "\x07" not in log
    assert "secret-user" not in log and KEY not in log


def test_no_access_log_when_turned_off(start_server: StartServer, knn_model_file: Path) -> None:
    server = start_server(knn_model_file, "--no-access-log")
    with server.client() as client:
        assert client.get("/users", params={"limit": 1}).status_code == 200
    assert "GET /users" not in server.log_text()
    assert "GET /health" not in server.log_text()
