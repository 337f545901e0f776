"""A collection SIGKILLed part-way resumes (SPEC §3): the re-run asks Yahoo only for what is
left, the ticker in flight left nothing behind, and the database ends as after one whole run.

The kill is real: the collection runs in a child process (``replay_run``) against the local
Yahoo replay, which holds MSFT's chart request until the test kills the child.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import yfinance as yf
from yfinance.data import YfData

from tests.collector import replay_run
from tests.support.databases import create_database
from tests.support.paths import REPO
from tests.support.yahoo_replay import FIXTURES, Faults, Seen, YahooReplayServer

pytestmark = [
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
    pytest.mark.timeout(120),
]

CHART = "/v8/finance/chart/"
_BY_PATH = (CHART, "/v10/finance/quoteSummary/", "/ws/fundamentals-timeseries/")
TABLES = (
    "collected_01_daily_etf_ohlc",
    "collected_04_etf_holdings",
    "collected_06_daily_stock_history",
    "collected_07_stock_fundamentals",
)
# (run, the tickers whose data the killed child had published, what its re-run must ask for)
SCENARIOS = [
    # stage 1: SPY, XLK and AAPL were published; MSFT's chart was in flight.
    ("benchmark", {"SPY", "XLK", "AAPL"}, {"MSFT"}),
    # The weekly refresh: SPY (snapshot and AAPL) finished; XLK's snapshot was published but
    # MSFT, its other holding, was in flight. XLK's snapshot is asked again (its top 10 say
    # what is left), AAPL's market cap is not, although a fresh run refreshes every cap.
    ("etf-holdings", {"SPY", "XLK", "AAPL"}, {"XLK", "MSFT"}),
    # A backtest's stock history: AAPL finished, MSFT was in flight.
    ("backtest", {"AAPL"}, {"MSFT"}),
]


@pytest.fixture(scope="module", autouse=True)
def _yfinance_caches_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yfinance-cache")))


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[YahooReplayServer]:
    """The replay, with SPY's top holdings cut to AAPL and XLK's to AAPL and MSFT: the
    holdings it has answers for, so every ticker asked for succeeds unless interrupted."""
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, fixtures)
    for etf, keep in (("SPY", {"AAPL"}), ("XLK", {"AAPL", "MSFT"})):
        path = fixtures / "quoteSummary" / f"{etf}.json"
        data = json.loads(path.read_text())
        top = data["quoteSummary"]["result"][0]["topHoldings"]
        top["holdings"] = [h for h in top["holdings"] if h["symbol"] in keep]
        path.write_text(json.dumps(data))
    with YahooReplayServer(fixtures) as server:
        yield server


@pytest.fixture
async def other_db_url(pg_server: object) -> AsyncIterator[str]:
    """A second fresh database, for the uninterrupted run."""
    from trendfolio.db.server import PgServer

    assert isinstance(pg_server, PgServer)
    url = await create_database(pg_server, "t_whole", migrated=True)
    yield url
    admin = await asyncpg.connect(pg_server.url("postgres"))
    try:
        await admin.execute(f'DROP DATABASE "{url.rsplit("/", 1)[-1]}" WITH (FORCE)')
    finally:
        await admin.close()


def _symbol(seen: Seen) -> str | None:
    """The ticker a data request asked about (None for the cookie/crumb handshake)."""
    if seen.path.startswith(_BY_PATH):
        return seen.path.rsplit("/", 1)[-1]
    if seen.path.startswith("/v7/finance/quote"):
        return seen.params.get("symbols")
    return None


def _data(seen: list[Seen]) -> list[Seen]:
    return [s for s in seen if _symbol(s) is not None]


def _asked(seen: list[Seen]) -> set[str]:
    return {t for s in seen if (t := _symbol(s)) is not None}


async def _contents(url: str) -> dict[str, list[str]]:
    """Every collected row, without ids and timestamps, in a stable order."""
    conn = await asyncpg.connect(url)
    try:
        return {
            table: sorted(
                await conn.fetchval(
                    f"SELECT coalesce(array_agg((to_jsonb(t) - 'id' - 'created_at' "
                    f"- 'updated_at')::text), '{{}}') FROM {table} t"
                )
            )
            for table in TABLES
        }
    finally:
        await conn.close()


async def _tickers(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            " UNION ".join(
                f"SELECT {'etf_ticker' if 'holdings' in t else 'ticker'} AS t FROM {t}"
                for t in TABLES
            )
        )
        return {r["t"] for r in rows}
    finally:
        await conn.close()


async def _kill_while_msft_is_in_flight(
    run: str, replay: YahooReplayServer, db_url: str, home: Path
) -> None:
    replay.faults = Faults(hang_s=90.0, hang_path=CHART + "MSFT")
    log = home.parent / f"{run}-child.log"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.collector.replay_run", run, replay.base_url, db_url,
             str(home)],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(1200):
                if any(s.status == 0 for s in replay.hits(CHART + "MSFT")):
                    break
                assert child.poll() is None, f"the child ended on its own:\n{log.read_text()}"
                await asyncio.sleep(0.05)
            else:
                pytest.fail(f"MSFT's chart was never asked for:\n{log.read_text()}")
        finally:
            child.kill()  # SIGKILL: no cleanup, no flush, no finally blocks
            child.wait()
    replay.faults = Faults()


@pytest.mark.parametrize(("run", "published", "rest"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
async def test_a_killed_collection_resumes_with_only_what_is_left(
    run: str,
    published: set[str],
    rest: set[str],
    replay: YahooReplayServer,
    db_url: str,
    other_db_url: str,
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    await _kill_while_msft_is_in_flight(run, replay, db_url, home)
    killed = len(replay.seen)

    # What the killed run published is whole; the ticker in flight left nothing behind.
    assert await _tickers(db_url) == published  # MSFT not among them
    assert list((home / "cache" / "yahoo" / "progress").glob("*.json"))

    YfData.cache_get.cache_clear()  # a new process remembers no answers
    resumed = await replay_run.collect(run, replay.base_url, db_url, home)
    rerun = replay.seen[killed:]
    assert _asked(rerun) == rest
    assert resumed.rows > 0
    # A run that finished with nothing failed leaves no progress behind: the next one refreshes.
    assert not list((home / "cache" / "yahoo" / "progress").glob("*.json"))

    YfData.cache_get.cache_clear()
    start = len(replay.seen)
    await replay_run.collect(run, replay.base_url, other_db_url, tmp_path / "whole-home")
    whole = replay.seen[start:]
    assert _asked(whole) == published | {"MSFT"}
    assert len(_data(rerun)) < len(_data(whole))
    assert await _contents(db_url) == await _contents(other_db_url)
