"""IALS: exact solves, fold-in, determinism, parameter checks, and a quality floor on ML-100k."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import unrated as ur
from unrated.errors import InvalidParameterError
from unrated.models import ials
from unrated.models._ials_kernels import BLAS_GROUP, GRAMIAN_CHUNK, gramian
from unrated.models.ials import IALS
from unrated.models.registry import make_model

DATA = Path(os.environ.get("UNRATED_DATA", Path(__file__).parents[2] / ".." / "shared" / "data"))


def small_data(seed: int = 0, n_users: int = 60, n_items: int = 40) -> ur.Interactions:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < 0.15) * rng.integers(1, 4, (n_users, n_items))
    dense[np.arange(n_users), rng.integers(0, n_items, n_users)] = 1  # nobody empty
    return ur.read_interactions(sp.csr_matrix(dense.astype(np.float32)))


def exact_users(model: IALS, history: sp.csr_matrix) -> np.ndarray:
    """The closed-form user vectors, by numpy.linalg.solve in float64."""
    conf = model._confidences(history)
    items = model.item_factors_.astype(np.float64)
    weights = model.unobserved_weights_.astype(np.float64)
    reg = model._row_regularization(conf, weights.sum()).astype(np.float64)
    gram = (items.T * weights) @ items
    out = np.empty((history.shape[0], items.shape[1]))
    for row in range(history.shape[0]):
        cols = conf.indices[conf.indptr[row] : conf.indptr[row + 1]]
        c = conf.data[conf.indptr[row] : conf.indptr[row + 1]]
        system = gram + (items[cols].T * c) @ items[cols] + reg[row] * np.eye(items.shape[1])
        out[row] = np.linalg.solve(system, items[cols].T @ c)
    return out


@pytest.mark.parametrize("confidence", ["binary", "log", "linear"])
@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_fold_in_solves_the_normal_equations_exactly(solver: str, confidence: str) -> None:
    data = small_data()
    model = IALS(
        factors=8, epochs=3, solver=solver, confidence=confidence, alpha=2.0, regularization=0.05
    ).fit(data)
    history = data.matrix[:20]
    expected = exact_users(model, history)
    np.testing.assert_allclose(model._fold_in(history), expected, rtol=1e-3, atol=1e-5)
    # Training ends with the same exact solve for every user, warm-started from its last
    # epoch: CG stops at a relative residual of 1e-5, so float32 errors of a few 1e-5 remain.
    np.testing.assert_allclose(
        model.user_factors_, exact_users(model, data.matrix), rtol=1e-3, atol=3e-5
    )


def test_training_by_blas_agrees_with_the_tiled_kernel_on_any_thread_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = small_data(7, n_users=2 * BLAS_GROUP + 37, n_items=BLAS_GROUP + 11)  # + tail groups
    tiled = IALS(factors=16, epochs=4).fit(data)
    monkeypatch.setattr(ials, "BLAS_FACTORS", 16)
    fits = []
    try:
        for threads in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            fits.append(IALS(factors=16, epochs=4).fit(data))
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    one, many = fits
    assert np.array_equal(one.item_factors_, many.item_factors_)
    assert np.array_equal(one.user_factors_, many.user_factors_)
    np.testing.assert_allclose(one.item_factors_, tiled.item_factors_, rtol=1e-3, atol=1e-5)
    expected = exact_users(one, data.matrix)
    np.testing.assert_allclose(one.user_factors_, expected, rtol=1e-3, atol=3e-5)


@pytest.mark.parametrize("factors", [64, 256])  # one thread, then numba's threads
def test_gramian_is_symmetric_and_the_same_on_any_number_of_threads(factors: int) -> None:
    # OpenBLAS's threaded syrk differs in the last bits between 1 and 2 threads with its
    # Haswell and Zen kernels (OPENBLAS_CORETYPE=ZEN reproduces it on any x86 machine), so
    # the Gramian must not depend on BLAS's thread count, nor on numba's.
    rng = np.random.default_rng(8)
    y = rng.standard_normal((2 * GRAMIAN_CHUNK + 123, factors), dtype=np.float32)
    weights = rng.random(len(y), dtype=np.float32)
    results = []
    try:
        for threads in (1, 2):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            with threadpool_limits(threads, "blas"):
                results.append(gramian(y, weights))
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    one, two = results
    assert np.array_equal(one, two) and np.array_equal(one, one.T)
    expected = (y.T.astype(np.float64) * weights) @ y
    np.testing.assert_allclose(one, expected, rtol=1e-5, atol=1e-3)


def test_many_cg_steps_reach_the_cholesky_solution() -> None:
    data = small_data(1)
    cg = IALS(factors=6, epochs=5, cg_steps=12, regularization=0.05).fit(data)
    exact = IALS(factors=6, epochs=5, solver="cholesky", regularization=0.05).fit(data)
    np.testing.assert_allclose(cg.item_factors_, exact.item_factors_, rtol=1e-3, atol=1e-4)


def test_loss_decreases_with_exact_solves() -> None:
    data = small_data(2)
    losses = [IALS(factors=6, epochs=e, solver="cholesky").fit(data).loss_ for e in (1, 2, 4, 8)]
    assert all(a >= b for a, b in itertools.pairwise(losses))


def test_same_seed_same_factors_and_other_seed_differs() -> None:
    data = small_data(3)
    a = IALS(factors=8, epochs=4, seed=7).fit(data)
    b = IALS(factors=8, epochs=4, seed=7).fit(data)
    c = IALS(factors=8, epochs=4, seed=8).fit(data)
    assert np.array_equal(a.item_factors_, b.item_factors_)
    assert np.array_equal(a.user_factors_, b.user_factors_)
    assert not np.array_equal(a.item_factors_, c.item_factors_)


def test_fold_in_of_own_history_reproduces_recommendations() -> None:
    data = small_data(4, n_users=120, n_items=80)
    model = IALS(factors=16, epochs=6).fit(data)
    users = model.users_.ids[:50]
    recs = model.recommend(users, k=10)
    histories = [
        {model.items_.ids[j]: float(w) for j, w in zip(row.indices, row.data, strict=True)}
        for row in data.matrix[:50]
    ]
    folded = model.recommend_history(histories, k=10)
    # Training's last user solve starts from the last epoch, fold-in from zero: both stop at a
    # relative residual of 1e-5, so scores agree to float32 precision and the lists agree at
    # every rank except between items whose scores tie within that precision.
    np.testing.assert_allclose(recs.scores, folded.scores, atol=1e-5)
    tie = 2e-5
    gaps = np.abs(np.diff(recs.scores, axis=1))
    isolated = np.ones(recs.scores.shape, dtype=bool)
    isolated[:, 1:] &= gaps > tie
    isolated[:, :-1] &= gaps > tie
    assert np.array_equal(recs.item_idx[isolated], folded.item_idx[isolated])
    assert isolated.mean() > 0.9


def test_explain_contributions_sum_to_the_score() -> None:
    data = small_data(5)
    model = IALS(factors=8, epochs=4).fit(data)
    user = model.users_.ids[3]
    item = model.recommend(user, k=1).item_ids[0, 0]
    frame = model.explain(user, item, k=100)
    score = model.recommend(user, k=1).scores[0, 0]
    assert frame["contribution"].sum() == pytest.approx(score, rel=1e-3)


def test_similar_items_are_cosine_neighbours_without_the_item() -> None:
    data = small_data(6)
    model = IALS(factors=8, epochs=3).fit(data)
    result = model.similar_items([0, 1], k=5)
    assert 0 not in result.item_idx[0] and 1 not in result.item_idx[1]
    assert (result.scores <= 1.0 + 1e-5).all()


def test_spec_and_epochs_zero() -> None:
    model = make_model("ials:factors=4,epochs=0,confidence=log,alpha=0.5")
    assert isinstance(model, IALS) and model.factors == 4 and model.confidence == "log"
    model.fit(small_data())
    assert model.user_factors_.shape == (60, 4)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"factors": 0}, "The 'factors' parameter of IALS must be an int ≥ 1. Got 0 instead."),
        ({"epochs": 1.5}, "The 'epochs' parameter of IALS must be an int ≥ 0. Got 1.5 instead."),
        ({"regularization": -1.0}, "'regularization' parameter of IALS must be a number ≥ 0"),
        ({"unobserved_weight": float("nan")}, "'unobserved_weight' parameter of IALS"),
        ({"confidence": "squared"}, "one of 'binary', 'log', 'linear'. Got 'squared'"),
        ({"solver": "lu"}, "'solver' parameter of IALS must be one of 'cg', 'cholesky'"),
        ({"cg_steps": 0}, "The 'cg_steps' parameter of IALS must be an int ≥ 1"),
    ],
)
def test_bad_parameters_say_which_and_why(params: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message.replace("(", r"\(")):
        IALS(**params).fit(small_data())  # type: ignore[arg-type]


@pytest.mark.slow
def test_defaults_reach_the_ndcg_floor_on_movielens_100k() -> None:
    path = DATA / "ml-100k" / "ratings.csv"
    assert path.exists(), f"MovieLens-100k not found at {path} (set UNRATED_DATA)"
    split = ur.split_holdout(ur.read_interactions(path), fraction=0.2, seed=0)
    summary = ur.evaluate(IALS().fit(split.train), split.test, k=20).summary()
    assert summary["ndcg@20"] >= 0.43
