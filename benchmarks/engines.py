"""Local ``ials`` against ``--engine spark`` and ``--engine torchrun``: time, memory, quality.

Every fit is a real ``unrated fit`` in its own process: seconds as the CLI reports them
(read + train + gather, not the interpreter's start) and peak resident memory (``wait4``'s
ru_maxrss: on Linux the largest of the process and the children it waited for, so for
Spark and torchrun it is one process, not their sum). Synthetic data come from ``unrated synth``
with MovieLens-20M's shape (138,493 users × 26,744 items; a row is a purchase, repeats
merge, so 20M rows give about 10M distinct pairs) and are written under ``--work``.

Parts (all by default; pick with ``--parts``):

* ``quality``: ML-100k 20% holdout (seed 0) NDCG@20 of local ials, Spark ials, local mf,
  torchrun mf with 1 and 2 ranks, at the specs the tests use and at the ials defaults.
* ``memory``: local ials peak RSS at several sizes and factor counts → the memory model
  peak ≈ base + a·rows + b·(users + items)·factors, fitted by least squares.
* ``local``: local ials seconds per epoch at 20M rows (two epoch counts, the difference).
* ``spark``: Spark local[2] seconds per epoch at ``--spark-rows`` (same difference).
* ``torchrun``: mf seconds per epoch, 2 ranks against 1, at ``--torch-rows``.

    python benchmarks/engines.py --work /tmp/unrated-engines
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNRATED_DATA", ROOT.parent / "shared" / "data"))
USERS, ITEMS = 138_493, 26_744  # MovieLens-20M
UNRATED = [sys.executable, "-m", "unrated"]
FITTED = re.compile(r"\((\d[\d,]*) pairs\) in ([\d.]+) s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/unrated-engines"))  # noqa: S108
    parser.add_argument("--parts", default="quality,memory,local,spark,torchrun")
    parser.add_argument("--memory-rows", default="2500000,5000000,10000000,20000000")
    parser.add_argument("--memory-factors", default="32,128,256", help="at 5M rows, besides 64")
    parser.add_argument("--epochs", default="2,6", help="two epoch counts: per epoch = Δt/Δe")
    parser.add_argument("--spark-rows", default="1000000,5000000")
    parser.add_argument("--spark-epochs", default="1,3")
    parser.add_argument("--spark-memory", default="", help="spark.driver.memory (default: half)")
    parser.add_argument("--torch-rows", default="1000000")
    parser.add_argument("--torch-epochs", default="1,3")
    parser.add_argument("--torch-spec", default="mf:validation=0")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    parts = args.parts.split(",")
    print(f"# load average at start {os.getloadavg()}, cpu count {os.cpu_count()}", flush=True)
    results: dict[str, Any] = {}
    if "quality" in parts:
        results["quality"] = quality(args.work)
    if "memory" in parts:
        results["memory"] = memory(args)
    if "local" in parts:
        results["local"] = per_epoch(args, "ials:factors=64", [20_000_000], engine=())
    if "spark" in parts:
        spark = ("--engine", "spark", "--spark-master", "local[2]")
        if args.spark_memory:
            spark += ("--spark-conf", f"spark.driver.memory={args.spark_memory}")
        rows = [int(r) for r in args.spark_rows.split(",")]
        results["spark"] = per_epoch(
            args, "ials:factors=64", rows, engine=spark, epochs=args.spark_epochs
        )
    if "torchrun" in parts:
        rows = [int(r) for r in args.torch_rows.split(",")]
        epochs = args.torch_epochs
        results["torchrun"] = {
            str(n): per_epoch(
                args,
                args.torch_spec,
                rows,
                engine=("--engine", "torchrun", "--nproc", str(n)),
                epochs=epochs,
            )
            for n in (1, 2)
        }
        results["torchrun"]["local"] = per_epoch(
            args, args.torch_spec, rows, engine=(), epochs=epochs
        )
    print(f"# load average at end {os.getloadavg()}")
    out = args.work / "engines.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"# all numbers: {out}")


def fit(data: Path, spec: str, out: Path, *extra: str) -> dict[str, float]:
    """One ``unrated fit`` process: its seconds, pairs, peak RSS (GiB) and wall time."""
    env = os.environ | {"UNRATED_PROGRESS": "0", "COLUMNS": "200"}
    command = [*UNRATED, "fit", str(data), "--model", spec]
    command += ["--out", str(out), *extra]
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stdout, stderr = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"fit failed: {' '.join(command)}\n{stdout}\n{stderr}")
    found = FITTED.search(" ".join(stdout.split()))
    assert found is not None, stdout
    return {
        "seconds": float(found.group(2)),
        "pairs": int(found.group(1).replace(",", "")),
        "peak_gib": usage.ru_maxrss / 2**20,
        "wall": wall,
    }


def synth(work: Path, rows: int) -> Path:
    path = work / f"synth-{rows}.parquet"
    if not path.exists():
        shape = ("--users", str(USERS), "--items", str(ITEMS), "--interactions", str(rows))
        subprocess.run(  # noqa: S603
            [*UNRATED, "synth", *shape, "--out", str(path)],
            check=True,
            capture_output=True,
        )
    return path


def evaluate(model: Path, test: Path) -> float:
    out = subprocess.run(  # noqa: S603
        [*UNRATED, "evaluate", str(model), str(test), "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(json.loads(out)["metrics"]["ndcg@20"])


def quality(work: Path) -> list[dict[str, Any]]:
    split = work / "ml100k-split"
    if not (split / "train.csv").exists():
        subprocess.run(  # noqa: S603
            [*UNRATED, "split", str(DATA / "ml-100k" / "ratings.csv"), "--out", str(split)],
            check=True,
            capture_output=True,
        )
    spark = ("--engine", "spark", "--spark-master", "local[2]")
    mf = "mf:epochs=20,validation=0,learning_rate=0.02"
    runs = [
        ("ials", "local", ()),
        ("ials", "spark local[2]", spark),
        ("ials:factors=64,epochs=8", "local", ()),
        ("ials:factors=64,epochs=8", "spark local[2]", spark),
        (mf, "local", ()),
        (mf, "torchrun 1", ("--engine", "torchrun", "--nproc", "1")),
        (mf, "torchrun 2", ("--engine", "torchrun", "--nproc", "2")),
    ]  # fmt: skip
    rows = []
    print("| spec | engine | NDCG@20 | fit s |\n|---|---|---|---|")
    for spec, engine, extra in runs:
        model = work / "quality.unrated"
        measured = fit(split / "train.csv", spec, model, *extra)
        ndcg = evaluate(model, split / "test.csv")
        rows.append({"spec": spec, "engine": engine, "ndcg@20": ndcg} | measured)
        print(f"| `{spec}` | {engine} | {ndcg:.4f} | {measured['seconds']:.1f} |", flush=True)
    return rows


def memory(args: argparse.Namespace) -> dict[str, Any]:
    """Peak RSS of local ials fits (2 epochs: memory does not grow with epochs)."""
    points = [(int(r), 64) for r in args.memory_rows.split(",")]
    points += [(5_000_000, int(f)) for f in args.memory_factors.split(",")]
    rows = []
    print("| rows | distinct pairs | factors | peak GiB | fit s |\n|---|---|---|---|---|")
    for n_rows, factors in points:
        data = synth(args.work, n_rows)
        measured = fit(data, f"ials:factors={factors},epochs=2", args.work / "memory.unrated")
        rows.append({"rows": n_rows, "factors": factors} | measured)
        print(
            f"| {n_rows:,} | {measured['pairs']:,} | {factors} | {measured['peak_gib']:.2f} "
            f"| {measured['seconds']:.1f} |",
            flush=True,
        )
    # peak bytes = base + a·rows + b·(users + items)·factors: least squares over the points
    design = np.array([[1.0, r["rows"], (USERS + ITEMS) * r["factors"]] for r in rows])
    peak = np.array([r["peak_gib"] * 2**30 for r in rows])
    (base, per_row, per_factor), *_ = np.linalg.lstsq(design, peak, rcond=None)
    pairs = np.array([[1.0, r["pairs"], (USERS + ITEMS) * r["factors"]] for r in rows])
    (_, per_pair, _), *_ = np.linalg.lstsq(pairs, peak, rcond=None)
    model = {
        "base_mib": base / 2**20,
        "bytes_per_row": per_row,
        "bytes_per_distinct_pair": per_pair,
        "bytes_per_factor_per_user_or_item": per_factor,
    }
    print(f"# memory model: {json.dumps(model)}", flush=True)
    return {"points": rows, "model": model}


def per_epoch(
    args: argparse.Namespace,
    spec: str,
    sizes: list[int],
    *,
    engine: tuple[str, ...],
    epochs: str | None = None,
) -> list[dict[str, Any]]:
    """Seconds per epoch as (fit at e2 epochs − fit at e1 epochs) / (e2 − e1)."""
    e1, e2 = (int(e) for e in (epochs or args.epochs).split(","))
    label = " ".join(engine) or "local"
    rows = []
    for n_rows in sizes:
        data = synth(args.work, n_rows)
        out = args.work / "epochs.unrated"
        first = fit(data, f"{spec},epochs={e1}", out, *engine)
        second = fit(data, f"{spec},epochs={e2}", out, *engine)
        slope = (second["seconds"] - first["seconds"]) / (e2 - e1)
        fixed = first["seconds"] - e1 * slope
        rows.append(
            {"rows": n_rows, "engine": label, "per_epoch": slope, "fixed": fixed}
            | {f"fit_{e1}": first, f"fit_{e2}": second}
        )
        print(
            f"# {label} {spec} at {n_rows:,} rows ({first['pairs']:,} pairs): "
            f"{slope:.2f} s/epoch + {fixed:.1f} s fixed; {e1} epochs {first['seconds']:.1f} s "
            f"(peak {first['peak_gib']:.2f} GiB), {e2} epochs {second['seconds']:.1f} s",
            flush=True,
        )
    return rows


if __name__ == "__main__":
    main()
