"""The seed's way of serving ``/stocks/portfolio``, kept only as the benchmark's baseline.

An ``async def`` handler that blocks the event loop on a synchronous driver and opens a new
database connection for every request (seed defect 26). Same queries and JSON as the real API.
Run by bench_api.py: ``uvicorn api_blocking_baseline:app --app-dir bench``.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
from fastapi import FastAPI

from trendfolio_api import queries

app = FastAPI(title="blocking baseline (seed style)")
URL = os.environ["BENCH_BASELINE_DATABASE_URL"]


@app.get("/stocks/portfolio")
async def portfolio(period_days: int = 20) -> list[dict[str, Any]]:
    # The API's statement; asyncpg's numbered placeholders become psycopg's named ones.
    sql = queries.PORTFOLIO.replace("$1", "%(day)s").replace("$2", "%(period)s")
    with psycopg.connect(URL) as conn:
        cur = conn.execute(sql, {"day": None, "period": period_days})
        cols = [c.name for c in cur.description or []]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    rows = [r for r in rows if r["ticker"] is not None]
    for r in rows:
        r["weight"] = r["portfolio_weight"] * 100
    return rows
