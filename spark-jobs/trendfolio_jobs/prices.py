"""The price rules of SPEC §1 as pure DataFrame → DataFrame functions, for many dates at once:
:func:`price` and :func:`r_p` are the DataFrame form of :func:`trendfolio.rules.price` and
:func:`trendfolio.rules.simple_return` (tests/jobs/test_prices.py holds them equal).

Frames in:
- bars: ``ticker, trade_date, close, adj_close`` (one row per ticker and day) and any columns
  to carry along with the bar;
- sessions: ``session, session_idx`` (every NYSE session of a range, numbered consecutively);
- as_of: ``as_of_date`` (the as-of dates D, each a session of ``sessions``);
- fundamentals: shaped like collected_07; quotes: ``ticker, as_of_date, close, currency``;
  fx: ``currency, as_of_date, usd_per_unit`` (collected_11_fx_rates).

Frames out: price → ``ticker, session, session_idx, bar_date, close, adj_close, ...``;
r_p → ``ticker, as_of_date, period, r, price_basis``;
mcap → ``ticker, as_of_date, market_cap, market_cap_estimated, market_cap_note``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, IntegerType, StructField, StructType

from trendfolio.calendar import require_session, session_offset, sessions_between
from trendfolio.rules import MAX_STALE_SESSIONS

REPORTING_CURRENCY = "USD"

_SESSIONS_SCHEMA = StructType(
    [StructField("session", DateType(), False), StructField("session_idx", IntegerType(), False)]
)


def bar_frame(table: DataFrame, *carry: str) -> DataFrame:
    """Daily bars in the shape the price rules read (``ticker, trade_date, close, adj_close``)
    from a ``collected_*`` price table, with the columns ``carry`` alongside."""
    return table.select(
        "ticker",
        "trade_date",
        F.col("close_price").cast("double").alias("close"),
        F.col("adj_close").cast("double").alias("adj_close"),
        *carry,
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
    """price(T, s) per ticker and session where defined: the latest bar ≤ s, at most
    ``MAX_STALE_SESSIONS`` old, with all its columns. The DataFrame form of
    :func:`trendfolio.rules.price`, for every session of ``sessions`` at once.
    """
    extras = [c for c in bars.columns if c not in ("ticker", "trade_date", "close", "adj_close")]
    by_ticker = Window.partitionBy("ticker").orderBy("session_idx")
    stale_limit = F.col("session_idx") + MAX_STALE_SESSIONS
    next_bar = F.col("next_bar")
    # a bar serves its own session and the following ones until the next bar or the limit
    last_served = F.greatest(
        F.col("session_idx"),
        F.when(next_bar.isNull(), stale_limit).otherwise(F.least(stale_limit, next_bar - 1)),
    )
    served = (
        bars.join(F.broadcast(sessions.withColumnRenamed("session", "trade_date")), "trade_date")
        .withColumn("next_bar", F.lead("session_idx").over(by_ticker))
        .select(
            "ticker",
            F.col("trade_date").alias("bar_date"),
            F.col("close").cast("double").alias("close"),
            F.col("adj_close").cast("double").alias("adj_close"),
            *extras,
            F.explode(F.sequence(F.col("session_idx"), last_served)).alias("session_idx"),
        )
    )
    return served.join(F.broadcast(sessions), "session_idx").select(
        "ticker", "session", "session_idx", "bar_date", "close", "adj_close", *extras
    )


def rows_read_by(
    prices: DataFrame, wanted: DataFrame, sessions: DataFrame, lookback: int
) -> DataFrame:
    """The rows of ``prices`` that a window of ``lookback`` sessions before and up to a wanted
    (``ticker``, ``as_of_date``) can read: each ticker's runs of wanted dates, widened by
    ``lookback`` sessions back. Rules over these rows give the wanted keys exactly what they give
    over all of ``prices``, from far fewer rows.
    """
    by_ticker = Window.partitionBy("ticker").orderBy("idx")
    # a run ends where the next wanted date's window starts after the previous one's end
    starts_run = F.coalesce(F.col("idx") - F.lag("idx").over(by_ticker) > lookback + 1, F.lit(True))
    spans = (
        wanted.select("ticker", "as_of_date")
        .distinct()
        .join(F.broadcast(sessions.select(F.col("session").alias("as_of_date"),
                                          F.col("session_idx").alias("idx"))), "as_of_date")
        .withColumn("run", F.sum(starts_run.cast("int")).over(
            by_ticker.rowsBetween(Window.unboundedPreceding, Window.currentRow)))
        .groupBy("ticker", "run")
        .agg((F.min("idx") - lookback).alias("lo"), F.max("idx").alias("hi"))
        .select(F.col("ticker").alias("_t"), "lo", "hi")
    )
    inside = (F.col("ticker") == F.col("_t")) & F.col("session_idx").between(
        F.col("lo"), F.col("hi")
    )
    return prices.join(F.broadcast(spans), inside).drop("_t", "lo", "hi")


def adjusted_basis(now_adj: str, then_adj: str) -> Column:
    """Whether a ratio of two prices uses adjusted closes: only when both ends have one."""
    return F.col(now_adj).isNotNull() & F.col(then_adj).isNotNull()


def basis_ratio(now_adj: str, now_raw: str, then_adj: str, then_raw: str) -> Column:
    """price(now) / price(then) on adjusted closes when both ends have one, else raw (SPEC §1)."""
    return F.when(
        adjusted_basis(now_adj, then_adj), F.col(now_adj) / F.col(then_adj)
    ).otherwise(F.col(now_raw) / F.col(then_raw))


def r_p(prices: DataFrame, as_of: DataFrame, periods: Sequence[int]) -> DataFrame:
    """r_P(T, D) = price(T, D) / price(T, s0) − 1 on adjusted closes when both ends have one, else
    raw; undefined → no row. The DataFrame form of :func:`trendfolio.rules.simple_return` over
    :func:`price`'s rows (``prices``), the same float operations in the same order.
    """
    by_ticker = Window.partitionBy("ticker").orderBy("session_idx")
    start_of = [
        F.struct(
            F.lit(p).alias("period"),
            F.first(F.struct("close", "adj_close"))
            .over(by_ticker.rangeBetween(-p, -p))
            .alias("s0"),
        )
        for p in periods
    ]
    both_adjusted = adjusted_basis("adj_close", "p.s0.adj_close")
    ratio = basis_ratio("adj_close", "close", "p.s0.adj_close", "p.s0.close")
    return (
        prices.select(
            "ticker",
            F.col("session").alias("as_of_date"),
            "close",
            "adj_close",
            F.array(*start_of).alias("starts"),
        )
        .join(F.broadcast(as_of.select("as_of_date")), "as_of_date")
        .select("ticker", "as_of_date", "close", "adj_close", F.explode("starts").alias("p"))
        .where(F.col("p.s0").isNotNull())
        .select(
            "ticker",
            "as_of_date",
            F.col("p.period").alias("period"),
            (ratio - F.lit(1.0)).alias("r"),
            F.when(both_adjusted, F.lit("adj")).otherwise(F.lit("raw")).alias("price_basis"),
        )
    )


def mcap(fundamentals: DataFrame, quotes: DataFrame, fx: DataFrame | None = None) -> DataFrame:
    """mcap(T, D) in USD per quote: the latest cap dated ≤ D, else close × shares (≤ D, else
    earliest) flagged estimated; a quote in another currency is converted with that day's rate
    from ``fx`` (``currency, as_of_date, usd_per_unit``), or null with ``market_cap_note`` saying
    why: never mixed unconverted.
    """
    # an as-of join by window: observations sort before the quotes of their own date (≤ D)
    obs = fundamentals.select(
        "ticker",
        F.col("as_of_date").alias("day"),
        F.lit(0).alias("kind"),
        F.col("market_cap").cast("double").alias("cap"),
        F.col("shares_outstanding").cast("double").alias("shares"),
    )
    asked = quotes.select(
        "ticker",
        F.col("as_of_date").alias("day"),
        F.lit(1).alias("kind"),
        F.lit(None).cast("double").alias("cap"),
        F.lit(None).cast("double").alias("shares"),
    ).distinct()
    so_far = (
        Window.partitionBy("ticker")
        .orderBy("day", "kind")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    first_shares = obs.where(F.col("shares").isNotNull()).groupBy("ticker").agg(
        F.min_by("shares", "day").alias("shares_first")
    )
    known = (
        obs.unionByName(asked)
        .select(
            "ticker",
            F.col("day").alias("as_of_date"),
            "kind",
            F.last("cap", ignorenulls=True).over(so_far).alias("observed"),
            F.last("shares", ignorenulls=True).over(so_far).alias("shares_then"),
        )
        .where(F.col("kind") == 1)
        .drop("kind")
        .join(first_shares, "ticker", "left")
    )
    if fx is None:
        fx = quotes.sparkSession.createDataFrame(
            [], "currency string, as_of_date date, usd_per_unit double"
        )
    rates = fx.select(
        F.upper("currency").alias("_ccy"),
        "as_of_date",
        F.col("usd_per_unit").cast("double").alias("usd_per_unit"),
    )
    ccy = F.upper(F.coalesce(F.col("currency"), F.lit(REPORTING_CURRENCY)))
    estimate = F.col("close").cast("double") * F.coalesce("shares_then", "shares_first")
    in_usd = ccy == REPORTING_CURRENCY
    rate = F.when(in_usd, F.lit(1.0)).otherwise(F.col("usd_per_unit"))
    value = F.coalesce("observed", estimate)
    return (
        quotes.join(known, ["ticker", "as_of_date"], "left")
        .withColumn("_ccy", ccy)
        .join(F.broadcast(rates), ["_ccy", "as_of_date"], "left")
        .select(
            "ticker",
            "as_of_date",
            (value * rate).alias("market_cap"),
            (rate.isNotNull() & F.col("observed").isNull() & estimate.isNotNull()).alias(
                "market_cap_estimated"
            ),
            F.when(
                rate.isNull() & value.isNotNull(),
                F.concat(
                    F.lit("quoted in "), F.col("_ccy"), F.lit(" and no USD rate for "),
                    F.date_format("as_of_date", "yyyy-MM-dd"), F.lit(": left out"),
                ),
            ).alias("market_cap_note"),
        )
    )
