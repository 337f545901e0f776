"""Stage 6: the monthly portfolio from the last session's portfolios of every period.

score(T) = the mean of T's weights over the periods' portfolios (0 where absent); the best
(:data:`rules.MONTHLY_ORDER`), renormalised to sum to 1; ``source_periods`` longest period first;
``valid_until`` the last session of the next month. Many month ends run in one job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from trendfolio import rules
from trendfolio.calendar import is_last_session_of_month, last_session_of_month, require_session
from trendfolio.db.writes import TableSpec
from trendfolio.pipeline import StageContext, StageResult
from trendfolio_jobs.allocation import ALLOCATION_TABLE, STOCK_PRICES, stock_bars
from trendfolio_jobs.io import read_table, rows_of, write_dates
from trendfolio_jobs.prices import as_of_frame, lookback_start, price, r_p, sessions_frame
from trendfolio_jobs.ranking import keep_first
from trendfolio_jobs.session import get_spark

log = logging.getLogger(__name__)

PERIOD_ORDER = tuple(sorted(rules.PERIODS, reverse=True))  # source_periods: "20d,10d,5d"
# how allocation_reason states the score: "score = (w5 + w10 + w20)/3"
SCORE_TEXT = f"score = ({' + '.join(f'w{p}' for p in rules.PERIODS)})/{len(rules.PERIODS)}"

MONTHLY_TABLE = TableSpec(
    name="analytics_08_monthly_portfolio",
    key=("ticker", "rebalance_date"),
    columns=(
        "ticker",
        "company_name",
        "sector",
        "final_rank",
        "final_weight",
        "score",
        "source_periods",
        "return_20d",
        "market_cap",
        "allocation_reason",
        "rebalance_date",
        "valid_until",
        "etf_tickers",
    ),
    touch_updated_at=False,
)


def valid_until(rebalance: date) -> date:
    """The last session of the month after ``rebalance``'s."""
    return last_session_of_month(last_session_of_month(rebalance) + timedelta(days=7))


def month_ends(dates: Sequence[date]) -> list[date]:
    """The sessions of ``dates`` that are the last session of their month."""
    return sorted(d for d in set(dates) if is_last_session_of_month(d))


def monthly_portfolio(alloc: DataFrame, r20: DataFrame, spark: SparkSession) -> DataFrame:
    """analytics_08 rows from analytics_05 rows (``as_of_date, ticker, period_days,
    portfolio_weight, company_name, sector, market_cap, etf_ticker``) and ``r20`` (``ticker,
    as_of_date, r``) per rebalance date.
    """
    has = {p: F.max(F.when(F.col("period_days") == p, 1)).isNotNull() for p in PERIOD_ORDER}
    sources = F.concat_ws(
        ",", *[F.when(has[p], F.lit(f"{p}d")) for p in PERIOD_ORDER]
    )
    scored = alloc.groupBy("as_of_date", "ticker").agg(
        (F.sum("portfolio_weight") / F.lit(float(len(PERIOD_ORDER)))).alias("score"),
        sources.alias("source_periods"),
        F.first("company_name", ignorenulls=True).alias("company_name"),
        F.first("sector", ignorenulls=True).alias("sector"),
        F.max("market_cap").alias("market_cap"),
        F.concat_ws(",", F.array_sort(F.collect_set("etf_ticker"))).alias("etf_tickers"),
    )
    kept = keep_first(
        scored.join(r20.select("ticker", "as_of_date", "r"), ["ticker", "as_of_date"], "left"),
        rules.MONTHLY_ORDER,
        ["as_of_date"],
        position_column="final_rank",
    )
    total = F.sum("score").over(Window.partitionBy("as_of_date"))
    rebalances = [r[0] for r in alloc.select("as_of_date").distinct().collect()]
    until = spark.createDataFrame(
        [(d, valid_until(d)) for d in rebalances], "as_of_date date, valid_until date"
    )
    return kept.join(F.broadcast(until), "as_of_date").select(
        "ticker",
        "company_name",
        "sector",
        "final_rank",
        (F.col("score") / total).alias("final_weight"),
        "score",
        "source_periods",
        (F.col("r") * 100).alias("return_20d"),
        "market_cap",
        F.concat(
            F.lit(f"{SCORE_TEXT} from "),
            F.col("source_periods"),
            F.lit(" via "),
            F.col("etf_tickers"),
        ).alias("allocation_reason"),
        F.col("as_of_date").alias("rebalance_date"),
        "valid_until",
        "etf_tickers",
    )


def run_monthly(ctx: StageContext, as_of: date) -> StageResult:
    """Stage 6 for ``as_of`` (only on the last session of a month)."""
    return run_monthly_range(ctx, [as_of])


def run_monthly_range(ctx: StageContext, dates: Sequence[date]) -> StageResult:
    """Stage 6 for every month end among ``dates`` in one Spark job (idempotent)."""
    for d in dates:
        require_session(d)
    ends = month_ends(dates)
    if not ends:
        log.info("stage 6: no last session of a month among %s..%s", min(dates), max(dates))
        return StageResult(skipped=True, details={"reason": "not the last session of a month"})
    spark = get_spark(ctx.settings, len(dates))
    url = ctx.database_url
    alloc = (
        read_table(spark, url, ALLOCATION_TABLE.name)
        .where(F.col("as_of_date").isin(ends))
        .select(
            "as_of_date",
            "ticker",
            "period_days",
            "portfolio_weight",
            "company_name",
            "sector",
            "market_cap",
            "etf_ticker",
        )
        .localCheckpoint()
    )
    tickers = [r[0] for r in alloc.select("ticker").distinct().collect()]
    first = lookback_start(ends[0], rules.MONTHLY_RETURN_PERIOD)
    stocks = stock_bars(
        read_table(spark, url, STOCK_PRICES).where(
            F.col("ticker").isin(tickers)
            & F.col("trade_date").between(first, ends[-1])
        )
    ).select("ticker", "trade_date", "close", "adj_close")
    sessions = sessions_frame(spark, first, ends[-1])
    r20 = r_p(price(stocks, sessions), as_of_frame(spark, ends), [rules.MONTHLY_RETURN_PERIOD])
    rows = rows_of(monthly_portfolio(alloc, r20, spark), MONTHLY_TABLE.columns)
    write_dates(url, MONTHLY_TABLE, "rebalance_date", ends, rows)
    log.info("stage 6: monthly portfolios for %s: %d rows", ", ".join(map(str, ends)), len(rows))
    return StageResult(rows=len(rows), details={"rebalance_dates": [str(d) for d in ends]})
