"""The `trendfolio` command as a user runs it: exit codes, and a whole run on real data."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.support.net import free_port

CLI = [sys.executable, "-m", "trendfolio_app"]


def _cli(*args: str, home: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
    env.update(TRENDFOLIO_HOME=str(home), TRENDFOLIO_LOG_LEVEL="WARNING")
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--date", "2026-13-01"], "is not a YYYY-MM-DD date"),
        (["run", "--date", "yesterday"], "is not a YYYY-MM-DD date"),
        (["run", "--date", "2026-08-22"], "2026-08-22 is not a NYSE session"),
        (["run", "--date", "2026-07-03"], "2026-07-03 is not a NYSE session"),
        (["stage", "bogus", "--date", "2026-08-20"], "unknown stage 'bogus'"),
        (["--source", "ftp://x", "run", "--date", "2026-08-20"], "unknown source 'ftp://x'"),
        (["--universe", "nope", "run", "--date", "2026-08-20"], "unknown universe 'nope'"),
        (["run", "--stages", "benchmark,oops", "--date", "2026-08-20"], "unknown stage 'oops'"),
        (["show", "portfolio", "--period", "7"], "invalid choice"),
        (["backfill", "--start", "2026-08-20"], "required: --end"),
        (["frobnicate"], "invalid choice"),
        (["backtest", "--start", "2026-08-20", "--end", "2026-08-19"], "must be after --start"),
        (["backtest", "--start", "2026-08-03", "--end", "2026-08-20", "--lag", "0"],
         "--lag must be at least 1 session"),
        (["backtest", "--start", "2026-08-03", "--end", "2026-08-20", "--cost-bps", "-5"],
         "--cost-bps must be a number"),
        # the global options also work after the command
        (["backtest", "--source", "ftp://x", "--start", "2026-08-03", "--end", "2026-08-20"],
         "unknown source 'ftp://x'"),
        (["run", "--date", "2026-08-20", "--universe", "nope"], "unknown universe 'nope'"),
    ],
)
def test_bad_usage_exits_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    proc = _cli(*args, home=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_invalid_setting_exits_2_naming_the_variable(tmp_path: Path) -> None:
    env = {**os.environ, "TRENDFOLIO_HOME": str(tmp_path), "TRENDFOLIO_TREND_PERIOD": "soon"}
    proc = subprocess.run([*CLI, "show", "portfolio"], capture_output=True, text=True, env=env,
                          check=False)
    assert proc.returncode == 2 and "TRENDFOLIO_TREND_PERIOD" in proc.stderr


def _show(what: str, home: Path, *extra: str) -> list[dict[str, object]]:
    proc = _cli("show", what, "--date", "2026-08-20", "--format", "json", *extra, home=home)
    assert proc.returncode == 0, proc.stderr
    rows: list[dict[str, object]] = json.loads(proc.stdout)
    return rows


@pytest.mark.spark
def test_run_twice_on_real_data_gives_the_same_portfolios(tmp_path: Path,
                                                          market_2026: Path) -> None:
    args = ["--source", f"csv:{market_2026}", "--universe", "spdr", "run", "--date", "2026-08-20"]
    first = _cli(*args, home=tmp_path)
    assert first.returncode == 0, first.stderr
    portfolio = _show("portfolio", tmp_path)
    trending = _show("trending", tmp_path)
    second = _cli(*args, home=tmp_path)
    assert second.returncode == 0, second.stderr
    assert _show("portfolio", tmp_path) == portfolio
    assert _show("trending", tmp_path) == trending

    assert {r["period"] for r in trending} == {5, 10, 20}
    assert len(trending) == 17 * 3  # every ETF of the universe, every period
    assert {r["period_days"] for r in portfolio} == {5, 10, 20}
    for period in (5, 10, 20):
        rows = [r for r in portfolio if r["period_days"] == period]
        total = math.fsum(float(r["portfolio_weight"]) for r in rows)  # type: ignore[arg-type]
        assert abs(total - 1) < 1e-9, (period, total)
        assert len({r["ticker"] for r in rows}) == len(rows)
        trending_20 = {r["etf_ticker"] for r in trending if r["period"] == 20 and r["is_trending"]}
        assert {r["etf_ticker"] for r in rows} <= trending_20
    keys = Counter((r["ticker"], r["period_days"]) for r in portfolio)
    assert max(keys.values()) == 1


def test_demo_serves_the_api_and_the_dashboard_until_interrupted(tmp_path: Path) -> None:
    """`trendfolio demo` on the sample market: portfolios printed, then the API and the
    dashboard answer on their ports; Ctrl-C (SIGINT) stops both and the command."""
    import signal
    import time
    import urllib.error
    import urllib.request

    api, dash = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
    env.update(TRENDFOLIO_HOME=str(tmp_path / "home"), TRENDFOLIO_LOG_LEVEL="WARNING")
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*CLI, "--source", "sample", "demo", "--date", "2026-08-20",
             "--api-port", str(api), "--dashboard-port", str(dash)],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while b"Ctrl-C stops both" not in log.read_bytes():
            assert proc.poll() is None, log.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, "demo did not start serving in 600 s"
            time.sleep(1)
        body = urllib.request.urlopen(
            f"http://127.0.0.1:{api}/stocks/portfolio?period_days=20&as_of_date=2026-08-20",
            timeout=10).read()
        picks = json.loads(body)
        assert picks, "the API serves the demo's 20-day portfolio"
        page = urllib.request.urlopen(f"http://127.0.0.1:{dash}/", timeout=10).read()
        assert b"<html" in page.lower()
        text = log.read_text(errors="replace")
        assert "SAMPLE DATA" in text
        assert all(p["ticker"] in text for p in picks), "the printed portfolio is the served one"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    assert proc.returncode in (0, 130), log.read_text(errors="replace")[-3000:]
    for port in (api, dash):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            raise AssertionError(f"port {port} still answers after the demo stopped")
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"port {port} still answers after the demo stopped") from exc
        except OSError:
            pass


def test_sigterm_stops_the_embedded_database_a_server_started(tmp_path: Path) -> None:
    """`trendfolio serve api` on the embedded default starts PostgreSQL itself; SIGTERM (a
    pod stopping, `kill`) must stop that server too, not leave it running."""
    import signal
    import time
    import urllib.request

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
    env.update(TRENDFOLIO_HOME=str(tmp_path / "home"), TRENDFOLIO_LOG_LEVEL="WARNING")
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*CLI, "serve", "api", "--port", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    pidfile = tmp_path / "home" / "postgres" / "data" / "postmaster.pid"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).close()
                break
            except OSError:
                assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
                assert time.monotonic() < deadline, "the API did not start in 120 s"
                time.sleep(0.5)
        assert pidfile.exists(), "the API runs on the embedded server it started"
        pg_pid = int(pidfile.read_text().split()[0])
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    deadline = time.monotonic() + 30
    while True:
        try:
            os.kill(pg_pid, 0)
        except ProcessLookupError:
            break
        if time.monotonic() > deadline:
            os.kill(pg_pid, signal.SIGKILL)
            raise AssertionError("the embedded PostgreSQL outlived `serve api` after SIGTERM")
        time.sleep(0.5)
    assert not pidfile.exists()
