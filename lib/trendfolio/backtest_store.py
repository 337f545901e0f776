"""Backtest data access: the point-in-time report, the caveats, and runs saved to and read from
the tables of migration 0004."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from trendfolio.backtest import (
    BENCHMARK,
    CAVEAT_COSTS,
    CAVEAT_NOT_POINT_IN_TIME,
    CAVEAT_SAMPLE,
    CAVEAT_SHORT,
    CAVEAT_STALE_SNAPSHOT,
    METRIC_KEYS,
    TRADING_DAYS,
    Metrics,
    daily_returns,
    drawdowns,
)

STALE_SNAPSHOT_DAYS = 31

# For every signal date of the range with picks: were the holdings snapshots and market caps
# behind its picks dated on or before it (the allocation's own flag covers the snapshot's date
# and the source's point-in-time flag), and were they stored on or before it (New York date)?
POINT_IN_TIME_SQL = """
WITH picks AS (
    SELECT as_of_date, ticker, etf_ticker, is_point_in_time
    FROM analytics_05_portfolio_allocation
    WHERE as_of_date BETWEEN $1 AND $2
), pairs AS (
    SELECT DISTINCT as_of_date, etf_ticker FROM picks
), used AS (
    SELECT p.as_of_date, p.etf_ticker,
           (SELECT max(h.as_of_date) FROM collected_04_etf_holdings h
             WHERE h.etf_ticker = p.etf_ticker AND h.as_of_date <= p.as_of_date) AS snap_date
    FROM pairs p
), snaps AS (
    SELECT etf_ticker, as_of_date AS snap_date, bool_and(is_point_in_time) AS snap_pit,
           max(created_at) AS snap_recorded
    FROM collected_04_etf_holdings
    WHERE etf_ticker IN (SELECT etf_ticker FROM pairs)
    GROUP BY etf_ticker, as_of_date
), snap_by_date AS (
    SELECT u.as_of_date,
           bool_and(s.snap_pit IS TRUE) AS snap_ok,
           bool_and((s.snap_recorded AT TIME ZONE 'America/New_York')::date <= u.as_of_date)
               AS snap_recorded_ok,
           min(u.snap_date) AS oldest_snapshot,
           max(s.snap_recorded) AS snap_recorded
    FROM used u LEFT JOIN snaps s USING (etf_ticker, snap_date)
    GROUP BY u.as_of_date
), caps AS (
    SELECT p.as_of_date, p.ticker, c.cap_date, c.cap_recorded
    FROM (SELECT DISTINCT as_of_date, ticker FROM picks) p
    LEFT JOIN LATERAL (
        SELECT f.as_of_date AS cap_date, f.created_at AS cap_recorded
        FROM collected_07_stock_fundamentals f
        WHERE f.ticker = p.ticker AND f.as_of_date <= p.as_of_date
          AND (f.market_cap IS NOT NULL OR f.shares_outstanding IS NOT NULL)
        ORDER BY f.as_of_date DESC LIMIT 1
    ) c ON true
), cap_by_date AS (
    SELECT as_of_date,
           count(*) AS picks,
           bool_and(cap_date IS NOT NULL) AS caps_ok,
           bool_and((cap_recorded AT TIME ZONE 'America/New_York')::date <= as_of_date)
               AS cap_recorded_ok,
           max(cap_date) AS newest_cap,
           max(cap_recorded) AS cap_recorded
    FROM caps GROUP BY as_of_date
), alloc_by_date AS (
    SELECT as_of_date, bool_and(is_point_in_time) AS alloc_ok FROM picks GROUP BY as_of_date
)
SELECT a.as_of_date,
       c.picks::int AS picks,
       (a.alloc_ok AND coalesce(s.snap_ok, false)) AS holdings_dated_ok,
       coalesce(c.caps_ok, false) AS caps_dated_ok,
       (coalesce(s.snap_recorded_ok, false) AND coalesce(c.cap_recorded_ok, false))
           AS recorded_in_time,
       s.oldest_snapshot,
       c.newest_cap,
       greatest(s.snap_recorded, c.cap_recorded) AS last_recorded_at
FROM alloc_by_date a
JOIN cap_by_date c USING (as_of_date)
LEFT JOIN snap_by_date s USING (as_of_date)
ORDER BY a.as_of_date
"""

PIT_COLUMNS = (
    "as_of_date",
    "picks",
    "holdings_dated_ok",
    "caps_dated_ok",
    "recorded_in_time",
    "oldest_snapshot",
    "newest_cap",
    "last_recorded_at",
)


async def point_in_time_report(
    conn: asyncpg.Connection, start: date, end: date
) -> list[dict[str, Any]]:
    """One row per session of [start, end] that has picks (see ``POINT_IN_TIME_SQL``)."""
    return [dict(r) for r in await conn.fetch(POINT_IN_TIME_SQL, start, end)]


def is_clean(row: Mapping[str, Any]) -> bool:
    return bool(row["holdings_dated_ok"] and row["caps_dated_ok"] and row["recorded_in_time"])


def point_in_time_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "dates": len(rows),
        "clean": sum(is_clean(r) for r in rows),
        "holdings_dated_ok": sum(bool(r["holdings_dated_ok"]) for r in rows),
        "caps_dated_ok": sum(bool(r["caps_dated_ok"]) for r in rows),
        "recorded_in_time": sum(bool(r["recorded_in_time"]) for r in rows),
    }


def caveats(
    pit: Sequence[Mapping[str, Any]],
    sessions: Sequence[date],
    cost_bps: float,
    lag: int,
    is_sample: bool,
    missing_prices: Sequence[str] = (),
) -> list[str]:
    """Plain-words caveats for every output, the point-in-time warning first."""
    out: list[str] = []
    bad = [r for r in pit if not is_clean(r)]
    if bad:
        out.append(CAVEAT_NOT_POINT_IN_TIME.format(
            total=len(pit),
            dated=sum(not (r["holdings_dated_ok"] and r["caps_dated_ok"]) for r in pit),
            stored=sum(not r["recorded_in_time"] for r in pit),
        ))
    snaps = [r["oldest_snapshot"] for r in pit if r["oldest_snapshot"] is not None]
    if snaps and (sessions[0] - min(snaps)).days > STALE_SNAPSHOT_DAYS:
        oldest = min(snaps)
        out.append(CAVEAT_STALE_SNAPSHOT.format(oldest=oldest, days=(sessions[0] - oldest).days))
    if is_sample:
        out.append(CAVEAT_SAMPLE)
    if len(sessions) - 1 < TRADING_DAYS:
        out.append(CAVEAT_SHORT.format(sessions=len(sessions)))
    if missing_prices:
        out.append(
            "No prices could be collected up to the end for "
            + ", ".join(sorted(missing_prices))
            + ": their days without a bar count as 0 return."
        )
    out.append(CAVEAT_COSTS.format(cost_bps=cost_bps, lag=lag))
    return out


@dataclass(frozen=True)
class RunRecord:
    start: date
    end: date
    universe: str
    source: str
    is_sample: bool
    cost_bps: float
    lag: int
    sessions: list[date]
    metrics: dict[str, Metrics]
    equity: dict[str, list[float]]
    turnover: dict[str, dict[int, float]]  # strategy → {session index: turnover}
    point_in_time: list[dict[str, Any]]
    picks: list[dict[str, Any]]
    caveats: list[str]
    elapsed_seconds: float

    @property
    def clean(self) -> bool:
        return bool(self.point_in_time) and all(is_clean(r) for r in self.point_in_time)


async def save_run(conn: asyncpg.Connection, run: RunRecord) -> int:
    """Store ``run`` (one transaction, batch inserts); return its id."""
    async with conn.transaction():
        run_id: int = await conn.fetchval(
            """INSERT INTO backtest_runs (start_date, end_date, universe, source, is_sample,
                   cost_bps, lag, sessions, point_in_time, caveats, elapsed_seconds)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11) RETURNING id""",
            run.start, run.end, run.universe, run.source, run.is_sample, run.cost_bps, run.lag,
            len(run.sessions), run.clean, json.dumps(run.caveats), run.elapsed_seconds,
        )
        await conn.copy_records_to_table(
            "backtest_metrics",
            columns=["run_id", "strategy", *METRIC_KEYS],
            records=[
                (run_id, s, *(getattr(m, k) for k in METRIC_KEYS)) for s, m in run.metrics.items()
            ],
        )
        equity_rows: list[tuple[Any, ...]] = []
        for strategy, curve in run.equity.items():
            rets = [None, *daily_returns(curve)]
            dd = drawdowns(curve)
            turns = run.turnover.get(strategy, {})
            equity_rows.extend(
                (run_id, strategy, day, curve[j], dd[j], rets[j], turns.get(j))
                for j, day in enumerate(run.sessions)
            )
        await conn.copy_records_to_table(
            "backtest_equity",
            columns=["run_id", "strategy", "trade_date", "equity", "drawdown", "daily_return",
                     "turnover"],
            records=equity_rows,
        )
        await conn.copy_records_to_table(
            "backtest_point_in_time",
            columns=["run_id", *PIT_COLUMNS],
            records=[(run_id, *(r[c] for c in PIT_COLUMNS)) for r in run.point_in_time],
        )
        await conn.copy_records_to_table(
            "backtest_pick_returns",
            columns=["run_id", *run.picks[0].keys()] if run.picks else ["run_id"],
            records=[(run_id, *p.values()) for p in run.picks],
        )
    return run_id


def report(run: RunRecord, run_id: int | None = None) -> dict[str, Any]:
    """The command's JSON: strategies' metrics, the equity curves by date, the point-in-time
    report, the pick leg and the caveats."""
    order = [s for s in run.metrics if s != BENCHMARK] + [BENCHMARK]
    return {
        "run": {
            "id": run_id,
            "start": run.start.isoformat(),
            "end": run.end.isoformat(),
            "universe": run.universe,
            "source": run.source,
            "is_sample": run.is_sample,
            "cost_bps": run.cost_bps,
            "lag": run.lag,
            "sessions": len(run.sessions),
            "point_in_time": run.clean,
        },
        "caveats": run.caveats,
        "strategies": {s: run.metrics[s].as_dict() for s in order},
        "equity": [
            {"date": day.isoformat(), **{s: run.equity[s][j] for s in order}}
            for j, day in enumerate(run.sessions)
        ],
        "point_in_time": {
            **point_in_time_summary(run.point_in_time),
            "by_date": [
                {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
                for r in run.point_in_time
            ],
        },
        "picks": run.picks,
    }
