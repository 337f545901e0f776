"""The backtest's Spark job on a hand-computed market: drift, a gap, adjusted and raw closes mixed,
turnover against drifted weights, costs, an empty portfolio, SPY and the pick leg."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date

import pytest

from tests.support.jobs import Db
from trendfolio.backtest import metrics
from trendfolio.calendar import sessions_between
from trendfolio.pipeline import StageContext
from trendfolio.universe import Universe
from trendfolio_jobs.backtest import run_backtest

pytestmark = pytest.mark.spark

S = sessions_between(date(2026, 3, 2), date(2026, 3, 13))  # 10 sessions, S[0] .. S[9]
BEFORE = date(2026, 2, 27)  # the session before S[0]
COST = 10.0  # bps

AAA = [10, 11, 11, 12, 12, 13, 13, 12, 12, 12]
# BBB: (close, adj) per session; no bar on S[2]; no adjusted close on S[3]
BBB: dict[int, tuple[float, float | None]] = {
    0: (21.0, 20.0), 1: (23.0, 22.0), 3: (25.3, None), 4: (25.0, 24.0), 5: (27.0, 26.0),
    6: (27.0, 26.0), 7: (27.0, 26.0), 8: (27.0, 26.0), 9: (27.0, 26.0),
}
CCC = [50, 50, 50, 50, 50, 50, 50, 55, 55, 60]
SPY = [100, 101, 102, 101, 103, 104, 105, 104, 106, 107]
XLK = [50, 50, 50, 50, 50, 55, 55, 55, 55, 55]
XLF = [30] * 10


async def _market(db: Db) -> None:
    stock_rows: list[tuple[object, ...]] = [("AAA", BEFORE, 10.0, None)]
    stock_rows += [("AAA", S[j], float(p), None) for j, p in enumerate(AAA)]
    stock_rows += [("BBB", S[j], c, a) for j, (c, a) in BBB.items()]
    stock_rows += [("CCC", S[j], float(p), None) for j, p in enumerate(CCC)]
    await db.insert("collected_06_daily_stock_history",
                    ("ticker", "trade_date", "close_price", "adj_close"), stock_rows)
    etf_rows = [
        (t, S[j], float(p), None)
        for t, series in (("SPY", SPY), ("XLK", XLK), ("XLF", XLF))
        for j, p in enumerate(series)
    ]
    await db.insert("collected_01_daily_etf_ohlc",
                    ("ticker", "trade_date", "close_price", "adj_close"), etf_rows)
    alloc = [
        # 5-day: signals S[0] (traded S[1]) and S[5] (traded S[6])
        (S[0], "AAA", 5, 0.6, 1, "XLK"),
        (S[0], "BBB", 5, 0.4, 2, "XLF"),
        (S[5], "AAA", 5, 0.5, 1, "XLK"),
        (S[5], "CCC", 5, 0.5, 2, "XLF"),
        # 10-day: one signal, S[0]; the 20-day portfolio of S[0] is empty (all cash)
        (S[0], "AAA", 10, 1.0, 1, "XLK"),
    ]
    await db.insert(
        "analytics_05_portfolio_allocation",
        ("as_of_date", "ticker", "period_days", "portfolio_weight", "rank", "etf_ticker"),
        alloc,
    )


async def test_hand_computed_curves(
    stage_context: Callable[[Universe], StageContext], small_universe: Universe, db: Db
) -> None:
    await _market(db)
    result = run_backtest(stage_context(small_universe), S[0], S[-1], COST, 1)
    keep = 1 - COST / 10_000
    assert [t.trade for t in result.schedules["5d"]] == [S[1], S[6]]
    assert [t.trade for t in result.schedules["10d"]] == [S[1]]
    assert result.schedules["monthly"] == []

    # 10-day: cash on S[0], all in AAA at S[1]'s close (turnover 1), then AAA's closes
    ten = result.curves["10d"]
    expected_10 = [1.0] + [keep * AAA[j] / 11 for j in range(1, 10)]
    assert ten.equity == pytest.approx(expected_10, rel=1e-12)
    assert ten.turnovers == pytest.approx([1.0])

    # 5-day: 0.6 AAA + 0.4 BBB from S[1]; BBB: gap on S[2] (0), S[3] on closes 25.3/23
    # (no adjusted close there), S[4] on closes 25/25.3, S[5] on adjusted 26/24, S[6] flat.
    g_a = [AAA[j] / 11 for j in range(10)]
    g_b = {1: 1.0, 2: 1.0, 3: 25.3 / 23, 4: 25.3 / 23 * 25 / 25.3}
    g_b[5] = g_b[4] * 26 / 24
    g_b[6] = g_b[5]
    five = result.curves["5d"]
    for j in range(1, 7):
        v = 0.6 * g_a[j] + 0.4 * g_b[j]
        pre = keep * v
        if j < 6:
            assert five.equity[j] == pytest.approx(pre, rel=1e-12), j
    v6 = 0.6 * g_a[6] + 0.4 * g_b[6]
    h_a, h_b = 0.6 * g_a[6] / v6, 0.4 * g_b[6] / v6
    turnover = abs(0.5 - h_a) + h_b + 0.5  # AAA to 0.5, BBB sold, CCC 0.5 bought
    assert five.turnovers == pytest.approx([1.0, turnover], rel=1e-12)
    after6 = keep * v6 * (1 - turnover * COST / 10_000)
    assert five.equity[6] == pytest.approx(after6, rel=1e-12)
    for j in (7, 8, 9):
        v = 0.5 * AAA[j] / 13 + 0.5 * CCC[j] / 50
        assert five.equity[j] == pytest.approx(after6 * v, rel=1e-12), j

    # 20-day: a trade into an empty portfolio: cash all along, no cost
    twenty = result.curves["20d"]
    assert twenty.equity == [1.0] * 10 and twenty.turnovers == [0.0]

    # SPY bought at S[0]'s close, no cost
    assert result.curves["SPY"].equity == pytest.approx([p / 100 for p in SPY], rel=1e-12)

    # metrics: hit rate over the 5-day periods [S1, S6] and [S6, S9] against SPY
    spy = result.curves["SPY"].equity
    m = metrics(five.equity, five.turnovers, five.trade_idx, spy, COST)
    first = (keep * v6) / 1.0 - 1  # pre-trade equity at S[6] over pre-trade equity at S[1]
    second = five.equity[9] / (keep * v6) - 1
    beats = (first > SPY[6] / SPY[1] - 1) + (second > SPY[9] / SPY[6] - 1)
    assert m.hit_rate == pytest.approx(beats / 2)
    assert m.total_return == pytest.approx(five.equity[9] - 1, rel=1e-12)
    assert m.trades == 2
    assert m.turnover_per_year == pytest.approx((1 + turnover) * 252 / 9)

    # pick leg: only S[0]'s picks have 5 sessions ahead; AAA +30% vs XLK +10%, BBB vs XLF 0
    legs = {(p["period_days"], p["horizon"]): p for p in result.picks}
    assert set(legs) == {(5, 5), (10, 5)}
    g_b5 = 22 / 20 * g_b[5]
    assert legs[(5, 5)]["picks"] == 2
    assert legs[(5, 5)]["mean_pick_return"] == pytest.approx((0.3 + g_b5 - 1) / 2, rel=1e-12)
    assert legs[(5, 5)]["mean_etf_return"] == pytest.approx(0.05, rel=1e-12)
    assert legs[(10, 5)]["mean_excess"] == pytest.approx(0.2, rel=1e-12)
    assert legs[(10, 5)]["beat_etf_share"] == 1.0
    assert math.isclose(legs[(5, 5)]["beat_etf_share"], 0.5 + 0.5 * (g_b5 > 1))


async def test_lag_and_cost(
    stage_context: Callable[[Universe], StageContext], small_universe: Universe, db: Db
) -> None:
    """Lag 2 trades two sessions after each signal; a 25 bps cost takes 25 bps of turnover."""
    await _market(db)
    result = run_backtest(stage_context(small_universe), S[0], S[-1], 25.0, 2)
    assert [t.trade for t in result.schedules["5d"]] == [S[2], S[7]]
    ten = result.curves["10d"]
    keep = 1 - 25.0 / 10_000
    assert ten.equity[:2] == [1.0, 1.0]
    assert ten.equity[2:] == pytest.approx([keep * AAA[j] / 11 for j in range(2, 10)], rel=1e-12)
