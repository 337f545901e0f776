"""The price rules of SPEC §1 as pure DataFrame → DataFrame functions, for many dates at once.

Frames used here:
- bars: ``ticker, trade_date, close, adj_close`` (one row per ticker and day, prices as doubles);
- sessions: ``session, session_idx`` (every NYSE session of a range, numbered consecutively);
- as_of: ``as_of_date`` (the as-of dates D, each a session of ``sessions``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, IntegerType, StructField, StructType

from trendfolio.calendar import require_session, session_offset, sessions_between

MAX_STALE_SESSIONS = 3  # price(T, s) may come from a bar at most this many sessions before s
REPORTING_CURRENCY = "USD"

_SESSIONS_SCHEMA = StructType(
    [StructField("session", DateType(), False), StructField("session_idx", IntegerType(), False)]
)


def lookback_start(first_as_of: date, longest_period: int) -> date:
    """The earliest session whose bar can matter for an r_P with P ≤ ``longest_period``."""
    return session_offset(require_session(first_as_of), -(longest_period + MAX_STALE_SESSIONS))


def sessions_frame(spark: SparkSession, first: date, last: date) -> DataFrame:
    """Every NYSE session in ``[first, last]`` with its position in the range."""
    rows = [(s, i) for i, s in enumerate(sessions_between(first, last))]
    return spark.createDataFrame(rows, _SESSIONS_SCHEMA)


def as_of_frame(spark: SparkSession, dates: Sequence[date]) -> DataFrame:
    """The as-of dates D as a one-column frame (``as_of_date``)."""
    schema = StructType([StructField("as_of_date", DateType(), False)])
    return spark.createDataFrame([(require_session(d),) for d in dates], schema)


def price(bars: DataFrame, sessions: DataFrame) -> DataFrame:
    """price(T, s): the bar of T on the latest session ≤ s that has one, at most 3 sessions back.

    One row per ticker of ``bars`` and session of ``sessions`` where the price is defined:
    ``ticker, session, session_idx, bar_date, close, adj_close`` (both closes of that one bar).
    """
    on_sessions = bars.join(
        sessions.withColumnRenamed("session", "trade_date"), "trade_date"
    ).select(
        "ticker",
        "session_idx",
        F.struct(
            F.col("trade_date").alias("bar_date"),
            F.col("close").cast("double").alias("close"),
            F.col("adj_close").cast("double").alias("adj_close"),
        ).alias("bar"),
    )
    grid = bars.select("ticker").distinct().crossJoin(sessions)
    recent = (
        Window.partitionBy("ticker").orderBy("session_idx").rangeBetween(-MAX_STALE_SESSIONS, 0)
    )
    return (
        grid.join(on_sessions, ["ticker", "session_idx"], "left")
        .withColumn("bar", F.last("bar", ignorenulls=True).over(recent))
        .where(F.col("bar").isNotNull())
        .select("ticker", "session", "session_idx", "bar.bar_date", "bar.close", "bar.adj_close")
    )


def r_p(
    prices: DataFrame, sessions: DataFrame, as_of: DataFrame, periods: Sequence[int]
) -> DataFrame:
    """r_P(T, D) = price(T, D) / price(T, s0) − 1, s0 the P-th session before D.

    Adjusted closes when both ends have one, else raw closes for both (``price_basis``).
    One row per ticker, D and P where both prices are defined:
    ``ticker, as_of_date, period, r, price_basis``; an undefined return has no row.
    """
    spark = prices.sparkSession
    dates = as_of.join(sessions.withColumnRenamed("session", "as_of_date"), "as_of_date").crossJoin(
        spark.createDataFrame([(p,) for p in periods], "period int")
    )
    end = prices.select(
        "ticker",
        F.col("session_idx").alias("end_idx"),
        F.col("close").alias("end_close"),
        F.col("adj_close").alias("end_adj"),
    )
    start = prices.select(
        "ticker",
        F.col("session_idx").alias("start_idx"),
        F.col("close").alias("start_close"),
        F.col("adj_close").alias("start_adj"),
    )
    both_adjusted = F.col("end_adj").isNotNull() & F.col("start_adj").isNotNull()
    return (
        dates.withColumn("start_idx", F.col("session_idx") - F.col("period"))
        .join(end, F.col("session_idx") == F.col("end_idx"))
        .join(start, ["ticker", "start_idx"])
        .select(
            "ticker",
            "as_of_date",
            "period",
            (
                F.when(both_adjusted, F.col("end_adj") / F.col("start_adj")).otherwise(
                    F.col("end_close") / F.col("start_close")
                )
                - F.lit(1.0)
            ).alias("r"),
            F.when(both_adjusted, F.lit("adj")).otherwise(F.lit("raw")).alias("price_basis"),
        )
    )


def mcap(fundamentals: DataFrame, quotes: DataFrame) -> DataFrame:
    """mcap(T, D): the latest market cap dated ≤ D, else an estimate flagged as such.

    The estimate is close(T, D) × the latest shares outstanding dated ≤ D (else the earliest
    known). ``fundamentals`` is shaped like ``collected_07_stock_fundamentals``; ``quotes`` has
    ``ticker, as_of_date, close, currency`` (close(T, D) or null). A quote in another currency
    than USD gets no market cap: no FX rate is known, and amounts are never mixed unconverted.
    Returns one row per quote: ``ticker, as_of_date, market_cap, market_cap_estimated``.
    """
    obs = fundamentals.select(
        "ticker",
        F.col("as_of_date").alias("obs_date"),
        F.col("market_cap").cast("double").alias("cap"),
        F.col("shares_outstanding").cast("double").alias("shares"),
    )
    d = F.col("as_of_date")
    dated_cap = F.when((F.col("obs_date") <= d) & F.col("cap").isNotNull(), F.col("obs_date"))
    dated_shares = F.when((F.col("obs_date") <= d) & F.col("shares").isNotNull(), F.col("obs_date"))
    any_shares = F.when(F.col("shares").isNotNull(), F.col("obs_date"))
    known = (
        quotes.select("ticker", "as_of_date")
        .distinct()
        .join(obs, "ticker")
        .groupBy("ticker", "as_of_date")
        .agg(
            F.max_by("cap", dated_cap).alias("observed"),
            F.max_by("shares", dated_shares).alias("shares_then"),
            F.min_by("shares", any_shares).alias("shares_first"),
        )
    )
    estimate = F.col("close").cast("double") * F.coalesce("shares_then", "shares_first")
    in_usd = F.col("currency").isNull() | (F.upper("currency") == REPORTING_CURRENCY)
    value = F.coalesce("observed", estimate)
    return quotes.join(known, ["ticker", "as_of_date"], "left").select(
        "ticker",
        "as_of_date",
        F.when(in_usd, value).alias("market_cap"),
        (in_usd & F.col("observed").isNull() & estimate.isNotNull()).alias("market_cap_estimated"),
    )
