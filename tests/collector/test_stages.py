"""Stages 1, 2 and 4 through the in-process bus into a real PostgreSQL."""

from datetime import date
from pathlib import Path

import asyncpg
import pytest

from trendfolio.bus import InProcessBus
from trendfolio.config import load_settings
from trendfolio.errors import SourceError
from trendfolio.pipeline import StageContext
from trendfolio.sources.base import Fundamental
from trendfolio.sources.csv_source import CsvSource
from trendfolio.sources.resume import Progress
from trendfolio.universe import parse_universe
from trendfolio_collector.stages import (
    stage_benchmark,
    stage_etf_holdings,
    stage_holdings,
    stage_sector,
)

UNIVERSE = parse_universe("t", "ticker,is_benchmark,is_reference,sector_name\n"
                               "SPY,true,true,\nXLK,false,false,Technology\n")


@pytest.fixture
def csv_dir(tmp_path: Path) -> Path:
    rows = ["ticker,date,open,high,low,close,adj_close,volume"]
    days = ["2026-08-17", "2026-08-18", "2026-08-19", "2026-08-20"]
    for t, base in (("SPY", 100.0), ("XLK", 50.0), ("AAPL", 200.0), ("MSFT", 300.0)):
        rows += [f"{t},{d},,,,{base + i},,1000" for i, d in enumerate(days)]
    (tmp_path / "prices.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "holdings.csv").write_text(
        "etf,holding,weight,asof\nXLK,AAPL,0.2,2026-01-02\nXLK,MSFT,0.1,2026-01-02\n")
    (tmp_path / "market_caps.csv").write_text(
        "ticker,date_or_asof,market_cap,shares_outstanding\nAAPL,2026-08-20,3e12,\n"
        "MSFT,2026-08-20,,7e9\n")
    return tmp_path


def _ctx(url: str) -> StageContext:
    return StageContext(load_settings(), UNIVERSE, url, "csv:x")


async def test_etf_stages_collect_every_missing_session_once(db_url: str, csv_dir: Path) -> None:
    src, bus = CsvSource(csv_dir), InProcessBus(db_url)
    first = await stage_benchmark(_ctx(db_url), date(2026, 8, 19), src, bus)
    assert first.rows == 3
    again = await stage_benchmark(_ctx(db_url), date(2026, 8, 20), src, bus)
    assert again.rows == 1 and again.details["up_to_date"] == 0
    assert (await stage_sector(_ctx(db_url), date(2026, 8, 20), src, bus)).rows == 4
    conn = await asyncpg.connect(db_url)
    counts = dict(await conn.fetch("SELECT ticker, count(*) FROM collected_01_daily_etf_ohlc "
                                   "GROUP BY ticker"))
    assert counts == {"SPY": 4, "XLK": 4}
    await conn.close()


async def test_a_failing_ticker_fails_the_stage_naming_it(db_url: str, csv_dir: Path) -> None:
    universe = parse_universe("t", "ticker,is_benchmark,is_reference,sector_name\n"
                                   "SPY,true,true,\nNOPE,true,false,\n")
    ctx = StageContext(load_settings(), universe, db_url, "csv:x")
    with pytest.raises(SourceError, match="NOPE"):
        await stage_benchmark(ctx, date(2026, 8, 20), CsvSource(csv_dir), InProcessBus(db_url))
    conn = await asyncpg.connect(db_url)
    # The good ticker is kept; the failed one left nothing behind.
    assert await conn.fetchval("SELECT count(DISTINCT ticker) FROM collected_01_daily_etf_ohlc") == 1
    await conn.close()


async def test_holdings_stage_collects_trending_etf_holdings(db_url: str, csv_dir: Path) -> None:
    conn = await asyncpg.connect(db_url)
    src, bus = CsvSource(csv_dir), InProcessBus(db_url)
    skipped = await stage_holdings(_ctx(db_url), date(2026, 8, 20), src, bus)
    assert skipped.skipped
    await conn.execute("INSERT INTO analytics_03_trending_etfs (etf_ticker, as_of_date, period, "
                       "return_pct, is_trending) VALUES ('XLK', '2026-08-20', 20, 3.0, true)")
    res = await stage_holdings(_ctx(db_url), date(2026, 8, 20), src, bus)
    assert res.details["trending"] == ["XLK"] and res.details["failed"] == []
    holdings = await conn.fetch("SELECT holding_ticker, as_of_date, is_point_in_time "
                                "FROM collected_04_etf_holdings ORDER BY 1")
    assert [tuple(r) for r in holdings] == [("AAPL", date(2026, 1, 2), True),
                                            ("MSFT", date(2026, 1, 2), True)]
    assert await conn.fetchval("SELECT count(*) FROM collected_06_daily_stock_history") == 8
    caps = await conn.fetch("SELECT ticker, market_cap, shares_outstanding "
                            "FROM collected_07_stock_fundamentals ORDER BY 1")
    assert [(r[0], r[1] and float(r[1]), r[2] and float(r[2])) for r in caps] == [
        ("AAPL", 3e12, None), ("MSFT", None, 7e9)]
    await conn.close()


async def test_holdings_the_source_does_not_carry_leave_the_day_whole(
    db_url: str, csv_dir: Path
) -> None:
    """An ETF whose holdings are all missing from a CSV market (IWM's small caps) gets no
    picks; the stage does not fail the day. An outage still fails it (test above)."""
    (csv_dir / "holdings.csv").write_text(
        "etf,holding,weight,asof\nXLK,ZZZA,0.2,2026-01-02\nXLK,ZZZB,0.1,2026-01-02\n")
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("INSERT INTO analytics_03_trending_etfs (etf_ticker, as_of_date, "
                           "period, return_pct, is_trending) "
                           "VALUES ('XLK', '2026-08-20', 20, 3.0, true)")
        res = await stage_holdings(_ctx(db_url), date(2026, 8, 20), CsvSource(csv_dir),
                                   InProcessBus(db_url))
        assert res.details["not_in_source"] == ["ZZZA", "ZZZB"]
        assert res.details["failed"] == ["ZZZA", "ZZZB"]
        assert await conn.fetchval("SELECT count(*) FROM collected_06_daily_stock_history") == 0
    finally:
        await conn.close()


async def test_holdings_are_collected_in_the_etf_pick_order(db_url: str, csv_dir: Path) -> None:
    """SPEC §4: trend-period return, best first, ties by ticker (``rules.ETF_PICK_ORDER``)."""
    conn = await asyncpg.connect(db_url)
    try:
        await conn.executemany(
            "INSERT INTO analytics_03_trending_etfs (etf_ticker, as_of_date, period, return_pct, "
            "is_trending) VALUES ($1, '2026-08-20', $2, $3, $4)",
            [("XLK", 20, 2.0, True), ("XLF", 20, 3.0, True), ("XLB", 20, 2.0, True),
             ("XLE", 20, 9.0, False), ("XLU", 5, 9.0, True)],
        )
    finally:
        await conn.close()
    res = await stage_holdings(_ctx(db_url), date(2026, 8, 20), CsvSource(csv_dir),
                               InProcessBus(db_url))
    assert res.details["trending"] == ["XLF", "XLB", "XLK"]


class _RememberingCsv(CsvSource):
    """A CSV market that keeps resumable progress on disk, as the yfinance source does, and
    notes which holdings it was asked about."""

    def __init__(self, folder: Path, home: Path) -> None:
        super().__init__(folder)
        self._home = home
        self.asked: list[str] = []

    def progress(self, run_key: str) -> Progress:
        return Progress(self._home, run_key)

    def fundamentals(self, ticker: str, start: date, end: date) -> list[Fundamental]:
        self.asked.append(ticker)
        return super().fundamentals(ticker, start, end)


async def test_a_failed_holding_is_all_a_rerun_asks_for(
    db_url: str, csv_dir: Path, tmp_path: Path
) -> None:
    """A holding that failed is never recorded as done: its ETF stays unfinished, and the next
    run for the same day asks for the ETF's snapshot and that holding, nothing else."""
    (csv_dir / "holdings.csv").write_text(
        "etf,holding,weight,asof\nXLK,AAPL,0.2,2026-01-02\nXLK,MSFT,0.1,2026-01-02\n"
        "XLK,ZZZ,0.05,2026-01-02\n")
    universe = parse_universe("t", "ticker,is_benchmark,is_reference,sector_name\n"
                                   "SPY,true,true,\nXLK,false,false,Technology\n")
    ctx = StageContext(load_settings(), universe, db_url, "csv:x")
    day, home = date(2026, 8, 20), tmp_path / "home"

    first = _RememberingCsv(csv_dir, home)
    res = await stage_etf_holdings(ctx, day, first, InProcessBus(db_url))
    assert res.details["failed"] == ["ZZZ"] and sorted(first.asked) == ["AAPL", "MSFT", "ZZZ"]

    again = _RememberingCsv(csv_dir, home)
    res = await stage_etf_holdings(ctx, day, again, InProcessBus(db_url))
    assert again.asked == ["ZZZ"] and res.details["resumed_stocks"] == 2
    assert res.details["resumed_etfs"] == ["SPY"]  # it has no holdings: nothing left to do

    with (csv_dir / "prices.csv").open("a") as prices:
        prices.write("ZZZ,2026-08-20,,,,10,,100\n")
    fixed = _RememberingCsv(csv_dir, home)
    res = await stage_etf_holdings(ctx, day, fixed, InProcessBus(db_url))
    assert fixed.asked == ["ZZZ"] and res.details["failed"] == []
    assert not list(home.glob("*.json"))  # finished whole: the next run refreshes everything
