"""Load test of ``unrated serve``: GET /recommend?k=20 for random known users, on loopback.

Starts the real server (``python -m unrated serve MODEL``) on a free 127.0.0.1 port, warms it
up, then runs an asyncio load generator (raw HTTP/1.1: see ``Connection``) with a fixed
number of concurrent keep-alive connections for a bounded number of requests (and at most
``--seconds``), and reports requests/s, latency percentiles and errors. The server is
stopped at the end, whatever happens. Only 127.0.0.1 is ever contacted.

Run (with the Gowalla item-knn model, fitted first)::

    unrated fit ../shared/data/gowalla-lightgcn/train.csv --model item-knn \
        --out /tmp/gowalla-knn.unrated
    python benchmarks/serve_load.py /tmp/gowalla-knn.unrated --requests 20000 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO
from urllib.parse import quote

import httpx
import numpy as np


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    model: str, port: int, workers: int, precompute: str, log: IO[bytes], extra: list[str]
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "unrated", "serve", model, "--port", str(port)]
    command += ["--workers", str(workers), "--precompute", precompute, *extra]
    return subprocess.Popen(  # noqa: S603 (our own command line)
        command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()
    )


def wait_ready(
    base: str, server: subprocess.Popen[bytes], log: IO[bytes], timeout: float = 120.0
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise SystemExit(f"the server exited: {log.read().decode().strip()}")
        try:
            return dict(httpx.get(base + "/health", timeout=2.0).json())
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"the server at {base} did not answer /health within {timeout:.0f} s")


def wait_top_lists(base: str, timeout: float = 1800.0) -> float | None:
    """Wait until the server's background top lists are ready; their build seconds (or None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = httpx.get(base + "/health", timeout=10.0).json().get("top_lists")
        if report is None or report["seconds"] is not None:
            return None if report is None else float(report["seconds"])
        time.sleep(1.0)
    raise SystemExit(f"the top lists were not ready within {timeout:.0f} s")


class Connection:
    """One keep-alive HTTP/1.1 connection that sends GETs and reads whole responses.

    httpx spends about 2 ms of CPU per request here (measured: 423 req/s with the server
    idle half the time), which would measure the client, not the server; this sends the
    bytes of a request and reads the status line, headers and Content-Length body directly.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        """Connect to 127.0.0.1:port."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def get(self, target: str) -> tuple[int, bytes]:
        """Send one GET; return the status code and the body."""
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        return await self._response()

    async def post(self, target: str, body: bytes) -> tuple[int, bytes]:
        """Send one POST of a JSON body; return the status code and the body."""
        head = (
            f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        return await self._response()

    async def _response(self) -> tuple[int, bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        """Close the connection."""
        self.writer.close()


async def post_events(
    port: int, users: list[str], items: list[str], *, events: int, clients: int
) -> tuple[int, int, list[float]]:
    """``events`` POST /events of one purchase each from ``clients`` connections.

    Returns (acknowledged, errors, latencies in s).
    """
    remaining, acknowledged, errors = events, 0, 0
    latencies: list[float] = []

    async def client(seed: int) -> None:
        nonlocal remaining, acknowledged, errors
        rng = random.Random(1000 + seed)  # noqa: S311 (picks test purchases)
        connection = await Connection.open(port)
        try:
            while remaining > 0:
                remaining -= 1
                event = {"user": rng.choice(users), "item": rng.choice(items)}
                body = json.dumps({"events": [event]}).encode()
                started = time.perf_counter()
                status, _ = await connection.post("/events", body)
                latencies.append(time.perf_counter() - started)
                acknowledged += status == 200
                errors += status != 200
        finally:
            connection.close()

    await asyncio.gather(*(client(seed) for seed in range(clients)))
    return acknowledged, errors, latencies


async def load(
    port: int,
    users: list[str],
    *,
    requests: int,
    concurrency: int,
    seconds: float,
    k: int,
    query: str = "",
) -> tuple[list[float], int, float]:
    """Send ``requests`` GETs over ``concurrency`` connections; (latencies s, errors, wall s)."""
    latencies: list[float] = []
    errors = 0
    remaining = requests
    deadline = time.perf_counter() + seconds
    connections = [await Connection.open(port) for _ in range(concurrency)]

    async def worker(connection: Connection, seed: int) -> None:
        nonlocal remaining, errors
        rng = random.Random(seed)  # noqa: S311 (picks test users)
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            user = quote(users[rng.randrange(len(users))])
            started = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(
                    connection.get(f"/recommend?user={user}&k={k}{query}"), timeout=10.0
                )
                ok = status == 200 and len(json.loads(body)["items"]) == k
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                ok = False
                connection.close()
                connection = await Connection.open(port)
            latencies.append(time.perf_counter() - started)
            errors += not ok

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c, seed) for seed, c in enumerate(connections)))
    finally:
        for connection in connections:
            connection.close()
    return latencies, errors, time.perf_counter() - started


def users_of(base: str, total: int) -> list[str]:
    users: list[str] = []
    with httpx.Client(base_url=base, timeout=10.0) as client:
        for offset in range(0, total, 1000):
            page = client.get("/users", params={"offset": offset, "limit": 1000}).json()
            users += [str(u) for u in page["users"]]
    return users


def resident_mib(pid: int) -> float:
    """Resident memory of a process and its children, in MiB (Linux /proc)."""
    total, pids = 0.0, [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text()
        except OSError:
            continue
        total += int(status.split("VmRSS:")[1].split()[0]) / 1024
        pids += [int(child) for child in children.split()]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0, help="stop early after this")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("-k", type=int, default=20)
    parser.add_argument(
        "--precompute",
        choices=("auto", "on", "off"),
        default="auto",
        help="the server's option; the load starts once its top lists are ready",
    )
    parser.add_argument(
        "--where", action="append", default=[], help="a rule sent with every GET (repeatable)"
    )
    parser.add_argument(
        "--events", type=int, default=0, help="POST /events of one purchase each, during the load"
    )
    parser.add_argument("--event-clients", type=int, default=8)
    args = parser.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    query = "".join(f"&where={quote(rule)}" for rule in args.where)
    # The server's output goes to a temporary file, shown if it fails to start.
    with tempfile.TemporaryFile() as log, tempfile.TemporaryDirectory() as folder:
        events_file = Path(folder) / "events.csv"
        server = start_server(
            args.model, port, args.workers, args.precompute, log, ["--events", str(events_file)]
        )
        try:
            health = wait_ready(base, server, log)
            top_lists_seconds = wait_top_lists(base)
            users = users_of(base, int(str(health["users"])))
            items = [i["item"] for i in httpx.get(base + "/items?limit=100").json()["items"]]
            asyncio.run(  # warm up every worker
                load(
                    port,
                    users,
                    requests=2000,
                    concurrency=args.concurrency,
                    seconds=10,
                    k=args.k,
                    query=query,
                )
            )
            load_before = os.getloadavg()

            async def both() -> tuple[tuple[list[float], int, float], tuple[int, int, list[float]]]:
                gets = load(
                    port,
                    users,
                    requests=args.requests,
                    concurrency=args.concurrency,
                    seconds=args.seconds,
                    k=args.k,
                    query=query,
                )
                posts = post_events(
                    port, users, items, events=args.events, clients=args.event_clients
                )
                return await asyncio.gather(gets, posts)

            (latencies, errors, wall), (acknowledged, post_errors, post_latencies) = asyncio.run(
                both()
            )
            memory = resident_mib(server.pid)
        finally:
            server.kill()  # no clean shutdown: the events file must hold what was acknowledged
            server.wait(timeout=30)
        written = max(0, len(events_file.read_text().splitlines()) - 1) if args.events else 0
    ms = np.asarray(latencies) * 1e3
    print(
        f"model {health['model']} ({health['users']:,} users × {health['items']:,} items), "
        f"{args.workers} worker(s), {args.concurrency} connections, k={args.k}"
        + (f", rules {' '.join(args.where)}" if args.where else "")
    )
    print(f"server resident memory (all processes): {memory:,.0f} MiB")
    if top_lists_seconds is not None:
        print(f"top lists of every user ranked in the background in {top_lists_seconds:.1f} s")
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    print(
        f"{len(ms):,} requests in {wall:.1f} s: {len(ms) / wall:,.0f} req/s; latency ms "
        f"p50 {np.percentile(ms, 50):.2f}, p90 {np.percentile(ms, 90):.2f}, "
        f"p99 {np.percentile(ms, 99):.2f}, max {ms.max():.2f}; errors (not 200 with k items) "
        f"{errors}"
    )
    if args.events:
        post_ms = np.asarray(post_latencies) * 1e3
        print(
            f"POST /events from {args.event_clients} clients: {acknowledged:,} acknowledged, "
            f"{post_errors} errors, p50 {np.percentile(post_ms, 50):.2f} ms, p99 "
            f"{np.percentile(post_ms, 99):.2f} ms; after kill -9 the events file holds "
            f"{written:,} events"
        )


if __name__ == "__main__":
    main()
