"""Every model on every shared data set, beside oracle-tuned references, in one table.

    nice -n 10 python benchmarks/quality.py                        # all sets but Gowalla
    nice -n 10 python benchmarks/quality.py --data ml-100k --models ease ials --no-references
    nice -n 10 python benchmarks/quality.py --data gowalla --limit 900
    nice -n 10 python benchmarks/quality.py --force                # rerun what is cached

Entries, per data set (splits from ``_datasets.py``):

* unrated's models with their defaults (every name in the registry, ``auto`` when it is one),
  and the tuned spec of ``benchmarks/specs/<data>-<model>.txt`` (first line) where recorded;
* oracle-tuned references, chosen on the test split itself (an upper bound for a tuned
  model, not a fair one): unrated's ``ease`` over λ ∈ {50, 100, 250, 500, 1000};
  ``implicit``'s ALS on the binary matrix with confidence 1 + α on observed pairs (1 on the
  rest) over factors × regularisation × α; ``implicit``'s BM25 item-kNN over K.

Every entry is fitted in its own child process (a fresh peak-memory count; ``--limit``
stops it), then evaluated by unrated's own protocol (``unrated.evaluate``: full-catalogue
ranking, training items excluded, Recall@20 = hits/|test_u|): ``implicit``'s factors and
similarities are installed in an unrated ``ials`` / ``item-knn`` model, so ranking and
exclusion are the same code for all. Intervals: 95% bootstrap over users (1,000 rounds).

Results go to ``results/quality.json``, keyed by (data set, spec, code version: the last
commit touching ``src/unrated``, plus a hash of uncommitted changes there; ``implicit``'s
version for its references); an entry with a record for the current version is skipped
unless ``--force``. ``results/quality.md`` is rewritten from the json after each entry.
``implicit`` is a benchmark-only dependency: ``pip install implicit threadpoolctl``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import multiprocessing as mp
import os
import platform
import subprocess
import time
import warnings
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from _datasets import DATASETS, load, split_name
from _measure import run_with_peak_mib

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
JSON, MARKDOWN = RESULTS / "quality.json", RESULTS / "quality.md"
SCHEMA = "unrated.quality/1"
#: The spec of what ``unrated fit`` trains without ``--model`` (``unrated.choose_model``).
AUTO = "auto"
K = 20
#: The references' grids (oracle-tuned: the best on the test split is reported).
EASE_LAMBDAS = (50, 100, 250, 500, 1000)
ALS_GRID = [
    (factors, regularization, alpha)
    for factors in (64, 128)
    for regularization in (10.0, 30.0, 100.0)
    for alpha in (3.0, 10.0)
]
ALS_ITERATIONS = 15
BM25_NEIGHBOURS = (50, 200, 1000)
THREADS = 2
#: Within this relative NDCG@20 of the best reference, the default of `unrated fit` holds.
TOLERANCE = 0.02


# --------------------------------------------------------------------------- entries
def tuned_specs(data: str, names: list[str] | None) -> list[str]:
    """First lines of ``benchmarks/specs/<data>-<model>.txt`` for this data set."""
    keys = {data, data.replace("-", "")}
    specs = []
    for path in sorted((ROOT / "benchmarks" / "specs").glob("*.txt")):
        prefix = next((key for key in keys if path.stem.startswith(key + "-")), None)
        if prefix is None:
            continue
        spec = path.read_text().splitlines()[0].strip()
        if names is None or spec.partition(":")[0] in names:
            specs.append(spec)
    return specs


def entries(data: str, names: list[str] | None, references: bool) -> list[dict[str, str]]:
    """What to measure on ``data``: {"spec", "kind"}, kind "unrated" or "reference"."""
    import unrated as ur

    specs = [name for name in [*ur.MODELS, AUTO] if names is None or name in names]
    specs += [spec for spec in tuned_specs(data, names) if spec not in specs]
    chosen = [{"spec": spec, "kind": "unrated"} for spec in specs]
    if references:
        chosen += [
            {"spec": f"ease:regularization={lam}", "kind": "reference"} for lam in EASE_LAMBDAS
        ]
        chosen += [
            {"spec": f"implicit-als:factors={f},regularization={r},alpha={a}", "kind": "reference"}
            for f, r, a in ALS_GRID
        ]
        chosen += [{"spec": f"implicit-bm25:K={k}", "kind": "reference"} for k in BM25_NEIGHBOURS]
    return chosen


def code_versions() -> dict[bool, str]:
    """The version a record is valid for, by whether its spec is an ``implicit`` one.

    unrated's: the last commit touching src/unrated, plus ``+<hash>`` of the uncommitted
    changes there, if any (measured on code that no commit holds).
    """
    import implicit

    commit = git("log", "-1", "--format=%h", "--", "src/unrated")
    diff = git("diff", "HEAD", "--", "src/unrated")
    untracked = git("ls-files", "--others", "--exclude-standard", "--", "src/unrated")
    changes = diff + "".join(
        (ROOT / name).read_text(errors="replace") for name in untracked.split("\n") if name
    )
    dirty = f"+{hashlib.sha256(changes.encode()).hexdigest()[:8]}" if changes else ""
    return {True: f"implicit {implicit.__version__}", False: commit + dirty}


def git(*args: str) -> str:
    command = ["git", *args]  # git with fixed arguments
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout.strip()


# --------------------------------------------------------------------------- measuring
def fit(spec: str, train: Any) -> tuple[Any, str]:
    """A fitted unrated model for ``spec`` and a note; ``implicit-*`` come as unrated models.

    ``auto`` is what ``unrated fit`` does without ``--model``: ``unrated.choose_model``
    (validation fits included in its time); its note says what it picked.
    """
    import unrated as ur

    name, _, rest = spec.partition(":")
    if name.startswith("implicit-"):  # numeric grids; unrated specs are parsed by make_model
        params = {k: float(v) for k, v in (p.split("=") for p in rest.split(",") if p)}
    if name == "implicit-als":
        return implicit_als(train, **params), ""
    if name == "implicit-bm25":
        return implicit_bm25(train, int(params["K"])), ""
    if name == AUTO:
        choice = ur.choose_model(train, progress=False)
        return choice.model, choice.summary()
    return ur.make_model(spec).fit(train, progress=False), ""


def binary(train: Any) -> Any:
    ones = train.matrix.astype(np.float32)
    ones.data[:] = 1.0
    return ones


def implicit_als(train: Any, factors: float, regularization: float, alpha: float) -> Any:
    """``implicit``'s ALS, confidence 1 + α (observed) and 1 (the rest), as an unrated ``ials``.

    implicit takes the matrix's values as the confidences of observed pairs (its own
    ``alpha`` multiplies them; left at 1 here).
    """
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from unrated.models.ials import IALS

    with threadpool_limits(limits=1, user_api="blas"):  # as implicit asks
        model = AlternatingLeastSquares(
            factors=int(factors),
            regularization=regularization,
            alpha=1.0,
            iterations=ALS_ITERATIONS,
            num_threads=THREADS,
            random_state=0,
        )
        model.fit(binary(train) * (1.0 + alpha), show_progress=False)
    arrays = {
        "user_factors": np.ascontiguousarray(model.user_factors, dtype=np.float32),
        "item_factors": np.ascontiguousarray(model.item_factors, dtype=np.float32),
        "unobserved_weights": np.ones(train.n_items, dtype=np.float32),
    }
    return IALS(factors=int(factors)).restore(
        users=train.users, items=train.items, seen=train.matrix, arrays=arrays
    )


def implicit_bm25(train: Any, neighbours: int) -> Any:
    """The ``implicit`` BM25 item-kNN (K1 1.2, B 0.75) as an unrated ``item-knn``.

    implicit scores a user as history @ similarity, the sum of the history items' rows of
    its top-K similarity matrix: what ``item-knn`` does with that matrix as its weights.
    """
    from implicit.nearest_neighbours import BM25Recommender

    from unrated._checks import csr_arrays
    from unrated.models.item_knn import ItemKNN

    model = BM25Recommender(K=neighbours, K1=1.2, B=0.75, num_threads=THREADS)
    with warnings.catch_warnings():  # it converts its own BM25 weights from COO, and says so
        warnings.simplefilter("ignore")
        model.fit(binary(train), show_progress=False)
    weights = model.similarity.tocsr()
    return ItemKNN().restore(
        users=train.users,
        items=train.items,
        seen=train.matrix,
        arrays=csr_arrays("weights", weights),
    )


def measure(data: str, spec: str, connection: Any) -> None:
    """In a child process: load, warm up, fit (timed, peak memory), evaluate; send a record."""
    import unrated as ur
    from unrated.errors import UnratedError
    from unrated.evaluation.compare import warm_up

    train, test = load(data)
    shape = {
        "users": train.n_users,
        "items": train.n_items,
        "train_pairs": train.nnz,
        "test_pairs": test.nnz,
    }
    try:
        if not spec.startswith(("implicit-", AUTO)):
            warm_up(spec, train, k=K)  # numba compilation stays out of the timed fit
        (model, note), seconds, peak = run_with_peak_mib(lambda: fit(spec, train))
    except UnratedError as error:  # e.g. EASE refusing what would not fit in memory
        connection.send(shape | {"status": "skipped", "reason": str(error)})
        return
    report = ur.evaluate(model, test, k=K)
    connection.send(
        shape
        | {
            "status": "ok",
            "fit_seconds": round(seconds, 2),
            "score_seconds": round(report.seconds, 2),
            "peak_mib": round(peak, 1),
            "evaluated_users": report.n_users,
            "note": note,
            "per_user": {
                name: report.per_user[f"{name}@{K}"].astype(np.float32)
                for name in ("ndcg", "recall")
            },
        }
    )


def run_entry(data: str, spec: str, limit: float) -> dict[str, Any]:
    """Measure one entry in a child process, stopped after ``limit`` seconds (0: none)."""
    context = mp.get_context("spawn")  # a fresh process: no inherited threads or memory
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=measure, args=(data, spec, send))
    started = time.perf_counter()
    child.start()
    send.close()
    ready = receive.poll(limit or None)
    record: dict[str, Any]
    if ready:
        try:
            record = receive.recv()
        except EOFError:
            record = {"status": "failed", "reason": "the child process ended without a result"}
    else:
        record = {"status": "skipped", "reason": f"stopped after the {limit:.0f} s limit"}
        child.kill()
    child.join()
    if child.exitcode not in (0, None) and record["status"] == "ok":
        record = {"status": "failed", "reason": f"exit code {child.exitcode}"}
    if record["status"] == "failed":
        record["reason"] += f" (exit code {child.exitcode})"
    record["wall_seconds"] = round(time.perf_counter() - started, 1)
    return record


def estimate(records: list[dict[str, Any]], data: str, spec: str, pairs: int) -> str | None:
    """Seconds this entry will likely take, from the same spec on another data set, in words.

    Scaled by the number of training pairs from the largest set measured: rough (EASE
    grows faster), enough to skip what would take far longer than a limit.
    """
    done = [r for r in records if r["spec"] == spec and r["data"] != data and r["status"] == "ok"]
    if not done or not pairs:
        return None
    base = max(done, key=lambda r: r["train_pairs"])
    seconds = (base["fit_seconds"] + base["score_seconds"]) * pairs / base["train_pairs"]
    return f"{seconds:.0f} s (from {base['data']}, scaled by training pairs)"


def pack(values: np.ndarray) -> str:
    """Per-user values as base64 of zlib-compressed float16 (for paired tests later)."""
    return base64.b64encode(zlib.compress(values.astype(np.float16).tobytes(), 9)).decode()


def unpack(text: str) -> np.ndarray:
    raw = zlib.decompress(base64.b64decode(text))
    return np.frombuffer(raw, dtype=np.float16).astype(np.float64)


def summarise(record: dict[str, Any], kind: str) -> dict[str, Any]:
    """Replace per-user arrays with means and 95% intervals (kept packed for unrated's)."""
    from unrated.evaluation.stats import bootstrap_indices, bootstrap_interval

    per_user = record.pop("per_user", None)
    if per_user is None:
        return record
    resamples = bootstrap_indices(len(per_user["ndcg"]), rounds=1000, seed=0)
    for name, values in per_user.items():
        interval = bootstrap_interval(values.astype(np.float64), resamples)
        record[name] = {"mean": interval.mean, "low": interval.low, "high": interval.high}
    if kind == "unrated":
        record["per_user_ndcg"] = pack(per_user["ndcg"])
    return record


# --------------------------------------------------------------------------- results
def read_records() -> list[dict[str, Any]]:
    if not JSON.exists():
        return []
    document = json.loads(JSON.read_text())
    return list(document["records"])


def write_records(records: list[dict[str, Any]]) -> None:
    JSON.write_text(json.dumps({"schema": SCHEMA, "records": records}, indent=1) + "\n")


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB"


def latest(records: list[dict[str, Any]], data: str) -> list[dict[str, Any]]:
    """The newest record of each current entry of ``data`` (older grids are not shown)."""
    newest = {r["spec"]: r for r in records if r["data"] == data}
    return [newest[e["spec"]] for e in entries(data, None, True) if e["spec"] in newest]


def ndcg(record: dict[str, Any]) -> float:
    return float(record["ndcg"]["mean"]) if record["status"] == "ok" else -1.0


def render(records: list[dict[str, Any]]) -> str:
    """The markdown report, from the records alone."""
    from unrated.cli.fit import DEFAULT_MODEL
    from unrated.evaluation.protocol import PROTOCOL_NOTE

    tables = {data: latest(records, data) for data in DATASETS}
    records = [record for rows in tables.values() for record in rows]  # those shown
    dates = sorted(r["date"] for r in records)
    lambdas = ", ".join(map(str, EASE_LAMBDAS))
    commits = sorted({r["version"] for r in records})
    lines = [
        "# Quality: every model on every shared data set, beside oracle-tuned references",
        "",
        f"Protocol: {PROTOCOL_NOTE}; k = {K}. 95% intervals: bootstrap over the evaluated "
        "users, 1,000 rounds, seed 0. Fit and scoring seconds are wall clock on the machine "
        "below, shared with other jobs: the load average (1 min) is given with each row. Peak "
        "memory: resident memory the fit added, in its own process.",
        "",
        "**Oracle-tuned references**: each grid point is scored on the test split itself, and "
        "the best is the reference: an upper bound on what tuning could reach, not a fair "
        f"tuned result. EASE (unrated's `ease`) over λ ∈ {{{lambdas}}}; "
        f"`implicit` ALS ({ALS_ITERATIONS} iterations) on the binary matrix with confidence "
        "1 + α on observed pairs, over factors × regularisation × α; `implicit` BM25 "
        "item-kNN (K1 1.2, B 0.75) over K. Both `implicit` models are ranked by unrated's "
        "own evaluation (their factors or similarities installed in an unrated model).",
        "",
        f"Machine: {', '.join(sorted({r['machine'] for r in records}))}. "
        f"Measured {dates[0]} to {dates[-1]} (UTC); code versions: "
        f"{', '.join(f'`{c}`' for c in commits)}. `{AUTO}` is `unrated.choose_model` (validation "
        "fits included in its fit time), what `unrated fit` trains without `--model`; its note "
        "says what it picked.",
        "",
        "Regenerate: `nice -n 10 python benchmarks/quality.py [--data NAME ...] [--force]`.",
        "",
    ]
    summary = []
    for data, rows in tables.items():
        if not rows:
            continue
        lines += [f"## {data}: {split_name(data)}", ""]
        first = next((r for r in rows if "users" in r), None)
        if first is not None:
            lines += [
                f"{first['users']:,} users × {first['items']:,} items, "
                f"{first['train_pairs']:,} training pairs, {first['test_pairs']:,} test pairs.",
                "",
            ]
        lines += [
            "| model / spec | NDCG@20 (95% CI) | Recall@20 (95% CI) | fit s | scoring s | "
            "peak MiB | load | version |",
            "|---|---|---|---|---|---|---|---|",
        ]
        ours = [r for r in rows if r["kind"] == "unrated"]
        references = [r for r in rows if r["kind"] == "reference"]
        best_reference = max(references, key=ndcg, default=None)
        for record in ours + references:
            label = f"`{record['spec']}`"
            if record["kind"] == "reference":
                label = "ref " + label + (" **(best ref)**" if record is best_reference else "")
            lines.append(row(label, record))
        lines.append("")
        lines += [f"- {r['note']}" for r in ours if r.get("note")]  # what auto picked
        lines += verdict(data, ours, best_reference, DEFAULT_MODEL, summary)
    lines += ["## Summary", "", *summary_table(summary), ""]
    return "\n".join(lines)


def row(label: str, record: dict[str, Any]) -> str:
    if record["status"] != "ok":
        reason = f"{record['status']}: {record['reason']}"
        return f"| {label} | {reason} | | | | | | `{record['version']}` |"
    metrics = [
        f"{record[n]['mean']:.4f} ({record[n]['low']:.4f}–{record[n]['high']:.4f})"
        for n in ("ndcg", "recall")
    ]
    return (
        f"| {label} | {metrics[0]} | {metrics[1]} | {record['fit_seconds']:.1f} | "
        f"{record['score_seconds']:.1f} | {record['peak_mib']:,.0f} | {record['load']:.1f} | "
        f"`{record['version']}` |"
    )


def verdict(
    data: str,
    ours: list[dict[str, Any]],
    best_reference: dict[str, Any] | None,
    default: str,
    summary: list[dict[str, str]],
) -> list[str]:
    """The lines under a data set's table, and its row of the summary."""
    from unrated.evaluation.stats import bootstrap_indices, paired_test

    # auto is one of the others, refitted: not a model of its own here
    chosen = (r for r in ours if r["status"] == "ok" and r["spec"] != AUTO)
    measured = sorted(chosen, key=ndcg, reverse=True)
    line = {"data": data, "best": "—", "margin": "—", "reference": "—", "default": "—"}
    lines = []
    best = measured[0] if measured else None
    family = "" if best is None else best["spec"].partition(":")[0]
    # the next model: the best of another family (not a tuned spec of the same model)
    runner_up = next((r for r in measured if r["spec"].partition(":")[0] != family), None)
    if best is not None and runner_up is not None:
        a, b = unpack(best["per_user_ndcg"]), unpack(runner_up["per_user_ndcg"])
        test = paired_test(a, b, bootstrap_indices(len(a), rounds=1000, seed=0))
        gap = ndcg(best) - ndcg(runner_up)
        margin = (
            f"+{gap:.4f} ({gap / ndcg(runner_up):+.1%}) over `{runner_up['spec']}`, paired 95% "
            f"CI {test.difference.low:+.4f} to {test.difference.high:+.4f}"
            + ("" if test.significant else ", not significant")
        )
        line |= {"best": f"`{best['spec']}` {ndcg(best):.4f}", "margin": margin}
        lines.append(f"- Best unrated model: `{best['spec']}`, NDCG@20 {ndcg(best):.4f}; {margin}.")
    if best_reference is not None and best_reference["status"] == "ok":
        reference = ndcg(best_reference)
        line["reference"] = f"`{best_reference['spec']}` {reference:.4f}"
        lines.append(f"- Best oracle-tuned reference: `{best_reference['spec']}`, {reference:.4f}.")
        record = next((r for r in ours if r["spec"] == default and r["status"] == "ok"), None)
        if record is not None:
            relative = ndcg(record) / reference - 1
            holds = "within" if relative >= -TOLERANCE else "NOT within"
            line["default"] = f"{relative:+.1%} ({holds} 2%)"
            lines.append(
                f"- Default of `unrated fit` (`{default}`): {ndcg(record):.4f}, {relative:+.1%} "
                f"relative to the best reference: {holds} {TOLERANCE:.0%}."
            )
    summary.append(line)
    return [*lines, ""]


def summary_table(summary: list[dict[str, str]]) -> list[str]:
    header = [
        "| data set | best unrated (NDCG@20) | its margin over the next | best reference | "
        "default vs best reference |",
        "|---|---|---|---|---|",
    ]
    return header + [
        f"| {s['data']} | {s['best']} | {s['margin']} | {s['reference']} | {s['default']} |"
        for s in summary
    ]


# --------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    names = [name for name in DATASETS if name != "gowalla"]
    parser.add_argument("--data", nargs="+", choices=list(DATASETS), default=names)
    parser.add_argument("--models", nargs="+", help="model names (default: all registered)")
    parser.add_argument("--references", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--force", action="store_true", help="rerun entries already recorded")
    parser.add_argument(
        "--limit",
        type=float,
        default=0.0,
        help="seconds per entry (0: none); skipped when estimated above it, stopped past it",
    )
    args = parser.parse_args()
    records = read_records()
    for data in args.data:
        started = time.perf_counter()
        for entry in entries(data, args.models, args.references):
            spec = entry["spec"]
            # each entry's child imports the code as it is now: its version, now
            version = code_versions()[spec.startswith("implicit-")]
            if not args.force and any(
                (r["data"], r["spec"], r["version"]) == (data, spec, version) for r in records
            ):
                continue
            pairs = next((r["train_pairs"] for r in records if r["data"] == data), 0)
            guess = estimate(records, data, spec, pairs) if args.limit else None
            if guess is not None and float(guess.split()[0]) > args.limit:
                result: dict[str, Any] = {
                    "status": "skipped",
                    "reason": f"estimated {guess} > the {args.limit:.0f} s limit",
                }
            else:
                print(f"{data} {spec} ...", end=" ", flush=True)
                result = run_entry(data, spec, args.limit)
            record = {
                "data": data,
                **entry,
                "version": version,
                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
                "load": round(os.getloadavg()[0], 1),
                "machine": machine(),
            } | summarise(result, entry["kind"])
            records = [
                r for r in records if (r["data"], r["spec"], r["version"]) != (data, spec, version)
            ] + [record]
            write_records(records)
            MARKDOWN.write_text(render(records))
            shown = f"{ndcg(record):.4f}" if record["status"] == "ok" else record["reason"]
            print(f"{record['status']}: {shown} ({record.get('wall_seconds', 0)} s)", flush=True)
        print(f"# {data}: {time.perf_counter() - started:.0f} s", flush=True)
    if records:
        MARKDOWN.write_text(render(records))


if __name__ == "__main__":
    main()
