"""The one epoch loop of every iterative model: progress, checkpoints, early stopping (internal).

A model describes its training as a :class:`Trainer` and hands it to :func:`run_epochs`,
which runs the epochs, shows their progress, saves a checkpoint after each (and resumes
from one), and, given a :class:`Validation`, keeps the best epoch's tables and stops after
``patience`` epochs without a gain. ``Recommender.fit`` passes down a :class:`FitOptions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Protocol

import numpy as np

from unrated._progress import progress_bar
from unrated.models._checkpoint import Checkpoint, resume, scalar_array
from unrated.models._validation import EarlyStopping

if TYPE_CHECKING:
    from unrated.data.events import Events


@dataclass(frozen=True)
class FitOptions:
    """How one ``fit`` runs: where to checkpoint (None: nowhere) and what progress to show.

    ``progress``: None shows a bar in a terminal and plain lines elsewhere (or what the
    environment variable UNRATED_PROGRESS=auto/1/0 says); True forces bars; False is quiet.
    ``events``: the data's purchase lines in baskets and time order (``Interactions.events``),
    for models that read order or baskets; None when the data has none.
    """

    checkpoint: Checkpoint | None = None
    progress: bool | None = None
    events: Events | None = None


class Trainer(Protocol):
    """One model's training state, run by :func:`run_epochs`.

    Arrays are named float arrays; ``tables`` and ``state`` may return the live arrays
    (the loop copies what it keeps). A trainer that subclasses this protocol inherits
    ``state`` (its tables) and ``finish`` (the kept tables, as they are).
    """

    def setup(self) -> None:
        """Draw the initial state (from the random generator the trainer holds)."""
        ...

    def epoch(self, number: int) -> float:
        """Train epoch ``number`` (0-based); return its loss."""
        ...

    def tables(self) -> dict[str, np.ndarray]:
        """What scoring uses now: what validation scores and early stopping keeps."""
        ...

    def state(self) -> dict[str, np.ndarray]:
        """Everything ``epoch`` changes besides the random generator, for a checkpoint.

        Raises InvalidParameterError when this trainer cannot be checkpointed.
        """
        return self.tables()

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        """Continue from what :meth:`state` returned."""
        ...

    def finish(self, tables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The learned arrays, from the kept ``tables`` (the best epoch's, or the last)."""
        return tables


@dataclass(frozen=True)
class Validation:
    """Early stopping: ``score(tables)`` after every epoch, higher is better."""

    score: Callable[[Mapping[str, np.ndarray]], float]
    patience: int
    label: str  # shown after the loss, e.g. "ndcg@20"


@dataclass(frozen=True)
class Trained:
    """What :func:`run_epochs` ends with."""

    arrays: dict[str, np.ndarray]  # the trainer's finish()
    loss: float  # the last epoch's (nan when no epoch ran)
    best_epoch: int  # the epoch whose tables were kept (1-based)
    best_score: float  # its validation score (nan without validation)


def run_epochs(
    trainer: Trainer,
    *,
    epochs: int,
    rng: np.random.Generator,
    name: str,
    options: FitOptions,
    validation: Validation | None = None,
    loss_format: str = ".4f",
) -> Trained:
    """Set ``trainer`` up and train it for ``epochs`` epochs (fewer when validation stops it).

    ``rng`` is the generator the trainer draws from: a checkpoint saves and restores it with
    the trainer's state, so that a resumed fit ends with the same arrays as an uninterrupted
    one. ``name`` labels the progress bar; ``loss_format`` formats the loss shown on it.
    """
    trainer.setup()
    checkpoint = options.checkpoint
    stopping = None if validation is None else EarlyStopping(validation.patience)
    first, stopped, loss = 0, False, float("nan")
    if checkpoint is not None:
        first, saved = resume(checkpoint, rng, _state(trainer, stopping, epochs, stopped, loss))
        if first:
            prefix = "trainer."
            trainer.restore({k[len(prefix) :]: v for k, v in saved.items() if k.startswith(prefix)})
            if stopping is not None:
                stopping.restore(saved)
            stopped, loss = bool(saved["stopped"][0]), float(saved["loss"][0])
    with progress_bar(epochs, name, show=options.progress) as advance:
        advance(first)
        for epoch in range(first, first if stopped else epochs):
            loss = trainer.epoch(epoch)
            info = f"loss {loss:{loss_format}}"
            if validation is not None and stopping is not None:
                tables = trainer.tables()
                score = validation.score(tables)
                info += f"  valid {validation.label} {score:.4f}"
                stopped = stopping.update(epoch + 1, score, partial(_copies, tables))
            if checkpoint is not None:
                checkpoint.save(epoch + 1, _state(trainer, stopping, epochs, stopped, loss), rng)
            advance(info=info)
            if stopped:
                break
    if stopping is None:
        return Trained(trainer.finish(trainer.tables()), loss, epochs, float("nan"))
    best = trainer.finish(stopping.best_state)
    return Trained(best, loss, stopping.best_epoch, stopping.best_score)


def _state(
    trainer: Trainer, stopping: EarlyStopping | None, epochs: int, stopped: bool, loss: float
) -> dict[str, np.ndarray]:
    """A checkpoint's arrays after an epoch: the trainer's, early stopping's, loss, whether done."""
    state = {f"trainer.{name}": array for name, array in trainer.state().items()}
    if stopping is not None:
        state |= stopping.arrays(epochs, trainer.tables)
    return state | {"stopped": scalar_array(stopped), "loss": scalar_array(loss)}


def _copies(tables: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: np.array(array, copy=True) for name, array in tables.items()}
