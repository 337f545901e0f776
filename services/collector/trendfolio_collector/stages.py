"""Stages 1 (benchmark ETFs), 2 (sector ETFs), 4 (holdings of trending ETFs), the weekly
holdings refresh of every ETF, and the stock history a backtest needs.

Each fetches only what the database lacks up to the as-of date D and publishes one message
per bar / snapshot / observation. A ticker's messages are published only once all of them
were fetched, so a ticker the source fails on leaves nothing behind. With a source that
records resumable progress (yfinance), a ticker is marked done once its messages are flushed:
a run killed part-way and started again for the same D asks the source only for what it had
not published. The progress is dropped when a run ends with nothing failed, so a later run
for the same D refreshes as it always did.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import date

from trendfolio import rules
from trendfolio.bus import Bus
from trendfolio.db.connect import connection
from trendfolio.errors import SourceError, UnknownTicker
from trendfolio.messages import Message
from trendfolio.pipeline import StageContext, StageResult
from trendfolio.sources.base import RunProgress, Source, Unrecorded
from trendfolio.sources.resume import RunReport, run_resumable
from trendfolio_collector import build, reads
from trendfolio_collector.progress import track

log = logging.getLogger(__name__)


async def _publish_each(
    tickers: Sequence[str],
    progress: RunProgress,
    fetch: Callable[[str], list[Message]],
    bus: Bus,
    description: str,
) -> tuple[RunReport, int]:
    """``fetch`` (in a thread) and publish every ticker not done yet; return the report and
    the number of messages published."""
    # Recorded progress marks a ticker done only once it is durable (written, or acknowledged
    # by Kafka), so each one is flushed on its own; unrecorded, the bus batches as it likes
    # (a local source collects 5x faster than with a write per ticker).
    each = not isinstance(progress, Unrecorded)
    published = 0

    async def work(ticker: str) -> None:
        nonlocal published
        messages = await asyncio.to_thread(fetch, ticker)
        await bus.publish_all(messages)
        if each:
            await bus.flush()
        published += len(messages)

    report = await run_resumable(track(tickers, description), progress, work)
    await bus.flush()
    return report, published


async def collect_etfs(
    ctx: StageContext, as_of: date, tickers: list[str], source: Source, bus: Bus, label: str
) -> StageResult:
    """Fetch every missing session up to ``as_of`` for ``tickers`` and publish the bars."""
    async with connection(ctx.database_url) as conn:
        windows = await reads.fetch_windows(conn, reads.ETF_BARS, tickers, as_of)
        progress = source.progress(await reads.run_key(conn, label, as_of))
    todo = {t: w for t, w in windows.items() if w is not None}
    report, bars = await _publish_each(
        list(todo),
        progress,
        lambda t: build.etf_messages(source, t, todo[t]),
        bus,
        f"{label}: ETF prices",
    )
    if report.failed:
        raise SourceError(
            f"{label} for {as_of}: {len(report.failed)} of {len(todo)} tickers failed: "
            + "; ".join(map(str, report.failed.values()))
        )
    progress.reset()
    details = {
        "tickers": len(tickers),
        "fetched": len(report.done),
        "resumed": len(report.skipped),
        "up_to_date": len(tickers) - len(todo),
        "bars": bars,
    }
    return StageResult(rows=bars, details=details)


async def stage_benchmark(ctx: StageContext, as_of: date, source: Source, bus: Bus) -> StageResult:
    """Stage 1: the universe's benchmark ETFs."""
    return await collect_etfs(ctx, as_of, ctx.universe.benchmarks, source, bus, "stage 1")


async def stage_sector(ctx: StageContext, as_of: date, source: Source, bus: Bus) -> StageResult:
    """Stage 2: the sector ETFs that are not also benchmarks (those came with stage 1)."""
    bench = set(ctx.universe.benchmarks)
    sectors = [t for t in ctx.universe.sectors if t not in bench]
    return await collect_etfs(ctx, as_of, sectors, source, bus, "stage 2")


async def stage_holdings(ctx: StageContext, as_of: date, source: Source, bus: Bus) -> StageResult:
    """Stage 4: for each ETF trending at D, its snapshot and its top holdings' data."""
    async with connection(ctx.database_url) as conn:
        trending = await reads.trending_etfs(conn, as_of, ctx.settings.trend_period)
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


async def _collect_stocks(
    ctx: StageContext,
    as_of: date,
    stocks: list[str],
    source: Source,
    bus: Bus,
    progress: RunProgress,
    description: str,
    *,
    every_cap: bool,
) -> tuple[RunReport, int]:
    """Market caps and the missing daily history up to ``as_of`` of ``stocks``: of all of them
    with ``every_cap`` (stage 4 ranks by mcap(·, D)), else only of those lacking bars."""
    async with connection(ctx.database_url) as conn:
        windows = await reads.fetch_windows(conn, reads.STOCK_BARS, stocks, as_of)
    todo = stocks if every_cap else [t for t in stocks if windows[t] is not None]
    return await _publish_each(
        todo,
        progress,
        lambda t: build.stock_messages(source, t, windows[t], as_of),
        bus,
        description,
    )


async def _publish_snapshot(
    source: Source, bus: Bus, etf: str, as_of: date, label: str
) -> list[str] | None:
    """Publish ``etf``'s latest snapshot dated <= D; return its top holdings by weight, or
    None when it has no holdings with a ticker."""
    snap = await asyncio.to_thread(source.holdings, etf, as_of)
    valid = build.valid_holdings(snap) if snap is not None else []
    if snap is None or not valid:
        log.warning("%s for %s: %s has no holdings with a ticker", label, as_of, etf)
        return None
    await bus.publish(build.snapshot_message(source, snap, valid))
    await bus.flush()  # durable before its ETF is marked done, even with no holding left to do
    return [h.holding for h in rules.top_by_weight(valid)]


async def collect_holdings(
    ctx: StageContext,
    as_of: date,
    etfs: list[str],
    source: Source,
    bus: Bus,
    label: str,
    key: str,
) -> StageResult:
    """ETF by ETF: its latest snapshot dated <= D, then the market caps and missing daily
    history of its top holdings by weight. An ETF is done once its snapshot and every one of
    those holdings are; a re-run asks again for the snapshot of an ETF left unfinished (its
    top 10 say which holdings remain), never for a holding already published."""
    async with connection(ctx.database_url) as conn:
        run = await reads.run_key(conn, label, as_of)
    etf_progress, stock_progress = source.progress(f"{run}:etfs"), source.progress(f"{run}:stocks")
    without: list[str] = []
    resumed_etfs: list[str] = []
    handled: set[str] = set()  # holdings already collected (or failed) through an earlier ETF
    total = RunReport()
    published = snapshots = 0
    for etf in etfs:
        if etf_progress.is_done(etf):
            resumed_etfs.append(etf)
            continue
        top = await _publish_snapshot(source, bus, etf, as_of, label)
        if top is None:
            without.append(etf)
        else:
            snapshots += 1
            stocks = [t for t in top if t not in handled]
            handled.update(stocks)
            report, n = await _collect_stocks(ctx, as_of, stocks, source, bus, stock_progress,
                                              f"{label}: {etf} holdings", every_cap=True)
            published += n
            total.extend(report)
            if any(t in total.failed for t in top):
                continue  # unfinished: the next run retries what failed
        etf_progress.mark_done(etf)
    unknown = sorted(t for t, err in total.failed.items() if isinstance(err, UnknownTicker))
    if unknown:
        log.warning("%s for %s: not in this source, so no pick from them: %s",
                    label, as_of, ", ".join(unknown))
    details = {
        key: etfs,
        "without_holdings": without,
        "stocks": len(handled),
        "messages": published,
        "failed": sorted(total.failed),
        "not_in_source": unknown,
        "resumed_etfs": resumed_etfs,
        "resumed_stocks": len(total.skipped),
    }
    # Every holding failing is an outage (or Yahoo's empty answers), and the day must not be
    # half-written; holdings the source simply does not carry leave their ETF without picks.
    if total.failed and not total.done and len(unknown) < len(total.failed):
        raise SourceError(
            f"{label} for {as_of}: every holding failed: "
            + "; ".join(map(str, total.failed.values()))
        )
    if not total.failed:
        etf_progress.reset()
        stock_progress.reset()
    return StageResult(rows=published + snapshots, details=details)


async def collect_stock_history(
    ctx: StageContext, tickers: list[str], as_of: date, source: Source, bus: Bus, label: str
) -> StageResult:
    """Daily history and dated market caps of ``tickers`` up to ``as_of`` (only what the
    database lacks): what a backtest needs for every stock it held. A ticker the source fails
    on is reported in ``details["failed"]``, not raised: its days without a bar return 0. A
    source that is unavailable altogether (``SourceUnavailable``) stops the run."""
    async with connection(ctx.database_url) as conn:
        progress = source.progress(await reads.run_key(conn, label, as_of))
    report, published = await _collect_stocks(ctx, as_of, tickers, source, bus, progress,
                                              f"{label}: stock prices", every_cap=False)
    if not report.failed:
        progress.reset()
    return StageResult(
        rows=published,
        details={"tickers": len(tickers), "fetched": len(report.done),
                 "resumed": len(report.skipped), "failed": sorted(report.failed)},
    )
