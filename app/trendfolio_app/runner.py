"""Runs stages for as-of dates: the same code for `run`, `backfill`, `stage`, `demo` and
`backtest`. Each run of a stage is recorded in ``pipeline_runs`` and pushed to the Pushgateway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date

from trendfolio import calendar, wiring
from trendfolio.bus import Bus
from trendfolio.config import Settings
from trendfolio.db import queries
from trendfolio.db.connect import connection
from trendfolio.errors import SourceError
from trendfolio.metrics import StageOutcome, push_stage
from trendfolio.pipeline import StageContext, StageResult, record_run
from trendfolio.sources.base import Source
from trendfolio.universe import Universe, load_universe
from trendfolio_app.stages import CollectStage, SparkStage, Stage
from trendfolio_collector.stages import collect_stock_history

log = logging.getLogger(__name__)

Report = Callable[[Stage, StageResult], Awaitable[None] | None]
Track = Callable[[Sequence[date], str], Iterable[date]]


async def open_runner(settings: Settings) -> Runner:
    """A runner on the configured database, migrated, with the universe and the kind of data
    (source, sample or not) recorded in it."""
    universe = load_universe(settings.universe)
    url = await asyncio.to_thread(wiring.database_url, settings)
    runner = Runner(settings, universe, url)
    async with connection(url) as conn:
        await queries.prepare(conn, universe, runner.source.name, runner.source.is_sample)
    return runner


async def _push(settings: Settings, outcome: StageOutcome) -> None:
    if settings.pushgateway_url:
        await asyncio.to_thread(push_stage, settings.pushgateway_url, outcome)


def _start_spark(settings: Settings, stages: Sequence[Stage], sessions: int) -> None:
    """Start the JVM while the collectors work, so a run waits for it once, if at all."""
    if any(isinstance(s, SparkStage) for s in stages):
        from trendfolio_jobs.session import start_in_background

        start_in_background(settings, sessions)


class Runner:
    """Holds the source, the bus and the database for a sequence of stages."""

    def __init__(self, settings: Settings, universe: Universe, database_url: str) -> None:
        self.settings = settings
        self.ctx = StageContext(settings, universe, database_url, settings.source)
        self._source: Source | None = None
        self._bus: Bus | None = None

    @property
    def source(self) -> Source:
        if self._source is None:
            self._source = wiring.open_source(self.settings)
        return self._source

    async def bus(self) -> Bus:
        if self._bus is None:
            self._bus = await wiring.open_bus(self.settings, self.ctx.database_url)
        return self._bus

    async def close(self) -> None:
        if self._bus is not None:
            await self._bus.close()
        if self._source is not None:
            self._source.close()

    async def _recorded(self, stage: Stage, as_of: date,
                        body: Callable[[], Awaitable[StageResult]]) -> StageResult:
        async with connection(self.ctx.database_url) as conn:
            return await record_run(conn, self.ctx, stage.info.name, as_of, body)

    async def run_stage(self, stage: Stage, as_of: date) -> StageResult:
        """``stage`` for the session ``as_of``."""
        calendar.require_session(as_of)

        async def body() -> StageResult:
            if isinstance(stage, CollectStage):
                bus = await self.bus()
                result = await stage.collect(self.ctx, as_of, self.source, bus)
                await bus.settle()  # the next stage reads what this one published
                return result
            return await asyncio.to_thread(stage.compute, self.ctx, [as_of])

        started = time.monotonic()
        try:
            result = await self._recorded(stage, as_of, body)
        except BaseException:
            await _push(self.settings, StageOutcome(stage.info.name, as_of,
                                                    time.monotonic() - started, failed=True))
            raise
        await _push(self.settings, StageOutcome(stage.info.name, as_of,
                                                time.monotonic() - started, rows=result.rows))
        log.info("stage %d %s for %s: %s rows%s", stage.info.number, stage.info.name, as_of,
                 result.rows, " (skipped)" if result.skipped else "")
        return result

    async def run_range(self, stage: SparkStage, sessions: Sequence[date]) -> StageResult:
        """A Spark stage over every session of ``sessions`` in one job, recorded as one run
        dated with the last session."""
        days = sorted({calendar.require_session(d) for d in sessions})

        async def body() -> StageResult:
            return await asyncio.to_thread(stage.compute, self.ctx, days)

        result = await self._recorded(stage, days[-1], body)
        log.info("stage %d %s for %s..%s (%d sessions, one job): %s rows", stage.info.number,
                 stage.info.name, days[0], days[-1], len(days), result.rows)
        return result

    async def run(self, as_of: date, stages: Sequence[Stage],
                  report: Report | None = None) -> dict[str, StageResult]:
        """``stages`` in order for one session."""
        _start_spark(self.settings, stages, 1)
        results = {}
        for stage in stages:
            results[stage.info.name] = await self.run_stage(stage, as_of)
            await _report(report, stage, results[stage.info.name])
        return results

    async def backfill(self, sessions: Sequence[date], stages: Sequence[Stage],
                       report: Report | None = None,
                       track: Track | None = None) -> dict[str, StageResult]:
        """Every session of ``sessions``: each Spark stage in one job over all of them, the ETF
        price collectors once for the last session (they fetch every missing session), the
        holdings collector session by session (it needs the trending ETFs of each session).
        """
        days = sorted(set(sessions))
        _start_spark(self.settings, stages, len(days))
        results: dict[str, StageResult] = {}
        for stage in stages:
            if isinstance(stage, SparkStage):
                results[stage.info.name] = await self.run_range(stage, days)
            elif stage.info.name in ("benchmark", "sector"):
                results[stage.info.name] = await self.run_stage(stage, days[-1])
            else:
                label = f"stage {stage.info.number} {stage.info.name}"
                walk = track(days, label) if track else days
                results[stage.info.name] = await self._each_session(stage, walk, len(days))
            await _report(report, stage, results[stage.info.name])
        return results

    async def _each_session(self, stage: Stage, walk: Iterable[date], sessions: int) -> StageResult:
        rows = 0
        failed: dict[str, str] = {}
        for day in walk:
            try:
                rows += (await self.run_stage(stage, day)).rows
            except SourceError as exc:
                # recorded as failed in pipeline_runs; the later stages see what the source
                # could give (holdings without data are skipped by the rules)
                failed[day.isoformat()] = str(exc)
                log.warning("stage %d %s for %s failed, backfill goes on: %s",
                            stage.info.number, stage.info.name, day, exc)
        if failed:
            log.warning("stage %d %s failed on %d of %d sessions: %s", stage.info.number,
                        stage.info.name, len(failed), sessions, ", ".join(failed))
        return StageResult(rows=rows, details={"sessions": sessions, "failed": failed})

    async def complete_stock_history(self, start: date, end: date, label: str) -> list[str]:
        """Collect up to ``end`` the daily history of every stock a portfolio of [start, end]
        held (a backtest follows them past the day they were picked); return the tickers the
        source failed on."""
        async with connection(self.ctx.database_url) as conn:
            tickers = await queries.held_tickers(conn, start, end)
        if not tickers:
            return []
        bus = await self.bus()
        result = await collect_stock_history(self.ctx, tickers, end, self.source, bus, label)
        await bus.settle()
        failed: list[str] = result.details["failed"]
        return failed


async def _report(report: Report | None, stage: Stage, result: StageResult) -> None:
    if report is not None:
        maybe = report(stage, result)
        if maybe is not None:
            await maybe
