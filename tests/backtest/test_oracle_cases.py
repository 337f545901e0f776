"""The oracle itself, on cases small enough to work out by hand (numbers in the comments).

If the oracle were wrong, the comparison with ``trendfolio backtest`` would prove nothing: these
cases pin its reading of each rule (drift, a gap, adjusted vs plain closes, a cost, an empty
portfolio, the lag, the schedules and every metric) to figures computed on paper.
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from tests.backtest.oracle import (
    Bar,
    Bars,
    Curve,
    Inputs,
    benchmark_curve,
    load_inputs,
    metrics,
    monthly_signals,
    period_signals,
    run,
    simulate,
)

# five sessions, Monday 2026-01-05 to Friday 2026-01-09; a bar of 2026-01-02 lies before them
D = [date(2026, 1, d) for d in (5, 6, 7, 8, 9)]
BEFORE = date(2026, 1, 2)
ROOT_252 = math.sqrt(252)


def bars(*rows: tuple[date, float] | tuple[date, float, float]) -> Bars:
    return Bars({r[0]: Bar(r[1], r[2] if len(r) == 3 else None) for r in rows})


# A: 100, 110, 121, 99, 99. B: 50, 50, (no bar), 55, 60.5 (a gap on D[2]).
A = bars((D[0], 100), (D[1], 110), (D[2], 121), (D[3], 99), (D[4], 99))
B = bars((D[0], 50), (D[1], 50), (D[3], 55), (D[4], 60.5))
# SPY: flat, then −1 % on D[3], then +9.95 % on D[4] (99 → 108.8505)
SPY = bars((D[0], 100), (D[1], 100), (D[2], 100), (D[3], 99), (D[4], 108.8505))


def two_trade_curve() -> Curve:
    """Buy A and B half each at D[1]'s close, switch to all B at D[3]'s close, 10 bps."""
    return simulate(D, {1: {"A": 0.5, "B": 0.5}, 3: {"B": 1.0}}, {"A": A, "B": B}, 10.0)


def test_day_return_uses_adjusted_closes_only_when_both_bars_have_one() -> None:
    c = bars(
        (D[0], 100, 50),  # close 100, adjusted 50
        (D[1], 100, 55),  # both adjusted: 55 / 50 − 1 = +10 % (the closes say 0 %)
        (D[2], 110),  # no adjusted close today: 110 / 100 − 1 = +10 % from the closes
        (D[3], 121, 60),  # yesterday had none: 121 / 110 − 1 = +10 % (adjusted would be 60/55)
    )
    assert c.day_return(D[1]) == pytest.approx(0.10, abs=1e-15)
    assert c.day_return(D[2]) == pytest.approx(0.10, abs=1e-15)
    assert c.day_return(D[3]) == pytest.approx(0.10, abs=1e-15)
    assert c.day_return(D[4]) == 0.0  # no bar


def test_a_gap_returns_zero_then_measures_from_the_last_bar_before_it() -> None:
    assert B.day_return(D[2]) == 0.0
    assert B.day_return(D[3]) == pytest.approx(55 / 50 - 1)  # from D[1], not 0
    # the last bar before the gap may predate the backtest: 40 on 2026-01-02, 44 on D[2]
    z = bars((BEFORE, 40), (D[2], 44))
    assert z.day_return(D[0]) == 0.0
    assert z.day_return(D[2]) == pytest.approx(0.10)
    # no bar at all before: nothing to measure from
    assert bars((D[2], 44)).day_return(D[2]) == 0.0


def test_drift_gap_and_costs_by_hand() -> None:
    curve = two_trade_curve()
    # D[0]: cash, equity 1.
    # D[1]: no holdings, R = 0; trade to A ½, B ½: turnover 1 → equity 1 × (1 − 0.001) = 0.999.
    # D[2]: rA = 121/110 − 1 = 0.1, rB = 0 (no bar) → R = 0.05, equity 0.999 × 1.05 = 1.04895;
    #       weights drift to A 0.55/1.05 = 11/21, B 0.5/1.05 = 10/21.
    # D[3]: rA = 99/121 − 1 = −2/11, rB = 55/50 − 1 = 1/10 (from D[1]'s bar, across the gap)
    #       → R = 11/21 × −2/11 + 10/21 × 1/10 = −1/21, equity 1.04895 × 20/21 = 0.999;
    #       weights A 11/21 × 9/11 ÷ 20/21 = 0.45, B 10/21 × 11/10 ÷ 20/21 = 0.55.
    #       Trade to B 1: turnover |0 − 0.45| + |1 − 0.55| = 0.9 → × (1 − 0.0009):
    #       0.999 × 0.9991 = 0.9981009.
    # D[4]: rB = 60.5/55 − 1 = 0.1 → 0.9981009 × 1.1 = 1.09791099.
    expected = [1.0, 0.999, 1.04895, 0.9981009, 1.09791099]
    assert curve.equity == pytest.approx(expected, abs=1e-12)
    assert curve.pre_trade == pytest.approx([1.0, 1.0, 1.04895, 0.999, 1.09791099], abs=1e-12)
    assert [i for i, _ in curve.trades] == [1, 3]
    assert [t for _, t in curve.trades] == pytest.approx([1.0, 0.9], abs=1e-12)


def test_an_empty_portfolio_sells_everything_and_counts_as_a_trade() -> None:
    # 20 bps. D[0]: buy A ½: turnover 0.5 → 1 − 0.5 × 0.002 = 0.999.
    # D[1]: rA = +10 %, R = 0.05 → 0.999 × 1.05 = 1.04895; A drifts to 0.55 / 1.05 = 11/21.
    # D[2]: rA = 121/110 − 1 = +10 %, R = 11/210 → 1.04895 × 221/210 = 1.103895; A drifts to
    #       (11/21 × 1.1) / (221/210) = 121/221. Trade into cash: turnover 121/221 →
    #       1.103895 × (1 − 121/221 × 0.002) = 1.10268621; then flat although A keeps moving.
    curve = simulate(D, {0: {"A": 0.5}, 2: {}}, {"A": A}, 20.0)
    after = 1.10268621
    assert curve.equity == pytest.approx([0.999, 1.04895, after, after, after], abs=1e-12)
    assert curve.trades[1][0] == 2
    assert curve.trades[1][1] == pytest.approx(121 / 221)
    m = metrics(curve, benchmark_curve(D, SPY))
    assert m["trades"] == 2


def test_benchmark_is_buy_and_hold_without_cost() -> None:
    spy = benchmark_curve(D, SPY)
    # 100, 100, 100, 99, 108.8505 → 1, 1, 1, 0.99, 1.088505
    assert spy.equity == pytest.approx([1, 1, 1, 0.99, 1.088505], abs=1e-12)
    m = metrics(spy, None)
    assert m["trades"] == 1
    assert m["hit_rate"] is None
    assert m["turnover_per_year"] == pytest.approx(252 / 4)  # one buy of turnover 1, 4 days
    assert m["total_return"] == pytest.approx(0.088505)
    assert m["max_drawdown"] == pytest.approx(-0.01)


def test_metrics_by_hand() -> None:
    # daily returns +10 %, −10 %, +10 %: mean 1/30; deviations 1/15, −2/15, 1/15;
    # sum of squares 6/225, sample variance 3/225 = 1/75, stdev 0.115470054;
    # volatility 0.115470054 × √252 = 1.833030278; Sharpe (1/30)/0.115470054 × √252 = 4.582575695
    curve = Curve(
        equity=[1.0, 1.1, 0.99, 1.089],
        pre_trade=[1.0, 1.1, 0.99, 1.089],
        trades=[(0, 0.6), (2, 0.9)],
    )
    m = metrics(curve, None)
    assert m["total_return"] == pytest.approx(0.089, abs=1e-12)
    assert m["cagr"] == pytest.approx(1.089 ** (252 / 3) - 1, rel=1e-12)
    assert m["volatility"] == pytest.approx(1.833030278, abs=1e-9)
    assert m["sharpe"] == pytest.approx(4.582575695, abs=1e-9)
    assert m["max_drawdown"] == pytest.approx(0.99 / 1.1 - 1, abs=1e-12)  # −0.1
    assert m["turnover_per_year"] == pytest.approx(1.5 * 252 / 3)  # 126
    assert m["trades"] == 2


def test_hit_rate_periods_bear_the_cost_of_the_trade_that_opened_them() -> None:
    curve = two_trade_curve()
    spy = benchmark_curve(D, SPY)
    # period 1: D[1] → D[3] on equity before each close's cost: 0.999 / 1 − 1 = −0.001 (its
    #   opening cost) against SPY 0.99 / 1 − 1 = −0.01 → beaten.
    # period 2: D[3] → D[4]: 1.09791099 / 0.999 − 1 = 0.9991 × 1.1 − 1 = 0.09901 against SPY
    #   108.8505 / 99 − 1 = 0.0995 → not beaten (it would be, at +10 %, without the opening
    #   trade's 9 bps). Hit rate 1/2.
    m = metrics(curve, spy)
    assert m["hit_rate"] == 0.5
    # the drawdown: peak 1.04895 at D[2], then 0.9981009 → 0.9981009 / 1.04895 − 1 = −0.0484762
    assert m["max_drawdown"] == pytest.approx(0.9991 / 1.05 - 1, abs=1e-12)


def test_zero_length_period_is_not_counted() -> None:
    # a trade at the last session opens a period of no session: only D[1] → D[4] counts:
    # 1 (A, B ½) ... pre-trade equity at D[4] = 0.999 × 1.05 × 20/21 × (A 0.45 × 0 + B 0.55 ×
    # 0.1 = 1.055) = 1.053945 → +5.3945 % against SPY +8.8505 % → 0 of 1.
    curve = simulate(D, {1: {"A": 0.5, "B": 0.5}, 4: {}}, {"A": A, "B": B}, 10.0)
    assert curve.pre_trade[4] == pytest.approx(1.053945, abs=1e-12)
    assert metrics(curve, benchmark_curve(D, SPY))["hit_rate"] == 0.0


def test_schedules() -> None:
    # signals at S[0], S[P], … with index ≤ n − 2
    assert period_signals(12, 5) == [0, 5, 10]
    assert period_signals(11, 5) == [0, 5]  # S[10] is the last session: nothing follows
    assert period_signals(2, 20) == [0]
    # the month's last session in S, when another session follows
    s = [
        date(2026, 4, 29),
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 5, 29),
        date(2026, 6, 1),
    ]
    assert monthly_signals(s) == [1, 3]
    assert monthly_signals(s[:4]) == [1]  # 2026-05-29 is last in S: nothing follows


# Eight sessions across a month end (no holidays): 04-27 … 04-30, 05-01, 05-04, 05-05, 05-06.
S8 = [date(2026, 4, d) for d in (27, 28, 29, 30)] + [date(2026, 5, d) for d in (1, 4, 5, 6)]


def inputs8() -> Inputs:
    a = Bars({d: Bar(110.0 if i >= 5 else 100.0) for i, d in enumerate(S8)})  # +10 % on 05-04
    spy = Bars({d: Bar(102.0 if i >= 6 else 100.0) for i, d in enumerate(S8)})  # +2 % on 05-05
    return Inputs(
        sessions=S8,
        period_portfolios={(S8[0], 5): {"A": 1.0}, (S8[0], 10): {"A": 0.5}},
        # no 20-day rows on 04-27 and no 5-day rows on 05-04: empty portfolios
        monthly_portfolios={S8[3]: {"A": 1.0}},
        prices={"A": a},
        spy=spy,
    )


def test_run_lag_1() -> None:
    out = run(inputs8(), cost_bps=10.0, lag=1)
    st, eq = out["strategies"], out["equity"]
    # 5d: signals 0 and 5, trades at 1 (A 1, equity 0.999) and 6 (cash, turnover 1);
    #   05-04 +10 %: 1.0989; 05-05: 1.0989 × 0.999 = 1.0978011, then flat.
    assert [e["5d"] for e in eq] == pytest.approx(
        [1, 0.999, 0.999, 0.999, 0.999, 1.0989, 1.0978011, 1.0978011], abs=1e-12
    )
    assert st["5d"]["trades"] == 2
    assert st["5d"]["turnover_per_year"] == pytest.approx(2 * 252 / 7)
    assert st["5d"]["max_drawdown"] == pytest.approx(-0.001, abs=1e-12)
    # periods 1→6: +9.89 % vs SPY +2 % (beaten); 6→7: −0.1 % vs 0 % → 1/2
    assert st["5d"]["hit_rate"] == 0.5
    # 10d: one trade at 1 (A ½, turnover 0.5): 0.9995, then R = 0.05 → 1.049475
    assert eq[-1]["10d"] == pytest.approx(1.049475, abs=1e-12)
    assert st["10d"]["trades"] == 1
    assert st["10d"]["hit_rate"] == 1.0  # +4.9475 % vs +2 %
    # 20d: a trade into an empty portfolio (turnover 0): flat at 1, volatility 0, no Sharpe
    assert [e["20d"] for e in eq] == [1.0] * 8
    assert st["20d"]["trades"] == 1
    assert st["20d"]["volatility"] == 0.0
    assert st["20d"]["sharpe"] is None
    assert st["20d"]["hit_rate"] == 0.0  # 0 % vs +2 %
    # monthly: signal 04-30, bought at 05-01's close (0.999), 05-04 +10 % → 1.0989
    assert eq[-1]["monthly"] == pytest.approx(1.0989, abs=1e-12)
    assert eq[4]["monthly"] == pytest.approx(0.999, abs=1e-12)
    assert st["monthly"]["trades"] == 1
    assert st["SPY"]["total_return"] == pytest.approx(0.02)
    assert [e["date"] for e in eq] == [d.isoformat() for d in S8]


def test_run_lag_pushes_trades_later_or_off_the_end() -> None:
    out = run(inputs8(), cost_bps=10.0, lag=2)
    eq = out["equity"]
    # monthly traded at 05-04's close, after A's jump: it only pays the cost
    assert eq[-1]["monthly"] == pytest.approx(0.999, abs=1e-12)
    # 5d: bought at 04-29 (index 2), sold at 05-06 (index 7)
    assert eq[1]["5d"] == 1.0 and eq[2]["5d"] == pytest.approx(0.999)
    assert out["strategies"]["5d"]["trades"] == 2
    out3 = run(inputs8(), cost_bps=10.0, lag=3)
    # the 5-day signal of 05-04 would trade at index 8: past the end, not made
    assert out3["strategies"]["5d"]["trades"] == 1
    assert out3["equity"][-1]["5d"] == pytest.approx(1.0989, abs=1e-12)


async def test_load_inputs_reads_the_tables(db_url: str) -> None:
    """Portfolios and bars as the pipeline stores them: the stock bars of a held ticker (also
    one before the range), SPY from the ETF bars, and the rules' result on them."""
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        await conn.executemany(
            "INSERT INTO collected_06_daily_stock_history (ticker, trade_date, close_price,"
            " adj_close) VALUES ($1, $2, $3, $4)",
            [
                ("AAA", BEFORE, 40.0, None),
                ("AAA", D[2], 44.0, None),
                ("AAA", D[4], 48.4, 1.0),
                ("BBB", D[0], 10.0, None),
            ],
        )
        await conn.executemany(
            "INSERT INTO collected_01_daily_etf_ohlc (ticker, trade_date, close_price, adj_close)"
            " VALUES ($1, $2, $3, $4)",
            [("SPY", d, 100.0 + i, None) for i, d in enumerate(D)],
        )
        await conn.executemany(
            "INSERT INTO analytics_05_portfolio_allocation (as_of_date, ticker, rank,"
            " portfolio_weight, period_days, etf_ticker) VALUES ($1, $2, 1, $3, $4, 'XLK')",
            [(D[0], "AAA", 1.0, 5), (D[0], "BBB", 0.25, 10), (D[0], "AAA", 0.75, 10)],
        )
        await conn.execute(
            "INSERT INTO analytics_08_monthly_portfolio (ticker, final_rank, final_weight, score,"
            " rebalance_date, valid_until) VALUES ('AAA', 1, 1.0, 1.0, $1, $2)",
            D[1],
            D[4],
        )
    finally:
        await conn.close()
    inputs = load_inputs(db_url, D[0], D[4])
    assert inputs.sessions == D
    assert inputs.period_portfolios == {
        (D[0], 5): {"AAA": 1.0},
        (D[0], 10): {"BBB": 0.25, "AAA": 0.75},
    }
    assert inputs.monthly_portfolios == {D[1]: {"AAA": 1.0}}
    assert set(inputs.prices) == {"AAA", "BBB"}
    out = run(inputs, cost_bps=0.0, lag=1)
    # 5d: AAA bought at D[1]'s close without a bar that day; D[2]: 44 / 40 (the bar of
    # 2026-01-02) − 1 = +10 %; D[4]: 48.4 / 44 − 1 = +10 % (closes: D[2] has no adjusted close)
    assert [e["5d"] for e in out["equity"]] == pytest.approx([1, 1, 1.1, 1.1, 1.21], abs=1e-12)
    assert out["strategies"]["SPY"]["total_return"] == pytest.approx(0.04)
