"""The real 2026 data, backfilled once per universe (seed, spdr) through every stage, against the
plain-Python SPEC §4 oracle; invariants on every session; each session alone equals the backfill.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.support.jobs import BACKFILL_END, BACKFILL_START
from trendfolio.calendar import is_last_session_of_month, sessions_between
from trendfolio.db.connect import connection
from trendfolio.pipeline import StageContext
from trendfolio.universe import load_universe
from trendfolio_jobs.allocation import run_allocation
from trendfolio_jobs.etf_analytics import run_monthly_returns, run_top_holdings
from trendfolio_jobs.monthly import run_monthly
from trendfolio_jobs.trending import run_trending

from . import oracle

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

SESSIONS = sessions_between(date.fromisoformat(BACKFILL_START), date.fromisoformat(BACKFILL_END))
# every third session and every month end: dozens of dates in each universe
CHECKED = sorted({*SESSIONS[::3], *(d for d in SESSIONS if is_last_session_of_month(d))})
MONTH_ENDS = [d for d in SESSIONS if is_last_session_of_month(d)]


@pytest.fixture(scope="session")
def market(market_2026: Path) -> oracle.Market:
    return oracle.load_market(market_2026)


async def fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    async with connection(url) as conn:
        return list(await conn.fetch(query, *args))


async def test_trending_matches_the_oracle(
    backfilled: tuple[StageContext, str], market: oracle.Market
) -> None:
    ctx, name = backfilled
    universe = load_universe(name)
    rows = await fetch(
        ctx.database_url,
        "SELECT as_of_date, period, etf_ticker, return_pct, spy_return_pct, rank, is_trending "
        "FROM analytics_03_trending_etfs WHERE as_of_date = ANY($1::date[])",
        CHECKED,
    )
    got = {(r["as_of_date"], r["period"], r["etf_ticker"]): r for r in rows}
    assert len(got) == len(CHECKED) * 3 * len(universe.tickers)
    trending_days = 0
    for d in CHECKED:
        for p in oracle.PERIODS:
            for want in oracle.trending(market, universe, d, p):
                row = got[(d, p, want.etf)]
                where = (name, d, p, want.etf)
                if want.r is None:
                    assert row["return_pct"] is None, where
                else:
                    assert row["return_pct"] == pytest.approx(100 * want.r, abs=1e-9), where
                assert row["spy_return_pct"] == pytest.approx(100 * want.spy_r, abs=1e-9), where
                assert (row["rank"], row["is_trending"]) == (want.rank, want.is_trending), where
                trending_days += want.is_trending
    assert trending_days > 0


async def test_portfolios_match_the_oracle(
    backfilled: tuple[StageContext, str], market: oracle.Market
) -> None:
    ctx, name = backfilled
    universe = load_universe(name)
    rows = await fetch(
        ctx.database_url,
        "SELECT as_of_date, period_days, ticker, etf_ticker, portfolio_weight, rank, return_pct, "
        "market_cap FROM analytics_05_portfolio_allocation WHERE as_of_date = ANY($1::date[])",
        CHECKED,
    )
    got: dict[tuple[date, int], dict[str, asyncpg.Record]] = defaultdict(dict)
    for r in rows:
        got[(r["as_of_date"], r["period_days"])][r["ticker"]] = r
    compared = 0
    for d in CHECKED:
        for p in oracle.PERIODS:
            want = oracle.allocation(market, universe, d, p)
            have = got.get((d, p), {})
            assert sorted(have) == sorted(x.ticker for x in want), (name, d, p)
            for pick in want:
                row = have[pick.ticker]
                where = (name, d, p, pick.ticker)
                assert row["etf_ticker"] == pick.etf, where
                assert row["rank"] == pick.rank, where
                assert row["portfolio_weight"] == pytest.approx(pick.weight, abs=1e-9), where
                assert row["return_pct"] == pytest.approx(100 * pick.r, abs=1e-9), where
                assert row["market_cap"] == round(pick.mcap), where
                compared += 1
    assert compared > len(CHECKED)  # most sessions have picks in some period


async def test_monthly_portfolios_match_the_oracle(
    backfilled: tuple[StageContext, str], market: oracle.Market
) -> None:
    ctx, name = backfilled
    universe = load_universe(name)
    rows = await fetch(
        ctx.database_url,
        "SELECT rebalance_date, ticker, final_rank, final_weight, score, source_periods, "
        "valid_until FROM analytics_08_monthly_portfolio ORDER BY rebalance_date, final_rank",
    )
    wanted = {d: oracle.monthly(market, universe, d) for d in MONTH_ENDS}
    assert sorted({r["rebalance_date"] for r in rows}) == [d for d in MONTH_ENDS if wanted[d]]
    assert len([d for d in MONTH_ENDS if wanted[d]]) >= 2
    for d in (d for d in MONTH_ENDS if wanted[d]):
        have = [r for r in rows if r["rebalance_date"] == d]
        want = wanted[d]
        assert [(r["final_rank"], r["ticker"], r["source_periods"], r["valid_until"])
                for r in have] == [
            (w.rank, w.ticker, w.source_periods, w.valid_until) for w in want
        ], (name, d)
        for r, w in zip(have, want, strict=True):
            assert r["final_weight"] == pytest.approx(w.weight, abs=1e-9), (name, d, w.ticker)
            assert r["score"] == pytest.approx(w.score, abs=1e-9), (name, d, w.ticker)
        assert sum(r["final_weight"] for r in have) == pytest.approx(1, abs=1e-9)


async def test_etf_analytics_match_the_oracle(
    backfilled: tuple[StageContext, str], market: oracle.Market
) -> None:
    ctx, name = backfilled
    universe = load_universe(name)
    days = CHECKED[::4]
    returns = await fetch(
        ctx.database_url,
        "SELECT as_of_date, etf_ticker, month, monthly_return, is_complete "
        "FROM analytics_10_etf_monthly_returns WHERE as_of_date = ANY($1::date[])",
        days,
    )
    assert returns
    for r in returns:
        want = oracle.month_return(market, r["etf_ticker"], r["as_of_date"], r["month"])
        assert want is not None and r["monthly_return"] == pytest.approx(want, abs=1e-12), r
    months = {(r["as_of_date"], r["etf_ticker"]) for r in returns}
    assert len(months) == len(days) * len(universe.tickers)
    top = await fetch(
        ctx.database_url,
        "SELECT as_of_date, etf_ticker, time_period, holding_ticker, rank_position, total_return "
        "FROM analytics_09_etf_top_holdings WHERE as_of_date = ANY($1::date[])",
        days,
    )
    by_key: dict[tuple[date, str, int], list[asyncpg.Record]] = defaultdict(list)
    for r in top:
        by_key[(r["as_of_date"], r["etf_ticker"], r["time_period"])].append(r)
    # stage 4 stores the snapshots of the ETFs that trended (on any session)
    stored = {
        r["etf_ticker"]
        for r in await fetch(ctx.database_url,
                             "SELECT DISTINCT etf_ticker FROM collected_04_etf_holdings")
    }
    assert stored
    compared = 0
    for d in days:
        for etf in universe.tickers:
            if etf not in stored:
                assert not any(k[1] == etf for k in by_key), etf
                continue
            # only holdings whose prices were collected (stage 4, trending ETFs) have a return
            known = [h for h, _ in market.top10(etf, d)]
            collected = await fetch(
                ctx.database_url,
                "SELECT ticker, max(trade_date) AS last FROM collected_06_daily_stock_history "
                "WHERE ticker = ANY($1::text[]) GROUP BY ticker",
                known,
            )
            names = {r["ticker"] for r in collected}
            if any(r["last"] < d for r in collected):
                # stage 4 refreshes a holding's prices only while its ETF trends: the oracle's
                # full history would see bars the database does not have yet
                continue
            compared += 1
            for p in oracle.PERIODS:
                ranked = sorted(
                    (h for h in known if h in names and market.r(h, d, p) is not None),
                    key=lambda h: (-market.r(h, d, p), h),  # type: ignore[operator]
                )[: 5]
                have = sorted(by_key.get((d, etf, p), []), key=lambda r: r["rank_position"])
                assert [r["holding_ticker"] for r in have] == ranked, (name, d, etf, p)
                for r in have:
                    assert r["total_return"] == pytest.approx(
                        100 * market.r(r["holding_ticker"], d, p), abs=1e-9  # type: ignore[operator]
                    )
    assert compared >= len(days)


async def test_invariants_on_every_session(
    backfilled: tuple[StageContext, str], market: oracle.Market
) -> None:
    ctx, name = backfilled
    trend = await fetch(
        ctx.database_url,
        "SELECT as_of_date, period, etf_ticker, return_pct, spy_return_pct, is_trending "
        "FROM analytics_03_trending_etfs",
    )
    assert {r["as_of_date"] for r in trend} == set(SESSIONS)
    trending20: dict[date, set[str]] = defaultdict(set)
    for r in trend:
        beats = (
            r["etf_ticker"] != "SPY" and r["return_pct"] is not None
            and r["return_pct"] > r["spy_return_pct"] and r["return_pct"] > 0
        )
        assert r["is_trending"] == beats, (name, r)
        if r["is_trending"] and r["period"] == 20:
            trending20[r["as_of_date"]].add(r["etf_ticker"])
    picks = await fetch(
        ctx.database_url,
        "SELECT as_of_date, period_days, ticker, etf_ticker, portfolio_weight, rank "
        "FROM analytics_05_portfolio_allocation",
    )
    groups: dict[tuple[date, int], list[asyncpg.Record]] = defaultdict(list)
    for r in picks:
        groups[(r["as_of_date"], r["period_days"])].append(r)
    assert len(groups) > len(SESSIONS)  # most sessions have portfolios
    for (d, p), rows in groups.items():
        where = (name, d, p)
        assert abs(sum(r["portfolio_weight"] for r in rows) - 1) < 1e-9, where
        assert all(0 < r["portfolio_weight"] <= 1 for r in rows), where
        assert len({r["ticker"] for r in rows}) == len(rows), where  # no pick twice
        assert len({r["etf_ticker"] for r in rows}) == len(rows), where  # one pick per ETF
        assert sorted(r["rank"] for r in rows) == list(range(1, len(rows) + 1)), where
        for r in rows:
            assert r["etf_ticker"] in trending20[d], (where, r["ticker"])
            assert r["ticker"] in market.selected(r["etf_ticker"], d), (where, r["ticker"])


TABLES = {
    "analytics_03_trending_etfs": ("as_of_date", "etf_ticker, period"),
    "analytics_05_portfolio_allocation": ("as_of_date", "period_days, ticker"),
    "analytics_08_monthly_portfolio": ("rebalance_date", "ticker"),
    "analytics_09_etf_top_holdings": ("as_of_date", "etf_ticker, time_period, holding_ticker"),
    "analytics_10_etf_monthly_returns": ("as_of_date", "etf_ticker, month"),
}


async def snapshot(url: str, *days: date) -> dict[str, list[dict[str, Any]]]:
    """Every analytics row of ``days`` (without ``id`` and ``created_at``), in key order."""
    out = {}
    for table, (column, order) in TABLES.items():
        rows = await fetch(
            url,
            f"SELECT * FROM {table} WHERE {column} = ANY($1::date[]) ORDER BY {column}, {order}",
            list(days),
        )
        out[table] = [
            {k: v for k, v in r.items() if k not in ("id", "created_at")} for r in rows
        ]
    return out


async def test_each_session_alone_equals_the_backfill(
    backfilled: tuple[StageContext, str],
) -> None:
    ctx, name = backfilled
    if name != "spdr":
        pytest.skip("the same code path as spdr: one universe keeps the suite's time down")
    for d in (date(2026, 6, 30),):  # a month end: every stage writes rows for it
        before = await snapshot(ctx.database_url, d)
        assert before["analytics_03_trending_etfs"] and before["analytics_10_etf_monthly_returns"]
        for job in (run_trending, run_allocation, run_monthly, run_top_holdings,
                    run_monthly_returns):
            await asyncio.to_thread(job, ctx, d)
        after = await snapshot(ctx.database_url, d)
        for table in TABLES:
            assert after[table] == before[table], (name, d, table)
