"""The rules stated once in ``trendfolio.rules``: orderings, top by weight, the price rule."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from trendfolio import calendar, rules
from trendfolio.rules import Bar, Key, Ranking
from trendfolio.sources.base import Holding


def _value(row: dict[str, Any], field: str) -> Any:
    return row[field]


def test_a_ranking_orders_key_by_key_with_missing_values_last() -> None:
    order = Ranking("test", (Key("r", descending=True), Key("cap", descending=True), Key("t")))
    rows = [
        {"t": "B", "r": 0.1, "cap": 5.0},
        {"t": "A", "r": 0.1, "cap": 5.0},
        {"t": "C", "r": 0.1, "cap": 9.0},
        {"t": "D", "r": None, "cap": 9.0},
        {"t": "E", "r": math.nan, "cap": 1.0},
        {"t": "F", "r": 0.3, "cap": None},
    ]
    assert [r["t"] for r in order.apply(rows, _value)] == ["F", "C", "A", "B", "D", "E"]
    assert min(rows, key=order.sort_key(_value))["t"] == "F"


def test_keep_cuts_after_ordering() -> None:
    rows = [{"holding_percent": w, "holding_ticker": t}
            for t, w in [("A", 0.01), ("B", 0.2), ("C", 0.2), *((f"Z{i}", 0.001) for i in range(20))]]
    top = rules.TOP_BY_WEIGHT.apply(rows, _value)
    assert len(top) == 10
    assert [r["holding_ticker"] for r in top[:4]] == ["B", "C", "A", "Z0"]


def test_top_by_weight_reads_holdings_by_attribute() -> None:
    holdings = [Holding("MSFT", None, 0.05), Holding("AAPL", None, 0.05), Holding("NVDA", None, 0.07),
                *(Holding(f"T{i:02d}", None, 0.01) for i in range(12))]
    top = rules.top_by_weight(holdings)
    assert [h.holding for h in top[:3]] == ["NVDA", "AAPL", "MSFT"]
    assert len(top) == 10 and top[-1].holding == "T06"


def test_price_is_the_latest_bar_at_most_three_sessions_old() -> None:
    sessions = calendar.sessions_between(date(2026, 8, 3), date(2026, 8, 14))
    bars = {sessions[1]: Bar(10.0, 9.5)}
    assert rules.price(bars, sessions, 0) is None  # before the first bar
    assert [rules.price(bars, sessions, i) for i in (1, 2, 3, 4)] == [Bar(10.0, 9.5)] * 4
    assert rules.price(bars, sessions, 5) is None  # four sessions stale
    assert rules.MAX_STALE_SESSIONS == 3


def test_a_return_uses_adjusted_closes_only_when_both_ends_have_one() -> None:
    assert rules.simple_return(Bar(100.0, 50.0), Bar(110.0, 60.0)) == 60.0 / 50.0 - 1
    assert rules.simple_return(Bar(100.0, None), Bar(110.0, 60.0)) == 110.0 / 100.0 - 1
    assert rules.simple_return(Bar(100.0, 50.0), Bar(110.0, None)) == 110.0 / 100.0 - 1


def test_the_periods_and_the_trend_period() -> None:
    assert rules.PERIODS == (5, 10, 20)
    assert rules.TREND_PERIOD in rules.PERIODS
