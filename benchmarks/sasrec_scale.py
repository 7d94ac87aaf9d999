"""SASRec's training throughput and peak memory at 6,040 users × 200 items, and at 100× the users.

    nice -n 5 python benchmarks/sasrec_scale.py                   # -> results/sasrec_scale.md
    nice -n 5 python benchmarks/sasrec_scale.py --sizes 600 --batches 3 --out /tmp/check.md

Each size runs in a fresh process (``--child``), which builds its data, then fits ``sasrec``
(its defaults: sampled softmax, 256 negatives, max_length 200, batches of 128; 1 thread)
for ``--batches`` batches and stops: SASRec has no parameter to end an epoch early, so a
torch optimizer hook counts the steps (one a batch) and raises after the last. 6,040 users
are about 48 batches: ``--batches 1000`` lets an epoch end there (epochs=1), the default 48
trains as many batches at 604,000 users.

Sizes: ``ml-1m`` is ml-1m-gsasrec's ``train_sequences.txt`` (6,040 users, 987,019 items, each
line in order; read as benchmarks/sasrec.py reads it), a number N is a synthetic matrix of N
users × 200 distinct items of 3,416 (ml-1m's catalogue; see :func:`build`), built directly:
reading 120 million lines through a frame would need ~20 GB here, the reader's cost, not
the model's.

Measured (after a warm-up fit on tiny data, so numba's compiling and torch's first calls are
not counted): the reading's peak (Linux VmHWM over building the data, less the RSS before);
the data's resident memory once built; the fit's peak above it (VmHWM, reset before the
fit: what the fit adds, its copies of the sequences included) and its RSS above it in the
last batch (what training holds once the copies made to set it up are freed); the seconds
from ``fit`` to the first step (reading the sequences, building the sampler) and per batch
after it; sequences per second = 128 / seconds per batch; an epoch's seconds = users /
sequences per second. A watchdog in the parent kills a child whose RSS passes ``--max-gib``
(the machine is shared).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

import unrated as ur
from _measure import run_with_peak_mib
from sasrec import training_frame
from unrated.models.sasrec import SASRec

OUT = Path(__file__).parent / "results" / "sasrec_scale.md"
LENGTH, ITEMS, BATCH, THREADS = 200, 3416, 128, 1
CHUNK = 50_000  # synthetic users built at once
SPEC = {"loss": "sampled_softmax", "negatives": 256, "max_length": LENGTH, "batch_size": BATCH}


class EnoughError(Exception):
    """Raised by the step hook after the last batch asked for."""


def status_kib(field: str, pid: str = "self") -> int:
    """A field of /proc/PID/status (VmRSS, VmHWM), in KiB; 0 once the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in lines if line.startswith(field + ":")), 0)


def build(size: str, length: int = LENGTH) -> ur.Interactions:
    """ml-1m-gsasrec's training sequences (in order), or N users × ``length`` items.

    The synthetic matrix is built in place, no frame read: each user has ``length`` distinct
    items from a random start round the catalogue, and no order (a sequence is then the
    user's items in catalogue order: order plays no part in the time or memory of a batch).
    """
    if size == "ml-1m":
        return ur.read_interactions(training_frame(), time_col="position")
    users = int(size)
    rng = np.random.default_rng(0)
    items = np.empty((users, length), dtype=np.int32)
    for start in range(0, users, CHUNK):
        offsets = rng.integers(0, ITEMS, min(CHUNK, users - start))
        items[start : start + len(offsets)] = np.sort(
            (offsets[:, None] + np.arange(length)) % ITEMS, axis=1
        )
    matrix = sp.csr_matrix(
        (np.ones(items.size, np.float32), items.ravel(), np.arange(users + 1) * length),
        shape=(users, ITEMS),
    )
    return ur.Interactions(matrix, ur.IdIndex(np.arange(users)), ur.IdIndex(np.arange(ITEMS)))


def child(size: str, batches: int) -> dict[str, Any]:
    """Read ``size``'s data, fit ``batches`` batches; the measurements (see the docstring)."""
    torch.set_num_threads(THREADS)
    warm = SASRec(**SPEC | {"max_length": 4}, epochs=1, threads=THREADS)
    warm.fit(build("64", length=5), progress=False)  # numba's and torch's first-call costs
    before = status_kib("VmRSS")

    data, _, read_peak_mib = run_with_peak_mib(lambda: build(size))
    gc.collect()
    data_mib = (status_kib("VmRSS") - before) / 1024
    steps: list[float] = []
    resident = [status_kib("VmRSS"), 0]  # before the fit, in its last batch

    def count(optimizer: Any, args: Any, kwargs: Any) -> None:
        steps.append(time.perf_counter())
        resident[1] = status_kib("VmRSS")
        if len(steps) >= batches:
            raise EnoughError

    def fit() -> float:
        model = SASRec(**SPEC, epochs=1, threads=THREADS)
        started = time.perf_counter()
        with contextlib.suppress(EnoughError):
            model.fit(data, progress=False)
        return started

    handle = register_optimizer_step_post_hook(count)
    started, _, peak_mib = run_with_peak_mib(fit)
    handle.remove()
    per_batch = (steps[-1] - steps[0]) / max(len(steps) - 1, 1)
    return {
        "size": size,
        "users": data.n_users,
        "interactions": len(data.events) if data.events is not None else data.nnz,
        "read_peak_mib": read_peak_mib,
        "data_mib": data_mib,
        "fit_peak_mib": peak_mib,
        "training_mib": (resident[1] - resident[0]) / 1024,
        "batches": len(steps),
        "setup_s": steps[0] - started - per_batch,
        "per_batch_s": per_batch,
    }


def run(size: str, batches: int, max_gib: float) -> dict[str, Any]:
    """``size`` in a child process, killed if its RSS passes ``max_gib``; its measurements."""
    command = [sys.executable, __file__, "--child", size, "--batches", str(batches)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
    highest = 0
    while process.poll() is None:
        highest = max(highest, status_kib("VmRSS", str(process.pid)))
        if highest > max_gib * 2**20:
            process.kill()
            process.wait()
            return {"size": size, "killed_gib": highest / 2**20}
        time.sleep(0.5)
    stdout = process.stdout.read() if process.stdout else ""
    if process.returncode:
        raise SystemExit(f"sasrec_scale: size {size} failed (exit {process.returncode})")
    return dict(json.loads(stdout.strip().splitlines()[-1]))


def row(result: dict[str, Any]) -> str:
    if "killed_gib" in result:
        return f"| {result['size']} | killed at {result['killed_gib']:.1f} GiB RSS |" + " |" * 11
    rate = BATCH / result["per_batch_s"]
    return (
        f"| {result['size']} | {result['users']:,} | {result['interactions']:,} "
        f"| {result['read_peak_mib']:,.0f} | {result['data_mib']:,.0f} "
        f"| {result['fit_peak_mib']:,.0f} | {result['training_mib']:,.0f} "
        f"| {result['fit_peak_mib'] / result['interactions'] * 2**20:.1f} "
        f"| {result['batches']} | {result['setup_s']:.1f} | {result['per_batch_s']:.2f} "
        f"| {rate:.0f} | {result['users'] / rate:,.0f} |"
    )


def commit() -> str:
    """The git commit measured (with ``+dirty`` when sasrec.py has local changes)."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "src/unrated/models/sasrec.py")
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="ml-1m,6040,604000", help="ml-1m and/or user counts")
    parser.add_argument("--batches", type=int, default=48, help="batches fitted per size")
    parser.add_argument("--max-gib", type=float, default=10.0, help="kill a child above this")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # the synthetic data's lack of order is meant (see build)
        warnings.filterwarnings("ignore", "sasrec: the data has no time", ur.DataWarning)
        print(json.dumps(child(args.child, args.batches)), flush=True)
        return
    measured = commit()
    rows = []
    for size in args.sizes.split(","):
        rows.append(row(run(size, args.batches, args.max_gib)))
        print(rows[-1], flush=True)
    header = [
        f"# SASRec training at scale ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"commit {measured})",
        "",
        f"Command: `nice -n 5 python benchmarks/sasrec_scale.py --sizes {args.sizes} "
        f"--batches {args.batches}`; {platform.processor() or 'cpu'}, torch {torch.__version__} "
        f"on {THREADS} thread, `sasrec:{','.join(f'{k}={v}' for k, v in SPEC.items())}`.",
        "",
        "| data | users | interactions | reading peak MiB | data MiB | fit peak − data MiB "
        "| last batch − data MiB | fit peak bytes / interaction | batches | setup s | s / batch "
        "| sequences / s | epoch s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    args.out.parent.mkdir(exist_ok=True)
    with args.out.open("a") as out:
        out.write("\n".join(header + rows) + "\n\n")


if __name__ == "__main__":
    main()
