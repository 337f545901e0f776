"""Fixtures for the Spark jobs: one local Spark session for the run, stage contexts, rows."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from pyspark.sql import SparkSession

from tests.support.jobs import BACKFILL_END, BACKFILL_START, Db
from tests.support.paths import REPO
from trendfolio.config import Settings
from trendfolio.pipeline import StageContext
from trendfolio.universe import Universe, parse_universe
from trendfolio_jobs.session import get_spark, stop_spark

SMALL_UNIVERSE = """ticker,is_benchmark,is_reference,sector_name,name
SPY,true,true,,SPDR S&P 500 ETF Trust
XLK,false,false,Technology,Technology Select Sector SPDR Fund
XLF,false,false,Financial,Financial Select Sector SPDR Fund
"""


@pytest.fixture(scope="session")
def spark_settings() -> Settings:
    """Local Spark and the rules' defaults; the home (``TRENDFOLIO_HOME``) keeps the JDBC jar."""
    home = Settings().home
    return Settings(
        home=home if home.is_absolute() else REPO / home,
        spark_master=None,
        trend_period=20,
        trend_threshold=0.0,
        max_weight=None,
        weighting="score",
    )


@pytest.fixture(scope="session")
def spark(spark_settings: Settings) -> Iterator[SparkSession]:
    """A local Spark session shared by every test of the run."""
    yield get_spark(spark_settings)
    stop_spark()


@pytest.fixture
def small_universe() -> Universe:
    """SPY (the reference), XLK and XLF."""
    return parse_universe("small", SMALL_UNIVERSE)


@pytest.fixture
def stage_context(
    spark: SparkSession, spark_settings: Settings, db_url: str
) -> Callable[[Universe], StageContext]:
    """A stage context on the test's fresh database (Spark already started)."""

    def make(universe: Universe) -> StageContext:
        return StageContext(spark_settings, universe, db_url, "test")

    return make


@pytest.fixture
def db(db_url: str) -> Db:
    """Helpers on the test's fresh database."""
    return Db(db_url)


@pytest.fixture(scope="session", params=["seed", "spdr"])
async def backfilled(
    request: pytest.FixtureRequest,
    pg_server: object,
    spark: SparkSession,
    spark_settings: Settings,
    market_2026: Path,
) -> AsyncIterator[tuple[StageContext, str]]:
    """One real-data backfill per universe (``csv:market-2026``, 2026-04-20..2026-08-20, every
    stage) in a database of its own, shared by the tests that read it.
    """
    from datetime import date

    from trendfolio.calendar import sessions_between
    from trendfolio.db import queries
    from trendfolio.db.connect import connection
    from trendfolio.db.server import PgServer
    from trendfolio.universe import load_universe
    from trendfolio_app.runner import Runner
    from trendfolio_app.stages import pipeline_stages

    assert isinstance(pg_server, PgServer)
    name = f"bf_{request.param}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(pg_server.url("postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.url(name)
    universe = load_universe(request.param)
    settings = spark_settings.model_copy(update={"source": f"csv:{market_2026}"})
    runner = Runner(settings, universe, url)
    try:
        async with connection(url) as conn:
            await queries.prepare(conn, universe, runner.source.name, runner.source.is_sample)
        sessions = sessions_between(
            date.fromisoformat(BACKFILL_START), date.fromisoformat(BACKFILL_END)
        )
        await runner.backfill(sessions, pipeline_stages())
    finally:
        await runner.close()
    yield runner.ctx, request.param
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()
