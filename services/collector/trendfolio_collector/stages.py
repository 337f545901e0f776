"""Stages 1 (benchmark ETFs), 2 (sector ETFs), 4 (holdings of trending ETFs) and the weekly
holdings refresh of every ETF.

Each fetches only what the database lacks up to the as-of date D, publishes one message per
bar / snapshot / observation, and never publishes a partial series for a ticker that failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, timedelta

import asyncpg

from trendfolio.bus import Bus
from trendfolio.errors import SourceError, UnknownTicker
from trendfolio.holdings import top_by_weight
from trendfolio.messages import (
    EtfDaily,
    EtfHoldings,
    HoldingItem,
    Message,
    StockDaily,
    StockFundamental,
    is_ticker,
)
from trendfolio.pipeline import HISTORY_CALENDAR_DAYS, StageContext, StageResult
from trendfolio.sources.base import DailyBar, Holding, Source
from trendfolio_collector.progress import track

log = logging.getLogger(__name__)


async def _fetch_windows(
    conn: asyncpg.Connection, table: str, tickers: list[str], as_of: date
) -> dict[str, tuple[date, date] | None]:
    """Per ticker, the date range still to fetch (``None`` when it is up to date)."""
    rows = await conn.fetch(
        f"SELECT ticker, max(trade_date) AS last FROM {table} "  # table is a constant
        "WHERE ticker = ANY($1::text[]) AND trade_date <= $2 GROUP BY ticker",
        tickers,
        as_of,
    )
    last = {r["ticker"]: r["last"] for r in rows}
    first = as_of - timedelta(days=HISTORY_CALENDAR_DAYS)
    out: dict[str, tuple[date, date] | None] = {}
    for t in tickers:
        seen = last.get(t)
        if seen is None:
            out[t] = (first, as_of)
        elif seen < as_of:
            out[t] = (seen + timedelta(days=1), as_of)
        else:
            out[t] = None
    return out


def _etf_messages(bars: list[DailyBar], source: str) -> list[Message]:
    return [
        EtfDaily(
            ticker=b.ticker,
            trade_date=b.trade_date,
            open=b.open,
            high=b.high,
            low=b.low,
            close=b.close,
            adj_close=b.adj_close,
            volume=b.volume,
            source=source,
        )
        for b in bars
    ]


async def collect_etfs(
    ctx: StageContext, as_of: date, tickers: list[str], source: Source, bus: Bus, label: str
) -> StageResult:
    """Fetch every missing session up to ``as_of`` for ``tickers`` and publish the bars."""
    conn = await asyncpg.connect(ctx.database_url)
    try:
        windows = await _fetch_windows(conn, "collected_01_daily_etf_ohlc", tickers, as_of)
    finally:
        await conn.close()
    failed: dict[str, str] = {}
    bars_published = 0
    todo = [t for t in tickers if windows[t] is not None]
    for ticker in track(todo, f"{label}: ETF prices"):
        window = windows[ticker]
        assert window is not None
        try:
            bars = await asyncio.to_thread(source.daily_bars, ticker, *window)
        except SourceError as exc:
            failed[ticker] = str(exc)
            log.error("%s: %s", label, exc)
            continue
        await bus.publish_all(_etf_messages(bars, source.name))
        bars_published += len(bars)
    await bus.flush()
    details = {
        "tickers": len(tickers),
        "fetched": len(todo) - len(failed),
        "up_to_date": len(tickers) - len(todo),
        "bars": bars_published,
    }
    if failed:
        raise SourceError(
            f"{label} for {as_of}: {len(failed)} of {len(todo)} tickers failed: "
            + "; ".join(failed.values())
        )
    return StageResult(rows=bars_published, details=details)


async def stage_benchmark(ctx: StageContext, as_of: date, source: Source, bus: Bus) -> StageResult:
    """Stage 1: the universe's benchmark ETFs."""
    return await collect_etfs(ctx, as_of, ctx.universe.benchmarks, source, bus, "stage 1")


async def stage_sector(ctx: StageContext, as_of: date, source: Source, bus: Bus) -> StageResult:
    """Stage 2: the sector ETFs that are not also benchmarks (those came with stage 1)."""
    bench = set(ctx.universe.benchmarks)
    sectors = [t for t in ctx.universe.sectors if t not in bench]
    return await collect_etfs(ctx, as_of, sectors, source, bus, "stage 2")


async def _trending(conn: asyncpg.Connection, as_of: date, period: int) -> list[str]:
    rows = await conn.fetch(
        "SELECT etf_ticker FROM analytics_03_trending_etfs WHERE as_of_date = $1 AND period = $2 "
        "AND is_trending ORDER BY return_pct DESC, etf_ticker",
        as_of,
        period,
    )
    return [r["etf_ticker"] for r in rows]


def _stock_messages(
    source: Source, ticker: str, window: tuple[date, date] | None, as_of: date
) -> list[Message]:
    """One stock's bars (with what is known of the company) and its dated fundamentals."""
    start = window[0] if window else as_of
    fundamentals = source.fundamentals(ticker, start, as_of)
    caps = {f.as_of: f.market_cap for f in fundamentals if f.market_cap is not None}
    out: list[Message] = []
    if window is not None:
        meta = source.meta(ticker)
        for b in source.daily_bars(ticker, *window):
            out.append(
                StockDaily(
                    ticker=ticker,
                    trade_date=b.trade_date,
                    open=b.open,
                    high=b.high,
                    low=b.low,
                    close=b.close,
                    adj_close=b.adj_close,
                    volume=b.volume,
                    source=source.name,
                    company_name=meta.name[:255] if meta.name else None,
                    sector=meta.sector[:100] if meta.sector else None,
                    currency=meta.currency,
                    market_cap=caps.get(b.trade_date),
                )
            )
    out.extend(
        StockFundamental(
            ticker=ticker,
            as_of_date=f.as_of,
            market_cap=f.market_cap,
            shares_outstanding=f.shares_outstanding,
            source=source.name,
        )
        for f in fundamentals
    )
    return out


def _valid_holdings(etf: str, as_of: date, holdings: Sequence[Holding]) -> list[Holding]:
    """The snapshot's holdings that have a ticker (cash and futures lines do not), once each."""
    kept: dict[str, Holding] = {}
    for h in sorted(holdings, key=lambda h: -h.weight):
        if not is_ticker(h.holding):
            log.info("stage 4 for %s: %s holding %r (weight %.4g) has no ticker; left out",
                     as_of, etf, h.holding, h.weight)
        elif h.holding in kept:
            log.warning("stage 4 for %s: %s lists %s twice; the larger weight is kept",
                        as_of, etf, h.holding)
        else:
            kept[h.holding] = h
    return list(kept.values())


async def stage_holdings(ctx: StageContext, as_of: date, source: Source, bus: Bus) -> StageResult:
    """Stage 4: for each ETF trending at D, its snapshot and its top holdings' data."""
    conn = await asyncpg.connect(ctx.database_url)
    try:
        trending = await _trending(conn, as_of, ctx.settings.trend_period)
    finally:
        await conn.close()
    if not trending:
        log.info("stage 4 for %s: no ETF is trending, nothing to collect", as_of)
        return StageResult(skipped=True, details={"reason": "no ETF trending"})
    return await collect_holdings(ctx, as_of, trending, source, bus, "stage 4", "trending")


async def stage_etf_holdings(
    ctx: StageContext, as_of: date, source: Source, bus: Bus
) -> StageResult:
    """The weekly refresh (SPEC §4.7): every ETF's snapshot and its top holdings' data, trending
    or not, so the ETF top-holdings analytics cover every ETF."""
    etfs = [e.ticker for e in ctx.universe.etfs]
    return await collect_holdings(ctx, as_of, etfs, source, bus, "etf-holdings", "etfs")


async def collect_holdings(
    ctx: StageContext,
    as_of: date,
    etfs: list[str],
    source: Source,
    bus: Bus,
    label: str,
    key: str,
) -> StageResult:
    """Publish each ETF's latest snapshot dated <= D, then daily history and market caps of
    each snapshot's top holdings by weight (only what the database lacks)."""
    snapshots: list[list[Holding]] = []
    without: list[str] = []
    for etf in etfs:
        snap = await asyncio.to_thread(source.holdings, etf, as_of)
        if snap is None or not snap.holdings:
            log.warning("%s for %s: %s has no holdings", label, as_of, etf)
            without.append(etf)
            continue
        valid = _valid_holdings(etf, as_of, snap.holdings)
        if not valid:
            log.warning("%s for %s: no holding of %s has a ticker", label, as_of, etf)
            without.append(etf)
            continue
        snapshots.append(valid)
        await bus.publish(
            EtfHoldings(
                etf_ticker=etf,
                as_of_date=snap.as_of,
                point_in_time=snap.point_in_time,
                source=source.name,
                holdings=[
                    HoldingItem(
                        holding_ticker=h.holding,
                        weight=h.weight,
                        holding_name=h.name[:255] if h.name else None,
                        currency=h.currency,
                    )
                    for h in valid
                ],
            )
        )
    stocks = sorted({h.holding for valid in snapshots for h in top_by_weight(valid)})
    conn = await asyncpg.connect(ctx.database_url)
    try:
        windows = await _fetch_windows(conn, "collected_06_daily_stock_history", stocks, as_of)
    finally:
        await conn.close()
    failed: dict[str, str] = {}
    unknown: set[str] = set()
    published = 0
    for ticker in track(stocks, f"{label}: holdings"):
        try:
            msgs = await asyncio.to_thread(_stock_messages, source, ticker, windows[ticker], as_of)
        except SourceError as exc:
            failed[ticker] = str(exc)
            if isinstance(exc, UnknownTicker):
                unknown.add(ticker)
                log.warning("%s: %s (not in this source: no pick from it)", label, exc)
            else:
                log.error("%s: %s", label, exc)
            continue
        await bus.publish_all(msgs)
        published += len(msgs)
    await bus.flush()
    details = {
        key: etfs,
        "without_holdings": without,
        "stocks": len(stocks),
        "messages": published,
        "failed": sorted(failed),
        "not_in_source": sorted(unknown),
    }
    # Every holding failing is an outage (or Yahoo's empty answers), and the day must not be
    # half-written; holdings the source simply does not carry leave their ETF without picks.
    if failed and len(failed) == len(stocks) and len(unknown) < len(failed):
        raise SourceError(
            f"{label} for {as_of}: every holding failed: " + "; ".join(failed.values())
        )
    return StageResult(rows=published + len(snapshots), details=details)


async def collect_stock_history(
    ctx: StageContext, tickers: list[str], as_of: date, source: Source, bus: Bus, label: str
) -> StageResult:
    """Daily history and dated market caps of ``tickers`` up to ``as_of`` (only what the
    database lacks): what a backtest needs for every stock it held. A ticker the source fails
    on is reported in ``details["failed"]``, not raised: its days without a bar return 0."""
    conn = await asyncpg.connect(ctx.database_url)
    try:
        windows = await _fetch_windows(conn, "collected_06_daily_stock_history", tickers, as_of)
    finally:
        await conn.close()
    todo = [t for t in tickers if windows[t] is not None]
    failed: dict[str, str] = {}
    published = 0
    for ticker in track(todo, f"{label}: stock prices"):
        try:
            msgs = await asyncio.to_thread(_stock_messages, source, ticker, windows[ticker], as_of)
        except SourceError as exc:
            failed[ticker] = str(exc)
            log.warning("%s: %s", label, exc)
            continue
        await bus.publish_all(msgs)
        published += len(msgs)
    await bus.flush()
    return StageResult(
        rows=published,
        details={"tickers": len(tickers), "fetched": len(todo) - len(failed),
                 "failed": sorted(failed)},
    )
