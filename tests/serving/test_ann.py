"""--ann: an HNSW index over a factor model's item factors, with its recall measured.

No factor model is built in yet (ials, bpr and mf bring ``user_factors_``/``item_factors_``),
so these tests use a small one of their own, registered for the duration of a test.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import numpy as np
import pytest
import scipy.sparse as sp
import uvicorn

import unrated as ur
from tests.serving.conftest import free_port
from unrated._checks import take_array
from unrated.errors import InvalidParameterError
from unrated.modelfile import save_model
from unrated.models._training import FitOptions
from unrated.models.base import Recommender
from unrated.models.registry import MODELS
from unrated.serving.ann import build_ann, factors_of
from unrated.serving.app import create_app

pytest.importorskip("hnswlib")


class TinyFactors(Recommender):
    """Scores are user_factors_ @ item_factors_.T (a truncated SVD of the data)."""

    key = "tiny-factors"

    def __init__(self, *, factors: int = 8) -> None:
        self.factors = factors

    def _fit(self, matrix: sp.csr_matrix, rng: np.random.Generator, options: FitOptions) -> None:
        u, s, vt = np.linalg.svd(matrix.toarray(), full_matrices=False)
        self.user_factors_ = (u[:, : self.factors] * s[: self.factors]).astype(np.float32)
        self.item_factors_ = vt[: self.factors].T.astype(np.float32).copy()

    def _score(self, history: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        users = history @ self.item_factors_ if user_idx is None else self.user_factors_[user_idx]
        return np.asarray(users @ self.item_factors_.T, dtype=np.float32)

    def _similar(self, item_idx: np.ndarray) -> np.ndarray:
        return np.asarray(self.item_factors_[item_idx] @ self.item_factors_.T, dtype=np.float32)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        shape = (None, self.factors)
        self.user_factors_ = take_array(arrays, "user_factors", np.float32, shape)
        self.item_factors_ = take_array(arrays, "item_factors", np.float32, shape)


@pytest.fixture
def factor_model(shop: ur.Interactions) -> TinyFactors:
    return TinyFactors().fit(shop)


def test_ann_finds_the_exact_top_k(factor_model: TinyFactors) -> None:
    ann = build_ann(factor_model, k=10, sample_users=200)
    assert ann.recall >= 0.99
    assert ann.sample_users == 200
    seen = factor_model.seen_
    exact = factor_model.recommend(factor_model.users_.ids[:50], k=10)
    for user in range(50):
        found, scores = ann.query(user, 10, excluded=seen[user])
        assert np.intersect1d(found, exact.item_idx[user]).size >= 9
        assert not np.isin(found, seen[user].indices).any()
        np.testing.assert_allclose(scores[0, 0], exact.scores[user, 0], rtol=1e-5)


def test_ann_leaves_out_blocked_items_and_its_seen_row(factor_model: TinyFactors) -> None:
    ann = build_ann(factor_model, k=10, sample_users=50)
    seen = factor_model.seen_[3]
    blocked = np.zeros(len(factor_model.items_), dtype=bool)
    blocked[factor_model.rank_positions(np.array([3]), 4)[0][0]] = True  # the exact top 4
    found, _ = ann.query(3, 10, excluded=seen, blocked=blocked)
    exact, _ = factor_model.rank_positions(np.array([3]), 10, blocked=blocked)
    assert not np.isin(found, seen.indices).any() and not blocked[found].any()
    assert np.intersect1d(found, exact).size >= 9


def test_ann_pads_when_few_items_remain(factor_model: TinyFactors) -> None:
    ann = build_ann(factor_model, sample_users=10)
    n_items = len(factor_model.items_)
    blocked = np.arange(n_items) < n_items - 3
    found, scores = ann.query(0, 5, blocked=blocked)
    assert found[0].tolist()[3:] == [-1, -1]
    assert sorted(found[0].tolist()[:3]) == [n_items - 3, n_items - 2, n_items - 1]
    assert np.isneginf(scores[0, 3:]).all()


def test_ann_needs_factors(shop: ur.Interactions) -> None:
    knn = ur.ItemKNN(neighbors=10).fit(shop)
    assert factors_of(knn) is None
    with pytest.raises(InvalidParameterError, match="needs a factor model"):
        build_ann(knn)


def test_cli_refuses_ann_without_factors(knn_model_file: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "unrated", "serve", str(knn_model_file), "--ann", "--port", "9"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "needs a factor model" in result.stderr


@pytest.fixture
def ann_server(
    factor_model: TinyFactors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The app with --ann in a uvicorn thread (the test model is registered in this process)."""
    monkeypatch.setitem(MODELS, TinyFactors.key, TinyFactors)
    path = tmp_path / "factors.unrated"
    save_model(factor_model, path)
    port = free_port()
    config = uvicorn.Config(
        create_app(path, ann=True), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)
    assert not thread.is_alive()


@pytest.mark.server
def test_ann_over_http(ann_server: str, factor_model: TinyFactors) -> None:
    with httpx.Client(base_url=ann_server, timeout=30) as client:
        report = client.get("/health").json()["ann"]
        assert report["recall"] >= 0.99
        assert report["k"] == 10
        user = factor_model.users_.ids[0]
        body = client.get("/recommend", params={"user": user, "k": 10}).json()
        exact = factor_model.recommend([user], k=10).item_ids[0].tolist()
        assert len(set(exact) & {i["item"] for i in body["items"]}) >= 9
        basket = client.post("/recommend/history", json={"items": exact[:2], "k": 5})
        assert basket.status_code == 200
