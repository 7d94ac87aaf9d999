"""The one epoch loop (``_training.run_epochs``): early stopping, checkpoints, progress."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

import unrated as ur
from unrated.data.synthetic import make_purchases
from unrated.models._checkpoint import Checkpoint
from unrated.models._training import FitOptions, Trained, Validation, run_epochs

#: The validation score after each epoch: best after epoch 3, then no gain.
SCORES = [0.1, 0.2, 0.5, 0.4, 0.5, 0.3, 0.9, 1.0]


class Counter:
    """A trainer whose table ``x`` is updated in place (as numba kernels do) with random steps."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.epochs_run: list[int] = []

    def setup(self) -> None:
        self.x, self.done = self.rng.standard_normal(3), np.zeros(1)

    def epoch(self, number: int) -> float:
        self.epochs_run.append(number)
        self.x += 1.0 + self.rng.random()
        self.done += 1
        return float(number)

    def tables(self) -> dict[str, np.ndarray]:
        return {"x": self.x, "done": self.done}

    def state(self) -> dict[str, np.ndarray]:
        return self.tables()

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.x, self.done = state["x"], state["done"]

    def finish(self, tables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"x": tables["x"] * 2}


def score(tables: Mapping[str, np.ndarray]) -> float:
    return SCORES[int(tables["done"][0]) - 1]


def train(trainer: Counter, checkpoint: Checkpoint | None = None, epochs: int = 8) -> Trained:
    return run_epochs(
        trainer,
        epochs=epochs,
        rng=trainer.rng,
        name="counter",
        options=FitOptions(checkpoint, progress=False),
        validation=Validation(score, patience=2, label="score"),
    )


def test_early_stopping_keeps_the_best_epochs_tables_not_the_live_ones() -> None:
    three = Counter(0)
    run_epochs(three, epochs=3, rng=three.rng, name="counter", options=FitOptions(progress=False))
    trainer = Counter(0)
    trained = train(trainer)
    assert trainer.epochs_run == [0, 1, 2, 3, 4]  # best after 3, then 2 epochs without a gain
    assert (trained.best_epoch, trained.best_score, trained.loss) == (3, 0.5, 4.0)
    assert np.array_equal(trained.arrays["x"], three.x * 2)  # epoch 3's copy, finished


class CrashError(Exception):
    """Stands for a crash in the middle of an epoch."""


@pytest.mark.parametrize("crash_at", [1, 3, 4])
def test_a_resumed_run_ends_as_an_uninterrupted_one(tmp_path: Path, crash_at: int) -> None:
    expected = train(Counter(1))
    checkpoint = Checkpoint(tmp_path, "counter", {}, "data")
    crashing = Counter(1)
    run_epoch = crashing.epoch

    def epoch(number: int) -> float:
        if number == crash_at:
            raise CrashError
        return run_epoch(number)

    crashing.epoch = epoch  # type: ignore[method-assign]
    with pytest.raises(CrashError):
        train(crashing, checkpoint)
    resumed = Counter(1)
    trained = train(resumed, checkpoint)
    assert resumed.epochs_run == list(range(crash_at, 5))  # only the epochs not saved
    assert (trained.best_epoch, trained.best_score, trained.loss) == (3, 0.5, 4.0)
    assert expected.arrays["x"].tobytes() == trained.arrays["x"].tobytes()


@pytest.fixture(scope="module")
def purchases() -> ur.Interactions:
    return ur.read_interactions(make_purchases(users=200, items=80, interactions=3000, seed=5))


@pytest.mark.parametrize(
    ("env", "progress", "shown"),
    [("1", False, False), ("0", True, True), ("1", None, True), ("0", None, False)],
)
def test_fits_progress_argument_overrides_the_environment(
    purchases: ur.Interactions,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: str,
    progress: bool | None,
    shown: bool,
) -> None:
    monkeypatch.setenv("UNRATED_PROGRESS", env)
    ur.IALS(factors=4, epochs=2).fit(purchases, progress=progress)
    stderr = capfd.readouterr().err
    assert ("ials" in stderr and "2/2" in stderr) is shown, stderr
