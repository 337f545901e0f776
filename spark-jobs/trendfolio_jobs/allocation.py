"""Stage 5: one stock per trending ETF, weighted by return per dollar of market cap, per period.

The greedy pick is sequential within one (as-of date, period), so it is a pure pandas function
applied per group; everything around it is Spark, and many dates run in one job.

Frames: ``trend`` is shaped like analytics_03, ``holdings`` like collected_04, ``fundamentals``
like collected_07, ``stocks`` like :func:`stock_bars`; an outcome (``OUTCOME_SCHEMA``) is one
trending ETF's pick, its dropped pick (r ≤ 0) or why it has none, plus ``score``,
``portfolio_weight`` and ``rank`` for the picks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from trendfolio import rules
from trendfolio.calendar import require_session
from trendfolio.config import Weighting
from trendfolio.db.writes import TableSpec
from trendfolio.errors import TrendfolioError
from trendfolio.pipeline import StageContext, StageResult
from trendfolio_jobs.io import read_table, rows_of, write_dates
from trendfolio_jobs.prices import (
    as_of_frame,
    bar_frame,
    lookback_start,
    mcap,
    price,
    r_p,
    rows_read_by,
    sessions_frame,
)
from trendfolio_jobs.ranking import keep_first, position, window
from trendfolio_jobs.session import get_spark
from trendfolio_jobs.trending import TRENDING_TABLE

log = logging.getLogger(__name__)

HOLDINGS = "collected_04_etf_holdings"
STOCK_PRICES = "collected_06_daily_stock_history"
FUNDAMENTALS = "collected_07_stock_fundamentals"
FX_RATES = "collected_11_fx_rates"
UNKNOWN_SECTOR = "Unknown"
PICKED, DROPPED, NOTHING = "picked", "dropped", "nothing"
# stage 4's rankings run per ETF and as-of date, stage 5's per portfolio (as-of date, period)
PER_ETF = ("as_of_date", "etf_ticker")
PER_PORTFOLIO = ("as_of_date", "period")

ALLOCATION_TABLE = TableSpec(
    name="analytics_05_portfolio_allocation",
    key=("as_of_date", "ticker", "period_days"),
    columns=(
        "as_of_date",
        "ticker",
        "company_name",
        "sector",
        "market_cap",
        "market_cap_estimated",
        "return_pct",
        "is_trending",
        "rank",
        "portfolio_weight",
        "allocation_reason",
        "period_days",
        "etf_ticker",
        "etf_return_pct",
        "is_point_in_time",
    ),
    touch_updated_at=False,
)

_SCORES: dict[str, Callable[[], Column]] = {
    "score": lambda: F.col("r") / F.col("market_cap"),
    "equal": lambda: F.lit(1.0),
    "return": lambda: F.col("r"),
}

# What the greedy pick returns per trending ETF and (date, period): its pick, or why none.
OUTCOME_SCHEMA = (
    "as_of_date date, period int, etf_ticker string, etf_order int, status string, "
    "ticker string, r double, market_cap double, market_cap_estimated boolean, "
    "company_name string, sector string, is_point_in_time boolean, etf_return_pct double, "
    "allocation_reason string, note string"
)


def trending_order(trend: DataFrame, trend_period: int) -> DataFrame:
    """The trending ETFs of each date numbered in pick order (``etf_order``):
    :data:`rules.ETF_PICK_ORDER`.
    """
    return (
        trend.where((F.col("period") == trend_period) & F.col("is_trending"))
        .select("as_of_date", "etf_ticker", F.col("return_pct").alias("trend_return_pct"))
        .withColumn("etf_order", position(rules.ETF_PICK_ORDER, ["as_of_date"]))
    )


def holdings_snapshot(holdings: DataFrame, etfs: DataFrame) -> DataFrame:
    """Each ETF's snapshot for D: the latest dated ≤ D, else the earliest, flagged not point-in-
    time.
    """
    snapshots = holdings.select("etf_ticker", F.col("as_of_date").alias("snapshot_date")).distinct()
    chosen = (
        etfs.select("as_of_date", "etf_ticker")
        .join(snapshots, "etf_ticker")
        .groupBy("as_of_date", "etf_ticker")
        .agg(
            F.max(
                F.when(F.col("snapshot_date") <= F.col("as_of_date"), F.col("snapshot_date"))
            ).alias("latest"),
            F.min("snapshot_date").alias("earliest"),
        )
        .select(
            "as_of_date",
            "etf_ticker",
            F.coalesce("latest", "earliest").alias("snapshot_date"),
            F.col("latest").isNotNull().alias("dated_in_time"),
        )
    )
    extras = [c for c in ("holding_name",) if c in holdings.columns]
    rows = holdings.select(
        "etf_ticker",
        F.col("as_of_date").alias("snapshot_date"),
        "holding_ticker",
        F.col("holding_percent").cast("double").alias("holding_percent"),
        "holding_currency",
        F.col("is_point_in_time").alias("row_in_time"),
        *extras,
    )
    return chosen.join(rows, ["etf_ticker", "snapshot_date"]).select(
        "as_of_date",
        "etf_ticker",
        "holding_ticker",
        "holding_percent",
        "holding_currency",
        (F.col("dated_in_time") & F.coalesce("row_in_time", F.lit(True))).alias("is_point_in_time"),
        *extras,
    )


def snapshot_tops(holdings: DataFrame, etfs: DataFrame) -> DataFrame:
    """``keep_first(holdings_snapshot(holdings, etfs), rules.TOP_BY_WEIGHT, PER_ETF)``: the top
    holdings by weight of each ETF's snapshot for D, with each snapshot cut to them first, once,
    instead of once per as-of date that reads it.
    """
    # as holdings_snapshot gives them: weights as doubles, so both rankings order alike
    weights = holdings.withColumn("holding_percent", F.col("holding_percent").cast("double"))
    per_snapshot = keep_first(weights, rules.TOP_BY_WEIGHT, PER_ETF)
    return keep_first(holdings_snapshot(per_snapshot, etfs), rules.TOP_BY_WEIGHT, PER_ETF)


def selected_holdings(top: DataFrame, caps: DataFrame) -> DataFrame:
    """Of each ETF's top holdings, the largest by mcap(·, D) (:data:`rules.SELECTED_BY_MCAP`);
    no market cap, no place.
    """
    with_caps = (
        top.join(
            caps.withColumnRenamed("ticker", "holding_ticker"),
            ["holding_ticker", "as_of_date"],
        )
        .where(F.col("market_cap").isNotNull())
        .drop("market_cap_note")
    )
    return keep_first(with_caps, rules.SELECTED_BY_MCAP, PER_ETF)


_OUTCOME_COLUMNS = [c.split()[0] for c in OUTCOME_SCHEMA.split(", ")]


def pick_each(groups: pd.DataFrame, trend_period: int) -> pd.DataFrame:
    """:func:`pick_per_etf` for every (date, period) in ``groups``, independently."""
    by_group: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for rec in _records(groups):  # one records pass for the whole batch
        by_group.setdefault((rec["as_of_date"], rec["period"]), []).append(rec)
    picked = [
        row for key in sorted(by_group) for row in _pick_records(by_group[key], trend_period)
    ]
    return _outcome_frame(picked)


def pick_per_etf(group: pd.DataFrame, trend_period: int) -> pd.DataFrame:
    """The greedy pick of one (date, period): each ETF in order takes its best holding not yet
    taken (:data:`rules.PICK_ORDER`), dropped when r ≤ 0.
    """
    return _outcome_frame(_pick_records(_records(group), trend_period))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame``'s rows as dicts; ``into`` tells the type checker the keys are column names."""
    into: dict[str, Any] = {}
    return frame.to_dict("records", into=into)


def _outcome_frame(out: list[dict[str, Any]]) -> pd.DataFrame:
    if not out:
        return pd.DataFrame(columns=_OUTCOME_COLUMNS, dtype=object)
    # object columns: Arrow then converts None (not a pandas-3 string or float NaN) to null
    return pd.DataFrame(
        [{**dict.fromkeys(_OUTCOME_COLUMNS), **row} for row in out],
        columns=_OUTCOME_COLUMNS,
        dtype=object,
    )


def _pick_records(records: list[dict[str, Any]], trend_period: int) -> list[dict[str, Any]]:
    """:func:`pick_per_etf` on the rows of one (date, period) as records."""
    by_etf: dict[int, list[dict[str, Any]]] = {}
    for rec in records:  # plain Python: thousands of tiny groups per job
        by_etf.setdefault(int(rec["etf_order"]), []).append(rec)
    taken: set[str] = set()
    out: list[dict[str, Any]] = []
    for order in sorted(by_etf):
        rows = by_etf[order]
        first = rows[0]
        etf = {
            "as_of_date": first["as_of_date"],
            "period": int(first["period"]),
            "etf_ticker": first["etf_ticker"],
            "etf_order": order,
            "etf_return_pct": _float(first["etf_return_pct"]),
        }
        usable = [
            r
            for r in rows
            if not (pd.isna(r["ticker"]) or pd.isna(r["r"]) or pd.isna(r["market_cap"]))
            and r["ticker"] not in taken
        ]
        if not usable:
            out.append({**etf, "status": NOTHING, "note": _why_nothing(rows)})
            continue
        best = min(usable, key=rules.PICK_ORDER.sort_key(rules.field_of))
        taken.add(str(best["ticker"]))
        pick = {
            "ticker": best["ticker"],
            "r": float(best["r"]),
            "market_cap": float(best["market_cap"]),
            "market_cap_estimated": bool(best["market_cap_estimated"]),
            "company_name": None if pd.isna(best["company_name"]) else best["company_name"],
            "sector": UNKNOWN_SECTOR if pd.isna(best["sector"]) else best["sector"],
            "is_point_in_time": bool(best["is_point_in_time"]),
        }
        if pick["r"] > 0:
            reason = _reason(str(etf["etf_ticker"]), trend_period, first, pick)
            out.append({**etf, **pick, "status": PICKED, "allocation_reason": reason})
        else:
            out.append({**etf, **pick, "status": DROPPED, "note": "best pick returned ≤ 0"})
    return out


def _float(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def _why_nothing(rows: list[dict[str, Any]]) -> str:
    if int(rows[0]["n_holdings"]) == 0:
        return "no holdings snapshot"
    if all(pd.isna(r["ticker"]) for r in rows):
        return "no top holding has a market cap"
    return "no selected holding with a return is left unpicked"


def _reason(etf: str, trend_period: int, first: dict[str, Any], pick: dict[str, Any]) -> str:
    reason = (
        f"top pick of {etf} ({trend_period}d {first['trend_return_pct']:+.2f}%), score = r/mcap"
    )
    if pick["market_cap_estimated"]:
        reason += "; market cap estimated"
    if not pick["is_point_in_time"]:
        reason += "; holdings not point-in-time"
    return reason


def weigh(
    outcomes: DataFrame, weighting: Weighting = "score", max_weight: float | None = None
) -> DataFrame:
    """Add ``score``, ``portfolio_weight`` = score / Σ score (capped at ``max_weight``) and
    ``rank`` to the picks.
    """
    picked = F.col("status") == PICKED
    group = Window.partitionBy(*PER_PORTFOLIO)
    # the picks first, so that their ranks are 1..n whatever the other rows hold
    by_weight = window(rules.WEIGHT_RANK, PER_PORTFOLIO, first=[F.when(picked, 0).otherwise(1)])
    weighted = outcomes.withColumn("score", F.when(picked, _SCORES[weighting]())).withColumn(
        "portfolio_weight", F.col("score") / F.sum("score").over(group)
    )
    if max_weight is not None:
        weighted = cap_weights(weighted, max_weight)
    return weighted.withColumn("rank", F.when(picked, F.row_number().over(by_weight)))


def cap_weights(weighted: DataFrame, cap: float) -> DataFrame:
    """Cap ``portfolio_weight`` at ``cap``, the excess spread over the others in proportion
    (equal weights when even those exceed a cap that cannot sum to 1).
    """
    group = Window.partitionBy(*PER_PORTFOLIO)
    largest_first = window(rules.WEIGHT_RANK, PER_PORTFOLIO)
    i = F.col("_i")
    # capping the i largest leaves 1 − i·cap for the rest, in proportion: fine once the
    # largest of the rest stays under the cap; k is the first i where that holds
    return (
        weighted.withColumn("_i", F.row_number().over(largest_first) - 1)
        .withColumn(
            "_rest",
            F.sum("portfolio_weight").over(
                largest_first.rowsBetween(Window.currentRow, Window.unboundedFollowing)
            ),
        )
        .withColumn(
            "_fits",
            F.col("portfolio_weight") * (1 - i * cap) / F.col("_rest") <= F.lit(cap) + 1e-12,
        )
        .withColumn("_k", F.min(F.when(F.col("_fits"), i)).over(group))
        .withColumn("_rest_k", F.max(F.when(i == F.col("_k"), F.col("_rest"))).over(group))
        .withColumn(
            "portfolio_weight",
            F.when(F.col("portfolio_weight").isNull(), None)
            .when(F.col("_k").isNull(), 1 / F.count("portfolio_weight").over(group))
            .when(i < F.col("_k"), F.lit(cap))
            .otherwise(F.col("portfolio_weight") * (1 - F.col("_k") * cap) / F.col("_rest_k")),
        )
        .drop("_i", "_rest", "_fits", "_k", "_rest_k")
    )


@dataclass
class AllocationFrames:
    """Stage 5's result (``outcomes``) and the top holdings whose market cap was left out
    (``left_out``: ``as_of_date, etf_ticker, holding_ticker, market_cap_note``).
    """

    outcomes: DataFrame
    left_out: DataFrame


def allocation_frames(
    trend: DataFrame,
    holdings: DataFrame,
    stocks: DataFrame,
    fundamentals: DataFrame,
    dates: Sequence[date],
    periods: Sequence[int],
    trend_period: int,
    weighting: Weighting = "score",
    max_weight: float | None = None,
    fx: DataFrame | None = None,
) -> AllocationFrames:
    """Each trending ETF's outcome per as-of date and period, with the picks weighted, plus the
    holdings left out for want of an FX rate."""
    spark = trend.sparkSession
    sessions = sessions_frame(spark, lookback_start(min(dates), max(periods)), max(dates))
    as_of = as_of_frame(spark, dates)
    period_frame = spark.createDataFrame([(p,) for p in periods], "period int")
    etfs = trending_order(trend, trend_period)
    # both feed several branches of the plan: computed once instead of once per branch
    top = snapshot_tops(holdings, etfs).localCheckpoint()
    # only the top holdings' own spans of sessions: r_P looks back max(P)
    wanted = top.select(F.col("holding_ticker").alias("ticker"), "as_of_date")
    prices = rows_read_by(price(stocks, sessions), wanted, sessions, max(periods)).localCheckpoint()
    at_d = prices.join(F.broadcast(as_of), F.col("session") == F.col("as_of_date"))
    quotes = (
        top.groupBy(F.col("holding_ticker").alias("ticker"), "as_of_date")
        .agg(F.first("holding_currency", ignorenulls=True).alias("holding_currency"))
        .join(
            at_d.select("ticker", "as_of_date", "close", "currency"),
            ["ticker", "as_of_date"],
            "left",
        )
        .select(
            "ticker",
            "as_of_date",
            "close",
            F.coalesce("currency", "holding_currency").alias("currency"),
        )
    )
    caps = mcap(fundamentals, quotes, fx).localCheckpoint()
    selected = selected_holdings(top, caps)
    left_out = top.join(
        caps.where(F.col("market_cap_note").isNotNull()).withColumnRenamed(
            "ticker", "holding_ticker"
        ),
        ["holding_ticker", "as_of_date"],
    ).select("as_of_date", "etf_ticker", "holding_ticker", "market_cap_note")
    returns = r_p(prices, as_of, periods).select("ticker", "as_of_date", "period", "r")
    candidates = (
        selected.crossJoin(F.broadcast(period_frame))
        .join(
            returns.withColumnRenamed("ticker", "holding_ticker"),
            ["holding_ticker", "as_of_date", "period"],
            "left",
        )
        .join(
            at_d.select(
                F.col("ticker").alias("holding_ticker"), "as_of_date", "company_name", "sector"
            ),
            ["holding_ticker", "as_of_date"],
            "left",
        )
        .withColumnRenamed("holding_ticker", "ticker")
    )
    sizes = top.groupBy("as_of_date", "etf_ticker").agg(F.count("*").alias("n_holdings"))
    etf_returns = trend.select(
        "etf_ticker", "as_of_date", "period", F.col("return_pct").alias("etf_return_pct")
    )
    grid = (
        etfs.crossJoin(F.broadcast(period_frame))
        .join(etf_returns, ["etf_ticker", "as_of_date", "period"], "left")
        .join(sizes, ["as_of_date", "etf_ticker"], "left")
        .fillna(0, subset=["n_holdings"])
        .join(candidates, ["as_of_date", "etf_ticker", "period"], "left")
    )
    # one pandas call per month of dates, not per (date, period): far less Arrow overhead
    outcomes = grid.groupBy(F.trunc("as_of_date", "month").alias("_month")).applyInPandas(
        lambda g: pick_each(g, trend_period), OUTCOME_SCHEMA
    )
    return AllocationFrames(weigh(outcomes, weighting, max_weight), left_out)


def stock_bars(table: DataFrame) -> DataFrame:
    """Stock bars with what is known of the company, from collected_06."""
    return bar_frame(table, "company_name", "sector", "currency")


def _record(o: Any) -> dict[str, Any]:
    """An analytics_05 row from a pick."""
    return {
        "as_of_date": o["as_of_date"],
        "ticker": o["ticker"],
        "company_name": o["company_name"],
        "sector": o["sector"],
        "market_cap": round(o["market_cap"]),
        "market_cap_estimated": o["market_cap_estimated"],
        "return_pct": 100 * o["r"],
        "is_trending": True,
        "rank": o["rank"],
        "portfolio_weight": o["portfolio_weight"],
        "allocation_reason": o["allocation_reason"],
        "period_days": o["period"],
        "etf_ticker": o["etf_ticker"],
        "etf_return_pct": o["etf_return_pct"],
        "is_point_in_time": o["is_point_in_time"],
    }


def _log_outcome(as_of: date, o: Any, level: int = logging.INFO) -> str | None:
    """Say in the run log why an ETF adds nothing; return that sentence."""
    if o["status"] == PICKED:
        return None
    if o["status"] == DROPPED:
        why = f"best pick {o['ticker']} returned {100 * o['r']:+.2f}%"
    else:
        why = o["note"]
    sentence = f"{o['etf_ticker']} adds nothing on {as_of} for P={o['period']}: {why}"
    log.log(level, "stage 5: %s", sentence)
    return sentence


def run_allocation(ctx: StageContext, as_of: date) -> StageResult:
    """Stage 5 for ``as_of``: the portfolio of every period P into analytics_05 (idempotent)."""
    return run_allocation_range(ctx, [as_of])


_TREND_COLUMNS = ("etf_ticker", "as_of_date", "period", "return_pct", "is_trending")


def _trend_field(row: dict[str, Any], field: str) -> Any:
    """An analytics_03 row's field as :data:`rules.ETF_PICK_ORDER` names it."""
    return row["return_pct" if field == "trend_return_pct" else field]


def _trend(ctx: StageContext, dates: Sequence[date]) -> tuple[list[dict[str, Any]], DataFrame]:
    """analytics_03's rows of ``dates``: read once, kept in Spark for the job and collected
    through Arrow for the checks and the log.
    """
    spark = get_spark(ctx.settings, len(dates))
    frame = (
        read_table(spark, ctx.database_url, TRENDING_TABLE.name)
        .where(F.col("as_of_date").between(dates[0], dates[-1]))
        .select(*_TREND_COLUMNS)
        .join(F.broadcast(as_of_frame(spark, dates)), "as_of_date")
        .select(*_TREND_COLUMNS)
        .localCheckpoint()
    )
    rows = [dict(zip(_TREND_COLUMNS, r, strict=True)) for r in rows_of(frame, _TREND_COLUMNS)]
    have = {r["as_of_date"] for r in rows if r["period"] == ctx.settings.trend_period}
    missing = [d for d in dates if d not in have]
    if missing:
        shown = ", ".join(str(d) for d in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise TrendfolioError(
            f"stage 5 for {shown}: analytics_03 has no {ctx.settings.trend_period}d rows for "
            "that date; run stage 3 (trending) first"
        )
    return rows, frame


def run_allocation_range(ctx: StageContext, dates: Sequence[date]) -> StageResult:
    """Stage 5 for every session of ``dates`` in one Spark job; analytics_05 rows of those dates
    are replaced in batches (idempotent).
    """
    dates = sorted({require_session(d) for d in dates})
    settings = ctx.settings
    trend_period = settings.trend_period
    spark = get_spark(settings, len(dates))
    url = ctx.database_url
    span = str(dates[0]) if len(dates) == 1 else f"{dates[0]}..{dates[-1]}"
    trend_rows, trend = _trend(ctx, dates)
    trending_by_day: dict[date, list[str]] = {}
    trending = [r for r in trend_rows if r["period"] == trend_period and r["is_trending"]]
    for r in rules.ETF_PICK_ORDER.apply(trending, _trend_field):
        trending_by_day.setdefault(r["as_of_date"], []).append(str(r["etf_ticker"]))
    etfs = sorted({e for day in trending_by_day.values() for e in day})
    outcomes: list[Any] = []
    left_out: list[Any] = []
    if etfs:
        holdings = read_table(spark, url, HOLDINGS).where(F.col("etf_ticker").isin(etfs)).cache()
        try:
            tickers = [r[0] for r in holdings.select("holding_ticker").distinct().collect()]
            first = lookback_start(dates[0], max(rules.PERIODS))
            stocks = stock_bars(
                read_table(spark, url, STOCK_PRICES).where(
                    F.col("ticker").isin(tickers) & F.col("trade_date").between(first, dates[-1])
                )
            )
            fundamentals = read_table(spark, url, FUNDAMENTALS).where(
                F.col("ticker").isin(tickers)
            )
            fx = (
                read_table(spark, url, FX_RATES)
                .where(F.col("trade_date").between(dates[0], dates[-1]))
                .select("currency", F.col("trade_date").alias("as_of_date"), "usd_per_unit")
            )
            frames = allocation_frames(
                trend, holdings, stocks, fundamentals, dates, rules.PERIODS, trend_period,
                settings.weighting, settings.max_weight, fx,
            )
            columns = frames.outcomes.columns
            outcomes = [dict(zip(columns, r, strict=True))
                        for r in rows_of(frames.outcomes, columns)]
            left_out = frames.left_out.collect()
        finally:
            holdings.unpersist()
    records = [_record(o) for o in outcomes if o["status"] == PICKED]
    level = logging.INFO if len(dates) == 1 else logging.DEBUG
    notes = [n for o in outcomes if (n := _log_outcome(o["as_of_date"], o, level))]
    for h in sorted(left_out, key=lambda h: (h["as_of_date"], h["etf_ticker"])):
        log.log(level, "stage 5 for %s: %s holding %s %s",
                h["as_of_date"], h["etf_ticker"], h["holding_ticker"], h["market_cap_note"])
    if left_out and len(dates) > 1:
        log.warning("stage 5 for %s: %d (session, holding) market caps left out for want of an "
                    "FX rate (DEBUG lists them)", span, len(left_out))
    for day in dates:
        if day not in trending_by_day:
            log.log(level, "stage 5: no ETF beat the reference over %dd on %s: every portfolio "
                    "is empty", trend_period, day)
    rows = [tuple(r[c] for c in ALLOCATION_TABLE.columns) for r in records]
    write_dates(url, ALLOCATION_TABLE, "as_of_date", dates, rows)
    log.info("stage 5 for %s: %d rows over %d sessions", span, len(records), len(dates))
    if len(dates) == 1:
        picks = {
            str(p): sorted(str(r["ticker"]) for r in records if r["period_days"] == p)
            for p in rules.PERIODS
        }
        day_etfs = trending_by_day.get(dates[0], [])
        details: dict[str, Any] = {"trending": day_etfs, "picks": picks, "nothing": notes}
        if not day_etfs:
            details["reason"] = f"no ETF beat the reference over {trend_period}d on {dates[0]}"
    else:
        details = {"sessions": len(dates), "first": str(dates[0]), "last": str(dates[-1]),
                   "nothing": len(notes), "left_out_for_fx": len(left_out)}
    return StageResult(rows=len(records), details=details)
