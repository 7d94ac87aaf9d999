"""PostgreSQL through ADBC's libpq driver: binary COPY into Arrow batches, and back (internal).

Table names reach SQL only as checked names, quoted (``database.table_parts``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as dbapi

from unrated.data.database import MULTIPLE_STATEMENTS, READ_ONLY, RefusedError, check_columns

ERRORS = (adbc_driver_manager.Error, RefusedError)
#: SQLSTATE classes of a lost connection: connection exceptions, operator intervention.
_LOST = ("08", "57P")


def quoted(parts: list[str]) -> str:
    """A table's names as SQL, folded to lower case as PostgreSQL folds unquoted names."""
    return ".".join(f'"{part.lower()}"' for part in parts)


@contextmanager
def reading(url: str, sql: str) -> Iterator[tuple[int, Any]]:
    """The planner's row estimate and a reader of ``sql``'s Arrow batches (read-only)."""
    with dbapi.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION READ ONLY")
        total = _estimate(connection, sql)
        cursor.execute(sql)
        yield total, cursor.fetch_record_batch()


def _estimate(connection: dbapi.Connection, sql: str) -> int:
    """Rows the planner expects ``sql`` to return (EXPLAIN runs nothing)."""
    with connection.cursor() as cursor:
        cursor.adbc_statement.set_options(**{"adbc.postgresql.use_copy": "false"})
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        row = cursor.fetchone()
    return int(json.loads(row[0])[0]["Plan"]["Plan Rows"]) if row else 0


def write(url: str, table: list[str], rows: Any, columns: dict[str, str], *, replace: bool) -> None:
    """Create ``table`` if missing, delete its rows (``replace``), COPY ``rows`` in; one commit."""
    name = quoted(table)
    with dbapi.connect(url) as connection, connection.cursor() as cursor:
        definition = ", ".join(f'"{column}" {sql}' for column, sql in columns.items())
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {name} ({definition})")
        cursor.execute(f"SELECT * FROM {name} LIMIT 0")  # noqa: S608
        check_columns([d[0] for d in cursor.description or ()], columns, table)
        if replace:
            cursor.execute(f"DELETE FROM {name}")  # noqa: S608
        schema = table[-2].lower() if len(table) > 1 else None
        cursor.adbc_ingest(table[-1].lower(), rows, mode="append", db_schema_name=schema)
        connection.commit()


def message(error: Exception, table: str | None) -> str:
    """One line saying what went wrong, from the server's own words."""
    if isinstance(error, RefusedError):
        return str(error)
    details = dict(getattr(error, "details", None) or ())
    primary = details.get(b"PG_DIAG_MESSAGE_PRIMARY", b"").decode(errors="replace")
    state = getattr(error, "sqlstate", None) or ""
    if "multiple commands" in primary:
        return MULTIPLE_STATEMENTS
    if state == "25006":
        return READ_ONLY
    if state == "42P01" and table is not None:
        return f"table {table} does not exist ({primary})"
    if primary:
        lost = state.startswith(_LOST)
        return f"the connection was lost: {primary}" if lost else f"SQL error: {primary}"
    text = re.sub(r"^[A-Z_]+: (\[libpq\] )?", "", str(error)).strip()
    first = " ".join(text.split("\n")[0].split())
    if "no password supplied" in text:
        first += " (give it with PGPASSWORD, ~/.pgpass or --password-env VAR)"
    if first.startswith("Failed to connect: "):
        return "cannot connect: " + first.removeprefix("Failed to connect: ")
    return first
