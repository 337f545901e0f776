"""Every strategy's backtest (5/10/20-day, monthly, SPY) over a synthetic 500-stock, 10-year
market: the one Spark job over all sessions, next to a per-date loop on the same engine (one
Spark job per session, measured on a sample of sessions in the same run and extrapolated), and,
for perspective, a plain single-process Python loop over the same data held in memory.

The market is bench_analytics' synthetic one (random walks with sector factors, a few missing
bars). The portfolios are synthetic too (each session 0-10 picks per period with random weights
summing to 1, 20 stocks each month end), written straight to analytics_05/08: this measures the
backtest, not the analytics (bench_analytics measures those).

Usage: .venv/bin/python bench/bench_backtest.py [--stocks 500] [--years 10] [--sample 20]
Targets (issue: backtest): <= 60 s on 2 cores; >= 10x the per-date loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
from bench_analytics import END, load, synthetic_rows

from trendfolio.backtest import BENCHMARK, metrics
from trendfolio.backtest_store import point_in_time_report
from trendfolio.calendar import is_last_session_of_month, session_offset, sessions_between
from trendfolio.config import load_settings
from trendfolio.db.server import PgServer
from trendfolio.pipeline import StageContext
from trendfolio.universe import load_universe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests.support
from tests.support.paths import REPO


def synthetic_portfolios(
    sessions: list[date], n_stocks: int, etfs: list[str], seed: int = 11
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rng = np.random.default_rng(seed)
    alloc, monthly = [], []
    for d in sessions:
        for p in (5, 10, 20):
            k = int(rng.integers(0, 11))
            if not k:
                continue
            picks = rng.choice(n_stocks, size=k, replace=False)
            w = rng.dirichlet(np.ones(k))
            alloc.extend(
                (d, f"S{int(s):05d}", p, float(wi), r + 1, etfs[int(s) % len(etfs)], True)
                for r, (s, wi) in enumerate(zip(picks, w, strict=True))
            )
        if is_last_session_of_month(d):
            picks = rng.choice(n_stocks, size=20, replace=False)
            w = rng.dirichlet(np.ones(20))
            monthly.extend(
                (f"S{int(s):05d}", r + 1, float(wi), float(wi), d, d)
                for r, (s, wi) in enumerate(zip(picks, w, strict=True))
            )
    return alloc, monthly


async def load_portfolios(url: str, alloc: list[Any], monthly: list[Any]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "analytics_05_portfolio_allocation", records=alloc,
            columns=["as_of_date", "ticker", "period_days", "portfolio_weight", "rank",
                     "etf_ticker", "is_point_in_time"])
        await conn.copy_records_to_table(
            "analytics_08_monthly_portfolio", records=monthly,
            columns=["ticker", "final_rank", "final_weight", "score", "rebalance_date",
                     "valid_until"])
    finally:
        await conn.close()


def spark_per_date(ctx: StageContext, sessions: list[date], sample: list[int]) -> float:
    """Seconds per session of the per-date loop: each session one Spark job reading that day's
    and the previous bars of the held stocks and computing their returns (the drift itself is
    then a few multiplications per holding)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from trendfolio_jobs.io import read_table
    from trendfolio_jobs.session import get_spark

    spark = get_spark(ctx.settings)
    url = ctx.database_url
    held = (
        read_table(spark, url, "analytics_05_portfolio_allocation")
        .select("ticker").distinct()
    )
    tickers = [r[0] for r in held.collect()]
    t0 = time.perf_counter()
    for j in sample:
        day, first = sessions[j], session_offset(sessions[j], -5)
        bars = read_table(spark, url, "collected_06_daily_stock_history").where(
            F.col("ticker").isin(tickers) & F.col("trade_date").between(first, day)
        )
        w = Window.partitionBy("ticker").orderBy("trade_date")
        prev = F.lag(F.struct("close_price", "adj_close")).over(w)
        day_returns = (
            bars.withColumn("prev", prev)
            .where(F.col("trade_date") == day)
            .select("ticker", (F.col("close_price") / F.col("prev.close_price") - 1).alias("r"))
        )
        day_returns.collect()
    return (time.perf_counter() - t0) / len(sample)


def python_loop(
    sessions: list[date], rows: dict[str, list[Any]], alloc: list[Any], lag: int = 1
) -> float:
    """The 5/10/20-day strategies day by day in plain Python over in-memory closes (seconds)."""
    t0 = time.perf_counter()
    close: dict[str, dict[date, float]] = {}
    for t, d, c, *_ in rows["stock"]:
        close.setdefault(t, {})[d] = c
    targets: dict[tuple[int, date], dict[str, float]] = {}
    for d, t, p, w, *_ in alloc:
        targets.setdefault((p, d), {})[t] = w
    last: dict[str, float] = {}
    for p in (5, 10, 20):
        trade_at = {sessions[i + lag]: sessions[i] for i in range(0, len(sessions) - 1, p)
                    if i + lag < len(sessions)}
        h: dict[str, float] = {}
        equity = 1.0
        last.clear()
        for d in sessions:
            r_port = 0.0
            rets = {}
            for t in h:
                c = close.get(t, {}).get(d)
                r = c / last[t] - 1 if c is not None and t in last else 0.0
                rets[t] = r
                r_port += h[t] * r
            for t in list(close):
                c = close[t].get(d)
                if c is not None:
                    last[t] = c
            equity *= 1 + r_port
            h = {t: w * (1 + rets[t]) / (1 + r_port) for t, w in h.items()}
            if d in trade_at:
                new = targets.get((p, trade_at[d]), {})
                turnover = sum(abs(new.get(t, 0) - h.get(t, 0)) for t in set(new) | set(h))
                equity *= 1 - turnover * 10 / 10_000
                h = dict(new)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stocks", type=int, default=500)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--sample", type=int, default=20)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from trendfolio_jobs.backtest import run_backtest
    from trendfolio_jobs.session import get_spark, stop_spark

    universe = load_universe("spdr")
    first = date(END.year - args.years, END.month, END.day)
    all_sessions = sessions_between(first, END)
    sessions = all_sessions[30:]
    root = Path(tempfile.mkdtemp(prefix="trendfolio-bench-backtest-"))
    server = PgServer(root)
    server.start()
    try:
        t0 = time.perf_counter()
        rows = synthetic_rows(universe.tickers, [e.sector_name or "Broad" for e in universe.etfs],
                              args.stocks, all_sessions)
        alloc, monthly = synthetic_portfolios(
            sessions, args.stocks, [e.ticker for e in universe.etfs if e.is_sector])

        async def create() -> str:
            admin = await asyncpg.connect(server.url("postgres"))
            await admin.execute("CREATE DATABASE bench_backtest")
            await admin.close()
            url = server.url("bench_backtest")
            await load(url, rows)
            await load_portfolios(url, alloc, monthly)
            return url

        url = asyncio.run(create())
        load_s = time.perf_counter() - t0
        settings = load_settings(home=str(REPO / ".trendfolio"))
        ctx = StageContext(settings, universe, url, "bench")
        get_spark(settings, len(sessions))  # JVM up before the clock, as in a pod

        t0 = time.perf_counter()
        result = run_backtest(ctx, sessions[0], sessions[-1], 10.0, 1)
        spy = result.curves[BENCHMARK].equity
        figures = {
            n: metrics(c.equity, c.turnovers, c.trade_idx, None if n == BENCHMARK else spy,
                       0.0 if n == BENCHMARK else 10.0)
            for n, c in result.curves.items()
        }
        spark_s = time.perf_counter() - t0

        async def pit() -> int:
            conn = await asyncpg.connect(url)
            try:
                return len(await point_in_time_report(conn, sessions[0], sessions[-1]))
            finally:
                await conn.close()

        t0 = time.perf_counter()
        pit_dates = asyncio.run(pit())
        pit_s = time.perf_counter() - t0

        sample = np.linspace(1, len(sessions) - 1, args.sample).astype(int).tolist()
        per_date = spark_per_date(ctx, sessions, sample)
        loop_s = per_date * len(sessions)
        py_s = python_loop(sessions, rows, alloc)
    finally:
        stop_spark()
        server.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)
    out = {
        "stocks": args.stocks, "years": args.years, "sessions": len(sessions),
        "bars": len(rows["stock"]) + len(rows["etf"]), "allocation_rows": len(alloc),
        "monthly_rows": len(monthly), "load_s": round(load_s, 1),
        "backtest_all_sessions_s": round(spark_s, 1),
        "point_in_time_report_s": round(pit_s, 2), "point_in_time_dates": pit_dates,
        "per_date_spark_s_each": round(per_date, 3),
        "per_date_sample_sessions": len(sample),
        "per_date_loop_extrapolated_s": round(loop_s, 1),
        "speedup_vs_per_date_loop": round(loop_s / spark_s, 1),
        "plain_python_loop_s": round(py_s, 1),
        "trades": {n: len(c.trade_idx) for n, c in result.curves.items()},
        "total_return": {n: round(m.total_return, 4) for n, m in figures.items()},
    }
    (REPO / "bench" / "results" / "backtest.json").write_text(json.dumps(out, indent=1))
    print("| what | seconds |")
    print("|---|---|")
    print(f"| every strategy, all {len(sessions)} sessions, one Spark job "
          f"({args.stocks} stocks x {args.years} y) | {spark_s:.1f} |")
    print(f"| point-in-time report (SQL, {pit_dates} dates) | {pit_s:.2f} |")
    print(f"| per-date loop, one Spark job per session ({per_date:.2f} s each on "
          f"{len(sample)} sessions, x {len(sessions)}) | {loop_s:.0f} |")
    print(f"| plain Python day-by-day loop over in-memory closes (3 strategies) | {py_s:.1f} |")
    print(f"\nspeed-up over the per-date loop: {loop_s / spark_s:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
