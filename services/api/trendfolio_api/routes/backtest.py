"""``/backtest``: the walk-forward backtests `trendfolio backtest` stored (issue 5).

One request gives the 백테스트 tab everything: the run, its caveats, each strategy's metrics,
the equity and drawdown curves, the trades' turnover, the point-in-time report and the pick leg.
Every figure is a fraction, as stored and as the CLI's JSON prints it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query

from trendfolio.backtest import STRATEGIES
from trendfolio_api import queries
from trendfolio_api.deps import PoolDep, not_found
from trendfolio_api.models import (
    Backtest,
    BacktestRun,
    PickLegReturns,
    PointInTimeDate,
    PointInTimeReport,
    StrategyMetrics,
    StrategySeries,
    TradeTurnover,
)

router = APIRouter(prefix="/backtest", tags=["backtest"])
NO_RUN = "no backtest run yet: run `trendfolio backtest --start YYYY-MM-DD --end YYYY-MM-DD`"
_RUN_FIELDS = tuple(BacktestRun.model_fields)
_METRIC_FIELDS = tuple(StrategyMetrics.model_fields)
_PIT_FIELDS = tuple(f for f in PointInTimeDate.model_fields if f != "clean")
_PICK_FIELDS = tuple(PickLegReturns.model_fields)
BIGINT_MAX = 2**63 - 1

RunId = Annotated[
    int | None,
    Query(ge=1, le=BIGINT_MAX, description="a run's id (see /backtest/runs); default: the newest"),
]


def _run(r: asyncpg.Record) -> BacktestRun:
    return BacktestRun(**{k: r[k] for k in _RUN_FIELDS})


def _series(rows: Iterable[asyncpg.Record], column: str) -> list[StrategySeries]:
    """Rows of (strategy, trade_date, column) as one point per date keyed by strategy."""
    by_date: dict[date, dict[str, Any]] = {}
    for r in rows:
        if r["strategy"] in STRATEGIES:
            point = by_date.setdefault(r["trade_date"], {"date": r["trade_date"]})
            point[r["strategy"]] = r[column]
    return [StrategySeries.model_validate(p) for p in by_date.values()]


@router.get("", response_model=Backtest)
async def backtest(pool: PoolDep, run_id: RunId = None) -> Backtest:
    """A backtest run (default: the newest) with everything the 백테스트 tab draws."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                        readonly=True):
        run = await conn.fetchrow(queries.BACKTEST_RUN, run_id)
        if run is None:
            raise not_found(NO_RUN if run_id is None else f"no backtest run with run_id {run_id}")
        metrics = await conn.fetch(queries.BACKTEST_METRICS, run["id"])
        equity = await conn.fetch(queries.BACKTEST_EQUITY, run["id"])
        pit = await conn.fetch(queries.BACKTEST_POINT_IN_TIME, run["id"])
        picks = await conn.fetch(queries.BACKTEST_PICKS, run["id"])

    by_strategy = {r["strategy"]: r for r in metrics}
    strategies = {
        s: StrategyMetrics(**{k: by_strategy[s][k] for k in _METRIC_FIELDS})
        for s in STRATEGIES
        if s in by_strategy
    }
    by_date = [
        PointInTimeDate(
            **{k: r[k] for k in _PIT_FIELDS},
            clean=r["holdings_dated_ok"] and r["caps_dated_ok"] and r["recorded_in_time"],
        )
        for r in pit
    ]
    return Backtest(
        run=_run(run),
        caveats=list(run["caveats"]),
        strategies=strategies,
        equity=_series(equity, "equity"),
        drawdown=_series(equity, "drawdown"),
        turnover=[
            TradeTurnover(date=r["trade_date"], strategy=r["strategy"], turnover=r["turnover"])
            for r in equity
            if r["turnover"] is not None
        ],
        point_in_time=PointInTimeReport(
            dates=len(by_date), clean=sum(d.clean for d in by_date),
            holdings_dated_ok=sum(d.holdings_dated_ok for d in by_date),
            caps_dated_ok=sum(d.caps_dated_ok for d in by_date),
            recorded_in_time=sum(d.recorded_in_time for d in by_date), by_date=by_date,
        ),
        picks=[PickLegReturns(**{k: r[k] for k in _PICK_FIELDS}) for r in picks],
    )


@router.get("/runs", response_model=list[BacktestRun])
async def runs(
    pool: PoolDep,
    limit: Annotated[int, Query(ge=1, le=100, description="runs, newest first")] = 20,
) -> list[BacktestRun]:
    """The stored backtest runs, newest first (an empty list when there is none)."""
    return [_run(r) for r in await pool.fetch(queries.BACKTEST_RUNS, limit)]
