"""Training checkpoints: resume an interrupted fit and reach the same result (internal).

An iterative model saves its arrays, the finished epoch and its random generator's state
after every epoch, atomically, into one safetensors file; a later ``fit`` with the same
model, parameters and data resumes from there. Loading never runs code (safetensors +
JSON), like model files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from unrated._atomic import atomic_path
from unrated.errors import DataError


@dataclass(frozen=True, eq=False)
class Saved:
    """What a checkpoint holds: the epochs done, the arrays, the generator's state."""

    epoch: int
    arrays: dict[str, np.ndarray]
    rng_state: dict[str, Any]


class Checkpoint:
    """``folder/<model>.ckpt`` for one (model, parameters, training data) combination."""

    def __init__(self, folder: str | Path, model: str, params: dict[str, Any], data: str) -> None:
        self.folder = Path(folder)
        self.path = self.folder / f"{model}.ckpt"
        self.identity = {"model": model, "params": json.dumps(params, sort_keys=True), "data": data}

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
            saved = Saved(int(meta["epoch"]), arrays, json.loads(meta["rng_state"]))
        except Exception:
            raise DataError(
                f"{self.path}: not a readable checkpoint; delete it to start over"
            ) from None
        return saved if same else None

    def save(self, epoch: int, arrays: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        """Record that ``epoch`` epochs are done, with the state to continue from."""
        self.folder.mkdir(parents=True, exist_ok=True)
        metadata = self.identity | {
            "epoch": str(epoch),
            "rng_state": json.dumps(rng.bit_generator.state),
        }
        payload = save_safetensors(
            {k: np.ascontiguousarray(v) for k, v in arrays.items()}, metadata=metadata
        )
        with atomic_path(self.path) as temporary:
            temporary.write_bytes(payload)

    def restore_rng(self, rng: np.random.Generator, saved: Saved) -> None:
        """Put ``rng`` back where it was when ``saved`` was written."""
        rng.bit_generator.state = saved.rng_state
