"""API key, and swapping the model under load: no request may fail."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.counts import count
from tests.serving.conftest import Server, StartServer
from unrated.modelfile import load_model

pytestmark = pytest.mark.server
KEY = "s3cret-key"


def replace_file(source: Path, target: Path) -> None:
    """Put a new model where the old one was, atomically (as save_model does)."""
    temporary = target.with_suffix(".tmp")
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)


def wait_for(check: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    pytest.fail("condition not reached in time")


def test_api_key_from_the_environment(start_server: StartServer, knn_model_file: Path) -> None:
    server = start_server(knn_model_file, env={"UNRATED_API_KEY": KEY})
    user = str(load_model(knn_model_file).users_.ids[0])
    with (
        server.client() as anonymous,
        server.client(**{"X-API-Key": "wrong"}) as wrong,
        server.client(**{"X-API-Key": KEY}) as keyed,
    ):
        health = anonymous.get("/health")
        assert health.status_code == 200
        assert health.json()["api_key_required"] is True
        assert anonymous.get("/").status_code == 200  # the page asks for the key itself
        for client in (anonymous, wrong):
            for response in (
                client.get("/recommend", params={"user": user}),
                client.get("/users", params={"limit": 1}),
                client.post("/recommend/history", json={"items": []}),
                client.post("/reload"),
            ):
                assert response.status_code == 401, response.text
                assert response.json()["error"] == "Unauthorized"
                assert response.headers["www-authenticate"] == "X-API-Key"
        assert keyed.get("/recommend", params={"user": user}).status_code == 200
        security = anonymous.get("/openapi.json").json()["components"]["securitySchemes"]
        assert security["APIKeyHeader"]["name"] == "X-API-Key"


def test_a_non_ascii_key_is_sent_as_its_utf8_bytes(
    start_server: StartServer, knn_model_file: Path
) -> None:
    """One rule: the X-API-Key header's raw bytes are the key's UTF-8 bytes, for every route.

    The middleware and the routes both compare those bytes (a key that the middleware let
    through and a route refused locked every client out). Each request is logged, without
    its query string and without the key.
    """
    key = "clé-🔑"
    server = start_server(knn_model_file, env={"UNRATED_API_KEY": key})
    user = str(load_model(knn_model_file).users_.ids[0])
    with server.client() as client:
        for sent, status in (
            (key.encode("utf-8"), 200),
            ("clé".encode("latin-1") + "-🔑".encode(), 401),
            ("cle-🔑".encode(), 401),
        ):
            for response in (
                client.get("/recommend", params={"user": user}, headers={"X-API-Key": sent}),
                client.get(f"/users/{user}", headers={"X-API-Key": sent}),
                client.post("/reload", headers={"X-API-Key": sent}),
            ):
                assert response.status_code == status, (sent, response.text)
    log = server.log_text()
    assert f'"GET /users/{user} HTTP/1.1" 200 ' in log
    assert '"POST /reload HTTP/1.1" 401 ' in log
    assert '"GET /recommend HTTP/1.1" 200 ' in log  # no query string: no user ids
    assert f"user={user}" not in log
    for shown in (key, "clé", "cle-", key.encode().decode("latin-1"), "\\xc3\\xa9"):
        assert shown not in log, shown


async def hammer(base: str, users: list[str], stop: asyncio.Event, codes: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30.0, headers={"X-API-Key": KEY}) as client:
        rng = random.Random(len(codes))  # noqa: S311
        while not stop.is_set():
            try:
                response = await client.get("/recommend", params={"user": rng.choice(users)})
                codes.append(response.status_code)
            except httpx.HTTPError as error:
                codes.append(-1)
                print("request failed:", repr(error))


@pytest.mark.slow
def test_reload_under_concurrent_requests(
    start_server: StartServer, knn_model_file: Path, popular_model_file: Path, tmp_path: Path
) -> None:
    served_file = tmp_path / "served.unrated"
    shutil.copyfile(knn_model_file, served_file)
    server = start_server(served_file, "--api-key", KEY)
    users = [str(u) for u in load_model(knn_model_file).users_.ids.tolist()]
    control = server.client(**{"X-API-Key": KEY})
    models = [popular_model_file, knn_model_file] * 3

    async def run() -> list[int]:
        codes: list[int] = []
        stop = asyncio.Event()
        tasks = [asyncio.create_task(hammer(server.base, users, stop, codes)) for _ in range(8)]
        for number, source in enumerate(models, start=2):
            await asyncio.sleep(0.3)
            replace_file(source, served_file)
            if number % 2:  # SIGHUP: reloads in the background
                server.process.send_signal(signal.SIGHUP)
                await asyncio.to_thread(
                    wait_for, lambda n=number: control.get("/health").json()["generation"] == n
                )
            else:
                reply = await asyncio.to_thread(control.post, "/reload")
                assert reply.status_code == 200, reply.text
                assert reply.json()["generation"] == number
                assert reply.json()["model"] == load_model(source).key
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
        return codes

    # In a thread of its own: Playwright's sync API (the session's browser) keeps an event
    # loop marked running on this thread, where asyncio.run() would refuse to start.
    with ThreadPoolExecutor(1) as pool:
        codes = pool.submit(lambda: asyncio.run(run())).result(timeout=300)
    count("requests: during reloads", len(codes))
    assert len(codes) > 100
    assert set(codes) == {200}, {code: codes.count(code) for code in set(codes)}
    health = control.get("/health").json()
    assert (health["generation"], health["model"]) == (len(models) + 1, "item-knn")

    # A broken file is refused; the old model stays in service.
    served_file.write_bytes(b"not a model")
    reply = control.post("/reload")
    assert reply.status_code == 409, reply.text
    assert reply.json()["error"] == "ModelFileError"
    server.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in server.log_text(), timeout=30)
    assert control.get("/health").json()["generation"] == len(models) + 1
    assert control.get("/recommend", params={"user": users[0]}).status_code == 200
    control.close()


@pytest.mark.slow
def test_reload_replaces_every_worker(
    start_server: StartServer, knn_model_file: Path, popular_model_file: Path, tmp_path: Path
) -> None:
    served_file = tmp_path / "served.unrated"
    shutil.copyfile(knn_model_file, served_file)
    server: Server = start_server(served_file, "--api-key", KEY, "--workers", "2")
    with server.client(**{"X-API-Key": KEY}) as client:
        replace_file(popular_model_file, served_file)
        reply = client.post("/reload")
        assert reply.status_code == 200, reply.text
        assert "every worker" in reply.json()["workers"]

        def all_popular() -> bool:
            return all(client.get("/health").json()["model"] == "popular" for _ in range(20))

        wait_for(all_popular, timeout=90)
