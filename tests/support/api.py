"""The API under test: the loaded database it serves, `trendfolio serve api` started on it,
and the installed command run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from tests.support.net import free_port
from tests.support.paths import TRENDFOLIO

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


def start_server(
    db: LoadedDb, home: Path, *, readonly: bool = True, **env: str
) -> Iterator[ApiServer]:
    port = free_port()
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
