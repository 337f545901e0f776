"""How the Spark session is built: the master the wiring decides; locally, a daily run stays
small and a long backfill gets room."""

from __future__ import annotations

from trendfolio.config import Settings
from trendfolio.wiring import spark_master
from trendfolio_jobs.session import LONG_JOB_DRIVER_MEMORY, LONG_JOB_SESSIONS, spark_conf


def test_a_short_job_compiles_quickly_on_the_default_heap(spark_settings: Settings) -> None:
    conf = spark_conf(spark_settings, sessions=1)
    assert "-XX:TieredStopAtLevel=1" in conf["spark.driver.extraJavaOptions"]
    assert "spark.driver.memory" not in conf
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"


def test_a_long_backfill_gets_full_jit_and_a_larger_heap(spark_settings: Settings) -> None:
    short = spark_conf(spark_settings, sessions=LONG_JOB_SESSIONS - 1)
    long = spark_conf(spark_settings, sessions=LONG_JOB_SESSIONS)
    assert "TieredStopAtLevel" in short["spark.driver.extraJavaOptions"]
    assert "TieredStopAtLevel" not in long["spark.driver.extraJavaOptions"]
    assert long["spark.driver.memory"] == LONG_JOB_DRIVER_MEMORY
    assert "-Duser.timezone=UTC" in long["spark.driver.extraJavaOptions"]


def test_the_master_is_the_one_the_wiring_decides(spark_settings: Settings) -> None:
    assert spark_conf(spark_settings)["spark.master"] == spark_master(spark_settings)
    cluster = spark_settings.model_copy(update={"spark_master": "spark://spark:7077"})
    conf = spark_conf(cluster)
    # a cluster's executors must reach the driver: no loopback pinning there
    assert conf["spark.master"] == "spark://spark:7077"
    assert "spark.driver.bindAddress" not in conf
