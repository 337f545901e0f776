"""Reads through the pool, one function per endpoint: the SQL of :mod:`queries` with bound
parameters, the rows handed to :mod:`compose`. Whatever was asked for and does not exist
raises :class:`NotFound` (a 404 naming it)."""

from __future__ import annotations

from datetime import date

import asyncpg

from trendfolio_api import compose, performance, queries
from trendfolio_api.models import (
    ActiveAllocation,
    Backtest,
    BacktestRun,
    EtfBar,
    EtfCards,
    EtfInfo,
    EtfTopHoldings,
    HistoryRow,
    MonthlyPortfolio,
    MonthlyReturn,
    MonthlyVsSpy,
    PortfolioStock,
    Status,
    TrendingEtfs,
)

DATE_PICKER_SESSIONS = 400  # about 19 months of sessions to pick from
NO_BACKTEST = (
    "no backtest run yet: run `trendfolio backtest --start YYYY-MM-DD --end YYYY-MM-DD`"
)
# The reference ETF when the universe table names none (SPEC §2: SPY).
DEFAULT_REFERENCE = "SPY"


class NotFound(LookupError):
    """An unknown date, ticker, ETF or run; the message names it."""


async def _require_run(pool: asyncpg.Pool, day: date) -> None:
    if not await pool.fetchval(queries.DATE_KNOWN, day):
        raise NotFound(f"no pipeline run for as_of_date {day.isoformat()}")


async def _trending_day(pool: asyncpg.Pool, requested: date | None, period: int) -> date:
    """The requested as-of date if the pipeline ran for it, else the period's latest."""
    if requested is not None:
        await _require_run(pool, requested)
        return requested
    latest: date | None = await pool.fetchval(queries.LATEST_TRENDING_DATE, period)
    if latest is None:
        raise NotFound(f"no trending analysis for period {period} yet")
    return latest


async def _require_rebalance(pool: asyncpg.Pool, day: date | None) -> None:
    if day is not None and not await pool.fetchval(queries.MONTHLY_DATE_KNOWN, day):
        raise NotFound(f"no monthly portfolio for rebalance_date {day.isoformat()}")


async def _portfolio_rows(
    pool: asyncpg.Pool, as_of_date: date | None, period: int
) -> list[asyncpg.Record]:
    """The period's portfolio rows for the date (default: its latest)."""
    rows = await pool.fetch(queries.PORTFOLIO, as_of_date, period)
    if not rows[0]["known"]:
        assert as_of_date is not None  # only an asked date can be unknown
        raise NotFound(f"no pipeline run for as_of_date {as_of_date.isoformat()}")
    return [r for r in rows if r["ticker"] is not None]


async def database_answers(pool: asyncpg.Pool) -> bool:
    try:
        await pool.fetchval(queries.HEALTH)
    except (asyncpg.PostgresError, OSError):
        return False
    return True


# ------------------------------------------------------------------------------ dashboard


async def read_status(pool: asyncpg.Pool) -> Status:
    return compose.status(
        await pool.fetch(queries.STATUS_LATEST_BY_PERIOD),
        [r["as_of_date"] for r in await pool.fetch(queries.STATUS_DATES, DATE_PICKER_SESSIONS)],
        {r["key"]: r["value"] for r in await pool.fetch(queries.STATUS_SETTINGS)},
        await pool.fetch(queries.STATUS_STAGES),
        await pool.fetchval(queries.STATUS_LATEST_REBALANCE),
    )


async def read_etf_list(pool: asyncpg.Pool) -> list[EtfInfo]:
    return [compose.etf_info(r) for r in await pool.fetch(queries.ETF_LIST)]


async def read_trending_etfs(
    pool: asyncpg.Pool, period: int, as_of_date: date | None
) -> TrendingEtfs:
    day = await _trending_day(pool, as_of_date, period)
    return compose.trending_etfs(day, period, await pool.fetch(queries.TRENDING, day, period))


async def read_active_allocations(
    pool: asyncpg.Pool, period: int, as_of_date: date | None
) -> list[ActiveAllocation]:
    return compose.active_allocations(await _portfolio_rows(pool, as_of_date, period))


async def read_etf_cards(
    pool: asyncpg.Pool, period: int, limit: int, as_of_date: date | None
) -> EtfCards:
    day = await _trending_day(pool, as_of_date, period)
    return compose.etf_cards(
        day, period,
        etfs=await pool.fetch(queries.TRENDING, day, period),
        holdings=await pool.fetch(queries.CARD_HOLDINGS, day, period, limit),
        picks=await _portfolio_rows(pool, day, period),
    )


async def read_monthly_returns(
    pool: asyncpg.Pool, months: int, as_of_date: date | None
) -> list[MonthlyReturn]:
    if as_of_date is not None:
        await _require_run(pool, as_of_date)
    return compose.monthly_returns(await pool.fetch(queries.MONTHLY_RETURNS, as_of_date), months)


async def read_monthly_vs_spy(pool: asyncpg.Pool, rebalance_date: date | None) -> MonthlyVsSpy:
    await _require_rebalance(pool, rebalance_date)
    rows = await pool.fetch(queries.MONTHLY, rebalance_date)
    reference = await pool.fetchval(queries.REFERENCE_ETF) or DEFAULT_REFERENCE
    if not rows:
        return compose.monthly_vs_spy(reference, None, [], [], [])
    window = performance.chart_window(
        rows[0]["rebalance_date"], rows[0]["valid_until"],
        await pool.fetchval(queries.LATEST_ETF_BAR, reference),
    )
    stocks: list[asyncpg.Record] = []
    spy: list[asyncpg.Record] = []
    if window.sessions:
        first, tickers = window.sessions[0], [r["ticker"] for r in rows]
        stocks = await pool.fetch(queries.STOCK_CLOSES, tickers, first, window.end)
        spy = await pool.fetch(queries.ETF_CLOSES, reference, first, window.end)
    return compose.monthly_vs_spy(reference, window, rows, stocks, spy)


async def read_etf_bars(
    pool: asyncpg.Pool, ticker: str, days: int, as_of_date: date | None
) -> list[EtfBar]:
    symbol = ticker.upper()
    if await pool.fetchrow(queries.ETF_META, symbol) is None and not await pool.fetchval(
        queries.ETF_EXISTS, symbol
    ):
        raise NotFound(f"unknown ETF {symbol}")
    return compose.etf_bars(await pool.fetch(queries.ETF_BARS, symbol, as_of_date, days))


# --------------------------------------------------------------------------------- stocks


async def read_portfolio(
    pool: asyncpg.Pool, period: int, as_of_date: date | None
) -> list[PortfolioStock]:
    return compose.portfolio(await _portfolio_rows(pool, as_of_date, period))


async def read_monthly_portfolio(
    pool: asyncpg.Pool, rebalance_date: date | None
) -> MonthlyPortfolio:
    await _require_rebalance(pool, rebalance_date)
    return compose.monthly_portfolio(await pool.fetch(queries.MONTHLY, rebalance_date))


async def read_history(
    pool: asyncpg.Pool, symbol: str, start: date | None, end: date | None, limit: int
) -> list[HistoryRow]:
    """A stock's bars (collected_06), else an ETF's (collected_01)."""
    ticker = symbol.upper()
    if await pool.fetchval(queries.STOCK_EXISTS, ticker):
        sql = queries.STOCK_HISTORY
    elif await pool.fetchval(queries.ETF_EXISTS, ticker):
        sql = queries.ETF_HISTORY
    else:
        raise NotFound(f"no price history for symbol {ticker}")
    return compose.history(await pool.fetch(sql, ticker, start, end, limit))


# --------------------------------------------------------------------------- ETF holdings


async def read_top_holdings(
    pool: asyncpg.Pool, etf_ticker: str, period: int | None, as_of_date: date | None
) -> list[EtfTopHoldings]:
    etf = etf_ticker.upper()
    if await pool.fetchrow(queries.ETF_META, etf) is None:
        raise NotFound(f"unknown ETF {etf}")
    rows = await pool.fetch(queries.TOP_HOLDINGS, etf, as_of_date, period)
    if as_of_date is not None and not rows:
        raise NotFound(f"no top-holdings analysis for {etf} on or before {as_of_date}")
    return compose.top_holdings(rows)


# ------------------------------------------------------------------------------ backtests


async def read_backtest(pool: asyncpg.Pool, run_id: int | None) -> Backtest:
    """A run (default: the newest) and its rows, read in one snapshot."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                        readonly=True):
        run = await conn.fetchrow(queries.BACKTEST_RUN, run_id)
        if run is None:
            raise NotFound(NO_BACKTEST if run_id is None
                           else f"no backtest run with run_id {run_id}")
        metrics = await conn.fetch(queries.BACKTEST_METRICS, run["id"])
        equity = await conn.fetch(queries.BACKTEST_EQUITY, run["id"])
        pit = await conn.fetch(queries.BACKTEST_POINT_IN_TIME, run["id"])
        picks = await conn.fetch(queries.BACKTEST_PICKS, run["id"])
    return compose.backtest(run, metrics, equity, pit, picks)


async def read_backtest_runs(pool: asyncpg.Pool, limit: int) -> list[BacktestRun]:
    return [compose.backtest_run(r) for r in await pool.fetch(queries.BACKTEST_RUNS, limit)]
