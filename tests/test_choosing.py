"""choose_model: the best candidate on validation, within the budget, refitted on everything."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp

import unrated as ur
from unrated.choosing import CANDIDATES, Choice, choose_model


def thin() -> ur.Interactions:
    """Users with four items each: too few to hold any out (split_holdout wants five)."""
    rows = np.repeat(np.arange(30), 4)
    cols = (rows + np.tile(np.arange(4), 30)) % 12
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(30, 12))
    return ur.read_interactions(matrix)


@pytest.fixture(scope="module")
def chosen(ml100k_split: ur.Split) -> Choice:
    return choose_model(ml100k_split.train, progress=False)


@pytest.fixture(scope="module")
def holdout(ml100k_split: ur.Split) -> dict[str, float]:
    """Each candidate's NDCG@20 on the ML-100k holdout, fitted on all of its train."""
    return {
        name: ur.evaluate(
            ur.make_model(name).fit(ml100k_split.train), ml100k_split, k=20
        ).summary()["ndcg@20"]
        for name in CANDIDATES
    }


def test_the_pick_is_within_a_small_margin_of_the_best_candidate_on_the_holdout(
    chosen: Choice, holdout: dict[str, float], ml100k_split: ur.Split
) -> None:
    assert [c.name for c in chosen.candidates if c.score is None] == []
    scores = {c.name: c.score for c in chosen.candidates}
    assert chosen.name == max(scores, key=lambda name: scores[name] or 0.0)
    picked = ur.evaluate(chosen.model, ml100k_split, k=20).summary()["ndcg@20"]
    assert picked == pytest.approx(holdout[chosen.name], abs=1e-6)
    assert picked >= 0.98 * max(holdout.values()), (chosen.name, holdout)


def test_the_choice_is_refitted_on_everything_and_recorded_in_its_info(
    chosen: Choice, ml100k_split: ur.Split
) -> None:
    assert chosen.model.seen_.nnz == ml100k_split.train.nnz
    info = chosen.model.info_["auto"]
    assert info["chosen"] == chosen.name and info["metric"] == "ndcg@20"
    assert set(info["scores"]) == set(CANDIDATES) and info["skipped"] == {}
    assert "holdout(fraction=0.2" in info["validation"] and "943 users scored" in info["validation"]
    line = chosen.summary()
    assert line.startswith(f"auto: {chosen.name} (validation NDCG@20 0.")
    assert all(name in line for name in CANDIDATES) and chosen.notes() == []


def test_a_tiny_budget_returns_the_fallback_at_once_and_says_what_it_skipped(
    ml100k_split: ur.Split,
) -> None:
    started = time.perf_counter()
    choice = choose_model(ml100k_split.train, budget_seconds=0.05, progress=False)
    assert time.perf_counter() - started < 5
    assert choice.name == "popular" and choice.model.is_fitted
    assert {c.name for c in choice.candidates if c.score is None} == set(CANDIDATES)
    assert all(" s of the 0.05 s budget left" in c.skipped for c in choice.candidates)
    line = choice.summary()
    assert line.startswith("auto: popular (no candidate scored; ") and line.endswith(" skipped)")
    assert all(name in line for name in CANDIDATES) and len(choice.notes()) == 4


def test_a_short_budget_scores_the_cheapest_and_skips_only_for_time(
    ml100k_split: ur.Split,
) -> None:
    # which others fit in 8 s depends on the machine; the cheapest always does, and every
    # skip says the budget (estimates may run long, hence the slack on the total)
    choice = choose_model(ml100k_split.train, budget_seconds=8, progress=False)
    assert choice.candidates[0].score is not None and choice.name != "popular"
    assert all(
        c.score is not None or "of the 8 s budget left" in c.skipped for c in choice.candidates
    )
    assert choice.seconds < 8 * 3


def test_a_candidate_that_would_not_fit_in_memory_is_skipped_with_the_models_reason(
    ml100k_split: ur.Split, monkeypatch: pytest.MonkeyPatch
) -> None:
    # EASE on ML-100k needs about 14 MiB, the graph filter about 65 MiB
    monkeypatch.setenv("UNRATED_MEMORY_LIMIT", "40M")
    choice = choose_model(ml100k_split.train, candidates=("graph-filter", "ease"), progress=False)
    skipped = {c.name: c.skipped for c in choice.candidates}
    assert skipped["ease"] == "" and choice.name == "ease"
    assert skipped["graph-filter"].startswith("GraphFilter needs ")
    assert "but only 40.0 MiB is available" in skipped["graph-filter"]


def test_data_too_thin_for_a_validation_split_gets_the_fallback() -> None:
    choice = choose_model(thin(), progress=False)
    assert choice.name == "popular" and choice.validation == "none"
    assert all(c.skipped.startswith("no validation split: ") for c in choice.candidates)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"budget_seconds": 0}, "'budget_seconds' parameter of choose_model must be a number > 0"),
        ({"budget_seconds": float("nan")}, "'budget_seconds'"),
        ({"k": 0}, "k"),
        ({"candidates": ("popular",)}, "candidates must be some of item-knn, ials, graph-filter"),
        ({"candidates": ()}, "candidates must be some of"),
    ],
)
def test_bad_arguments_are_refused_before_any_fit(options: dict[str, object], message: str) -> None:
    with pytest.raises(ur.InvalidParameterError, match=message):
        choose_model(thin(), **options)  # type: ignore[arg-type]


def test_data_without_interactions_is_refused() -> None:
    empty = ur.read_interactions(sp.csr_matrix((3, 3), dtype=np.float32))
    with pytest.raises(ur.DataError, match="without interactions"):
        choose_model(empty)
