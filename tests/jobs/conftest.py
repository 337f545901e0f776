"""Fixtures for the Spark jobs: one local Spark session for the whole test run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from trendfolio.config import Settings
from trendfolio_jobs.session import get_spark, stop_spark

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def spark_settings() -> Settings:
    """Settings whose home is the checkout's ``.trendfolio``, so the JDBC jar is resolved once."""
    return Settings(home=REPO / ".trendfolio", spark_master=None)


@pytest.fixture(scope="session")
def spark(spark_settings: Settings) -> Iterator[SparkSession]:
    """A local Spark session shared by every test of the run."""
    yield get_spark(spark_settings)
    stop_spark()
