"""The backtest's pure rules: schedules, cost, drawdowns, hit rate and metrics, by hand."""

from __future__ import annotations

import math
import statistics
from datetime import date

import pytest

from trendfolio.backtest import (
    check_parameters,
    cost_factor,
    drawdowns,
    hit_rate,
    metrics,
    monthly_schedule,
    period_schedule,
)
from trendfolio.calendar import sessions_between
from trendfolio.errors import UsageError

S = sessions_between(date(2026, 3, 2), date(2026, 3, 13))  # 10 sessions


def test_period_schedule_signals_every_p_sessions_while_one_follows() -> None:
    assert [(t.signal, t.trade) for t in period_schedule(S, 5, 1)] == [(S[0], S[1]), (S[5], S[6])]
    assert [t.signal for t in period_schedule(S, 3, 1)] == [S[0], S[3], S[6]]  # S[9] is last
    assert [t.trade for t in period_schedule(S, 20, 1)] == [S[1]]
    # a trade that would fall after the last session is not made
    assert [t.trade for t in period_schedule(S[:7], 5, 2)] == [S[2]]
    assert period_schedule(S[:1], 5, 1) == []


def test_monthly_schedule_trades_after_each_month_end() -> None:
    sessions = sessions_between(date(2026, 3, 25), date(2026, 5, 1))
    trades = monthly_schedule(sessions, 1)
    assert [(t.signal, t.trade) for t in trades] == [
        (date(2026, 3, 31), date(2026, 4, 1)),
        (date(2026, 4, 30), date(2026, 5, 1)),
    ]
    # the month end that no session follows inside the range is no signal
    assert monthly_schedule(sessions_between(date(2026, 3, 25), date(2026, 3, 31)), 1) == []
    assert [t.trade for t in monthly_schedule(sessions, 2)] == [date(2026, 4, 2)]


def test_cost_and_parameter_checks() -> None:
    assert cost_factor(1.5, 10) == pytest.approx(1 - 0.0015)
    assert cost_factor(0.0, 10) == 1.0
    check_parameters(S, 0.0, 1)
    for sessions, cost, lag in ((S[:1], 10.0, 1), (S, -1.0, 1), (S, math.nan, 1), (S, 10.0, 0)):
        with pytest.raises(UsageError):
            check_parameters(sessions, cost, lag)


def test_drawdowns_from_the_running_peak() -> None:
    assert drawdowns([1.0, 1.2, 0.9, 1.3, 1.04]) == pytest.approx([0, 0, -0.25, 0, -0.2])


def test_hit_rate_counts_periods_that_beat_the_benchmark() -> None:
    pre = [1.0, 1.1, 1.0, 1.3, 1.2]
    spy = [1.0, 1.05, 1.1, 1.1, 1.3]
    # periods [0, 2] (0.0 vs 0.1: lost), [2, 4] (0.2 vs 0.1818: beat)
    assert hit_rate(pre, spy, [0, 2]) == 0.5
    # a trade on the last session opens no period
    assert hit_rate(pre, spy, [0, 4]) == 0.0  # [0, 4]: 0.2 vs 0.3
    assert hit_rate(pre, spy, []) is None


def test_metrics_by_hand() -> None:
    equity = [1.0, 1.1, 0.99, 1.089]
    rets = [0.1, -0.1, 0.1]
    m = metrics(equity, [1.0], [0], [1.0, 1.0, 1.0, 1.0], 10)
    assert m.total_return == pytest.approx(0.089)
    assert m.cagr == pytest.approx(1.089 ** (252 / 3) - 1)
    assert m.volatility == pytest.approx(statistics.stdev(rets) * math.sqrt(252))
    assert m.sharpe == pytest.approx(statistics.fmean(rets) / statistics.stdev(rets)
                                     * math.sqrt(252))
    assert m.max_drawdown == pytest.approx(0.99 / 1.1 - 1)
    assert m.turnover_per_year == pytest.approx(252 / 3)
    assert m.trades == 1
    # one period from S[0] on the equity before the cost (1 / 0.999) to the end, against 0
    assert m.hit_rate == 1.0
    flat = metrics([1.0, 1.0, 1.0], [], [], None, 10)
    assert flat.sharpe is None and flat.volatility == 0.0 and flat.hit_rate is None
