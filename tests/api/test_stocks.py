"""`/stocks/*` against the database the real pipeline filled."""

from __future__ import annotations

import httpx
import pytest

from tests.api import expected
from tests.support.api import LoadedDb
from trendfolio.db.connect import connection

PERIODS = (5, 10, 20)


@pytest.mark.parametrize("period", PERIODS)
async def test_portfolio_weights_match_an_independent_computation(
    client: httpx.Client, loaded_db: LoadedDb, period: int
) -> None:
    async with connection(loaded_db.url) as conn:
        for day in loaded_db.sessions:
            resp = client.get("/stocks/portfolio",
                              params={"period_days": period, "as_of_date": day.isoformat()})
            assert resp.status_code == 200, resp.text
            rows = resp.json()
            assert rows, f"no portfolio for P={period} on {day}: the backfill should produce one"
            tickers = [r["ticker"] for r in rows]
            assert len(set(tickers)) == len(tickers), "a stock picked twice"
            trending = {
                r["etf_ticker"]
                for r in await conn.fetch(
                    "SELECT etf_ticker FROM analytics_03_trending_etfs "
                    "WHERE as_of_date = $1 AND period = 20 AND is_trending", day)
            }
            scores = {}
            for r in rows:
                assert r["as_of_date"] == day.isoformat() and r["period_days"] == period
                assert r["etf_ticker"] in trending, f"{r['ticker']} from non-trending {r['etf_ticker']}"
                held = await conn.fetchval(
                    "SELECT count(*) FROM collected_04_etf_holdings "
                    "WHERE etf_ticker = $1 AND holding_ticker = $2", r["etf_ticker"], r["ticker"])
                assert held, f"{r['ticker']} is not a holding of {r['etf_ticker']}"
                ret = await expected.period_return(conn, "stock", r["ticker"], day, period)
                assert ret is not None and ret > 0, f"{r['ticker']} has no positive r_{period}"
                assert r["return_pct"] == pytest.approx(100 * ret, rel=1e-9, abs=1e-9)
                mcap = await expected.observed_mcap(conn, r["ticker"], day)
                if not r["market_cap_estimated"]:
                    assert mcap is not None and r["market_cap"] == pytest.approx(mcap, rel=1e-9)
                scores[r["ticker"]] = ret / float(r["market_cap"])
            want = expected.weights(scores)
            for r in rows:
                assert r["weight"] == pytest.approx(100 * want[r["ticker"]], rel=1e-9)
            assert sum(r["weight"] for r in rows) == pytest.approx(100, abs=1e-7)
            assert [r["weight"] for r in rows] == sorted((r["weight"] for r in rows), reverse=True)


def test_portfolio_defaults_to_the_latest_date_in_the_data(
    client: httpx.Client, loaded_db: LoadedDb
) -> None:
    latest = client.get("/stocks/portfolio").json()
    explicit = client.get("/stocks/portfolio",
                          params={"period_days": 20,
                                  "as_of_date": loaded_db.sessions[-1].isoformat()}).json()
    assert latest == explicit and latest


def test_active_allocations_are_the_same_rows_as_fractions(
    client: httpx.Client, loaded_db: LoadedDb
) -> None:
    for period in PERIODS:
        params = {"period_days": period, "as_of_date": loaded_db.sessions[0].isoformat()}
        pct = client.get("/stocks/portfolio", params=params).json()
        frac = client.get("/dashboard/active-allocations", params=params).json()
        assert [r["ticker"] for r in frac] == [r["ticker"] for r in pct]
        for a, b in zip(frac, pct, strict=True):
            assert a["portfolio_weight"] == pytest.approx(b["weight"] / 100, rel=1e-12)
            assert a["is_trending"] is True
        assert sum(r["portfolio_weight"] for r in frac) == pytest.approx(1, abs=1e-9)


def test_history_is_newest_first_in_the_seed_shape(client: httpx.Client, loaded_db: LoadedDb) -> None:
    pick = client.get("/stocks/portfolio").json()[0]["ticker"]
    rows = client.get(f"/stocks/{pick.lower()}/history", params={"limit": 5}).json()
    assert len(rows) == 5 and {r["symbol"] for r in rows} == {pick}
    dates = [r["window_start"] for r in rows]
    assert dates == sorted(dates, reverse=True)
    assert all(r["min_price"] <= r["avg_price"] <= r["max_price"] for r in rows)
    ranged = client.get(f"/stocks/{pick}/history",
                        params={"start_date": dates[2], "end_date": dates[1]}).json()
    assert [r["window_start"] for r in ranged] == dates[1:3]
    etf = client.get("/stocks/SPY/history", params={"limit": 1}).json()
    assert etf[0]["symbol"] == "SPY" and etf[0]["window_end"] == loaded_db.sessions[-1].isoformat()
