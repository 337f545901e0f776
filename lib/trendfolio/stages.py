"""The stages of SPEC §4 by name, number and kind: what a DAG, a chart and ``trendfolio stage``
agree on. The code each one runs is bound to it in ``trendfolio_app.stages``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trendfolio.errors import UsageError

Kind = Literal["collect", "spark"]


@dataclass(frozen=True)
class StageInfo:
    name: str
    number: int
    # "collect": fetches from the source and publishes to the bus (a pod); "spark": a Spark job
    kind: Kind
    description: str


BENCHMARK = StageInfo("benchmark", 1, "collect", "benchmark ETF prices → etf-daily-data")
SECTOR = StageInfo("sector", 2, "collect", "sector ETF prices → etf-daily-data")
TRENDING = StageInfo("trending", 3, "spark", "ETFs beating SPY → analytics_03_trending_etfs")
HOLDINGS = StageInfo(
    "holdings", 4, "collect", "holdings of trending ETFs → etf-holdings-data, stock-daily-data"
)
ALLOCATION = StageInfo(
    "allocation", 5, "spark", "5/10/20-day portfolios → analytics_05_portfolio_allocation"
)
MONTHLY = StageInfo(
    "monthly", 6, "spark",
    "monthly 20-stock portfolio (month ends) → analytics_08_monthly_portfolio",
)
TOP_HOLDINGS = StageInfo(
    "top-holdings", 7, "spark", "ETF top-holdings analytics → analytics_09_etf_top_holdings"
)
MONTHLY_RETURNS = StageInfo(
    "monthly-returns", 8, "spark",
    "ETF monthly returns (12 months + current) → analytics_10_etf_monthly_returns",
)
# On a schedule of its own (the weekly DAG), never part of `run`/`backfill`.
ETF_HOLDINGS = StageInfo(
    "etf-holdings", 9, "collect",
    "weekly: every ETF's holdings → etf-holdings-data, stock-daily-data",
)

# What `run` and `backfill` run, in order.
PIPELINE: tuple[StageInfo, ...] = (
    BENCHMARK, SECTOR, TRENDING, HOLDINGS, ALLOCATION, MONTHLY, TOP_HOLDINGS, MONTHLY_RETURNS,
)
OCCASIONAL: tuple[StageInfo, ...] = (ETF_HOLDINGS,)
ALL: tuple[StageInfo, ...] = (*PIPELINE, *OCCASIONAL)


def stage_info(name: str) -> StageInfo:
    """The stage called ``name`` (or numbered ``name``); an unknown one is a usage error."""
    for s in ALL:
        if s.name == name or str(s.number) == name:
            return s
    raise UsageError(f"unknown stage {name!r}: use one of {', '.join(s.name for s in ALL)}")
