"""`trendfolio backtest` (the Spark job) against the independent oracle, within 1e-6, on every
metric of every strategy and every equity point:

- the issue's exact command on the real 2026 market (``../shared``; skipped without it), and a
  second run with --lag 2 --cost-bps 25 on a shorter range of the same database;
- the synthetic ``sample`` market (no ``../shared`` needed);
- a rigged database (``--no-collect``) holding what the real data rarely has: gaps, bars with
  and without adjusted closes, a last bar before S[0], empty and part-cash portfolios, rows on
  dates that are not signals, lag 2.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.backtest.oracle import load_inputs, monthly_signals, period_signals
from tests.support.backtest import CliRun, backtest_cli, compare_with_oracle
from trendfolio.calendar import sessions_between

pytestmark = pytest.mark.spark

MakeDb = Callable[..., Awaitable[str]]
REAL_START, REAL_END = date(2026, 4, 20), date(2026, 8, 20)
SHORT_START, SHORT_END = date(2026, 6, 1), date(2026, 7, 31)
# the command exactly as the issue's "How it will be checked" gives it (run from the repo root)
ISSUE_ARGS = [
    "--source", "csv:../shared/data/market-2026", "--universe", "spdr",
    "--start", "2026-04-20", "--end", "2026-08-20",
    "--cost-bps", "10", "--lag", "1", "--format", "json",
]  # fmt: skip


@pytest.fixture(scope="session")
async def real_runs(market_2026: Path, fresh_database: MakeDb) -> tuple[CliRun, CliRun]:
    """The issue's command on a fresh database (it backfills 2026-04-20..08-20 itself), then
    --lag 2 --cost-bps 25 over 2026-06-01..07-31 on the same database (nothing to backfill)."""
    url = await fresh_database("bt_real")
    first = backtest_cli(url, *ISSUE_ARGS)
    second = backtest_cli(
        url,
        "--source", f"csv:{market_2026}", "--universe", "spdr",
        "--start", SHORT_START.isoformat(), "--end", SHORT_END.isoformat(),
        "--cost-bps", "25", "--lag", "2", "--format", "json",
    )  # fmt: skip
    return first, second


def _traded(report: dict[str, Any]) -> None:
    """Guard against two implementations agreeing on nothing: every strategy traded and moved."""
    for name in ("5d", "10d", "20d", "monthly"):
        m = report["strategies"][name]
        assert m["trades"] >= 1 and m["total_return"] != 0, (name, m)


def test_issue_command_exits_0(real_runs: tuple[CliRun, CliRun]) -> None:
    first, _ = real_runs
    assert first.proc.returncode == 0, first.proc.stderr[-3000:]


def test_issue_command_matches_the_oracle(real_runs: tuple[CliRun, CliRun]) -> None:
    first, _ = real_runs
    report = first.report
    assert report["run"]["cost_bps"] == 10 and report["run"]["lag"] == 1
    expected = compare_with_oracle(report, first.url, REAL_START, REAL_END, 10.0, 1)
    _traded(report)
    # the check the issue names, spelled out: SPY and the 5/10/20-day strategies
    for name in ("SPY", "5d", "10d", "20d"):
        for key in ("total_return", "max_drawdown", "volatility"):
            assert abs(report["strategies"][name][key] - expected["strategies"][name][key]) <= 1e-6


def test_lag_2_and_25_bps_match_the_oracle(real_runs: tuple[CliRun, CliRun]) -> None:
    _, second = real_runs
    report = second.report
    assert report["run"]["cost_bps"] == 25 and report["run"]["lag"] == 2
    compare_with_oracle(report, second.url, SHORT_START, SHORT_END, 25.0, 2)
    _traded(report)


def test_json_output_is_only_json(real_runs: tuple[CliRun, CliRun]) -> None:
    """``--format json`` prints one JSON document on stdout (logs belong on stderr), so
    ``trendfolio backtest … --format json | jq`` works."""
    first, _ = real_runs
    assert first.proc.returncode == 0, first.proc.stderr[-3000:]
    json.loads(first.proc.stdout)


async def test_sample_market_matches_the_oracle(fresh_database: MakeDb) -> None:
    """The synthetic market over ten sessions across a month end, with the default cost and
    lag (10 bps, 1 session)."""
    url = await fresh_database("bt_sample")
    start, end = date(2026, 5, 22), date(2026, 6, 5)
    cli = backtest_cli(
        url, "--source", "sample", "--start", start.isoformat(), "--end", end.isoformat(),
        "--format", "json",
    )  # fmt: skip
    report = cli.report
    assert report["run"]["is_sample"] is True
    assert report["run"]["cost_bps"] == 10 and report["run"]["lag"] == 1
    compare_with_oracle(report, url, start, end, 10.0, 1)
    _traded(report)


# --- a rigged database ---------------------------------------------------------------------

RIG_START, RIG_END = date(2026, 5, 20), date(2026, 7, 10)  # two month ends, a holiday (07-03)


def _rig(seed: int) -> dict[str, list[tuple[Any, ...]]]:
    """Random walks for eight stocks and SPY from 30 sessions before RIG_START, with gaps,
    missing adjusted closes and a dividend; portfolios on every session (also on dates that are
    not signals), some of them part cash, some dates without any (empty portfolios)."""
    rnd = random.Random(seed)
    days = sessions_between(date(2026, 4, 1), RIG_END)
    inside = sessions_between(RIG_START, RIG_END)
    stocks = [f"RIG{i}" for i in range(8)]
    stock_rows: list[tuple[Any, ...]] = []
    for k, t in enumerate(stocks):
        price, factor = 50.0 + 10 * k, 0.97
        for d in days:
            price *= 1 + rnd.gauss(0.001, 0.03)
            if d == date(2026, 6, 15) and k % 2:
                factor *= 1.02  # a dividend: adjusted and plain closes part ways
            if k == 7 and date(2026, 5, 8) <= d <= date(2026, 5, 27):
                continue  # RIG7: no bar from 05-08 to 05-27 (last bar before S[0], then a gap)
            if rnd.random() < 0.08:
                continue  # a missing day
            adj = None if (k == 3 or rnd.random() < 0.1) else round(price * factor, 6)
            stock_rows.append((t, d, round(price, 6), adj))
            if t == "RIG1" and d == date(2026, 6, 5):
                # a bar dated on a Saturday, far off: not a session's bar, both ignore it
                stock_rows.append((t, date(2026, 6, 6), round(price * 1.3, 6), None))
    # RIG8: its last bar before the range is in March (long before S[0]), the next in June
    for d in [*sessions_between(date(2026, 2, 2), date(2026, 3, 31)),
              *sessions_between(date(2026, 6, 1), RIG_END)]:
        stock_rows.append(("RIG8", d, 40.0 if d.month < 4 else 52.0 + d.day / 10, None))
    spy_rows: list[tuple[Any, ...]] = []
    spy = xle = 500.0
    for d in days:
        spy *= 1 + rnd.gauss(0.0005, 0.01)
        spy_rows.append(("SPY", d, round(spy, 6), None if rnd.random() < 0.1 else round(spy, 6)))
        xle *= 1 + rnd.gauss(0.0, 0.02)  # XLE: an ETF a portfolio holds, priced from ETF bars
        spy_rows.append(("XLE", d, round(xle, 6), None))
    alloc: list[tuple[Any, ...]] = []
    monthly: list[tuple[Any, ...]] = []
    for d in inside:
        for period in (5, 10, 20):
            forced = {20: ["RIG8", "RIG0"], 10: ["XLE", "RIG1"]}.get(period)
            if d == RIG_START and forced:
                picks = forced  # held across RIG8's gap, and an ETF held
            elif rnd.random() < 0.15:
                continue  # no portfolio this date: an empty one if it is a signal
            else:
                picks = rnd.sample(stocks, rnd.randint(1, 4))
            raw = [rnd.random() + 0.1 for _ in picks]
            invested = 1.0 if rnd.random() < 0.7 else 0.6  # sometimes 40 % cash
            for rank, (t, w) in enumerate(zip(picks, raw, strict=True), 1):
                alloc.append((d, t, rank, w / sum(raw) * invested, period, "XLK"))
        if rnd.random() < 0.5 or d in (date(2026, 5, 29), date(2026, 6, 30)):
            picks = rnd.sample(stocks, 3)
            for rank, t in enumerate(picks, 1):
                monthly.append((t, rank, [0.5, 0.3, 0.2][rank - 1], 1.0, d, RIG_END))
    return {"stocks": stock_rows, "spy": spy_rows, "alloc": alloc, "monthly": monthly}


async def _load_rig(url: str, rig: dict[str, list[tuple[Any, ...]]]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "collected_06_daily_stock_history", records=rig["stocks"],
            columns=["ticker", "trade_date", "close_price", "adj_close"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "collected_01_daily_etf_ohlc", records=rig["spy"],
            columns=["ticker", "trade_date", "close_price", "adj_close"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "analytics_05_portfolio_allocation", records=rig["alloc"],
            columns=["as_of_date", "ticker", "rank", "portfolio_weight", "period_days",
                     "etf_ticker"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "analytics_08_monthly_portfolio", records=rig["monthly"],
            columns=["ticker", "final_rank", "final_weight", "score", "rebalance_date",
                     "valid_until"],
        )  # fmt: skip
    finally:
        await conn.close()


async def test_rigged_market_matches_the_oracle(fresh_database: MakeDb) -> None:
    """Lag 2 and 25 bps (the real and sample runs cover lag 1 and 10 bps)."""
    cost, lag = "25", "2"
    url = await fresh_database("bt_rig", migrated=True)
    await _load_rig(url, _rig(1))
    cli = backtest_cli(
        url, "--start", RIG_START.isoformat(), "--end", RIG_END.isoformat(), "--no-collect",
        "--cost-bps", cost, "--lag", lag, "--format", "json",
        env={"TRENDFOLIO_SOURCE": "sample", "TRENDFOLIO_UNIVERSE": "seed"},
    )  # fmt: skip
    report = cli.report
    compare_with_oracle(report, url, RIG_START, RIG_END, float(cost), int(lag))
    _traded(report)
    # the rig reaches the cases it is for (else this test would prove less than it says)
    inputs = load_inputs(url, RIG_START, RIG_END)
    s = inputs.sessions
    signals = [(s[i], p) for p in (5, 10, 20) for i in period_signals(len(s), p)]
    assert any(key not in inputs.period_portfolios for key in signals), "no empty portfolio"
    assert any(
        key in inputs.period_portfolios and sum(inputs.period_portfolios[key].values()) < 0.99
        for key in signals
    ), "no part-cash portfolio"
    assert len(monthly_signals(s)) == 2
    assert {"RIG8", "XLE"} <= set(inputs.prices), "RIG8 and XLE are priced"
    assert min(inputs.prices["RIG8"].dates) < date(2026, 4, 1)
