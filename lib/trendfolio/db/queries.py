"""What the command line reads and records outside the stages: the universe and the kind of
data a database holds, which sessions have analytics, and the rows ``show`` prints.

Identifiers come from the fixed tables below; every value is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from trendfolio.db.migrate import migrate
from trendfolio.universe import Universe


async def prepare(conn: asyncpg.Connection, universe: Universe, source: str,
                  is_sample: bool) -> None:
    """Migrate, then record the universe and what kind of data this database holds."""
    await migrate(conn)
    async with conn.transaction():
        await conn.executemany(
            """INSERT INTO collected_00_meta_etf
                   (ticker, etf_type, sector_name, etf_name, is_reference, universe)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (ticker) DO UPDATE SET etf_type = EXCLUDED.etf_type,
                   sector_name = EXCLUDED.sector_name, etf_name = EXCLUDED.etf_name,
                   is_reference = EXCLUDED.is_reference, universe = EXCLUDED.universe,
                   updated_at = now()""",
            [
                (e.ticker, e.etf_type, e.sector_name, e.name, e.is_reference, universe.name)
                for e in universe.etfs
            ],
        )
        await conn.executemany(
            """INSERT INTO pipeline_settings (key, value) VALUES ($1, $2)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()""",
            [
                ("universe", universe.name),
                ("source", source),
                ("is_sample", "true" if is_sample else "false"),
            ],
        )


async def analysed_sessions(conn: asyncpg.Connection, start: date, end: date) -> set[date]:
    """The sessions of ``[start, end]`` that stage 3 has rows for."""
    rows = await conn.fetch(
        "SELECT DISTINCT as_of_date FROM analytics_03_trending_etfs "
        "WHERE as_of_date BETWEEN $1 AND $2",
        start,
        end,
    )
    return {r["as_of_date"] for r in rows}


async def holds_sample_data(conn: asyncpg.Connection) -> bool:
    """Whether the database's data came from the synthetic ``sample`` market."""
    return bool(
        await conn.fetchval("SELECT value = 'true' FROM pipeline_settings WHERE key = 'is_sample'")
    )


async def held_tickers(conn: asyncpg.Connection, start: date, end: date) -> list[str]:
    """Every stock a 5/10/20-day or monthly portfolio of ``[start, end]`` held."""
    rows = await conn.fetch(
        """SELECT ticker FROM analytics_05_portfolio_allocation
            WHERE as_of_date BETWEEN $1 AND $2
           UNION
           SELECT ticker FROM analytics_08_monthly_portfolio
            WHERE rebalance_date BETWEEN $1 AND $2
           ORDER BY 1""",
        start,
        end,
    )
    return [r["ticker"] for r in rows]


@dataclass(frozen=True)
class Shown:
    """An analytics table as ``trendfolio show`` reads it."""

    table: str
    date_column: str
    period_column: str | None
    order: str
    # the columns `--format table` prints (JSON has every column)
    columns: tuple[str, ...]
    # the latest date ≤ --date instead of exactly --date (a monthly rebalance is valid for a month)
    latest_on_or_before: bool = False


SHOWN: dict[str, Shown] = {
    "trending": Shown(
        "analytics_03_trending_etfs", "as_of_date", "period", "period, rank NULLS LAST, etf_ticker",
        ("period", "rank", "etf_ticker", "return_pct", "spy_return_pct", "is_trending"),
    ),
    "portfolio": Shown(
        "analytics_05_portfolio_allocation", "as_of_date", "period_days", "period_days, rank",
        ("period_days", "rank", "ticker", "etf_ticker", "portfolio_weight", "return_pct",
         "market_cap", "company_name"),
    ),
    "monthly": Shown(
        "analytics_08_monthly_portfolio", "rebalance_date", None, "final_rank",
        ("final_rank", "ticker", "final_weight", "score", "source_periods", "return_20d"),
        latest_on_or_before=True,
    ),
    "etf-holdings": Shown(
        "analytics_09_etf_top_holdings", "as_of_date", "time_period",
        "etf_ticker, time_period, rank_position",
        ("etf_ticker", "time_period", "rank_position", "holding_ticker", "total_return",
         "market_cap"),
    ),
}


async def shown_rows(
    conn: asyncpg.Connection, what: str, day: date | None, period: int | None
) -> tuple[date | None, list[dict[str, Any]]]:
    """The date shown and the rows of ``SHOWN[what]`` for it: ``day``, or with none the latest
    date in the table (monthly: the latest rebalance ≤ ``day``)."""
    shown = SHOWN[what]
    table, date_col = shown.table, shown.date_column
    target = (
        await conn.fetchval(
            f"SELECT max({date_col}) FROM {table} WHERE $1::date IS NULL OR {date_col} <= $1",
            day,
        )
        if shown.latest_on_or_before or day is None
        else day
    )
    where, params = [f"{date_col} = $1"], [target]
    if period is not None and shown.period_column is not None:
        where.append(f"{shown.period_column} = $2")
        params.append(period)
    rows = await conn.fetch(
        f"SELECT * FROM {table} WHERE {' AND '.join(where)} ORDER BY {shown.order}", *params
    )
    return target, [{k: v for k, v in r.items() if k not in ("id", "created_at")} for r in rows]
