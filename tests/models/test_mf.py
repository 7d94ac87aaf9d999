from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import pytest
import scipy.sparse as sp

import unrated as ur
from unrated.modelfile import load_model
from unrated.models._sgd_kernels import mf_epoch


def test_ndcg_floor_on_movielens(ml100k_split: ur.Split) -> None:
    model = ur.EmbeddingMF(epochs=25, validation=0).fit(ml100k_split.train)  # 0.374
    assert ur.evaluate(model, ml100k_split, k=20).summary()["ndcg@20"] >= 0.36


def test_the_common_first_attempt_ranks_far_worse(ml100k_split: ur.Split) -> None:
    naive = ur.EmbeddingMF(loss="mse", negatives=1, resample="once", epochs=25, validation=0)
    ndcg = ur.evaluate(naive.fit(ml100k_split.train), ml100k_split, k=20).summary()["ndcg@20"]
    assert ndcg < 0.33


def test_same_seed_gives_identical_recommendations_on_any_thread_count(
    ml100k_split: ur.Split,
) -> None:
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = ur.EmbeddingMF(epochs=3, seed=2).fit(ml100k_split.train)
        numba.set_num_threads(max(2, threads))
        two = ur.EmbeddingMF(epochs=3, seed=2).fit(ml100k_split.train)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(one.item_factors_, two.item_factors_)
    users = one.users_.ids[:200]
    np.testing.assert_array_equal(
        one.recommend(users, k=10).item_idx, two.recommend(users, k=10).item_idx
    )


def test_early_stopping_keeps_the_best_epoch(ml100k_split: ur.Split) -> None:
    model = ur.EmbeddingMF(epochs=60, patience=2, learning_rate=0.05, validation=0.1)
    model.fit(ml100k_split.train)
    assert 1 <= model.best_epoch_ < 60  # a large step size overfits early
    assert model.validation_ndcg_ > 0.1


@pytest.mark.parametrize("loss", ["bce", "mse", "bpr", "softmax"])
def test_fold_in_of_training_users_matches_their_recommendations(
    loss: str, ml100k_split: ur.Split
) -> None:
    model = ur.EmbeddingMF(loss=loss, epochs=20, validation=0).fit(ml100k_split.train)
    users = model.users_.ids[:20]  # fold-in costs ~0.3 s of CPU a user for the bpr loss
    histories = [
        model.items_.take(model.seen_[model.users_.positions([u], kind="user")[0]].indices).tolist()
        for u in users
    ]
    folded = model.recommend_history(histories, k=10).item_idx
    known = model.recommend(users, k=10).item_idx
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(folded, known, strict=True)])
    # fold-in minimises the expected training loss; for softmax that is the full softmax,
    # which 4 sampled negatives only roughly estimate, hence the lower bar
    assert overlap >= (0.45 if loss == "softmax" else 0.6), overlap


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"loss": "hinge"}, "'loss' parameter of EmbeddingMF must be one of 'bce', 'mse'"),
        ({"negatives": 0}, "'negatives' parameter of EmbeddingMF must be an int ≥ 1. Got 0"),
        ({"device": "tpu"}, "'device' parameter of EmbeddingMF must be one of 'cpu'"),
        ({"batch_size": 1.5}, "'batch_size' parameter of EmbeddingMF must be an int"),
        ({"sampler_alpha": -1}, "'sampler_alpha' parameter of EmbeddingMF must be a number ≥ 0"),
        ({"tower": -1}, "'tower' parameter of EmbeddingMF must be an int ≥ 0"),
    ],
)
def test_bad_parameters(
    params: dict[str, object], message: str, checkerboard: ur.Interactions
) -> None:
    with pytest.raises(ur.InvalidParameterError, match=message):
        ur.EmbeddingMF(**params).fit(checkerboard)  # type: ignore[arg-type]


#: ``mf`` and ``bpr`` files written while early stopping (validation=0.1) was the default:
#: 4 factors, 20 epochs, seed 0, on :func:`small_matrix`; (recommend, recommend_history) then.
BEFORE_NO_VALIDATION = {
    "mf": ([[4, 6, 8, 10], [2, 5, 10, 4], [10, 2, 5, 6]], [[8, 3, 7, 6], [1, 2, 7, 6]]),
    "bpr": ([[9, 4, 8, 5], [10, 4, 5, 2], [10, 3, 9, 4]], [[0, 5, 4, 9], [5, 10, 1, 0]]),
}


def small_matrix() -> sp.csr_matrix:
    """The data of the BEFORE_NO_VALIDATION files (30 users × 12 items)."""
    dense = (np.random.default_rng(0).random((30, 12)) < 0.5).astype(np.float32)
    dense[:, 0] = 1.0
    return sp.csr_matrix(dense)


@pytest.mark.parametrize("key", list(BEFORE_NO_VALIDATION))
def test_a_file_from_before_the_no_validation_default_scores_as_it_did(key: str) -> None:
    path = Path(__file__).parents[1] / "model_files" / f"{key}-before-no-validation.unrated"
    loaded = load_model(path)
    assert isinstance(loaded, ur.BPR | ur.EmbeddingMF) and loaded.validation == 0.1
    known, folded = BEFORE_NO_VALIDATION[key]
    assert loaded.recommend([0, 1, 2], k=4).item_ids.tolist() == known
    assert loaded.recommend_history([[1, 2], [3]], k=4).item_ids.tolist() == folded
    refitted = ur.make_model(key).set_params(**loaded.get_params()).fit(small_matrix())
    np.testing.assert_array_equal(refitted.item_factors_, loaded.item_factors_)
    np.testing.assert_array_equal(refitted.user_factors_, loaded.user_factors_)


def test_model_spec_round_trip() -> None:
    model = ur.make_model("mf:loss=softmax,negatives=16,sampler=popularity,resample=once")
    assert isinstance(model, ur.EmbeddingMF)
    assert (model.loss, model.negatives, model.sampler, model.resample) == (
        "softmax",
        16,
        "popularity",
        "once",
    )


# ---- the PyTorch engine (CUDA path; on CPU when a tower is on) ----------------------------


def test_torch_engine_matches_the_numba_kernel(ml100k_split: ur.Split) -> None:
    pytest.importorskip("torch")
    from unrated.data.negatives import NegativeSampler
    from unrated.models._mf_torch import TorchEngine

    matrix = ml100k_split.train.binary()
    n_users, n_items = matrix.shape
    rng = np.random.default_rng(0)
    tables = {
        "user_factors": rng.standard_normal((n_users, 8), np.float32) * 0.1,
        "item_factors": rng.standard_normal((n_items, 8), np.float32) * 0.1,
        "user_bias": np.zeros(n_users, np.float32),
        "item_bias": np.zeros(n_items, np.float32),
    }
    indptr, items = matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32)
    negatives = NegativeSampler(matrix, negatives=3, seed=1).draw(0)
    order = rng.permutation(n_users).astype(np.int64)
    starts = np.array([0, 100, 300, 500], dtype=np.int64)
    log_q = np.full(n_items, np.log(3.0 / n_items))
    free = np.zeros(n_users)
    for loss in range(4):
        engine = TorchEngine(
            {k: v.copy() for k, v in tables.items()},
            indptr,
            items,
            device="cpu",
            tower=0,
            loss=loss,
            learning_rate=0.01,
            regularization=0.01,
            log_q=log_q,
            user_log_free=free,
            seed=0,
        )
        torch_loss = engine.run_epoch(order[:500], starts, negatives)
        mine = {k: v.copy() for k, v in tables.items()}
        params = (mine["user_factors"], mine["item_factors"], mine["user_bias"], mine["item_bias"])
        state = tuple(np.zeros_like(p) for p in params for _ in range(2))
        state = (state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7])
        _, numba_loss = mf_epoch(
            params,
            state,
            0,
            indptr,
            items,
            negatives,
            log_q,
            free,
            order[:500],
            starts,
            loss,
            0.01,
            0.01,
            np.empty((numba.get_num_threads(), 8), np.float32),
        )
        assert torch_loss == pytest.approx(numba_loss, rel=1e-4)
        for name, value in engine.tables().items():
            np.testing.assert_allclose(value, mine[name], atol=2e-4, err_msg=f"{loss} {name}")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_tower_trains_with_torch(device: str, ml100k_split: ur.Split) -> None:
    pytest.importorskip("torch")
    model = ur.EmbeddingMF(tower=16, epochs=10, validation=0, device=device)
    model.fit(ml100k_split.train)
    assert ur.evaluate(model, ml100k_split, k=20).summary()["ndcg@20"] > 0.25
