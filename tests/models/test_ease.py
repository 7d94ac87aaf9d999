from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import unrated as ur
from unrated.data.interactions import binary_matrix
from unrated.modelfile import load_model, save_model
from unrated.models.ease import (
    EASE,
    direct_weights,
    scaled_regularization,
    woodbury,
    woodbury_weights,
)


def test_closed_form_matches_a_direct_solve() -> None:
    rng = np.random.default_rng(3)
    dense = (rng.random((12, 5)) < 0.5).astype(np.float64)
    dense[0] = 1  # every item bought at least once
    lam = 2.0
    model = ur.EASE(regularization=lam).fit(sp.csr_matrix(dense))
    # Column j: minimise |x_j - X_{-j} b|² + λ|b|² over the other items, by numpy.linalg.solve.
    expected = np.zeros((5, 5))
    for j in range(5):
        others = [i for i in range(5) if i != j]
        x_others = dense[:, others]
        b = np.linalg.solve(x_others.T @ x_others + lam * np.eye(4), x_others.T @ dense[:, j])
        expected[others, j] = b
    np.testing.assert_allclose(model.weights_, expected, atol=1e-5)


def test_refuses_before_allocating_when_items_squared_do_not_fit() -> None:
    huge = sp.csr_matrix(
        (np.ones(2, dtype=np.float32), ([0, 1], [0, 3_000_000])), shape=(2, 3_000_001)
    )
    with pytest.raises(
        ur.MemoryLimitError, match=r"3,000,001 × 3,000,001 float32 matrix: about \d+"
    ):
        ur.EASE().fit(huge)


def test_bad_regularization() -> None:
    with pytest.raises(
        ur.InvalidParameterError,
        match="The 'regularization' parameter of EASE must be a number > 0. Got -1",
    ):
        ur.EASE(regularization=-1).fit(sp.csr_matrix(np.eye(3)))


def dense_ease(dense: np.ndarray, lam: float) -> np.ndarray:
    """B = −P / diag(P), diag(B) = 0, P = (XᵀX + λI)⁻¹, in float64 numpy."""
    inverse = np.linalg.inv(dense.T @ dense + lam * np.eye(dense.shape[1]))
    weights = -inverse / np.diag(inverse)[np.newaxis, :]
    np.fill_diagonal(weights, 0.0)
    return weights


@pytest.mark.parametrize("shape", [(9, 40), (40, 9), (20, 20)])
def test_both_paths_agree_with_the_dense_formula(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(7)
    dense = (rng.random(shape) < 0.3).astype(np.float64)
    dense[0] = 1
    matrix = sp.csr_matrix(dense, dtype=np.float32)
    expected = dense_ease(dense, 1.5)
    direct = direct_weights(matrix, 1.5)
    through_users = woodbury_weights(matrix, 1.5)
    assert direct.dtype == through_users.dtype == np.float32
    np.testing.assert_allclose(direct, expected, atol=1e-5)
    np.testing.assert_allclose(through_users, expected, atol=1e-5)
    fitted = ur.EASE(regularization=1.5).fit(matrix)
    np.testing.assert_allclose(fitted.weights_, expected, atol=1e-5)


def test_the_path_follows_the_shape() -> None:
    assert woodbury(9, 40) and woodbury(1_892, 15_400) and woodbury(5_551, 16_920)
    assert not woodbury(40, 9) and not woodbury(20, 20)
    assert not woodbury(22_363, 12_092) and not woodbury(29_858, 40_981)  # Amazon, Gowalla


def test_woodbury_recommends_what_the_direct_path_does(ml100k_split: ur.Split) -> None:
    train = ml100k_split.train
    binary = binary_matrix(train.matrix)
    lists = []
    for solve in (direct_weights, woodbury_weights):
        model = ur.EASE().restore(
            users=train.users,
            items=train.items,
            seen=train.matrix,
            arrays={"weights": solve(binary, 250.0)},
        )
        lists.append(model.recommend(train.users.ids, k=10).item_idx)
    assert (lists[0] == lists[1]).all()


def test_memory_estimate_counts_the_users_system_only_through_woodbury() -> None:
    wide, tall = (
        EASE()._memory_costs(1_892, 15_400, 74_272),
        EASE()._memory_costs(15_400, 1_892, 74_272),
    )
    assert any("1,892 × 1,892 float64" in cost.cause for cost in wide)
    assert not any("float64" in cost.cause for cost in tall)


#: Written by unrated 0.1.0, when λ defaulted to 250 (30 users × 12 items, seed 0).
BEFORE_SCALED = Path(__file__).parents[1] / "model_files" / "ease-before-scaled.unrated"


def test_a_file_from_before_the_scaled_default_loads_and_scores_as_it_did() -> None:
    loaded = load_model(BEFORE_SCALED)
    assert loaded.get_params() == {"regularization": 250.0} and loaded.info_ == {}
    top = loaded.recommend([0, 1, 2], k=4).item_ids.tolist()
    assert top == [[10, 5, 6, 8], [5, 11, 10, 2], [3, 5, 6, 10]]  # as unrated 0.1.0 ranked
    refitted = ur.EASE(regularization=250.0).fit(small_matrix())
    np.testing.assert_allclose(refitted.weights_, loaded.weights_, atol=1e-6)


def small_matrix() -> sp.csr_matrix:
    """The data of BEFORE_SCALED."""
    rng = np.random.default_rng(0)
    dense = (rng.random((30, 12)) < 0.3).astype(np.float32)
    dense[:, 0] = 1.0
    return sp.csr_matrix(dense)


def test_the_default_regularization_is_scaled_and_recorded(tmp_path: Path) -> None:
    matrix = small_matrix()
    model = ur.EASE().fit(matrix)
    lam = scaled_regularization(binary_matrix(matrix))
    assert model.regularization is None and model.info_ == {"regularization": lam}
    explicit = ur.EASE(regularization=lam).fit(matrix)
    np.testing.assert_array_equal(model.weights_, explicit.weights_)
    loaded = load_model(save_model(model, tmp_path / "m.unrated"))
    assert loaded.get_params() == {"regularization": None}
    assert loaded.info_ == {"regularization": lam}
    np.testing.assert_array_equal(loaded.score([0, 1]), model.score([0, 1]))


def test_an_explicit_regularization_from_a_spec_is_recorded_as_given() -> None:
    model = ur.make_model("ease:regularization=100").fit(small_matrix())
    assert model.info_ == {"regularization": 100.0}
