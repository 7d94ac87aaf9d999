"""SASRec reads order: a chain log it learns and set models cannot; exact fold-in; save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated as ur
from unrated.modelfile import load_model, save_model
from unrated.models.sasrec import SASRec

pytest.importorskip("torch")

N_ITEMS = 12
#: Small and fast: a few seconds on one thread.
FAST = {"factors": 16, "blocks": 1, "dropout": 0.0, "max_length": 8, "batch_size": 32}


@pytest.fixture(scope="module")
def chain() -> pl.DataFrame:
    """Each customer walks the ring i -> i + 1 from a random start: the last item decides."""
    rng = np.random.default_rng(0)
    rows = []
    for user in range(120):
        start, length = int(rng.integers(N_ITEMS)), int(rng.integers(3, 8))
        rows += [(user, (start + t) % N_ITEMS, t) for t in range(length)]
    return pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")


@pytest.fixture(scope="module")
def model(chain: pl.DataFrame) -> SASRec:
    params = FAST | {"loss": "softmax", "epochs": 40, "learning_rate": 0.01}
    return SASRec(**params).fit(chain, progress=False)  # type: ignore[arg-type]


def segments() -> list[list[int]]:
    return [[(s + t) % N_ITEMS for t in range(3)] for s in range(N_ITEMS)]


def test_learns_the_next_item_where_a_set_model_cannot(model: SASRec, chain: pl.DataFrame) -> None:
    truth = [(s + 3) % N_ITEMS for s in range(N_ITEMS)]
    top = model.recommend_history(segments(), k=1).item_ids[:, 0].tolist()
    assert np.mean(np.array(top) == truth) >= 0.9
    # A set model sees {s, s+1, s+2}: s - 1 and s + 3 look alike to it.
    knn = ur.ItemKNN().fit(chain)
    knn_top = knn.recommend_history(segments(), k=1).item_ids[:, 0].tolist()
    assert np.mean(np.array(knn_top) == truth) <= 0.7


def test_order_of_a_history_changes_the_answer(model: SASRec, chain: pl.DataFrame) -> None:
    backwards = [s[::-1] for s in segments()]
    forward = model.recommend_history(segments(), k=3)
    backward = model.recommend_history(backwards, k=3)
    assert (forward.item_idx[:, 0] != backward.item_idx[:, 0]).mean() >= 0.5
    knn = ur.ItemKNN().fit(chain)  # a set model: the same answer in any order
    np.testing.assert_array_equal(
        knn.recommend_history(segments(), k=3).scores, knn.recommend_history(backwards, k=3).scores
    )


def test_recommend_is_the_fold_in_of_the_ordered_sequence(
    model: SASRec, chain: pl.DataFrame
) -> None:
    users = [0, 1, 2, 3]
    histories = [
        chain.filter(pl.col("user_id") == u).sort("timestamp")["item_id"].to_list() for u in users
    ]
    known = model.recommend(users, k=5)
    folded = model.recommend_history(histories, k=5)
    np.testing.assert_array_equal(known.item_idx, folded.item_idx)
    np.testing.assert_array_equal(known.scores, folded.scores)


def test_save_load_gives_identical_scores(model: SASRec, tmp_path: Path) -> None:
    loaded = load_model(save_model(model, tmp_path / "sasrec.unrated"))
    assert isinstance(loaded, SASRec) and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.score(list(range(10))), model.score(list(range(10))))
    a, b = model.recommend_history(segments(), k=5), loaded.recommend_history(segments(), k=5)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(
        model.similar_items([0, 1]).item_idx, loaded.similar_items([0, 1]).item_idx
    )


@pytest.mark.parametrize(
    ("loss", "negatives"), [("bce", 1), ("bce", 4), ("gbce", 6), ("sampled_softmax", 6)]
)
def test_every_loss_trains_and_a_seed_repeats(
    chain: pl.DataFrame, loss: str, negatives: int
) -> None:
    params = FAST | {"loss": loss, "negatives": negatives, "epochs": 3, "seed": 5}
    first = SASRec(**params).fit(chain, progress=False)  # type: ignore[arg-type]
    second = SASRec(**params).fit(chain, progress=False)  # type: ignore[arg-type]
    np.testing.assert_array_equal(first.score([0, 1]), second.score([0, 1]))
    assert np.isfinite(first.score([0])).all()


def test_early_stopping_keeps_the_best_epoch(chain: pl.DataFrame) -> None:
    params = FAST | {"loss": "softmax", "epochs": 6, "validation": 0.3, "patience": 2}
    fitted = SASRec(**params).fit(chain, progress=False)  # type: ignore[arg-type]
    assert 1 <= fitted.best_epoch_ <= 6


def test_update_is_refused_with_the_way_out(model: SASRec, chain: pl.DataFrame) -> None:
    with pytest.raises(ur.InvalidParameterError, match="fit it again"):
        model.update(chain.head(3))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"loss": "hinge"}, "loss"),
        ({"factors": 10, "heads": 3}, "multiple of 'heads'"),
        ({"gbce_t": 2.0}, "gbce_t"),
    ],
)
def test_bad_parameters_are_named(
    chain: pl.DataFrame, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ur.InvalidParameterError, match=message):
        SASRec(**params).fit(chain)  # type: ignore[arg-type]


def test_data_without_order_is_a_warning(chain: pl.DataFrame) -> None:
    params = FAST | {"epochs": 1}
    with pytest.warns(ur.DataWarning, match="no time, order or basket column"):
        SASRec(**params).fit(chain.drop("timestamp"), progress=False)  # type: ignore[arg-type]


def test_a_separate_output_table_learns_and_saves(chain: pl.DataFrame, tmp_path: Path) -> None:
    params = FAST | {"loss": "gbce", "negatives": 4, "epochs": 40, "learning_rate": 0.01}
    model = SASRec(**params, output="separate").fit(chain, progress=False)  # type: ignore[arg-type]
    assert model._net.scorer.weight.data_ptr() != model._net.items.weight.data_ptr()
    truth = [(s + 3) % N_ITEMS for s in range(N_ITEMS)]
    top = model.recommend_history(segments(), k=1).item_ids[:, 0].tolist()
    assert np.mean(np.array(top) == truth) >= 0.9
    loaded = load_model(save_model(model, tmp_path / "separate.unrated"))
    np.testing.assert_array_equal(loaded.score(list(range(10))), model.score(list(range(10))))
