"""Stages 8 and 7 on tiny hand-computed frames: the month grid and the month-end-to-month-end
returns, and the top holdings ranked by period return."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from trendfolio.universe import parse_universe
from trendfolio_jobs.etf_analytics import month_grid, monthly_returns, top_holdings_analytics

from .test_allocation import FUNDAMENTALS, HOLDINGS, D, d

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


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
