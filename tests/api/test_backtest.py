"""`/backtest` and `/backtest/runs` against the run `trendfolio backtest` stored in the session
fixture: the API must serve exactly the stored rows (and what the CLI printed), and those must
hang together (equity, drawdown, metrics, the SPY curve from the collected prices)."""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.api import ApiServer, LoadedDb, start_server
from tests.support.databases import create_database
from trendfolio import calendar
from trendfolio.db.connect import connection
from trendfolio.db.server import PgServer

STRATEGIES = ["5d", "10d", "20d", "monthly", "SPY"]
YEAR = 252


async def fetch(db: LoadedDb, query: str, *args: object) -> list[asyncpg.Record]:
    async with connection(db.url) as conn:
        return list(await conn.fetch(query, *args))


@pytest.fixture(scope="module")
def body(client: httpx.Client) -> dict[str, Any]:
    resp = client.get("/backtest")
    assert resp.status_code == 200, resp.text
    payload: dict[str, Any] = resp.json()
    return payload


def _by_strategy(series: list[dict[str, Any]]) -> dict[str, list[float]]:
    return {s: [p[s] for p in series] for s in STRATEGIES}


async def test_the_newest_run_is_the_one_the_cli_stored(
    body: dict[str, Any], loaded_db: LoadedDb
) -> None:
    cli = loaded_db.backtest
    run = body["run"]
    assert run["id"] == cli["run"]["id"]
    (row,) = await fetch(loaded_db, "SELECT * FROM backtest_runs WHERE id = $1", run["id"])
    for key in ("start_date", "end_date", "created_at"):
        assert run[key] == row[key].isoformat().replace("+00:00", "Z"), key
    for key in ("universe", "source", "is_sample", "cost_bps", "lag", "sessions",
                "point_in_time", "elapsed_seconds"):
        assert run[key] == row[key], key
    assert (run["start_date"], run["end_date"]) == (cli["run"]["start"], cli["run"]["end"])
    assert run["source"] == loaded_db.source and run["universe"] == "spdr"
    assert (run["cost_bps"], run["lag"]) == (10.0, 1)  # the CLI's defaults
    assert body["caveats"] == cli["caveats"] and body["caveats"]


async def test_every_figure_is_the_stored_row(body: dict[str, Any], loaded_db: LoadedDb) -> None:
    run_id = body["run"]["id"]
    metrics = await fetch(loaded_db, "SELECT * FROM backtest_metrics WHERE run_id = $1", run_id)
    assert list(body["strategies"]) == STRATEGIES
    for r in metrics:
        assert body["strategies"][r["strategy"]] == {
            k: r[k] for k in body["strategies"][r["strategy"]]}, r["strategy"]
    assert body["strategies"] == loaded_db.backtest["strategies"]  # what the CLI printed

    rows = await fetch(loaded_db, "SELECT * FROM backtest_equity WHERE run_id = $1 "
                                  "ORDER BY trade_date, strategy", run_id)
    stored: dict[str, dict[str, float]] = {}
    for r in rows:
        stored.setdefault(r["trade_date"].isoformat(), {})[r["strategy"]] = r["equity"]
    assert {p["date"]: {s: p[s] for s in STRATEGIES} for p in body["equity"]} == stored
    assert body["equity"] == loaded_db.backtest["equity"]
    drawdown = {(r["trade_date"].isoformat(), r["strategy"]): r["drawdown"] for r in rows}
    assert {(p["date"], s): p[s] for p in body["drawdown"] for s in STRATEGIES} == drawdown
    assert body["turnover"] == [
        {"date": r["trade_date"].isoformat(), "strategy": r["strategy"], "turnover": r["turnover"]}
        for r in rows if r["turnover"] is not None]

    pit = await fetch(loaded_db, "SELECT * FROM backtest_point_in_time WHERE run_id = $1 "
                                 "ORDER BY as_of_date", run_id)
    assert [d["as_of_date"] for d in body["point_in_time"]["by_date"]] == [
        r["as_of_date"].isoformat() for r in pit]
    for shown, r in zip(body["point_in_time"]["by_date"], pit, strict=True):
        for key in ("picks", "holdings_dated_ok", "caps_dated_ok", "recorded_in_time"):
            assert shown[key] == r[key], (r["as_of_date"], key)
    cli_pit = loaded_db.backtest["point_in_time"]
    assert {k: v for k, v in body["point_in_time"].items() if k != "by_date"} == {
        k: v for k, v in cli_pit.items() if k != "by_date"}

    picks = await fetch(loaded_db, "SELECT * FROM backtest_pick_returns WHERE run_id = $1 "
                                   "ORDER BY period_days, horizon", run_id)
    assert body["picks"] == [{k: v for k, v in dict(p).items() if k != "run_id"} for p in picks]
    assert body["picks"], "the range is long enough for 5-session forward returns"


def test_the_curves_and_the_metrics_hang_together(body: dict[str, Any]) -> None:
    run = body["run"]
    sessions = calendar.sessions_between(date.fromisoformat(run["start_date"]),
                                         date.fromisoformat(run["end_date"]))
    assert [p["date"] for p in body["equity"]] == [s.isoformat() for s in sessions]
    assert [p["date"] for p in body["drawdown"]] == [s.isoformat() for s in sessions]
    assert run["sessions"] == len(sessions)
    equity = _by_strategy(body["equity"])
    drawdown = _by_strategy(body["drawdown"])
    turnover: dict[str, list[float]] = {}
    for t in body["turnover"]:
        turnover.setdefault(t["strategy"], []).append(t["turnover"])
    years = (len(sessions) - 1) / YEAR
    for s in STRATEGIES:
        curve, m = equity[s], body["strategies"][s]
        assert curve[0] == pytest.approx(1.0, abs=1e-12), s
        assert m["total_return"] == pytest.approx(curve[-1] - 1, abs=1e-12), s
        assert m["cagr"] == pytest.approx(curve[-1] ** (1 / years) - 1, rel=1e-9), s
        peak = -math.inf
        for e, d in zip(curve, drawdown[s], strict=True):
            peak = max(peak, e)
            assert d == pytest.approx(e / peak - 1, abs=1e-12) and d <= 0, s
        assert m["max_drawdown"] == pytest.approx(min(drawdown[s]), abs=1e-12), s
        rets = [b / a - 1 for a, b in itertools.pairwise(curve)]
        sd = statistics.stdev(rets)
        assert m["volatility"] == pytest.approx(sd * math.sqrt(YEAR), rel=1e-9), s
        assert m["sharpe"] == pytest.approx(statistics.fmean(rets) / sd * math.sqrt(YEAR),
                                            rel=1e-9), s
        if s == "SPY":
            assert m["hit_rate"] is None
            continue
        assert m["trades"] == len(turnover.get(s, [])), s
        assert m["turnover_per_year"] == pytest.approx(sum(turnover.get(s, [])) / years,
                                                       rel=1e-9), s
        assert m["hit_rate"] is None or 0 <= m["hit_rate"] <= 1, s
    # Before its first trade a strategy holds cash: flat at 1.
    for s in ("5d", "10d", "20d"):
        first_trade = min(t["date"] for t in body["turnover"] if t["strategy"] == s)
        assert first_trade == sessions[run["lag"]].isoformat(), s
        assert equity[s][: run["lag"]] == [1.0] * run["lag"], s


async def test_spy_is_bought_and_held_from_the_first_close(
    body: dict[str, Any], loaded_db: LoadedDb
) -> None:
    """Recomputed from the collected SPY bars: chained daily returns, adjusted close when both
    bars have it, otherwise close."""
    bars = await fetch(
        loaded_db, "SELECT trade_date, close_price, adj_close FROM collected_01_daily_etf_ohlc "
        "WHERE ticker = 'SPY' AND trade_date BETWEEN $1 AND $2 ORDER BY trade_date",
        date.fromisoformat(body["run"]["start_date"]), date.fromisoformat(body["run"]["end_date"]))
    assert [b["trade_date"].isoformat() for b in bars] == [p["date"] for p in body["equity"]]
    value, expected = 1.0, [1.0]
    for a, b in itertools.pairwise(bars):
        both = a["adj_close"] is not None and b["adj_close"] is not None
        key = "adj_close" if both else "close_price"
        value *= float(b[key]) / float(a[key])
        expected.append(value)
    assert [p["SPY"] for p in body["equity"]] == pytest.approx(expected, rel=1e-9)


def test_the_point_in_time_report_and_its_caveat_agree(body: dict[str, Any]) -> None:
    pit = body["point_in_time"]
    clean = [d for d in pit["by_date"] if d["clean"]]
    assert pit["dates"] == len(pit["by_date"]) > 0 and pit["clean"] == len(clean)
    for d in pit["by_date"]:
        assert d["clean"] is (d["holdings_dated_ok"] and d["caps_dated_ok"]
                              and d["recorded_in_time"])
    assert body["run"]["point_in_time"] is (pit["clean"] == pit["dates"])
    loud = [c for c in body["caveats"] if c.startswith("NOT POINT-IN-TIME")]
    assert len(loud) == (0 if body["run"]["point_in_time"] else 1)
    # The backfill collected history after the fact: not recorded in time, so not clean.
    assert body["run"]["point_in_time"] is False and loud


# The stored run copied under a new id (cost 0 bps): a newer run whose rows are real ones.
COPY_RUN = """
INSERT INTO backtest_runs (start_date, end_date, universe, source, is_sample, cost_bps, lag,
                           sessions, point_in_time, caveats, elapsed_seconds)
SELECT start_date, end_date, universe, source, is_sample, 0, lag, sessions, point_in_time,
       caveats, elapsed_seconds
FROM backtest_runs WHERE id = $1 RETURNING id"""
COPY_CHILDREN = (
    """INSERT INTO backtest_metrics
       SELECT $1, strategy, total_return, cagr, volatility, sharpe, max_drawdown,
              turnover_per_year, trades, hit_rate FROM backtest_metrics WHERE run_id = $2""",
    """INSERT INTO backtest_equity
       SELECT $1, strategy, trade_date, equity, drawdown, daily_return, turnover
       FROM backtest_equity WHERE run_id = $2""",
    """INSERT INTO backtest_point_in_time
       SELECT $1, as_of_date, picks, holdings_dated_ok, caps_dated_ok, recorded_in_time,
              oldest_snapshot, newest_cap, last_recorded_at
       FROM backtest_point_in_time WHERE run_id = $2""",
    """INSERT INTO backtest_pick_returns
       SELECT $1, period_days, horizon, picks, mean_pick_return, mean_etf_return, mean_excess,
              median_excess, beat_etf_share FROM backtest_pick_returns WHERE run_id = $2""",
)


@pytest.fixture
async def second_run(body: dict[str, Any], loaded_db: LoadedDb) -> AsyncIterator[int]:
    """A newer run (the stored one copied, in one transaction), removed afterwards."""
    async with connection(loaded_db.url) as conn:
        async with conn.transaction():
            new_id: int = await conn.fetchval(COPY_RUN, body["run"]["id"])
            for sql in COPY_CHILDREN:
                await conn.execute(sql, new_id, body["run"]["id"])
        try:
            yield new_id
        finally:
            await conn.execute("DELETE FROM backtest_runs WHERE id = $1", new_id)


def test_runs_are_listed_newest_first_and_chosen_by_id(
    client: httpx.Client, body: dict[str, Any], second_run: int
) -> None:
    first = body["run"]["id"]
    runs = client.get("/backtest/runs").json()
    assert [r["id"] for r in runs][:2] == [second_run, first]
    created = [r["created_at"] for r in runs]
    assert created == sorted(created, reverse=True)
    assert runs[1] == body["run"]
    assert [r["id"] for r in client.get("/backtest/runs", params={"limit": 1}).json()] == [
        second_run]
    newest = client.get("/backtest").json()
    assert newest["run"]["id"] == second_run and newest["run"]["cost_bps"] == 0
    chosen = client.get("/backtest", params={"run_id": first}).json()
    assert chosen == body


async def test_a_run_still_being_written_is_not_served(
    client: httpx.Client, body: dict[str, Any], loaded_db: LoadedDb
) -> None:
    """A run row whose metrics are not stored yet (its transaction not done) stays invisible."""
    async with connection(loaded_db.url) as conn:
        half = await conn.fetchval(
            "INSERT INTO backtest_runs (start_date, end_date, universe, source, cost_bps, lag, "
            "sessions, point_in_time) VALUES ('2026-08-03', '2026-08-20', 'spdr', 'sample', 10, "
            "1, 14, false) RETURNING id")
        try:
            assert client.get("/backtest").json()["run"]["id"] == body["run"]["id"]
            assert half not in [r["id"] for r in client.get("/backtest/runs").json()]
            resp = client.get("/backtest", params={"run_id": half})
            assert resp.status_code == 404 and str(half) in resp.json()["detail"]
        finally:
            await conn.execute("DELETE FROM backtest_runs WHERE id = $1", half)


@pytest.fixture(scope="module")
def empty_api(
    pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    """`trendfolio serve api` on a migrated database nothing was written to."""
    url = asyncio.run(create_database(pg_server, "api_empty", migrated=True))
    home: Path = tmp_path_factory.mktemp("api-empty")
    yield from start_server(LoadedDb(url, url, "sample", ()), home, readonly=False)


def test_without_any_run_the_api_says_how_to_make_one(empty_api: ApiServer) -> None:
    resp = httpx.get(f"{empty_api.url}/backtest")
    assert resp.status_code == 404
    assert "trendfolio backtest --start" in resp.json()["detail"]
    assert httpx.get(f"{empty_api.url}/backtest/runs").json() == []
    assert httpx.get(f"{empty_api.url}/backtest", params={"run_id": 1}).status_code == 404
