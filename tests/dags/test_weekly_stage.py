"""The weekly DAG's stage, `trendfolio stage etf-holdings`, for real: every ETF's holdings and
its top holdings' prices land in PostgreSQL, trending or not (sample source, embedded bus)."""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path

import asyncpg
import pytest

from tests.support.paths import TRENDFOLIO

DS = "2026-08-21"  # a Friday: the week's last session


async def test_etf_holdings_stage_covers_every_etf(db_url: str, tmp_path: Path) -> None:
    if not TRENDFOLIO.exists():
        pytest.skip(f"{TRENDFOLIO} missing: run `make install`")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
    env.update(TRENDFOLIO_DATABASE_URL=db_url, TRENDFOLIO_SOURCE="sample",
               TRENDFOLIO_HOME=str(tmp_path / "home"))
    proc = subprocess.run([str(TRENDFOLIO), "stage", "etf-holdings", "--date", DS], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    conn = await asyncpg.connect(db_url)
    try:
        etfs = {r["ticker"] for r in await conn.fetch("SELECT ticker FROM collected_00_meta_etf")}
        with_holdings = {r["etf_ticker"] for r in await conn.fetch(
            "SELECT DISTINCT etf_ticker FROM collected_04_etf_holdings WHERE as_of_date <= $1",
            date.fromisoformat(DS))}
        trending = await conn.fetchval("SELECT count(*) FROM analytics_03_trending_etfs")
        top = await conn.fetch(
            """SELECT DISTINCT ON (h.etf_ticker) h.etf_ticker, h.holding_ticker
               FROM collected_04_etf_holdings h
               ORDER BY h.etf_ticker, h.holding_percent DESC, h.holding_ticker""")
        priced = {r["ticker"] for r in await conn.fetch(
            "SELECT DISTINCT ticker FROM collected_06_daily_stock_history WHERE trade_date <= $1",
            date.fromisoformat(DS))}
        run = await conn.fetchrow(
            "SELECT status, details FROM pipeline_runs WHERE stage = 'etf-holdings'")
    finally:
        await conn.close()
    assert trending == 0  # nothing was trending: stage 4 would have collected nothing
    assert len(etfs) >= 10 and with_holdings, etfs
    assert run["status"] == "success"
    # every ETF either has its snapshot stored or is reported as having none
    import json

    details = json.loads(run["details"])
    assert with_holdings | set(details["without_holdings"]) == etfs
    assert set(details["etfs"]) == etfs
    # each snapshot's largest holding got its price history
    assert {r["holding_ticker"] for r in top} <= priced
