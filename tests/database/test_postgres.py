"""PostgreSQL as a source and a destination, against a real server (see conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import polars as pl
import pytest

import unrated as ur
from tests.cli.conftest import CliRun
from tests.cli_runner import BASE_ENV
from tests.database.conftest import Postgres, assert_same_model
from unrated.data.database import Database

QUERY = "SELECT customer_id, product_id, created_at FROM order_lines"
READ_BACK = "SELECT user_id, item_id, rank, score FROM recommendations ORDER BY user_id, rank"


def shop_rows(server: Postgres, sql: str) -> list[tuple[Any, ...]]:
    import adbc_driver_postgresql.dbapi as dbapi

    with dbapi.connect(server.url(password=True)) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


@pytest.fixture(scope="module")
def shop(postgres: Postgres, purchases: pl.DataFrame) -> Postgres:
    """The shop database with ``order_lines`` (text ids) and ``sales`` (bigint ids)."""
    import adbc_driver_postgresql.dbapi as dbapi

    numbered = pl.DataFrame(
        {"user_id": np.arange(500) % 37, "item_id": (np.arange(500) * 7) % 53 + 10**12}
    )
    with dbapi.connect(postgres.url(password=True)) as connection, connection.cursor() as cursor:
        cursor.adbc_ingest("order_lines", purchases.to_arrow(), mode="replace")
        cursor.adbc_ingest("sales", numbered.to_arrow(), mode="replace")
        cursor.execute("ANALYZE order_lines")
        connection.commit()
    return postgres


@pytest.fixture
def env(shop: Postgres) -> dict[str, str]:
    """The shop user's password in PGPASSWORD, progress lines on."""
    return {"PGPASSWORD": shop.password, "UNRATED_PROGRESS": "auto", "UNRATED_PROGRESS_EVERY": "0"}


def test_fit_from_a_query_equals_fit_from_the_csv(
    shop: Postgres, purchases: pl.DataFrame, cli: CliRun, tmp_path: Path, env: dict[str, str]
) -> None:
    purchases.write_csv(tmp_path / "purchases.csv")
    cli("fit", "purchases.csv", "--model", "ease", "--out", "csv.unrated")
    done = cli(
        "fit", shop.url(), "--query", QUERY, "--model", "ease", "--out", "db.unrated", env=env
    )
    assert "columns: user=customer_id, item=product_id, time=created_at" in done.stderr
    assert f"reading {shop.url()}: " in done.stderr  # the progress of rows read
    assert "6000 rows" in done.stderr.replace(",", "")
    assert_same_model(tmp_path / "csv.unrated", tmp_path / "db.unrated")
    cli(
        "fit",
        shop.url(),
        "--table",
        "order_lines",
        "--model",
        "ease",
        "--out",
        "t.unrated",
        env=env,
    )
    assert_same_model(tmp_path / "csv.unrated", tmp_path / "t.unrated")


def test_integer_ids_stay_integers_as_from_parquet(
    shop: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_SECRET", shop.password)
    source = Database(shop.url(), table="public.sales", password_env="SHOP_SECRET")  # noqa: S106
    from_db = ur.read_interactions(source)
    rows = shop_rows(shop, "SELECT user_id, item_id FROM sales")
    pl.DataFrame(rows, schema=["user_id", "item_id"], orient="row").write_parquet(
        tmp_path / "sales.parquet"
    )
    from_file = ur.read_interactions(tmp_path / "sales.parquet")
    assert from_db.items.ids.dtype == np.int64
    assert from_db.items.ids.min() == 10**12
    assert np.array_equal(from_db.items.ids, from_file.items.ids)
    assert np.array_equal(from_db.users.ids, from_file.users.ids)
    assert (from_db.matrix != from_file.matrix).nnz == 0


def test_recommendations_written_back_equal_the_csv_then_replaced_or_appended(
    shop: Postgres, purchases: pl.DataFrame, cli: CliRun, tmp_path: Path, env: dict[str, str]
) -> None:
    purchases.write_csv(tmp_path / "purchases.csv")
    cli("fit", "purchases.csv", "--model", "item-knn", "--out", "m.unrated")
    cli("recommend", "m.unrated", "--all", "-k", "5", "--out", "recs.csv")
    out = ("--out", shop.url(), "--table", "recommendations")
    done = cli("recommend", "m.unrated", "--all", "-k", "5", *out, env=env)
    assert "(its rows replaced)" in done.stdout
    expected = pl.read_csv(tmp_path / "recs.csv", schema_overrides={"user_id": pl.String})
    written = pl.DataFrame(shop_rows(shop, READ_BACK), schema=expected.columns, orient="row")
    assert written["user_id"].to_list() == expected["user_id"].to_list()
    assert written["item_id"].to_list() == expected["item_id"].cast(pl.String).to_list()
    assert written["rank"].to_list() == expected["rank"].to_list()
    assert np.array_equal(
        written["score"].to_numpy().astype(np.float32),
        expected["score"].to_numpy().astype(np.float32),
    )
    cli("recommend", "m.unrated", "--all", "-k", "2", *out, env=env)  # replaces the rows
    assert shop_rows(shop, "SELECT max(rank), count(*) FROM recommendations") == [(2, 600)]
    runs = ("--out", shop.url(), "--table", "runs", "--append")
    first = cli("recommend", "m.unrated", "--all", "-k", "2", *runs, env=env).stdout
    cli("recommend", "m.unrated", "--all", "-k", "1", *runs, env=env)
    counts = shop_rows(shop, "SELECT run_id, count(*) FROM runs GROUP BY run_id ORDER BY 2 DESC")
    assert [count for _, count in counts] == [600, 300]
    assert f"run_id {counts[0][0]})" in first
    cli("recommend", "m.unrated", "--all", "-k", "1", *out, "--append", env=env, expect=2)


@pytest.mark.slow  # a real process, stopped mid-write
def test_a_connection_killed_mid_write_leaves_the_old_table(
    shop: Postgres, purchases: pl.DataFrame, cli: CliRun, tmp_path: Path, env: dict[str, str]
) -> None:
    """The writer is stopped inside its transaction (rows deleted and copied, not committed)."""
    purchases.write_csv(tmp_path / "purchases.csv")
    cli("fit", "purchases.csv", "--model", "popular", "--out", "m.unrated")
    out = ("--out", shop.url(), "--table", "kept", "--all")
    cli("recommend", "m.unrated", *out, "-k", "3", env=env)
    before = shop_rows(shop, "SELECT * FROM kept ORDER BY user_id, rank")
    shop.execute(
        "CREATE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$",
        "CREATE TRIGGER stall AFTER INSERT ON kept FOR EACH STATEMENT EXECUTE FUNCTION stall()",
    )
    try:
        writer = subprocess.Popen(
            [sys.executable, "-m", "unrated", "recommend", "m.unrated", *out, "-k", "2"],
            cwd=tmp_path,
            env=os.environ | BASE_ENV | env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        waiting = (
            "SELECT pid FROM pg_stat_activity WHERE usename = 'shop' AND wait_event = 'PgSleep'"
        )
        deadline = time.monotonic() + 60
        while not (stalled := shop.execute(waiting)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stalled, "the writer never reached its insert"
        assert shop.execute("SELECT count(*) FROM kept WHERE rank = 3")[0][0] == 300
        shop.execute(f"SELECT pg_terminate_backend({stalled[0][0]})")
        stdout, stderr = writer.communicate(timeout=60)
    finally:
        shop.execute("DROP TRIGGER IF EXISTS stall ON kept", "DROP FUNCTION IF EXISTS stall()")
    assert writer.returncode == 2, (stdout, stderr)
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    assert "nothing written to table kept: the connection was lost" in stderr
    assert shop.password not in stderr
    assert shop_rows(shop, "SELECT * FROM kept ORDER BY user_id, rank") == before


@pytest.mark.parametrize(
    ("args", "password", "expected"),
    [
        (("--table", "order_lines"), "wrong", "password authentication failed for user"),
        (("--table", "order_lines"), None, "no password supplied (give it with PGPASSWORD"),
        (("--query", "SELEC 1"), "right", "SQL error: syntax error at or near"),
        (("--query", "SELECT customer_id FROM order_lines"), "right", "no item column found"),
        (("--table", "nope"), "right", 'table nope does not exist (relation "nope" does not'),
        (
            ("--query", f"{QUERY}; DROP TABLE order_lines"),
            "right",
            "the query holds more than one statement",
        ),
        (
            ("--query", "WITH gone AS (DELETE FROM order_lines RETURNING *) SELECT * FROM gone"),
            "right",
            "the query tries to change data: a source is read in a read-only transaction",
        ),
    ],
)
def test_errors_are_one_line_without_the_password(
    shop: Postgres,
    cli: CliRun,
    args: tuple[str, ...],
    password: str | None,
    expected: str,
) -> None:
    env = {"PGPASSWORD": shop.password if password == "right" else password or ""}  # noqa: S105
    done = cli("fit", shop.url(), *args, "--out", "m.unrated", env=env, expect=2)
    assert done.stderr.startswith(f"error: {shop.url()} (") and done.stderr.count("\n") == 1
    assert expected in done.stderr, done.stderr
    assert shop.password not in done.stderr and quote(shop.password) not in done.stderr
    assert shop_rows(shop, "SELECT count(*) FROM order_lines") == [(6000,)]  # nothing changed


def test_an_unreachable_server(cli: CliRun, shop: Postgres) -> None:
    url = shop.url(password=True).replace(f":{shop.port}/", f":{_closed_port()}/")
    done = cli("fit", url, "--table", "order_lines", "--out", "m.unrated", expect=2)
    warning, error = done.stderr.splitlines()
    assert warning.startswith("warning: the URL holds a password")
    assert error.startswith("error: ") and "cannot connect: connection to server at" in error
    assert "Connection refused" in error
    assert shop.password not in done.stderr and quote(shop.password, safe="") not in done.stderr
    assert "postgresql://shop@127.0.0.1:" in done.stderr


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the test connects


@pytest.mark.parametrize("way", ["url", "password-env", "pgpass"])
def test_the_password_appears_nowhere(
    shop: Postgres, cli: CliRun, tmp_path: Path, way: str
) -> None:
    env = {"UNRATED_PROGRESS": "auto", "UNRATED_PROGRESS_EVERY": "0", "PGPASSWORD": ""}
    url, extra = shop.url(), ()
    if way == "url":
        url = shop.url(password=True)
    elif way == "password-env":
        env["SHOP_SECRET"], extra = shop.password, ("--password-env", "SHOP_SECRET")
    else:
        escaped = shop.password.replace("\\", "\\\\").replace(":", "\\:")
        (tmp_path / "pgpass").write_text(f"127.0.0.1:{shop.port}:shop:shop:{escaped}\n")
        (tmp_path / "pgpass").chmod(0o600)
        env["PGPASSFILE"] = str(tmp_path / "pgpass")
    outputs = []
    for args in (
        ("fit", url, "--query", QUERY, *extra, "--model", "ease", "--out", "m.unrated"),
        ("recommend", "m.unrated", "--all", "-k", "2", "--out", url, "--table", "r", *extra),
        ("evaluate", "m.unrated", url, "--table", "order_lines", *extra, "--json"),
    ):
        done = cli(*args, env=env)
        outputs += [done.stdout, done.stderr]
    elsewhere = url.replace("/shop", "/nodb")
    failed = cli("fit", elsewhere, "--table", "t", *extra, "--out", "x", env=env, expect=2)
    outputs += [failed.stderr, (tmp_path / "m.unrated").read_bytes().decode("latin-1")]
    assert "reading postgresql://shop@127.0.0.1:" in outputs[1]
    warned = "warning: the URL holds a password, which other users of this machine can see"
    assert (warned in outputs[1]) == (way == "url")
    assert '"split": "postgresql://shop@127.0.0.1:' in outputs[4]
    for secret in {shop.password, quote(shop.password, safe="")}:
        assert not [text for text in outputs if secret in text]


@pytest.mark.slow  # compare fits and bootstraps two models
def test_split_and_compare_read_a_database(
    shop: Postgres, purchases: pl.DataFrame, cli: CliRun, tmp_path: Path
) -> None:
    env = {"PGPASSWORD": shop.password}
    cli("split", shop.url(), "--table", "order_lines", "--protocol", "last", "--out", "s", env=env)
    purchases.write_csv(tmp_path / "purchases.csv")
    cli("split", "purchases.csv", "--protocol", "last", "--out", "f")
    for name in ("train.csv", "test.csv"):
        assert (tmp_path / "s" / name).read_bytes() == (tmp_path / "f" / name).read_bytes()
    done = cli(
        "compare", shop.url(), "--query", QUERY, "--models", "popular,item-knn",
        "--bootstrap", "20", "--report", "report", env=env,
    )  # fmt: skip
    assert "item-knn" in done.stdout
    report = (tmp_path / "report" / "results.json").read_text()
    assert f'"train": "{shop.url()} (query)"' in report
