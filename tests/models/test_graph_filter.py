from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import unrated as ur
from unrated.modelfile import load_model, save_model
from unrated.models.graph_filter import GraphFilter, chebyshev_coefficients

# Seven users × six items, hand-made: two overlapping tastes and one user of everything.
TINY = np.array(
    [
        [1, 1, 0, 0, 0, 0],
        [1, 0, 1, 0, 0, 0],
        [0, 1, 1, 1, 0, 0],
        [0, 0, 0, 1, 1, 0],
        [0, 0, 1, 0, 1, 1],
        [0, 0, 0, 0, 1, 1],
        [1, 1, 1, 1, 1, 1],
    ],
    dtype=np.float64,
)


def dense_scores(
    matrix: np.ndarray, *, order: int, flatness: float, rank: int, weight: float, exponent: float
) -> np.ndarray:
    """The model's formula in dense numpy: (h(P) + w V Vᵀ) applied to r ⊙ d^-e, then ⊙ d^e."""
    user_degree, item_degree = matrix.sum(axis=1), matrix.sum(axis=0)
    normalised = matrix / np.sqrt(user_degree)[:, None] / np.sqrt(item_degree)[None, :]
    operator = normalised.T @ normalised
    values, vectors = np.linalg.eigh(operator)
    response = np.polynomial.chebyshev.chebval(
        1.0 - 2.0 * values, chebyshev_coefficients(order, flatness)
    )
    filtered = (vectors * response) @ vectors.T
    _, _, vt = np.linalg.svd(normalised)
    ideal = vt[:rank].T @ vt[:rank]
    signal = matrix * item_degree ** (-exponent)
    scores: np.ndarray = (signal @ (filtered + weight * ideal)) * item_degree**exponent
    return scores


@pytest.mark.parametrize(
    ("order", "flatness", "rank", "weight", "exponent"),
    [(8, 1.5, 2, 0.2, 0.4), (3, 0.7, 1, 1.0, 0.0), (1, 2.0, 0, 0.0, 0.5), (0, 1.0, 3, 0.5, 1.0)],
)
def test_scores_equal_the_dense_formula(
    order: int, flatness: float, rank: int, weight: float, exponent: float
) -> None:
    model = GraphFilter(
        order=order, flatness=flatness, rank=rank, ideal_weight=weight, degree_exponent=exponent
    ).fit(sp.csr_matrix(TINY))
    expected = dense_scores(
        TINY, order=order, flatness=flatness, rank=rank, weight=weight, exponent=exponent
    )
    np.testing.assert_allclose(model.score(list(range(7))), expected, rtol=1e-4, atol=1e-5)


def test_the_coefficients_interpolate_the_plateau_at_the_chebyshev_nodes() -> None:
    nodes = np.cos((np.arange(9) + 0.5) * np.pi / 9)
    size = np.abs(nodes) ** 1.5
    target = np.where(nodes < 0, 0.5 + 0.5 * size, 0.5 - 0.5 * size)
    values = np.polynomial.chebyshev.chebval(nodes, chebyshev_coefficients(8, 1.5))
    np.testing.assert_allclose(values, target, atol=1e-12)


def test_extrema_points_give_each_node_the_response_at_its_extremum() -> None:
    """ChebyCF's published pairing: node j carries the plateau's value at cos(jπ/K)."""
    nodes = np.cos((np.arange(9) + 0.5) * np.pi / 9)
    extrema = np.cos(np.arange(9) * np.pi / 8)
    size = np.abs(extrema) ** 1.5
    target = np.where(extrema < 0, 0.5 + 0.5 * size, 0.5 - 0.5 * size)
    values = np.polynomial.chebyshev.chebval(nodes, chebyshev_coefficients(8, 1.5, "extrema"))
    np.testing.assert_allclose(values, target, atol=1e-12)
    assert values[0] == pytest.approx(0.0) and values[-1] == pytest.approx(1.0)  # not 0.03/0.97


def test_the_randomized_svd_finds_the_top_singular_subspace() -> None:
    rng = np.random.default_rng(0)
    matrix = sp.csr_matrix((rng.random((400, 300)) < 0.05).astype(np.float32))
    model = GraphFilter(rank=20).fit(matrix)
    normalised = model.graph_.toarray().astype(np.float64)
    _, _, vt = np.linalg.svd(normalised)
    exact = vt[:20].T @ vt[:20]
    found = model.ideal_.astype(np.float64)
    np.testing.assert_allclose(found.T @ found, np.eye(20), atol=1e-5)
    assert np.linalg.norm(found @ found.T - exact) < 0.05 * np.linalg.norm(exact)


def test_a_new_visitor_is_scored_exactly_like_the_training_user(tmp_path: Path) -> None:
    model = GraphFilter(rank=3).fit(sp.csr_matrix(TINY))
    history = [np.flatnonzero(TINY[2]).tolist()]
    folded = model.recommend_history(history, k=3)
    known = model.recommend([2], k=3)
    np.testing.assert_array_equal(folded.item_idx, known.item_idx)
    np.testing.assert_array_equal(folded.scores, known.scores)
    loaded = load_model(save_model(model, tmp_path / "tiny.unrated"))
    np.testing.assert_array_equal(loaded.score(list(range(7))), model.score(list(range(7))))


def test_explain_splits_each_score_over_the_history() -> None:
    model = GraphFilter(rank=2).fit(sp.csr_matrix(TINY))
    scores = model.score([0])[0]
    for item in (2, 3, 5):
        frame = model.explain(0, item, k=10)
        assert sorted(frame["item_id"].to_list()) == [0, 1]
        assert frame["contribution"].sum() == pytest.approx(scores[item], rel=1e-5)


def test_similar_items_are_the_scores_of_a_one_item_history() -> None:
    model = GraphFilter(rank=2).fit(sp.csr_matrix(TINY))
    similar = model.similar_items([4], k=5)
    alone = model.recommend_history([[4]], k=5)
    np.testing.assert_array_equal(similar.item_idx, alone.item_idx)


def test_refuses_up_front_a_rank_that_does_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNRATED_MEMORY_LIMIT", "2G")
    sparse = sp.csr_matrix(
        (np.ones(2, dtype=np.float32), ([0, 199_999], [0, 299_999])), shape=(200_000, 300_000)
    )
    with pytest.raises(ur.MemoryLimitError, match=r"randomized SVD of rank 100,000.*lower 'rank'"):
        GraphFilter(rank=100_000).fit(sparse)


@pytest.mark.parametrize(
    ("param", "value", "rule"),
    [
        ("order", -1, "an int ≥ 0"),
        ("flatness", 0.0, "a number > 0"),
        ("rank", 2.5, "an int ≥ 0"),
        ("degree_exponent", 1.5, "≤ 1"),
    ],
)
def test_bad_parameters_are_named(param: str, value: float, rule: str) -> None:
    model = GraphFilter().set_params(**{param: value})
    with pytest.raises(
        ur.InvalidParameterError, match=f"'{param}' parameter of GraphFilter.*{rule}"
    ):
        model.fit(sp.csr_matrix(TINY))
