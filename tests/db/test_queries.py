"""What the command line reads and records outside the stages, on a real PostgreSQL."""

from __future__ import annotations

from datetime import date

import asyncpg

from trendfolio.db import queries
from trendfolio.universe import load_universe

D1, D2, D3 = date(2026, 7, 30), date(2026, 7, 31), date(2026, 8, 3)


async def test_prepare_records_the_universe_and_the_kind_of_data(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        universe = load_universe("spdr")
        await queries.prepare(conn, universe, "sample", True)
        etfs = await conn.fetch("SELECT ticker, is_reference, universe FROM collected_00_meta_etf")
        assert {r["ticker"] for r in etfs} == set(universe.tickers)
        assert [r["ticker"] for r in etfs if r["is_reference"]] == ["SPY"]
        assert await queries.holds_sample_data(conn)
        await queries.prepare(conn, universe, "csv:/data", False)  # a second run replaces it
        kv = dict(await conn.fetch("SELECT key, value FROM pipeline_settings"))
        assert kv == {"universe": "spdr", "source": "csv:/data", "is_sample": "false"}
        assert not await queries.holds_sample_data(conn)
    finally:
        await conn.close()


async def _portfolio(conn: asyncpg.Connection) -> None:
    await conn.executemany(
        "INSERT INTO analytics_05_portfolio_allocation (as_of_date, ticker, rank, "
        "portfolio_weight, period_days, etf_ticker) VALUES ($1, $2, $3, $4, $5, 'XLK')",
        [(D1, "AAPL", 1, 1.0, 20), (D2, "MSFT", 1, 0.6, 20), (D2, "NVDA", 2, 0.4, 20),
         (D2, "AAPL", 1, 1.0, 5), (D3, "AMD", 1, 1.0, 20)],
    )
    await conn.executemany(
        "INSERT INTO analytics_08_monthly_portfolio (ticker, final_rank, final_weight, score, "
        "rebalance_date, valid_until) VALUES ($1, $2, $3, $4, $5, $6)",
        [("MSFT", 1, 0.7, 0.2, D2, D3), ("TSLA", 2, 0.3, 0.1, D2, D3)],
    )
    await conn.executemany(
        "INSERT INTO analytics_03_trending_etfs (etf_ticker, as_of_date, period) "
        "VALUES ($1, $2, 20)", [("XLK", D1), ("XLK", D3)],
    )


async def test_sessions_and_held_tickers(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await _portfolio(conn)
        assert await queries.analysed_sessions(conn, D1, D2) == {D1}
        assert await queries.held_tickers(conn, D1, D2) == ["AAPL", "MSFT", "NVDA", "TSLA"]
        assert await queries.held_tickers(conn, D3, D3) == ["AMD"]
    finally:
        await conn.close()


async def test_shown_rows_pick_the_date_and_the_period(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await _portfolio(conn)
        day, rows = await queries.shown_rows(conn, "portfolio", D2, 20)
        assert day == D2 and [r["ticker"] for r in rows] == ["MSFT", "NVDA"]
        assert "id" not in rows[0] and "created_at" not in rows[0]
        day, rows = await queries.shown_rows(conn, "portfolio", None, None)
        assert day == D3 and [r["ticker"] for r in rows] == ["AMD"]
        # a monthly rebalance holds until the next: the latest on or before the date
        day, rows = await queries.shown_rows(conn, "monthly", D3, None)
        assert day == D2 and [r["ticker"] for r in rows] == ["MSFT", "TSLA"]
        day, rows = await queries.shown_rows(conn, "monthly", D1, None)
        assert day is None and rows == []
    finally:
        await conn.close()
