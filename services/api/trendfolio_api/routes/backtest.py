"""``/backtest``: the walk-forward backtests `trendfolio backtest` stored (issue 5).

One request gives the 백테스트 tab everything: the run, its caveats, each strategy's metrics,
the equity and drawdown curves, the trades' turnover, the point-in-time report and the pick leg.
Every figure is a fraction, as stored and as the CLI's JSON prints it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from trendfolio_api import crud
from trendfolio_api.deps import PoolDep
from trendfolio_api.models import Backtest, BacktestRun

router = APIRouter(prefix="/backtest", tags=["backtest"])
BIGINT_MAX = 2**63 - 1  # run ids are bigint: larger ones are a 422, not a database error

RunId = Annotated[
    int | None,
    Query(ge=1, le=BIGINT_MAX, description="a run's id (see /backtest/runs); default: the newest"),
]


@router.get("", response_model=Backtest)
async def backtest(pool: PoolDep, run_id: RunId = None) -> Backtest:
    """A backtest run (default: the newest) with everything the 백테스트 tab draws."""
    return await crud.read_backtest(pool, run_id)


@router.get("/runs", response_model=list[BacktestRun])
async def runs(
    pool: PoolDep,
    limit: Annotated[int, Query(ge=1, le=100, description="runs, newest first")] = 20,
) -> list[BacktestRun]:
    """The stored backtest runs, newest first (an empty list when there is none)."""
    return await crud.read_backtest_runs(pool, limit)
