"""Stages 7 and 8: ETF top-holdings analytics (analytics_09) and ETF monthly returns
(analytics_10), for many as-of dates in one job each.

Stage 7: for every ETF with a holdings snapshot (the latest dated ≤ D, else the earliest) and
every P, its top holdings by weight (:data:`rules.TOP_BY_WEIGHT`) ranked by r_P, the first kept
(:data:`rules.TOP_HOLDINGS_ORDER`), with total return, mean and standard deviation of the daily
% changes over the P sessions, average volume, last price and mcap(·, D).

Stage 8: for every ETF, each of the last 12 complete months and the current one, the return from
price(T, last session of the previous month) to price(T, last session of the month, or D).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, timedelta

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from trendfolio import rules
from trendfolio.calendar import last_session_of_month, previous_session, require_session
from trendfolio.db.writes import TableSpec
from trendfolio.pipeline import StageContext, StageResult
from trendfolio.universe import Universe
from trendfolio_jobs.allocation import (
    FUNDAMENTALS,
    FX_RATES,
    HOLDINGS,
    STOCK_PRICES,
    snapshot_tops,
)
from trendfolio_jobs.io import read_table, rows_of, write_dates
from trendfolio_jobs.prices import (
    adjusted_basis,
    as_of_frame,
    bar_frame,
    basis_ratio,
    lookback_start,
    mcap,
    price,
    r_p,
    rows_read_by,
    sessions_frame,
)
from trendfolio_jobs.ranking import keep_first
from trendfolio_jobs.session import get_spark
from trendfolio_jobs.trending import ETF_PRICES

log = logging.getLogger(__name__)

MONTHS_BACK = 12
# one row of month_grid: (D, month, open session, close session, complete)
MonthRow = tuple[date, date, date, date, bool]

TOP_HOLDINGS_TABLE = TableSpec(
    name="analytics_09_etf_top_holdings",
    key=("etf_ticker", "as_of_date", "time_period", "holding_ticker"),
    columns=(
        "etf_ticker",
        "etf_type",
        "sector_name",
        "holding_ticker",
        "holding_name",
        "holding_sector",
        "time_period",
        "rank_position",
        "avg_return",
        "total_return",
        "volatility",
        "avg_volume",
        "current_price",
        "market_cap",
        "as_of_date",
        "is_point_in_time",
        "holding_weight",
    ),
    touch_updated_at=False,
)

MONTHLY_RETURNS_TABLE = TableSpec(
    name="analytics_10_etf_monthly_returns",
    key=("etf_ticker", "month", "as_of_date"),
    columns=(
        "etf_ticker",
        "month",
        "month_open",
        "month_close",
        "monthly_return",
        "is_complete",
        "as_of_date",
    ),
    touch_updated_at=False,
)


def daily_stats(prices: DataFrame, as_of: DataFrame, periods: Sequence[int]) -> DataFrame:
    """Per ticker, D and P: mean and sample standard deviation of the daily % changes of price
    over the P sessions ending at D, and the mean volume of the bars dated in them.
    """
    by_ticker = Window.partitionBy("ticker").orderBy("session_idx")
    prev = F.first(F.struct("close", "adj_close")).over(by_ticker.rangeBetween(-1, -1))
    daily = prices.select(
        "ticker",
        "session",
        "session_idx",
        "close",
        "adj_close",
        F.when(F.col("bar_date") == F.col("session"), F.col("volume")).alias("bar_volume"),
        prev.alias("prev"),
    ).select(
        "ticker",
        "session",
        "session_idx",
        "bar_volume",
        (
            100 * (basis_ratio("adj_close", "close", "prev.adj_close", "prev.close") - 1)
        ).alias("chg"),
    )
    stats = [
        F.struct(
            F.lit(p).alias("period"),
            F.avg("chg").over(by_ticker.rangeBetween(-(p - 1), 0)).alias("avg_return"),
            F.stddev_samp("chg").over(by_ticker.rangeBetween(-(p - 1), 0)).alias("volatility"),
            F.avg("bar_volume").over(by_ticker.rangeBetween(-(p - 1), 0)).alias("avg_volume"),
        )
        for p in periods
    ]
    return (
        daily.select("ticker", F.col("session").alias("as_of_date"), F.array(*stats).alias("s"))
        .join(F.broadcast(as_of.select("as_of_date")), "as_of_date")
        .select("ticker", "as_of_date", F.explode("s").alias("s"))
        .select("ticker", "as_of_date", "s.*")
    )


def top_holdings_analytics(
    holdings: DataFrame,
    stocks: DataFrame,
    fundamentals: DataFrame,
    fx: DataFrame | None,
    universe: Universe,
    dates: Sequence[date],
    periods: Sequence[int],
) -> DataFrame:
    """analytics_09 rows for every ETF of ``universe`` with a snapshot, every D and every P."""
    spark = holdings.sparkSession
    sessions = sessions_frame(spark, lookback_start(min(dates), max(periods)), max(dates))
    as_of = as_of_frame(spark, dates)
    etfs = spark.createDataFrame(
        [(e.ticker, e.etf_type, e.sector_name) for e in universe.etfs],
        "etf_ticker string, etf_type string, sector_name string",
    )
    pairs = as_of.crossJoin(F.broadcast(etfs.select("etf_ticker")))
    if "holding_name" not in holdings.columns:
        holdings = holdings.withColumn("holding_name", F.lit(None).cast("string"))
    top = snapshot_tops(holdings, pairs).localCheckpoint()
    # only the holdings' own spans of sessions: r_P and the daily stats look back max(P)
    wanted = top.select(F.col("holding_ticker").alias("ticker"), "as_of_date")
    prices = rows_read_by(price(stocks, sessions), wanted, sessions, max(periods)).localCheckpoint()
    at_d = prices.join(F.broadcast(as_of), F.col("session") == F.col("as_of_date"))
    quotes = (
        top.groupBy(F.col("holding_ticker").alias("ticker"), "as_of_date")
        .agg(F.first("holding_currency", ignorenulls=True).alias("holding_currency"))
        .join(at_d.select("ticker", "as_of_date", "close", "currency"), ["ticker", "as_of_date"],
              "left")
        .select("ticker", "as_of_date", "close",
                F.coalesce("currency", "holding_currency").alias("currency"))
    )
    caps = mcap(fundamentals, quotes, fx).select("ticker", "as_of_date", "market_cap")
    returns = r_p(prices, as_of, periods).select("ticker", "as_of_date", "period", "r")
    stats = daily_stats(prices, as_of, periods)
    ranked = keep_first(
        top.join(returns.withColumnRenamed("ticker", "holding_ticker"),
                 ["holding_ticker", "as_of_date"]),
        rules.TOP_HOLDINGS_ORDER,
        ["as_of_date", "etf_ticker", "period"],
        position_column="rank_position",
    )
    return (
        ranked.join(stats.withColumnRenamed("ticker", "holding_ticker"),
                    ["holding_ticker", "as_of_date", "period"], "left")
        .join(caps.withColumnRenamed("ticker", "holding_ticker"),
              ["holding_ticker", "as_of_date"], "left")
        .join(at_d.select(F.col("ticker").alias("holding_ticker"), "as_of_date",
                          F.col("close").alias("current_price"),
                          F.col("sector").alias("holding_sector")),
              ["holding_ticker", "as_of_date"], "left")
        .join(F.broadcast(etfs), "etf_ticker")
        .select(
            "etf_ticker",
            "etf_type",
            "sector_name",
            "holding_ticker",
            "holding_name",
            "holding_sector",
            F.col("period").alias("time_period"),
            "rank_position",
            "avg_return",
            (F.col("r") * 100).alias("total_return"),
            "volatility",
            F.round("avg_volume").cast("long").alias("avg_volume"),
            "current_price",
            F.round("market_cap").cast("long").alias("market_cap"),
            "as_of_date",
            "is_point_in_time",
            F.col("holding_percent").alias("holding_weight"),
        )
    )


def month_grid(dates: Sequence[date], months_back: int = MONTHS_BACK) -> list[MonthRow]:
    """Per D: (D, month, open session, close session, complete) for the current month and the
    ``months_back`` complete months before it.
    """
    out: list[MonthRow] = []
    for d in dates:
        month = d.replace(day=1)
        for _ in range(months_back + 1):
            close = min(last_session_of_month(month), d)
            opening = previous_session(month)  # the last session of the month before
            out.append((d, month, opening, close, last_session_of_month(month) <= d))
            month = (month - timedelta(days=1)).replace(day=1)
    return out


def monthly_returns(bars: DataFrame, dates: Sequence[date]) -> DataFrame:
    """analytics_10 rows: month-end-to-month-end return per ETF, D and month (where both month
    ends have a price).
    """
    spark = bars.sparkSession
    grid = month_grid(dates)
    first = min(g[2] for g in grid)
    start = previous_session_n(first, rules.MAX_STALE_SESSIONS)
    sessions = sessions_frame(spark, start, max(dates))
    months = spark.createDataFrame(
        grid, "as_of_date date, month date, open_session date, close_session date, "
        "is_complete boolean",
    )
    prices = price(bars, sessions).select("ticker", "session", "close", "adj_close")
    opening = prices.select(F.col("ticker").alias("etf_ticker"),
                            F.col("session").alias("open_session"),
                            F.col("close").alias("o_raw"), F.col("adj_close").alias("o_adj"))
    closing = prices.select(F.col("ticker").alias("etf_ticker"),
                            F.col("session").alias("close_session"),
                            F.col("close").alias("c_raw"), F.col("adj_close").alias("c_adj"))
    both = adjusted_basis("c_adj", "o_adj")
    return (
        closing.join(F.broadcast(months), "close_session")
        .join(opening, ["etf_ticker", "open_session"])
        .select(
            "etf_ticker",
            "month",
            F.when(both, F.col("o_adj")).otherwise(F.col("o_raw")).alias("month_open"),
            F.when(both, F.col("c_adj")).otherwise(F.col("c_raw")).alias("month_close"),
            (basis_ratio("c_adj", "c_raw", "o_adj", "o_raw") - 1).alias("monthly_return"),
            "is_complete",
            "as_of_date",
        )
    )


def previous_session_n(d: date, n: int) -> date:
    for _ in range(n):
        d = previous_session(d)
    return d


def _span(dates: Sequence[date]) -> str:
    return str(dates[0]) if len(dates) == 1 else f"{dates[0]}..{dates[-1]}"


def run_top_holdings(ctx: StageContext, as_of: date) -> StageResult:
    """Stage 7 for ``as_of``."""
    return run_top_holdings_range(ctx, [as_of])


def run_top_holdings_range(ctx: StageContext, dates: Sequence[date]) -> StageResult:
    """Stage 7 for every session of ``dates`` in one Spark job (idempotent)."""
    dates = sorted({require_session(d) for d in dates})
    spark = get_spark(ctx.settings, len(dates))
    url = ctx.database_url
    holdings = read_table(spark, url, HOLDINGS).where(
        F.col("etf_ticker").isin(ctx.universe.tickers)
    ).localCheckpoint()
    tickers = [r[0] for r in holdings.select("holding_ticker").distinct().collect()]
    rows: list[tuple[object, ...]] = []
    if tickers:
        first = lookback_start(dates[0], max(rules.PERIODS))
        stocks = read_table(spark, url, STOCK_PRICES).where(
            F.col("ticker").isin(tickers) & F.col("trade_date").between(first, dates[-1])
        ).select(
            "ticker", "trade_date", F.col("close_price").cast("double").alias("close"),
            F.col("adj_close").cast("double").alias("adj_close"), "volume", "sector", "currency",
        )
        fundamentals = read_table(spark, url, FUNDAMENTALS).where(F.col("ticker").isin(tickers))
        fx = read_table(spark, url, FX_RATES).where(
            F.col("trade_date").between(dates[0], dates[-1])
        ).select("currency", F.col("trade_date").alias("as_of_date"), "usd_per_unit")
        result = top_holdings_analytics(
            holdings, stocks, fundamentals, fx, ctx.universe, dates, rules.PERIODS
        )
        rows = rows_of(result, TOP_HOLDINGS_TABLE.columns)
    write_dates(url, TOP_HOLDINGS_TABLE, "as_of_date", dates, rows)
    log.info("stage 7 for %s: %d top-holding rows", _span(dates), len(rows))
    return StageResult(rows=len(rows), details={"sessions": len(dates)})


def run_monthly_returns(ctx: StageContext, as_of: date) -> StageResult:
    """Stage 8 for ``as_of``."""
    return run_monthly_returns_range(ctx, [as_of])


def run_monthly_returns_range(ctx: StageContext, dates: Sequence[date]) -> StageResult:
    """Stage 8 for every session of ``dates`` in one Spark job (idempotent)."""
    dates = sorted({require_session(d) for d in dates})
    spark = get_spark(ctx.settings, len(dates))
    opening = min(g[2] for g in month_grid(dates[:1]))
    first = previous_session_n(opening, rules.MAX_STALE_SESSIONS)
    bars = bar_frame(
        read_table(spark, ctx.database_url, ETF_PRICES).where(
            F.col("ticker").isin(ctx.universe.tickers)
            & F.col("trade_date").between(first, dates[-1])
        )
    )
    rows = rows_of(monthly_returns(bars, dates), MONTHLY_RETURNS_TABLE.columns)
    write_dates(ctx.database_url, MONTHLY_RETURNS_TABLE, "as_of_date", dates, rows)
    log.info("stage 8 for %s: %d monthly-return rows", _span(dates), len(rows))
    return StageResult(rows=len(rows), details={"sessions": len(dates)})

