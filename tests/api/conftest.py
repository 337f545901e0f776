"""API fixtures: one database loaded by the real pipeline, and `trendfolio serve api` on it.

The data comes from running `trendfolio backfill` (the real CLI: collectors, bus, Spark) from the
month-end session 2026-07-31 (so the monthly stage writes a real rebalance) to 2026-08-20: the real
2026 market beside the repository when present, else the `sample` source. Every analytics table,
08/09/10 included, holds what the pipeline wrote; the tests compare the API with those rows.
Then `trendfolio backtest` over the same range stores one real backtest run for `/backtest`.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.databases import create_database
from trendfolio.db.server import PgServer

REPO = Path(__file__).resolve().parents[2]
TRENDFOLIO = REPO / ".venv" / "bin" / "trendfolio"
MARKET_2026 = REPO.parent / "shared" / "data" / "market-2026"
# The two sessions the tests look at; the backfill starts earlier, at a month's last session.
SESSIONS = (date(2026, 8, 19), date(2026, 8, 20))
MONTH_END = date(2026, 7, 31)
READER = "api_test_reader"


@dataclass(frozen=True)
class LoadedDb:
    url: str  # read-write (the tests' own checks)
    reader_url: str  # the read-only role the API connects with
    source: str
    sessions: tuple[date, ...]
    # what `trendfolio backtest --format json` printed (empty: no run)
    backtest: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiServer:
    url: str
    pid: int
    log: Path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
    env.update(TRENDFOLIO_LOG_LEVEL="WARNING", **extra)
    return env


def cli(home: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [str(TRENDFOLIO), *args], env=_env(TRENDFOLIO_HOME=str(home), **env),
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert proc.returncode == 0, f"trendfolio {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="session")
async def loaded_db(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> LoadedDb:
    """A database filled by `trendfolio backfill`, plus the read-only role for the API."""
    source = f"csv:{MARKET_2026}" if (MARKET_2026 / "prices.csv").exists() else "sample"
    url = await create_database(pg_server, "api")
    password = secrets.token_urlsafe(16)
    reader_url = url.replace(
        url.split("@")[0], f"postgresql://{READER}:{quote(password, safe='')}"
    )
    home = tmp_path_factory.mktemp("api-home")
    env = {"TRENDFOLIO_DATABASE_URL": url}
    cli(home, env, "--source", source, "--universe", "spdr", "backfill",
        "--start", MONTH_END.isoformat(), "--end", SESSIONS[-1].isoformat())
    backtest = json.loads(cli(
        home, env, "--source", source, "--universe", "spdr", "backtest",
        "--start", MONTH_END.isoformat(), "--end", SESSIONS[-1].isoformat(), "--format", "json"))
    cli(home, {**env, "TRENDFOLIO_READONLY_DATABASE_URL": reader_url}, "db", "migrate")
    return LoadedDb(url, reader_url, source, SESSIONS, backtest)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    db: LoadedDb, home: Path, *, readonly: bool = True, **env: str
) -> Iterator[ApiServer]:
    port = _free_port()
    log_path = home / f"api-{port}.log"
    log = log_path.open("w")
    urls = {"TRENDFOLIO_DATABASE_URL": db.url}
    if readonly:
        urls["TRENDFOLIO_READONLY_DATABASE_URL"] = db.reader_url
    proc = subprocess.Popen(
        [str(TRENDFOLIO), "serve", "api", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(TRENDFOLIO_HOME=str(home), **urls, **env),
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"API did not start: {log_path.read_text()}")
        time.sleep(0.2)
    try:
        yield ApiServer(url, proc.pid, log_path)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
def api(
    loaded_db: LoadedDb, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    """`trendfolio serve api` on the loaded database, no API key, CORS for one origin."""
    yield from start_server(loaded_db, tmp_path_factory.mktemp("api"),
                            TRENDFOLIO_CORS_ORIGINS="http://127.0.0.1:8050")


@pytest.fixture(scope="session")
def client(api: ApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=10) as c:
        yield c
