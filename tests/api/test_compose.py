"""The pure half of the endpoints (``trendfolio_api.compose``): rows in, response models out.

Rows are plain dicts shaped like the query results; every expected value is written out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from trendfolio_api import compose
from trendfolio_api.performance import chart_window

D = date(2026, 8, 20)
CREATED = datetime(2026, 8, 20, 22, 0, tzinfo=UTC)


def etf(ticker: str, etf_type: str, ret: float | None, trending: bool = False) -> dict[str, Any]:
    return {"etf_ticker": ticker, "etf_name": f"{ticker} fund", "etf_type": etf_type,
            "sector_name": None if etf_type == "benchmark" else "Technology",
            "return_pct": ret, "spy_return_pct": 1.0, "rank": None, "is_trending": trending,
            "close_price": 100.0}


def holding(etf_ticker: str, ticker: str, rank: int, mcap: int | None) -> dict[str, Any]:
    return {"etf_ticker": etf_ticker, "holding_ticker": ticker, "holding_name": ticker.lower(),
            "market_cap": mcap, "total_return": 10.0 - rank, "rank_position": rank,
            "as_of_date": date(2026, 8, 19)}


def pick(ticker: str, etf_ticker: str, ret: float, mcap: int, weight: float) -> dict[str, Any]:
    return {"ticker": ticker, "etf_ticker": etf_ticker, "company_name": f"{ticker} Inc",
            "return_pct": ret, "market_cap": mcap, "portfolio_weight": weight}


# ------------------------------------------------------------------------------ ETF cards


def test_cards_show_benchmarks_first_then_by_return_and_only_trending_or_picked_sectors() -> None:
    etfs = [
        etf("XLK", "sector", 5.0, trending=True),
        etf("XLE", "sector", 9.0),  # neither trending nor picked from: no card
        etf("XLF", "sector", 2.0),  # not trending over this period, but the portfolio picked
        etf("SPY", "benchmark", 1.0),
        etf("QQQ", "both", 3.0),
        etf("DIA", "benchmark", None),  # no return: last of the benchmarks
        etf("IWM", "benchmark", 3.0),  # ties QQQ: by ticker
    ]
    cards = compose.etf_cards(D, 20, etfs, [], [pick("JPM", "XLF", 4.0, 10**12, 1.0)])
    assert [c.etf_ticker for c in cards.etfs] == ["IWM", "QQQ", "SPY", "DIA", "XLK", "XLF"]
    assert [c.is_benchmark for c in cards.etfs] == [True] * 4 + [False] * 2
    assert (cards.period_days, cards.as_of_date) == (20, D)


def test_a_card_stars_its_pick_and_ranks_its_holdings_by_market_cap() -> None:
    holdings = [holding("XLK", "AAPL", 1, 3 * 10**12), holding("XLK", "NVDA", 2, 4 * 10**12),
                holding("XLK", "CRM", 3, None), holding("XLK", "ADBE", 4, 3 * 10**12)]
    card = compose.etf_card(etf("XLK", "sector", 5.0, True), holdings,
                            pick("NVDA", "XLK", 8.0, 4 * 10**12, 0.5))
    assert card.pick_ticker == "NVDA" and card.holdings_as_of_date == date(2026, 8, 19)
    got = [(h.holding_ticker, h.rank_position, h.mcap_rank, h.is_pick) for h in card.holdings]
    # market cap, largest first (ties: ticker), a missing one last
    assert got == [("AAPL", 1, 2, False), ("NVDA", 2, 1, True), ("CRM", 3, 4, False),
                   ("ADBE", 4, 3, False)]
    assert card.holdings[0].holding_return_pct == 9.0  # analytics_09's total_return


def test_a_pick_outside_the_ranked_holdings_is_added_to_its_card() -> None:
    card = compose.etf_card(etf("XLF", "sector", 2.0), [holding("XLF", "JPM", 1, 6 * 10**11)],
                            pick("BRK-B", "XLF", 3.0, 10**12, 1.0))
    got = [(h.holding_ticker, h.rank_position, h.mcap_rank, h.is_pick, h.holding_return_pct)
           for h in card.holdings]
    assert got == [("JPM", 1, 2, False, 9.0), ("BRK-B", None, 1, True, 3.0)]
    assert card.holdings[1].holding_name == "BRK-B Inc"


def test_a_card_without_holdings_or_pick_is_empty() -> None:
    card = compose.etf_card(etf("SPY", "benchmark", 1.0), [], None)
    assert (card.holdings, card.pick_ticker, card.holdings_as_of_date) == ([], None, None)


def test_the_portfolio_pick_follows_the_pick_order() -> None:
    """Highest return; ties: larger market cap, then ticker (never the weight)."""
    types = {"XLK": "sector", "QQQ": "both"}
    picks = [pick("MSFT", "XLK", 6.0, 5 * 10**12, 0.2), pick("AMD", "QQQ", 8.0, 2 * 10**11, 0.6),
             pick("NVDA", "XLK", 8.0, 4 * 10**12, 0.15)]
    best = compose.portfolio_pick(picks, types)
    assert best is not None and (best.ticker, best.source_etf, best.source_type) == (
        "NVDA", "XLK", "sector")
    assert (best.weight, best.return_pct, best.company_name) == (0.15, 8.0, "NVDA Inc")
    tied = compose.portfolio_pick([*picks, pick("AVGO", "QQQ", 8.0, 4 * 10**12, 0.05)], types)
    assert tied is not None and (tied.ticker, tied.source_type) == ("AVGO", "both")
    assert compose.portfolio_pick([], types) is None


def test_the_cards_carry_the_portfolio_pick() -> None:
    cards = compose.etf_cards(D, 5, [etf("XLK", "sector", 5.0, True)], [],
                              [pick("NVDA", "XLK", 8.0, 4 * 10**12, 1.0)])
    assert cards.portfolio_pick is not None and cards.portfolio_pick.source_type == "sector"
    assert cards.etfs[0].pick_ticker == "NVDA"


# ------------------------------------------------------------------------ trending, status


def test_trending_rows_get_their_return_against_spy_and_their_kind() -> None:
    rows = [dict(etf("XLK", "sector", 5.0, True), spy_return_pct=None, rank=1),
            dict(etf("QQQ", "both", 3.0), spy_return_pct=1.5, rank=2),
            dict(etf("SPY", "benchmark", None), spy_return_pct=1.5, rank=None)]
    out = compose.trending_etfs(D, 10, rows)
    assert (out.as_of_date, out.period_days, out.spy_return_pct) == (D, 10, 1.5)
    assert [(e.etf_ticker, e.vs_spy_pct, e.is_benchmark, e.is_sector, e.rank)
            for e in out.etfs] == [("XLK", None, False, True, 1), ("QQQ", 1.5, True, True, 2),
                                   ("SPY", None, True, False, None)]


def test_status_takes_the_newest_date_first_and_reads_the_settings() -> None:
    stage = {"stage": "trending", "as_of_date": D, "status": "success", "finished_at": CREATED,
             "rows_written": 51}
    out = compose.status([{"period_days": 5, "as_of_date": D}], [D, date(2026, 8, 19)],
                         {"is_sample": "true", "source": "sample"}, [stage], None)
    assert out.latest_as_of_date == D and out.latest_by_period == {"5": D}
    assert (out.is_sample, out.source, out.universe) == (True, "sample", None)
    assert out.stages[0].rows_written == 51
    empty = compose.status([], [], {}, [], None)
    assert (empty.latest_as_of_date, empty.is_sample, empty.available_dates) == (None, False, [])


def test_etf_info_tells_benchmarks_and_sectors_apart() -> None:
    row = {"ticker": "QQQ", "etf_name": "Nasdaq", "etf_type": "both", "sector_name": "Tech",
           "is_reference": False}
    info = compose.etf_info(row)
    assert (info.is_benchmark, info.is_sector) == (True, True)
    assert [compose.is_benchmark(t) for t in ("benchmark", "sector", "both", None)] == [
        True, False, True, False]
    assert [compose.is_sector(t) for t in ("benchmark", "sector", "both", None)] == [
        False, True, True, False]


# --------------------------------------------------------------------------- monthly views


def month(ticker: str, m: int, complete: bool) -> dict[str, Any]:
    return {"etf_ticker": ticker, "month": date(2026, m, 1), "month_open": 1.0,
            "month_close": 1.1, "monthly_return": 10.0, "is_complete": complete,
            "etf_type": "benchmark", "sector_name": None}


def test_monthly_returns_keep_the_last_complete_months_and_the_current_one() -> None:
    rows = [month(t, m, m < 8) for t in ("SPY", "XLK") for m in (5, 6, 7, 8)]
    out = compose.monthly_returns(rows, months=2)
    assert [(r.ticker, r.month.month, r.is_complete) for r in out] == [
        ("SPY", 6, True), ("SPY", 7, True), ("SPY", 8, False),
        ("XLK", 6, True), ("XLK", 7, True), ("XLK", 8, False)]
    assert out[0].is_benchmark is True


def stock(ticker: str, rank: int, weight: float) -> dict[str, Any]:
    return {"rebalance_date": date(2026, 7, 31), "valid_until": date(2026, 8, 31),
            "ticker": ticker, "company_name": None, "sector": None, "final_rank": rank,
            "final_weight": weight, "score": weight / 3, "source_periods": "20d",
            "return_20d": 4.0, "market_cap": 10**11, "allocation_reason": None,
            "created_at": CREATED}


def test_the_monthly_portfolio_is_in_percent() -> None:
    out = compose.monthly_portfolio([stock("A", 1, 0.6), stock("B", 2, 0.4)])
    assert (out.rebalance_date, out.valid_until) == (date(2026, 7, 31), date(2026, 8, 31))
    assert [(s.ticker, s.rank, s.weight, s.return_pct) for s in out.data] == [
        ("A", 1, 60.0, 4.0), ("B", 2, 40.0, 4.0)]
    assert (out.total_stocks, out.total_weight, out.message) == (2, 100.0, None)


def test_no_monthly_portfolio_says_so() -> None:
    out = compose.monthly_portfolio([])
    assert (out.rebalance_date, out.total_stocks, out.data) == (None, 0, [])
    assert out.message == "No monthly portfolio data available"


def close(ticker: str, day: date, price: float) -> dict[str, Any]:
    return {"ticker": ticker, "trade_date": day, "close_price": price, "adj_close": None}


def test_monthly_vs_spy_points_start_at_the_rebalance_at_zero() -> None:
    start, after = date(2026, 7, 31), date(2026, 8, 3)
    window = chart_window(start, date(2026, 8, 31), after)
    out = compose.monthly_vs_spy(
        "SPY", window, [stock("A", 1, 0.5), stock("B", 2, 0.5)],
        [close("A", start, 10), close("A", after, 11), close("B", date(2026, 7, 29), 20),
         close("B", after, 19)],  # B's base price is two sessions old
        [close("SPY", start, 600), close("SPY", after, 606)],
    )
    assert (out.rebalance_date, out.end_date, out.reference_etf) == (start, after, "SPY")
    assert [p.date for p in out.points] == [start, after]
    assert out.points[0].portfolio_pct == 0 and out.points[0].spy_pct == 0
    assert out.points[1].portfolio_pct == pytest.approx(100 * (0.5 * 0.1 + 0.5 * -0.05))
    assert out.points[1].spy_pct == pytest.approx(1.0)


def test_monthly_vs_spy_without_a_portfolio_or_a_session_has_no_points() -> None:
    none = compose.monthly_vs_spy("SPY", None, [], [], [])
    assert (none.rebalance_date, none.end_date, none.points) == (None, None, [])
    saturday = chart_window(date(2026, 8, 1), date(2026, 8, 31), date(2026, 8, 1))
    out = compose.monthly_vs_spy("SPY", saturday, [stock("A", 1, 1.0)], [], [])
    assert (out.rebalance_date, out.end_date, out.points) == (
        date(2026, 8, 1), date(2026, 8, 1), [])


# ------------------------------------------------------------- portfolio, history, holdings


def allocation(ticker: str, weight: float) -> dict[str, Any]:
    return {"known": True, "as_of_date": D, "ticker": ticker, "company_name": None,
            "sector": "Technology", "market_cap": 10**12, "market_cap_estimated": False,
            "return_pct": 2.0, "sector_avg": None, "is_trending": True, "rank": 1,
            "portfolio_weight": weight, "allocation_reason": None, "period_days": 20,
            "etf_ticker": "XLK", "etf_return_pct": 3.0, "is_point_in_time": True,
            "created_at": CREATED}


def test_the_portfolio_is_in_percent_and_the_allocations_in_fractions() -> None:
    rows = [allocation("NVDA", 0.75), allocation("AAPL", 0.25)]
    assert [(s.ticker, s.weight) for s in compose.portfolio(rows)] == [
        ("NVDA", 75.0), ("AAPL", 25.0)]
    assert [(a.ticker, a.portfolio_weight) for a in compose.active_allocations(rows)] == [
        ("NVDA", 0.75), ("AAPL", 0.25)]


def test_history_rows_are_one_session_windows_in_the_seed_shape() -> None:
    row = {"ticker": "NVDA", "company_name": "NVIDIA", "sector": "Technology", "trade_date": D,
           "close_price": 180.0, "adj_close": 179.5, "low_price": 175.0, "high_price": 182.0,
           "volume": 10**8, "market_cap": None}
    (h,) = compose.history([row])
    assert (h.symbol, h.avg_price, h.min_price, h.max_price, h.total_volume) == (
        "NVDA", 180.0, 175.0, 182.0, 10**8)
    assert (h.record_count, h.window_start, h.window_end) == (1, D, D)


def top(period: int, ticker: str, rank: int, day: date = D) -> dict[str, Any]:
    return {"etf_ticker": "XLK", "etf_type": "sector", "sector_name": "Technology",
            "time_period": period, "as_of_date": day, "holding_ticker": ticker,
            "holding_name": None, "holding_sector": None, "rank_position": rank,
            "avg_return": 0.0, "total_return": 0.0, "volatility": None, "avg_volume": 0,
            "current_price": 1.0, "market_cap": None}


def test_top_holdings_are_grouped_by_period_in_row_order() -> None:
    out = compose.top_holdings([top(5, "A", 1, date(2026, 8, 14)), top(5, "B", 2, date(2026, 8, 14)),
                                top(20, "C", 1)])
    assert [(e.time_period, e.as_of_date, [h.holding_ticker for h in e.holdings]) for e in out] == [
        (5, date(2026, 8, 14), ["A", "B"]), (20, D, ["C"])]
    assert out[0].holdings[0].avg_return == 0.0  # zero stays zero
    assert compose.top_holdings([]) == []


# ------------------------------------------------------------------------------- backtests


RUN = {"id": 7, "start_date": date(2026, 7, 31), "end_date": D, "universe": "spdr",
       "source": "sample", "is_sample": True, "cost_bps": 10.0, "lag": 1, "sessions": 15,
       "point_in_time": False, "elapsed_seconds": 1.5, "created_at": CREATED,
       "caveats": ["NOT POINT-IN-TIME: ...", "Only 15 sessions"]}


def metric(strategy: str) -> dict[str, Any]:
    return {"strategy": strategy, "total_return": 0.01, "cagr": 0.2, "volatility": 0.1,
            "sharpe": 1.0, "max_drawdown": -0.02, "turnover_per_year": None, "trades": 0,
            "hit_rate": None}


def equity(strategy: str, day: date, value: float, turnover: float | None) -> dict[str, Any]:
    return {"strategy": strategy, "trade_date": day, "equity": value, "drawdown": value - 1.1,
            "turnover": turnover}


def pit(day: date, holdings_ok: bool, caps_ok: bool, in_time: bool) -> dict[str, Any]:
    return {"as_of_date": day, "picks": 3, "holdings_dated_ok": holdings_ok,
            "caps_dated_ok": caps_ok, "recorded_in_time": in_time, "oldest_snapshot": None,
            "newest_cap": None, "last_recorded_at": None}


def test_a_backtest_puts_strategies_in_order_and_pivots_the_curves() -> None:
    day1, day2 = date(2026, 7, 31), date(2026, 8, 3)
    rows = [equity("5d", day1, 1.0, None), equity("SPY", day1, 1.0, None),
            equity("5d", day2, 1.1, 1.0), equity("SPY", day2, 1.05, None)]
    picks = [{"period_days": 5, "horizon": 5, "picks": 9, "mean_pick_return": 0.01,
              "mean_etf_return": 0.0, "mean_excess": 0.01, "median_excess": 0.0,
              "beat_etf_share": 0.5}]
    out = compose.backtest(RUN, [metric("SPY"), metric("5d")], rows,
                           [pit(day1, True, True, False), pit(day2, True, True, True)], picks)
    assert out.run.id == 7 and out.caveats == RUN["caveats"]
    assert list(out.strategies) == ["5d", "SPY"]
    assert [(p.date, p.d5, p.SPY, p.d10) for p in out.equity] == [
        (day1, 1.0, 1.0, None), (day2, 1.1, 1.05, None)]
    assert [p.d5 for p in out.drawdown] == pytest.approx([-0.1, 0.0])
    assert [(t.date, t.strategy, t.turnover) for t in out.turnover] == [(day2, "5d", 1.0)]
    assert out.picks[0].beat_etf_share == 0.5


def test_the_point_in_time_report_counts_each_check_and_the_clean_dates() -> None:
    report = compose.point_in_time([pit(date(2026, 8, d), h, c, t) for d, h, c, t in (
        (3, True, True, True), (4, True, False, True), (5, False, True, False))])
    assert [d.clean for d in report.by_date] == [True, False, False]
    assert (report.dates, report.clean, report.holdings_dated_ok, report.caps_dated_ok,
            report.recorded_in_time) == (3, 1, 2, 2, 2)
