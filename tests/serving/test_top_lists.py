"""Top lists ranked in the background answer exactly what ranking a user alone answers."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import unrated as ur
from tests.serving.conftest import StartServer
from unrated.modelfile import save_model
from unrated.serving.served import ServedModel, load_served
from unrated.serving.top_lists import DEPTH, TopLists, for_model


@pytest.fixture(scope="module")
def graph_filter_file(tmp_path_factory: pytest.TempPathFactory, shop: ur.Interactions) -> Path:
    path = tmp_path_factory.mktemp("models") / "graph-filter.unrated"
    save_model(ur.GraphFilter(rank=16).fit(shop), path)
    return path


def filled(served: ServedModel) -> TopLists:
    lists = served.top_lists
    assert lists is not None
    lists.start(served.model)
    deadline = time.monotonic() + 60
    while lists.finished_at is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lists.n_ready == served.n_users
    return lists


def test_lists_answer_what_live_ranking_answers(graph_filter_file: Path) -> None:
    with_lists = load_served(graph_filter_file, precompute="on")
    live = load_served(graph_filter_file, precompute="off")
    assert live.top_lists is None
    lists = filled(with_lists)
    assert lists.depth == DEPTH and lists.report()["seconds"] is not None
    users = with_lists.model.users_.ids[:60].tolist()
    popular = with_lists.model.items_.ids[np.argsort(-with_lists.popularity)[:30]].tolist()
    for k, exclude in ((1, []), (20, []), (20, popular), (DEPTH, []), (DEPTH, popular[:3])):
        assert with_lists.recommend_users(users, k, exclude=exclude) == live.recommend_users(
            users, k, exclude=exclude
        )


def test_what_the_lists_cannot_answer_is_ranked_live(graph_filter_file: Path) -> None:
    served = load_served(graph_filter_file, precompute="on")
    lists = filled(served)
    user = 0
    assert lists.lookup(user, DEPTH + 1, None) is None  # longer than the list
    blocked = np.zeros(served.n_items, dtype=bool)
    blocked[lists.items[user, :10]] = True
    assert lists.lookup(user, DEPTH - 5, blocked) is None  # ten taken out: too few left
    items, _ = lists.lookup(user, DEPTH - 10, blocked)  # type: ignore[misc]
    assert not blocked[items].any()
    live = load_served(graph_filter_file, precompute="off")
    user_id = served.model.users_.ids[user]
    for k, exclude in ((DEPTH + 1, []), (DEPTH - 5, served.model.items_.ids[blocked].tolist())):
        assert served.recommend_users([user_id], k, exclude=exclude) == live.recommend_users(
            [user_id], k, exclude=exclude
        )
    seen = served.recommend_users([user_id], 20, exclude_seen=False)
    assert seen == live.recommend_users([user_id], 20, exclude_seen=False)


def test_auto_builds_lists_only_for_a_model_slow_per_user(knn_model_file: Path) -> None:
    knn = load_served(knn_model_file)  # about a millisecond a user: no lists
    assert knn.top_lists is None
    assert for_model(knn.model, "on") is not None
    assert for_model(knn.model, "off") is None


@pytest.mark.slow
def test_the_server_reports_its_lists_and_answers_from_them(
    start_server: StartServer, graph_filter_file: Path
) -> None:
    server = start_server(graph_filter_file, "--precompute", "on")
    with server.client() as client:
        deadline = time.monotonic() + 60
        while (report := client.get("/health").json()["top_lists"])["seconds"] is None:
            assert time.monotonic() < deadline, report
            time.sleep(0.1)
        assert report["ready_users"] == report["users"] > 0 and report["depth"] == DEPTH
        user = client.get("/users", params={"limit": 1}).json()["users"][0]
        answer = client.get("/recommend", params={"user": user, "k": 5}).json()
    live = load_served(graph_filter_file, precompute="off").recommend_users([user], 5)[0]
    assert answer == live
    assert "top 100 items of all" in server.log_text()
