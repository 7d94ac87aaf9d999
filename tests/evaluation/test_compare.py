from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import unrated as ur
from unrated.evaluation.compare import compare
from unrated.evaluation.report import write_report


@pytest.fixture(scope="module")
def comparison(ml100k_split: ur.Split):  # type: ignore[no-untyped-def]
    return compare(["popular", "item-knn", "ease"], ml100k_split, rounds=300, curve=50)


def test_ranks_ease_above_item_knn_above_popular(comparison) -> None:  # type: ignore[no-untyped-def]
    assert [r.spec for r in comparison.results] == ["ease", "item-knn", "popular"]
    best, knn, popular = comparison.results
    assert best.versus_best is None
    assert knn.versus_best.significant and knn.versus_best.difference.high < 0
    assert popular.intervals["ndcg@20"].high < knn.intervals["ndcg@20"].low
    assert len(best.report.ndcg_curve) == 50
    assert best.fit_seconds > 0 and best.report.seconds > 0


def test_results_json_has_what_a_rerun_needs(comparison, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paths = write_report(comparison, tmp_path / "report")
    document = json.loads(paths["json"].read_text())
    assert document["schema"] == "unrated.compare/1"
    assert document["unrated_version"] == ur.__version__
    assert document["split"].startswith("holdout(fraction=0.2")
    assert len(document["data"]["fingerprint"]) == 24
    assert [m["spec"] for m in document["models"]] == ["ease", "item-knn", "popular"]
    ease = document["models"][0]["metrics"]["ndcg@20"]
    assert ease["low"] < ease["mean"] < ease["high"]
    for name in ("metrics", "ndcg_curve", "recall_by_history", "popularity"):
        assert paths[name].stat().st_size > 10_000
    assert paths["csv"].read_text().startswith("rank,model,")


def test_report_opens_in_chromium_and_its_leaderboard_fits_1280_px(
    comparison, browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    html = write_report(comparison, tmp_path / "report")["html"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(html.as_uri())
    text = page.inner_text("body")
    for spec in ("ease", "item-knn", "popular"):
        assert spec in text
    images = page.eval_on_selector_all("img", "els => els.map(e => [e.alt, e.naturalWidth])")
    assert sorted(alt for alt, _ in images) == [
        "metrics",
        "ndcg_curve",
        "popularity",
        "recall_by_history",
    ]
    assert all(width > 300 for _, width in images)
    for table in ("#leaderboard", "#all-metrics"):  # no horizontal scroll hides a column
        box = page.locator(table).locator("xpath=..")
        assert box.evaluate("e => e.scrollWidth <= e.clientWidth"), table
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    headers = page.locator("#leaderboard th").all_inner_texts()
    assert headers[-4:] == ["fit s", "warm-up s", "recommend s", "fit memory MiB"]
    assert page.locator("#leaderboard th", has_text="fit memory MiB").bounding_box()["x"] < 1280
    legend = page.inner_text("#leaderboard-legend")
    for term in ("vs best", "fit s", "warm-up s", "recommend s", "fit memory MiB"):
        assert f"{term}:" in legend
    metric_legend = page.inner_text("#metrics-legend")
    for header in page.locator("#all-metrics th").all_inner_texts()[2:]:
        assert header.split("@")[0] + "@K:" in metric_legend, header
    shots = Path(os.environ.get("UNRATED_SCREENSHOT_DIR", tmp_path))
    page.screenshot(path=str(shots / "report-1280.png"))
    page.close()
    assert errors == []


def test_fit_is_timed_warm_and_its_memory_is_what_it_holds(comparison) -> None:  # type: ignore[no-untyped-def]
    results = {r.spec: r for r in comparison.results}
    assert all(r.warmup_seconds > 0 for r in comparison.results)
    n_items = comparison.split.train.n_items
    weights = n_items * n_items * 4  # ease's float32 item × item matrix, kept after fit
    assert results["ease"].peak_memory_bytes >= weights
    # popular holds one count per item; fitted first, it used to show first-use allocations
    assert results["popular"].peak_memory_bytes < 8 * 2**20


def test_unknown_primary_metric(ml100k_split: ur.Split) -> None:
    with pytest.raises(ur.InvalidParameterError, match="unknown metric 'auc@20'"):
        compare(["popular"], ml100k_split, primary="auc@20", rounds=10)


def test_bad_spec_fails_before_fitting(ml100k_split: ur.Split) -> None:
    with pytest.raises(ur.InvalidParameterError, match="unknown model 'nope'"):
        compare(["ease", "nope"], ml100k_split)
