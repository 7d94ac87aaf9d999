"""Starting and stopping Spark for ``--engine spark``: quiet, loopback-only in local mode.

A local master (``local[N]``, the default) starts a JVM on this machine whose driver binds
127.0.0.1 only, with half the machine's memory (``spark.driver.memory``), the web UI off and
the JVM's own output (log4j, JVM warnings) sent to a log file instead of the terminal. Any
other master (YARN, Kubernetes, ``spark://``) is given to Spark unchanged, and so is a
session that already runs: under ``spark-submit`` or on Databricks, unrated uses the
cluster's session and leaves it running.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from unrated.errors import EngineError, InvalidParameterError

#: Log4j 2 settings of a local JVM: warnings and errors only, into the JVM's stderr (a file).
_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex
"""


def import_pyspark() -> Any:
    """The pyspark module, or an error that says how to install it."""
    try:
        import pyspark
    except ImportError:
        raise EngineError(
            "--engine spark needs PySpark: pip install 'unrated[spark]' (and Java 17 or newer)"
        ) from None
    return pyspark


def find_java() -> str:
    """The java executable Spark will start (``$JAVA_HOME/bin/java`` or the one on PATH)."""
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home, "bin", "java") if home else None
    java = str(candidate) if candidate and candidate.exists() else shutil.which("java")
    if java is None:
        raise EngineError(
            "--engine spark needs Java 17 or newer and none was found: install a JDK or JRE "
            "(e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )
    return java


def parse_conf(pairs: list[str]) -> dict[str, str]:
    """``["k=v", ...]`` (``--spark-conf``) as a dict; the error names a malformed pair."""
    conf = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterError(f"--spark-conf must be key=value, got {pair!r}")
        conf[key.strip()] = value.strip()
    return conf


@contextmanager
def spark_session(
    master: str | None = None, conf: Mapping[str, str] | None = None, *, app_name: str = "unrated"
) -> Iterator[Any]:
    """Yield a SparkSession; stop it afterwards if this function started it.

    Args:
        master: the Spark master URL; None uses the running session's, or ``local[*]``.
        conf: extra Spark settings (``spark.executor.memory`` ...); they win over unrated's.
        app_name: the application name shown by the cluster manager.
    """
    import_pyspark()
    from pyspark.sql import SparkSession

    running = SparkSession.getActiveSession()
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ  # started by spark-submit
    if running is not None or (under_submit and master is None):
        if running is None:
            running = _quietly(lambda: _builder(SparkSession, conf).getOrCreate())
        for key, value in (conf or {}).items():
            running.conf.set(key, value)  # runtime (SQL) settings only; others need a restart
        yield running
        return
    find_java()
    master = master or "local[*]"
    folder = Path(tempfile.mkdtemp(prefix="unrated-spark-"))
    settings = _settings(master, folder) | dict(conf or {})
    session, failed = None, True
    try:
        session = _start_local_or_remote(master, settings, folder)
        yield session
        failed = False
    finally:
        if session is not None:
            session.stop()
        if not failed:
            shutil.rmtree(folder, ignore_errors=True)


def _settings(master: str, folder: Path) -> dict[str, str]:
    settings = {
        "spark.app.name": "unrated",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.adaptive.enabled": "true",
    }
    if master.startswith("local"):
        (folder / "log4j2.properties").write_text(_LOG4J2)
        settings |= {
            "spark.local.dir": str(folder / "local"),
            # ALS cuts its lineage here every 10 iterations (a long lineage overflows the stack)
            "spark.checkpoint.dir": str(folder / "checkpoints"),
            # local mode runs everything in the driver's JVM: Spark's default of 1g is
            # too little for ALS on millions of pairs; half the machine unless told
            "spark.driver.memory": f"{_half_memory_gib()}g",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.extraJavaOptions": (
                f"-Dlog4j2.configurationFile=file:{folder / 'log4j2.properties'}"
            ),
        }
    return settings


def _half_memory_gib() -> int:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on this platform
        return 2
    return max(1, total // 2**31)


def _start_local_or_remote(master: str, settings: dict[str, str], folder: Path) -> Any:
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    conf = SparkConf().setMaster(master).setAll(list(settings.items()))
    log_path = folder / "spark.log"
    local = master.startswith("local")
    # SPARK_LOCAL_IP: the JVM would otherwise pick the first non-loopback interface.
    saved = os.environ.get("SPARK_LOCAL_IP")
    if local:
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    try:
        gateway = SparkContext._gateway  # a JVM started earlier in this process is reused
        if gateway is None:
            with open(log_path, "ab") as log:  # the JVM inherits the descriptor and keeps it
                gateway = launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log})
        context = _quietly(lambda: SparkContext(master, conf=conf, gateway=gateway))
    except Exception as error:
        raise EngineError(
            f"Spark did not start ({_last_line(log_path) or type(error).__name__}); "
            f"the JVM's log is {log_path}"
        ) from None
    finally:
        if local:
            if saved is None:
                os.environ.pop("SPARK_LOCAL_IP", None)
            else:
                os.environ["SPARK_LOCAL_IP"] = saved
    return SparkSession(context)


def _builder(session_class: Any, conf: Mapping[str, str] | None) -> Any:
    builder = session_class.builder.appName("unrated")
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder


def _quietly(start: Any) -> Any:
    # PySpark imports its test helpers while starting, which warn that pandas 3 is not fully
    # supported. unrated never hands Spark data through pandas (only Arrow), so that one
    # warning does not apply; every other warning still shows.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
        )
        return start()


def _last_line(path: Path) -> str:
    """The last error-looking line of the JVM log (for a one-line message)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if any(word in line for word in ("Error", "ERROR", "Exception")):
            return line.strip()[:300]
    return lines[-1].strip()[:300] if lines else ""
