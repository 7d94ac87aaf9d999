"""Shared fixtures: the real data sets from ../shared/data (override with UNRATED_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import unrated as ur
from tests import counts

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNRATED_DATA", ROOT.parent / "shared" / "data")).resolve()

os.environ["UNRATED_PROGRESS"] = "0"  # quiet in-process fits; CLI tests set their own
counts.watch_hypothesis()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    counts.write_counts()


@pytest.hookimpl(tryfirst=True)  # before -m deselects by the marks added here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Real-data tests are ``slow``; ``gpu`` tests are skipped, with why, without CUDA."""
    for item in items:
        if "ml100k_path" in getattr(item, "fixturenames", ()):  # directly or by a fixture
            item.add_marker(pytest.mark.slow)
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if gpu and (reason := cuda_missing()):
        for item in gpu:
            item.add_marker(pytest.mark.skip(reason=reason))


def cuda_missing() -> str | None:
    """Why CUDA cannot be used here, or None; imports torch only when asked."""
    try:
        import torch
    except ImportError:
        return "needs CUDA: PyTorch is not installed (pip install 'unrated[torch]')"
    if not torch.cuda.is_available():
        return "needs CUDA: PyTorch sees no CUDA device"
    return None


def data_file(*parts: str) -> Path:
    """A file under the shared data folder; a clear failure if it is missing."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"test data {path} is missing: put the shared data sets in {DATA} "
            "or point UNRATED_DATA at them"
        )
    return path


@pytest.fixture(scope="session")
def ml100k_path() -> Path:
    return data_file("ml-100k", "ratings.csv")


@pytest.fixture(scope="session")
def ml100k(ml100k_path: Path) -> ur.Interactions:
    return ur.read_interactions(ml100k_path)


@pytest.fixture(scope="session")
def ml100k_split(ml100k: ur.Interactions) -> ur.Split:
    """The reference protocol: 20% per-user holdout, seed 0."""
    return ur.split_holdout(ml100k, fraction=0.2, seed=0)


@pytest.fixture
def checkerboard() -> ur.Interactions:
    """Two taste groups with one item missing per user: the missing item is the right answer.

    Users 0-3 like items 0-3, users 4-7 like items 4-7; user u lacks item u.
    """
    rows, cols = [], []
    for user in range(8):
        group = range(0, 4) if user < 4 else range(4, 8)
        for item in group:
            if item != user:
                rows.append(user)
                cols.append(item)
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(8, 8))
    return ur.read_interactions(matrix)


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Headless Debian Chromium driven by Playwright (installed by .ci/run)."""
    import shutil

    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("chromium is not installed: apt-get install chromium (see .ci/run)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()
