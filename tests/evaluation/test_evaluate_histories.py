"""evaluate_histories: new visitors' histories folded in, scored against their targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated as ur
from unrated.data.histories import read_histories
from unrated.data.interactions import interactions_to_frame
from unrated.data.synthetic import make_purchases
from unrated.evaluation import protocol
from unrated.evaluation.histories import evaluate_histories
from unrated.evaluation.stats import bootstrap_indices, bootstrap_interval

# popular: x 3 users, y 2, w 1, z 1 (ties: w before z)
TRAIN = pl.DataFrame(
    {"user_id": list("abcabcd"), "item_id": list("xxxyyzw")},
)


@pytest.fixture
def popular() -> ur.Recommender:
    return ur.make_model("popular").fit(TRAIN)


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path / name


def test_hand_made_lists_and_what_is_dropped(popular: ur.Recommender, tmp_path: Path) -> None:
    histories = write(tmp_path, "h.csv", "user_id,item_id\nh1,x\nh2,y\nh2,ghost\nh3,ghost\n")
    targets = write(tmp_path, "t.csv", "user_id,item_id\nh1,z\nh2,x\nh2,q\nh3,y\nh9,x\n")
    with pytest.warns(ur.DataWarning) as caught:
        report = evaluate_histories(popular, histories, targets, k=(1, 3))
    # h1's list: y w z (x is its own); h2's: x w z. q is unknown, h3 has no known item, h9
    # has no history: 3 target pairs dropped.
    assert [str(w.message) for w in caught] == [
        f"{histories}: 2 of 4 lines skipped: their items are unknown to the model (1: 'ghost')",
        f"{targets}: 1 of 5 lines skipped: their items are unknown to the model (1: 'q')",
    ]
    assert report.user_ids.tolist() == ["h1", "h2"]
    assert report.dropped_test_pairs == 3
    assert report.per_user["recall@1"].tolist() == [0.0, 1.0]
    assert report.per_user["recall@3"].tolist() == [1.0, 1.0]
    np.testing.assert_allclose(report.per_user["ndcg@3"], [0.5, 1.0])
    assert report.history_lengths.tolist() == [1, 1]
    assert report.split == f"{histories} → {targets}"
    assert "each history folded in, in order, its items excluded" in report.note
    with pytest.warns(ur.DataWarning):
        again = evaluate_histories(popular, histories, targets, k=3, include_seen=True)
    assert again.per_user["recall@3"].tolist() == [0.0, 1.0]  # h1's list is now x y w
    assert again.per_user["repeat_share@3"].tolist() == [1 / 3, 1 / 3]


def test_folding_in_the_training_rows_is_evaluating_the_known_users(tmp_path: Path) -> None:
    """item-knn folds a history in exactly: both protocols give the same per-user metrics."""
    purchases = make_purchases(users=60, items=40, interactions=900, seed=3)
    data = ur.read_interactions(purchases, time_col="", basket_col="")
    split = ur.split_holdout(data, fraction=0.3, seed=1)
    model = ur.make_model("item-knn").fit(split.train)
    interactions_to_frame(split.train).write_csv(tmp_path / "train.csv")
    interactions_to_frame(split.test).write_csv(tmp_path / "test.csv")
    known = ur.evaluate(model, split, k=(5, 10))
    visitors = evaluate_histories(model, tmp_path / "train.csv", tmp_path / "test.csv", k=(5, 10))
    assert visitors.user_ids.astype(str).tolist() == known.user_ids.astype(str).tolist()
    for name, values in known.per_user.items():
        np.testing.assert_allclose(visitors.per_user[name], values, rtol=1e-6, err_msg=name)
    assert visitors.aggregate == pytest.approx(known.aggregate)


def test_nothing_to_rank_is_an_error(popular: ur.Recommender, tmp_path: Path) -> None:
    histories = read_histories(write(tmp_path, "h.csv", "user_id,item_id\nh1,x\n"))
    targets = read_histories(write(tmp_path, "t.csv", "user_id,item_id\nother,x\n"))
    with pytest.raises(ur.DataError) as error:
        evaluate_histories(popular, histories, targets)
    assert str(error.value) == f"{tmp_path / 't.csv'}: no target can be ranked: nothing to evaluate"
    with pytest.raises(ur.InvalidParameterError, match="k must be one or more ints ≥ 1"):
        evaluate_histories(popular, histories, targets, k=0)


def test_intervals_are_compares_and_bounded_in_memory(
    popular: ur.Recommender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    draws = rng.integers(0, 4, (2, 300))
    histories, targets = ("user_id,item_id\n" + "".join(f"u{n},{'xyzw'[i]}\n" for n, i in
                          enumerate(row)) for row in draws)  # fmt: skip
    report = evaluate_histories(
        popular, write(tmp_path, "h.csv", histories), write(tmp_path, "t.csv", targets), k=2
    )
    assert 0.2 < report.summary()["recall@2"] < 0.8
    resamples = bootstrap_indices(report.n_users, rounds=500, seed=4)
    whole = report.intervals(rounds=500, seed=4)
    assert whole == {n: bootstrap_interval(v, resamples) for n, v in report.per_user.items()}
    monkeypatch.setattr(protocol, "RESAMPLE_CELLS", 3 * report.n_users)  # blocks of 3 rounds
    blocked = report.intervals(rounds=500, seed=4)
    assert blocked.keys() == whole.keys()
    for name, interval in blocked.items():
        assert interval.mean == whole[name].mean
        assert interval.low == pytest.approx(whole[name].low, abs=0.05)
        assert interval.high == pytest.approx(whole[name].high, abs=0.05)
