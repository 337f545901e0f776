"""``/stocks``: the daily portfolio (weight in percent), the monthly portfolio, price history."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from trendfolio_api import crud
from trendfolio_api.deps import (
    DEFAULT_PERIOD,
    AsOfDate,
    PeriodDays,
    PoolDep,
    RebalanceDate,
    Symbol,
)
from trendfolio_api.models import HistoryRow, MonthlyPortfolio, PortfolioStock

router = APIRouter(prefix="/stocks", tags=["stocks"])


@router.get("/portfolio", response_model=list[PortfolioStock])
async def portfolio(
    pool: PoolDep, period_days: PeriodDays = DEFAULT_PERIOD, as_of_date: AsOfDate = None
) -> list[PortfolioStock]:
    """The period's portfolio, highest weight first; ``weight`` in percent (sums to 100)."""
    return await crud.read_portfolio(pool, period_days, as_of_date)


@router.get("/monthly-portfolio", response_model=MonthlyPortfolio)
async def monthly_portfolio(
    pool: PoolDep,
    rebalance_date: RebalanceDate = None,
) -> MonthlyPortfolio:
    """The monthly 20-stock portfolio; ``weight`` in percent."""
    return await crud.read_monthly_portfolio(pool, rebalance_date)


@router.get("/{symbol}/history", response_model=list[HistoryRow])
async def history(
    pool: PoolDep,
    symbol: Symbol,
    start_date: Annotated[date | None, Query(description="first trade date (YYYY-MM-DD)")] = None,
    end_date: Annotated[date | None, Query(description="last trade date (YYYY-MM-DD)")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="rows, newest first")] = 20,
) -> list[HistoryRow]:
    """Daily bars of a stock (or an ETF of the universe), newest first, in the seed's shape."""
    return await crud.read_history(pool, symbol, start_date, end_date, limit)
