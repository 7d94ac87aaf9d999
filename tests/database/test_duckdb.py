"""DuckDB files as a source and a destination, and the URL rules shared with PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import unrated as ur
from tests.cli.conftest import CliRun
from tests.database.conftest import assert_same_model
from unrated.data.database import Database, is_database, redacted
from unrated.errors import InvalidParameterError

duckdb = pytest.importorskip("duckdb", reason="pip install 'unrated[duckdb]'")

QUERY = "SELECT customer_id, product_id, created_at FROM order_lines"


@pytest.fixture
def shop(tmp_path: Path, purchases: pl.DataFrame) -> Path:
    """``shop.duckdb`` in the test's folder, with ``order_lines`` and ``typed`` tables."""
    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.register("purchases", purchases.to_arrow())
        connection.execute("CREATE TABLE order_lines AS SELECT * FROM purchases")
        connection.execute(
            "CREATE TABLE typed AS SELECT (i % 11)::HUGEINT AS user_id, "
            "(i % 13)::BIGINT + 9007199254740993 AS item_id, "
            "uuid_extract_version(gen_random_uuid()) AS weight FROM range(300) r(i)"
        )
    return path


def test_fit_from_a_query_equals_fit_from_the_csv(
    shop: Path, purchases: pl.DataFrame, cli: CliRun, tmp_path: Path
) -> None:
    purchases.write_csv(tmp_path / "purchases.csv")
    cli("fit", "purchases.csv", "--model", "ease", "--out", "csv.unrated")
    done = cli("fit", "duckdb:///shop.duckdb", "--query", QUERY, "-m", "ease", "-o", "q.unrated")
    assert "columns: user=customer_id, item=product_id, time=created_at" in done.stderr
    assert_same_model(tmp_path / "csv.unrated", tmp_path / "q.unrated")
    absolute = f"duckdb:///{shop}"  # four slashes: an absolute path
    assert absolute.startswith("duckdb:////")
    cli("fit", absolute, "--table", "order_lines", "-m", "ease", "-o", "t.unrated")
    assert_same_model(tmp_path / "csv.unrated", tmp_path / "t.unrated")


def test_ids_keep_their_database_types(shop: Path) -> None:
    data = ur.read_interactions(Database(f"duckdb:///{shop}", table="typed"))
    assert data.users.ids.dtype == np.int64 and data.users.ids.tolist() == list(range(11))
    assert data.items.ids.dtype == np.int64
    assert data.items.ids.min() == 9007199254740993  # beyond 2**53: exact, not a float
    text = ur.read_interactions(Database(f"duckdb:///{shop}", query=QUERY))
    assert "007" in text.items.ids.tolist()


def test_uuid_ids_are_their_text(tmp_path: Path) -> None:
    path = tmp_path / "u.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "CREATE TABLE t AS SELECT '0b7f1c9e-4a52-4d3e-9c1a-2f6e8d9a0b1c'::UUID AS user_id, "
            "i AS item_id FROM range(3) r(i)"
        )
    data = ur.read_interactions(Database(f"duckdb:///{path}", table="t"))
    assert data.users.ids.tolist() == ["0b7f1c9e-4a52-4d3e-9c1a-2f6e8d9a0b1c"]


def test_recommendations_written_back_equal_the_csv_then_replaced_or_appended(
    shop: Path, purchases: pl.DataFrame, cli: CliRun, tmp_path: Path
) -> None:
    purchases.write_csv(tmp_path / "purchases.csv")
    cli("fit", "purchases.csv", "--model", "item-knn", "--out", "m.unrated")
    cli("recommend", "m.unrated", "--all", "-k", "5", "--out", "recs.csv")
    out = ("--out", "duckdb:///shop.duckdb", "--table", "recommendations")
    cli("recommend", "m.unrated", "--all", "-k", "5", *out)
    expected = pl.read_csv(tmp_path / "recs.csv", schema_overrides={"user_id": pl.String})
    with duckdb.connect(str(shop), read_only=True) as connection:
        written = connection.sql("SELECT * FROM recommendations ORDER BY user_id, rank").pl()
    assert written.columns == ["user_id", "item_id", "rank", "score"]
    assert written.select(pl.exclude("score")).equals(
        expected.select(pl.exclude("score")).cast({"item_id": pl.String, "rank": pl.Int32})
    )
    assert np.array_equal(written["score"], expected["score"].cast(pl.Float32))
    cli("recommend", "m.unrated", "--all", "-k", "2", *out)
    runs = ("--out", "duckdb:///shop.duckdb", "--table", "runs", "--append")
    cli("recommend", "m.unrated", "--all", "-k", "2", *runs)
    cli("recommend", "m.unrated", "--all", "-k", "1", *runs)
    with duckdb.connect(str(shop), read_only=True) as connection:
        assert connection.sql("SELECT max(rank), count(*) FROM recommendations").fetchall() == [
            (2, 600)
        ]
        counts = connection.sql("SELECT count(*) FROM runs GROUP BY run_id ORDER BY 1").fetchall()
    assert counts == [(300,), (600,)]


def test_a_failure_mid_write_leaves_the_old_rows(
    shop: Path, purchases: pl.DataFrame, cli: CliRun, tmp_path: Path
) -> None:
    """The old rows are deleted and new ones inserted in one transaction: the insert fails."""
    purchases.write_csv(tmp_path / "purchases.csv")
    cli("fit", "purchases.csv", "--model", "popular", "--out", "m.unrated")
    with duckdb.connect(str(shop)) as connection:
        connection.execute(
            "CREATE TABLE kept (user_id TEXT, item_id TEXT, rank INTEGER CHECK (rank <= 3), "
            "score REAL)"
        )
    out = ("--out", "duckdb:///shop.duckdb", "--table", "kept", "--all")
    cli("recommend", "m.unrated", *out, "-k", "3")
    done = cli("recommend", "m.unrated", *out, "-k", "4", expect=2)
    assert done.stderr.startswith("error: duckdb:///shop.duckdb (table kept): nothing written")
    assert "CHECK constraint" in done.stderr and done.stderr.count("\n") == 1
    with duckdb.connect(str(shop), read_only=True) as connection:
        assert connection.sql("SELECT count(*), max(rank) FROM kept").fetchall() == [(900, 3)]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--table", "nope"), "Table with name nope does not exist"),
        (("--query", "SELECT customer_id FROM order_lines"), "no item column found"),
        (("--query", f"{QUERY}; DROP TABLE order_lines"), "more than one statement"),
        (("--query", "DELETE FROM order_lines"), "tries to change data"),
        (("--query", "SELEC 1"), "syntax error"),
        (("--query", f"{QUERY} WHERE false"), "no interactions"),
        (("--table", "order_lines; DROP TABLE x"), "--table must be a name"),
        (("--table", "a", "--query", QUERY), "give a table or a query to read (one of them)"),
        ((), "give a table or a query"),
    ],
)
def test_errors_are_one_line(shop: Path, cli: CliRun, args: tuple[str, ...], expected: str) -> None:
    done = cli("fit", "duckdb:///shop.duckdb", *args, "--out", "m.unrated", expect=2)
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert expected in done.stderr, done.stderr
    with duckdb.connect(str(shop), read_only=True) as connection:
        assert connection.sql("SELECT count(*) FROM order_lines").fetchall() == [(6000,)]


def test_a_missing_file_and_misplaced_options(cli: CliRun) -> None:
    done = cli("fit", "duckdb:///none.duckdb", "--table", "t", "--out", "m.unrated", expect=2)
    assert "no DuckDB file at none.duckdb" in done.stderr
    done = cli("fit", "data.csv", "--table", "t", "--out", "m.unrated", expect=2)
    assert "--table is for a database URL" in done.stderr
    done = cli("recommend", "m.unrated", "--all", "--table", "t", expect=2)
    assert "--table is for an --out database URL" in done.stderr
    done = cli("fit", "duckdb:///x.duckdb", "--password-env", "X", "--out", "m", expect=2)
    assert "--password-env is for PostgreSQL URLs" in done.stderr
    spark = ("--engine", "spark", "--model", "ials", "--out", "m")
    done = cli("fit", "duckdb:///x.duckdb", "--table", "t", *spark, expect=2)
    assert "--engine spark reads files; a database trains locally" in done.stderr


def test_urls_shown_without_their_password() -> None:
    url = "postgresql://shop:s3cr%40t@db.example:5432/shop?sslmode=require&password=s3cr%40t"
    assert redacted(url) == "postgresql://shop@db.example:5432/shop?sslmode=require"
    source = Database(url, table="order_lines")
    assert "s3cr" not in repr(source) and "s3cr" not in str(source)
    assert (
        str(source) == "postgresql://shop@db.example:5432/shop?sslmode=require (table order_lines)"
    )
    assert redacted("duckdb:///shop.duckdb") == "duckdb:///shop.duckdb"
    assert [is_database(s) for s in ("postgres://h/d", "DUCKDB:///x", "x.csv", "s3://b/k")] == [
        True,
        True,
        False,
        False,
    ]
    with pytest.raises(InvalidParameterError, match="a database URL starts with"):
        Database("mysql://shop:s3cr@h/d", table="t")
    with pytest.raises(InvalidParameterError, match="give a table or a query"):
        ur.read_interactions("duckdb:///shop.duckdb")
