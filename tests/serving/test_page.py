"""The web page in headless Chromium (Debian's chromium + chromedriver, driven by Selenium)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.conftest import Server
from unrated.modelfile import load_model

pytestmark = pytest.mark.server
WAIT = 20.0


def _browser_paths() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        message = "needs Debian's chromium and chromium-driver (.ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return chromium, driver


@pytest.fixture
def browser() -> Iterator[object]:
    chromium, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="unrated-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_customer_and_basket_recommendations(
    browser: object, shop_server: Server, knn_model_file: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    model = load_model(knn_model_file)
    user = str(model.users_.ids[7])
    names = model.item_names_  # type: ignore[attr-defined]
    wait = WebDriverWait(browser, WAIT)

    browser.get(shop_server.base + "/")
    wait.until(ec.text_to_be_present_in_element((By.ID, "model-info"), "item-knn"))

    # A customer: type the id, see their purchases and the recommendations with reasons.
    browser.find_element(By.ID, "user-input").send_keys(user)
    browser.find_element(By.CSS_SELECTOR, "#user-form button[type=submit]").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#recs li")) == 10)
    shown = [
        li.get_attribute("data-item") for li in browser.find_elements(By.CSS_SELECTOR, "#recs li")
    ]
    assert shown == [str(i) for i in model.recommend([user], k=10).item_ids[0].tolist()]
    bought = browser.find_elements(By.CSS_SELECTOR, "#history li")
    assert len(bought) == model.seen_[model.users_.positions([user], kind="user")].nnz
    first = browser.find_element(By.CSS_SELECTOR, "#recs li").text
    assert str(names[model.items_.positions([shown[0]], kind="item")[0]]) in first
    assert "because you bought" in first

    # A new visitor: type two products into the basket, ask for recommendations.
    basket = [str(i) for i in model.items_.ids[[0, 1]].tolist()]
    for item in basket:
        field = browser.find_element(By.ID, "basket-input")
        field.send_keys(item)
        browser.find_element(By.CSS_SELECTOR, "#basket-form button[type=submit]").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#basket li")) == 2)
    wait.until(ec.text_to_be_present_in_element((By.ID, "basket"), str(names[1])))
    browser.find_element(By.ID, "basket-recommend").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#basket-recs li")) == 10)
    suggested = [
        li.get_attribute("data-item")
        for li in browser.find_elements(By.CSS_SELECTOR, "#basket-recs li")
    ]
    expected = model.recommend_history([basket], k=10).item_ids[0].tolist()
    assert suggested == [str(i) for i in expected]

    # An unknown customer: the error from the API is shown, nothing crashes.
    field = browser.find_element(By.ID, "user-input")
    field.clear()
    field.send_keys("nobody")
    browser.find_element(By.CSS_SELECTOR, "#user-form button[type=submit]").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "user-message"), "unknown user"))

    field.clear()
    field.send_keys(user)
    browser.find_element(By.CSS_SELECTOR, "#user-form button[type=submit]").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#recs li")) == 10)
    shot = Path(os.environ.get("UNRATED_SCREENSHOT_DIR", tmp_path)) / "serve-page.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    severe = [
        e
        for e in browser.get_log("browser")
        if e["level"] == "SEVERE" and "nobody" not in e["message"]  # the 404s asked for above
    ]
    assert not severe, severe
