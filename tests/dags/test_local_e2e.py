"""`airflow dags test` of the daily controller with the local runner, end to end: real Airflow
(SQLite metadata in a temp AIRFLOW_HOME), real `trendfolio stage` subprocesses, the real 2026
market data and a real PostgreSQL; the portfolios of 2026-08-20 must land."""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path

import asyncpg
import pytest

from tests.support.airflow import airflow_env
from tests.support.paths import AIRFLOW_VENV, REPO, TRENDFOLIO

pytestmark = pytest.mark.airflow

DS = "2026-08-20"
STAGES = ["benchmark", "sector", "trending", "holdings", "allocation"]


def _airflow(home: Path, env: dict[str, str], *args: str, timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AIRFLOW_VENV / "bin" / "airflow"), *args],
        env=env, capture_output=True, text=True, timeout=timeout, cwd=home,
    )


async def test_local_runner_end_to_end(market_2026: Path, db_url: str, tmp_path: Path) -> None:
    trendfolio = TRENDFOLIO  # has the spark extra for stages 3 and 5
    if not trendfolio.exists():
        pytest.skip(f"{trendfolio} missing: run `make install`")
    home = tmp_path / "airflow"
    home.mkdir()
    env = airflow_env(
        home,
        "local",
        TRENDFOLIO_AIRFLOW_COMMAND=str(trendfolio),
        TRENDFOLIO_DATABASE_URL=db_url,
        TRENDFOLIO_SOURCE=f"csv:{market_2026}",
        # the project's home keeps Spark's JDBC jar (tests/jobs does the same): no Ivy download
        TRENDFOLIO_HOME=os.environ.get("TRENDFOLIO_HOME") or str(REPO / ".trendfolio"),
    )
    migrate = _airflow(home, env, "db", "migrate", timeout=300)
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-3000:]
    # The ETF analytics stages (when this trendfolio has them) have their own Spark tests; they
    # are marked done here to keep this run to the five-stage chain.
    run = _airflow(home, env, "dags", "test", "trendfolio_daily", DS,
                   "--mark-success-pattern", "^(top_holdings|monthly_returns)$", timeout=900)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-6000:]

    conn = await asyncpg.connect(db_url)
    try:
        runs = await conn.fetch(
            "SELECT stage, status, duration_s FROM pipeline_runs WHERE as_of_date = $1 ORDER BY id",
            date.fromisoformat(DS),
        )
        portfolios = await conn.fetch(
            "SELECT period_days, count(*) AS n, sum(portfolio_weight) AS total "
            "FROM analytics_05_portfolio_allocation WHERE as_of_date = $1 GROUP BY period_days "
            "ORDER BY period_days",
            date.fromisoformat(DS),
        )
    finally:
        await conn.close()
    print({r["stage"]: round(r["duration_s"], 1) for r in runs})  # noqa: T201
    # each stage ran once, in the DAG's order, as its own `trendfolio stage` process
    assert [(r["stage"], r["status"]) for r in runs] == [(s, "success") for s in STAGES], log[-4000:]
    assert [r["period_days"] for r in portfolios] == [5, 10, 20]
    for r in portfolios:
        assert r["n"] >= 1
        assert abs(float(r["total"]) - 1.0) < 1e-9
    # 2026-08-20 is not the month's last session: the monthly stage was skipped, not run
    assert "is_last_session_of_month" in log
