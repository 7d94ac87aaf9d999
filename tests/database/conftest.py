"""A throwaway PostgreSQL server for the database tests: initdb in a temporary folder, a free port.

The server's binaries come from Debian's ``postgresql`` package (``.ci/run`` installs it). Where
they are missing the PostgreSQL tests are skipped with the reason, except under CI, where that
fails. Passwords are generated for each run; none is in the repository.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.cli.conftest import cli  # noqa: F401  # the CLI fixture, for these tests too


def server_binaries() -> Path | None:
    """The folder of initdb and pg_ctl: Debian's newest /usr/lib/postgresql/N/bin, or PATH's."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    if debian:
        return debian[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@dataclass(frozen=True)
class Postgres:
    """A running server: the superuser ``postgres`` and a user ``shop`` owning database ``shop``."""

    port: int
    admin_password: str
    password: str  # the shop user's; has characters a URL must percent-encode
    folder: Path

    def url(self, *, password: bool = False, user: str = "shop", database: str = "shop") -> str:
        secret = f":{quote(self.password, safe='')}" if password else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{database}"

    def admin(self, database: str = "shop") -> Any:
        """A superuser connection (ADBC DB-API), autocommit on."""
        import adbc_driver_postgresql.dbapi as dbapi

        url = f"postgresql://postgres:{self.admin_password}@127.0.0.1:{self.port}/{database}"
        return dbapi.connect(url, autocommit=True)

    def execute(self, *statements: str, database: str = "shop") -> list[tuple[Any, ...]]:
        """Run ``statements`` as the superuser; the last one's rows."""
        rows: list[tuple[Any, ...]] = []
        with self.admin(database) as connection, connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
                rows = cursor.fetchall() if cursor.description else []
        return rows


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_postgres(binaries: Path) -> Iterator[Postgres]:
    """A fresh cluster on a free port (as Debian's postgres user under root), deleted after."""
    # initdb refuses to run as root: then the server runs as Debian's postgres user.
    owner = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.gettempdir())
    if owner is not None and not all(p.stat().st_mode & 0o001 for p in (base, *base.parents)):
        base = Path("/tmp")  # noqa: S108  # the postgres user must reach the folder
    folder = Path(tempfile.mkdtemp(prefix="unrated-postgres-", dir=base))
    admin_password, password = secrets.token_urlsafe(18), secrets.token_urlsafe(12) + "@:/%"
    (folder / "pw").write_text(admin_password)
    if owner is not None:
        for path in (folder, folder / "pw"):
            shutil.chown(path, owner, owner)
    os.chmod(folder / "pw", 0o600)
    data, port = folder / "data", _free_port()

    def run(*args: str) -> None:
        done = subprocess.run(args, user=owner, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr or done.stdout}")

    try:
        run(
            str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
            "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={folder / 'pw'}",
            "--no-sync",
        )  # fmt: skip
        options = f"-p {port} -h 127.0.0.1 -k '' -F"  # TCP only: no socket path to fit
        run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
            options, "start")  # fmt: skip
        server = Postgres(port, admin_password, password, folder)
        try:
            server.execute(
                f"CREATE ROLE shop LOGIN PASSWORD '{password}'",
                "CREATE DATABASE shop OWNER shop",
                database="postgres",
            )
            yield server
        finally:
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A fresh cluster for this test process, stopped and deleted at the end."""
    binaries = server_binaries()
    if binaries is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found: "
        message += "apt-get install postgresql"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (.ci/run installs it)")
        pytest.skip(message)
    pytest.importorskip("adbc_driver_postgresql", reason="pip install 'unrated[postgres]'")
    with running_postgres(binaries) as server:
        yield server


@pytest.fixture(scope="session")
def purchases() -> Any:
    """A small shop log with text ids ("C00042", "SKU-7", one "007") and dates; fixed seed."""
    import polars as pl

    from unrated.data.synthetic import make_purchases

    log = make_purchases(users=300, items=120, interactions=6000, seed=3)
    return log.select(
        pl.format("C{}", pl.col("user_id").cast(pl.String).str.zfill(5)).alias("customer_id"),
        pl.when(pl.col("item_id") == 7)
        .then(pl.lit("007"))
        .otherwise(pl.format("SKU-{}", pl.col("item_id")))
        .alias("product_id"),
        pl.from_epoch("timestamp").alias("created_at"),
    )


def model_arrays(path: Path) -> dict[str, Any]:
    """Every tensor of a model file, and its trained_on fingerprint."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        arrays = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
        arrays["trained_on"] = (handle.metadata() or {}).get("trained_on")
    return arrays


def assert_same_model(first: Path, second: Path) -> None:
    import numpy as np

    a, b = model_arrays(first), model_arrays(second)
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name]), name
