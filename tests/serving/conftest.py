"""Real servers for the serving tests: ``python -m unrated serve`` on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import unrated as ur
from unrated.data.sample_shop import make_sample_shop
from unrated.modelfile import save_model

START_TIMEOUT = 90.0


@dataclass
class Server:
    """A running ``unrated serve`` subprocess."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30.0, headers=headers)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(base + "/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not become healthy in {START_TIMEOUT} s:\n{log.read_text()}")


def launch(model: Path, *args: str, log_dir: Path, env: dict[str, str] | None = None) -> Server:
    """Start ``unrated serve MODEL *args`` on a free port and wait until /health answers."""
    port = free_port()
    log = log_dir / f"server-{port}.log"
    command = [sys.executable, "-m", "unrated", "serve", str(model), "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=os.environ | {"UNRATED_PROGRESS": "0", "COLUMNS": "160"} | (env or {}),
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_healthy(server.base, process, log)
    except BaseException:
        stop(server, check_log=False)
        raise
    return server


def stop(server: Server, *, check_log: bool = True) -> None:
    """SIGTERM (then SIGKILL); the log must hold no traceback."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
    if check_log:
        assert "Traceback" not in server.log_text(), server.log_text()


StartServer = Callable[..., Server]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start servers for one test; each is stopped (no traceback allowed) after it."""
    servers: list[Server] = []

    def start(model: Path, *args: str, env: dict[str, str] | None = None) -> Server:
        servers.append(launch(model, *args, log_dir=tmp_path, env=env))
        return servers[-1]

    yield start
    for server in servers:
        stop(server)


@pytest.fixture(scope="session")
def shop() -> ur.Interactions:
    return ur.read_interactions(make_sample_shop(customers=400, products=150, seed=1).purchases)


@pytest.fixture(scope="session")
def shop_names() -> dict[str, str]:
    products = make_sample_shop(customers=400, products=150, seed=1).products
    return dict(zip(products["product_id"].to_list(), products["name"].to_list(), strict=True))


@pytest.fixture(scope="session")
def knn_model_file(
    tmp_path_factory: pytest.TempPathFactory, shop: ur.Interactions, shop_names: dict[str, str]
) -> Path:
    path = tmp_path_factory.mktemp("models") / "knn.unrated"
    save_model(ur.ItemKNN(neighbors=50).fit(shop), path, item_names=shop_names)
    return path


@pytest.fixture(scope="session")
def popular_model_file(tmp_path_factory: pytest.TempPathFactory, shop: ur.Interactions) -> Path:
    path = tmp_path_factory.mktemp("models") / "popular.unrated"
    save_model(ur.Popular().fit(shop), path)
    return path


@pytest.fixture(scope="session")
def shop_server(tmp_path_factory: pytest.TempPathFactory, knn_model_file: Path) -> Iterator[Server]:
    """One item-knn server with product names and small limits, shared by read-only tests."""
    server = launch(
        knn_model_file, "--max-k", "50", "--max-batch", "5", log_dir=tmp_path_factory.mktemp("log")
    )
    yield server
    stop(server)


@pytest.fixture
def api(shop_server: Server) -> Iterator[httpx.Client]:
    with shop_server.client() as client:
        yield client
