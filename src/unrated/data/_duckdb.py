"""DuckDB files through DuckDB's own package: Arrow batches out, one transaction in (internal).

Table names reach SQL only as checked names, quoted (``database.table_parts``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from unrated.data.database import MULTIPLE_STATEMENTS, READ_ONLY, RefusedError, check_columns

ERRORS = (duckdb.Error, RefusedError)
#: Rows per Arrow batch read.
BATCH_ROWS = 1 << 20


def quoted(parts: list[str]) -> str:
    """A table's names as SQL (DuckDB matches names regardless of case)."""
    return ".".join(f'"{part}"' for part in parts)


@contextmanager
def reading(path: str, sql: str) -> Iterator[tuple[int, Any]]:
    """The number of rows and a reader of ``sql``'s Arrow batches (the file opened read-only)."""
    if not Path(path).is_file():
        raise RefusedError(f"no DuckDB file at {path}")
    statements = duckdb.extract_statements(sql)
    if len(statements) > 1:
        raise RefusedError(MULTIPLE_STATEMENTS)
    if not statements:
        raise RefusedError("the query is empty")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise RefusedError(f"{READ_ONLY} (a {statements[0].type.name} statement)")
    body = re.sub(r"[\s;]+$", "", statements[0].query)
    with duckdb.connect(path, read_only=True) as connection:
        counted = connection.execute(
            f"SELECT count(*) FROM ({body}\n) AS unrated_source"  # noqa: S608  # the user's query
        ).fetchall()
        yield counted[0][0], connection.sql(body).to_arrow_reader(BATCH_ROWS)


def write(
    path: str, table: list[str], rows: Any, columns: dict[str, str], *, replace: bool
) -> None:
    """Create ``table`` if missing, delete its rows (``replace``), insert ``rows``; one commit."""
    name = quoted(table)
    names = ", ".join(f'"{column}"' for column in columns)
    with duckdb.connect(path) as connection:
        connection.begin()
        definition = ", ".join(f'"{column}" {sql}' for column, sql in columns.items())
        connection.execute(f"CREATE TABLE IF NOT EXISTS {name} ({definition})")
        check_columns(connection.sql(f"SELECT * FROM {name} LIMIT 0").columns, columns, table)  # noqa: S608
        if replace:
            connection.execute(f"DELETE FROM {name}")  # noqa: S608
        connection.register("unrated_rows", rows)
        connection.execute(f"INSERT INTO {name} ({names}) SELECT {names} FROM unrated_rows")  # noqa: S608
        connection.commit()


def message(error: Exception, table: str | None) -> str:
    """DuckDB's message, first line."""
    text = str(error).strip().split("\n")[0]
    if "read-only mode" in text:
        return READ_ONLY
    return text
