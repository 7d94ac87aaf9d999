"""Reading interactions from DuckDB and PostgreSQL against the same rows from Parquet.

ROWS rows of the synthetic generator (``make_purchases``: user_id, item_id, timestamp, int64)
are written to a Parquet file, a DuckDB file and, where Debian's PostgreSQL server binaries
exist, a throwaway PostgreSQL cluster (``tests.database.conftest.running_postgres``). Each
source is then read with ``read_interactions`` in a fresh process, RUNS times: wall seconds of
the read, the memory it added at its peak (RSS high-water mark reset after the imports and a
one-row warm-up read) and
the process's peak RSS (imports included).

    nice -n 10 python benchmarks/database_read.py [--rows 20000000] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def child(kind: str, location: str) -> None:
    """Read one source in this process; print seconds, peak RSS and pairs as JSON."""
    import importlib

    import polars as pl

    import unrated as ur
    from _measure import run_with_peak_mib
    from unrated.data.database import Database

    source: Any = location
    if kind != "parquet":
        importlib.import_module(f"unrated.data._{kind}")  # the driver, imported before
        source = Database(location, table="purchases")
    ur.read_interactions(pl.DataFrame({"user_id": [1], "item_id": [2], "timestamp": [3]}))
    data, seconds, added = run_with_peak_mib(lambda: ur.read_interactions(source))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "added_mib": added, "peak_mib": peak, "pairs": data.nnz}))


def measure(kind: str, location: str, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, __file__, "--child", kind, location],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | env | {"UNRATED_PROGRESS": "0"},
    )
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def write_sources(rows: int, folder: Path) -> tuple[Path, Path]:
    import duckdb

    from unrated.data.synthetic import make_purchases

    parquet, duck = folder / "purchases.parquet", folder / "purchases.duckdb"
    users, items = max(rows // 50, 10), max(rows // 500, 10)
    make_purchases(users=users, items=items, interactions=rows, seed=0).write_parquet(parquet)
    with duckdb.connect(str(duck)) as connection:
        connection.execute(f"CREATE TABLE purchases AS FROM read_parquet('{parquet}')")
    return parquet, duck


def load_postgres(server: Any, parquet: Path) -> None:
    """COPY the Parquet file's rows into table purchases, in batches."""
    import adbc_driver_postgresql.dbapi as dbapi
    import pyarrow as pa
    import pyarrow.parquet as pq

    batches = pq.ParquetFile(parquet).iter_batches(batch_size=1 << 20)
    reader = pa.RecordBatchReader.from_batches(pq.read_schema(parquet), batches)
    with dbapi.connect(server.url(password=True)) as connection, connection.cursor() as cursor:
        cursor.adbc_ingest("purchases", reader, mode="create")
        connection.commit()
    server.execute("ANALYZE purchases")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--runs", type=int, default=2, help="reads of each source (best kept)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "LOCATION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sys.path.insert(0, str(ROOT))
    from tests.database.conftest import running_postgres, server_binaries

    print(f"{args.rows:,} rows; best of {args.runs}; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        parquet, duck = write_sources(args.rows, folder)
        print(f"wrote Parquet and DuckDB in {time.perf_counter() - started:.0f} s")
        sources = {
            "Parquet": ("parquet", str(parquet), {}),
            "DuckDB": ("duckdb", f"duckdb:///{duck}", {}),
        }
        binaries = server_binaries()
        if binaries is None:
            print("PostgreSQL: no server binaries (apt-get install postgresql); skipped")
        with running_postgres(binaries) if binaries else nullcontext(None) as server:
            if server is not None:
                started = time.perf_counter()
                load_postgres(server, parquet)
                print(f"loaded PostgreSQL in {time.perf_counter() - started:.0f} s")
                sources["PostgreSQL"] = ("postgres", server.url(), {"PGPASSWORD": server.password})
            results = {}
            for label, (kind, location, env) in sources.items():
                runs = [measure(kind, location, env) for _ in range(args.runs)]
                results[label] = {key: min(r[key] for r in runs) for key in runs[0]}
                print(label, results[label], flush=True)
    base = results["Parquet"]
    print("\n| source | read s | × Parquet | memory added MiB | × Parquet | process peak MiB |")
    print("|---|---|---|---|---|---|")
    for label, result in results.items():
        print(
            f"| {label} | {result['seconds']:.1f} | {result['seconds'] / base['seconds']:.2f} | "
            f"{result['added_mib']:,.0f} | {result['added_mib'] / base['added_mib']:.2f} | "
            f"{result['peak_mib']:,.0f} |"
        )
    print(f"\n{base['pairs']:,} distinct (user, item) pairs from each source")


if __name__ == "__main__":
    main()
