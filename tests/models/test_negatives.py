from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import unrated as ur
from unrated.data.negatives import NegativeSampler


def random_positives(seed: int = 0, users: int = 300, items: int = 50) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    popularity = rng.pareto(1.0, items) + 0.05
    dense = rng.random((users, items)) < np.minimum(popularity / popularity.max() * 0.6, 0.95)
    dense[0, :-1] = True  # owns all but the last item
    dense[1, :] = True  # owns everything: no negative exists
    dense[2, :] = False
    dense[2, 3] = True
    return sp.csr_matrix(dense.astype(np.float32))


@pytest.mark.parametrize("kind", ["uniform", "popularity"])
def test_never_returns_a_positive_of_that_user(kind: str) -> None:
    matrix = random_positives()
    sampler = NegativeSampler(matrix, sampler=kind, negatives=8, seed=3)
    negatives = sampler.draw(0)
    assert negatives.shape == (matrix.nnz, 8)
    users = np.repeat(sampler.users, 8)
    drawn = negatives.ravel()
    assert (drawn[users == 1] == -1).all()
    valid = users != 1
    assert (drawn[valid] >= 0).all()
    assert not np.asarray(matrix[users[valid], drawn[valid]]).any()
    assert (drawn[users == 0] == matrix.shape[1] - 1).all()


def test_popularity_sampling_follows_popularity_to_the_alpha() -> None:
    rng = np.random.default_rng(1)
    counts = np.array([400, 200, 100, 50, 25, 12, 6, 3])
    rows = np.concatenate([rng.choice(2000, c, replace=False) for c in counts])
    cols = np.repeat(np.arange(len(counts)), counts)
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(2000, 9))
    sampler = NegativeSampler(matrix, sampler="popularity", alpha=0.75)
    # user 1999 owns nothing (item 8 has no users): draws follow q exactly
    draws = sampler.sample(np.full(200_000, 1999, dtype=np.int32), seed=7)[:, 0]
    frequency = np.bincount(draws, minlength=9) / len(draws)
    expected = np.append(counts**0.75, 0.0)
    expected /= expected.sum()
    np.testing.assert_allclose(frequency, expected, atol=0.004)
    np.testing.assert_allclose(sampler.probabilities, expected)


def test_rejection_renormalises_over_the_users_other_items() -> None:
    matrix = sp.csr_matrix(np.array([[1, 0, 0, 1, 0]], dtype=np.float32))
    draws = NegativeSampler(matrix).sample(np.zeros(60_000, np.int32), seed=1)[:, 0]
    frequency = np.bincount(draws, minlength=5) / len(draws)
    np.testing.assert_allclose(frequency, [0, 1 / 3, 1 / 3, 0, 1 / 3], atol=0.01)


def test_draws_depend_on_seed_and_epoch_only() -> None:
    matrix = random_positives()
    a = NegativeSampler(matrix, negatives=2, seed=5)
    b = NegativeSampler(matrix, negatives=2, seed=5)
    np.testing.assert_array_equal(a.draw(3), b.draw(3))
    assert not np.array_equal(a.draw(3), a.draw(4))
    once = NegativeSampler(matrix, negatives=2, seed=5, resample="once")
    np.testing.assert_array_equal(once.draw(0), once.draw(7))


def test_bad_parameters_name_the_parameter() -> None:
    matrix = random_positives()
    with pytest.raises(ur.InvalidParameterError, match="'sampler' parameter"):
        NegativeSampler(matrix, sampler="zipf")
    with pytest.raises(ur.InvalidParameterError, match="'negatives' parameter.*Got 0"):
        NegativeSampler(matrix, negatives=0)
