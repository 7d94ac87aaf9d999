"""Run the real command line in a subprocess; no test may ever see a traceback on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CliRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(tmp_path: Path) -> CliRun:
    def run(
        *args: str | Path,
        expect: int = 0,
        timeout: float = 300,
        env: dict[str, str] | None = None,
        **options: Any,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``unrated ARGS``; ``env`` adds variables, ``options`` go to subprocess.run."""
        variables = os.environ | {"UNRATED_PROGRESS": "0", "COLUMNS": "160"} | (env or {})
        result = subprocess.run(
            [sys.executable, "-m", "unrated", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=variables,
            timeout=timeout,
            check=False,
            **options,
        )
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
        return result

    return run
