"""`/dashboard/*` and `/api/etf-holdings/*`: what each dashboard view draws."""

from __future__ import annotations

from datetime import date

import asyncpg
import httpx
import pytest

from tests.api import expected
from tests.support.api import MONTH_END, LoadedDb
from trendfolio import calendar
from trendfolio.db.connect import connection

BENCHMARKS = {"SPY", "QQQ", "IWM", "DIA", "EWY", "SCHD"}  # the spdr universe
REBALANCE = MONTH_END  # the backfill's first session, a month's last: the monthly stage ran there


async def fetch(db: LoadedDb, query: str, *args: object) -> list[asyncpg.Record]:
    async with connection(db.url) as conn:
        return list(await conn.fetch(query, *args))


def test_status_gives_the_latest_date_in_the_data_and_the_last_run_per_stage(
    client: httpx.Client, loaded_db: LoadedDb
) -> None:
    s = client.get("/dashboard/status").json()
    last = loaded_db.sessions[-1].isoformat()
    assert s["latest_as_of_date"] == last
    assert s["latest_by_period"] == {"5": last, "10": last, "20": last}
    assert s["available_dates"][: len(loaded_db.sessions)] == [
        d.isoformat() for d in reversed(loaded_db.sessions)]
    assert s["latest_rebalance_date"] == REBALANCE.isoformat()  # written by the monthly stage
    assert s["is_sample"] is (loaded_db.source == "sample")
    assert s["universe"] == "spdr"
    stages = {r["stage"]: r for r in s["stages"]}
    from trendfolio.stages import PIPELINE as STAGES

    assert {"benchmark", "sector", "trending", "holdings", "allocation"} <= set(stages)
    assert set(stages) <= {st.name for st in STAGES}
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
    async with connection(loaded_db.url) as conn:
        spy = await expected.period_return(conn, "etf", "SPY", day, period)
        assert spy is not None
        assert body["spy_return_pct"] == pytest.approx(100 * spy, rel=1e-9)
        for ticker, r in rows.items():
            ret = await expected.period_return(conn, "etf", ticker, day, period)
            assert ret is not None
            assert r["return_pct"] == pytest.approx(100 * ret, rel=1e-9), ticker
            assert r["vs_spy_pct"] == pytest.approx(100 * (ret - spy), rel=1e-6, abs=1e-9)
            assert r["is_trending"] is (ticker != "SPY" and ret > spy and ret > 0), ticker
    returns = [r["return_pct"] for r in body["etfs"]]
    assert returns == sorted(returns, reverse=True)
    assert [r["rank"] for r in body["etfs"]] == list(range(1, 18))


async def test_etf_cards_show_benchmarks_trending_etfs_and_the_star(
    client: httpx.Client, loaded_db: LoadedDb
) -> None:
    day = loaded_db.sessions[-1]
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
    # The ranked holdings are analytics_09's rows: the latest 20-day analysis <= day, rank <= 3.
    rows = await fetch(loaded_db, """
        SELECT h.etf_ticker, h.holding_ticker, h.rank_position, h.total_return, h.as_of_date
        FROM analytics_09_etf_top_holdings h
        WHERE h.time_period = $2 AND h.rank_position <= $3
          AND h.as_of_date = (SELECT max(as_of_date) FROM analytics_09_etf_top_holdings
                              WHERE etf_ticker = h.etf_ticker AND time_period = $2
                                AND as_of_date <= $1)
        ORDER BY h.etf_ticker, h.rank_position""", day, 20, 3)
    assert rows, "the top-holdings stage wrote nothing"
    for c in body["etfs"]:
        want = [r for r in rows if r["etf_ticker"] == c["etf_ticker"]]
        ranked = [h for h in c["holdings"] if h["rank_position"] is not None]
        assert [(h["holding_ticker"], h["rank_position"], h["holding_return_pct"])
                for h in ranked] == [
            (r["holding_ticker"], r["rank_position"], r["total_return"]) for r in want
        ], c["etf_ticker"]
        assert [h["rank_position"] for h in ranked] == list(range(1, len(ranked) + 1))
        assert c["holdings_as_of_date"] == (want[0]["as_of_date"].isoformat() if want else None)
        assert sorted(h["mcap_rank"] for h in c["holdings"]) == list(
            range(1, len(c["holdings"]) + 1))
    assert any(c["holdings"] for c in body["etfs"])
    best = max(portfolio, key=lambda p: (p["return_pct"], p["market_cap"]))
    assert body["portfolio_pick"]["ticker"] == best["ticker"]
    assert body["portfolio_pick"]["source_etf"] == best["etf_ticker"]


async def test_top_holdings_are_the_stage_rows_per_period_in_percent(
    client: httpx.Client, loaded_db: LoadedDb
) -> None:
    day = loaded_db.sessions[-1]
    etf = client.get("/stocks/portfolio").json()[0]["etf_ticker"]
    every = client.get(f"/api/etf-holdings/top-holdings/{etf}").json()
    assert [e["time_period"] for e in every] == [5, 10, 20]
    fields = ("holding_ticker", "holding_name", "holding_sector", "rank_position", "avg_return",
              "total_return", "volatility", "avg_volume", "current_price", "market_cap")
    async with connection(loaded_db.url) as conn:
        for entry in every:
            period = entry["time_period"]
            rows = await conn.fetch(
                "SELECT * FROM analytics_09_etf_top_holdings WHERE etf_ticker = $1 "
                "AND time_period = $2 AND as_of_date = (SELECT max(as_of_date) FROM "
                "analytics_09_etf_top_holdings WHERE etf_ticker = $1 AND time_period = $2) "
                "ORDER BY rank_position", etf, period)
            assert rows and entry["as_of_date"] == rows[0]["as_of_date"].isoformat()
            # Same values, zeros kept as 0 and nulls as null (the seed turned 0 into null).
            assert [tuple(h[f] for f in fields) for h in entry["holdings"]] == [
                tuple(r[f] for f in fields) for r in rows]
            assert [h["rank_position"] for h in entry["holdings"]] == list(
                range(1, len(rows) + 1))
            returns = [h["total_return"] for h in entry["holdings"]]
            assert returns == sorted(returns, reverse=True)
            # total_return is percent: recomputed from the collected prices.
            as_of = rows[0]["as_of_date"]
            for h in entry["holdings"]:
                r = await expected.period_return(conn, "stock", h["holding_ticker"], as_of, period)
                if r is not None:
                    assert h["total_return"] == pytest.approx(100 * r, rel=1e-6, abs=1e-9)
    five = client.get(f"/api/etf-holdings/top-holdings/{etf.lower()}",
                      params={"time_period": 5, "as_of_date": day.isoformat()}).json()
    assert five == [e for e in every if e["time_period"] == 5]
    old = client.get(f"/api/etf-holdings/top-holdings/{etf}", params={"as_of_date": "2026-01-02"})
    assert old.status_code == 404 and etf in old.json()["detail"]


async def test_monthly_portfolio_is_the_month_end_rebalance_in_percent(
    client: httpx.Client, loaded_db: LoadedDb
) -> None:
    body = client.get("/stocks/monthly-portfolio").json()
    rows = await fetch(loaded_db, """
        SELECT * FROM analytics_08_monthly_portfolio
        WHERE rebalance_date = (SELECT max(rebalance_date) FROM analytics_08_monthly_portfolio)
        ORDER BY final_rank""")
    assert rows and rows[0]["rebalance_date"] == REBALANCE
    assert body["rebalance_date"] == REBALANCE.isoformat()
    assert body["valid_until"] == rows[0]["valid_until"].isoformat() == "2026-08-31"
    assert body["total_stocks"] == len(body["data"]) == len(rows)
    assert [(r["ticker"], r["rank"]) for r in body["data"]] == [
        (r["ticker"], r["final_rank"]) for r in rows]
    for got, row in zip(body["data"], rows, strict=True):
        assert got["weight"] == pytest.approx(100 * row["final_weight"], rel=1e-12)
        assert got["score"] == row["score"] and got["return_pct"] == row["return_20d"]
    assert body["total_weight"] == pytest.approx(100, abs=0.01)
    # Recomputed from the three period portfolios of the rebalance session (SPEC §4):
    # score = (w5 + w10 + w20) / 3, the 20 best, weight = score / sum(score).
    picks = await fetch(loaded_db, """
        SELECT ticker, sum(portfolio_weight) / 3 AS score FROM analytics_05_portfolio_allocation
        WHERE as_of_date = $1 GROUP BY ticker ORDER BY score DESC, ticker""", REBALANCE)
    scores = {r["ticker"]: float(r["score"]) for r in picks[:20]}
    assert {r["ticker"] for r in body["data"]} == set(scores) or len(picks) > 20
    weights = expected.weights({r["ticker"]: r["score"] for r in body["data"]})
    for got in body["data"]:
        if got["ticker"] in scores:
            assert got["score"] == pytest.approx(scores[got["ticker"]], rel=1e-9)
        assert got["weight"] == pytest.approx(100 * weights[got["ticker"]], rel=1e-9)
    same = client.get("/stocks/monthly-portfolio",
                      params={"rebalance_date": REBALANCE.isoformat()}).json()
    assert same == body
    assert client.get("/stocks/monthly-portfolio",
                      params={"rebalance_date": "2026-06-30"}).status_code == 404


async def test_monthly_performance_keeps_the_last_complete_months_and_the_current_in_percent(
    client: httpx.Client, loaded_db: LoadedDb
) -> None:
    day = loaded_db.sessions[-1]
    rows = client.get("/dashboard/monthly-performance", params={"months": 3}).json()
    stored = await fetch(loaded_db, """
        SELECT etf_ticker, month, monthly_return, is_complete FROM analytics_10_etf_monthly_returns
        WHERE as_of_date = $1 ORDER BY etf_ticker, month""", day)
    assert stored, "the monthly-returns stage wrote nothing"
    complete = sorted({r["month"] for r in stored if r["is_complete"]})
    keep = set(complete[-3:]) | {r["month"] for r in stored if not r["is_complete"]}
    want = [r for r in stored if r["month"] in keep]
    assert [(r["ticker"], r["month"], r["is_complete"]) for r in rows] == [
        (r["etf_ticker"], r["month"].isoformat(), r["is_complete"]) for r in want]
    for got, row in zip(rows, want, strict=True):
        if row["monthly_return"] is None:
            assert got["monthly_return"] is None
        else:  # stored as a fraction, served in percent
            assert got["monthly_return"] == pytest.approx(100 * row["monthly_return"], rel=1e-12)
    spy = [r for r in rows if r["ticker"] == "SPY"]
    assert [r["month"] for r in spy] == ["2026-05-01", "2026-06-01", "2026-07-01", "2026-08-01"]
    assert [r["is_complete"] for r in spy] == [True, True, True, False]
    assert spy[0]["is_benchmark"] is True
    # Month end to month end, recomputed from the collected SPY bars (percent).
    async with connection(loaded_db.url) as conn:
        for month_start, end, got in ((date(2026, 6, 30), date(2026, 7, 31), spy[2]),
                                      (date(2026, 7, 31), day, spy[3])):
            n = len(calendar.sessions_between(month_start, end)) - 1
            r = await expected.period_return(conn, "etf", "SPY", end, n)
            assert r is not None
            assert got["monthly_return"] == pytest.approx(100 * r, rel=1e-9)
        before = client.get("/dashboard/monthly-performance",
                            params={"months": 1, "as_of_date": "2026-08-19"}).json()
        august = [r for r in before if r["ticker"] == "SPY" and not r["is_complete"]]
        n = len(calendar.sessions_between(REBALANCE, date(2026, 8, 19))) - 1
        r = await expected.period_return(conn, "etf", "SPY", date(2026, 8, 19), n)
        assert r is not None and len(august) == 1
        assert august[0]["monthly_return"] == pytest.approx(100 * r, rel=1e-9)
    every = client.get("/dashboard/monthly-performance").json()
    assert len(every) == len([r for r in stored
                              if r["month"] in set(complete[-12:]) or not r["is_complete"]])


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
    async with connection(loaded_db.url) as conn:
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
