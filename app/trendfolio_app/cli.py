"""``trendfolio`` — the command line (SPEC §7). Exit codes: 0 success, 1 failure, 2 bad usage.

This module parses and dispatches; each command is a module of ``trendfolio_app.commands``,
imported when it runs (the API, dashboard and Spark extras are needed only by their commands).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import date
from typing import Any, NoReturn

from trendfolio import backtest, calendar, rules
from trendfolio import stages as catalog
from trendfolio.config import API_PORT, DASHBOARD_PORT, Settings, load_settings
from trendfolio.db.queries import SHOWN
from trendfolio.errors import TrendfolioError, UsageError
from trendfolio_app.commands.common import as_of, check_port

log = logging.getLogger("trendfolio")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"trendfolio: error: {message}\n")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from None


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="trendfolio", description="ETF-momentum stock portfolios, every NYSE session.")
    # the global options work before the command and after it (`trendfolio backtest --source
    # csv:DIR ...`); after it they override, and when absent there they leave the global value
    common = _Parser(add_help=False)
    for each, default in ((p, None), (common, argparse.SUPPRESS)):
        each.add_argument("--source", default=default,
                          help="yfinance, csv:DIR or sample (env TRENDFOLIO_SOURCE)")
        each.add_argument("--universe", default=default,
                          help="seed, spdr or a CSV file (env TRENDFOLIO_UNIVERSE)")
        each.add_argument("--log-level", default=default,
                          choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(*a: Any, **kw: Any) -> argparse.ArgumentParser:
        made: argparse.ArgumentParser = sub.add_parser(*a, parents=[common], **kw)
        return made

    demo = command("demo", help="migrate, run the latest session, show the portfolios")
    demo.add_argument("--date", type=_date, help="as-of session (default: latest completed)")
    demo.add_argument("--api-port", type=int, default=API_PORT, help=f"API port ({API_PORT})")
    demo.add_argument("--dashboard-port", type=int, default=DASHBOARD_PORT,
                      help=f"dashboard port ({DASHBOARD_PORT})")
    demo.add_argument("--no-serve", action="store_true",
                      help="exit after printing the portfolios instead of serving them")

    run = command("run", help="run the pipeline for one session")
    run.add_argument("--date", type=_date, help="as-of session (default: latest completed)")
    run.add_argument("--stages", help="comma-separated stage names (default: all)")

    bf = command("backfill", help="run the pipeline for every session of a range")
    bf.add_argument("--start", type=_date, required=True)
    bf.add_argument("--end", type=_date, required=True)
    bf.add_argument("--stages", help="comma-separated stage names (default: all)")

    st = command(
        "stage", help="run one stage for one session (what a pod runs)",
        epilog="stages: " + "; ".join(f"{s.number} {s.name}: {s.description}" for s in catalog.ALL),
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
    serve.add_argument("--port", type=int,
                       help=f"port (api {API_PORT}, dashboard {DASHBOARD_PORT})")

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
    bt.add_argument("--cost-bps", type=float, default=backtest.DEFAULT_COST_BPS,
                    help="cost per unit of turnover, in basis points "
                    f"({backtest.DEFAULT_COST_BPS:g})")
    bt.add_argument("--lag", type=int, default=backtest.DEFAULT_LAG,
                    help=f"sessions between a signal and its trade at the close "
                    f"({backtest.DEFAULT_LAG})")
    bt.add_argument("--format", choices=["table", "json"], default="table")
    bt.add_argument("--no-collect", action="store_true",
                    help="use only what the database holds: no backfill, no source calls")

    show = command("show", help="print analytics rows")
    show.add_argument("what", choices=sorted(SHOWN))
    show.add_argument("--date", type=_date, help="as-of date (default: the latest in the data)")
    show.add_argument("--period", type=int, choices=list(rules.PERIODS))
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


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    match args.command:
        case "run":
            from trendfolio_app.commands.run import run
            from trendfolio_app.stages import pipeline_stages

            return await run(settings, as_of(args.date), pipeline_stages(args.stages))
        case "backfill":
            from trendfolio_app.commands.backfill import backfill
            from trendfolio_app.stages import pipeline_stages

            return await backfill(settings, args.start, args.end, pipeline_stages(args.stages))
        case "stage":
            from trendfolio_app.commands.stage import stage

            return await stage(settings, args.name, as_of(args.date))
        case "consume":
            from trendfolio_app.commands.consume import consume

            return await consume(settings, args.metrics_port, args.metrics_addr)
        case "db":
            from trendfolio_app.commands.db import migrate_database

            return await migrate_database(settings)
        case "backtest":
            from trendfolio_app.commands.backtest import run_backtest

            return await run_backtest(settings, args)
        case "show":
            from trendfolio_app.commands.show import show

            return await show(settings, args.what, args.date, args.period, args.format)
    raise UsageError(f"unknown command {args.command!r}")


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from trendfolio_app.commands.demo import demo, serve_demo

    check_port("--api-port", args.api_port)
    check_port("--dashboard-port", args.dashboard_port)
    used = asyncio.run(demo(settings, as_of(args.date)))
    if not args.no_serve:  # in the main thread, so Ctrl-C stops the servers it started
        serve_demo(used, args.api_port, args.dashboard_port)
    return 0


def _terminated(signum: int, _frame: object) -> None:
    # SIGTERM (a pod stopping, `kill`) unwinds like Ctrl-C, so the embedded PostgreSQL this
    # command started is stopped on the way out. uvicorn re-raises the SIGTERM it captured
    # once it has shut down; without this handler that ended the process on the spot.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        settings = _settings(args)
        _setup_logging(settings.log_level)
        # bad usage is found before any work (exit 2)
        if args.command in ("run", "stage", "demo") and args.date is not None:
            calendar.require_session(args.date)
        if args.command == "stage":
            catalog.stage_info(args.name)
        if args.command == "serve":  # uvicorn and Dash run their own loops
            from trendfolio_app.commands.serve import serve

            return serve(settings, args.what, args.host, args.port)
        if args.command == "demo":
            return _demo(settings, args)
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
