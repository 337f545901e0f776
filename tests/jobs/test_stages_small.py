"""Tiny hand-computed cases: holdings in another currency (stage 5), the monthly portfolio
(stage 6), the month grid and returns (stage 8) and the top-holdings ranking (stage 7).
"""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from trendfolio.universe import parse_universe
from trendfolio_jobs.allocation import allocation_frames
from trendfolio_jobs.etf_analytics import month_grid, monthly_returns, top_holdings_analytics
from trendfolio_jobs.monthly import monthly_portfolio, valid_until

from .test_allocation import FUNDAMENTALS, HOLDINGS, STOCKS, TREND, D, d

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]
FX = "currency string, as_of_date date, usd_per_unit double"


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


ALLOC = (
    "as_of_date date, ticker string, period_days int, portfolio_weight double, "
    "company_name string, sector string, market_cap long, etf_ticker string"
)


def test_monthly_portfolio_scores_ties_and_renormalisation(spark: SparkSession) -> None:
    end = date(2026, 6, 30)
    rows = [
        # 20d: A .6, B .4; 10d: A .3, C .7; 5d: D .5, E .5
        (end, "A", 20, 0.6, "A Co", "Tech", 10, "XLK"),
        (end, "B", 20, 0.4, None, None, 20, "XLF"),
        (end, "A", 10, 0.3, "A Co", "Tech", 10, "XLK"),
        (end, "C", 10, 0.7, None, None, 30, "XLE"),
        (end, "D", 5, 0.5, None, None, 40, "XLV"),
        (end, "E", 5, 0.5, None, None, 50, "XLU"),
    ]
    alloc = spark.createDataFrame(rows, ALLOC)
    # D and E tie on score (.5/3): the higher 20-day return first (E); B and C: C .7/3 > B .4/3
    r20 = spark.createDataFrame(
        [("D", end, 0.01), ("E", end, 0.02), ("A", end, 0.03)],
        "ticker string, as_of_date date, r double",
    )
    got = monthly_portfolio(alloc, r20, spark).orderBy("final_rank").collect()
    assert [(r.final_rank, r.ticker, r.source_periods) for r in got] == [
        (1, "A", "20d,10d"),
        (2, "C", "10d"),
        (3, "E", "5d"),
        (4, "D", "5d"),
        (5, "B", "20d"),
    ]
    scores = {r.ticker: r.score for r in got}
    assert scores["A"] == pytest.approx(0.9 / 3)
    assert sum(r.final_weight for r in got) == pytest.approx(1.0, abs=1e-12)
    assert got[0].final_weight == pytest.approx(0.9 / 3)  # the three portfolios sum to 3
    assert {r.valid_until for r in got} == {date(2026, 7, 31)}
    assert (got[0].return_20d, got[4].return_20d) == (pytest.approx(3.0), None)


def test_monthly_keeps_twenty_renormalised(spark: SparkSession) -> None:
    end = date(2026, 7, 31)
    rows = [(end, f"T{i:02d}", 20, (i + 1) / 300.0, None, None, 1, "XLK") for i in range(24)]
    total = sum(r[3] for r in rows)
    alloc = spark.createDataFrame([(*r[:3], r[3] / total, *r[4:]) for r in rows], ALLOC)
    r20 = spark.createDataFrame([], "ticker string, as_of_date date, r double")
    got = monthly_portfolio(alloc, r20, spark).orderBy("final_rank").collect()
    assert [r.ticker for r in got] == [f"T{i:02d}" for i in range(23, 3, -1)]
    assert sum(r.final_weight for r in got) == pytest.approx(1.0, abs=1e-12)
    assert got[0].final_weight == pytest.approx(24 / sum(range(5, 25)))
    assert valid_until(end) == date(2026, 8, 31)
    assert valid_until(date(2026, 12, 31)) == date(2027, 1, 29)


def test_month_grid_and_monthly_returns(spark: SparkSession) -> None:
    grid = month_grid([date(2026, 7, 8)], months_back=2)
    assert grid == [
        (date(2026, 7, 8), date(2026, 7, 1), date(2026, 6, 30), date(2026, 7, 8), False),
        (date(2026, 7, 8), date(2026, 6, 1), date(2026, 5, 29), date(2026, 6, 30), True),
        (date(2026, 7, 8), date(2026, 5, 1), date(2026, 4, 30), date(2026, 5, 29), True),
    ]
    bars = spark.createDataFrame(
        [
            ("XLK", d("2026-05-28"), 100.0, 50.0),  # 05-29 missing: price(05-29) is 05-28's
            ("XLK", d("2026-06-30"), 110.0, 60.0),
            ("XLK", d("2026-07-08"), 121.0, None),  # no adjusted close: raw for both ends
        ],
        "ticker string, trade_date date, close double, adj_close double",
    )
    got = {
        r.month: r
        for r in monthly_returns(bars, [date(2026, 7, 8)]).collect()
    }
    assert sorted(got) == [date(2026, 6, 1), date(2026, 7, 1)]  # April's end has no price
    assert got[date(2026, 6, 1)].monthly_return == pytest.approx(60 / 50 - 1)
    assert got[date(2026, 7, 1)].monthly_return == pytest.approx(121 / 110 - 1)
    assert (got[date(2026, 7, 1)].is_complete, got[date(2026, 6, 1)].is_complete) == (False, True)


def test_top_holdings_ranked_by_period_return(spark: SparkSession) -> None:
    universe = parse_universe(
        "tiny", "ticker,is_benchmark,is_reference,sector_name,name\n"
        "SPY,true,true,,S&P 500\nXLK,false,false,Technology,Tech\n",
    )
    holdings = spark.createDataFrame(
        [("XLK", f"H{i}", 0.1 - i / 100, "USD", d("2026-06-01"), True) for i in range(7)],
        HOLDINGS,
    ).withColumn("holding_name", F.lit(None).cast("string"))
    closes = {f"H{i}": 100.0 + 10 * ((i * 3) % 7) for i in range(7)}  # returns 0,30,60,...
    stocks = spark.createDataFrame(
        [
            (t, day, c if day != d("2026-07-08") else c * (1 + ((int(t[1]) * 3) % 7) / 10),
             None, 1000, "Technology", "USD")
            for t, c in closes.items()
            for day in (d("2026-07-06"), d("2026-07-07"), d("2026-07-08"))
        ],
        "ticker string, trade_date date, close double, adj_close double, volume long, "
        "sector string, currency string",
    )
    fundamentals = spark.createDataFrame(
        [(t, d("2026-07-01"), 1.0e9, None) for t in closes], FUNDAMENTALS
    )
    got = top_holdings_analytics(holdings, stocks, fundamentals, None, universe, [D], [2]).collect()
    ranked = sorted(got, key=lambda r: r.rank_position)
    # r_2 = ((i*3) % 7)/10: H2 .6, H4 .5, H6 .4, H1 .3, H3 .2 kept; H5 .1, H0 0 dropped
    assert [r.holding_ticker for r in ranked] == ["H2", "H4", "H6", "H1", "H3"]
    assert ranked[0].total_return == pytest.approx(60.0)
    # daily % changes over the two sessions: 0 then +60 → mean 30, sample std 42.43
    assert ranked[0].avg_return == pytest.approx(30.0)
    assert ranked[0].volatility == pytest.approx(60 / 2**0.5)
    assert (ranked[0].avg_volume, ranked[0].market_cap, ranked[0].etf_type) == (
        1000,
        1_000_000_000,
        "sector",
    )
