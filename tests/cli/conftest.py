"""Run the real command line; no test may ever see a traceback on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import BASE_ENV, run_cli

CliRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(tmp_path: Path) -> CliRun:
    def run(
        *args: str | Path,
        expect: int = 0,
        timeout: float = 300,
        env: dict[str, str] | None = None,
        process: bool = False,
        **options: Any,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``unrated ARGS`` in ``tmp_path``; ``env`` adds variables.

        In this process (see ``tests.cli_runner``) unless ``process`` is True or ``options``
        for ``subprocess.run`` are given (a resource limit, stdin): then in a real
        ``python -m unrated``.
        """
        if process or options:
            result = subprocess.run(
                [sys.executable, "-m", "unrated", *map(str, args)],
                capture_output=True,
                text=True,
                cwd=tmp_path,
                env=os.environ | BASE_ENV | (env or {}),
                timeout=timeout,
                check=False,
                **options,
            )
        else:
            result = run_cli(*args, cwd=tmp_path, env=env)
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
        return result

    return run
