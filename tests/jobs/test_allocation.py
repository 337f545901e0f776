"""Stage 5 on tiny hand-computed frames (holdings in another currency among them), and once
on a real PostgreSQL database."""

from __future__ import annotations

import asyncio
import typing
from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession

from tests.support.jobs import Db
from trendfolio import rules
from trendfolio.calendar import sessions_between
from trendfolio.config import Weighting
from trendfolio.errors import TrendfolioError
from trendfolio.pipeline import StageContext
from trendfolio.universe import Universe
from trendfolio_jobs import allocation
from trendfolio_jobs.allocation import (
    OUTCOME_SCHEMA,
    PER_ETF,
    allocation_frames,
    holdings_snapshot,
    pick_per_etf,
    run_allocation,
    selected_holdings,
    weigh,
)
from trendfolio_jobs.ranking import keep_first

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

D = date(2026, 7, 8)  # P=1 looks back to 07-07, P=2 to 07-06
TREND = "etf_ticker string, as_of_date date, period int, return_pct double, is_trending boolean"
HOLDINGS = (
    "etf_ticker string, holding_ticker string, holding_percent double, holding_currency string, "
    "as_of_date date, is_point_in_time boolean"
)
STOCKS = (
    "ticker string, trade_date date, close double, adj_close double, company_name string, "
    "sector string, currency string"
)
FUNDAMENTALS = "ticker string, as_of_date date, market_cap double, shares_outstanding double"
FX = "currency string, as_of_date date, usd_per_unit double"


def d(text: str) -> date:
    return date.fromisoformat(text)


def trend(spark: SparkSession, rows: list[tuple[str, float, bool]], period: int = 2) -> DataFrame:
    return spark.createDataFrame([(e, D, period, r, t) for e, r, t in rows], TREND)


def holdings(
    spark: SparkSession, rows: dict[str, list[tuple[str, float]]], asof: date
) -> DataFrame:
    return spark.createDataFrame(
        [(etf, h, w, "USD", asof, True) for etf, hs in rows.items() for h, w in hs], HOLDINGS
    )


def stocks(spark: SparkSession, closes: dict[str, dict[str, float]]) -> DataFrame:
    return spark.createDataFrame(
        [
            (t, d(day), c, None, f"{t} Inc.", "Technology" if t != "BAC" else None, "USD")
            for t, by_day in closes.items()
            for day, c in by_day.items()
        ],
        STOCKS,
    )


def caps(spark: SparkSession, rows: list[tuple[str, float | None, float | None]]) -> DataFrame:
    return spark.createDataFrame([(t, d("2026-07-01"), c, s) for t, c, s in rows], FUNDAMENTALS)


def rounded(weight: float | None) -> float | None:
    return None if weight is None else round(weight, 12)


def outcome(rows: list[Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            r.period,
            r.etf_order,
            r.etf_ticker,
            r.status,
            r.ticker,
            r.rank,
            rounded(r.portfolio_weight),
        )
        for r in rows
    )


def test_greedy_pick_per_period(spark: SparkSession) -> None:
    trend_rows = trend(
        spark,
        [
            ("XLK", 5.0, True),
            ("QQQ", 4.0, True),
            ("XLF", 3.0, True),
            ("XLE", 2.0, True),
            ("SPY", 1.0, False),
        ],
    ).unionByName(trend(spark, [("XLK", 1.5, True), ("QQQ", 1.0, True)], period=1))
    snap = holdings(
        spark,
        {
            "XLK": [("AAPL", 0.2), ("MSFT", 0.15), ("NVDA", 0.1)],
            "QQQ": [("AAPL", 0.1), ("MSFT", 0.09), ("AMZN", 0.05)],
            "XLF": [("JPM", 0.1), ("BAC", 0.05)],
        },
        d("2026-06-01"),
    )
    bars = stocks(
        spark,
        {
            "AAPL": {"2026-07-06": 100.0, "2026-07-07": 125.0, "2026-07-08": 120.0},
            "MSFT": {"2026-07-06": 100.0, "2026-07-07": 100.0, "2026-07-08": 110.0},
            "NVDA": {"2026-07-06": 100.0, "2026-07-07": 100.0, "2026-07-08": 105.0},
            "AMZN": {"2026-07-06": 100.0, "2026-07-07": 80.0, "2026-07-08": 90.0},
            "JPM": {"2026-07-06": 100.0, "2026-07-07": 100.0, "2026-07-08": 95.0},
            "BAC": {"2026-07-06": 100.0, "2026-07-07": 90.0, "2026-07-08": 99.0},
        },
    )
    fundamentals = caps(
        spark,
        [
            ("AAPL", 4000.0, None),
            ("MSFT", 1000.0, None),
            ("NVDA", 1000.0, None),
            ("AMZN", 1000.0, None),
            ("JPM", 500.0, None),
            ("BAC", 250.0, None),
        ],
    )
    got = allocation_frames(trend_rows, snap, bars, fundamentals, [D], [1, 2], 2).outcomes.collect()

    # P=2: XLK takes AAPL (+20%); QQQ finds AAPL taken and takes MSFT (+10%); XLF's best is
    # BAC (-1%), dropped; XLE has no holdings. P=1 is independent: MSFT, AMZN, BAC.
    aapl, msft = 0.2 / 4000, 0.1 / 1000
    msft1, amzn1, bac1 = 0.1 / 1000, (90 / 80 - 1) / 1000, (99 / 90 - 1) / 250
    total1 = msft1 + amzn1 + bac1
    assert outcome(got) == [
        (1, 1, "XLK", "picked", "MSFT", 3, rounded(msft1 / total1)),
        (1, 2, "QQQ", "picked", "AMZN", 2, rounded(amzn1 / total1)),
        (1, 3, "XLF", "picked", "BAC", 1, rounded(bac1 / total1)),
        (1, 4, "XLE", "nothing", None, None, None),
        (2, 1, "XLK", "picked", "AAPL", 2, rounded(aapl / (aapl + msft))),
        (2, 2, "QQQ", "picked", "MSFT", 1, rounded(msft / (aapl + msft))),
        (2, 3, "XLF", "dropped", "BAC", None, None),
        (2, 4, "XLE", "nothing", None, None, None),
    ]
    for period in (1, 2):
        weights = [r.portfolio_weight for r in got if r.period == period and r.status == "picked"]
        assert abs(sum(weights) - 1) < 1e-9
    details = {(r.period, r.etf_ticker): r for r in got}
    bac = details[(1, "XLF")]
    assert (bac.sector, bac.company_name, bac.market_cap, bac.market_cap_estimated) == (
        "Unknown",
        "BAC Inc.",
        250.0,
        False,
    )
    assert details[(2, "XLK")].allocation_reason == "top pick of XLK (2d +5.00%), score = r/mcap"
    assert details[(2, "XLE")].note == "no holdings snapshot"
    # XLE's return over P=1 is not in analytics_03 above: the row says so with a null
    assert (details[(2, "XLF")].etf_return_pct, details[(1, "XLE")].etf_return_pct) == (3.0, None)


def test_no_trending_etf_gives_no_outcome(spark: SparkSession) -> None:
    trend_rows = trend(spark, [("XLK", -1.0, False), ("SPY", 1.0, False)])
    snap = holdings(spark, {"XLK": [("AAPL", 0.2)]}, d("2026-06-01"))
    bars = stocks(spark, {"AAPL": {"2026-07-06": 100.0, "2026-07-08": 120.0}})
    fundamentals = caps(spark, [("AAPL", 4000.0, None)])
    got = allocation_frames(trend_rows, snap, bars, fundamentals, [D], [2], 2).outcomes.collect()
    assert got == []


def test_estimated_market_cap_and_a_snapshot_from_after_d(spark: SparkSession) -> None:
    trend_rows = trend(spark, [("XLK", 5.0, True)])
    # both snapshots are dated after D: the earliest is used and flagged not point-in-time
    snap = holdings(spark, {"XLK": [("NVDA", 0.2)]}, d("2026-07-10")).unionByName(
        holdings(spark, {"XLK": [("AAPL", 0.3)]}, d("2026-08-03"))
    )
    bars = stocks(
        spark,
        {
            "NVDA": {"2026-07-06": 100.0, "2026-07-08": 105.0},
            "AAPL": {"2026-07-06": 100.0, "2026-07-08": 150.0},
        },
    )
    # no market cap for NVDA, only a share count dated after D: the earliest one is used
    fundamentals = spark.createDataFrame(
        [("NVDA", d("2026-07-20"), None, 10.0), ("AAPL", d("2026-07-01"), 4000.0, None)],
        FUNDAMENTALS,
    )
    got = allocation_frames(trend_rows, snap, bars, fundamentals, [D], [2], 2).outcomes.collect()
    assert [
        (
            r.etf_ticker,
            r.status,
            r.ticker,
            r.r,
            r.market_cap,
            r.market_cap_estimated,
            r.is_point_in_time,
            r.rank,
            r.portfolio_weight,
            r.allocation_reason,
        )
        for r in got
    ] == [
        (
            "XLK",
            "picked",
            "NVDA",
            105.0 / 100.0 - 1,
            1050.0,
            True,
            False,
            1,
            1.0,
            "top pick of XLK (2d +5.00%), score = r/mcap; market cap estimated; "
            "holdings not point-in-time",
        ),
    ]


def test_selected_holdings_are_top_ten_by_weight_then_five_by_market_cap(
    spark: SparkSession,
) -> None:
    weights = [0.12, 0.11, 0.10, 0.09, 0.08, 0.07, 0.06, 0.05, 0.04, 0.02, 0.02, 0.01]
    names = [f"H{i:02d}" for i in range(1, 13)]  # H10 and H11 tie on weight: H10 is 10th
    snap = holdings(spark, {"XLK": list(zip(names, weights, strict=True))}, d("2026-06-01"))
    etfs = spark.createDataFrame([(D, "XLK")], "as_of_date date, etf_ticker string")
    market_caps = {
        "H01": 100.0,
        "H02": 200.0,
        "H03": None,
        "H04": 300.0,
        "H05": 300.0,
        "H06": 50.0,
        "H07": 400.0,
        "H08": 10.0,
        "H09": 300.0,
        "H10": 5.0,
        "H11": 9000.0,
        "H12": 9000.0,
    }
    mcaps = spark.createDataFrame(
        [(t, D, c, False) for t, c in market_caps.items()],
        "ticker string, as_of_date date, market_cap double, market_cap_estimated boolean",
    )
    top = keep_first(holdings_snapshot(snap, etfs), rules.TOP_BY_WEIGHT, PER_ETF)
    assert sorted(r.holding_ticker for r in top.collect()) == names[:10]
    got = selected_holdings(top, mcaps).collect()
    # H03 has no market cap; H04, H05 and H09 tie at 300 and all fit; H11, H12 are not top 10
    assert sorted((r.holding_ticker, r.market_cap) for r in got) == [
        ("H02", 200.0),
        ("H04", 300.0),
        ("H05", 300.0),
        ("H07", 400.0),
        ("H09", 300.0),
    ]


def korean_market(spark: SparkSession, fx_rows: list[tuple[str, date, float]]) -> list[object]:
    """EWY trending, holding Samsung (KRW, cap 600 trillion won, +30%) and a USD stock (+10%)."""
    trend = spark.createDataFrame([("EWY", D, 2, 4.0, True)], TREND)
    holdings = spark.createDataFrame(
        [
            ("EWY", "005930.KS", 0.25, "KRW", d("2026-06-01"), True),
            ("EWY", "CPNG", 0.05, "USD", d("2026-06-01"), True),
        ],
        HOLDINGS,
    )
    stocks = spark.createDataFrame(
        [
            ("005930.KS", d("2026-07-06"), 70000.0, None, "Samsung", "Technology", "KRW"),
            ("005930.KS", d("2026-07-08"), 91000.0, None, "Samsung", "Technology", "KRW"),
            ("CPNG", d("2026-07-06"), 20.0, None, "Coupang", "Consumer Cyclical", "USD"),
            ("CPNG", d("2026-07-08"), 22.0, None, "Coupang", "Consumer Cyclical", "USD"),
        ],
        STOCKS,
    )
    fundamentals = spark.createDataFrame(
        [("005930.KS", d("2026-07-01"), 6.0e14, None), ("CPNG", d("2026-07-01"), 4.0e10, None)],
        FUNDAMENTALS,
    )
    frames = allocation_frames(
        trend, holdings, stocks, fundamentals, [D], [2], 2, fx=spark.createDataFrame(fx_rows, FX)
    )
    return [frames.outcomes.collect(), frames.left_out.collect()]


def test_holdings_in_another_currency_are_converted_with_the_days_rate(
    spark: SparkSession,
) -> None:
    # a rate for another day does not count: only D's rate converts
    outcomes, left_out = korean_market(
        spark, [("KRW", D, 0.00072), ("KRW", d("2026-07-07"), 0.5)]
    )
    assert left_out == []
    [pick] = outcomes
    assert (pick.etf_ticker, pick.ticker, pick.status) == ("EWY", "005930.KS", "picked")
    assert pick.market_cap == pytest.approx(6.0e14 * 0.00072)  # 432 billion USD
    assert pick.r == pytest.approx(0.3)
    assert pick.portfolio_weight == 1.0


def test_holdings_in_another_currency_without_a_rate_are_left_out_with_a_reason(
    spark: SparkSession,
) -> None:
    outcomes, left_out = korean_market(spark, [("KRW", d("2026-07-07"), 0.00072)])
    [pick] = outcomes
    # Samsung's won cap is never compared with dollars: Coupang is the pick
    assert (pick.ticker, pick.market_cap, pick.status) == ("CPNG", 4.0e10, "picked")
    assert [(x.etf_ticker, x.holding_ticker, x.market_cap_note) for x in left_out] == [
        ("EWY", "005930.KS", "quoted in KRW and no USD rate for 2026-07-08: left out")
    ]


def test_every_weighting_the_settings_accept_is_one_stage_5_computes() -> None:
    # Settings refuses any other value at start-up, so stage 5 needs no check of its own
    assert set(typing.get_args(Weighting)) == set(allocation._SCORES)


def candidate(
    etf: str,
    order: int,
    ticker: str | None,
    r: float | None,
    cap: float | None,
    n_holdings: int = 2,
) -> dict[str, Any]:
    return {
        "as_of_date": D,
        "period": 5,
        "etf_ticker": etf,
        "etf_order": order,
        "trend_return_pct": 3.0,
        "etf_return_pct": 2.0,
        "n_holdings": n_holdings,
        "ticker": ticker,
        "r": r,
        "market_cap": cap,
        "market_cap_estimated": False,
        "company_name": None,
        "sector": None,
        "is_point_in_time": True,
    }


def test_pick_per_etf_breaks_ties_by_market_cap_then_ticker() -> None:
    group = pd.DataFrame(
        [
            candidate("XLC", 3, "X", 0.1, 100.0),
            candidate("XLC", 3, "Y", 0.1, 200.0),
            candidate("XLK", 1, "X", 0.1, 100.0),
            candidate("XLK", 1, "Y", 0.1, 200.0),  # same return, larger cap: XLK's pick
            candidate("QQQ", 2, "Z", 0.1, 100.0),
            candidate("QQQ", 2, "X", 0.1, 100.0),  # same return and cap: the ticker decides
            candidate("XLE", 4, None, None, None, n_holdings=0),
            candidate("XLB", 5, "W", None, 100.0),  # no return over the period
        ]
    )
    got = pick_per_etf(group, trend_period=20)
    assert [(r.etf_ticker, r.status, r.ticker, r.note) for r in got.itertuples()] == [
        ("XLK", "picked", "Y", None),
        ("QQQ", "picked", "X", None),
        ("XLC", "nothing", None, "no selected holding with a return is left unpicked"),
        ("XLE", "nothing", None, "no holdings snapshot"),
        ("XLB", "nothing", None, "no selected holding with a return is left unpicked"),
    ]
    assert got["sector"].tolist()[:2] == ["Unknown", "Unknown"]


async def test_run_allocation_writes_analytics_05_idempotently(
    db: Db, stage_context: Callable[[Universe], StageContext], small_universe: Universe
) -> None:
    d = date(2026, 8, 20)
    days = sessions_between(date(2026, 7, 1), d)
    n = len(days) - 1
    await db.insert(
        "analytics_03_trending_etfs",
        ["etf_ticker", "as_of_date", "period", "return_pct", "is_trending"],
        [
            (etf, d, p, ret + p / 10, trending)
            for etf, ret, trending in [("XLK", 6.0, True), ("XLF", 4.0, True), ("SPY", 2.0, False)]
            for p in (5, 10, 20)
        ],
    )
    await db.insert(
        "collected_04_etf_holdings",
        ["etf_ticker", "holding_ticker", "holding_percent", "as_of_date"],
        [
            ("XLK", "AAPL", 20, date(2026, 6, 1)),
            ("XLK", "MSFT", 15, date(2026, 6, 1)),
            ("XLF", "JPM", 10, date(2026, 6, 1)),
            ("XLF", "AAPL", 1, date(2026, 6, 1)),
        ],
    )
    steps = {"AAPL": (100.0, 2.0), "MSFT": (100.0, 1.0), "JPM": (50.0, 0.25)}
    await db.insert(
        "collected_06_daily_stock_history",
        ["ticker", "company_name", "sector", "trade_date", "close_price"],
        [
            (t, f"{t} Corp", "Financial" if t == "JPM" else "Technology", day, base + step * i)
            for t, (base, step) in steps.items()
            for i, day in enumerate(days)
        ],
    )
    await db.insert(
        "collected_07_stock_fundamentals",
        ["ticker", "as_of_date", "market_cap", "shares_outstanding"],
        [
            ("AAPL", date(2026, 8, 10), 3e12, None),
            ("MSFT", date(2026, 8, 10), 2.5e12, None),
            ("JPM", date(2026, 1, 1), None, 2.5e9),
        ],
    )
    await db.insert(  # a pick from an earlier run that this run no longer makes
        "analytics_05_portfolio_allocation",
        ["as_of_date", "ticker", "rank", "portfolio_weight", "period_days", "etf_ticker"],
        [(d, "OLD", 1, 1.0, 5, "XLK")],
    )
    ctx = stage_context(small_universe)
    query = (
        "SELECT period_days, rank, ticker, etf_ticker, company_name, sector, market_cap, "
        "market_cap_estimated, return_pct, etf_return_pct, portfolio_weight, is_trending, "
        "is_point_in_time, allocation_reason FROM analytics_05_portfolio_allocation "
        "WHERE as_of_date = $1 ORDER BY period_days, rank"
    )

    first = await asyncio.to_thread(run_allocation, ctx, d)
    rows = await db.fetch(query, d)
    second = await asyncio.to_thread(run_allocation, ctx, d)

    def r(t: str, p: int) -> float:
        base, step = steps[t]
        return (base + step * n) / (base + step * (n - p)) - 1

    jpm_cap = (50.0 + 0.25 * n) * 2.5e9  # estimated: close at D × shares outstanding
    expected = []
    for p in (5, 10, 20):
        # XLK (better 20d return) takes AAPL; XLF finds AAPL taken and takes JPM
        aapl, jpm = r("AAPL", p) / 3e12, r("JPM", p) / jpm_cap
        picks = [
            (
                "AAPL",
                "XLK",
                "Technology",
                3e12,
                False,
                r("AAPL", p),
                6.0 + p / 10,
                aapl / (aapl + jpm),
                "top pick of XLK (20d +8.00%), score = r/mcap",
            ),
            (
                "JPM",
                "XLF",
                "Financial",
                jpm_cap,
                True,
                r("JPM", p),
                4.0 + p / 10,
                jpm / (aapl + jpm),
                "top pick of XLF (20d +6.00%), score = r/mcap; market cap estimated",
            ),
        ]
        picks.sort(key=lambda x: -x[7])
        expected += [
            (
                p,
                rank,
                t,
                etf,
                f"{t} Corp",
                sector,
                round(cap),
                est,
                100 * ret,
                etf_ret,
                round(w, 12),
                True,
                True,
                reason,
            )
            for rank, (t, etf, sector, cap, est, ret, etf_ret, w, reason) in enumerate(picks, 1)
        ]
    assert [(*row[:10], round(row[10], 12), *row[11:]) for row in rows] == expected
    assert await db.fetch(query, d) == rows
    for p in (5, 10, 20):
        assert abs(sum(row[10] for row in rows if row[0] == p) - 1) < 1e-9
    assert first.rows == second.rows == 6
    assert first.details["picks"] == {
        "5": ["AAPL", "JPM"],
        "10": ["AAPL", "JPM"],
        "20": ["AAPL", "JPM"],
    }


async def test_run_allocation_with_no_trending_etf_empties_the_day(
    db: Db, stage_context: Callable[[Universe], StageContext], small_universe: Universe
) -> None:
    d = date(2026, 8, 20)
    await db.insert(
        "analytics_03_trending_etfs",
        ["etf_ticker", "as_of_date", "period", "return_pct", "is_trending"],
        [("XLK", d, 20, -1.0, False), ("SPY", d, 20, 1.0, False)],
    )
    await db.insert(
        "analytics_05_portfolio_allocation",
        ["as_of_date", "ticker", "rank", "portfolio_weight", "period_days", "etf_ticker"],
        [(d, "OLD", 1, 1.0, 20, "XLK")],
    )
    result = await asyncio.to_thread(run_allocation, stage_context(small_universe), d)
    assert (result.rows, result.details["reason"]) == (
        0,
        "no ETF beat the reference over 20d on 2026-08-20",
    )
    assert await db.fetch("SELECT ticker FROM analytics_05_portfolio_allocation") == []


async def test_run_allocation_before_stage_3_fails_and_says_what_to_run(
    stage_context: Callable[[Universe], StageContext], small_universe: Universe
) -> None:
    with pytest.raises(TrendfolioError, match=r"run stage 3 \(trending\) first"):
        await asyncio.to_thread(run_allocation, stage_context(small_universe), date(2026, 8, 20))


def picks(spark: SparkSession, rows: list[tuple[str, str, float]]) -> DataFrame:
    """Greedy outcomes for one (date, period): (ticker, status, r), all with a market cap of 1."""
    return spark.createDataFrame(
        [
            (D, 5, f"E{t}", i, status, t, r, 1.0, False, None, "Unknown", True, 1.0, None, None)
            for i, (t, status, r) in enumerate(rows, 1)
        ],
        OUTCOME_SCHEMA,
    )


def weights(df: DataFrame) -> list[tuple[str, int | None, float | None]]:
    return sorted((r.ticker, r.rank, rounded(r.portfolio_weight)) for r in df.collect())


@pytest.mark.parametrize(
    ("weighting", "max_weight", "expected"),
    [
        ("score", None, [("A", 1, 0.6), ("B", 2, 0.3), ("C", 3, 0.1)]),
        (
            "equal",
            None,
            [("A", 1, rounded(1 / 3)), ("B", 2, rounded(1 / 3)), ("C", 3, rounded(1 / 3))],
        ),
        # A is capped at 0.4; B would then get 0.45, so it is capped too; C takes the rest
        ("score", 0.4, [("A", 1, 0.4), ("B", 2, 0.4), ("C", 3, 0.2)]),
        ("score", 0.7, [("A", 1, 0.6), ("B", 2, 0.3), ("C", 3, 0.1)]),
        # three picks cannot sum to 1 under a 0.3 cap: equal weights are the nearest
        (
            "score",
            0.3,
            [("A", 1, rounded(1 / 3)), ("B", 2, rounded(1 / 3)), ("C", 3, rounded(1 / 3))],
        ),
    ],
)
def test_weighting_schemes_and_the_maximum_weight(
    spark: SparkSession, weighting: Weighting, max_weight: float | None, expected: list[Any]
) -> None:
    outcomes = picks(
        spark,
        [("A", "picked", 0.6), ("B", "picked", 0.3), ("C", "picked", 0.1), ("X", "dropped", -0.2)],
    )
    assert weights(weigh(outcomes, weighting, max_weight)) == [*expected, ("X", None, None)]


def test_return_weighting(spark: SparkSession) -> None:
    outcomes = picks(spark, [("A", "picked", 0.25), ("B", "picked", 0.75)])
    assert weights(weigh(outcomes, "return")) == [("A", 2, 0.25), ("B", 1, 0.75)]
