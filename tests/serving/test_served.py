"""ServedModel without HTTP: the answers the endpoints serialise, and the CLI's checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from unrated.serving.served import load_served


def test_popular_has_no_reasons(popular_model_file: Path) -> None:
    served = load_served(popular_model_file)
    user = served.model.users_.ids[0]
    [result] = served.recommend_users([user], 3, because=True)
    assert len(result["items"]) == 3
    assert all(item["because"] is None for item in result["items"])
    assert all(item["name"] is None for item in result["items"])  # fitted without --items
    assert served.search_items("", 2) == [
        {"item": i, "name": None} for i in served.model.items_.ids[served._popular_order[:2]]
    ]


def test_basket_fallback_and_exclusion(knn_model_file: Path) -> None:
    served = load_served(knn_model_file)
    assert served.recommend_basket([], 4)["fallback"] == "popular"
    assert served.recommend_basket(["a", "b"], 4)["n_unknown_items"] == 2
    item = served.model.items_.ids[0]
    kept = served.recommend_basket([item], 200, exclude_seen=False)["items"]
    assert item in [i["item"] for i in kept]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.unrated"], "file not found"),
        (["MODEL", "--port", "70000"], "'port'"),
        (["MODEL", "--workers", "0"], "'workers'"),
        (["MODEL", "--max-k", "0"], "'max_k'"),
    ],
)
def test_cli_errors_are_one_line(knn_model_file: Path, args: list[str], message: str) -> None:
    args = [str(knn_model_file) if a == "MODEL" else a for a in args]
    result = subprocess.run(
        [sys.executable, "-m", "unrated", "serve", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert message in result.stderr
