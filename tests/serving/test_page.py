"""The web page in headless Chromium (Debian's, driven by Playwright: ``browser`` fixture)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

import unrated as ur
from tests.serving.conftest import Server, StartServer
from unrated.modelfile import load_model, save_model

pytestmark = pytest.mark.server
WAIT_MS = 20_000


def test_customer_and_basket_recommendations(
    browser: Any, shop_server: Server, knn_model_file: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # The page's Content-Security-Policy forbids eval: wait with locators, not JS strings.
    expect.set_options(timeout=WAIT_MS)
    model = load_model(knn_model_file)
    user = str(model.users_.ids[7])
    names = model.item_names_  # type: ignore[attr-defined]
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and "404" not in message.text  # the unknown user, below
            else None
        ),
    )
    try:
        page.goto(shop_server.base + "/")
        expect(page.locator("#model-info")).to_contain_text("item-knn")

        # A customer: type the id, see their purchases and the recommendations with reasons.
        page.fill("#user-input", user)
        page.click("#user-form button[type=submit]")
        expect(page.locator("#recs li")).to_have_count(10)
        shown = page.eval_on_selector_all("#recs li", "items => items.map(i => i.dataset.item)")
        assert shown == [str(i) for i in model.recommend([user], k=10).item_ids[0].tolist()]
        bought = page.locator("#history li").count()
        assert bought == model.seen_[model.users_.positions([user], kind="user")].nnz
        first = page.locator("#recs li").first.inner_text()
        assert str(names[model.items_.positions([shown[0]], kind="item")[0]]) in first
        assert "because you bought" in first

        # A new visitor: type two products into the basket, ask for recommendations.
        basket = [str(i) for i in model.items_.ids[[0, 1]].tolist()]
        for item in basket:
            page.fill("#basket-input", item)
            page.click("#basket-form button[type=submit]")
        expect(page.locator("#basket li")).to_have_count(2)
        page.locator("#basket", has_text=str(names[1])).wait_for()
        page.click("#basket-recommend")
        expect(page.locator("#basket-recs li")).to_have_count(10)
        suggested = page.eval_on_selector_all(
            "#basket-recs li", "items => items.map(i => i.dataset.item)"
        )
        expected = model.recommend_history([basket], k=10).item_ids[0].tolist()
        assert suggested == [str(i) for i in expected]

        # An unknown customer: the API's message is shown, nothing breaks.
        page.fill("#user-input", "nobody")
        page.click("#user-form button[type=submit]")
        page.locator("#user-message", has_text="unknown user").wait_for()

        page.fill("#user-input", user)
        page.click("#user-form button[type=submit]")
        expect(page.locator("#recs li")).to_have_count(10)
        shot = Path(os.environ.get("UNRATED_SCREENSHOT_DIR", tmp_path)) / "serve-page.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        assert not problems, problems
    finally:
        page.close()


@pytest.mark.slow
def test_basket_names_and_a_clean_screen_for_each_customer(
    browser: Any,
    start_server: StartServer,
    shop: ur.Interactions,
    shop_names: dict[str, str],
    tmp_path: Path,
) -> None:
    """Names typed in the basket, a non-ASCII API key typed in the page, nothing stale."""
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    names = dict(shop_names)
    names["P0004"] = names["P0003"].upper()  # two products of one name (case aside)
    model = ur.ItemKNN(neighbors=50).fit(shop)
    path = tmp_path / "names.unrated"
    save_model(model, path, item_names=names)
    key = "clé-🔑"
    server = start_server(path, env={"UNRATED_API_KEY": key})
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(WAIT_MS)
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: problems.append(str(error)))

    def basket() -> list[str]:
        return page.eval_on_selector_all("#basket li", "items => items.map(i => i.dataset.item)")

    def add(text: str) -> None:
        page.fill("#basket-input", text)
        page.click("#basket-form button[type=submit]")

    try:
        page.goto(server.base + "/")
        expect(page.locator("#key-box")).to_be_visible()
        page.fill("#api-key", key)
        page.dispatch_event("#api-key", "change")
        expect(page.locator("#user-options option")).to_have_count(50)  # the key worked

        # A customer, then an unknown one: nothing of the first stays on screen.
        user = str(model.users_.ids[7])
        bought = model.seen_[model.users_.positions([user], kind="user")].nnz
        page.fill("#user-input", user)
        page.click("#user-form button[type=submit]")
        expect(page.locator("#history-title")).to_have_text(f"Bought ({bought})")
        expect(page.locator("#recs li")).to_have_count(10)
        page.fill("#user-input", "nobody")
        page.click("#user-form button[type=submit]")
        page.locator("#user-message", has_text="unknown user").wait_for()
        expect(page.locator("#history-title")).to_have_text("Bought")
        expect(page.locator("#history li")).to_have_count(0)
        expect(page.locator("#recs li")).to_have_count(0)

        # A product name, typed in another case, is that product.
        add(names["P0010"].lower())
        expect(page.locator("#basket li")).to_have_count(1)
        assert basket() == ["P0010"]
        expect(page.locator("#basket li")).to_contain_text(names["P0010"])
        # A name two products share: the page says so and offers both.
        add(names["P0003"])
        page.locator("#basket-message", has_text="2 products are called").wait_for()
        assert basket() == ["P0010"]
        options = page.eval_on_selector_all("#item-options option", "os => os.map(o => o.value)")
        assert sorted(option.split(" — ")[-1] for option in options) == ["P0003", "P0004"]
        add("no such product")
        expect(page.locator("#basket li", has_text="no such product (unknown)")).to_have_count(1)

        page.click("#basket-recommend")
        expect(page.locator("#basket-recs li")).to_have_count(10)
        shown = page.eval_on_selector_all(
            "#basket-recs li", "items => items.map(i => i.dataset.item)"
        )
        assert shown == model.recommend_history([["P0010"]], k=10).item_ids[0].tolist()
        expect(page.locator("#basket-message")).to_have_text("1 unknown item(s) ignored")

        # Only unknown items: the popular fallback, flagged as such.
        page.click("#basket-clear")
        add("nothing known")
        expect(page.locator("#basket li")).to_have_count(1)
        page.click("#basket-recommend")
        page.locator("#basket-message", has_text="the most popular items").wait_for()
        shown = page.eval_on_selector_all(
            "#basket-recs li", "items => items.map(i => i.dataset.item)"
        )
        popular = model.recommend_history([["x"]], k=10, fallback="popular")
        assert shown == popular.item_ids[0].tolist()
        assert not problems, problems
        assert requested and all(url.startswith(server.base + "/") for url in requested)
    finally:
        page.close()


def test_page_and_schema_need_no_other_host(shop_server: Server) -> None:
    """No network at run time: every asset the page loads comes from the server itself."""
    with shop_server.client() as client:
        page = client.get("/")
        assets = re.findall(r'(?:href|src)="([^"]+)"', page.text)
        assert set(assets) >= {"/static/app.js", "/static/style.css", "/openapi.json"}
        texts = {"/": page.text}
        for asset in assets:
            response = client.get(asset)
            assert response.status_code == 200, asset
            texts[asset] = response.text
        for url in ("/static/favicon.svg", "/openapi.json"):
            texts[url] = client.get(url).text
        for where, text in texts.items():
            hosts = set(re.findall(r"(?:https?:)?//([\w.-]+\.[a-z]{2,})", text))
            assert hosts <= {"www.w3.org"}, (where, hosts)  # the SVG namespace, not a request
        for gone in ("/docs", "/redoc"):  # Swagger UI and ReDoc load from a CDN
            assert client.get(gone).status_code == 404
