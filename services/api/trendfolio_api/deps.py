"""Dependencies shared by the routes: the pool, the API key and the parameter types."""

from __future__ import annotations

import hmac
from datetime import date
from enum import IntEnum
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Path, Query, Request, Security
from fastapi.security import APIKeyHeader

from trendfolio import rules

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


# "5, 10 or 20", for descriptions.
PERIOD_CHOICES = f"{', '.join(map(str, rules.PERIODS[:-1]))} or {rules.PERIODS[-1]}"
# An enum, so OpenAPI lists the periods and anything else is a 422; its members come from the
# rule. mypy cannot name members built from data but still types it as an IntEnum.
Period = IntEnum("Period", {f"D{p}": p for p in rules.PERIODS})  # type: ignore[misc]
Period.__doc__ = f"A portfolio horizon in sessions (SPEC §1): {PERIOD_CHOICES}."
# The seed's default horizon, the longest one.
DEFAULT_PERIOD = Period(max(rules.PERIODS))

PeriodDays = Annotated[
    Period, Query(description=f"portfolio horizon in sessions: {PERIOD_CHOICES}")
]
AsOfDate = Annotated[
    date | None,
    Query(description="as-of session (YYYY-MM-DD); default: the latest in the data"),
]
RebalanceDate = Annotated[
    date | None, Query(description="rebalance session (YYYY-MM-DD); default: the latest")
]
_TICKER = r"^[A-Za-z0-9][A-Za-z0-9.\-^=]{0,31}$"
Symbol = Annotated[str, Path(pattern=_TICKER, description="stock or ETF ticker")]
EtfTicker = Annotated[str, Path(pattern=_TICKER, description="ETF ticker")]
TickerQuery = Annotated[str, Query(pattern=_TICKER, description="ETF ticker")]
