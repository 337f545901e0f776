"""The cumulative-return arithmetic behind /dashboard/monthly-vs-spy (pure, no database)."""

from __future__ import annotations

from datetime import date

import pytest

from trendfolio_api.performance import Bar, cumulative_returns, price_at, simple_return

S = [date(2026, 7, d) for d in (27, 28, 29, 30, 31)] + [date(2026, 8, d) for d in (3, 4, 5)]


def test_adjusted_close_only_when_both_ends_have_it() -> None:
    assert simple_return(Bar(100, 50), Bar(110, 60)) == pytest.approx(0.2)
    assert simple_return(Bar(100, None), Bar(110, 60)) == pytest.approx(0.1)
    assert simple_return(Bar(100, 50), Bar(110, None)) == pytest.approx(0.1)


def test_a_price_may_be_at_most_three_sessions_old() -> None:
    bars = {S[0]: Bar(1, None)}
    assert price_at(bars, S, 3) == Bar(1, None)
    assert price_at(bars, S, 4) is None


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
