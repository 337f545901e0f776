"""``trendfolio`` — the command line (SPEC §7). Exit codes: 0 success, 1 failure, 2 bad usage."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
import threading
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn

from trendfolio import calendar
from trendfolio.config import Settings, load_settings
from trendfolio.errors import TrendfolioError, UsageError

log = logging.getLogger("trendfolio")
SHOW_QUERIES: dict[str, tuple[str, str, str | None, str]] = {
    # what: (table, date column, period column, order)
    "trending": (
        "analytics_03_trending_etfs",
        "as_of_date",
        "period",
        "period, rank NULLS LAST, etf_ticker",
    ),
    "portfolio": (
        "analytics_05_portfolio_allocation",
        "as_of_date",
        "period_days",
        "period_days, rank",
    ),
    "monthly": ("analytics_08_monthly_portfolio", "rebalance_date", None, "final_rank"),
    "etf-holdings": (
        "analytics_09_etf_top_holdings",
        "as_of_date",
        "time_period",
        "etf_ticker, time_period, rank_position",
    ),
}


# The columns `show --format table` prints (JSON always has every column).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "trending": ("period", "rank", "etf_ticker", "return_pct", "spy_return_pct", "is_trending"),
    "portfolio": ("period_days", "rank", "ticker", "etf_ticker", "portfolio_weight", "return_pct",
                  "market_cap", "company_name"),
    "monthly": ("final_rank", "ticker", "final_weight", "score", "source_periods", "return_20d"),
    "etf-holdings": ("etf_ticker", "time_period", "rank_position", "holding_ticker",
                     "total_return", "market_cap"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"trendfolio: error: {message}\n")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from None


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="trendfolio", description="ETF-momentum stock portfolios, every NYSE session.")
    # the global options work before the command and after it (`trendfolio backtest --source
    # csv:DIR ...`); after it they override, and when absent there they leave the global value
    common = _Parser(add_help=False)
    for parser, default in ((p, None), (common, argparse.SUPPRESS)):
        parser.add_argument("--source", default=default,
                            help="yfinance, csv:DIR or sample (env TRENDFOLIO_SOURCE)")
        parser.add_argument("--universe", default=default,
                            help="seed, spdr or a CSV file (env TRENDFOLIO_UNIVERSE)")
        parser.add_argument("--log-level", default=default,
                            choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(*a: Any, **kw: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(*a, parents=[common], **kw)
        return parser

    demo = command("demo", help="migrate, run the latest session, show the portfolios")
    demo.add_argument("--date", type=_date, help="as-of session (default: latest completed)")
    demo.add_argument("--api-port", type=int, default=8000, help="API port (8000)")
    demo.add_argument("--dashboard-port", type=int, default=8050, help="dashboard port (8050)")
    demo.add_argument("--no-serve", action="store_true",
                      help="exit after printing the portfolios instead of serving them")

    run = command("run", help="run the pipeline for one session")
    run.add_argument("--date", type=_date, help="as-of session (default: latest completed)")
    run.add_argument("--stages", help="comma-separated stage names (default: all)")

    bf = command("backfill", help="run the pipeline for every session of a range")
    bf.add_argument("--start", type=_date, required=True)
    bf.add_argument("--end", type=_date, required=True)
    bf.add_argument("--stages", help="comma-separated stage names (default: all)")

    from trendfolio.runner import OCCASIONAL_STAGES, STAGES

    st = command(
        "stage", help="run one stage for one session (what a pod runs)",
        epilog="stages: " + "; ".join(
            f"{s.number} {s.name}: {s.description}" for s in (*STAGES, *OCCASIONAL_STAGES)
        ),
    )
    st.add_argument("name", help="a stage name or number (see below)")
    st.add_argument("--date", type=_date, help="as-of session (default: latest completed)")

    co = command("consume", help="consume the Kafka topics into PostgreSQL")
    co.add_argument("--metrics-port", type=int, default=0, help="serve /metrics on this port")
    co.add_argument("--metrics-addr", default="127.0.0.1",
                    help="address /metrics listens on (0.0.0.0 in a container; default 127.0.0.1)")

    serve = command("serve", help="serve the API or the dashboard over HTTP")
    serve.add_argument("what", choices=["api", "dashboard"])
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (api 8000, dashboard 8050)")

    db = command("db", help="database administration")
    dbsub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    dbsub.add_parser("migrate", help="apply pending migrations and create the read-only role")

    bt = command(
        "backtest",
        help="walk-forward backtest of the 5/10/20-day and monthly portfolios against SPY",
        description="Backfills the analytics the range lacks, collects the held stocks' prices "
        "up to --end, then computes every strategy over all sessions in one Spark job and stores "
        "the run (the API's /backtest and the dashboard's 백테스트 tab show the newest).",
    )
    bt.add_argument("--start", type=_date, required=True, help="first session (equity 1 there)")
    bt.add_argument("--end", type=_date, required=True, help="last session")
    bt.add_argument("--cost-bps", type=float, default=10.0,
                    help="cost per unit of turnover, in basis points (10)")
    bt.add_argument("--lag", type=int, default=1,
                    help="sessions between a signal and its trade at the close (1)")
    bt.add_argument("--format", choices=["table", "json"], default="table")
    bt.add_argument("--no-collect", action="store_true",
                    help="use only what the database holds: no backfill, no source calls")

    show = command("show", help="print analytics rows")
    show.add_argument("what", choices=sorted(SHOW_QUERIES))
    show.add_argument("--date", type=_date, help="as-of date (default: the latest in the data)")
    show.add_argument("--period", type=int, choices=[5, 10, 20])
    show.add_argument("--format", choices=["table", "json"], default="table")
    return p


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        k: v
        for k in ("source", "universe", "log_level")
        if (v := getattr(args, k, None)) is not None
    }
    return load_settings(**overrides)


def _setup_logging(level: str) -> None:
    from rich.console import Console
    from rich.logging import RichHandler

    # logs go to stderr: stdout carries only what the command prints (`--format json`)
    handler = RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=False,
                          markup=False)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in ("aiokafka", "py4j", "yfinance", "urllib3", "asyncio", "peewee"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def _as_of(d: date | None) -> date:
    return calendar.require_session(d) if d else calendar.latest_completed_session()


def _stages(spec: str | None) -> list[Any]:
    from trendfolio.runner import STAGES, stage_by_name

    if not spec:
        return list(STAGES)
    return [stage_by_name(s.strip()) for s in spec.split(",") if s.strip()]


def _yahoo_reachable() -> bool:
    try:
        with socket.create_connection(("query1.finance.yahoo.com", 443), timeout=3):
            return True
    except OSError:
        return False


async def _runner(settings: Settings) -> Any:
    from trendfolio.db.connect import database_url
    from trendfolio.runner import Runner, prepare_database
    from trendfolio.universe import load_universe

    universe = load_universe(settings.universe)
    url = await asyncio.to_thread(database_url, settings)
    runner = Runner(settings, universe, url, settings.source)
    await prepare_database(url, universe, runner.source)
    return runner


def _print_result(stage: Any, result: Any) -> None:
    state = "skipped" if result.skipped else f"{result.rows} rows"
    print(f"  stage {stage.number} {stage.name:<11} {state}", file=sys.stderr)


async def _cmd_run(settings: Settings, as_of: date, stages: list[Any]) -> int:
    runner = await _runner(settings)
    try:
        print(
            f"trendfolio: {as_of} ({settings.source}, universe {settings.universe})",
            file=sys.stderr,
        )
        await runner.run(as_of, stages, report=_print_result)
    finally:
        await runner.close()
    return 0


async def _cmd_backfill(settings: Settings, start: date, end: date, stages: list[Any]) -> int:
    from trendfolio_collector.progress import track

    if end < start:
        raise UsageError(f"--end {end} is before --start {start}")
    sessions = calendar.sessions_between(start, end)
    if not sessions:
        raise UsageError(f"no NYSE session between {start} and {end}")
    runner = await _runner(settings)
    try:
        print(
            f"trendfolio: backfill {start}..{end}: {len(sessions)} sessions, each Spark stage in "
            f"one job ({settings.source}, universe {settings.universe})",
            file=sys.stderr,
        )
        await runner.backfill(sessions, stages, report=_print_result, track=track)
        print(f"trendfolio: backfilled {len(sessions)} sessions", file=sys.stderr)
    finally:
        await runner.close()
    return 0


async def _cmd_stage(settings: Settings, name: str, as_of: date) -> int:
    """One stage (what a pod runs); a failure before the stage itself (database, source,
    universe) is pushed to the Pushgateway too, so a pod that died early still shows."""
    import time

    from trendfolio.metrics import StageOutcome, push_stage
    from trendfolio.runner import stage_by_name

    stage = stage_by_name(name)
    started = time.monotonic()
    try:
        return await _cmd_run(settings, as_of, [stage])
    except BaseException:
        outcome = StageOutcome(stage.name, as_of, time.monotonic() - started, failed=True)
        await asyncio.to_thread(push_stage, settings.pushgateway_url, outcome)
        raise


async def _cmd_consume(settings: Settings, metrics_port: int, metrics_addr: str) -> int:
    import signal

    from trendfolio.db.connect import database_url
    from trendfolio.db.migrate import migrate
    from trendfolio_consumer.consumer import Consumer

    if not settings.kafka_bootstrap:
        raise UsageError("TRENDFOLIO_KAFKA_BOOTSTRAP is not set: `consume` reads from Kafka")
    url = await asyncio.to_thread(database_url, settings)
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_addr)
    consumer = Consumer(
        settings.kafka_bootstrap,
        url,
        settings.kafka_group,
        settings.consumer_batch_size,
        settings.consumer_batch_ms,
        instance_id=settings.kafka_instance_id,
        writers=settings.consumer_writers,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, consumer.stop)
    await consumer.run()
    return 0


async def _cmd_migrate(settings: Settings) -> int:
    import asyncpg

    from trendfolio.db.connect import database_url, describe
    from trendfolio.db.migrate import READER_ROLE, ensure_reader, migrate

    url = await asyncio.to_thread(database_url, settings)
    conn = await asyncpg.connect(url)
    try:
        applied = await migrate(conn)
        if settings.readonly_database_url is not None:
            from urllib.parse import unquote, urlsplit

            ro = urlsplit(settings.readonly_database_url.get_secret_value())
            await ensure_reader(
                conn, unquote(ro.username or READER_ROLE), unquote(ro.password or "")
            )
    finally:
        await conn.close()
    print(
        f"trendfolio: {describe(url)}: applied {applied or 'nothing (up to date)'}", file=sys.stderr
    )
    return 0


async def _cmd_backtest(settings: Settings, args: argparse.Namespace) -> int:
    import time

    import asyncpg

    from trendfolio import backtest, backtest_store
    from trendfolio.runner import STAGES
    from trendfolio_collector.progress import track

    started = time.monotonic()
    if args.end <= args.start:
        raise UsageError(f"--end {args.end} must be after --start {args.start}")
    sessions = calendar.sessions_between(args.start, args.end)
    backtest.check_parameters(sessions, args.cost_bps, args.lag)
    start, end = sessions[0], sessions[-1]
    runner = await _runner(settings)
    try:
        url = runner.ctx.database_url
        conn = await asyncpg.connect(url)
        try:
            done = {
                r["as_of_date"]
                for r in await conn.fetch(
                    "SELECT DISTINCT as_of_date FROM analytics_03_trending_etfs "
                    "WHERE as_of_date BETWEEN $1 AND $2", start, end)
            }
            is_sample = await conn.fetchval(
                "SELECT value = 'true' FROM pipeline_settings WHERE key = 'is_sample'")
        finally:
            await conn.close()
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
                analytics = [s for s in STAGES if s.number <= 6]
                await runner.backfill(missing, analytics, report=_print_result, track=track)
            failed = await runner.complete_stock_history(start, end, "backtest")
        from trendfolio_jobs.backtest import run_backtest

        result = await asyncio.to_thread(
            run_backtest, runner.ctx, start, end, args.cost_bps, args.lag
        )
        spy = result.curves[backtest.BENCHMARK].equity
        metrics = {
            name: backtest.metrics(
                c.equity, c.turnovers, c.trade_idx,
                None if name == backtest.BENCHMARK else spy,
                0.0 if name == backtest.BENCHMARK else args.cost_bps,
            )
            for name, c in result.curves.items()
        }
        conn = await asyncpg.connect(url)
        try:
            pit = await backtest_store.point_in_time_report(conn, start, end)
            run = backtest_store.RunRecord(
                start=start, end=end, universe=runner.ctx.universe.name, source=settings.source,
                is_sample=bool(is_sample), cost_bps=args.cost_bps, lag=args.lag,
                sessions=result.sessions, metrics=metrics,
                equity={n: c.equity for n, c in result.curves.items()},
                turnover={n: dict(zip(c.trade_idx, c.turnovers, strict=True))
                          for n, c in result.curves.items()},
                point_in_time=pit, picks=result.picks,
                caveats=backtest_store.caveats(pit, sessions, args.cost_bps, args.lag,
                                               bool(is_sample), failed),
                elapsed_seconds=time.monotonic() - started,
            )
            run_id = await backtest_store.save_run(conn, run)
        finally:
            await conn.close()
    finally:
        await runner.close()
    out = backtest_store.report(run, run_id)
    if args.format == "json":
        print(json.dumps(out, indent=1))
    else:
        _print_backtest(out)
    if not run.clean:  # loudly, whatever the format
        print(f"trendfolio: WARNING: {run.caveats[0]}", file=sys.stderr)
    print(f"trendfolio: backtest run {run_id} stored ({len(sessions)} sessions, "
          f"{time.monotonic() - started:.1f} s)", file=sys.stderr)
    return 0


def _print_backtest(out: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    from trendfolio.backtest import METRIC_KEYS

    r = out["run"]
    table = Table(title=f"backtest {r['start']}..{r['end']} ({r['sessions']} sessions, "
                        f"{r['universe']}, {r['source']}, {r['cost_bps']:g} bps, lag {r['lag']})")
    table.add_column("strategy")
    for head in ("total", "CAGR", "vol", "Sharpe", "max DD", "turn/yr", "trades", "hit"):
        table.add_column(head, justify="right")
    for name, m in out["strategies"].items():
        cells = []
        for k in METRIC_KEYS:
            v = m[k]
            if v is None:
                cells.append("–")
            elif k in ("trades",):
                cells.append(str(v))
            elif k in ("sharpe", "turnover_per_year"):
                cells.append(f"{v:.2f}")
            else:
                cells.append(f"{v * 100:.1f}%")
        table.add_row(name, *cells)
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


def _jsonable(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, date):
        return v.isoformat()
    return v


async def _cmd_show(
    settings: Settings, what: str, day: date | None, period: int | None, fmt: str
) -> int:
    import asyncpg

    from trendfolio.db.connect import database_url
    from trendfolio.db.migrate import migrate

    table, date_col, period_col, order = SHOW_QUERIES[what]
    url = await asyncio.to_thread(database_url, settings)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)  # a fresh home shows "no rows", not a missing table
        # Identifiers come from the fixed table above; values are bound parameters.
        target = (
            await conn.fetchval(
                f"SELECT max({date_col}) FROM {table} WHERE $1::date IS NULL OR {date_col} <= $1",
                day,
            )
            if what == "monthly" or day is None
            else day
        )
        where, params = [f"{date_col} = $1"], [target]
        if period is not None and period_col is not None:
            where.append(f"{period_col} = $2")
            params.append(period)
        rows = await conn.fetch(
            f"SELECT * FROM {table} WHERE {' AND '.join(where)} ORDER BY {order}", *params
        )
    finally:
        await conn.close()
    records = [
        {k: _jsonable(v) for k, v in r.items() if k not in ("id", "created_at")} for r in rows
    ]
    if fmt == "json":
        print(json.dumps(records, indent=1))
    else:
        shown = [{c: r.get(c) for c in TABLE_COLUMNS[what]} for r in records]
        _print_table(shown, f"{what} {target or '(no data)'}")
    if not records:
        print(f"trendfolio: no {what} rows for {day or 'any date'}", file=sys.stderr)
    return 0


def _print_table(records: list[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    if records:
        for col in records[0]:
            table.add_column(col, overflow="fold")
        for r in records:
            table.add_row(*(f"{v:.6g}" if isinstance(v, float) else str(v) for v in r.values()))
    Console().print(table)


async def _cmd_demo(settings: Settings, as_of: date) -> Settings:
    """Run the pipeline for ``as_of`` and print the portfolios; return the settings used."""
    from trendfolio.sources.base import open_source

    if settings.source == "yfinance" and not await asyncio.to_thread(_yahoo_reachable):
        print(
            "trendfolio: Yahoo Finance is not reachable from this machine (no network); "
            "falling back to the synthetic `sample` market — every number shown is sample data.",
            file=sys.stderr,
        )
        settings = settings.model_copy(update={"source": "sample"})
    source = open_source(settings.source, home=settings.home)
    if source.is_sample:
        print("trendfolio: SAMPLE DATA — a synthetic market, not real prices.", file=sys.stderr)
    await _cmd_run(settings, as_of, _stages(None))
    for period in (5, 10, 20):
        await _cmd_show(settings, "portfolio", as_of, period, "table")
    return settings


def _serve_demo(settings: Settings, api_port: int, dashboard_port: int) -> None:
    """``trendfolio serve api`` and ``serve dashboard`` on 127.0.0.1 until Ctrl-C.

    Both run as child processes on this command's database (the embedded server stays up
    while they run); they are stopped by PID when this command ends.
    """
    import os
    import signal
    import subprocess
    import time
    import urllib.error
    import urllib.request

    from trendfolio.db.connect import database_url

    api_url = f"http://127.0.0.1:{api_port}"
    env = dict(os.environ)
    env.update(TRENDFOLIO_DATABASE_URL=database_url(settings), TRENDFOLIO_API_URL=api_url,
               TRENDFOLIO_SOURCE=settings.source, TRENDFOLIO_UNIVERSE=settings.universe)
    exe = [sys.executable, "-m", "trendfolio.cli"]
    children: list[subprocess.Popen[bytes]] = []
    try:
        for what, port in (("api", api_port), ("dashboard", dashboard_port)):
            children.append(subprocess.Popen(
                [*exe, "serve", what, "--host", "127.0.0.1", "--port", str(port)], env=env))
            deadline = time.monotonic() + 60
            while True:  # wait until it answers, so the links below work when printed
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
                    break
                except urllib.error.HTTPError:
                    break  # it answers
                except OSError as exc:
                    if children[-1].poll() is not None or time.monotonic() > deadline:
                        raise TrendfolioError(f"`trendfolio serve {what}` did not start on "
                                              f"127.0.0.1:{port}: {exc}") from None
                    time.sleep(0.3)
        print(f"\nAPI:       {api_url}/docs\n"
              f"dashboard: http://127.0.0.1:{dashboard_port}/   (Ctrl-C stops both)",
              file=sys.stderr)
        while all(c.poll() is None for c in children):
            time.sleep(0.5)
        raise TrendfolioError("a demo server stopped on its own; its log is above")
    finally:
        for child in children:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(child.pid, signal.SIGKILL)


def _check_port(option: str, port: int) -> None:
    if not 0 < port < 65536:
        raise UsageError(f"{option} {port} is not a TCP port (1-65535)")


def _cmd_serve(settings: Settings, what: str, host: str, port: int | None) -> int:
    if port is not None:
        _check_port("--port", port)
    # Imported here: the API and dashboard extras are needed only by the command that uses them.
    if what == "api":
        from trendfolio_api.app import serve as serve_api

        serve_api(settings, host, port or 8000)
    else:
        from trendfolio_dashboard.app import serve as serve_dashboard

        serve_dashboard(settings, host, port or 8050)
    return 0


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    cmd = args.command
    if cmd == "run":
        return await _cmd_run(settings, _as_of(args.date), _stages(args.stages))
    if cmd == "backfill":
        return await _cmd_backfill(settings, args.start, args.end, _stages(args.stages))
    if cmd == "stage":
        return await _cmd_stage(settings, args.name, _as_of(args.date))
    if cmd == "consume":
        return await _cmd_consume(settings, args.metrics_port, args.metrics_addr)
    if cmd == "db":
        return await _cmd_migrate(settings)
    if cmd == "backtest":
        return await _cmd_backtest(settings, args)
    if cmd == "show":
        return await _cmd_show(settings, args.what, args.date, args.period, args.format)
    raise UsageError(f"unknown command {cmd!r}")


def _terminated(signum: int, _frame: object) -> None:
    # SIGTERM (a pod stopping, `kill`) unwinds like Ctrl-C, so the embedded PostgreSQL this
    # command started is stopped on the way out. uvicorn re-raises the SIGTERM it captured
    # once it has shut down; without this handler that ended the process on the spot.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import signal

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        settings = _settings(args)
        _setup_logging(settings.log_level)
        # Validate the source spec before any work (unknown source → exit 2).
        if not (settings.source in ("yfinance", "sample") or settings.source.startswith("csv:")):
            raise UsageError(f"unknown source {settings.source!r}: use yfinance, csv:DIR or sample")
        if args.command in ("run", "stage", "demo") and args.date is not None:
            calendar.require_session(args.date)
        if args.command == "stage":
            from trendfolio.runner import stage_by_name

            stage_by_name(args.name)
        if args.command == "serve":  # uvicorn and Dash run their own loops
            return _cmd_serve(settings, args.what, args.host, args.port)
        if args.command == "demo":
            _check_port("--api-port", args.api_port)
            _check_port("--dashboard-port", args.dashboard_port)
            used = asyncio.run(_cmd_demo(settings, _as_of(args.date)))
            if not args.no_serve:  # in the main thread, so Ctrl-C stops the servers it started
                _serve_demo(used, args.api_port, args.dashboard_port)
            return 0
        return asyncio.run(_dispatch(args, settings))
    except TrendfolioError as exc:
        print(f"trendfolio: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("trendfolio: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one clear line, exit 1
        log.debug("unexpected failure", exc_info=True)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"trendfolio: error: unexpected {type(exc).__name__}: {first} "
              "(TRENDFOLIO_LOG_LEVEL=DEBUG shows the traceback)", file=sys.stderr)
        return 1
    finally:
        from trendfolio.db.server import stop_started_servers

        stop_started_servers()


if __name__ == "__main__":
    sys.exit(main())
