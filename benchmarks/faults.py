"""The counts for issue 8's closing note: inputs tried, faults injected, requests sent.

Runs the robustness tests with counting on (``UNRATED_COUNTS``, see ``tests/counts.py``) and
prints what they tried, per kind, and whether anything was lost: a test fails as soon as
one corrupted file is accepted, one killed fit or save leaves a broken or different result,
or one request gets a 5xx or no answer. Only 127.0.0.1 is contacted (the test servers).

    python benchmarks/faults.py                      # print the table (~4 minutes)
    python benchmarks/faults.py --out benchmarks/results/faults.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/data/test_bad_inputs.py",
    "tests/data/test_hostile_inputs.py",
    "tests/test_properties.py",
    "tests/test_model_file_hostile.py",
    "tests/test_model_memory.py",
    "tests/cli/test_terminal_safety.py",
    "tests/cli/test_file_writes.py",
    "tests/serving/test_reload_absurd_file.py",
    "tests/test_model_file_faults.py",
    "tests/models/test_checkpoint.py",
    "tests/cli/test_fit_checkpoint.py",
    "tests/serving/test_guards.py",
    "tests/serving/test_hostile.py",
    "tests/serving/test_fuzz.py",
    "tests/serving/test_reload.py",
    "tests/serving/test_load.py",
]


def run_tests() -> tuple[dict[str, dict[str, float]], dict[str, int], float]:
    """(counts written by the tests, pytest's outcome totals, seconds)."""
    with tempfile.TemporaryDirectory() as folder:
        counts, report = Path(folder) / "counts.json", Path(folder) / "report.xml"
        env = os.environ | {"UNRATED_COUNTS": str(counts)}
        started = time.perf_counter()
        # -n 0: one process, so that the tallies are one
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0"]
        subprocess.run(  # noqa: S603 (our own interpreter and tests)
            [*command, f"--junitxml={report}", *TESTS], cwd=ROOT, env=env, check=False
        )
        seconds = time.perf_counter() - started
        suite = ET.parse(report).getroot()  # noqa: S314
        suite = suite if suite.tag == "testsuite" else suite[0]
        outcomes = {key: int(suite.get(key, "0")) for key in ("tests", "failures", "errors")}
        outcomes["skipped"] = int(suite.get("skipped", "0"))
        return json.loads(counts.read_text()), outcomes, seconds


def table(data: dict[str, dict[str, float]], outcomes: dict[str, int]) -> str:
    counts, examples = data["counts"], data["hypothesis"]
    rows = [("what", "count")]
    for prefix in ("inputs", "faults", "requests"):
        kinds = sorted(k for k in counts if k.startswith(prefix))
        rows += [(kind, f"{int(counts[kind]):,}") for kind in kinds]
        total = sum(counts[kind] for kind in kinds)
        if prefix == "inputs":
            rows += [
                (f"inputs: hypothesis, {test}", f"{n:,}") for test, n in sorted(examples.items())
            ]
            total += sum(examples.values())
        rows.append((f"**{prefix}, in all**", f"**{int(total):,}**"))
    rows += [(name, f"{value:,.0f}") for name, value in data["measures"].items()]
    failed = outcomes["failures"] + outcomes["errors"]
    rows.append(
        ("tests run / failed / skipped", f"{outcomes['tests']} / {failed} / {outcomes['skipped']}")
    )
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|---|---:|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the table (markdown) here")
    args = parser.parse_args()
    uptime = Path("/proc/loadavg").read_text().split()[:3]
    data, outcomes, seconds = run_tests()
    lost = outcomes["failures"] + outcomes["errors"]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = (
        f"# Robustness: what the tests tried ({when})\n\n"
        "Written by `python benchmarks/faults.py --out benchmarks/results/faults.md`, which runs "
        "the robustness tests (list in the script) with counting on.\n\n"
        f"{table(data, outcomes)}\n\n"
        f"Nothing lost: {'yes' if lost == 0 else f'NO, {lost} failed'} "
        f"({seconds:.0f} s; load average before {' '.join(uptime)}).\n"
    )
    print(text)
    if args.out:
        args.out.write_text(text)
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    main()
