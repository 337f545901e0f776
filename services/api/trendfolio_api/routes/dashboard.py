"""``/dashboard``: what each dashboard view draws, a few requests per view (SPEC §9)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from trendfolio_api import crud
from trendfolio_api.deps import (
    DEFAULT_PERIOD,
    AsOfDate,
    PeriodDays,
    PoolDep,
    RebalanceDate,
    TickerQuery,
)
from trendfolio_api.models import (
    ActiveAllocation,
    EtfBar,
    EtfCards,
    EtfInfo,
    MonthlyReturn,
    MonthlyVsSpy,
    Status,
    TrendingEtfs,
)

router = APIRouter(prefix="/dashboard", tags=["dashboard"])


@router.get("/status", response_model=Status)
async def status(pool: PoolDep) -> Status:
    """Data freshness: the latest as-of dates, the date picker's sessions, last run per stage."""
    return await crud.read_status(pool)


@router.get("/etf-list", response_model=list[EtfInfo])
async def etf_list(pool: PoolDep) -> list[EtfInfo]:
    """The ETF universe: benchmarks, sector proxies (an ETF can be both) and the reference."""
    return await crud.read_etf_list(pool)


@router.get("/trending-etfs", response_model=TrendingEtfs)
async def trending_etfs(
    pool: PoolDep, period_days: PeriodDays = DEFAULT_PERIOD, as_of_date: AsOfDate = None
) -> TrendingEtfs:
    """Every ETF's period return against SPY, ranked, with the real trending flag."""
    return await crud.read_trending_etfs(pool, period_days, as_of_date)


@router.get("/active-allocations", response_model=list[ActiveAllocation])
async def active_allocations(
    pool: PoolDep, period_days: PeriodDays = DEFAULT_PERIOD, as_of_date: AsOfDate = None
) -> list[ActiveAllocation]:
    """The period's portfolio with ``portfolio_weight`` as a fraction (sums to 1)."""
    return await crud.read_active_allocations(pool, period_days, as_of_date)


@router.get("/trending-etf-top-holdings", response_model=EtfCards)
async def trending_etf_top_holdings(
    pool: PoolDep,
    period_days: PeriodDays = DEFAULT_PERIOD,
    limit: Annotated[int, Query(ge=1, le=10, description="holdings per ETF card")] = 5,
    as_of_date: AsOfDate = None,
) -> EtfCards:
    """ETF cards: every benchmark and every trending ETF with its top holdings and the ★ pick."""
    return await crud.read_etf_cards(pool, period_days, limit, as_of_date)


@router.get("/monthly-performance", response_model=list[MonthlyReturn])
async def monthly_performance(
    pool: PoolDep,
    months: Annotated[int, Query(ge=1, le=24, description="complete months to show")] = 12,
    as_of_date: AsOfDate = None,
) -> list[MonthlyReturn]:
    """Month-end-to-month-end returns per ETF: the last ``months`` complete months + the current."""
    return await crud.read_monthly_returns(pool, months, as_of_date)


@router.get("/monthly-vs-spy", response_model=MonthlyVsSpy)
async def monthly_vs_spy(
    pool: PoolDep,
    rebalance_date: RebalanceDate = None,
) -> MonthlyVsSpy:
    """Cumulative return (percent) of the monthly portfolio and of SPY since its rebalance."""
    return await crud.read_monthly_vs_spy(pool, rebalance_date)


@router.get("/etf-benchmark", response_model=list[EtfBar])
async def etf_benchmark(
    pool: PoolDep,
    ticker: TickerQuery,
    days: Annotated[int, Query(ge=1, le=400, description="sessions (not calendar days)")] = 60,
    as_of_date: AsOfDate = None,
) -> list[EtfBar]:
    """The last ``days`` sessions of one ETF ending at ``as_of_date``, newest first."""
    return await crud.read_etf_bars(pool, ticker, days, as_of_date)
