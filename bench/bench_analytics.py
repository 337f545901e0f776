"""Every analytics stage (3, 5, 6, 7, 8) for every session of a synthetic market, one Spark job
per stage, next to the one-date job called per session (measured on a sample of sessions in the
same run and extrapolated to all of them).

Usage: .venv/bin/python bench/bench_analytics.py [--stocks 500] [--years 10] [--scales 1,4,16]
       [--sample 4]
Targets (issue: analytics): all sessions of 500 stocks x 10 years <= 120 s on 2 cores; >= 20x
faster than the per-session loop. Scale k multiplies the number of stocks by k; the growth is
measured at 1/16, 1/4 and 1 of the 500-stock market (a 16x range of data), because 16 x 500
stocks x 10 years (20 M bars) does not fit this machine's memory and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import psutil

from trendfolio.calendar import is_last_session_of_month, sessions_between
from trendfolio.config import load_settings
from trendfolio.db.migrate import migrate
from trendfolio.db.server import PgServer
from trendfolio.pipeline import StageContext
from trendfolio.universe import load_universe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests.support
from tests.support.paths import REPO

END = date(2026, 8, 20)


def synthetic_rows(
    tickers: list[str], sectors: list[str], n_stocks: int, sessions: list[date], seed: int = 7
) -> dict[str, list[tuple[Any, ...]]]:
    """ETF and stock bars (random walks with a sector factor), weekly market caps, and one
    holdings snapshot per ETF and year (weights drift, so the top 10 changes).
    """
    rng = np.random.default_rng(seed)
    n = len(sessions)
    etf_paths = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.011, (len(tickers), n)), axis=1))
    etf = [
        (t, sessions[j], float(round(etf_paths[i, j], 4)), float(round(etf_paths[i, j] * 0.98, 4)))
        for i, t in enumerate(tickers)
        for j in range(n)
    ]
    sector_of = [sectors[i % len(sectors)] for i in range(n_stocks)]
    factor = {s: rng.normal(0.0003, 0.012, n) for s in sectors}
    stocks, caps = [], []
    shares = rng.uniform(1e8, 5e9, n_stocks)
    for i in range(n_stocks):
        path = np.round(50 * np.exp(np.cumsum(factor[sector_of[i]] + rng.normal(0, 0.015, n))), 4)
        volume = rng.integers(100_000, 10_000_000, n)
        present = np.ones(n, dtype=bool)
        present[rng.choice(n, size=n // 200, replace=False)] = False  # a few missing bars
        name = f"S{i:05d}"
        stocks.extend(
            (name, sessions[j], float(path[j]), None, int(volume[j]))
            for j in np.flatnonzero(present).tolist()
        )
        caps.extend(
            (name, sessions[j], float(round(path[j] * shares[i], 2)), None) for j in range(0, n, 5)
        )
        caps.append((name, sessions[0] - timedelta(days=1), None, float(round(shares[i]))))
    holdings = []
    years = sorted({d.year for d in sessions})
    for k, etf_ticker in enumerate(tickers):
        members = [i for i in range(n_stocks) if i % len(tickers) == k or i % 7 == k % 7][:60]
        for y in years:
            w = rng.dirichlet(np.ones(len(members)))
            snapshot = date(y, 1, 2) if y > years[0] else sessions[0]
            holdings.extend(
                (etf_ticker, f"S{m:05d}", float(round(wi, 8)), snapshot)
                for m, wi in zip(members, w, strict=True)
            )
    return {"etf": etf, "stock": stocks, "caps": caps, "holdings": holdings}


async def load(url: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        await conn.copy_records_to_table(
            "collected_01_daily_etf_ohlc", records=rows["etf"],
            columns=["ticker", "trade_date", "close_price", "adj_close"])
        await conn.copy_records_to_table(
            "collected_06_daily_stock_history", records=rows["stock"],
            columns=["ticker", "trade_date", "close_price", "adj_close", "volume"])
        await conn.copy_records_to_table(
            "collected_07_stock_fundamentals", records=rows["caps"],
            columns=["ticker", "as_of_date", "market_cap", "shares_outstanding"])
        await conn.copy_records_to_table(
            "collected_04_etf_holdings", records=rows["holdings"],
            columns=["etf_ticker", "holding_ticker", "holding_percent", "as_of_date"])
    finally:
        await conn.close()


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its children: the Spark JVM and its
    Python workers (PostgreSQL's own work on the writes is not counted).
    """
    total = 0.0
    me = psutil.Process()
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def load_average() -> float:
    """The 1-minute load average: the benchmark shares the machine's 2 cores."""
    return round(os.getloadavg()[0], 2)


def stage_functions() -> list[tuple[str, Callable[..., Any], Callable[..., Any]]]:
    from trendfolio_jobs.allocation import run_allocation, run_allocation_range
    from trendfolio_jobs.etf_analytics import (
        run_monthly_returns,
        run_monthly_returns_range,
        run_top_holdings,
        run_top_holdings_range,
    )
    from trendfolio_jobs.monthly import run_monthly, run_monthly_range
    from trendfolio_jobs.trending import run_trending, run_trending_range

    return [
        ("3 trending", run_trending_range, run_trending),
        ("5 allocation", run_allocation_range, run_allocation),
        ("6 monthly", run_monthly_range, run_monthly),
        ("7 top-holdings", run_top_holdings_range, run_top_holdings),
        ("8 monthly-returns", run_monthly_returns_range, run_monthly_returns),
    ]


def run_scale(server: PgServer, scale: float, args: argparse.Namespace, home: Path,
              sample: bool) -> dict[str, Any]:
    from trendfolio_jobs.session import get_spark

    universe = load_universe("spdr")
    first = date(END.year - args.years, END.month, END.day)
    all_sessions = sessions_between(first, END)
    warmup = 30  # the first sessions only feed the lookbacks
    sessions = all_sessions[warmup:]
    n_stocks = max(1, round(args.stocks * scale))
    started = time.perf_counter()
    rows = synthetic_rows(universe.tickers, [e.sector_name or "Broad" for e in universe.etfs],
                          n_stocks, all_sessions)
    name = f"bench_{n_stocks}_{int(time.time())}"

    async def create() -> str:
        admin = await asyncpg.connect(server.url("postgres"))
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = server.url(name)
        await load(url, rows)
        return url

    url = asyncio.run(create())
    load_s = time.perf_counter() - started
    settings = load_settings(home=str(home))
    ctx = StageContext(settings, universe, url, "bench")
    get_spark(settings, len(sessions))
    result: dict[str, Any] = {
        "scale": scale, "stocks": n_stocks, "sessions": len(sessions),
        "bars": len(rows["etf"]) + len(rows["stock"]), "load_s": round(load_s, 1),
        "load_1m_at_start": load_average(), "stages": {},
    }
    total = cpu_total = 0.0
    for label, ranged, _ in stage_functions():
        t0, c0 = time.perf_counter(), cpu_seconds()
        out = ranged(ctx, sessions)
        seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        total += seconds
        cpu_total += cpu
        result["stages"][label] = {"range_s": round(seconds, 2), "cpu_s": round(cpu, 1),
                                   "load_1m": load_average(), "rows": out.rows}
        print(f"  scale {scale}: stage {label}: {seconds:.1f} s, {cpu:.1f} CPU-s, {out.rows} rows"
              f" (load {load_average()})", file=sys.stderr, flush=True)
    result["all_sessions_s"] = round(total, 1)
    result["all_sessions_cpu_s"] = round(cpu_total, 1)
    if sample:
        # the per-session loop on evenly spread sessions, extrapolated to every session
        picks = [sessions[i] for i in np.linspace(0, len(sessions) - 1, args.sample).astype(int)]
        loop_total = 0.0
        for label, _, single in stage_functions():
            t0 = time.perf_counter()
            days = (
                [d for d in sessions if is_last_session_of_month(d)][: len(picks)]
                if label.startswith("6") else picks
            )
            for d in days:
                single(ctx, d)
            per = (time.perf_counter() - t0) / len(days)
            sessions_needed = (
                len([d for d in sessions if is_last_session_of_month(d)])
                if label.startswith("6") else len(sessions)
            )
            loop_total += per * sessions_needed
            result["stages"][label]["one_date_s"] = round(per, 2)
        result["loop_sample_sessions"] = [str(d) for d in picks]
        result["loop_extrapolated_s"] = round(loop_total, 1)
        result["speedup_vs_loop"] = round(loop_total / total, 1)
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stocks", type=int, default=500)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--scales", default="0.0625,0.25,1")
    ap.add_argument("--sample", type=int, default=4)
    args = ap.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    # a stopped bench still stops its PostgreSQL and Spark (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = Path(tempfile.mkdtemp(prefix="trendfolio-bench-analytics-"))
    home = REPO / ".trendfolio"
    server = PgServer(root)
    server.start()
    results = []
    try:
        for scale in scales:
            try:
                results.append(run_scale(server, scale, args, home, sample=scale == 1))
            except Exception as exc:  # a scale that does not fit is reported, not hidden
                results.append({"scale": scale, "error": f"{type(exc).__name__}: {exc}"[:500]})
                print(f"  scale {scale} failed: {exc}", file=sys.stderr)
    finally:
        from trendfolio_jobs.session import stop_spark

        stop_spark()
        server.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)
    out = REPO / "bench" / "results" / "analytics.json"
    out.write_text(json.dumps({"stocks": args.stocks, "years": args.years, "runs": results},
                              indent=1))
    base = next((r for r in results if "all_sessions_s" in r and r["scale"] == 1), None)
    print("| scale | stocks | sessions | bars | all analytics, all sessions | CPU-s | vs 1x |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['scale']:g}x | - | - | - | failed: {r['error'][:80]} | - | - |")
            continue
        growth = r["all_sessions_s"] / base["all_sessions_s"] if base else float("nan")
        print(f"| {r['scale']:g}x | {r['stocks']} | {r['sessions']} | {r['bars']} | "
              f"{r['all_sessions_s']:.1f} s | {r['all_sessions_cpu_s']:.0f} | {growth:.2f}x |")
    if base and "speedup_vs_loop" in base:
        print(f"\none job per stage: {base['all_sessions_s']:.1f} s; the one-date job per session "
              f"(measured on {len(base['loop_sample_sessions'])} sessions, extrapolated to "
              f"{base['sessions']}): {base['loop_extrapolated_s']:.0f} s; "
              f"speed-up {base['speedup_vs_loop']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
