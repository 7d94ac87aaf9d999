"""Property-based tests (hypothesis): reader (plain and compressed), splitter, metrics, top-k."""

from __future__ import annotations

import gzip
import lzma
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import unrated as ur
from unrated.evaluation import metrics
from unrated.models._topk import top_k

ids = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")
    | st.sampled_from([",", '"', ";", "\n", " ", "é", "🍣"]),
    min_size=1,
    max_size=8,
).filter(lambda s: s.strip() != "")
rows = st.lists(st.tuples(ids, ids, st.integers(1, 5)), min_size=1, max_size=40)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows)
def test_reader_round_trips_any_ids(rows: list[tuple[str, str, int]], tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    pl.DataFrame(rows, schema=["user_id", "item_id", "count"], orient="row").write_csv(path)
    data = ur.read_interactions(path)
    expected: dict[tuple[str, str], float] = defaultdict(float)
    for user, item, count in rows:
        expected[(user, item)] += count
    coo = data.matrix.tocoo()
    got = {
        (data.users.ids[u], data.items.ids[i]): float(w)
        for u, i, w in zip(coo.row, coo.col, coo.data, strict=True)
    }
    assert got == dict(expected)
    for name, compress in (("data.csv.gz", gzip.compress), ("data.csv.xz", lzma.compress)):
        (tmp_path / name).write_bytes(compress(path.read_bytes()))
        again = ur.read_interactions(tmp_path / name)
        assert again.fingerprint() == data.fingerprint()


matrices = st.builds(
    lambda seed, users, items, density: sp.random(
        users, items, density=density, format="csr", random_state=seed, dtype=np.float32
    ),
    st.integers(0, 10_000),
    st.integers(2, 40),
    st.integers(2, 40),
    st.floats(0.1, 0.9),
)


@settings(max_examples=60, deadline=None)
@given(matrix=matrices, seed=st.integers(0, 100))
def test_holdout_partitions_the_input(matrix: sp.csr_matrix, seed: int) -> None:
    data = ur.read_interactions(matrix)
    try:
        split = ur.split_holdout(data, fraction=0.3, min_interactions=2, seed=seed)
    except ur.DataError:
        return  # nothing to hold out in this draw: the error says so

    def pairs(part: ur.Interactions) -> set[tuple[int, int]]:
        coo = part.matrix.tocoo()
        return {
            (int(part.users.ids[u]), int(part.items.ids[i]))
            for u, i in zip(coo.row, coo.col, strict=True)
        }

    train, test = pairs(split.train), pairs(split.test)
    everything = pairs(data)
    assert not train & test
    assert train | test <= everything
    assert len(everything - train - test) == split.dropped_test_pairs
    assert pairs(ur.split_holdout(data, fraction=0.3, min_interactions=2, seed=seed).test) == test


hit_rows = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        st.lists(st.lists(st.booleans(), min_size=10, max_size=10), min_size=n, max_size=n),
        st.lists(st.integers(1, 15), min_size=n, max_size=n),
    )
)


@settings(max_examples=100, deadline=None)
@given(data=hit_rows, k=st.integers(1, 10), seed=st.integers(0, 1000))
def test_metrics_are_bounded_and_permutation_invariant(data, k: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    hits = np.array(data[0], dtype=bool)
    n_relevant = np.array(data[1])
    hits &= np.cumsum(hits, axis=1) <= n_relevant[:, None]  # at most |T_u| hits
    order = np.random.default_rng(seed).permutation(len(hits))
    for metric in metrics.PER_USER_METRICS.values():
        values = metric(hits, n_relevant, k)
        assert ((values >= 0) & (values <= 1 + 1e-12)).all()
        np.testing.assert_allclose(metric(hits[order], n_relevant[order], k), values[order])


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    users=st.integers(1, 20),
    items=st.integers(1, 60),
    k=st.integers(1, 70),
    density=st.floats(0.0, 1.0),
)
def test_top_k_never_returns_excluded_or_duplicate_items(
    seed: int, users: int, items: int, k: int, density: float
) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 5, size=(users, items)).astype(np.float32)  # many ties
    excluded = sp.csr_matrix(rng.random((users, items)) < density)
    idx, values = top_k(scores, k, excluded=excluded)
    assert idx.shape == (users, min(k, items))
    for row in range(users):
        real = idx[row][idx[row] >= 0]
        assert len(set(real.tolist())) == len(real)
        assert not excluded[row, real].toarray().any() if len(real) else True
        assert len(real) == min(k, items - excluded[row].nnz)
        assert (np.diff(values[row][: len(real)]) <= 0).all()
