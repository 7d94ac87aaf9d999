"""New products (never bought) are marked in answers and on the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

import unrated as ur
from tests.models.test_content import ITEMS, purchases
from tests.serving.conftest import StartServer
from unrated.data.catalogue import read_catalogue
from unrated.modelfile import save_model


@pytest.mark.server
@pytest.mark.slow
def test_a_new_product_is_marked_new(
    browser: Any, start_server: StartServer, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    (tmp_path / "items.csv").write_text(ITEMS)
    model = ur.make_model("content").fit(purchases(), items=read_catalogue(tmp_path / "items.csv"))
    save_model(model, tmp_path / "m.unrated")
    server = start_server(tmp_path / "m.unrated")
    answer = httpx.get(server.base + "/recommend", params={"user": "alice", "k": 2}).json()
    first = answer["items"][0]
    assert first["item"] == "mug-new" and first["new"] is True
    assert all("new" not in ref for ref in answer["items"][1:])  # bought products: no flag
    page = browser.new_page()
    try:
        page.goto(server.base + "/")
        page.fill("#user-input", "alice")
        page.click("#user-form button[type=submit]")
        expect(page.locator("#recs li").first.locator(".new")).to_have_text("new")
    finally:
        page.close()
