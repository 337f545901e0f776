from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from trendfolio.db.migrate import available_migrations, ensure_reader, migrate
from trendfolio.errors import TrendfolioError

SEED_TABLES = {
    "collected_00_meta_etf", "collected_01_daily_etf_ohlc", "collected_04_etf_holdings",
    "collected_06_daily_stock_history", "analytics_03_trending_etfs",
    "analytics_05_portfolio_allocation", "analytics_08_monthly_portfolio",
    "analytics_09_etf_top_holdings", "logs_consumer_error",
}


async def test_schema_keeps_the_seed_tables_and_adds_pipeline_runs(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    tables = {r[0] for r in await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    assert SEED_TABLES | {"pipeline_runs", "schema_migrations"} <= tables
    cols = {r[0] for r in await conn.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'analytics_05_portfolio_allocation'")}
    # The seed's columns stay readable; the rules' additions are there too.
    assert {"as_of_date", "ticker", "portfolio_weight", "period_days", "rank",
            "allocation_reason", "etf_ticker"} <= cols
    await conn.close()


async def test_migrate_is_idempotent_and_refuses_edited_history(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    assert await migrate(conn) == []
    await conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
    with pytest.raises(TrendfolioError, match="changed after it was applied"):
        await migrate(conn)
    await conn.close()


def test_migrations_are_numbered_in_order() -> None:
    versions = [m.version for m in available_migrations()]
    assert versions == sorted(versions) and versions[0] == 1 and len(set(versions)) == len(versions)


async def test_read_only_role_can_read_but_not_write(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    await ensure_reader(conn, "trendfolio_reader", "s3cret-for-tests")
    await ensure_reader(conn, "trendfolio_reader", "s3cret-for-tests")  # idempotent
    await conn.close()
    parts = urlsplit(db_url)
    netloc = f"trendfolio_reader:s3cret-for-tests@{parts.hostname}:{parts.port}"
    reader = await asyncpg.connect(urlunsplit(parts._replace(netloc=netloc)))
    assert await reader.fetchval("SELECT count(*) FROM collected_01_daily_etf_ohlc") == 0
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await reader.execute("INSERT INTO pipeline_settings (key, value) VALUES ('a', 'b')")
    await reader.close()


async def test_role_names_must_be_plain_identifiers(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    with pytest.raises(TrendfolioError, match="plain identifier"):
        await ensure_reader(conn, 'x"; DROP ROLE postgres; --', "pw")
    await conn.close()
