"""The web page in headless Chromium (Debian's, driven by Playwright: ``browser`` fixture)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.serving.conftest import Server
from unrated.modelfile import load_model

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
