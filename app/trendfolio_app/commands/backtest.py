"""``trendfolio backtest``: backfill what the range lacks, collect the held stocks' prices, run
every strategy in one Spark job, store the run and print it."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from trendfolio import backtest, backtest_store, calendar
from trendfolio import stages as catalog
from trendfolio.config import Settings
from trendfolio.db import queries
from trendfolio.db.connect import connection
from trendfolio.errors import UsageError
from trendfolio_app.commands.common import print_result
from trendfolio_app.runner import open_runner
from trendfolio_app.stages import stage_by_name
from trendfolio_collector.progress import track

# the stages whose tables a backtest reads
ANALYTICS = (catalog.BENCHMARK, catalog.SECTOR, catalog.TRENDING, catalog.HOLDINGS,
             catalog.ALLOCATION, catalog.MONTHLY)


async def run_backtest(settings: Settings, args: argparse.Namespace) -> int:
    from trendfolio_jobs.backtest import run_backtest as compute

    started = time.monotonic()
    if args.end <= args.start:
        raise UsageError(f"--end {args.end} must be after --start {args.start}")
    sessions = calendar.sessions_between(args.start, args.end)
    backtest.check_parameters(sessions, args.cost_bps, args.lag)
    start, end = sessions[0], sessions[-1]
    runner = await open_runner(settings)
    try:
        url = runner.ctx.database_url
        async with connection(url) as conn:
            done = await queries.analysed_sessions(conn, start, end)
            is_sample = await queries.holds_sample_data(conn)
        missing = [s for s in sessions if s not in done]
        failed: list[str] = []
        if args.no_collect:
            if missing:
                print(f"trendfolio: backtest: {len(missing)} of {len(sessions)} sessions have no "
                      "analytics (--no-collect: left as cash days)", file=sys.stderr)
        else:
            if missing:
                print(f"trendfolio: backtest: backfilling {len(missing)} of {len(sessions)} "
                      f"sessions first ({settings.source}, universe {settings.universe})",
                      file=sys.stderr)
                stages = [stage_by_name(s.name) for s in ANALYTICS]
                await runner.backfill(missing, stages, report=print_result, track=track)
            failed = await runner.complete_stock_history(start, end, "backtest")
        result = await asyncio.to_thread(compute, runner.ctx, start, end, args.cost_bps, args.lag)
        spy = result.curves[backtest.BENCHMARK].equity
        metrics = {
            name: backtest.metrics(
                c.equity, c.turnovers, c.trade_idx,
                None if name == backtest.BENCHMARK else spy,
                0.0 if name == backtest.BENCHMARK else args.cost_bps,
            )
            for name, c in result.curves.items()
        }
        async with connection(url) as conn:
            pit = await backtest_store.point_in_time_report(conn, start, end)
            run = backtest_store.RunRecord(
                start=start, end=end, universe=runner.ctx.universe.name, source=settings.source,
                is_sample=is_sample, cost_bps=args.cost_bps, lag=args.lag,
                sessions=result.sessions, metrics=metrics,
                equity={n: c.equity for n, c in result.curves.items()},
                turnover={n: dict(zip(c.trade_idx, c.turnovers, strict=True))
                          for n, c in result.curves.items()},
                point_in_time=pit, picks=result.picks,
                caveats=backtest_store.caveats(pit, sessions, args.cost_bps, args.lag,
                                               is_sample, failed),
                elapsed_seconds=time.monotonic() - started,
            )
            run_id = await backtest_store.save_run(conn, run)
    finally:
        await runner.close()
    out = backtest_store.report(run, run_id)
    if args.format == "json":
        print(json.dumps(out, indent=1))
    else:
        print_backtest(out)
    if not run.clean:  # loudly, whatever the format
        print(f"trendfolio: WARNING: {run.caveats[0]}", file=sys.stderr)
    print(f"trendfolio: backtest run {run_id} stored ({len(sessions)} sessions, "
          f"{time.monotonic() - started:.1f} s)", file=sys.stderr)
    return 0


def _cell(key: str, v: Any) -> str:
    if v is None:
        return "–"
    if key == "trades":
        return str(v)
    if key in ("sharpe", "turnover_per_year"):
        return f"{v:.2f}"
    return f"{v * 100:.1f}%"


def print_backtest(out: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    r = out["run"]
    table = Table(title=f"backtest {r['start']}..{r['end']} ({r['sessions']} sessions, "
                        f"{r['universe']}, {r['source']}, {r['cost_bps']:g} bps, lag {r['lag']})")
    table.add_column("strategy")
    for head in ("total", "CAGR", "vol", "Sharpe", "max DD", "turn/yr", "trades", "hit"):
        table.add_column(head, justify="right")
    for name, m in out["strategies"].items():
        table.add_row(name, *(_cell(k, m[k]) for k in backtest.METRIC_KEYS))
    console = Console()
    console.print(table)
    picks = Table(title="pick leg: forward returns of each pick against its source ETF")
    for c in ("period", "horizon", "picks", "pick", "ETF", "excess", "median", "beat ETF"):
        picks.add_column(c, justify="right")
    for p in out["picks"]:
        picks.add_row(
            f"{p['period_days']}d", f"{p['horizon']}", str(p["picks"]),
            *(f"{p[k] * 100:.2f}%" for k in ("mean_pick_return", "mean_etf_return",
                                              "mean_excess", "median_excess", "beat_etf_share")),
        )
    console.print(picks)
    pit = out["point_in_time"]
    console.print(f"point in time: {pit['clean']} of {pit['dates']} signal dates clean "
                  f"(holdings dated ok {pit['holdings_dated_ok']}, caps dated ok "
                  f"{pit['caps_dated_ok']}, recorded in time {pit['recorded_in_time']})")
    style = "bold red" if not r["point_in_time"] else "yellow"
    console.print(Panel("\n".join(f"• {c}" for c in out["caveats"]), title="caveats",
                        style=style))
