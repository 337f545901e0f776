"""Every stage of SPEC §4 bound to the function that runs it.

A collect stage fetches from the source and publishes to the bus for one as-of date; a Spark
stage computes any number of sessions in one job (one date is a list of one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date

from trendfolio import stages as catalog
from trendfolio.bus import Bus
from trendfolio.errors import UsageError
from trendfolio.pipeline import StageContext, StageResult
from trendfolio.sources.base import Source
from trendfolio.stages import StageInfo
from trendfolio_collector import stages as collector


@dataclass(frozen=True)
class CollectStage:
    info: StageInfo
    collect: Callable[[StageContext, date, Source, Bus], Awaitable[StageResult]]


@dataclass(frozen=True)
class SparkStage:
    info: StageInfo
    compute: Callable[[StageContext, Sequence[date]], StageResult]


Stage = CollectStage | SparkStage


def _spark_stages() -> tuple[SparkStage, ...]:
    # The collector's image has no PySpark (the `spark` extra): it runs only collect stages.
    try:
        from trendfolio_jobs import allocation, etf_analytics, monthly, trending
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "pyspark":
            raise
        return ()
    return (
        SparkStage(catalog.TRENDING, trending.run_trending_range),
        SparkStage(catalog.ALLOCATION, allocation.run_allocation_range),
        SparkStage(catalog.MONTHLY, monthly.run_monthly_range),
        SparkStage(catalog.TOP_HOLDINGS, etf_analytics.run_top_holdings_range),
        SparkStage(catalog.MONTHLY_RETURNS, etf_analytics.run_monthly_returns_range),
    )


STAGES: tuple[Stage, ...] = tuple(
    sorted(
        (
            CollectStage(catalog.BENCHMARK, collector.stage_benchmark),
            CollectStage(catalog.SECTOR, collector.stage_sector),
            CollectStage(catalog.HOLDINGS, collector.stage_holdings),
            CollectStage(catalog.ETF_HOLDINGS, collector.stage_etf_holdings),
            *_spark_stages(),
        ),
        key=lambda s: s.info.number,
    )
)


def stage_by_name(name: str) -> Stage:
    """The stage called (or numbered) ``name``; unknown, or Spark without PySpark: usage error."""
    info = catalog.stage_info(name)
    for s in STAGES:
        if s.info == info:
            return s
    raise UsageError(
        f"stage {info.name} is a Spark job and this installation has no PySpark: install "
        "trendfolio[spark], or run it in the spark-jobs image"
    )


def pipeline_stages(names: str | None = None) -> list[Stage]:
    """The stages of ``run``/``backfill``: all in order, or the comma-separated ``names``."""
    if not names:
        return [stage_by_name(s.name) for s in catalog.PIPELINE]
    return [stage_by_name(n.strip()) for n in names.split(",") if n.strip()]
