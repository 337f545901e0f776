"""LABELLED TEST DATA: rows for analytics_08/09/10, which another branch's stages will write.

Until those stages land, the tests of the endpoints that read these tables insert rows here,
with parameterised SQL, derived from what the real pipeline put in the database (the picks,
the holdings snapshot, the collected prices), and marked `source = test-fixture` in their text.
"""

from __future__ import annotations

from datetime import date

import asyncpg

from tests.api import expected

REBALANCE = date(2026, 7, 31)
VALID_UNTIL = date(2026, 8, 31)
LABEL = "test-fixture: inserted by tests/api/analytics_rows.py"
MONTHS = [date(2025, 8 + i, 1) if i < 5 else date(2026, i - 4, 1) for i in range(13)]


async def insert_analytics_rows(url: str, day: date) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await _monthly_portfolio(conn, day)
            await _top_holdings(conn, day)
            await _monthly_returns(conn, day)
    finally:
        await conn.close()


async def _monthly_portfolio(conn: asyncpg.Connection, day: date) -> None:
    picks = await conn.fetch(
        "SELECT ticker, company_name, sector, portfolio_weight, return_pct, market_cap "
        "FROM analytics_05_portfolio_allocation WHERE as_of_date = $1 AND period_days = 20 "
        "ORDER BY rank", day)
    await conn.executemany(
        """INSERT INTO analytics_08_monthly_portfolio
             (ticker, company_name, sector, final_rank, final_weight, score, source_periods,
              return_20d, market_cap, allocation_reason, rebalance_date, valid_until)
           VALUES ($1, $2, $3, $4, $5, $6, '20d', $7, $8, $9, $10, $11)
           ON CONFLICT (ticker, rebalance_date) DO NOTHING""",
        [(p["ticker"], p["company_name"], p["sector"], n, p["portfolio_weight"],
          p["portfolio_weight"] / 3, p["return_pct"], p["market_cap"], LABEL, REBALANCE,
          VALID_UNTIL) for n, p in enumerate(picks, start=1)],
    )


async def _top_holdings(conn: asyncpg.Connection, day: date) -> None:
    etfs = await conn.fetch(
        "SELECT DISTINCT etf_ticker FROM collected_04_etf_holdings ORDER BY etf_ticker")
    rows = []
    for e in etfs:
        holdings = await conn.fetch(
            "SELECT h.holding_ticker, h.holding_name FROM collected_04_etf_holdings h "
            "WHERE h.etf_ticker = $1 AND h.as_of_date = (SELECT max(as_of_date) "
            "FROM collected_04_etf_holdings WHERE etf_ticker = $1) "
            "ORDER BY h.holding_percent DESC, h.holding_ticker LIMIT 5", e["etf_ticker"])
        for period in (5, 10, 20):
            for rank, h in enumerate(holdings, start=1):
                ret = await expected.period_return(conn, "stock", h["holding_ticker"], day, period)
                # Rank 5 of the 5-day rows gets an exact 0 % return: it must stay 0, not null.
                total = 0.0 if (period == 5 and rank == 5) else (100 * ret if ret else None)
                rows.append((e["etf_ticker"], h["holding_ticker"], h["holding_name"] or LABEL,
                             period, rank, total, 1_000_000_000 * rank, day))
    await conn.executemany(
        """INSERT INTO analytics_09_etf_top_holdings
             (etf_ticker, holding_ticker, holding_name, time_period, rank_position, total_return,
              avg_return, volatility, avg_volume, current_price, market_cap, as_of_date)
           VALUES ($1, $2, $3, $4, $5, $6, 0, 1.5, 1000, 10, $7, $8)
           ON CONFLICT DO NOTHING""",
        rows,
    )


async def _monthly_returns(conn: asyncpg.Connection, day: date) -> None:
    rows = []
    for n, month in enumerate(MONTHS):
        for k, ticker in enumerate(("SPY", "XLK")):
            complete = n < len(MONTHS) - 1
            # Two computations: the one of the day before must not be what `day` shows.
            rows.append((ticker, month, 100.0, 101.0 + k, n + 0.5 * k, complete, day))
            rows.append((ticker, month, 100.0, 99.0, -1.0, complete, date(2026, 8, 19)))
    await conn.executemany(
        """INSERT INTO analytics_10_etf_monthly_returns
             (etf_ticker, month, month_open, month_close, monthly_return, is_complete, as_of_date)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
        rows,
    )
