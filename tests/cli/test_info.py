"""``unrated info``: what a model file holds, including how an engine trained it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from tests.cli.conftest import CliRun
from unrated.modelfile import save_model
from unrated.models.popular import Popular


def test_info_shows_sizes_params_and_the_engine_info(cli: CliRun, tmp_path: Path) -> None:
    trained = Popular().fit(sp.csr_matrix(np.eye(3, 4, dtype=np.float32)))
    model = Popular().restore(
        users=trained.users_,
        items=trained.items_,
        seen=trained.seen_,
        arrays=trained._arrays(),
        info={"engine": "torchrun", "ranks": 2},
    )
    path = save_model(model, tmp_path / "m.unrated")
    lines = dict(line.split(": ", 1) for line in cli("info", path).stdout.splitlines())
    assert (lines["model"], lines["users"], lines["items"]) == ("popular", "3", "4")
    assert (lines["training pairs"], lines["item names"]) == ("3", "False")
    assert json.loads(lines["info"]) == {"engine": "torchrun", "ranks": 2}
