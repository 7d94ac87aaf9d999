"""Half a minute of mixed, bounded load: every request answered, no 5xx, memory flat.

RSS of the server process (``VmRSS`` in /proc/PID/status) after 30 s of load must be
within 10% of its RSS after warm-up: no leak per request or per connection.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.counts import count, measure
from tests.serving.conftest import StartServer
from unrated.modelfile import load_model

pytestmark = [pytest.mark.server, pytest.mark.slow]
WARM_UP_SECONDS = 5.0
LOAD_SECONDS = 30.0  # ~5,000+ requests on 2 cores: a leak of ~6 KiB a request fails
MAX_REQUESTS = 300_000  # a bound in count too, whatever the machine's speed
CLIENTS = 6  # one of them opens a new connection for every request
TOLERANCE = 0.10


def rss_kib(pid: int) -> int:
    """Resident set size of process ``pid`` in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


async def one_request(
    client: httpx.AsyncClient, rng: random.Random, users: list[str], items: list[str]
) -> int:
    """One request drawn from a mix of every endpoint, good and bad."""
    kind = rng.randrange(100)
    user, item = rng.choice(users), rng.choice(items)
    if kind < 35:
        params = {"user": user, "k": rng.randint(1, 50), "explain": kind % 2 == 0}
        response = await client.get("/recommend", params=params)
    elif kind < 45:
        body = {"users": rng.sample(users, 20), "k": 10, "exclude": rng.sample(items, 3)}
        response = await client.post("/recommend", json=body)
    elif kind < 55:
        response = await client.post("/recommend/history", json={"items": rng.sample(items, 4)})
    elif kind < 62:
        response = await client.get("/similar", params={"item": item, "k": 20})
    elif kind < 68:
        response = await client.get(f"/users/{user}")
    elif kind < 72:
        response = await client.get(f"/items/{item}")
    elif kind < 76:
        response = await client.get("/items", params={"q": item[-2:]})
    elif kind < 84:  # unknown ids: 404
        response = await client.get("/recommend", params={"user": f"nobody-{rng.random()}"})
    elif kind < 92:  # malformed JSON: 422
        response = await client.post(
            "/recommend", content=b'{"users": [' * rng.randint(1, 50), headers=JSON
        )
    elif kind < 93:  # too large: 413
        response = await client.post("/recommend/history", content=b" " * (2 << 20), headers=JSON)
    else:
        response = await client.get("/health")
    return response.status_code


JSON = {"content-type": "application/json"}
EXPECTED = {200, 404, 413, 422}


async def load(base: str, seconds: float, users: list[str], items: list[str]) -> Counter[int]:
    """CLIENTS concurrent clients for ``seconds`` (or MAX_REQUESTS in all); status counts."""
    statuses: Counter[int] = Counter()
    stop_at = time.monotonic() + seconds

    async def client_loop(number: int) -> None:
        rng = random.Random(number)  # noqa: S311
        keep_alive = number > 0
        limits = httpx.Limits(max_keepalive_connections=1 if keep_alive else 0)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
            while time.monotonic() < stop_at and statuses.total() < MAX_REQUESTS:
                try:
                    statuses[await one_request(client, rng, users, items)] += 1
                except httpx.TransportError as error:
                    statuses[-1] += 1
                    print("transport error:", repr(error))

    await asyncio.gather(*(client_loop(n) for n in range(CLIENTS)))
    return statuses


def run_load(base: str, seconds: float, users: list[str], items: list[str]) -> Counter[int]:
    with ThreadPoolExecutor(1) as pool:  # a loop of its own (Playwright may hold this one's)
        future = pool.submit(lambda: asyncio.run(load(base, seconds, users, items)))
        return future.result(timeout=seconds + 120)


def test_memory_stays_flat_under_half_a_minute_of_load(
    start_server: StartServer, knn_model_file: Path
) -> None:
    server = start_server(knn_model_file)
    model = load_model(knn_model_file)
    users = [str(u) for u in model.users_.ids.tolist()]
    items = [str(i) for i in model.items_.ids.tolist()]
    pid = server.process.pid

    warm = run_load(server.base, WARM_UP_SECONDS, users, items)
    before = rss_kib(pid)
    loaded = run_load(server.base, LOAD_SECONDS, users, items)
    after = rss_kib(pid)

    total = warm + loaded
    count("requests: load (30 s + warm-up)", total.total())
    summary = {
        "requests": total.total(),
        "statuses": dict(sorted(total.items())),
        "rss_after_warm_up_kib": before,
        "rss_after_load_kib": after,
        "growth": round(after / before - 1, 4),
    }
    print("load:", json.dumps(summary))
    measure("server RSS after warm-up (KiB)", before)
    measure("server RSS after 30 s of load (KiB)", after)
    assert set(total) <= EXPECTED, summary  # no 5xx, no dropped connection
    assert loaded.total() > 1000, summary
    assert after <= before * (1 + TOLERANCE), summary
    assert server.process.poll() is None
