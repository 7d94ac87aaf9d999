"""Rules over HTTP: exclude, only and where in /recommend, /recommend/history and /similar."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

import unrated as ur
from tests.serving.conftest import Server, StartServer, launch, stop
from unrated.data.catalogue import read_catalogue
from unrated.data.sample_shop import make_sample_shop
from unrated.modelfile import save_model


@pytest.fixture(scope="module")
def rules_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict]]:
    folder = tmp_path_factory.mktemp("rules")
    shop = make_sample_shop(customers=300, products=120, seed=2)
    products = shop.products.with_columns(price=(np.arange(shop.products.height) % 40) + 0.5)
    products.write_csv(folder / "products.csv")
    model = ur.ItemKNN(neighbors=50).fit(shop.purchases)
    model.set_item_attributes(read_catalogue(folder / "products.csv").aligned(model.items_)[1])
    save_model(model, folder / "m.unrated")
    category = dict(zip(products["product_id"], products["category"], strict=True))
    server = launch(folder / "m.unrated", log_dir=folder)
    yield server, category
    stop(server)


def items_of(answer: dict) -> list[str]:
    return [item["item"] for item in answer["items"]]


def test_where_keeps_k_items_of_the_category(rules_server: tuple[Server, dict]) -> None:
    server, category = rules_server
    wanted = "Groceries"
    with httpx.Client(base_url=server.base) as client:
        users = client.get("/users", params={"limit": 20}).json()["users"]
        for user in users:
            answer = client.get(
                "/recommend", params={"user": user, "k": 10, "where": f"category={wanted}"}
            ).json()
            listed = items_of(answer)
            bought = {i["item"] for i in client.get(f"/users/{user}").json()["items"]}
            eligible = {item for item, kind in category.items() if kind == wanted} - bought
            assert len(listed) == min(10, len(eligible)) and set(listed) <= eligible
        cheap = client.post(
            "/recommend",
            json={"users": users[:3], "k": 5, "where": ["price<10"], "exclude": ["P0001"]},
        ).json()["results"]
        for entry in cheap:
            assert len(entry["items"]) == 5 and "P0001" not in items_of(entry)
        only = client.get(
            "/recommend", params={"user": users[0], "k": 5, "only": "P0003,P0004,nope"}
        ).json()
        assert set(items_of(only)) <= {"P0003", "P0004"}
        basket = client.post(
            "/recommend/history", json={"items": ["P0000"], "k": 4, "where": [f"category={wanted}"]}
        ).json()
        assert {category[item] for item in items_of(basket)} == {wanted}
        similar = client.get(
            "/similar", params={"item": "P0000", "k": 4, "where": "category!=Groceries"}
        ).json()
        assert len(items_of(similar)) == 4 and wanted not in {
            category[i] for i in items_of(similar)
        }


@pytest.mark.parametrize(
    "condition",
    [
        "price<cheap",
        "colour=red",
        "=3",
        "price",
        "category<B",
        "a\x00=b",
        "x" * 5000,
        "price<=1e999",
    ],
)
def test_hostile_conditions_are_422_never_500(
    rules_server: tuple[Server, dict], condition: str
) -> None:
    server, _ = rules_server
    with httpx.Client(base_url=server.base) as client:
        user = client.get("/users", params={"limit": 1}).json()["users"][0]
        answer = client.get("/recommend", params={"user": user, "where": condition})
        assert answer.status_code in (200, 422), answer.text
        if answer.status_code == 422:
            assert answer.json()["error"] == "InvalidParameterError"


@pytest.mark.slow
def test_put_items_replaces_attributes_and_reloads(
    start_server: StartServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("put")
    shop = make_sample_shop(customers=100, products=40, seed=3)
    model = ur.ItemKNN(neighbors=20).fit(shop.purchases)
    save_model(model, folder / "m.unrated")
    server = start_server(folder / "m.unrated", env={"UNRATED_API_KEY": "k3y"})
    key = {"X-API-Key": "k3y"}
    with httpx.Client(base_url=server.base, headers=key) as client:
        user = client.get("/users", params={"limit": 1}).json()["users"][0]
        before = client.get("/recommend", params={"user": user, "where": "shelf=top"})
        assert before.status_code == 422 and "no item attribute 'shelf'" in before.text
        table = "item_id,shelf\nP0001,top\nP0002,top\nP0003,bottom\n"
        put = client.put("/items", content=table, headers={"Content-Type": "text/csv"})
        assert put.status_code == 200 and put.json()["generation"] == 2
        after = client.get("/recommend", params={"user": user, "k": 5, "where": "shelf=top"})
        assert after.status_code == 200, after.text
        assert set(items_of(after.json())) <= {"P0001", "P0002"}
        bad = client.put("/items", content="no,ids\n1,2\n", headers={"Content-Type": "text/csv"})
        assert bad.status_code == 422
        assert client.get("/health").json()["generation"] == 2
        anonymous = httpx.put(server.base + "/items", content=table)
        assert anonymous.status_code == 401


@pytest.mark.server
@pytest.mark.slow
def test_the_page_filters_recommendations_by_category(
    browser: Any, rules_server: tuple[Server, dict]
) -> None:
    from playwright.sync_api import expect

    server, category = rules_server
    expect.set_options(timeout=20_000)
    health = httpx.get(server.base + "/health").json()
    assert "Groceries" in health["item_filters"]["category"]
    user = httpx.get(server.base + "/users", params={"limit": 1}).json()["users"][0]
    page = browser.new_page()
    try:
        page.goto(server.base + "/")
        expect(page.locator("#user-filter")).to_be_visible()
        page.select_option("#user-filter", "category=Groceries")
        page.fill("#user-input", str(user))
        page.click("#user-form button[type=submit]")
        expect(page.locator("#recs li").first).to_be_visible()
        shown = page.eval_on_selector_all("#recs li", "items => items.map(i => i.dataset.item)")
        assert shown and {category[item] for item in shown} == {"Groceries"}
    finally:
        page.close()
