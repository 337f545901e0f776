"""API fixtures: one database loaded by the real pipeline, and `trendfolio serve api` on it.

The data comes from running `trendfolio backfill` (the real CLI: collectors, bus, Spark) from the
month-end session 2026-07-31 (so the monthly stage writes a real rebalance) to 2026-08-20: the real
2026 market beside the repository when present, else the `sample` source. Every analytics table,
08/09/10 included, holds what the pipeline wrote; the tests compare the API with those rows.
Then `trendfolio backtest` over the same range stores one real backtest run for `/backtest`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tests.support.api import MONTH_END, READER, SESSIONS, ApiServer, LoadedDb, cli, start_server
from tests.support.databases import create_database
from tests.support.paths import MARKET_2026
from trendfolio.db.server import PgServer


@pytest.fixture(scope="session")
async def loaded_db(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> LoadedDb:
    """A database filled by `trendfolio backfill`, plus the read-only role for the API."""
    source = f"csv:{MARKET_2026}" if (MARKET_2026 / "prices.csv").exists() else "sample"
    url = await create_database(pg_server, "api")
    password = secrets.token_urlsafe(16)
    reader_url = url.replace(
        url.split("@")[0], f"postgresql://{READER}:{quote(password, safe='')}"
    )
    home = tmp_path_factory.mktemp("api-home")
    env = {"TRENDFOLIO_DATABASE_URL": url}
    cli(home, env, "--source", source, "--universe", "spdr", "backfill",
        "--start", MONTH_END.isoformat(), "--end", SESSIONS[-1].isoformat())
    backtest = json.loads(cli(
        home, env, "--source", source, "--universe", "spdr", "backtest",
        "--start", MONTH_END.isoformat(), "--end", SESSIONS[-1].isoformat(), "--format", "json"))
    cli(home, {**env, "TRENDFOLIO_READONLY_DATABASE_URL": reader_url}, "db", "migrate")
    return LoadedDb(url, reader_url, source, SESSIONS, backtest)


@pytest.fixture(scope="session")
def api(
    loaded_db: LoadedDb, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    """`trendfolio serve api` on the loaded database, no API key, CORS for one origin."""
    yield from start_server(loaded_db, tmp_path_factory.mktemp("api"),
                            TRENDFOLIO_CORS_ORIGINS="http://127.0.0.1:8050")


@pytest.fixture(scope="session")
def client(api: ApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=10) as c:
        yield c
