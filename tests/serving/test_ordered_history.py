"""A history POST is read in order: sasrec, served, answers the order it is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.chains import TINY_SASREC, chain_log, ring
from tests.serving.conftest import StartServer
from unrated.modelfile import save_model
from unrated.models.sasrec import SASRec
from unrated.serving import schemas

from .test_api import ok

pytest.importorskip("torch")
pytestmark = pytest.mark.server

ITEMS = 20


@pytest.fixture(scope="module")
def model() -> SASRec:
    params = TINY_SASREC | {"loss": "softmax", "epochs": 30}
    return SASRec(**params).fit(chain_log(200, ITEMS), progress=False)  # type: ignore[arg-type]


def segments() -> list[list[int]]:
    """Three steps round the ring from every start."""
    ids = ring(ITEMS)
    return [[ids[(s + t) % ITEMS] for t in range(3)] for s in range(ITEMS)]


@pytest.mark.slow
def test_history_posts_and_events_keep_the_order(
    model: SASRec, start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server(save_model(model, tmp_path / "sasrec.unrated"))
    ids = ring(ITEMS)
    answers = {}
    with server.client() as client:
        for name, histories in (
            ("forward", segments()),
            ("backward", [s[::-1] for s in segments()]),
        ):
            tops = []
            for items in histories:
                body = ok(
                    client.post("/recommend/history", json={"items": items, "k": 3}),
                    schemas.HistoryResponse,
                )
                expected = model.recommend_history([items], k=3)  # the same one-row batch
                got = [i["item"] for i in body["items"]]
                assert got == expected.item_ids[0].tolist(), (name, items)
                assert [i["score"] for i in body["items"]] == expected.scores[0].tolist()
                tops.append(got[0])
            answers[name] = tops
        repeated = [ids[0], ids[1], ids[0]]  # a repeat is a step of the sequence, kept
        body = client.post("/recommend/history", json={"items": repeated, "k": 3}).json()
        scores = [i["score"] for i in body["items"]]
        assert scores == model.recommend_history([repeated], k=3).scores[0].tolist()
        for deduped in (repeated[:2], repeated[1:]):
            assert scores != model.recommend_history([deduped], k=3).scores[0].tolist()
        check_events_extend_the_sequence(model, client)  # one server for both (a torch start)
    truth = [ids[(s + 3) % ITEMS] for s in range(ITEMS)]
    assert np.mean(np.array(answers["forward"]) == truth) >= 0.9  # the last item sent is last
    assert np.mean(np.array(answers["forward"]) != answers["backward"]) >= 0.5


def test_a_mapping_keeps_its_insertion_order(model: SASRec) -> None:
    histories = segments()
    as_mappings = [dict.fromkeys(items, 1.0) for items in histories]
    np.testing.assert_array_equal(
        model.recommend_history(as_mappings, k=3).item_idx,
        model.recommend_history(histories, k=3).item_idx,
    )
    backwards = [dict.fromkeys(items[::-1], 1.0) for items in histories]
    assert (
        model.recommend_history(backwards, k=3).item_idx[:, 0]
        != model.recommend_history(histories, k=3).item_idx[:, 0]
    ).mean() >= 0.5


def check_events_extend_the_sequence(model: SASRec, client: Any) -> None:
    """From the next request on, a known customer's list reads their sequence, then the event."""
    ids = ring(ITEMS)
    for user in model.users_.ids[:5].tolist():
        history = model.items_.take(model.training_history(user_idx(model, user))).tolist()
        bought = ids[(ids.index(history[-1]) + 1) % ITEMS]  # the true next step
        done = client.post("/events", json={"events": [{"user": user, "item": bought}]})
        assert done.status_code == 200, done.text
        body = client.get("/recommend", params={"user": user, "k": 3}).json()
        expected = model.recommend_history([[*history, bought]], k=3)
        assert [i["item"] for i in body["items"]] == expected.item_ids[0].tolist(), user
        assert [i["score"] for i in body["items"]] == expected.scores[0].tolist()


def user_idx(model: SASRec, user: object) -> int:
    return int(model.users_.positions([user], kind="user")[0])
