"""``--engine spark``: Spark MLlib ALS in local[2] on ML-100k, through the real CLI.

Fit on Spark, export to the model file, recommend and evaluate with unrated; the exported
factors must recommend exactly what a numpy top-K of the same factors does (seen items
removed), and score within 0.02 NDCG@20 of the local ``ials`` at the same parameters.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.engines.conftest import require_spark, run_cli
from unrated import read_interactions
from unrated.modelfile import load_model

pytestmark = pytest.mark.slow

#: Smaller than the defaults (128 factors, 16 epochs) to keep local[2] ALS short.
SPEC = "ials:factors=64,epochs=8"
K = 20


@pytest.fixture(scope="module")
def fitted(ml100k_split_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with spark.unrated and local.unrated, both trained on the split's train.csv."""
    require_spark()
    folder = tmp_path_factory.mktemp("spark")
    train = ml100k_split_dir / "train.csv"
    spark = ("--engine", "spark", "--spark-master", "local[2]")
    run_cli(
        "fit", train, "--model", SPEC, *spark, "--out", "spark.unrated", cwd=folder, timeout=600
    )
    run_cli("fit", train, "--model", SPEC, "--out", "local.unrated", cwd=folder, timeout=300)
    return folder


def test_exported_factors_recommend_as_a_numpy_top_k(fitted: Path, ml100k_split_dir: Path) -> None:
    run_cli(
        "recommend", "spark.unrated", "--all", "-k", K, "--out", "recs.csv", cwd=fitted, timeout=120
    )
    recs = pl.read_csv(fitted / "recs.csv", infer_schema=False).sort(
        pl.col("user_id"), pl.col("rank").cast(pl.Int64)
    )
    model = load_model(fitted / "spark.unrated")
    train = read_interactions(ml100k_split_dir / "train.csv")
    # the ids are numbered as read_interactions numbers them
    assert np.array_equal(model.users_.ids, train.users.ids)
    assert np.array_equal(model.items_.ids, train.items.ids)
    # the engine's ALS settings travel in the model file's info
    assert model.info_["engine"] == "spark"
    assert model.info_["spark_params"]["rank"] == model.factors  # type: ignore[attr-defined]

    scores = model.user_factors_ @ model.item_factors_.T  # type: ignore[attr-defined]
    seen = train.matrix.tocoo()
    scores[seen.row, seen.col] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :K]

    users = model.users_.positions(recs["user_id"].to_numpy().astype(object), kind="user")
    items = model.items_.positions(recs["item_id"].to_numpy().astype(object), kind="item")
    assert len(users) == train.matrix.shape[0] * K
    users, items = users.reshape(-1, K), items.reshape(-1, K)
    assert np.all(users == users[:, :1])
    rows = users[:, 0]
    # no seen item; each list is a top-K of the numpy scores (equal up to float32 ties)
    assert np.isfinite(scores[rows[:, None], items]).all()
    numpy_best = np.take_along_axis(scores[rows], top[rows], axis=1)
    np.testing.assert_allclose(scores[rows[:, None], items], numpy_best, rtol=0, atol=1e-5)
    np.testing.assert_allclose(
        recs["score"].cast(pl.Float32).to_numpy().reshape(-1, K), numpy_best, atol=1e-4
    )
    same = (items == top[rows]).all(axis=1).mean()
    assert same >= 0.99, f"only {same:.1%} of users have exactly numpy's list"


def test_ndcg_within_002_of_local_ials(fitted: Path, ml100k_split_dir: Path) -> None:
    test = ml100k_split_dir / "test.csv"
    ndcg = {}
    for name in ("spark", "local"):
        out = run_cli("evaluate", f"{name}.unrated", test, "--json", cwd=fitted, timeout=120)
        ndcg[name] = json.loads(out.stdout)["metrics"]["ndcg@20"]
    assert abs(ndcg["spark"] - ndcg["local"]) <= 0.02, ndcg
    assert ndcg["spark"] >= 0.40, ndcg


def test_malformed_spark_conf_is_named(tmp_path: Path, ml100k_path: Path) -> None:
    result = run_cli(
        "fit", ml100k_path, "--engine", "spark", "--spark-conf", "spark.executor.memory",
        "--out", "m.unrated", cwd=tmp_path, timeout=60, expect=2,
    )  # fmt: skip
    assert "--spark-conf must be key=value" in result.stderr
