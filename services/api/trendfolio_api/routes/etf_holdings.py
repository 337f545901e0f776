"""``/api/etf-holdings``: per-ETF top holdings ranked by period return (analytics 09)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from trendfolio_api import queries
from trendfolio_api.deps import AsOfDate, EtfTicker, Period, PoolDep, not_found
from trendfolio_api.models import EtfTopHoldings, TopHolding

router = APIRouter(prefix="/api/etf-holdings", tags=["etf-holdings"])
_HOLDING_FIELDS = tuple(TopHolding.model_fields)


@router.get("/top-holdings/{etf_ticker}", response_model=list[EtfTopHoldings])
async def top_holdings(
    pool: PoolDep,
    etf_ticker: EtfTicker,
    time_period: Annotated[
        Period | None, Query(description="5, 10 or 20; default: every period")
    ] = None,
    as_of_date: AsOfDate = None,
) -> list[EtfTopHoldings]:
    """One entry per period: the ETF's top holdings (rank 1-5) from the latest analysis <= date."""
    etf = etf_ticker.upper()
    if await pool.fetchrow(queries.ETF_META, etf) is None:
        raise not_found(f"unknown ETF {etf}")
    period = int(time_period) if time_period is not None else None
    rows = await pool.fetch(queries.TOP_HOLDINGS, etf, as_of_date, period)
    if as_of_date is not None and not rows:
        raise not_found(f"no top-holdings analysis for {etf} on or before {as_of_date}")
    out: dict[int, EtfTopHoldings] = {}
    for r in rows:
        entry = out.get(r["time_period"])
        if entry is None:
            entry = out[r["time_period"]] = EtfTopHoldings(
                etf_ticker=r["etf_ticker"], etf_type=r["etf_type"], sector_name=r["sector_name"],
                time_period=r["time_period"], as_of_date=r["as_of_date"], holdings=[],
            )
        entry.holdings.append(TopHolding(**{k: r[k] for k in _HOLDING_FIELDS}))
    return list(out.values())
