"""Training checkpoints: resume an interrupted fit and reach the same result (internal).

An iterative model saves its arrays, the finished epoch and its random generator's state
after every epoch, atomically, into one safetensors file; a later ``fit`` with the same
model, parameters, data and unrated version resumes from there. Loading never runs code
(safetensors + JSON), like model files, and a BLAKE2b digest of the arrays catches a
damaged file. A fit that ends removes its checkpoint: the model is the result, and no stale
state is left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from unrated._atomic import atomic_path
from unrated._version import __version__
from unrated.errors import DataError

#: /2: the arrays are named by the epoch loop (``models/_training.py``); /1 files are ignored.
FORMAT = "unrated-checkpoint/2"


@dataclass(frozen=True, eq=False)
class Saved:
    """What a checkpoint holds: the epochs done, the arrays, the generator's state."""

    epoch: int
    arrays: dict[str, np.ndarray]
    rng_state: dict[str, Any]
    path: Path

    def take(self, name: str, like: np.ndarray) -> np.ndarray:
        """A writable copy of array ``name``, which must have ``like``'s dtype and shape."""
        array = self.arrays.get(name)
        if array is None or array.dtype != like.dtype or array.shape != like.shape:
            found = "missing" if array is None else f"{array.dtype} of shape {array.shape}"
            raise DataError(
                f"{self.path}: the array {name!r} should be {like.dtype} of shape "
                f"{like.shape}, found {found}; delete the checkpoint to start over"
            )
        return np.array(array, copy=True)


def scalar_array(value: float) -> np.ndarray:
    """One number as an array, to save it exactly (float64 holds every int < 2**53)."""
    return np.array([value], dtype=np.float64)


class Checkpoint:
    """``folder/<model>.ckpt`` for one (model, parameters, training data) combination."""

    def __init__(self, folder: str | Path, model: str, params: dict[str, Any], data: str) -> None:
        self.folder = Path(folder)
        self.path = self.folder / f"{model}.ckpt"
        self.identity = {
            "format": FORMAT,
            "unrated_version": __version__,
            "model": model,
            "params": json.dumps(params, sort_keys=True),
            "data": data,
        }

    def load(self) -> Saved | None:
        """The saved state, or None when there is none for this model, parameters and data."""
        if not self.path.exists():
            return None
        try:
            raw = self.path.read_bytes()
            arrays = load_safetensors(raw)
            header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
            meta = header["__metadata__"]
            same = all(meta.get(k) == v for k, v in self.identity.items())
            saved = Saved(int(meta["epoch"]), arrays, json.loads(meta["rng_state"]), self.path)
            intact = meta["digest"] == _digest(arrays)
        except Exception:
            raise DataError(
                f"{self.path}: not a readable checkpoint; delete it to start over"
            ) from None
        if same and not intact:
            raise DataError(f"{self.path}: the checkpoint is damaged; delete it to start over")
        return saved if same else None

    def save(self, epoch: int, arrays: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        """Record that ``epoch`` epochs are done, with the state to continue from."""
        self.folder.mkdir(parents=True, exist_ok=True)
        contiguous = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
        metadata = self.identity | {
            "epoch": str(epoch),
            "rng_state": json.dumps(rng.bit_generator.state),
            "digest": _digest(contiguous),
        }
        payload = save_safetensors(contiguous, metadata=metadata)
        with atomic_path(self.path) as temporary:
            temporary.write_bytes(payload)

    def restore_rng(self, rng: np.random.Generator, saved: Saved) -> None:
        """Put ``rng`` back where it was when ``saved`` was written."""
        rng.bit_generator.state = saved.rng_state

    def remove(self) -> None:
        """Delete the checkpoint file (the fit it belonged to has ended)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def resume(
    checkpoint: Checkpoint | None, rng: np.random.Generator, initial: dict[str, np.ndarray]
) -> tuple[int, dict[str, np.ndarray]]:
    """(epochs done, state) to train on from: the checkpoint's, or (0, ``initial``).

    When a matching checkpoint exists its arrays (checked against ``initial``'s dtypes and
    shapes) replace the initial ones and ``rng`` is put back where it was.
    """
    saved = None if checkpoint is None else checkpoint.load()
    if checkpoint is None or saved is None:
        return 0, initial
    state = {name: saved.take(name, like) for name, like in initial.items()}
    checkpoint.restore_rng(rng, saved)
    return saved.epoch, state


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """BLAKE2b over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.data)
    return digest.hexdigest()
