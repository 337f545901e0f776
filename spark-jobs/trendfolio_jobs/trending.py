"""Stage 3: which ETFs beat the reference ETF (SPY) over each period P (SPEC §1)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from trendfolio import rules
from trendfolio.calendar import require_session
from trendfolio.config import Settings
from trendfolio.db.writes import TableSpec
from trendfolio.errors import TrendfolioError
from trendfolio.pipeline import StageContext, StageResult
from trendfolio_jobs.io import read_table, rows_of, write_dates
from trendfolio_jobs.prices import (
    as_of_frame,
    bar_frame,
    lookback_start,
    price,
    r_p,
    sessions_frame,
)
from trendfolio_jobs.ranking import position
from trendfolio_jobs.session import get_spark

log = logging.getLogger(__name__)

ETF_PRICES = "collected_01_daily_etf_ohlc"
TRENDING_TABLE = TableSpec(
    name="analytics_03_trending_etfs",
    key=("etf_ticker", "as_of_date", "period"),
    columns=(
        "etf_ticker",
        "as_of_date",
        "period",
        "return_pct",
        "spy_return_pct",
        "is_trending",
        "rank",
        "price_basis",
    ),
    touch_updated_at=False,
)


def trend_periods(settings: Settings) -> tuple[int, ...]:
    """The periods stage 3 computes: every period P and the trend period the portfolio reads."""
    return tuple(sorted({*rules.PERIODS, settings.trend_period}))


def reference_returns(returns: DataFrame, reference: str) -> DataFrame:
    """The reference ETF's r_P per date and period: ``as_of_date, period, ref_r``."""
    return returns.where(F.col("ticker") == reference).select(
        "as_of_date", "period", F.col("r").alias("ref_r")
    )


def trending_etfs(
    returns: DataFrame,
    as_of: DataFrame,
    tickers: Sequence[str],
    reference: str,
    threshold: float,
    periods: Sequence[int],
) -> DataFrame:
    """analytics_03 rows: return, reference return, rank among defined returns
    (:data:`rules.RETURN_RANK`) and ``is_trending`` per ETF, date and period.
    """
    spark = returns.sparkSession
    grid = (
        spark.createDataFrame([(t,) for t in tickers], "etf_ticker string")
        .crossJoin(F.broadcast(as_of.select("as_of_date")))
        .crossJoin(F.broadcast(spark.createDataFrame([(p,) for p in periods], "period int")))
    )
    etf_returns = returns.withColumnRenamed("ticker", "etf_ticker")
    ref_returns = reference_returns(returns, reference)
    # SPEC §4: the reference itself is never trending, said outright, not left to r > ref_r
    beats = (
        (F.col("etf_ticker") != reference)
        & (F.col("r") > F.col("ref_r"))
        & (F.col("r") > F.lit(float(threshold)))
    )
    return (
        grid.join(etf_returns, ["etf_ticker", "as_of_date", "period"], "left")
        .join(ref_returns, ["as_of_date", "period"], "left")
        .select(
            "etf_ticker",
            "as_of_date",
            "period",
            (F.col("r") * 100).alias("return_pct"),
            (F.col("ref_r") * 100).alias("spy_return_pct"),
            F.coalesce(beats, F.lit(False)).alias("is_trending"),
            F.when(
                F.col("r").isNotNull(), position(rules.RETURN_RANK, ["as_of_date", "period"])
            ).alias("rank"),
            "price_basis",
        )
    )


def trending_for_dates(
    bars: DataFrame,
    dates: Sequence[date],
    tickers: Sequence[str],
    reference: str,
    threshold: float,
    periods: Sequence[int],
) -> DataFrame:
    """Stage 3's rows for every date of ``dates`` from daily bars, in one job."""
    spark = bars.sparkSession
    sessions = sessions_frame(spark, lookback_start(min(dates), max(periods)), max(dates))
    as_of = as_of_frame(spark, dates)
    returns = r_p(price(bars, sessions), as_of, periods)
    return trending_etfs(returns, as_of, tickers, reference, threshold, periods)


def run_trending(ctx: StageContext, as_of: date) -> StageResult:
    """Stage 3 for ``as_of``: read ETF bars, write analytics_03 (idempotent)."""
    return run_trending_range(ctx, [as_of])


def run_trending_range(ctx: StageContext, dates: Sequence[date]) -> StageResult:
    """Stage 3 for every session of ``dates`` in one Spark job; analytics_03 rows of those dates
    are replaced in batches (idempotent).
    """
    dates = sorted({require_session(d) for d in dates})
    settings = ctx.settings
    periods = trend_periods(settings)
    tickers = ctx.universe.tickers
    first = lookback_start(dates[0], max(periods))
    spark = get_spark(settings, len(dates))
    bars = bar_frame(
        read_table(spark, ctx.database_url, ETF_PRICES).where(
            F.col("ticker").isin(tickers) & F.col("trade_date").between(first, dates[-1])
        )
    )
    result = trending_for_dates(
        bars, dates, tickers, ctx.universe.reference, settings.trend_threshold, periods
    )
    rows = rows_of(result, TRENDING_TABLE.columns)
    records = [dict(zip(TRENDING_TABLE.columns, r, strict=True)) for r in rows]
    span = str(dates[0]) if len(dates) == 1 else f"{dates[0]}..{dates[-1]}"
    if all(r["return_pct"] is None for r in records):
        raise TrendfolioError(
            f"stage 3 for {span}: no ETF of universe {ctx.universe.name} has the prices for "
            f"any return in {ETF_PRICES}; run stages 1 and 2 (ETF prices) first"
        )
    write_dates(ctx.database_url, TRENDING_TABLE, "as_of_date", dates, rows)
    tp = settings.trend_period
    trending = {
        str(p): sorted(
            str(r["etf_ticker"]) for r in records if r["period"] == p and r["is_trending"]
        )
        for p in periods
    }
    undefined = sorted(
        {str(r["etf_ticker"]) for r in records if r["period"] == tp and r["return_pct"] is None}
    )
    if len(dates) == 1:
        log.info(
            "stage 3 for %s: %d ETFs, trending over %dd: %s",
            span,
            len(tickers),
            tp,
            ", ".join(trending[str(tp)]) or "none",
        )
        details: dict[str, object] = {
            "trending": trending,
            "undefined_return": undefined,
            "periods": list(periods),
        }
    else:
        per_day = sum(1 for r in records if r["period"] == tp and r["is_trending"])
        log.info(
            "stage 3 for %s: %d sessions, %d trending (ETF, session) pairs over %dd",
            span,
            len(dates),
            per_day,
            tp,
        )
        details = {"sessions": len(dates), "first": str(dates[0]), "last": str(dates[-1]),
                   "trending_pairs": per_day, "periods": list(periods)}
    if undefined:
        log.warning(
            "stage 3 for %s: no %dd return for %s on some or all sessions (missing bars)",
            span,
            tp,
            ", ".join(undefined),
        )
    return StageResult(rows=len(rows), details=details)
