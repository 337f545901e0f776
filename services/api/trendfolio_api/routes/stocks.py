"""``/stocks``: the daily portfolio (weight in percent), the monthly portfolio, price history."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from trendfolio_api import queries
from trendfolio_api.deps import (
    AsOfDate,
    Period,
    PeriodDays,
    PoolDep,
    Symbol,
    fetch_portfolio,
    not_found,
)
from trendfolio_api.models import HistoryRow, MonthlyPortfolio, MonthlyStock, PortfolioStock

router = APIRouter(prefix="/stocks", tags=["stocks"])


@router.get("/portfolio", response_model=list[PortfolioStock])
async def portfolio(
    pool: PoolDep, period_days: PeriodDays = Period.D20, as_of_date: AsOfDate = None
) -> list[PortfolioStock]:
    """The period's portfolio, highest weight first; ``weight`` in percent (sums to 100)."""
    rows = await fetch_portfolio(pool, as_of_date, period_days)
    return [PortfolioStock(**dict(r), weight=r["portfolio_weight"] * 100) for r in rows]


@router.get("/monthly-portfolio", response_model=MonthlyPortfolio)
async def monthly_portfolio(
    pool: PoolDep,
    rebalance_date: Annotated[
        date | None, Query(description="rebalance session (YYYY-MM-DD); default: the latest")
    ] = None,
) -> MonthlyPortfolio:
    """The monthly 20-stock portfolio; ``weight`` in percent."""
    if rebalance_date is not None and not await pool.fetchval(
        queries.MONTHLY_DATE_KNOWN, rebalance_date
    ):
        raise not_found(f"no monthly portfolio for rebalance_date {rebalance_date.isoformat()}")
    rows = await pool.fetch(queries.MONTHLY, rebalance_date)
    if not rows:
        return MonthlyPortfolio(
            rebalance_date=None, valid_until=None, total_stocks=0, total_weight=0.0,
            message="No monthly portfolio data available", data=[],
        )
    data = [
        MonthlyStock(
            **{k: r[k] for k in ("rebalance_date", "valid_until", "ticker", "company_name",
                                 "sector", "score", "source_periods", "market_cap",
                                 "allocation_reason", "created_at")},
            rank=r["final_rank"], weight=r["final_weight"] * 100, return_pct=r["return_20d"],
        )
        for r in rows
    ]
    return MonthlyPortfolio(
        rebalance_date=rows[0]["rebalance_date"], valid_until=rows[0]["valid_until"],
        total_stocks=len(data), total_weight=round(sum(s.weight for s in data), 2),
        message=None, data=data,
    )


@router.get("/{symbol}/history", response_model=list[HistoryRow])
async def history(
    pool: PoolDep,
    symbol: Symbol,
    start_date: Annotated[date | None, Query(description="first trade date (YYYY-MM-DD)")] = None,
    end_date: Annotated[date | None, Query(description="last trade date (YYYY-MM-DD)")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="rows, newest first")] = 20,
) -> list[HistoryRow]:
    """Daily bars of a stock (or an ETF of the universe), newest first, in the seed's shape."""
    ticker = symbol.upper()
    if await pool.fetchval(queries.STOCK_EXISTS, ticker):
        sql = queries.STOCK_HISTORY
    elif await pool.fetchval(queries.ETF_EXISTS, ticker):
        sql = queries.ETF_HISTORY
    else:
        raise not_found(f"no price history for symbol {ticker}")
    rows = await pool.fetch(sql, ticker, start_date, end_date, limit)
    return [
        HistoryRow(
            symbol=r["ticker"], company_name=r["company_name"], sector=r["sector"],
            avg_price=r["close_price"], adj_close=r["adj_close"], total_volume=r["volume"],
            min_price=r["low_price"], max_price=r["high_price"], market_cap=r["market_cap"],
            record_count=1, window_start=r["trade_date"], window_end=r["trade_date"],
        )
        for r in rows
    ]
