"""Re-buys in the service: include_seen over HTTP, and the page's "buy again" / "new for you"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

import unrated as ur
from tests.serving.conftest import Server, launch, stop
from unrated.modelfile import load_model, save_model
from unrated.models.base import Recommender
from unrated.models.tifu_knn import TifuKNN
from unrated.serving import schemas

pytestmark = pytest.mark.server
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def tifu_file(
    tmp_path_factory: pytest.TempPathFactory, shop: ur.Interactions, shop_names: dict[str, str]
) -> Path:
    assert shop.events is not None  # the sample shop's orders
    path = tmp_path_factory.mktemp("models") / "tifu.unrated"
    save_model(TifuKNN().fit(shop), path, item_names=shop_names)
    return path


@pytest.fixture(scope="module")
def tifu_server(tmp_path_factory: pytest.TempPathFactory, tifu_file: Path) -> Iterator[Server]:
    server = launch(tifu_file, log_dir=tmp_path_factory.mktemp("log"))
    yield server
    stop(server)


def own_weights(model: Recommender, user: str) -> dict[str, float]:
    row = model.seen_[model.users_.positions([user], kind="user")]
    return dict(zip(model.items_.ids[row.indices].tolist(), row.data.tolist(), strict=True))


def recommend(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/recommend", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    schemas.UserRecommendations.model_validate(body)
    items: list[dict[str, Any]] = body["items"]
    return items


def test_include_seen_ranks_re_buys_and_says_how_much_each_was_bought(
    tifu_server: Server, tifu_file: Path
) -> None:
    model = load_model(tifu_file)
    with tifu_server.client() as client:
        health = client.get("/health").json()
        assert health["model"] == "tifu-knn" and health["ranks_rebuys"] is True
        for user in model.users_.ids[:5].tolist():
            items = recommend(client, user=user, k=10, include_seen="true")
            expected = model.recommend([user], k=10, exclude_seen=False)
            assert [i["item"] for i in items] == expected.item_ids[0].tolist()
            np.testing.assert_allclose([i["score"] for i in items], expected.scores[0])
            weights = own_weights(model, user)
            assert [i["bought"] for i in items] == [weights.get(i["item"]) for i in items]
            assert any(i["bought"] for i in items)  # tifu-knn puts re-buys first
            assert recommend(client, user=user, k=10, exclude_seen="false") == items
            new = recommend(client, user=user, k=10)
            assert not {i["item"] for i in new} & set(weights)
            assert all("bought" not in i for i in new)


def test_models_not_made_for_re_buys_say_so(shop_server: Server, knn_model_file: Path) -> None:
    model = load_model(knn_model_file)
    user = str(model.users_.ids[3])
    with shop_server.client() as client:
        assert client.get("/health").json()["ranks_rebuys"] is False
        items = recommend(client, user=user, k=10, include_seen="true")
        weights = own_weights(model, user)
        assert [i["bought"] for i in items] == [weights.get(i["item"]) for i in items]


def test_the_page_shows_buy_again_and_new_for_you(
    browser: Any, tifu_server: Server, tifu_file: Path, shop_server: Server, knn_model_file: Path
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))

    def listed(selector: str) -> list[str]:
        return page.eval_on_selector_all(selector, "items => items.map(i => i.dataset.item)")

    def look_up(user: str) -> None:
        page.fill("#user-input", user)
        page.click("#user-form button[type=submit]")
        expect(page.locator("#recs li")).to_have_count(10)

    try:
        # tifu-knn ranks the customer's own items: "buy again" is its re-buy list.
        model = load_model(tifu_file)
        user = str(model.users_.ids[int(np.argmax(np.diff(model.seen_.indptr)[:50]))])
        page.goto(tifu_server.base + "/")
        expect(page.locator("#model-info")).to_contain_text("tifu-knn")
        look_up(user)
        weights = own_weights(model, user)
        ranked = model.recommend([user], k=10, exclude_seen=False).item_ids[0].tolist()
        again = [item for item in ranked if item in weights]
        expect(page.locator("#rebuy li")).to_have_count(len(again))
        assert listed("#rebuy li") == again and again
        expect(page.locator("#rebuy-title")).to_have_text("Buy again")
        first = page.locator("#rebuy li").first
        expect(first).to_contain_text(f"you bought it {int(weights[again[0]])} time")
        assert listed("#recs li") == model.recommend([user], k=10).item_ids[0].tolist()
        assert not set(listed("#recs li")) & set(weights)
        expect(page.locator("#recs li").first).to_contain_text("customers like you buy it")
        page.screenshot(path=str(tifu_file.with_name("rebuy-page.png")))

        # item-knn is not made for re-buys: "buy again" is the customer's most bought items.
        model = load_model(knn_model_file)
        user = str(model.users_.ids[11])
        page.goto(shop_server.base + "/")
        expect(page.locator("#model-info")).to_contain_text("item-knn")
        look_up(user)
        weights = own_weights(model, user)
        heaviest = sorted(weights, key=lambda item: (-weights[item], item))[:10]
        expect(page.locator("#rebuy-title")).to_have_text("Buy again (most bought first)")
        expect(page.locator("#rebuy li")).to_have_count(len(heaviest))
        assert [weights[item] for item in listed("#rebuy li")] == [weights[i] for i in heaviest]
        expect(page.locator("#recs li").first).to_contain_text("because you bought")
        assert not problems, problems
    finally:
        page.close()
