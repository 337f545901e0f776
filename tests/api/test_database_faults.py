"""The database side: the read-write fallback is announced, and an outage is a 503, not a 500."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.api import LoadedDb, start_server
from trendfolio.db.connect import connection
from trendfolio.db.server import PgServer


def test_without_the_read_only_url_the_api_warns_and_still_serves(
    loaded_db: LoadedDb, tmp_path: Path
) -> None:
    for server in start_server(loaded_db, tmp_path, readonly=False):
        assert httpx.get(f"{server.url}/stocks/portfolio").status_code == 200
        assert "TRENDFOLIO_READONLY_DATABASE_URL is not set" in server.log.read_text()


async def test_a_database_outage_is_a_503_and_the_api_recovers(
    db_url: str, pg_server: PgServer, tmp_path: Path
) -> None:
    empty = LoadedDb(db_url, db_url, "none", ())
    name = db_url.rsplit("/", 1)[1]
    for server in start_server(empty, tmp_path):
        assert httpx.get(f"{server.url}/stocks/portfolio").json() == []
        async with connection(pg_server.url("postgres")) as admin:
            try:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    name)
                for path in ("/stocks/portfolio", "/dashboard/status", "/backtest", "/health"):
                    resp = httpx.get(f"{server.url}{path}")
                    assert resp.status_code == 503, (path, resp.text)
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                assert httpx.get(f"{server.url}/stocks/portfolio").status_code == 200
            finally:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
