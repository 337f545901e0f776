"""``/api/etf-holdings``: per-ETF top holdings ranked by period return (analytics 09)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from trendfolio_api import crud
from trendfolio_api.deps import PERIOD_CHOICES, AsOfDate, EtfTicker, Period, PoolDep
from trendfolio_api.models import EtfTopHoldings

router = APIRouter(prefix="/api/etf-holdings", tags=["etf-holdings"])


@router.get("/top-holdings/{etf_ticker}", response_model=list[EtfTopHoldings])
async def top_holdings(
    pool: PoolDep,
    etf_ticker: EtfTicker,
    time_period: Annotated[
        Period | None, Query(description=f"{PERIOD_CHOICES}; default: every period")
    ] = None,
    as_of_date: AsOfDate = None,
) -> list[EtfTopHoldings]:
    """One entry per period: the ETF's top holdings (rank 1-5) from the latest analysis <= date."""
    period = int(time_period) if time_period is not None else None
    return await crud.read_top_holdings(pool, etf_ticker, period, as_of_date)
