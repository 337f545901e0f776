"""Dependencies shared by the routes: the pool, the API key, parameter types, date lookups."""

from __future__ import annotations

import hmac
from datetime import date
from enum import IntEnum
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Path, Query, Request, Security
from fastapi.security import APIKeyHeader

from trendfolio_api import queries

_API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False)


def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]


def require_api_key(
    request: Request, supplied: Annotated[str | None, Security(_API_KEY_HEADER)]
) -> None:
    """With ``TRENDFOLIO_API_KEY`` set, the header must match (constant-time); else open."""
    expected: bytes | None = request.app.state.api_key
    if expected is None:
        return
    if supplied is None or not hmac.compare_digest(supplied.encode(), expected):
        raise HTTPException(401, "missing or invalid X-API-Key header")


class Period(IntEnum):
    """A portfolio horizon in sessions (SPEC §4): only 5, 10 and 20 exist."""

    D5 = 5
    D10 = 10
    D20 = 20


PeriodDays = Annotated[Period, Query(description="portfolio horizon in sessions: 5, 10 or 20")]
AsOfDate = Annotated[
    date | None,
    Query(description="as-of session (YYYY-MM-DD); default: the latest in the data"),
]
_TICKER = r"^[A-Za-z0-9][A-Za-z0-9.\-^=]{0,31}$"
Symbol = Annotated[str, Path(pattern=_TICKER, description="stock or ETF ticker")]
EtfTicker = Annotated[str, Path(pattern=_TICKER, description="ETF ticker")]
TickerQuery = Annotated[str, Query(pattern=_TICKER, description="ETF ticker")]


def not_found(what: str) -> HTTPException:
    return HTTPException(404, what)


async def resolve_as_of(
    conn: asyncpg.Pool | asyncpg.Connection, requested: date | None, latest_sql: str, period: int
) -> date | None:
    """The requested as-of date if the pipeline ran for it (else 404), or the latest one."""
    if requested is None:
        latest: date | None = await conn.fetchval(latest_sql, period)
        return latest
    if not await conn.fetchval(queries.DATE_KNOWN, requested):
        raise not_found(f"no pipeline run for as_of_date {requested.isoformat()}")
    return requested


async def fetch_portfolio(
    pool: asyncpg.Pool, as_of_date: date | None, period: int
) -> list[asyncpg.Record]:
    """The period's portfolio rows for the date (default: its latest); 404 for an unknown date."""
    rows: list[asyncpg.Record] = await pool.fetch(queries.PORTFOLIO, as_of_date, period)
    if not rows[0]["known"]:
        assert as_of_date is not None
        raise not_found(f"no pipeline run for as_of_date {as_of_date.isoformat()}")
    return [r for r in rows if r["ticker"] is not None]


def is_benchmark(etf_type: str | None) -> bool:
    return etf_type in ("benchmark", "both")


def is_sector(etf_type: str | None) -> bool:
    return etf_type in ("sector", "both")
