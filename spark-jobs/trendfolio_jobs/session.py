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

log = logging.getLogger(__name__)

POSTGRES_PACKAGE = "org.postgresql:postgresql:42.7.14"
_POSTGRES_JAR = "org.postgresql_postgresql-42.7.14.jar"
LOCAL_MASTER = "local[2]"
SHUFFLE_PARTITIONS = 4
_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.hadoop.name = org.apache.hadoop.util.NativeCodeLoader
logger.hadoop.level = error
"""
# C1 only: these jobs are small, so compiling quickly beats compiling well.
_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-Duser.timezone=UTC")

_lock = threading.Lock()
_session: SparkSession | None = None

warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)
logging.getLogger("py4j").setLevel(logging.WARNING)


def get_spark(settings: Settings) -> SparkSession:
    """The process's Spark session, created on first use with ``settings``."""
    global _session
    with _lock:
        if _session is None or getattr(_session.sparkContext, "_jsc", None) is None:
            _session = _build(settings)
        return _session


def start_in_background(settings: Settings) -> threading.Thread:
    """Start the session in a daemon thread so the JVM warms up while other stages run."""
    thread = threading.Thread(target=get_spark, args=(settings,), name="spark-start", daemon=True)
    thread.start()
    return thread


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


def spark_conf(settings: Settings) -> dict[str, str]:
    """Every Spark setting the session is built with."""
    home = settings.home.resolve()
    master = settings.spark_master or LOCAL_MASTER
    java_options = [*_JVM_OPTIONS, f"-Dlog4j2.configurationFile=file:{_log4j2_file(home)}"]
    conf = {
        "spark.master": master,
        "spark.app.name": "trendfolio",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(SHUFFLE_PARTITIONS),
        "spark.default.parallelism": str(SHUFFLE_PARTITIONS),
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
        conf["spark.pyspark.python"] = sys.executable
    return conf


def _build(settings: Settings) -> SparkSession:
    conf = spark_conf(settings)
    if _is_local(conf["spark.master"]):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    log.info("starting Spark (%s)", conf["spark.master"])
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
