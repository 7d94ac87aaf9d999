"""The command line starts fast: heavy modules are imported by the commands that use them."""

from __future__ import annotations

import json
import subprocess
import sys

import unrated
from tests.cli.conftest import CliRun
from unrated import choosing
from unrated.cli.fit import AUTO_BUDGET, AUTO_CANDIDATES, DEFAULT_MODEL, MODEL_NAMES
from unrated.models import registry

HEAVY = ("numba", "torch", "fastapi", "uvicorn", "matplotlib", "optuna", "scipy", "polars", "numpy")


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_command_line_with_every_command_imports_nothing_heavy() -> None:
    # What `unrated --help` loads: the app with all its commands registered.
    loaded = modules_after("from unrated.cli import _register; _register()")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_import_unrated_is_light_and_the_api_still_there() -> None:
    assert not modules_after("import unrated") & {"numba", "polars", "scipy", "numpy"}
    for name in unrated.__all__:
        assert getattr(unrated, name) is not None, name
    assert unrated.IALS.key == "ials" and "IALS" in dir(unrated)


def test_version(cli: CliRun) -> None:
    assert cli("--version").stdout == f"unrated {unrated.__version__}\n"


def test_help_names_the_registered_models() -> None:
    assert tuple(registry.MODELS) == MODEL_NAMES
    assert (DEFAULT_MODEL, AUTO_CANDIDATES) == (choosing.AUTO, choosing.CANDIDATES)
    assert AUTO_BUDGET == choosing.DEFAULT_BUDGET
