"""``/dashboard``: what each dashboard view draws, a few requests per view (SPEC §9)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Query

from trendfolio import calendar
from trendfolio_api import queries
from trendfolio_api.deps import (
    AsOfDate,
    Period,
    PeriodDays,
    PoolDep,
    TickerQuery,
    fetch_portfolio,
    is_benchmark,
    is_sector,
    not_found,
    resolve_as_of,
)
from trendfolio_api.models import (
    ActiveAllocation,
    CardHolding,
    CumulativePoint,
    EtfBar,
    EtfCard,
    EtfCards,
    EtfInfo,
    MonthlyReturn,
    MonthlyVsSpy,
    PortfolioPick,
    StageRun,
    Status,
    TrendingEtf,
    TrendingEtfs,
)
from trendfolio_api.performance import MAX_STALE_SESSIONS, Bar, cumulative_returns

router = APIRouter(prefix="/dashboard", tags=["dashboard"])
STATUS_DATES = 400


@router.get("/status", response_model=Status)
async def status(pool: PoolDep) -> Status:
    """Data freshness: the latest as-of dates, the date picker's sessions, last run per stage."""
    by_period = {
        str(r["period_days"]): r["as_of_date"]
        for r in await pool.fetch(queries.STATUS_LATEST_BY_PERIOD)
    }
    dates = [r["as_of_date"] for r in await pool.fetch(queries.STATUS_DATES, STATUS_DATES)]
    kv = {r["key"]: r["value"] for r in await pool.fetch(queries.STATUS_SETTINGS)}
    stages = [StageRun(**dict(r)) for r in await pool.fetch(queries.STATUS_STAGES)]
    return Status(
        latest_as_of_date=dates[0] if dates else None,
        latest_by_period=by_period,
        available_dates=dates,
        latest_rebalance_date=await pool.fetchval(queries.STATUS_LATEST_REBALANCE),
        is_sample=kv.get("is_sample") == "true",
        source=kv.get("source"),
        universe=kv.get("universe"),
        stages=stages,
    )


def _etf_info(r: asyncpg.Record) -> EtfInfo:
    return EtfInfo(
        ticker=r["ticker"], etf_name=r["etf_name"], etf_type=r["etf_type"],
        sector_name=r["sector_name"], is_benchmark=is_benchmark(r["etf_type"]),
        is_sector=is_sector(r["etf_type"]), is_reference=r["is_reference"],
    )


@router.get("/etf-list", response_model=list[EtfInfo])
async def etf_list(pool: PoolDep) -> list[EtfInfo]:
    """The ETF universe: benchmarks, sector proxies (an ETF can be both) and the reference."""
    return [_etf_info(r) for r in await pool.fetch(queries.ETF_LIST)]


@router.get("/trending-etfs", response_model=TrendingEtfs)
async def trending_etfs(
    pool: PoolDep, period_days: PeriodDays = Period.D20, as_of_date: AsOfDate = None
) -> TrendingEtfs:
    """Every ETF's period return against SPY, ranked, with the real trending flag."""
    day = await resolve_as_of(pool, as_of_date, queries.LATEST_TRENDING_DATE, period_days)
    if day is None:
        raise not_found(f"no trending analysis for period {period_days} yet")
    rows = await pool.fetch(queries.TRENDING, day, period_days)
    spy = next((r["spy_return_pct"] for r in rows if r["spy_return_pct"] is not None), None)
    etfs = [
        TrendingEtf(
            **{k: r[k] for k in ("etf_ticker", "etf_name", "etf_type", "sector_name",
                                 "return_pct", "spy_return_pct", "rank", "is_trending",
                                 "close_price")},
            is_benchmark=is_benchmark(r["etf_type"]), is_sector=is_sector(r["etf_type"]),
            vs_spy_pct=(
                r["return_pct"] - r["spy_return_pct"]
                if r["return_pct"] is not None and r["spy_return_pct"] is not None
                else None
            ),
        )
        for r in rows
    ]
    return TrendingEtfs(as_of_date=day, period_days=period_days, spy_return_pct=spy, etfs=etfs)


@router.get("/active-allocations", response_model=list[ActiveAllocation])
async def active_allocations(
    pool: PoolDep, period_days: PeriodDays = Period.D20, as_of_date: AsOfDate = None
) -> list[ActiveAllocation]:
    """The period's portfolio with ``portfolio_weight`` as a fraction (sums to 1)."""
    rows = await fetch_portfolio(pool, as_of_date, period_days)
    return [ActiveAllocation(**dict(r)) for r in rows]


@router.get("/trending-etf-top-holdings", response_model=EtfCards)
async def trending_etf_top_holdings(
    pool: PoolDep,
    period_days: PeriodDays = Period.D20,
    limit: Annotated[int, Query(ge=1, le=10, description="holdings per ETF card")] = 5,
    as_of_date: AsOfDate = None,
) -> EtfCards:
    """ETF cards: every benchmark and every trending ETF with its top holdings and the ★ pick."""
    day = await resolve_as_of(pool, as_of_date, queries.LATEST_TRENDING_DATE, period_days)
    if day is None:
        raise not_found(f"no trending analysis for period {period_days} yet")
    etfs = await pool.fetch(queries.TRENDING, day, period_days)
    holdings = await pool.fetch(queries.CARD_HOLDINGS, day, period_days, limit)
    picks = await fetch_portfolio(pool, day, period_days)
    pick_by_etf = {p["etf_ticker"]: p for p in picks}
    by_etf = defaultdict(list)
    for h in holdings:
        by_etf[h["etf_ticker"]].append(h)

    cards = []
    # Benchmarks, ETFs trending over this period, and the ETFs the portfolio picked from (those
    # trend over the trend period, which can differ from this one).
    shown = [e for e in etfs
             if is_benchmark(e["etf_type"]) or e["is_trending"] or e["etf_ticker"] in pick_by_etf]
    shown.sort(key=lambda e: (not is_benchmark(e["etf_type"]), -(e["return_pct"] or 0.0),
                              e["etf_ticker"]))
    for e in shown:
        pick = pick_by_etf.get(e["etf_ticker"])
        rows = by_etf.get(e["etf_ticker"], [])
        card_holdings = [
            CardHolding(
                holding_ticker=h["holding_ticker"], holding_name=h["holding_name"],
                market_cap=h["market_cap"], holding_return_pct=h["total_return"],
                rank_position=h["rank_position"], mcap_rank=None,
                is_pick=pick is not None and pick["ticker"] == h["holding_ticker"],
            )
            for h in rows
        ]
        if pick is not None and not any(h.is_pick for h in card_holdings):
            card_holdings.append(CardHolding(
                holding_ticker=pick["ticker"], holding_name=pick["company_name"],
                market_cap=pick["market_cap"], holding_return_pct=pick["return_pct"],
                rank_position=None, mcap_rank=None, is_pick=True,
            ))
        by_cap = sorted(card_holdings, key=lambda h: (h.market_cap is None, -(h.market_cap or 0),
                                                      h.holding_ticker))
        for n, h in enumerate(by_cap, start=1):
            h.mcap_rank = n
        cards.append(EtfCard(
            etf_ticker=e["etf_ticker"], etf_name=e["etf_name"], sector_name=e["sector_name"],
            etf_return_pct=e["return_pct"], is_benchmark=is_benchmark(e["etf_type"]),
            is_trending=e["is_trending"], pick_ticker=pick["ticker"] if pick else None,
            holdings_as_of_date=rows[0]["as_of_date"] if rows else None, holdings=card_holdings,
        ))

    best = min(
        picks,
        key=lambda p: (-(p["return_pct"] or float("-inf")), -(p["market_cap"] or 0), p["ticker"]),
        default=None,
    )
    types = {e["etf_ticker"]: e["etf_type"] for e in etfs}
    portfolio_pick = (
        PortfolioPick(
            ticker=best["ticker"], company_name=best["company_name"],
            return_pct=best["return_pct"], weight=best["portfolio_weight"],
            source_etf=best["etf_ticker"], source_type=types.get(best["etf_ticker"]),
        )
        if best is not None
        else None
    )
    return EtfCards(period_days=period_days, as_of_date=day, etfs=cards,
                    portfolio_pick=portfolio_pick)


@router.get("/monthly-performance", response_model=list[MonthlyReturn])
async def monthly_performance(
    pool: PoolDep,
    months: Annotated[int, Query(ge=1, le=24, description="complete months to show")] = 12,
    as_of_date: AsOfDate = None,
) -> list[MonthlyReturn]:
    """Month-end-to-month-end returns per ETF: the last ``months`` complete months + the current."""
    if as_of_date is not None:
        await resolve_as_of(pool, as_of_date, queries.LATEST_TRENDING_DATE, 20)
    rows = await pool.fetch(queries.MONTHLY_RETURNS, as_of_date)
    complete = sorted({r["month"] for r in rows if r["is_complete"]})
    keep = set(complete[-months:]) | {r["month"] for r in rows if not r["is_complete"]}
    return [
        MonthlyReturn(
            ticker=r["etf_ticker"], month=r["month"], month_open=r["month_open"],
            month_close=r["month_close"], monthly_return=r["monthly_return"],
            is_complete=r["is_complete"], etf_type=r["etf_type"],
            is_benchmark=is_benchmark(r["etf_type"]), sector_name=r["sector_name"],
        )
        for r in rows
        if r["month"] in keep
    ]


@router.get("/monthly-vs-spy", response_model=MonthlyVsSpy)
async def monthly_vs_spy(
    pool: PoolDep,
    rebalance_date: Annotated[
        date | None, Query(description="rebalance session (YYYY-MM-DD); default: the latest")
    ] = None,
) -> MonthlyVsSpy:
    """Cumulative return (percent) of the monthly portfolio and of SPY since its rebalance."""
    if rebalance_date is not None and not await pool.fetchval(
        queries.MONTHLY_DATE_KNOWN, rebalance_date
    ):
        raise not_found(f"no monthly portfolio for rebalance_date {rebalance_date.isoformat()}")
    rows = await pool.fetch(queries.MONTHLY, rebalance_date)
    reference = await pool.fetchval(queries.REFERENCE_ETF) or "SPY"
    if not rows:
        return MonthlyVsSpy(rebalance_date=None, valid_until=None, end_date=None,
                            reference_etf=reference, points=[])
    start, valid_until = rows[0]["rebalance_date"], rows[0]["valid_until"]
    last_bar = await pool.fetchval(queries.LATEST_ETF_BAR, reference)
    end = min(valid_until, last_bar) if last_bar is not None else start
    end = max(end, start)
    window = calendar.sessions_between(start - timedelta(days=14), end)
    after = [i for i, d in enumerate(window) if d >= start]
    if not after:
        return MonthlyVsSpy(rebalance_date=start, valid_until=valid_until, end_date=end,
                            reference_etf=reference, points=[])
    # A few sessions before the rebalance so a stale base price can still be found.
    sessions = window[max(after[0] - MAX_STALE_SESSIONS, 0):]
    base = sessions.index(window[after[0]])
    weights = {r["ticker"]: float(r["final_weight"]) for r in rows}
    bars: dict[str, dict[date, Bar]] = defaultdict(dict)
    for r in await pool.fetch(queries.STOCK_CLOSES, list(weights), sessions[0], end):
        bars[r["ticker"]][r["trade_date"]] = _bar(r)
    spy_bars = {r["trade_date"]: _bar(r)
                for r in await pool.fetch(queries.ETF_CLOSES, reference, sessions[0], end)}
    portfolio = cumulative_returns(weights, bars, sessions, base)
    spy = cumulative_returns({reference: 1.0}, {reference: spy_bars}, sessions, base)
    points = [
        CumulativePoint(date=d, portfolio_pct=p, spy_pct=s)
        for d, p, s in zip(sessions[base:], portfolio, spy, strict=True)
    ]
    return MonthlyVsSpy(rebalance_date=start, valid_until=valid_until, end_date=end,
                        reference_etf=reference, points=points)


def _bar(r: asyncpg.Record) -> Bar:
    adj = r["adj_close"]
    return Bar(close=float(r["close_price"]), adj_close=float(adj) if adj is not None else None)


@router.get("/etf-benchmark", response_model=list[EtfBar])
async def etf_benchmark(
    pool: PoolDep,
    ticker: TickerQuery,
    days: Annotated[int, Query(ge=1, le=400, description="sessions (not calendar days)")] = 60,
    as_of_date: AsOfDate = None,
) -> list[EtfBar]:
    """The last ``days`` sessions of one ETF ending at ``as_of_date``, newest first."""
    symbol = ticker.upper()
    if await pool.fetchrow(queries.ETF_META, symbol) is None and not await pool.fetchval(
        queries.ETF_EXISTS, symbol
    ):
        raise not_found(f"unknown ETF {symbol}")
    rows = await pool.fetch(queries.ETF_BARS, symbol, as_of_date, days)
    return [EtfBar(**dict(r)) for r in rows]
