from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import unrated as ur


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
