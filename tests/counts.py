"""What the robustness tests tried, counted for the closing note (``benchmarks/faults.py``).

Tests call :func:`count`; with ``UNRATED_COUNTS=<file>`` set, the session writes the totals
(and hypothesis's examples per test) to that file as JSON when it ends.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

COUNTS: Counter[str] = Counter()
HYPOTHESIS: Counter[str] = Counter()
MEASURES: dict[str, float] = {}
VARIABLE = "UNRATED_COUNTS"


def count(kind: str, n: int = 1) -> None:
    """Add ``n`` to the tally of ``kind`` (e.g. "requests: load", "faults: SIGKILL")."""
    COUNTS[kind] += n


def measure(name: str, value: float) -> None:
    """Record a measurement (e.g. the server's RSS after the load run)."""
    MEASURES[name] = value


def watch_hypothesis() -> None:
    """Count every example hypothesis runs, per test (only when counting is on)."""
    if VARIABLE not in os.environ:
        return
    from hypothesis.internal.observability import add_observability_callback

    def seen(observation: Any) -> None:
        if getattr(observation, "type", None) == "test_case":
            # the pytest test it runs in: a @given function nested in a test has a bare name
            test = os.environ.get("PYTEST_CURRENT_TEST", "").partition(" ")[0]
            HYPOTHESIS[test or str(observation.property)] += 1

    add_observability_callback(seen)  # this thread: where pytest runs the tests


def write_counts() -> None:
    """Write the tallies to the file named by UNRATED_COUNTS, if set."""
    target = os.environ.get(VARIABLE)
    if target:
        payload = {"counts": COUNTS, "hypothesis": HYPOTHESIS, "measures": MEASURES}
        Path(target).write_text(json.dumps(payload, indent=2, sort_keys=True))
