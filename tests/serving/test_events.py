"""POST /events: purchases kept durably, counted from the next request on."""

from __future__ import annotations

import csv
import os
import signal
from pathlib import Path

import pytest

import unrated as ur
from tests.serving.conftest import StartServer
from unrated.serving.events import Event, EventLog, EventsFullError


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_the_log_writes_a_csv_that_unrated_reads_back(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.csv", max_events=5)
    hostile = 'a,"b"\nc'
    log.append([Event("u1", "i1"), Event(hostile, "i2", 2.5, 1.0e9), Event("u1", "i1", 0.5)])
    assert log.count == 3
    assert log.new_items(["u1", hostile, "nobody"]) == [{"i1": 1.5}, {"i2": 2.5}, None]
    with (tmp_path / "events.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["user_id", "item_id", "weight", "timestamp"]
    assert rows[2][:3] == [hostile, "i2", "2.5"] and float(rows[2][3]) == 1.0e9
    data = ur.read_interactions(tmp_path / "events.csv")
    assert sorted(data.users.ids.tolist()) == sorted(["u1", hostile]) and data.nnz == 2
    with pytest.raises(EventsFullError, match="at most 5"):
        log.append([Event("u2", "i3")] * 3)


def test_another_process_s_lines_and_a_moved_file_are_noticed(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    mine, theirs = EventLog(path), EventLog(path)
    theirs.append([Event("u1", "i1")])
    assert mine.new_items(["u1"]) == [{"i1": 1.0}]
    with path.open("a") as handle:  # a line still being written is not read yet
        handle.write("u2,i2,1.0")
    assert mine.new_items(["u2"]) == [None]
    path.rename(tmp_path / "batch.csv")  # taken for `unrated update`: start over
    assert mine.new_items(["u1"]) == [None] and mine.count == 0
    theirs.append([Event("u3", "i3")])
    assert mine.new_items(["u1", "u3"]) == [None, {"i3": 1.0}]


@pytest.mark.slow
def test_a_purchase_leaves_the_list_and_a_new_customer_is_served(
    start_server: StartServer, knn_model_file: Path, tmp_path: Path
) -> None:
    events = tmp_path / "events.csv"
    server = start_server(knn_model_file, "--events", str(events), "--max-batch", "3")
    with server.client() as client:
        user = client.get("/users", params={"limit": 1}).json()["users"][0]
        first = client.get("/recommend", params={"user": user, "k": 5}).json()["items"][0]["item"]
        done = client.post("/events", json={"events": [{"user": user, "item": first}]})
        assert done.status_code == 200 and done.json() == {"accepted": 1, "held": 1}
        after = client.get("/recommend", params={"user": user, "k": 5}).json()
        assert first not in [item["item"] for item in after["items"]]
        assert len(after["items"]) == 5
        new = client.post("/events", json={"events": [{"user": "newcomer", "item": first}]})
        assert new.status_code == 200
        answer = client.get("/recommend", params={"user": "newcomer", "k": 3}).json()
        assert answer["fallback"] is None and len(answer["items"]) == 3
        assert first not in [item["item"] for item in answer["items"]]
        many = [{"user": "x", "item": first}] * 4
        assert client.post("/events", json={"events": many}).status_code == 422  # > max-batch
        bad = client.post("/events", json={"events": [{"user": "x", "item": first, "weight": -1}]})
        assert bad.status_code == 422
    rows = read_rows(events)
    assert [row[:2] for row in rows[1:]] == [[user, first], ["newcomer", first]]


@pytest.mark.slow
def test_acknowledged_events_survive_kill_9(
    start_server: StartServer, knn_model_file: Path, tmp_path: Path
) -> None:
    events = tmp_path / "events.csv"
    server = start_server(knn_model_file, "--events", str(events))
    with server.client() as client:
        item_id = client.get("/items", params={"limit": 1}).json()["items"][0]["item"]
        for n in range(50):
            body = {"events": [{"user": f"c{n}", "item": item_id, "weight": 1 + n}]}
            assert client.post("/events", json=body).status_code == 200
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)
    rows = read_rows(events)[1:]
    assert [(row[0], float(row[2])) for row in rows] == [(f"c{n}", 1.0 + n) for n in range(50)]


@pytest.mark.slow
def test_events_need_the_api_key(start_server: StartServer, knn_model_file: Path) -> None:
    server = start_server(knn_model_file, env={"UNRATED_API_KEY": "k3y"})
    with server.client() as client:
        refused = client.post("/events", json={"events": [{"user": "u", "item": "i"}]})
        assert refused.status_code == 401
