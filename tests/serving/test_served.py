"""ServedModel without HTTP: the answers the endpoints serialise, and the CLI's checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated as ur
from tests.cli_runner import run_cli
from unrated.errors import InvalidParameterError, UnknownIdError
from unrated.modelfile import save_model
from unrated.serving.app import create_app
from unrated.serving.served import load_served


def test_popular_has_no_reasons(popular_model_file: Path) -> None:
    served = load_served(popular_model_file)
    user = served.model.users_.ids[0]
    [result] = served.recommend_users([user], 3, because=True)
    assert len(result["items"]) == 3
    assert all(item["because"] is None for item in result["items"])
    assert all(item["name"] is None for item in result["items"])  # fitted without --items
    popular = np.argsort(-served.model.item_popularity(), kind="stable")[:2]
    assert served.search_items("", 2) == [
        {"item": i, "name": None} for i in served.model.items_.ids[popular]
    ]


def test_search_puts_whole_ids_and_names_first(tmp_path: Path) -> None:
    # "Green Tea" (3 users) and "tea-2" (2) are more popular than "Tea" (1), but "tea" is
    # the whole name of one item: the page's exact name match needs it among the first.
    pairs = [(0, "g"), (1, "g"), (2, "g"), (0, "tea-2"), (1, "tea-2"), (0, "t")]
    data = ur.read_interactions(pl.DataFrame(pairs, schema=["user_id", "item_id"], orient="row"))
    path = tmp_path / "tea.unrated"
    save_model(ur.Popular().fit(data), path, item_names={"g": "Green Tea", "t": "Tea"})
    served = load_served(path)
    assert [ref["item"] for ref in served.search_items("TEA", 10)] == ["t", "g", "tea-2"]
    assert [ref["item"] for ref in served.search_items("tea-2", 10)] == ["tea-2"]
    assert [ref["item"] for ref in served.search_items("", 10)] == ["g", "tea-2", "t"]


def test_basket_follows_the_history_rule(knn_model_file: Path) -> None:
    served = load_served(knn_model_file)
    with pytest.raises(InvalidParameterError, match="empty"):
        served.recommend_basket([], 4)
    with pytest.raises(UnknownIdError, match="'a', 'b'"):
        served.recommend_basket(["a", "b"], 4)
    popular = served.recommend_basket(["a", "b"], 4, fallback=True)
    assert (popular["fallback"], popular["n_unknown_items"]) == ("popular", 2)
    assert served.recommend_basket([], 4, fallback=True)["items"] == popular["items"]
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
        (["MODEL", "--api-key", ""], "API key refused: it is empty"),
        (["MODEL", "--api-key", "   "], "API key refused: it is only whitespace"),
        (["MODEL", "--api-key", "s3cret\n"], "API key refused: it starts or ends with whitespace"),
        (["MODEL", "--api-key", "s3\x7fcret"], "API key refused: it holds a control character"),
        (["MODEL", "UNRATED_API_KEY="], "API key refused: it is empty"),
    ],
)
def test_cli_errors_are_one_line(knn_model_file: Path, args: list[str], message: str) -> None:
    env = dict(arg.split("=", 1) for arg in args if arg.startswith("UNRATED_"))
    args = [str(knn_model_file) if a == "MODEL" else a for a in args if "=" not in a]
    result = run_cli("serve", *args, env=env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "s3" not in result.stderr  # a refused key is never shown


@pytest.mark.parametrize("key", ["", " ", "key ", "k\ney", "\udc80key", "k" * 4097])
def test_create_app_refuses_keys_no_client_could_send(knn_model_file: Path, key: str) -> None:
    with pytest.raises(InvalidParameterError, match="^API key refused: it "):
        create_app(knn_model_file, api_key=key)
