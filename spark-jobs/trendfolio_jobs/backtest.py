"""The walk-forward backtest (issue 5) over every session of a range in one Spark job.

Between two trades a portfolio is buy-and-hold, so drifting weights day by day is the same as
growing each holding by its price index: with target weights wᵢ bought at the close of trade k,
the portfolio is worth cash + Σ wᵢ·Gᵢ(d) per unit of equity at d, where Gᵢ(d) is the holding's
growth since the trade (the product of its daily returns). Spark computes, for all strategies and
sessions at once, every holding's growth from a per-ticker log price index, the value of each
holding period on each of its sessions and each trade's turnover against the drifted weights.
The driver then chains the periods (a product over the trades, a few hundred numbers) into the
equity curves; ``trendfolio.backtest.metrics`` turns those into the figures.

A daily return uses adjusted closes when both bars have one, else closes; a day without a bar
returns 0 and the next bar's return is measured from the last bar before the gap. A cumulative
sum of log(1 + r) per ticker, read as of each session, gives all of that at once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from trendfolio.backtest import (
    BENCHMARK,
    MONTHLY,
    Trade,
    cost_factor,
    monthly_schedule,
    period_schedule,
    strategy_name,
)
from trendfolio.calendar import sessions_between
from trendfolio.pipeline import StageContext
from trendfolio.rules import PERIODS
from trendfolio_jobs.io import read_table, rows_of
from trendfolio_jobs.prices import bar_frame, basis_ratio
from trendfolio_jobs.session import get_spark

log = logging.getLogger(__name__)

# the pick leg's forward returns, in sessions: each pick over the periods P the portfolios are
# built for (SPEC §1), whichever period's portfolio it came from
HORIZONS = PERIODS
CALENDAR_START = date(2000, 1, 3)  # the first session of the NYSE calendar we use

_SCHEDULE = StructType(
    [
        StructField("strategy", StringType(), False),
        StructField("period", IntegerType(), True),
        StructField("signal", DateType(), False),
        StructField("k", IntegerType(), False),
        StructField("j_from", IntegerType(), False),
        StructField("j_to", IntegerType(), False),
    ]
)
_SESSIONS = StructType(
    [StructField("trade_date", DateType(), False), StructField("j", IntegerType(), False)]
)


@dataclass
class Curve:
    """One strategy's equity after costs on every session, and its trades."""

    equity: list[float]
    trade_idx: list[int] = field(default_factory=list)
    turnovers: list[float] = field(default_factory=list)


@dataclass
class BacktestResult:
    sessions: list[date]
    schedules: dict[str, list[Trade]]
    curves: dict[str, Curve]
    picks: list[dict[str, Any]]
    benchmark: str


def schedules(sessions: Sequence[date], lag: int) -> dict[str, list[Trade]]:
    out = {strategy_name(p): period_schedule(sessions, p, lag) for p in PERIODS}
    out[MONTHLY] = monthly_schedule(sessions, lag)
    return out


def schedule_frame(
    spark: SparkSession, sessions: Sequence[date], plan: dict[str, list[Trade]]
) -> DataFrame:
    """One row per trade: strategy, period (null for monthly), signal date, trade number k and
    the session indexes the holding period spans: from the trade to the next one (or the end).
    """
    index = {s: j for j, s in enumerate(sessions)}
    rows = []
    for strategy, trades in plan.items():
        period = int(strategy[:-1]) if strategy != MONTHLY else None
        for k, t in enumerate(trades):
            j_to = index[trades[k + 1].trade] if k + 1 < len(trades) else len(sessions) - 1
            rows.append((strategy, period, t.signal, k, index[t.trade], j_to))
    return spark.createDataFrame(rows, _SCHEDULE)


def log_index(bars: DataFrame, sessions: DataFrame) -> DataFrame:
    """``ticker, j, L``: per bar on a session of ``sessions``, the cumulative log growth of the
    ticker's daily returns (0 at its first bar in the frame)."""
    by_ticker = Window.partitionBy("ticker").orderBy("trade_date")
    prev = F.lag(F.struct("close", "adj_close")).over(by_ticker)
    step = F.when(
        prev.isNull(), F.lit(0.0)
    ).otherwise(F.log(basis_ratio("adj_close", "close", "prev.adj_close", "prev.close")))
    return (
        bars.join(F.broadcast(sessions), "trade_date")
        .withColumn("prev", prev)
        .withColumn("step", step)
        .select(
            "ticker",
            "j",
            F.sum("step").over(by_ticker.rowsBetween(Window.unboundedPreceding, 0)).alias("L"),
        )
    )


def as_of(index: DataFrame, needed: DataFrame) -> DataFrame:
    """``ticker, j, L`` for every needed (ticker, j): the index of the last bar at or before j
    (null when the ticker has no bar yet)."""
    keys = needed.select("ticker", "j").distinct()
    both = index.select("ticker", "j", "L", F.lit(0).alias("kind")).unionByName(
        keys.select("ticker", "j", F.lit(None).cast(DoubleType()).alias("L"),
                    F.lit(1).alias("kind"))
    )
    so_far = (
        Window.partitionBy("ticker")
        .orderBy("j", "kind")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    return (
        both.select("ticker", "j", "kind", F.last("L", ignorenulls=True).over(so_far).alias("L"))
        .where(F.col("kind") == 1)
        .drop("kind")
    )


def growth(l_to: str, l_from: str) -> Any:
    """G = exp(L_to − L_from); 1 while either end is unknown (no bar yet: no return)."""
    return F.when(
        F.col(l_to).isNull() | F.col(l_from).isNull(), F.lit(1.0)
    ).otherwise(F.exp(F.col(l_to) - F.col(l_from)))


def period_frames(
    plan: DataFrame, targets: DataFrame, index: DataFrame, n: int, benchmark: str
) -> tuple[DataFrame, DataFrame, DataFrame]:
    """(values, turnovers, benchmark): per strategy, trade k and session j of its holding
    period, Σ wᵢ·Gᵢ and Σ wᵢ; per trade its turnover against the drifted weights; the
    benchmark's log index on every session.
    """
    spark = plan.sparkSession
    held = targets.join(plan, ["strategy", "k"]).withColumn(
        "j", F.explode(F.sequence("j_from", "j_to"))
    )
    spy_needed = spark.range(n).select(F.lit(benchmark).alias("ticker"),
                                       F.col("id").cast("int").alias("j"))
    levels = as_of(index, held.select("ticker", "j").unionByName(spy_needed)).localCheckpoint()
    start_level = levels.select("ticker", F.col("j").alias("j_from"), F.col("L").alias("L0"))
    grown = (
        held.join(levels, ["ticker", "j"], "left")
        .join(start_level, ["ticker", "j_from"], "left")
        .withColumn("wg", F.col("weight") * growth("L", "L0"))
        .localCheckpoint()
    )
    values = grown.groupBy("strategy", "k", "j").agg(
        F.sum("wg").alias("wg"), F.sum("weight").alias("invested")
    )
    # drifted weights at the close of the next trade, against that trade's targets
    ends = grown.where(F.col("j") == F.col("j_to")).join(
        values.select("strategy", "k", "j", "wg", "invested")
        .withColumnRenamed("wg", "total_wg"),
        ["strategy", "k", "j"],
    ).select(
        "strategy",
        (F.col("k") + 1).alias("k"),
        "ticker",
        (F.col("wg") / (1.0 - F.col("invested") + F.col("total_wg"))).alias("h"),
    )
    turnovers = (
        targets.select("strategy", "k", "ticker", "weight")
        .join(ends, ["strategy", "k", "ticker"], "full_outer")
        .groupBy("strategy", "k")
        .agg(F.sum(F.abs(F.coalesce("weight", F.lit(0.0)) - F.coalesce("h", F.lit(0.0))))
             .alias("turnover"))
    )
    bench = levels.where(F.col("ticker") == benchmark).select("j", "L")
    return values, turnovers, bench


def chain(
    n: int,
    trades: Sequence[tuple[int, int]],
    values: dict[tuple[int, int], tuple[float, float]],
    turnovers: dict[int, float],
    cost_bps: float,
) -> Curve:
    """Equity after costs on each of ``n`` sessions from the trades' (k, j_from) and each
    period's Σ wᵢ·Gᵢ and Σ wᵢ per (k, j): cash until the first trade, then each period's value
    times the equity left after the trade that opened it."""
    equity = [1.0] * n
    curve = Curve(equity)
    after = 1.0  # equity right after the latest trade
    bounds = [j for _, j in trades]
    for k, (kk, j_from) in enumerate(trades):
        assert k == kk
        pre = equity[j_from] if k else 1.0
        if k == 0:
            for j in range(j_from + 1):
                equity[j] = 1.0
        turnover = turnovers.get(k, 0.0)
        after = pre * cost_factor(turnover, cost_bps)
        equity[j_from] = after
        curve.trade_idx.append(j_from)
        curve.turnovers.append(turnover)
        j_to = bounds[k + 1] if k + 1 < len(bounds) else n - 1
        for j in range(j_from + 1, j_to + 1):
            wg, invested = values.get((k, j), (0.0, 0.0))
            equity[j] = after * (1.0 - invested + wg)
    return curve


def pick_frame(
    alloc: DataFrame, index: DataFrame, sessions: DataFrame, n: int
) -> DataFrame:
    """Per portfolio period and horizon h: the picks' forward h-session returns against their
    source ETF's over the same sessions (picks whose horizon passes the end are left out)."""
    rows = (
        alloc.join(F.broadcast(sessions.withColumnRenamed("trade_date", "as_of_date")),
                   "as_of_date")
        .select("period_days", "ticker", "etf_ticker", "j")
        .crossJoin(F.broadcast(
            alloc.sparkSession.createDataFrame([(h,) for h in HORIZONS], "horizon int")))
        .withColumn("j_end", F.col("j") + F.col("horizon"))
        .where(F.col("j_end") <= n - 1)
    )
    needed = (
        rows.select("ticker", "j")
        .unionByName(rows.select("ticker", F.col("j_end").alias("j")))
        .unionByName(rows.select(F.col("etf_ticker").alias("ticker"), "j"))
        .unionByName(rows.select(F.col("etf_ticker").alias("ticker"), F.col("j_end").alias("j")))
    )
    lv = as_of(index, needed).localCheckpoint()

    def level(ticker: str, j: str, name: str) -> DataFrame:
        return lv.select(F.col("ticker").alias(ticker), F.col("j").alias(j), F.col("L").alias(name))

    fwd = (
        rows.join(level("ticker", "j", "p0"), ["ticker", "j"], "left")
        .join(level("ticker", "j_end", "p1"), ["ticker", "j_end"], "left")
        .join(level("etf_ticker", "j", "e0"), ["etf_ticker", "j"], "left")
        .join(level("etf_ticker", "j_end", "e1"), ["etf_ticker", "j_end"], "left")
        .where(F.col("p0").isNotNull() & F.col("p1").isNotNull()
               & F.col("e0").isNotNull() & F.col("e1").isNotNull())
        .select(
            "period_days",
            "horizon",
            (F.exp(F.col("p1") - F.col("p0")) - 1).alias("pick"),
            (F.exp(F.col("e1") - F.col("e0")) - 1).alias("etf"),
        )
        .withColumn("excess", F.col("pick") - F.col("etf"))
    )
    return fwd.groupBy("period_days", "horizon").agg(
        F.count("*").cast("int").alias("picks"),
        F.avg("pick").alias("mean_pick_return"),
        F.avg("etf").alias("mean_etf_return"),
        F.avg("excess").alias("mean_excess"),
        F.expr("percentile(excess, 0.5)").alias("median_excess"),
        F.avg(F.when(F.col("excess") > 0, 1.0).otherwise(0.0)).alias("beat_etf_share"),
    )


PICK_COLUMNS = (
    "period_days",
    "horizon",
    "picks",
    "mean_pick_return",
    "mean_etf_return",
    "mean_excess",
    "median_excess",
    "beat_etf_share",
)


def run_backtest(
    ctx: StageContext, start: date, end: date, cost_bps: float, lag: int
) -> BacktestResult:
    """Every strategy's equity curve over the sessions of [start, end], and the pick leg, from
    the stored allocations and prices, in one Spark job."""
    sessions = sessions_between(start, end)
    n = len(sessions)
    plan = schedules(sessions, lag)
    spark = get_spark(ctx.settings, n)
    url = ctx.database_url
    benchmark = ctx.universe.reference

    sess = spark.createDataFrame([(s, j) for j, s in enumerate(sessions)], _SESSIONS)
    # every session up to the end, numbered so that S[0] is 0: a bar long before S[0] still
    # serves as a holding's "last bar"; bars dated on days the exchange was closed drop out
    before = sessions_between(CALENDAR_START, sessions[0])[:-1]
    all_sess = spark.createDataFrame(
        [(s, j - len(before)) for j, s in enumerate([*before, *sessions])], _SESSIONS
    )

    alloc = read_table(spark, url, "analytics_05_portfolio_allocation").where(
        F.col("as_of_date").between(start, end) & F.col("period_days").isin(list(PERIODS))
    ).select("as_of_date", "ticker", "period_days", "portfolio_weight", "etf_ticker")
    alloc = alloc.localCheckpoint()
    monthly = read_table(spark, url, "analytics_08_monthly_portfolio").where(
        F.col("rebalance_date").between(start, end)
    ).select("rebalance_date", "ticker", "final_weight")

    plan_df = F.broadcast(schedule_frame(spark, sessions, plan))
    targets = (
        alloc.join(
            plan_df.where(F.col("period").isNotNull()),
            (F.col("period_days") == F.col("period")) & (F.col("as_of_date") == F.col("signal")),
        )
        .select("strategy", "k", "ticker", F.col("portfolio_weight").alias("weight"))
        .unionByName(
            monthly.join(
                plan_df.where(F.col("strategy") == MONTHLY),
                F.col("rebalance_date") == F.col("signal"),
            ).select("strategy", "k", "ticker", F.col("final_weight").alias("weight"))
        )
    ).localCheckpoint()

    stocks = sorted({r[0] for r in targets.select("ticker").distinct().collect()}
                    | {r[0] for r in alloc.select("ticker").distinct().collect()})
    etfs = sorted(
        {benchmark} | {r[0] for r in alloc.select("etf_ticker").distinct().collect()}
    )

    def bars_of(table: str, tickers: list[str]) -> DataFrame:
        return bar_frame(read_table(spark, url, table).where(
            F.col("ticker").isin(tickers) & (F.col("trade_date") <= end)
        ))

    # stocks from the stock history; a ticker with no stock bars (SPY, the source ETFs, an ETF
    # a portfolio holds) from the ETF bars
    stock_bars = bars_of("collected_06_daily_stock_history", stocks).localCheckpoint()
    etf_bars = bars_of("collected_01_daily_etf_ohlc", sorted(set(etfs) | set(stocks)))
    bars = stock_bars.unionByName(
        etf_bars.join(stock_bars.select("ticker").distinct(), "ticker", "left_anti")
    )
    index = log_index(bars, all_sess).localCheckpoint()

    values_df, turnover_df, bench_df = period_frames(
        F.broadcast(schedule_frame(spark, sessions, plan)), targets, index, n, benchmark
    )
    value_rows = rows_of(values_df, ("strategy", "k", "j", "wg", "invested"))
    turnover_rows = rows_of(turnover_df, ("strategy", "k", "turnover"))
    bench_levels = dict(rows_of(bench_df, ("j", "L")))
    if bench_levels.get(0) is None:
        from trendfolio.errors import TrendfolioError

        raise TrendfolioError(
            f"backtest {start}..{end}: no {benchmark} price on or before {sessions[0]} "
            "(run `trendfolio backfill` over the range first)"
        )

    curves: dict[str, Curve] = {}
    index_of = {s: j for j, s in enumerate(sessions)}
    for strategy, trades in plan.items():
        values = {(k, j): (wg, inv) for s, k, j, wg, inv in value_rows if s == strategy}
        turns = {k: t for s, k, t in turnover_rows if s == strategy}
        curves[strategy] = chain(
            n, [(k, index_of[t.trade]) for k, t in enumerate(trades)], values, turns, cost_bps
        )
    base = bench_levels[0]
    level = base
    spy = []
    for j in range(n):
        got = bench_levels.get(j)
        level = got if got is not None else level
        spy.append(math.exp(level - base))
    curves[BENCHMARK] = Curve(spy, [0], [1.0])

    picks = [
        dict(zip(PICK_COLUMNS, row, strict=True))
        for row in rows_of(pick_frame(alloc, index, sess, n), PICK_COLUMNS)
    ]
    picks.sort(key=lambda r: (r["period_days"], r["horizon"]))
    log.info("backtest %s..%s: %d sessions, %s", start, end, n,
             ", ".join(f"{s} {len(t)} trades" for s, t in plan.items()))
    return BacktestResult(sessions, plan, curves, picks, benchmark)
