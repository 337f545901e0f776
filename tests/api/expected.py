"""Independent re-computations for the API tests, straight from the collected tables.

Written from SPEC §1 and §4 without importing the pipeline's code, so that a wrong rule in
either place makes the comparison fail.
"""

from __future__ import annotations

from datetime import date

import asyncpg

from trendfolio import calendar

STALE = 3


async def price(conn: asyncpg.Connection, table: str, ticker: str, s: date) -> asyncpg.Record | None:
    """price(T, s): the bar of the latest session <= s, if at most 3 sessions before s."""
    oldest = calendar.session_offset(s, -STALE)
    sql = {
        "stock": "SELECT close_price, adj_close FROM collected_06_daily_stock_history "
                 "WHERE ticker = $1 AND trade_date BETWEEN $2 AND $3 "
                 "ORDER BY trade_date DESC LIMIT 1",
        "etf": "SELECT close_price, adj_close FROM collected_01_daily_etf_ohlc "
               "WHERE ticker = $1 AND trade_date BETWEEN $2 AND $3 "
               "ORDER BY trade_date DESC LIMIT 1",
    }[table]
    row: asyncpg.Record | None = await conn.fetchrow(sql, ticker, oldest, s)
    return row


async def period_return(
    conn: asyncpg.Connection, table: str, ticker: str, d: date, p: int
) -> float | None:
    """r_P(T, D) = price(T, D) / price(T, s0) - 1, adjusted at both ends or raw at both."""
    end = await price(conn, table, ticker, d)
    start = await price(conn, table, ticker, calendar.session_offset(d, -p))
    if end is None or start is None:
        return None
    if end["adj_close"] is not None and start["adj_close"] is not None:
        return float(end["adj_close"]) / float(start["adj_close"]) - 1
    return float(end["close_price"]) / float(start["close_price"]) - 1


async def observed_mcap(conn: asyncpg.Connection, ticker: str, d: date) -> float | None:
    """mcap(T, D) when an observation dated <= D exists (not the estimated case)."""
    value = await conn.fetchval(
        "SELECT market_cap FROM collected_07_stock_fundamentals "
        "WHERE ticker = $1 AND as_of_date <= $2 AND market_cap IS NOT NULL "
        "ORDER BY as_of_date DESC LIMIT 1",
        ticker, d,
    )
    return float(value) if value is not None else None


def weights(scores: dict[str, float]) -> dict[str, float]:
    """score = r_P / mcap, weight = score / sum(score)."""
    total = sum(scores.values())
    return {t: s / total for t, s in scores.items()}
