"""`/dashboard/*` and `/api/etf-holdings/*`: what each dashboard view draws."""

from __future__ import annotations

from datetime import date

import asyncpg
import httpx
import pytest

from tests.api import expected
from tests.api.analytics_rows import REBALANCE, VALID_UNTIL
from tests.api.conftest import LoadedDb
from trendfolio import calendar

BENCHMARKS = {"SPY", "QQQ", "IWM", "DIA", "EWY", "SCHD"}  # the spdr universe


def test_status_gives_the_latest_date_in_the_data_and_the_last_run_per_stage(
    client: httpx.Client, loaded_db: LoadedDb
) -> None:
    s = client.get("/dashboard/status").json()
    last = loaded_db.sessions[-1].isoformat()
    assert s["latest_as_of_date"] == last
    assert s["latest_by_period"] == {"5": last, "10": last, "20": last}
    assert s["available_dates"][: len(loaded_db.sessions)] == [
        d.isoformat() for d in reversed(loaded_db.sessions)]
    assert s["latest_rebalance_date"] == REBALANCE.isoformat()
    assert s["is_sample"] is (loaded_db.source == "sample")
    assert s["universe"] == "spdr"
    stages = {r["stage"]: r for r in s["stages"]}
    assert set(stages) == {"benchmark", "sector", "trending", "holdings", "allocation"}
    assert all(r["status"] == "success" and r["as_of_date"] == last for r in stages.values())


@pytest.mark.parametrize("period", [5, 10, 20])
async def test_trending_table_follows_the_real_rule(
    client: httpx.Client, loaded_db: LoadedDb, period: int
) -> None:
    day = loaded_db.sessions[-1]
    body = client.get("/dashboard/trending-etfs", params={"period_days": period}).json()
    assert body["as_of_date"] == day.isoformat() and body["period_days"] == period
    rows = {r["etf_ticker"]: r for r in body["etfs"]}
    assert len(rows) == 17 and {t for t, r in rows.items() if r["is_benchmark"]} == BENCHMARKS
    conn = await asyncpg.connect(loaded_db.url)
    try:
        spy = await expected.period_return(conn, "etf", "SPY", day, period)
        assert spy is not None
        assert body["spy_return_pct"] == pytest.approx(100 * spy, rel=1e-9)
        for ticker, r in rows.items():
            ret = await expected.period_return(conn, "etf", ticker, day, period)
            assert ret is not None
            assert r["return_pct"] == pytest.approx(100 * ret, rel=1e-9), ticker
            assert r["vs_spy_pct"] == pytest.approx(100 * (ret - spy), rel=1e-6, abs=1e-9)
            assert r["is_trending"] is (ticker != "SPY" and ret > spy and ret > 0), ticker
    finally:
        await conn.close()
    returns = [r["return_pct"] for r in body["etfs"]]
    assert returns == sorted(returns, reverse=True)
    assert [r["rank"] for r in body["etfs"]] == list(range(1, 18))


def test_etf_cards_show_benchmarks_trending_etfs_and_the_star(
    client: httpx.Client, loaded_db: LoadedDb
) -> None:
    params = {"period_days": 20, "limit": 3}
    body = client.get("/dashboard/trending-etf-top-holdings", params=params).json()
    trending = client.get("/dashboard/trending-etfs", params={"period_days": 20}).json()["etfs"]
    portfolio = client.get("/stocks/portfolio", params={"period_days": 20}).json()
    cards = {c["etf_ticker"]: c for c in body["etfs"]}
    assert set(cards) >= BENCHMARKS
    assert {r["etf_ticker"] for r in trending if r["is_trending"]} <= set(cards)
    flags = [c["is_benchmark"] for c in body["etfs"]]
    assert flags == sorted(flags, reverse=True), "benchmarks first"
    for p in portfolio:
        card = cards[p["etf_ticker"]]
        assert card["pick_ticker"] == p["ticker"]
        assert [h["holding_ticker"] for h in card["holdings"] if h["is_pick"]] == [p["ticker"]]
    for c in body["etfs"]:
        ranked = [h for h in c["holdings"] if h["rank_position"] is not None]
        assert len(ranked) <= 3
        assert [h["rank_position"] for h in ranked] == list(range(1, len(ranked) + 1))
        assert sorted(h["mcap_rank"] for h in c["holdings"]) == list(
            range(1, len(c["holdings"]) + 1))
    best = max(portfolio, key=lambda p: (p["return_pct"], p["market_cap"]))
    assert body["portfolio_pick"]["ticker"] == best["ticker"]
    assert body["portfolio_pick"]["source_etf"] == best["etf_ticker"]


def test_top_holdings_keep_zero_as_zero_and_answer_per_period(client: httpx.Client) -> None:
    etf = client.get("/stocks/portfolio").json()[0]["etf_ticker"]
    every = client.get(f"/api/etf-holdings/top-holdings/{etf}").json()
    assert [e["time_period"] for e in every] == [5, 10, 20]
    five = client.get(f"/api/etf-holdings/top-holdings/{etf.lower()}",
                      params={"time_period": 5}).json()
    assert len(five) == 1 and [h["rank_position"] for h in five[0]["holdings"]] == [1, 2, 3, 4, 5]
    last = five[0]["holdings"][-1]
    assert last["total_return"] == 0 and last["avg_return"] == 0  # the seed turned these into null
    old = client.get(f"/api/etf-holdings/top-holdings/{etf}", params={"as_of_date": "2026-01-02"})
    assert old.status_code == 404 and etf in old.json()["detail"]


def test_monthly_portfolio_in_percent(client: httpx.Client) -> None:
    body = client.get("/stocks/monthly-portfolio").json()
    assert body["rebalance_date"] == REBALANCE.isoformat()
    assert body["valid_until"] == VALID_UNTIL.isoformat()
    assert body["total_weight"] == pytest.approx(100, abs=0.01)
    assert body["total_stocks"] == len(body["data"]) > 0
    assert [r["rank"] for r in body["data"]] == list(range(1, len(body["data"]) + 1))
    same = client.get("/stocks/monthly-portfolio", params={"rebalance_date": "2026-07-31"}).json()
    assert same == body


def test_monthly_performance_keeps_the_last_complete_months_and_the_current(
    client: httpx.Client,
) -> None:
    rows = client.get("/dashboard/monthly-performance", params={"months": 3}).json()
    spy = [r for r in rows if r["ticker"] == "SPY"]
    assert [r["month"] for r in spy] == ["2026-05-01", "2026-06-01", "2026-07-01", "2026-08-01"]
    assert [r["is_complete"] for r in spy] == [True, True, True, False]
    assert spy[0]["monthly_return"] == 9.0 and spy[0]["is_benchmark"] is True
    assert {r["ticker"] for r in rows} == {"SPY", "XLK"}
    assert len(client.get("/dashboard/monthly-performance").json()) == 2 * 13
    before = client.get("/dashboard/monthly-performance",
                        params={"months": 1, "as_of_date": "2026-08-19"}).json()
    assert {r["monthly_return"] for r in before} == {-1.0}


async def test_monthly_portfolio_against_spy_matches_an_independent_computation(
    client: httpx.Client, loaded_db: LoadedDb
) -> None:
    body = client.get("/dashboard/monthly-vs-spy").json()
    assert body["rebalance_date"] == REBALANCE.isoformat()
    assert body["end_date"] == loaded_db.sessions[-1].isoformat()
    points = body["points"]
    want_dates = calendar.sessions_between(REBALANCE, loaded_db.sessions[-1])
    assert [p["date"] for p in points] == [d.isoformat() for d in want_dates]
    assert points[0]["portfolio_pct"] == 0 and points[0]["spy_pct"] == 0
    weights = {r["ticker"]: r["weight"] / 100
               for r in client.get("/stocks/monthly-portfolio").json()["data"]}
    conn = await asyncpg.connect(loaded_db.url)
    try:
        for p in points[1:]:
            day = date.fromisoformat(p["date"])
            n = len(calendar.sessions_between(REBALANCE, day)) - 1
            spy = await expected.period_return(conn, "etf", "SPY", day, n)
            assert p["spy_pct"] == pytest.approx(100 * spy, rel=1e-9)
            parts = {t: await expected.period_return(conn, "stock", t, day, n) for t in weights}
            priced = {t: r for t, r in parts.items() if r is not None}
            total = sum(weights[t] for t in priced)
            want = 100 * sum(weights[t] * r for t, r in priced.items()) / total
            assert p["portfolio_pct"] == pytest.approx(want, rel=1e-9)
    finally:
        await conn.close()


async def test_etf_benchmark_counts_sessions_not_calendar_days(
    client: httpx.Client, loaded_db: LoadedDb
) -> None:
    rows = client.get("/dashboard/etf-benchmark",
                      params={"ticker": "xlk", "days": 20,
                              "as_of_date": loaded_db.sessions[-1].isoformat()}).json()
    assert len(rows) == 20
    want = calendar.sessions_between(calendar.session_offset(loaded_db.sessions[-1], -19),
                                     loaded_db.sessions[-1])
    assert [r["trade_date"] for r in rows] == [d.isoformat() for d in reversed(want)]


def test_etf_list_is_the_universe(client: httpx.Client) -> None:
    etfs = client.get("/dashboard/etf-list").json()
    assert len(etfs) == 17
    assert [e["ticker"] for e in etfs if e["is_reference"]] == ["SPY"]
    assert {e["ticker"] for e in etfs if e["is_benchmark"]} == BENCHMARKS
