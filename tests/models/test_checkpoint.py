"""Checkpoints: a fit interrupted after any epoch resumes to bit-identical arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import unrated as ur
from tests.counts import count
from unrated.data.synthetic import make_purchases
from unrated.models import _checkpoint
from unrated.models._checkpoint import Checkpoint
from unrated.models.base import Recommender
from unrated.models.registry import MODELS


def small(model: type[Recommender]) -> dict[str, Any]:
    """Few epochs of few factors, no validation, on the CPU (where a model has these)."""
    wanted = {"factors": 8, "epochs": 6, "validation": 0.0, "device": "cpu"}
    return {name: value for name, value in wanted.items() if name in model.param_names()}


# Small and quick, but every code path: every registered model that trains in epochs (a new
# one is covered without a line here), early stopping that triggers, fixed negatives
# ("once"), mf's Adam state, iALS's two solvers.
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    key: (key, small(model)) for key, model in MODELS.items() if "epochs" in model.param_names()
} | {
    "ials-cholesky": ("ials", {"factors": 8, "epochs": 4, "solver": "cholesky"}),
    "bpr-early-stop": (
        "bpr",
        {"factors": 8, "epochs": 30, "patience": 2, "validation": 0.2, "learning_rate": 0.2},
    ),
    "mf-early-stop": (
        "mf",
        {"factors": 8, "epochs": 30, "patience": 2, "validation": 0.2, "learning_rate": 0.1}
        | {"device": "cpu"},
    ),
    "mf-once": (
        "mf",
        {"factors": 8, "epochs": 5, "validation": 0.0, "resample": "once", "device": "cpu"},
    ),
    "mf-softmax": (
        "mf",
        {"factors": 8, "epochs": 4, "loss": "softmax", "sampler": "popularity", "device": "cpu"},
    ),
}


class SimulatedCrashError(Exception):
    """Stands for a crash right after a checkpoint was written."""


@pytest.fixture(scope="module")
def purchases() -> ur.Interactions:
    return ur.read_interactions(make_purchases(users=300, items=120, interactions=6000, seed=3))


def make(case: str) -> Recommender:
    key, params = CASES[case]
    return MODELS[key](**params)


def arrays_of(model: Recommender) -> dict[str, np.ndarray]:
    return model._arrays()


def assert_identical(a: Recommender, b: Recommender) -> None:
    left, right = arrays_of(a), arrays_of(b)
    assert left.keys() == right.keys()
    for name in left:
        assert left[name].dtype == right[name].dtype, name
        assert left[name].tobytes() == right[name].tobytes(), f"{name} differs"
    for name in ("loss_", "best_epoch_", "validation_ndcg_"):
        if hasattr(a, name):
            assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name


class Saves:
    """The epochs checkpointed so far; raises SimulatedCrashError after saving ``crash_after``."""

    def __init__(self) -> None:
        self.epochs: list[int] = []
        self.crash_after: int | None = None


@pytest.fixture
def saves(monkeypatch: pytest.MonkeyPatch) -> Saves:
    recorder = Saves()
    original = Checkpoint.save

    def save(self: Checkpoint, epoch: int, arrays: Any, rng: Any) -> None:
        original(self, epoch, arrays, rng)
        recorder.epochs.append(epoch)
        if epoch == recorder.crash_after:
            count("faults: fit interrupted after an epoch (in-process)")
            raise SimulatedCrashError

    monkeypatch.setattr(Checkpoint, "save", save)
    return recorder


@pytest.fixture(scope="module")
def uninterrupted(purchases: ur.Interactions) -> dict[str, Recommender]:
    return {case: make(case).fit(purchases) for case in CASES}


#: Cases that train with torch take seconds an epoch here: run with the slow tests.
TORCH = {"sasrec"}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=pytest.mark.slow) if CASES[case][0] in TORCH else case
        for case in CASES
    ],
)
def test_resume_after_every_epoch_gives_identical_arrays(
    case: str,
    purchases: ur.Interactions,
    uninterrupted: dict[str, Recommender],
    saves: Saves,
    tmp_path: Path,
) -> None:
    reference = uninterrupted[case]
    folder = tmp_path / "ckpt"
    model = make(case)
    epochs = model.epochs
    if getattr(model, "validation", 0) > 0:  # early stopping: patience epochs after the best
        epochs = min(epochs, reference.best_epoch_ + model.patience)  # type: ignore[attr-defined]
        assert epochs < model.epochs or "early-stop" not in case
    full = model.fit(purchases, checkpoint=folder)
    assert_identical(full, reference)
    ran = list(saves.epochs)
    assert ran == list(range(1, epochs + 1))
    assert not (folder / f"{full.key}.ckpt").exists()  # a finished fit removes it

    for stop in ran:
        saves.epochs.clear()
        saves.crash_after = stop
        with pytest.raises(SimulatedCrashError):
            make(case).fit(purchases, checkpoint=folder)
        assert (folder / f"{full.key}.ckpt").exists()
        saves.epochs.clear()
        saves.crash_after = None
        resumed = make(case).fit(purchases, checkpoint=folder)
        assert saves.epochs == ran[stop:]  # only the remaining epochs ran
        assert_identical(resumed, reference)
        assert not (folder / f"{full.key}.ckpt").exists()


def test_other_parameters_or_data_ignore_the_checkpoint(
    purchases: ur.Interactions,
    uninterrupted: dict[str, Recommender],
    saves: Saves,
    tmp_path: Path,
) -> None:
    saves.crash_after = 2
    with pytest.raises(SimulatedCrashError):
        make("ials").fit(purchases, checkpoint=tmp_path)
    saves.crash_after = None
    other = ur.IALS(factors=8, epochs=6, seed=1)
    saves.epochs.clear()
    other.fit(purchases, checkpoint=tmp_path)
    assert saves.epochs == [1, 2, 3, 4, 5, 6]  # started over
    assert_identical(other, ur.IALS(factors=8, epochs=6, seed=1).fit(purchases))

    saves.crash_after = 2
    with pytest.raises(SimulatedCrashError):
        make("ials").fit(purchases, checkpoint=tmp_path)
    saves.crash_after = None
    fewer = ur.read_interactions(make_purchases(users=300, items=120, interactions=5000, seed=3))
    saves.epochs.clear()
    make("ials").fit(fewer, checkpoint=tmp_path)
    assert saves.epochs == [1, 2, 3, 4, 5, 6]


def test_damaged_checkpoint_is_refused(
    purchases: ur.Interactions, saves: Saves, tmp_path: Path
) -> None:
    saves.crash_after = 2
    with pytest.raises(SimulatedCrashError):
        make("bpr").fit(purchases, checkpoint=tmp_path)
    saves.crash_after = None
    path = tmp_path / "bpr.ckpt"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # inside the last array
    path.write_bytes(bytes(data))
    with pytest.raises(ur.DataError, match="damaged"):
        make("bpr").fit(purchases, checkpoint=tmp_path)
    path.write_bytes(b"junk")
    with pytest.raises(ur.DataError, match="not a readable checkpoint"):
        make("bpr").fit(purchases, checkpoint=tmp_path)


def test_models_without_epochs_ignore_the_folder(
    purchases: ur.Interactions, tmp_path: Path
) -> None:
    ur.EASE().fit(purchases, checkpoint=tmp_path / "unused")
    assert not (tmp_path / "unused").exists()


def test_checkpoint_shape_mismatch_is_refused(tmp_path: Path) -> None:
    checkpoint = Checkpoint(tmp_path, "ials", {"factors": 2}, "data")
    rng = np.random.default_rng(0)
    checkpoint.save(1, {"users": np.zeros((3, 2), np.float32)}, rng)
    with pytest.raises(ur.DataError, match="'users' should be float32 of shape"):
        _checkpoint.resume(checkpoint, rng, {"users": np.zeros((4, 2), np.float32)})


def test_the_torch_engine_refuses_checkpoints(purchases: ur.Interactions, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    model = ur.EmbeddingMF(factors=4, epochs=1, tower=2, device="cpu")
    with pytest.raises(ur.InvalidParameterError, match="numba engine"):
        model.fit(purchases, checkpoint=tmp_path)
