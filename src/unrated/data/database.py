"""Interactions read from PostgreSQL or DuckDB; frames written back in one transaction.

URLs as SQLAlchemy writes them: ``postgresql://USER@HOST:PORT/DB`` (or ``postgres://``) and
``duckdb:///relative/shop.duckdb`` / ``duckdb:////absolute/shop.duckdb``. A PostgreSQL
password comes from the URL, ``PGPASSWORD``, ``~/.pgpass`` (libpq reads both) or the
environment variable named by ``password_env``; it never appears in a message: every URL shown
is :func:`redacted`, and driver messages are scrubbed of it.

Rows stream from the database in Arrow batches (ADBC's libpq driver reads with binary COPY;
DuckDB's own Arrow reader), with a progress bar of rows read, and become the same frame a
Parquet file gives (ids keep their database types: integers stay integers, text stays text).
A source is read in a read-only transaction and a query must be a single statement: a
``;``-separated second statement is refused, so that nothing but one SELECT can run.
"""

from __future__ import annotations

import importlib
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from secrets import token_hex
from types import ModuleType
from typing import Any, cast
from urllib.parse import parse_qs, quote, unquote, urlsplit

import polars as pl

from unrated._progress import progress_bar
from unrated.data._cells import Places
from unrated.errors import DataError, InvalidParameterError, UnratedWarning

__all__ = [
    "Database",
    "is_database",
    "read_database",
    "redacted",
    "warn_password_in_url",
    "write_database",
]

MULTIPLE_STATEMENTS = (
    "the query holds more than one statement (';' and more after it): give one SELECT; "
    "nothing else runs on a source"
)
READ_ONLY = "the query tries to change data: a source is read in a read-only transaction"

#: URL scheme -> backend.
SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "duckdb": "duckdb"}
#: Backend -> its module, and the extra that installs its driver.
_DRIVERS = {"postgresql": ("_postgres", "postgres"), "duckdb": ("_duckdb", "duckdb")}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
#: The column that tells apart the runs appended to one table.
RUN_COLUMN = "run_id"
_UUID_GROUPS = ((0, 8), (8, 4), (12, 4), (16, 4), (20, 12))
_SQL_TYPES = {
    pl.Int64: "BIGINT",
    pl.Int32: "INTEGER",
    pl.Float32: "REAL",
    pl.Float64: "DOUBLE PRECISION",
    pl.String: "TEXT",
    pl.Boolean: "BOOLEAN",
}


@dataclass(frozen=True, repr=False)
class Database:
    """A table or a query of a database, to read interactions from or write a frame to.

    ``read_interactions(Database("postgresql://shop@db:5432/shop", table="order_lines"))``;
    ``query="SELECT customer_id, product_id, created_at FROM order_lines"`` reads a query
    instead. ``password_env`` names an environment variable holding the password.
    """

    url: str
    table: str | None = None
    query: str | None = None
    password_env: str | None = None

    def __post_init__(self) -> None:
        if not is_database(self.url):
            raise InvalidParameterError(
                "a database URL starts with postgresql://, postgres:// or duckdb:///, "
                f"got {redacted(self.url)!r}"
            )
        if self.password_env is not None and self.kind != "postgresql":
            raise InvalidParameterError("--password-env is for PostgreSQL URLs")
        if self.table is not None:
            table_parts(self.table)  # checks the name now

    @property
    def kind(self) -> str:
        """``"postgresql"`` or ``"duckdb"``."""
        return SCHEMES[self.url.split("://", 1)[0].lower()]

    def __str__(self) -> str:
        """The URL without its password, and the table or "query"."""
        what = f"table {self.table}" if self.table is not None else "query"
        return f"{redacted(self.url)} ({what})"

    def __repr__(self) -> str:
        return f"Database({redacted(self.url)!r}, table={self.table!r}, query={self.query!r})"


def is_database(source: object) -> bool:
    """Whether ``source`` is a :class:`Database` or a string with a database URL scheme."""
    if isinstance(source, Database):
        return True
    if not isinstance(source, str) or "://" not in source:
        return False
    return source.split("://", 1)[0].lower() in SCHEMES


def redacted(url: str) -> str:
    """``url`` without a password (in the user part or a ``password=`` parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = "&".join(
        p for p in parts.query.split("&") if p and not p.lower().startswith("password=")
    )
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def warn_password_in_url(url: str) -> None:
    """Warn that a password on a command line is visible to this machine's other users."""
    if urlsplit(url).password:
        warnings.warn(
            "the URL holds a password, which other users of this machine can see in the "
            "process list: prefer PGPASSWORD, ~/.pgpass or --password-env VAR",
            UnratedWarning,
            stacklevel=2,
        )


def table_parts(table: str) -> list[str]:
    """``schema.table`` as its names; each must be a plain SQL name (use a query otherwise)."""
    parts = table.split(".")
    if len(parts) > 3 or not all(_NAME.fullmatch(part) for part in parts):
        raise InvalidParameterError(
            "--table must be a name such as purchases or shop.purchases (letters, digits, _), "
            f"got {table!r}; for anything else give --query"
        )
    return parts


def read_database(source: Database | str) -> tuple[pl.DataFrame, Places]:
    """The rows of ``source``'s table or query as a frame, and where they came from."""
    import pyarrow as pa

    db = source if isinstance(source, Database) else Database(source)
    if (db.table is None) == (db.query is None):
        raise InvalidParameterError(
            f"{redacted(db.url)}: give a table or a query to read (one of them), e.g. "
            "--table purchases or Database(url, table='purchases')"
        )
    backend = _backend(db)
    frames: list[pl.DataFrame] = []
    rows = 0
    with _translated(db, backend):
        if db.table is not None:
            sql = f"SELECT * FROM {backend.quoted(table_parts(db.table))}"  # noqa: S608  # a checked name
        else:
            sql = str(db.query)
        with (
            backend.reading(_location(db), sql) as (total, reader),
            progress_bar(max(total, 1), f"reading {redacted(db.url)}") as advance,
        ):
            for batch in reader:
                frames.append(_frame(batch))
                rows += batch.num_rows
                advance(batch.num_rows, info=f"{rows:,} rows")
            if not frames:
                frames.append(_frame(pa.RecordBatch.from_pylist([], schema=reader.schema)))
    frame = pl.concat(frames, how="vertical", rechunk=False) if len(frames) > 1 else frames[0]
    return frame, Places(str(db))


def write_database(frame: pl.DataFrame, target: Database, *, append: bool = False) -> str | None:
    """Write ``frame`` to ``target.table`` in one transaction; nothing is written on a failure.

    The table is created when missing. By default its rows are replaced (readers see the old
    rows until the commit); ``append=True`` adds the rows under a new ``run_id`` column value
    (returned), keeping earlier runs.
    """
    if target.table is None or target.query is not None:
        raise InvalidParameterError(f"{redacted(target.url)}: give --table to write to")
    run_id = None
    if append:
        run_id = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ-") + token_hex(3)
        frame = frame.select(pl.lit(run_id).alias(RUN_COLUMN), pl.all())
    backend = _backend(target)
    columns = {name: _sql_type(name, dtype) for name, dtype in frame.schema.items()}
    with _translated(target, backend, f"nothing written to table {target.table}: "):
        location, table = _location(target), table_parts(target.table)
        backend.write(location, table, frame.to_arrow(), columns, replace=not append)
    return run_id


class RefusedError(Exception):
    """A source or table that a backend refuses before the driver sees it (internal)."""


def check_columns(present: list[str], wanted: dict[str, str], table: list[str]) -> None:
    """Refuse a table that lacks a column to write (an older or a foreign table)."""
    if missing := [column for column in wanted if column not in present]:
        hint = " (--append needs one)" if RUN_COLUMN in missing else ""
        raise RefusedError(
            f"table {'.'.join(table)} has no column {', '.join(missing)}{hint}; its columns: "
            f"{', '.join(present)}; give another --table"
        )


def _sql_type(name: str, dtype: pl.DataType) -> str:
    for kind, sql in _SQL_TYPES.items():
        if dtype == kind:
            return sql
    raise DataError(f"column {name!r} of type {dtype} has no SQL type here")


def _backend(db: Database) -> ModuleType:
    try:
        return importlib.import_module(f"unrated.data.{_DRIVERS[db.kind][0]}")
    except ImportError as error:
        raise InvalidParameterError(
            f"{db.kind} URLs need the {error.name} package: "
            f"pip install 'unrated[{_DRIVERS[db.kind][1]}]'"
        ) from None


def _location(db: Database) -> str:
    """What the backend opens: a libpq URL with the password put in, or a DuckDB file path."""
    if db.kind == "duckdb":
        path = urlsplit(db.url).path
        return path[1:] if path.startswith("/") else path
    if db.password_env is None:
        return db.url
    password = os.environ.get(db.password_env)
    if password is None:
        raise InvalidParameterError(
            f"--password-env {db.password_env}: the environment variable is not set"
        )
    parts = urlsplit(db.url)
    user_part, _, host = parts.netloc.rpartition("@")
    user = user_part.split(":", 1)[0]
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")


@contextmanager
def _translated(db: Database, backend: ModuleType, prefix: str = "") -> Iterator[None]:
    """Driver errors as one-line :class:`DataError` naming the source, without the password."""
    try:
        yield
    except backend.ERRORS as error:
        text = _scrubbed(backend.message(error, db.table), db)
        raise DataError(prefix + text, path=str(db)) from None


def _scrubbed(text: str, db: Database) -> str:
    """``text`` with any password of ``db`` (as given, or percent-encoded) replaced by ***."""
    parts = urlsplit(db.url)
    secrets = {parts.password or "", os.environ.get("PGPASSWORD", "")}
    secrets |= set(parse_qs(parts.query).get("password", []))
    if db.password_env is not None:
        secrets.add(os.environ.get(db.password_env, ""))
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        for form in {secret, unquote(secret), quote(secret, safe="")}:
            text = text.replace(form, "***")
    return text


def _frame(batch: Any) -> pl.DataFrame:
    """An Arrow batch as polars; UUIDs as their text, other extension types as their storage."""
    import pyarrow as pa

    uuids, columns = [], []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        if isinstance(field.type, pa.BaseExtensionType):
            if field.type.extension_name == "arrow.uuid":
                uuids.append(field.name)
            column = column.storage
        columns.append(column)
    frame = cast(
        pl.DataFrame, pl.from_arrow(pa.RecordBatch.from_arrays(columns, batch.schema.names))
    )
    texts = [
        pl.concat_str(
            [pl.col(name).bin.encode("hex").str.slice(*group) for group in _UUID_GROUPS],
            separator="-",
        )
        for name in uuids
    ]
    return frame.with_columns(texts) if texts else frame
