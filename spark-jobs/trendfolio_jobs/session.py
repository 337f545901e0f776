"""One Spark session per process, tuned to start fast and to listen on 127.0.0.1 in local mode."""

from __future__ import annotations

import logging
import os
import sys
import threading
import warnings
from pathlib import Path

from pyspark.sql import SparkSession

from trendfolio.config import Settings
from trendfolio.wiring import spark_master

log = logging.getLogger(__name__)

POSTGRES_PACKAGE = "org.postgresql:postgresql:42.7.14"
_POSTGRES_JAR = "org.postgresql_postgresql-42.7.14.jar"
SHUFFLE_PARTITIONS = 4
_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.hadoop.name = org.apache.hadoop.util.NativeCodeLoader
logger.hadoop.level = error
"""
_JVM_OPTIONS = ("-Duser.timezone=UTC",)
# A job over this many sessions or more is a long one (a backfill of a year and up).
LONG_JOB_SESSIONS = 250
# Short jobs (a daily run): C1 only, since compiling quickly beats compiling well, and the
# default 1 GiB heap. Long jobs: full tiered compilation (C1-only code ran a ten-year
# backfill's windows and joins twice as slowly) and a 4 GiB heap (in local mode the driver is
# the executor, so its heap holds every task's buffers).
SHORT_JOB_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)
LONG_JOB_DRIVER_MEMORY = "4g"

_lock = threading.Lock()
_session: SparkSession | None = None

warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)
logging.getLogger("py4j").setLevel(logging.WARNING)


def get_spark(settings: Settings, sessions: int = 1) -> SparkSession:
    """The process's Spark session, created on first use with ``settings`` and sized for jobs
    over ``sessions`` sessions (a session already running is returned as it is)."""
    global _session
    with _lock:
        if _session is None or getattr(_session.sparkContext, "_jsc", None) is None:
            _session = _build(settings, sessions)
        return _session


def start_in_background(settings: Settings, sessions: int = 1) -> threading.Thread:
    """Start and warm up the session in a daemon thread while other (I/O-bound) stages run."""
    thread = threading.Thread(
        target=_start_warm, args=(settings, sessions), name="spark-start", daemon=True
    )
    thread.start()
    return thread


def _start_warm(settings: Settings, sessions: int) -> None:
    try:
        warm_up(get_spark(settings, sessions))
    except Exception:  # a failed warm-up only costs time: the stage itself will report
        log.warning("Spark warm-up failed", exc_info=True)


def warm_up(spark: SparkSession) -> None:
    """Run a tiny job through the operators the stages use (JIT, codegen, Python workers)."""
    import pandas as pd
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    frame = spark.createDataFrame(
        [("A", 1, 1.0), ("A", 2, 2.0), ("B", 1, 3.0)], "ticker string, idx int, close double"
    )
    by_ticker = Window.partitionBy("ticker").orderBy("idx")
    (
        frame.withColumn("prev", F.first("close").over(by_ticker.rangeBetween(-1, -1)))
        .join(F.broadcast(frame.select("ticker").distinct()), "ticker")
        .groupBy("ticker")
        .applyInPandas(lambda g: pd.DataFrame(g[["ticker", "idx"]]), "ticker string, idx int")
        .collect()
    )


def stop_spark() -> None:
    """Stop the process's Spark session, if any."""
    global _session
    with _lock:
        if _session is not None:
            _session.stop()
            _session = None


def _is_local(master: str) -> bool:
    return master.startswith("local")


def _log4j2_file(home: Path) -> Path:
    path = home / "spark" / "log4j2.properties"
    if not path.exists() or path.read_text() != _LOG4J2:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_LOG4J2)
    return path


def _cached_jars(ivy: Path) -> list[Path]:
    """The JDBC driver jars an earlier Ivy resolution left in ``ivy/jars`` (empty when none)."""
    jars = ivy / "jars"
    if not (jars / _POSTGRES_JAR).is_file():
        return []
    return sorted(jars.glob("*.jar"))


def spark_conf(settings: Settings, sessions: int = 1) -> dict[str, str]:
    """Every Spark setting the session is built with, for jobs over ``sessions`` sessions."""
    home = settings.home.resolve()
    master = spark_master(settings)
    long_job = sessions >= LONG_JOB_SESSIONS
    java_options = [
        *(() if long_job else SHORT_JOB_JVM_OPTIONS),
        *_JVM_OPTIONS,
        f"-Dlog4j2.configurationFile=file:{_log4j2_file(home)}",
    ]
    conf = {
        "spark.master": master,
        "spark.app.name": "trendfolio",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(SHUFFLE_PARTITIONS),
        # small local frames (dates, periods) in one partition: no cartesian blow-up of tasks
        "spark.default.parallelism": "1",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.extraJavaOptions": " ".join(java_options),
    }
    ivy = home / "ivy"
    cached = _cached_jars(ivy)
    if cached:
        # Ivy already resolved the driver once: skip its resolution round on every start.
        conf["spark.jars"] = ",".join(str(j) for j in cached)
    else:
        conf["spark.jars.packages"] = POSTGRES_PACKAGE
        conf["spark.jars.ivy"] = str(ivy)
    if _is_local(master):
        # A cluster's executors must reach the driver, so only local mode is pinned to loopback.
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
        if long_job:
            conf["spark.driver.memory"] = LONG_JOB_DRIVER_MEMORY
    return conf


def _build(settings: Settings, sessions: int) -> SparkSession:
    conf = spark_conf(settings, sessions)
    if _is_local(conf["spark.master"]):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers must be this interpreter (the venv), not whatever "python3" is on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    log.info("starting Spark (%s)", conf["spark.master"])
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
