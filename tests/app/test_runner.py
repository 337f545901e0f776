"""The runner on a real PostgreSQL: what each stage run records in ``pipeline_runs``, one job
per range for a Spark stage, and a backfill that goes on past a session the source fails on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import asyncpg
import pytest

from trendfolio import calendar
from trendfolio import stages as catalog
from trendfolio.bus import Bus
from trendfolio.config import load_settings
from trendfolio.errors import SourceError
from trendfolio.pipeline import StageContext, StageResult
from trendfolio.sources.base import Source
from trendfolio.stages import StageInfo
from trendfolio.universe import load_universe
from trendfolio_app.runner import Runner
from trendfolio_app.stages import CollectStage, SparkStage, stage_by_name

D = date(2026, 8, 20)


def runner(db_url: str, home: Path) -> Runner:
    settings = load_settings(source="sample", home=home, database_url=db_url)
    return Runner(settings, load_universe("seed"), db_url)


async def runs(db_url: str) -> list[tuple[str, date, str, int | None, str | None]]:
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("SELECT stage, as_of_date, status, rows_written, error "
                                "FROM pipeline_runs ORDER BY id")
    finally:
        await conn.close()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_collect_stages_publish_and_record_their_rows(db_url: str, tmp_path: Path) -> None:
    r = runner(db_url, tmp_path)
    try:
        results = await r.run(D, [stage_by_name("benchmark"), stage_by_name("sector")])
    finally:
        await r.close()
    conn = await asyncpg.connect(db_url)
    try:
        bars = await conn.fetchval("SELECT count(*) FROM collected_01_daily_etf_ohlc")
        last = await conn.fetchval("SELECT max(trade_date) FROM collected_01_daily_etf_ohlc")
    finally:
        await conn.close()
    assert bars == results["benchmark"].rows + results["sector"].rows > 0
    assert last == D
    assert [(s, d, st) for s, d, st, _, _ in await runs(db_url)] == [
        ("benchmark", D, "success"), ("sector", D, "success")]
    assert [n for *_, n, _ in await runs(db_url)] == [results["benchmark"].rows,
                                                       results["sector"].rows]


async def _broken(ctx: StageContext, as_of: date, source: Source, bus: Bus) -> StageResult:
    raise SourceError("Yahoo answered nothing", ticker="XLK")


async def test_a_failing_stage_is_recorded_with_its_error_and_raised(db_url: str,
                                                                     tmp_path: Path) -> None:
    broken = CollectStage(StageInfo("broken", 99, "collect", "always fails"), _broken)
    r = runner(db_url, tmp_path)
    try:
        with pytest.raises(SourceError, match="XLK: Yahoo answered nothing"):
            await r.run_stage(broken, D)
    finally:
        await r.close()
    assert await runs(db_url) == [("broken", D, "failed", 0,
                                   "SourceError: XLK: Yahoo answered nothing")]


async def test_a_backfill_goes_on_past_a_session_the_source_fails_on(db_url: str,
                                                                     tmp_path: Path) -> None:
    sessions = calendar.sessions_between(date(2026, 8, 17), D)
    bad = sessions[2]

    async def flaky(ctx: StageContext, as_of: date, source: Source, bus: Bus) -> StageResult:
        if as_of == bad:
            raise SourceError("timed out", ticker="AAPL")
        return StageResult(rows=1)

    spans: list[Sequence[date]] = []

    def job(ctx: StageContext, dates: Sequence[date]) -> StageResult:
        spans.append(list(dates))
        return StageResult(rows=len(dates))

    stages = [CollectStage(catalog.HOLDINGS, flaky), SparkStage(catalog.ALLOCATION, job)]
    r = runner(db_url, tmp_path)
    try:
        results = await r.backfill(sessions, stages)
    finally:
        await r.close()
    assert results["holdings"].rows == len(sessions) - 1
    assert results["holdings"].details["failed"] == {bad.isoformat(): "AAPL: timed out"}
    assert spans == [sessions], "a Spark stage runs once over the whole range"
    recorded = await runs(db_url)
    assert [(s, d, st) for s, d, st, _, _ in recorded] == [
        *(("holdings", d, "failed" if d == bad else "success") for d in sessions),
        ("allocation", sessions[-1], "success"),
    ]
