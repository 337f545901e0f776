"""Stage 6 on tiny hand-computed frames: scores, ties, the cut to the best and the
renormalisation, and how long a rebalance is valid."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import SparkSession

from trendfolio_jobs.monthly import monthly_portfolio, valid_until

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
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
