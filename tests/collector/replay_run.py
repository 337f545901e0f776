"""One collection from the yfinance source pointed at the local Yahoo replay, run in this
process or in a child process that a test kills part-way.

``python -m tests.collector.replay_run RUN BASE_URL DATABASE_URL HOME`` (from the repository
root) runs the collection ``RUN`` of :data:`RUNS` for :data:`AS_OF` into the database.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import yfinance as yf

from tests.support.yahoo_replay import ReplaySession
from trendfolio.bus import Bus, InProcessBus
from trendfolio.config import load_settings
from trendfolio.pipeline import StageContext, StageResult
from trendfolio.sources.base import Source
from trendfolio.sources.politeness import RetryPolicy, TokenBucket
from trendfolio.sources.yfinance_source import YFinanceSource
from trendfolio.universe import Universe, parse_universe
from trendfolio_collector.stages import collect_stock_history, stage_benchmark, stage_etf_holdings

AS_OF = date(2026, 5, 1)  # the last session of the recorded responses
_HEADER = "ticker,is_benchmark,is_reference,sector_name\n"
# The replay has charts for these four; to stage 1 they are four benchmarks like any other.
FOUR_BENCHMARKS = parse_universe(
    "replay-4", _HEADER + "SPY,true,true,\nXLK,true,false,\nAAPL,true,false,\nMSFT,true,false,\n"
)
SPY_AND_XLK = parse_universe("replay-2", _HEADER + "SPY,true,true,\nXLK,false,false,Technology\n")

Collect = Callable[[StageContext, Source, Bus], Awaitable[StageResult]]
RUNS: dict[str, tuple[Universe, Collect]] = {
    "benchmark": (FOUR_BENCHMARKS, lambda ctx, src, bus: stage_benchmark(ctx, AS_OF, src, bus)),
    "etf-holdings": (
        SPY_AND_XLK,
        lambda ctx, src, bus: stage_etf_holdings(ctx, AS_OF, src, bus),
    ),
    "backtest": (
        SPY_AND_XLK,
        lambda ctx, src, bus: collect_stock_history(
            ctx, ["AAPL", "MSFT"], AS_OF, src, bus, "backtest"
        ),
    ),
}


def replay_source(base_url: str, home: Path) -> YFinanceSource:
    """The production source and session, Yahoo's hosts rewritten to the replay. No response
    cache: every request a re-run saves is saved by resuming, not by the cache (which forgets
    after 12 hours). A generous timeout, so a request the replay holds waits for the kill."""
    session = ReplaySession(
        base_url,
        limiter=TokenBucket(rate_per_s=1000.0, burst=100),
        retry_policy=RetryPolicy(max_tries=2, backoff_s=0.01),
        response_cache=None,
        timeout_s=120.0,
    )
    return YFinanceSource(session, home=home)


async def collect(run: str, base_url: str, database_url: str, home: Path) -> StageResult:
    universe, body = RUNS[run]
    ctx = StageContext(load_settings(source="yfinance", home=home), universe, database_url,
                       "yfinance")
    source, bus = replay_source(base_url, home), InProcessBus(database_url)
    try:
        return await body(ctx, source, bus)
    finally:
        await bus.close()
        source.close()


def main() -> None:
    run, base_url, database_url, home = sys.argv[1:]
    yf.set_tz_cache_location(str(Path(home) / "yfinance"))  # not the user's ~/.cache
    asyncio.run(collect(run, base_url, database_url, Path(home)))


if __name__ == "__main__":
    main()
