"""ThreadChoice: small parallel regions get whichever thread count runs faster."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numba
import pytest

from unrated._parallel import ThreadChoice

ALL = numba.config.NUMBA_NUM_THREADS
pytestmark = pytest.mark.skipif(ALL < 2, reason="needs two numba threads")


@pytest.fixture(autouse=True)
def every_thread() -> Iterator[None]:
    """Start from all threads (the setting is per thread, and other tests may change it)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(ALL)
    yield
    numba.set_num_threads(previous)


def run_epochs(choice: ThreadChoice, seconds_on: dict[int, float], epochs: int) -> list[int]:
    """Run ``epochs`` blocks that take ``seconds_on[thread count]``; the counts used."""
    used = []
    for _ in range(epochs):
        with choice.run():
            count = numba.get_num_threads()
            time.sleep(seconds_on[count])
        used.append(count)
    assert numba.get_num_threads() == ALL  # restored after each run
    return used


@pytest.mark.parametrize("winner", [1, ALL])
def test_small_regions_keep_the_faster_count_and_rarely_probe_the_other(winner: int) -> None:
    loser = ALL if winner == 1 else 1
    choice = ThreadChoice(work_per_region=10, minimum=1000, probe_share=0.25)
    used = run_epochs(choice, {winner: 0.002, loser: 0.02}, 60)
    # run 0 (may compile) untimed on one thread; runs 1 and 2 time one thread, then all
    assert used[:3] == [1, 1, ALL]
    probes = used[3:].count(loser)
    # a probe once the winner has run 4 × 20 ms: every ~40 runs of 2 ms (sleep jitter aside)
    assert 1 <= probes <= 3, used


def test_large_regions_always_use_every_thread() -> None:
    choice = ThreadChoice(work_per_region=5000, minimum=1000)
    assert run_epochs(choice, {1: 0.0, ALL: 0.005}, 5) == [ALL] * 5


def test_a_change_of_load_is_followed() -> None:
    choice = ThreadChoice(work_per_region=10, minimum=1000, probe_share=0.25)
    assert run_epochs(choice, {1: 0.02, ALL: 0.001}, 6)[-3:] == [ALL] * 3  # quiet machine
    used = run_epochs(choice, {1: 0.001, ALL: 0.03}, 6)  # busy: a late second thread
    assert used[-3:] == [1, 1, 1]
