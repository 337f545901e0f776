"""``trendfolio demo``: the pipeline for the latest session on the embedded defaults, the
portfolios printed, then the API and the dashboard served on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date

from trendfolio import rules, wiring
from trendfolio.config import Settings
from trendfolio.errors import TrendfolioError
from trendfolio_app.commands.run import run
from trendfolio_app.commands.show import show
from trendfolio_app.stages import pipeline_stages

YAHOO = ("query1.finance.yahoo.com", 443)


def yahoo_reachable() -> bool:
    try:
        with socket.create_connection(YAHOO, timeout=3):
            return True
    except OSError:
        return False


async def demo(settings: Settings, as_of: date) -> Settings:
    """Run the pipeline for ``as_of`` and print the portfolios; return the settings used."""
    if settings.source == "yfinance" and not await asyncio.to_thread(yahoo_reachable):
        print(
            "trendfolio: Yahoo Finance is not reachable from this machine (no network); "
            "falling back to the synthetic `sample` market — every number shown is sample data.",
            file=sys.stderr,
        )
        settings = settings.model_copy(update={"source": "sample"})
    source = wiring.open_source(settings)
    source.close()
    if source.is_sample:
        print("trendfolio: SAMPLE DATA — a synthetic market, not real prices.", file=sys.stderr)
    await run(settings, as_of, pipeline_stages())
    for period in rules.PERIODS:
        await show(settings, "portfolio", as_of, period, "table")
    return settings


def _wait_until_answering(child: subprocess.Popen[bytes], what: str, port: int) -> None:
    deadline = time.monotonic() + 60
    while True:  # so the links printed afterwards work
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError as exc:
            if child.poll() is not None or time.monotonic() > deadline:
                raise TrendfolioError(f"`trendfolio serve {what}` did not start on "
                                      f"127.0.0.1:{port}: {exc}") from None
            time.sleep(0.3)


def serve_demo(settings: Settings, api_port: int, dashboard_port: int) -> None:
    """``trendfolio serve api`` and ``serve dashboard`` on 127.0.0.1 until Ctrl-C.

    Both run as child processes on this command's database (the embedded server stays up
    while they run); they are stopped by PID when this command ends.
    """
    api_url = f"http://127.0.0.1:{api_port}"
    env = dict(os.environ)
    env.update(TRENDFOLIO_DATABASE_URL=wiring.database_url(settings), TRENDFOLIO_API_URL=api_url,
               TRENDFOLIO_SOURCE=settings.source, TRENDFOLIO_UNIVERSE=settings.universe)
    exe = [sys.executable, "-m", "trendfolio_app"]
    children: list[subprocess.Popen[bytes]] = []
    try:
        for what, port in (("api", api_port), ("dashboard", dashboard_port)):
            children.append(subprocess.Popen(
                [*exe, "serve", what, "--host", "127.0.0.1", "--port", str(port)], env=env))
            _wait_until_answering(children[-1], what, port)
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
