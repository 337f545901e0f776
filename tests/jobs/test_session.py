"""How the local Spark session is sized: a daily run stays small, a long backfill gets room."""

from __future__ import annotations

from trendfolio.config import Settings
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
