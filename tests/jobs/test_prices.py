"""The SPEC §1 price rules on tiny hand-computed frames, and against the rules' own Python
form on random bars."""

from __future__ import annotations

import random
from datetime import date

import pytest
from pyspark.sql import SparkSession

from trendfolio import rules
from trendfolio.calendar import sessions_between
from trendfolio_jobs.prices import as_of_frame, mcap, price, r_p, sessions_frame

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

BARS = "ticker string, trade_date date, close double, adj_close double"


def d(text: str) -> date:
    return date.fromisoformat(text)


def test_price_uses_a_bar_up_to_three_sessions_old(spark: SparkSession) -> None:
    # 2026-07-03 is a holiday: 06-30 → 07-06 is three sessions, though four weekdays.
    bars = spark.createDataFrame(
        [
            ("AAA", d("2026-06-30"), 10.0, 9.0),
            ("BBB", d("2026-07-03"), 99.0, None),  # a bar on a holiday is not a session's bar
            ("CCC", d("2026-07-01"), 20.0, 19.0),
            ("CCC", d("2026-07-02"), 21.0, None),
        ],
        BARS,
    )
    sessions = sessions_frame(spark, d("2026-06-29"), d("2026-07-08"))
    got = sorted(
        (r.ticker, r.session, r.bar_date, r.close, r.adj_close)
        for r in price(bars, sessions).collect()
    )
    assert got == [
        ("AAA", d("2026-06-30"), d("2026-06-30"), 10.0, 9.0),
        ("AAA", d("2026-07-01"), d("2026-06-30"), 10.0, 9.0),
        ("AAA", d("2026-07-02"), d("2026-06-30"), 10.0, 9.0),
        ("AAA", d("2026-07-06"), d("2026-06-30"), 10.0, 9.0),
        # both closes come from the one latest bar: no older adjusted close is borrowed
        ("CCC", d("2026-07-01"), d("2026-07-01"), 20.0, 19.0),
        ("CCC", d("2026-07-02"), d("2026-07-02"), 21.0, None),
        ("CCC", d("2026-07-06"), d("2026-07-02"), 21.0, None),
        ("CCC", d("2026-07-07"), d("2026-07-02"), 21.0, None),
        ("CCC", d("2026-07-08"), d("2026-07-02"), 21.0, None),
    ]


def test_r_p_for_several_dates_adjusted_or_raw(spark: SparkSession) -> None:
    bars = spark.createDataFrame(
        [
            ("ADJ", d("2026-07-02"), 80.0, 40.0),
            ("ADJ", d("2026-07-06"), 100.0, 50.0),
            ("ADJ", d("2026-07-07"), 90.0, 45.0),
            ("ADJ", d("2026-07-08"), 130.0, 75.0),
            ("RAW", d("2026-07-02"), 80.0, None),
            ("RAW", d("2026-07-06"), 100.0, 50.0),
            ("RAW", d("2026-07-08"), 110.0, 62.5),
            ("OLD", d("2026-06-30"), 40.0, None),
            ("OLD", d("2026-07-08"), 50.0, None),
        ],
        BARS,
    )
    sessions = sessions_frame(spark, d("2026-06-25"), d("2026-07-08"))
    as_of = as_of_frame(spark, [d("2026-07-07"), d("2026-07-08")])
    got = sorted(
        (r.ticker, r.as_of_date, r.period, r.r, r.price_basis)
        for r in r_p(price(bars, sessions), as_of, [2]).collect()
    )
    assert got == [
        # s0 of 07-07 is 07-02 and of 07-08 is 07-06 (two sessions back)
        ("ADJ", d("2026-07-07"), 2, 0.125, "adj"),
        ("ADJ", d("2026-07-08"), 2, 0.5, "adj"),
        # s0 = 07-06 takes the 06-30 bar (three sessions old); at 07-07 it would be four
        ("OLD", d("2026-07-08"), 2, 0.25, "raw"),
        # 07-07 has no bar: price is 07-06's (adj 50), but 07-02 has no adjusted close
        ("RAW", d("2026-07-07"), 2, 0.25, "raw"),
        ("RAW", d("2026-07-08"), 2, 0.25, "adj"),
    ]


def test_r_p_over_several_periods(spark: SparkSession) -> None:
    bars = spark.createDataFrame(
        [
            ("AAA", d("2026-07-01"), 40.0, None),
            ("AAA", d("2026-07-06"), 50.0, None),
            ("AAA", d("2026-07-08"), 60.0, None),
        ],
        BARS,
    )
    sessions = sessions_frame(spark, d("2026-06-25"), d("2026-07-08"))
    as_of = as_of_frame(spark, [d("2026-07-08")])
    got = sorted((r.period, r.r) for r in r_p(price(bars, sessions), as_of, [1, 2, 4]).collect())
    # s0: P=1 → 07-07 (price of 07-06), P=2 → 07-06, P=4 → 07-01
    assert got == [(1, 0.19999999999999996), (2, 0.19999999999999996), (4, 0.5)]


def random_bars(rng: random.Random, sessions: list[date]) -> dict[str, dict[date, rules.Bar]]:
    """Bars 1 to 5 sessions apart (so some sessions are more than 3 from the last bar), about a
    quarter of them without an adjusted close, for several tickers."""
    out: dict[str, dict[date, rules.Bar]] = {}
    for ticker in ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF"):
        bars, i = {}, rng.randrange(4)
        while i < len(sessions):
            close = rng.uniform(5.0, 500.0)
            adj = None if rng.random() < 0.25 else close * rng.uniform(0.5, 1.0)
            bars[sessions[i]] = rules.Bar(close, adj)
            i += rng.randint(1, 5)
        out[ticker] = bars
    return out


def test_price_and_r_p_are_the_rules_price_and_simple_return(spark: SparkSession) -> None:
    sessions = sessions_between(d("2026-03-02"), d("2026-06-30"))
    bars = random_bars(random.Random(20260708), sessions)
    frame = spark.createDataFrame(
        [(t, day, b.close, b.adj_close) for t, by_day in bars.items() for day, b in by_day.items()],
        BARS,
    )
    prices = price(frame, sessions_frame(spark, sessions[0], sessions[-1]))
    got_prices = {(r.ticker, r.session): rules.Bar(r.close, r.adj_close) for r in prices.collect()}
    at = {
        (t, i): bar
        for t in bars
        for i in range(len(sessions))
        if (bar := rules.price(bars[t], sessions, i)) is not None
    }
    assert got_prices == {(t, sessions[i]): bar for (t, i), bar in at.items()}
    assert len(at) < len(bars) * len(sessions)  # some prices are undefined (too stale)

    returns = r_p(prices, as_of_frame(spark, sessions), rules.PERIODS).collect()
    got = {(r.ticker, r.as_of_date, r.period): (r.r, r.price_basis) for r in returns}
    expected = {}
    for (t, i), end in at.items():
        for p in rules.PERIODS:
            start = at.get((t, i - p)) if i >= p else None
            if start is not None:
                adjusted = start.adj_close is not None and end.adj_close is not None
                expected[(t, sessions[i], p)] = (
                    rules.simple_return(start, end),
                    "adj" if adjusted else "raw",
                )
    # the same float operations in the same order: equal to the last bit
    assert got == expected
    assert {basis for _, basis in got.values()} == {"adj", "raw"}


def test_mcap_observed_else_estimated(spark: SparkSession) -> None:
    fundamentals = spark.createDataFrame(
        [
            ("AAA", d("2026-07-01"), 1000.0, 10.0),
            ("AAA", d("2026-07-07"), 1200.0, None),
            ("BBB", d("2026-06-30"), None, 20.0),
            ("BBB", d("2026-07-07"), None, 30.0),
            ("CCC", d("2026-07-10"), None, 5.0),
            ("DDD", d("2026-07-01"), 500.0, None),
            ("FFF", d("2026-07-01"), None, 8.0),
        ],
        "ticker string, as_of_date date, market_cap double, shares_outstanding double",
    )
    quotes = spark.createDataFrame(
        [
            ("AAA", d("2026-07-06"), 10.0, "USD"),
            ("AAA", d("2026-07-08"), 10.0, "USD"),
            ("BBB", d("2026-07-06"), 7.0, "USD"),
            ("CCC", d("2026-07-06"), 3.0, None),
            ("DDD", d("2026-07-06"), 2.0, "KRW"),
            ("EEE", d("2026-07-06"), 1.0, "USD"),
            ("FFF", d("2026-07-06"), None, "USD"),
        ],
        "ticker string, as_of_date date, close double, currency string",
    )
    got = sorted(tuple(r) for r in mcap(fundamentals, quotes).collect())
    no_rate = "quoted in KRW and no USD rate for 2026-07-06: left out"
    assert got == [
        ("AAA", d("2026-07-06"), 1000.0, False, None),  # the 07-07 observation is after D
        ("AAA", d("2026-07-08"), 1200.0, False, None),
        ("BBB", d("2026-07-06"), 140.0, True, None),  # close × shares dated ≤ D
        ("CCC", d("2026-07-06"), 15.0, True, None),  # close × the earliest shares known
        ("DDD", d("2026-07-06"), None, False, no_rate),  # KRW with no FX rate: left out
        ("EEE", d("2026-07-06"), None, False, None),
        ("FFF", d("2026-07-06"), None, False, None),  # no close at D to estimate from
    ]
    fx = spark.createDataFrame(
        [("KRW", d("2026-07-06"), 0.0007), ("KRW", d("2026-07-07"), 0.5)],
        "currency string, as_of_date date, usd_per_unit double",
    )
    converted = {r.ticker: r for r in mcap(fundamentals, quotes, fx).collect()}
    assert converted["DDD"].market_cap == 500.0 * 0.0007  # that day's rate, not the next one
    assert converted["DDD"].market_cap_note is None
    assert converted["AAA"].market_cap in (1000.0, 1200.0)  # USD is never converted
