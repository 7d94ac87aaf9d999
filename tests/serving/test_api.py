"""Every endpoint and every error code of the real server, over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import polars as pl
import pytest
from pydantic import BaseModel

import unrated as ur
from tests.serving.conftest import StartServer
from unrated.modelfile import load_model, save_model
from unrated.models.base import Recommender
from unrated.serving import schemas

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def model(knn_model_file: Path) -> Recommender:
    return load_model(knn_model_file)


def ok(response: httpx.Response, shape: type[BaseModel]) -> dict:
    """The 200 body, checked against the published schema."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    shape.model_validate(body)
    return body


def fails(response: httpx.Response, status: int, error: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    schemas.ErrorResponse.model_validate(body)
    if error is not None:
        assert body["error"] == error
    return str(body["detail"])


def seen_ids(model: Recommender, user: str) -> set[str]:
    row = model.seen_[model.users_.positions([user], kind="user")]
    return set(model.items_.ids[row.indices].tolist())


def test_health(api: httpx.Client, model: Recommender) -> None:
    body = ok(api.get("/health"), schemas.Health)
    assert body["model"] == "item-knn"
    assert (body["users"], body["items"]) == (len(model.users_), len(model.items_))
    assert body["item_names"] is True
    assert body["generation"] == 1
    assert body["api_key_required"] is False
    assert body["params"] == model.get_params()  # an object, not JSON text inside JSON
    assert body["limits"] == {"max_k": 50, "max_batch": 5, "max_body_bytes": 1 << 20}


def test_recommend_matches_the_library(api: httpx.Client, model: Recommender) -> None:
    for user in model.users_.ids[:5].tolist():
        body = ok(api.get("/recommend", params={"user": user, "k": 7}), schemas.UserRecommendations)
        expected = model.recommend([user], k=7)
        assert [i["item"] for i in body["items"]] == expected.item_ids[0].tolist()
        np.testing.assert_allclose([i["score"] for i in body["items"]], expected.scores[0])
        assert body["user"] == user
        assert body["fallback"] is None
        assert all(i["name"] for i in body["items"])
        assert not {i["item"] for i in body["items"]} & seen_ids(model, user)


def test_recommend_exclusions(api: httpx.Client, model: Recommender) -> None:
    user = model.users_.ids[0]
    first = [
        i["item"] for i in api.get("/recommend", params={"user": user, "k": 5}).json()["items"]
    ]
    params = [("user", user), ("k", "5"), ("exclude", f"{first[0]},{first[1]}")]
    params += [("exclude", first[2]), ("exclude", "no-such-item")]  # unknown: ignored
    body = ok(api.get("/recommend", params=params), schemas.UserRecommendations)
    assert not set(first[:3]) & {i["item"] for i in body["items"]}
    with_seen = api.get("/recommend", params={"user": user, "k": 50, "exclude_seen": "false"})
    assert seen_ids(model, user) & {i["item"] for i in with_seen.json()["items"]}


def test_recommend_explains(api: httpx.Client, model: Recommender) -> None:
    user = model.users_.ids[3]
    body = ok(
        api.get("/recommend", params={"user": user, "k": 5, "explain": "true"}),
        schemas.UserRecommendations,
    )
    history = seen_ids(model, user)
    for item in body["items"]:
        assert item["because"], item
        assert {ref["item"] for ref in item["because"]} <= history


def test_unknown_user_is_404_or_popular_fallback(api: httpx.Client, model: Recommender) -> None:
    detail = fails(api.get("/recommend", params={"user": "nobody"}), 404, "UnknownIdError")
    assert "nobody" in detail
    body = ok(
        api.get("/recommend", params={"user": "nobody", "k": 3, "fallback": "true"}),
        schemas.UserRecommendations,
    )
    assert body["fallback"] == "popular"
    counts = np.bincount(model.seen_.indices, minlength=len(model.items_))
    top = model.items_.ids[np.argsort(-counts, kind="stable")[:3]].tolist()
    assert [i["item"] for i in body["items"]] == top


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"user": "C00001", "k": 0}, "query.k"),
        ({"user": "C00001", "k": 51}, "query.k"),
        ({"user": "C00001", "k": "ten"}, "query.k"),
        ({"k": 5}, "query.user"),
        ({"user": ""}, "query.user"),
        ({"user": "C00001", "explain": "maybe"}, "query.explain"),
    ],
)
def test_recommend_bad_parameters_are_422(api: httpx.Client, params: dict, where: str) -> None:
    assert where in fails(api.get("/recommend", params=params), 422, "InvalidParameterError")


def test_recommend_many(api: httpx.Client, model: Recommender) -> None:
    users = model.users_.ids[:3].tolist()
    body = ok(api.post("/recommend", json={"users": users, "k": 4}), schemas.RecommendResponse)
    expected = model.recommend(users, k=4)
    assert [r["user"] for r in body["results"]] == users
    assert [[i["item"] for i in r["items"]] for r in body["results"]] == expected.item_ids.tolist()
    fails(api.post("/recommend", json={"users": [*users, "nobody"]}), 404, "UnknownIdError")
    mixed = ok(
        api.post("/recommend", json={"users": [users[0], "nobody"], "fallback": True}),
        schemas.RecommendResponse,
    )
    assert [r["fallback"] for r in mixed["results"]] == [None, "popular"]


@pytest.mark.parametrize(
    "body",
    [
        {"users": ["a"] * 6},  # over the batch limit of 5
        {"users": []},
        {"users": ["C00001"], "k": 0},
        {"users": ["C00001"], "k": 51},
        {"users": [1.5]},
        {"users": ["C00001"], "surprise": 1},
        {"users": "C00001"},
        [],
    ],
)
def test_recommend_many_bad_bodies_are_422(api: httpx.Client, body: object) -> None:
    fails(api.post("/recommend", json=body), 422, "InvalidParameterError")


def test_broken_json_is_422(api: httpx.Client) -> None:
    response = api.post(
        "/recommend", content=b'{"users": [', headers={"content-type": "application/json"}
    )
    fails(response, 422, "InvalidParameterError")


def test_basket(api: httpx.Client, model: Recommender) -> None:
    basket = model.items_.ids[:3].tolist()
    body = ok(
        api.post("/recommend/history", json={"items": [*basket, "nope"], "k": 6}),
        schemas.HistoryResponse,
    )
    expected = model.recommend_history([basket], k=6)
    assert [i["item"] for i in body["items"]] == expected.item_ids[0].tolist()
    assert body["n_unknown_items"] == 1
    assert body["fallback"] is None
    assert not set(basket) & {i["item"] for i in body["items"]}
    fails(api.post("/recommend/history", json={"items": ["x"] * 6}), 422)
    fails(api.post("/recommend/history", json={"k": 3}), 422)


def test_basket_without_a_known_item_is_404_unless_the_fallback_is_asked(
    api: httpx.Client, model: Recommender
) -> None:
    """The rule of Recommender.recommend_history, over HTTP, with the same answers."""
    detail = fails(api.post("/recommend/history", json={"items": ["sku1", "sku9"]}), 404)
    assert "no item the model knows" in detail and "'sku1', 'sku9'" in detail
    for fallback in (False, True):  # the schema asks for one item at least
        empty = api.post("/recommend/history", json={"items": [], "fallback": fallback})
        assert "body.items" in fails(empty, 422, "InvalidParameterError")

    expected = model.recommend_history([["sku1", "sku9"]], k=4, fallback="popular")
    assert expected.fallback.tolist() == [True]
    for items in (["sku1", "sku9"], ["sku1", 3]):
        body = ok(
            api.post("/recommend/history", json={"items": items, "k": 4, "fallback": True}),
            schemas.HistoryResponse,
        )
        assert body["fallback"] == "popular"
        assert body["n_unknown_items"] == len(items)
        assert [i["item"] for i in body["items"]] == expected.item_ids[0].tolist()
        assert [i["score"] for i in body["items"]] == expected.scores[0].tolist()
    popularity = model.item_popularity()
    assert [i["score"] for i in body["items"]] == sorted(popularity.tolist(), reverse=True)[:4]


def test_server_fallback_setting_covers_baskets_too(
    start_server: StartServer, knn_model_file: Path
) -> None:
    server = start_server(knn_model_file, "--fallback-popular")
    with server.client() as client:
        health = ok(client.get("/health"), schemas.Health)
        assert health["fallback_popular"] is True
        body = ok(
            client.post("/recommend/history", json={"items": ["nope"]}), schemas.HistoryResponse
        )
        assert body["fallback"] == "popular"
        user = ok(client.get("/recommend", params={"user": "nobody"}), schemas.UserRecommendations)
        assert [i["item"] for i in user["items"]] == [i["item"] for i in body["items"]]
        refused = client.post("/recommend/history", json={"items": ["nope"], "fallback": False})
        fails(refused, 404, "UnknownIdError")


def test_similar(api: httpx.Client, model: Recommender) -> None:
    item = model.items_.ids[0]
    body = ok(api.get("/similar", params={"item": item, "k": 5}), schemas.SimilarResponse)
    assert body["item"] == item
    assert [i["item"] for i in body["items"]] == model.similar_items([item], k=5).item_ids[
        0
    ].tolist()
    fails(api.get("/similar", params={"item": "nope"}), 404, "UnknownIdError")
    fails(api.get("/similar", params={"item": item, "k": -1}), 422)


def test_user_and_item_lookups(api: httpx.Client, model: Recommender) -> None:
    user = model.users_.ids[2]
    body = ok(api.get(f"/users/{user}"), schemas.UserResponse)
    assert {i["item"] for i in body["items"]} == seen_ids(model, user)
    assert body["n_items"] == len(body["items"])
    weights = [i["weight"] for i in body["items"]]
    assert weights == sorted(weights, reverse=True)
    assert len(api.get(f"/users/{user}", params={"limit": 1}).json()["items"]) == 1
    fails(api.get("/users/nobody"), 404, "UnknownIdError")

    item = model.items_.ids[5]
    info = ok(api.get(f"/items/{item}"), schemas.ItemResponse)
    assert info["name"] == model.item_names_[5]  # type: ignore[attr-defined]
    assert info["users"] == int(np.count_nonzero(model.seen_.indices == 5))
    fails(api.get("/items/nope"), 404, "UnknownIdError")

    page = ok(api.get("/users", params={"offset": 3, "limit": 4}), schemas.UserList)
    assert page == {"total": len(model.users_), "users": model.users_.ids[3:7].tolist()}
    name = str(model.item_names_[5])  # type: ignore[attr-defined]
    found = ok(api.get("/items", params={"q": name.upper()}), schemas.ItemList)
    assert item in [i["item"] for i in found["items"]]
    fails(api.get("/users", params={"limit": 0}), 422)


def test_body_size_limit_is_413(api: httpx.Client) -> None:
    big = json.dumps({"items": ["x" * 100] * 12_000}).encode()  # 1.3 MB
    fails(
        api.post("/recommend/history", content=big, headers={"content-type": "application/json"}),
        413,
        "ContentTooLarge",
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"items": ['
        for _ in range(12_000):
            yield b'"' + b"x" * 100 + b'",'
        yield b'"x"]}'

    response = api.post(
        "/recommend/history", content=chunks(), headers={"content-type": "application/json"}
    )
    fails(response, 413, "ContentTooLarge")


def test_http_errors_are_json(api: httpx.Client) -> None:
    fails(api.get("/no-such-page"), 404, "NotFound")
    fails(api.delete("/recommend"), 405, "MethodNotAllowed")
    fails(api.post("/reload"), 403, "Forbidden")  # no --api-key: reload only by SIGHUP


def test_page_and_schema(api: httpx.Client) -> None:
    page = api.get("/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "/static/app.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("app.js", "style.css"):
        assert api.get(f"/static/{asset}").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    for path in (
        "/health",
        "/recommend",
        "/recommend/history",
        "/similar",
        "/users",
        "/users/{user}",
        "/items",
        "/items/{item}",
        "/reload",
    ):
        assert path in paths


def test_integer_ids_come_back_as_integers(start_server: StartServer, tmp_path: Path) -> None:
    rows = [(u, i) for u in range(30) for i in range(20) if (u * 7 + i * 3) % 4 == 0]
    frame = {"user_id": [r[0] for r in rows], "item_id": [r[1] + 1000 for r in rows]}
    path = tmp_path / "ints.unrated"
    save_model(ur.ItemKNN().fit(ur.read_interactions(pl.DataFrame(frame))), path)
    server = start_server(path)
    with server.client() as client:
        body = ok(
            client.get("/recommend", params={"user": "3", "k": 3}), schemas.UserRecommendations
        )
        assert body["user"] == 3
        assert all(isinstance(i["item"], int) for i in body["items"])
        many = ok(client.post("/recommend", json={"users": [3, "4"]}), schemas.RecommendResponse)
        assert [r["user"] for r in many["results"]] == [3, 4]
        assert ok(client.get("/items/1000"), schemas.ItemResponse)["item"] == 1000
        assert ok(client.get("/users/3"), schemas.UserResponse)["user"] == 3
        fails(client.get("/users/²"), 404, "UnknownIdError")

        # Digit strings too long for int() are ids the model does not know: 404, never 500.
        huge = "1" * 5000
        for response in (
            client.get(f"/users/{huge}"),
            client.get(f"/items/{huge}"),
            client.post("/recommend", json={"users": [huge]}),
            client.post("/recommend/history", json={"items": [huge]}),
        ):
            detail = fails(response, 404, "UnknownIdError")
            assert len(detail) < 1000, len(detail)
        for path, name in (("/recommend", "user"), ("/similar", "item")):  # query: 1000 at most
            fails(client.get(path, params={name: huge}), 422, "InvalidParameterError")
        with_fallback = client.post("/recommend/history", json={"items": [huge], "fallback": True})
        assert ok(with_fallback, schemas.HistoryResponse)["fallback"] == "popular"
