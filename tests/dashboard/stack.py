"""The real stack for browser tests and the dashboard benchmark, all on 127.0.0.1.

PostgreSQL loaded by the real pipeline (``trendfolio backfill``), the real API
(``trendfolio_api.app.create_app`` under uvicorn) behind a request log, and the dashboard
(``trendfolio_dashboard.app.create_app`` under werkzeug), each in a thread on a free port.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.net import free_port
from tests.support.paths import MARKET_2026

TRENDFOLIO = Path(sys.executable).with_name("trendfolio")
CHROMIUM = Path("/usr/bin/chromium")
# Two sessions: the latest one (the dashboard opens on it) and the one before (the date picker).
LATEST, EARLIER = "2026-08-20", "2026-08-19"
# A month's last session before them: a backfill from here writes a real monthly rebalance.
MONTH_END = "2026-07-31"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def market_source() -> str:
    """The real 2026 data beside the checkout, else the offline ``sample`` market."""
    return f"csv:{MARKET_2026}" if (MARKET_2026 / "prices.csv").exists() else "sample"


def load_market(database_url: str, home: Path, source: str, start: str = EARLIER,
                end: str = LATEST) -> None:
    """Run the whole pipeline for every session in [start, end] into ``database_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
    env.update(TRENDFOLIO_HOME=str(home), TRENDFOLIO_DATABASE_URL=database_url,
               TRENDFOLIO_LOG_LEVEL="WARNING")
    proc = subprocess.run(
        [str(TRENDFOLIO), "--source", source, "--universe", "spdr", "backfill",
         "--start", start, "--end", end],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"trendfolio backfill failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def run_backtest(database_url: str, home: Path, source: str, start: str = MONTH_END,
                 end: str = LATEST) -> dict[str, Any]:
    """``trendfolio backtest`` over [start, end] (already backfilled); the JSON it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
    env.update(TRENDFOLIO_HOME=str(home), TRENDFOLIO_DATABASE_URL=database_url,
               TRENDFOLIO_LOG_LEVEL="WARNING")
    proc = subprocess.run(
        [str(TRENDFOLIO), "--source", source, "--universe", "spdr", "backtest",
         "--start", start, "--end", end, "--format", "json"],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"trendfolio backtest failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


@dataclass
class RequestLog:
    """ASGI wrapper that records every HTTP request the API receives (path and query)."""

    app: Any
    requests: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with self._lock:
                self.requests.append((scope["path"], scope.get("query_string", b"").decode()))
        await self.app(scope, receive, send)

    def mark(self) -> int:
        with self._lock:
            return len(self.requests)

    def since(self, mark: int) -> list[tuple[str, str]]:
        with self._lock:
            return list(self.requests[mark:])


class ApiServer:
    """The real API (``trendfolio_api.app.create_app``) under uvicorn in a thread."""

    def __init__(self, database_url: str, api_key: str | None = None) -> None:
        import uvicorn

        from trendfolio.config import Settings
        from trendfolio_api.app import create_app

        settings = Settings(database_url=database_url, readonly_database_url=None,
                            api_key=api_key)
        self.log = RequestLog(create_app(settings))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.log, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="api", daemon=True)

    def start(self) -> ApiServer:
        self._thread.start()
        _wait_http(f"{self.url}/health", "API")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


class DashboardServer:
    """The dashboard (``trendfolio_dashboard.app.create_app``) under werkzeug in a thread."""

    def __init__(self, api_url: str, api_key: str | None = None) -> None:
        from werkzeug.serving import make_server

        from trendfolio.config import Settings
        from trendfolio_dashboard.app import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(Settings(api_url=api_url, api_key=api_key))
        self._server = make_server("127.0.0.1", self.port, self.app.server, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="dashboard",
                                        daemon=True)

    def start(self) -> DashboardServer:
        self._thread.start()
        _wait_http(f"{self.url}/healthz", "dashboard")
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=15)


def _wait_http(url: str, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"the {what} did not answer at {url} within {timeout:.0f} s ({last})")


# The page is drawn when the view for the tab is in place, no loading spinner is showing and
# every Plotly graph in it has its SVG.
DRAWN_JS = """(view) => {
  const v = document.querySelector(`#view[data-view="${view}"]`);
  if (!v) return false;
  if (document.querySelector('._dash-loading, .dash-spinner')) return false;
  const graphs = v.querySelectorAll('.dash-graph');
  for (const g of graphs) { if (!g.querySelector('.main-svg')) return false; }
  return v.querySelectorAll('table').length > 0;
}"""
