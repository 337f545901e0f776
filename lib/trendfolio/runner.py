"""Runs stages for as-of dates: the same code for `run`, `backfill`, `stage` and `demo`."""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from trendfolio import calendar
from trendfolio.bus import Bus, InProcessBus, KafkaBus, ensure_topics, wait_until_consumed
from trendfolio.config import Settings
from trendfolio.db.migrate import migrate
from trendfolio.errors import SourceError, UsageError
from trendfolio.metrics import StageOutcome, push_stage
from trendfolio.pipeline import StageContext, StageResult, record_run
from trendfolio.sources.base import Source, open_source
from trendfolio.universe import Universe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageDef:
    name: str
    number: int
    target: str  # "module:function"
    kind: str  # "collect" (source + bus) or "spark"
    description: str
    # a spark stage's "module:function(ctx, dates)" computing many sessions in one job
    range_target: str | None = None


STAGES: tuple[StageDef, ...] = (
    StageDef(
        "benchmark",
        1,
        "trendfolio_collector.stages:stage_benchmark",
        "collect",
        "benchmark ETF prices → etf-daily-data",
    ),
    StageDef(
        "sector",
        2,
        "trendfolio_collector.stages:stage_sector",
        "collect",
        "sector ETF prices → etf-daily-data",
    ),
    StageDef(
        "trending",
        3,
        "trendfolio_jobs.trending:run_trending",
        "spark",
        "ETFs beating SPY → analytics_03_trending_etfs",
        "trendfolio_jobs.trending:run_trending_range",
    ),
    StageDef(
        "holdings",
        4,
        "trendfolio_collector.stages:stage_holdings",
        "collect",
        "holdings of trending ETFs → etf-holdings-data, stock-daily-data",
    ),
    StageDef(
        "allocation",
        5,
        "trendfolio_jobs.allocation:run_allocation",
        "spark",
        "5/10/20-day portfolios → analytics_05_portfolio_allocation",
        "trendfolio_jobs.allocation:run_allocation_range",
    ),
    StageDef(
        "monthly",
        6,
        "trendfolio_jobs.monthly:run_monthly",
        "spark",
        "monthly 20-stock portfolio (month ends) → analytics_08_monthly_portfolio",
        "trendfolio_jobs.monthly:run_monthly_range",
    ),
    StageDef(
        "top-holdings",
        7,
        "trendfolio_jobs.etf_analytics:run_top_holdings",
        "spark",
        "ETF top-holdings analytics → analytics_09_etf_top_holdings",
        "trendfolio_jobs.etf_analytics:run_top_holdings_range",
    ),
    StageDef(
        "monthly-returns",
        8,
        "trendfolio_jobs.etf_analytics:run_monthly_returns",
        "spark",
        "ETF monthly returns (12 months + current) → analytics_10_etf_monthly_returns",
        "trendfolio_jobs.etf_analytics:run_monthly_returns_range",
    ),
)
STAGE_NAMES = tuple(s.name for s in STAGES)

# Stages on a schedule of their own (the weekly DAG), never part of `run`/`backfill`: only
# `trendfolio stage NAME` starts them.
OCCASIONAL_STAGES: tuple[StageDef, ...] = (
    StageDef(
        "etf-holdings",
        9,
        "trendfolio_collector.stages:stage_etf_holdings",
        "collect",
        "weekly: every ETF's holdings → etf-holdings-data, stock-daily-data",
    ),
)


def stage_by_name(name: str) -> StageDef:
    for s in (*STAGES, *OCCASIONAL_STAGES):
        if s.name == name or str(s.number) == name:
            return s
    names = [s.name for s in (*STAGES, *OCCASIONAL_STAGES)]
    raise UsageError(f"unknown stage {name!r}: use one of {', '.join(names)}")


def _load(target: str) -> Callable[..., Any]:
    module, func = target.split(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), func)
    return fn


async def prepare_database(url: str, universe: Universe, source: Source) -> None:
    """Migrate, then record the universe and what kind of data this database holds."""
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        async with conn.transaction():
            await conn.executemany(
                """INSERT INTO collected_00_meta_etf
                       (ticker, etf_type, sector_name, etf_name, is_reference, universe)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (ticker) DO UPDATE SET etf_type = EXCLUDED.etf_type,
                       sector_name = EXCLUDED.sector_name, etf_name = EXCLUDED.etf_name,
                       is_reference = EXCLUDED.is_reference, universe = EXCLUDED.universe,
                       updated_at = now()""",
                [
                    (e.ticker, e.etf_type, e.sector_name, e.name, e.is_reference, universe.name)
                    for e in universe.etfs
                ],
            )
            await conn.executemany(
                """INSERT INTO pipeline_settings (key, value) VALUES ($1, $2)
                   ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()""",
                [
                    ("universe", universe.name),
                    ("source", source.name),
                    ("is_sample", "true" if source.is_sample else "false"),
                ],
            )
    finally:
        await conn.close()


async def _push(settings: Settings, outcome: StageOutcome) -> None:
    if settings.pushgateway_url:
        await asyncio.to_thread(push_stage, settings.pushgateway_url, outcome)


class Runner:
    """Holds the source, bus and database for a sequence of stages."""

    def __init__(
        self, settings: Settings, universe: Universe, database_url: str, source_spec: str
    ) -> None:
        self.settings = settings
        self.ctx = StageContext(settings, universe, database_url, source_spec)
        self._source: Source | None = None
        self._bus: Bus | None = None

    @property
    def source(self) -> Source:
        if self._source is None:
            self._source = open_source(self.ctx.source_spec, home=self.settings.home)
        return self._source

    async def bus(self) -> Bus:
        if self._bus is None:
            if self.settings.kafka_bootstrap:
                await ensure_topics(self.settings.kafka_bootstrap)
                self._bus = KafkaBus(self.settings.kafka_bootstrap)
            else:
                self._bus = InProcessBus(self.ctx.database_url, self.settings.consumer_batch_size)
        return self._bus

    async def close(self) -> None:
        if self._bus is not None:
            await self._bus.close()
        if self._source is not None:
            self._source.close()

    async def _after_publish(self) -> None:
        if self.settings.kafka_bootstrap:
            await wait_until_consumed(self.settings.kafka_bootstrap, self.settings.kafka_group)

    async def run_stage(self, stage: StageDef, as_of: date) -> StageResult:
        calendar.require_session(as_of)
        fn = _load(stage.target)

        async def body() -> StageResult:
            if stage.kind == "collect":
                result: StageResult = await fn(self.ctx, as_of, self.source, await self.bus())
                await self._after_publish()
                return result
            return await asyncio.to_thread(fn, self.ctx, as_of)

        conn = await asyncpg.connect(self.ctx.database_url)
        started = time.monotonic()
        try:
            result = await record_run(conn, self.ctx, stage.name, as_of, body)
        except BaseException:
            await _push(self.settings, StageOutcome(stage.name, as_of, time.monotonic() - started,
                                                    failed=True))
            raise
        finally:
            await conn.close()
        await _push(self.settings, StageOutcome(stage.name, as_of, time.monotonic() - started,
                                                rows=result.rows))
        log.info(
            "stage %d %s for %s: %s rows%s",
            stage.number,
            stage.name,
            as_of,
            result.rows,
            " (skipped)" if result.skipped else "",
        )
        return result

    async def run_range(self, stage: StageDef, sessions: Sequence[date]) -> StageResult:
        """A spark stage over every session of ``sessions`` in one job, recorded as one run
        dated with the last session.
        """
        if stage.range_target is None:
            raise UsageError(f"stage {stage.name} has no one-job range form")
        days = sorted({calendar.require_session(d) for d in sessions})
        fn = _load(stage.range_target)

        async def body() -> StageResult:
            result: StageResult = await asyncio.to_thread(fn, self.ctx, days)
            return result

        conn = await asyncpg.connect(self.ctx.database_url)
        try:
            result = await record_run(conn, self.ctx, stage.name, days[-1], body)
        finally:
            await conn.close()
        log.info("stage %d %s for %s..%s (%d sessions, one job): %s rows", stage.number,
                 stage.name, days[0], days[-1], len(days), result.rows)
        return result

    async def backfill(
        self,
        sessions: Sequence[date],
        stages: Sequence[StageDef] = STAGES,
        report: Callable[[StageDef, StageResult], Awaitable[None] | None] | None = None,
        track: Callable[[Sequence[date], str], Iterable[date]] | None = None,
    ) -> dict[str, StageResult]:
        """Every session of ``sessions``: each spark stage in one job over all of them, the ETF
        collectors once up to the last session (they fetch every missing session), the holdings
        collector session by session (it needs the trending ETFs of each session).
        """
        days = sorted(set(sessions))
        results: dict[str, StageResult] = {}
        if any(s.kind == "spark" for s in stages):
            from trendfolio_jobs.session import start_in_background

            start_in_background(self.settings, len(days))
        for stage in stages:
            if stage.kind == "spark" and stage.range_target is not None:
                results[stage.name] = await self.run_range(stage, days)
            elif stage.name in ("benchmark", "sector"):
                results[stage.name] = await self.run_stage(stage, days[-1])
            else:
                rows = 0
                failed: dict[str, str] = {}
                walk = track(days, f"stage {stage.number} {stage.name}") if track else days
                for day in walk:
                    try:
                        rows += (await self.run_stage(stage, day)).rows
                    except SourceError as exc:
                        # recorded as failed in pipeline_runs; the later stages see what the
                        # source could give (holdings without data are skipped by the rules)
                        failed[day.isoformat()] = str(exc)
                        log.warning("stage %d %s for %s failed, backfill goes on: %s",
                                    stage.number, stage.name, day, exc)
                results[stage.name] = StageResult(
                    rows=rows, details={"sessions": len(days), "failed": failed}
                )
                if failed:
                    log.warning("stage %d %s failed on %d of %d sessions: %s", stage.number,
                                stage.name, len(failed), len(days), ", ".join(failed))
            if report:
                maybe = report(stage, results[stage.name])
                if maybe is not None:
                    await maybe
        return results

    async def complete_stock_history(self, start: date, end: date, label: str) -> list[str]:
        """Collect up to ``end`` the daily history of every stock a portfolio of [start, end]
        held (a backtest follows them past the day they were picked); return the tickers the
        source failed on."""
        from trendfolio_collector.stages import collect_stock_history

        conn = await asyncpg.connect(self.ctx.database_url)
        try:
            rows = await conn.fetch(
                """SELECT ticker FROM analytics_05_portfolio_allocation
                    WHERE as_of_date BETWEEN $1 AND $2
                   UNION
                   SELECT ticker FROM analytics_08_monthly_portfolio
                    WHERE rebalance_date BETWEEN $1 AND $2
                   ORDER BY 1""",
                start,
                end,
            )
        finally:
            await conn.close()
        tickers = [r["ticker"] for r in rows]
        if not tickers:
            return []
        result = await collect_stock_history(
            self.ctx, tickers, end, self.source, await self.bus(), label
        )
        await self._after_publish()
        failed: list[str] = result.details["failed"]
        return failed

    async def run(
        self,
        as_of: date,
        stages: Sequence[StageDef] = STAGES,
        report: Callable[[StageDef, StageResult], Awaitable[None] | None] | None = None,
    ) -> dict[str, StageResult]:
        results = {}
        if any(s.kind == "spark" for s in stages):
            # The JVM starts while the collectors work: a run waits for it only once, if at all.
            from trendfolio_jobs.session import start_in_background

            start_in_background(self.settings)
        for stage in stages:
            results[stage.name] = await self.run_stage(stage, as_of)
            if report:
                maybe = report(stage, results[stage.name])
                if maybe is not None:
                    await maybe
        return results
