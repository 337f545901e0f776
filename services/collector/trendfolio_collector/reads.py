"""What the collector reads from the database before it asks the source anything."""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg

from trendfolio import rules

ETF_BARS = "collected_01_daily_etf_ohlc"
STOCK_BARS = "collected_06_daily_stock_history"
Window = tuple[date, date]


async def fetch_windows(
    conn: asyncpg.Connection, table: str, tickers: list[str], as_of: date
) -> dict[str, Window | None]:
    """Per ticker, the date range still to fetch (``None`` when it is up to date)."""
    rows = await conn.fetch(
        f"SELECT ticker, max(trade_date) AS last FROM {table} "  # table is one of the constants
        "WHERE ticker = ANY($1::text[]) AND trade_date <= $2 GROUP BY ticker",
        tickers,
        as_of,
    )
    last = {r["ticker"]: r["last"] for r in rows}
    first = as_of - timedelta(days=rules.HISTORY_CALENDAR_DAYS)
    out: dict[str, Window | None] = {}
    for t in tickers:
        seen = last.get(t)
        if seen is None:
            out[t] = (first, as_of)
        elif seen < as_of:
            out[t] = (seen + timedelta(days=1), as_of)
        else:
            out[t] = None
    return out


async def trending_etfs(conn: asyncpg.Connection, as_of: date, period: int) -> list[str]:
    """The ETFs trending at ``as_of`` over ``period``, in SPEC §4's ETF pick order."""
    rows = await conn.fetch(
        "SELECT etf_ticker, return_pct AS trend_return_pct FROM analytics_03_trending_etfs "
        "WHERE as_of_date = $1 AND period = $2 AND is_trending",
        as_of,
        period,
    )
    return [r["etf_ticker"] for r in rules.ETF_PICK_ORDER.apply(rows, rules.field_of)]


async def run_key(conn: asyncpg.Connection, label: str, as_of: date) -> str:
    """The name of the collection run ``label`` for ``as_of`` into this very database.

    The database is part of it (its cluster's system identifier, new with every initdb, and
    its oid, new with every CREATE DATABASE): progress says what a database already holds, so
    a re-created one must not inherit it.
    """
    row = await conn.fetchrow(
        "SELECT (SELECT system_identifier FROM pg_control_system()) AS cluster, oid "
        "FROM pg_database WHERE datname = current_database()"
    )
    assert row is not None  # the database we are connected to exists
    return f"{label}:{as_of.isoformat()}:db{row['cluster']}.{row['oid']}"
