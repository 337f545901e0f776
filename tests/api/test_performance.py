"""The chart arithmetic behind /dashboard/monthly-vs-spy (pure, no database)."""

from __future__ import annotations

from datetime import date

import pytest

from trendfolio.rules import Bar, price, simple_return
from trendfolio_api.performance import bars_by_ticker, chart_window, cumulative_returns

S = [date(2026, 7, d) for d in (27, 28, 29, 30, 31)] + [date(2026, 8, d) for d in (3, 4, 5)]


# The chart's prices are SPEC §1's rule, which these two pin down for it.
def test_adjusted_close_only_when_both_ends_have_it() -> None:
    assert simple_return(Bar(100, 50), Bar(110, 60)) == pytest.approx(0.2)
    assert simple_return(Bar(100, None), Bar(110, 60)) == pytest.approx(0.1)
    assert simple_return(Bar(100, 50), Bar(110, None)) == pytest.approx(0.1)


def test_a_price_may_be_at_most_three_sessions_old() -> None:
    bars = {S[0]: Bar(1, None)}
    assert price(bars, S, 3) == Bar(1, None)
    assert price(bars, S, 4) is None


def test_weighted_cumulative_return_renormalises_over_priced_stocks() -> None:
    bars = {
        "A": {S[4]: Bar(100, None), S[5]: Bar(110, None), S[6]: Bar(120, None)},
        "B": {S[4]: Bar(50, None), S[5]: Bar(40, None)},  # no bar after S[5]: stale, still priced
        "C": {S[5]: Bar(10, None)},  # no base price: left out
    }
    out = cumulative_returns({"A": 0.5, "B": 0.25, "C": 0.25}, bars, S, base=4)
    assert out[0] == 0
    assert out[1] == pytest.approx(100 * (0.5 * 0.1 + 0.25 * -0.2) / 0.75)
    assert out[2] == pytest.approx(100 * (0.5 * 0.2 + 0.25 * -0.2) / 0.75)
    assert out[3] == pytest.approx(100 * (0.5 * 0.2 + 0.25 * -0.2) / 0.75)  # A's bar is 1 old


def test_no_priced_stock_gives_none() -> None:
    assert cumulative_returns({"A": 1.0}, {}, S, base=4) == [None, None, None, None]


def test_the_window_keeps_three_sessions_before_the_rebalance_for_a_stale_base() -> None:
    w = chart_window(date(2026, 7, 31), date(2026, 8, 31), last_bar=date(2026, 8, 5))
    assert w.sessions == S[1:]  # 2026-07-28 .. 2026-08-05
    assert w.sessions[w.base] == date(2026, 7, 31) and w.base == 3
    assert (w.start, w.valid_until, w.end) == (date(2026, 7, 31), date(2026, 8, 31), S[-1])


def test_the_window_ends_at_valid_until_or_the_last_bar_and_never_before_the_rebalance() -> None:
    assert chart_window(date(2026, 7, 31), date(2026, 8, 4), date(2026, 8, 20)).end == S[-2]
    assert chart_window(date(2026, 7, 31), date(2026, 8, 31), None).end == date(2026, 7, 31)
    assert chart_window(date(2026, 7, 31), date(2026, 8, 31), S[0]).end == date(2026, 7, 31)


def test_a_rebalance_date_without_a_session_gives_an_empty_window() -> None:
    w = chart_window(date(2026, 8, 1), date(2026, 8, 31), date(2026, 8, 1))  # a Saturday
    assert (w.sessions, w.end) == ([], date(2026, 8, 1))


def test_bars_by_ticker_reads_closes_and_keeps_a_missing_adjusted_close() -> None:
    rows = [
        {"ticker": "A", "trade_date": S[0], "close_price": 10, "adj_close": None},
        {"ticker": "A", "trade_date": S[1], "close_price": 11.5, "adj_close": 11},
        {"ticker": "B", "trade_date": S[0], "close_price": 3, "adj_close": 2.5},
    ]
    assert bars_by_ticker(rows) == {
        "A": {S[0]: Bar(10.0, None), S[1]: Bar(11.5, 11.0)}, "B": {S[0]: Bar(3.0, 2.5)}}
