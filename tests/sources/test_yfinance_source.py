"""The yfinance source against recorded Yahoo responses served from 127.0.0.1.

yfinance runs unmodified over real HTTP; only the session's Yahoo host names are rewritten
(see ``support.yahoo_replay``). The one live test is opt-in.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yfinance as yf
from yfinance.data import YfData

from tests.support.yahoo_replay import FIXTURES, FOREVER, Faults, ReplaySession, YahooReplayServer
from trendfolio.config import load_settings
from trendfolio.errors import SourceError
from trendfolio.sources.base import DailyBar
from trendfolio.sources.politeness import ResponseCache, RetryPolicy, TokenBucket
from trendfolio.sources.resume import run_resumable
from trendfolio.sources.yfinance_source import YFinanceSource
from trendfolio.wiring import open_source

pytestmark = [
    # yfinance 1.7 itself still passes inplace= to pandas 3; not ours to fix here.
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
    pytest.mark.timeout(60),
]

CHART = "/v8/finance/chart/"
NEW_YORK = ZoneInfo("America/New_York")
START, END = date(2026, 3, 23), date(2026, 4, 10)
SourceFactory = Callable[..., YFinanceSource]


@pytest.fixture(scope="module", autouse=True)
def _yfinance_caches_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    # yfinance keeps time zones and cookies in sqlite under ~/.cache; keep tests out of it.
    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yfinance-cache")))


@pytest.fixture(autouse=True)
def _no_memoised_answers() -> None:
    # yfinance memoises GETs in-process (YfData.cache_get is an lru_cache). Clear it so a
    # test's requests reach the session and the server, not an earlier test's answers.
    YfData.cache_get.cache_clear()


@pytest.fixture
def server() -> Iterator[YahooReplayServer]:
    with YahooReplayServer() as replay:
        yield replay


@pytest.fixture
def make_source(server: YahooReplayServer, tmp_path: Path) -> Iterator[SourceFactory]:
    made: list[YFinanceSource] = []

    def factory(
        *,
        home: Path = tmp_path,
        max_tries: int = 3,
        backoff_s: float = 0.01,
        timeout_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = lambda: 1.0,
    ) -> YFinanceSource:
        session = ReplaySession(
            server.base_url,
            limiter=TokenBucket(rate_per_s=1000.0, burst=100),
            retry_policy=RetryPolicy(max_tries=max_tries, backoff_s=backoff_s),
            response_cache=ResponseCache(home / "cache" / "yahoo"),
            timeout_s=timeout_s,
            sleep=sleep,
            rand=rand,
        )
        source = YFinanceSource(session, home=home)
        made.append(source)
        return source

    yield factory
    for source in made:
        source.close()


def recorded_bars(symbol: str) -> dict[date, tuple[float | None, float | None]]:
    """(close, adj close) per session, read straight from the fixture."""
    result = json.loads((FIXTURES / "chart" / f"{symbol}.json").read_text())["chart"]["result"][0]
    quote, adj = result["indicators"]["quote"][0], result["indicators"]["adjclose"][0]["adjclose"]
    days = [datetime.fromtimestamp(t, NEW_YORK).date() for t in result["timestamp"]]
    return {d: (c, a) for d, c, a in zip(days, quote["close"], adj, strict=True)}


# --------------------------------------------------------------------------- the data


def test_daily_bars_have_close_and_adj_close_for_the_range(make_source: SourceFactory) -> None:
    bars = make_source().daily_bars("SPY", START, END)

    expected = {d: v for d, v in recorded_bars("SPY").items() if START <= d <= END}
    assert [b.trade_date for b in bars] == sorted(expected)  # oldest first, in range only
    assert date(2026, 4, 3) not in expected  # Good Friday: no session, no bar
    assert all(type(b.trade_date) is date for b in bars)
    for bar in bars:
        assert isinstance(bar, DailyBar) and bar.ticker == "SPY"
        assert (bar.close, bar.adj_close) == pytest.approx(expected[bar.trade_date])
        assert bar.adj_close is not None and bar.adj_close < bar.close  # dividends since
        assert bar.volume is not None and bar.volume > 0


def test_daily_bars_keep_missing_adj_close_and_drop_sessions_without_close(
    make_source: SourceFactory,
) -> None:
    source = make_source()
    xlk = source.daily_bars("XLK", date(2026, 3, 20), date(2026, 3, 24))
    assert xlk[0].trade_date == date(2026, 3, 20) and xlk[0].adj_close is None
    assert xlk[0].close == pytest.approx(135.29)

    msft = source.daily_bars("MSFT", date(2026, 4, 10), date(2026, 4, 20))
    days = [b.trade_date for b in msft]
    assert date(2026, 4, 14) not in days  # Yahoo sent that session without a close
    assert days == [date(2026, 4, d) for d in (10, 13, 15, 16, 17, 20)]


def test_holdings_are_top_ten_fractions_dated_as_of(make_source: SourceFactory) -> None:
    as_of = date(2026, 5, 1)
    snap = make_source().holdings("XLK", as_of)

    assert snap is not None
    assert (snap.etf, snap.as_of, snap.point_in_time) == ("XLK", as_of, True)
    assert len(snap.holdings) == 10
    weights = [h.weight for h in snap.holdings]
    assert weights == sorted(weights, reverse=True)
    assert all(0 < w < 1 for w in weights) and sum(weights) < 1
    top = snap.holdings[0]
    assert (top.holding, top.name) == ("NVDA", "NVIDIA Corp")
    assert top.weight == pytest.approx(0.1459997)


def test_holdings_of_a_stock_are_none(make_source: SourceFactory) -> None:
    assert make_source().holdings("AAPL", date(2026, 5, 1)) is None


def test_fundamentals_give_cap_at_end_and_shares_history(make_source: SourceFactory) -> None:
    start, end = date(2026, 4, 1), date(2026, 5, 1)
    rows = make_source().fundamentals("AAPL", start, end)

    assert [r.as_of for r in rows] == [
        date(2025, 12, 31),
        date(2026, 3, 23),
        date(2026, 4, 30),
        end,
    ]
    assert all(r.ticker == "AAPL" for r in rows)
    *history, last = rows
    assert all(r.market_cap is None and r.shares_outstanding for r in history)
    assert history[-1].shares_outstanding == 14_681_140_000
    assert last.market_cap == pytest.approx(14_681_140_000 * 280.14, rel=1e-6)
    assert last.shares_outstanding == 14_681_140_000


def test_fundamentals_of_an_etf_are_empty(make_source: SourceFactory) -> None:
    assert make_source().fundamentals("SPY", date(2026, 4, 1), date(2026, 5, 1)) == []


def test_meta(make_source: SourceFactory) -> None:
    source = make_source()
    aapl = source.meta("AAPL")
    assert (aapl.ticker, aapl.name, aapl.sector, aapl.currency) == (
        "AAPL",
        "Apple Inc.",
        "Technology",
        "USD",
    )
    spy = source.meta("SPY")
    assert (spy.name, spy.sector, spy.currency) == ("SPDR S&P 500 ETF", None, "USD")


def test_meta_of_an_unknown_ticker_names_it(make_source: SourceFactory) -> None:
    with pytest.raises(SourceError) as err:
        make_source().meta("NOPE")
    assert err.value.ticker == "NOPE" and "NOPE" in str(err.value)


# --------------------------------------------------------------------------- politeness


def test_rate_limited_then_success_backs_off_and_retries(
    server: YahooReplayServer, make_source: SourceFactory
) -> None:
    slept: list[float] = []
    server.faults = Faults(too_many_requests=2)
    bars = make_source(max_tries=4, backoff_s=0.5, sleep=slept.append).daily_bars("SPY", START, END)

    assert len(bars) == 14
    statuses = [s.status for s in server.hits(CHART)]
    assert statuses[:2] == [429, 429] and set(statuses[2:]) == {200}
    # Full jitter at its ceiling (rand() == 1): 0.5 s, then doubled.
    assert slept == [0.5, 1.0]


def test_rate_limited_forever_gives_up_naming_ticker_and_tries(
    server: YahooReplayServer, make_source: SourceFactory
) -> None:
    server.faults = Faults(too_many_requests=FOREVER)
    began = time.monotonic()
    with pytest.raises(SourceError) as err:
        make_source(max_tries=3, backoff_s=0.05).daily_bars("SPY", START, END)

    assert time.monotonic() - began < 5
    message = str(err.value)
    assert err.value.ticker == "SPY" and message.startswith("SPY: ")
    assert "3 tries" in message and "429" in message and "2026-03-23..2026-04-10" in message
    assert len(server.hits(CHART)) == 3  # bounded: nothing after the last try


def test_timeout_is_retried_then_reported(
    server: YahooReplayServer, make_source: SourceFactory
) -> None:
    server.faults = Faults(hang_s=10.0)
    began = time.monotonic()
    with pytest.raises(SourceError) as err:
        make_source(max_tries=2, timeout_s=0.3).daily_bars("AAPL", START, END)

    assert time.monotonic() - began < 5
    assert err.value.ticker == "AAPL"
    assert "2 tries" in str(err.value) and "Timeout" in str(err.value)
    assert len(server.hits(CHART)) == 2


def test_empty_chart_raises_instead_of_returning_nothing(
    server: YahooReplayServer, make_source: SourceFactory
) -> None:
    server.faults = Faults(empty_chart=True)
    with pytest.raises(SourceError) as err:
        make_source().daily_bars("MSFT", START, END)
    assert err.value.ticker == "MSFT"
    assert "no bars" in str(err.value) and "2026-03-23..2026-04-10" in str(err.value)

    # The empty answer was not cached: once Yahoo has the data, the rerun gets it.
    server.faults = Faults()
    YfData.cache_get.cache_clear()
    asked = len(server.hits(CHART + "MSFT"))
    assert len(make_source().daily_bars("MSFT", START, END)) == 14
    assert len(server.hits(CHART + "MSFT")) > asked


def test_a_failed_part_fails_the_whole_call(
    server: YahooReplayServer, make_source: SourceFactory
) -> None:
    # The market cap comes back, the shares history is refused: no cap-only answer.
    server.faults = Faults(too_many_requests=FOREVER, too_many_path="/ws/fundamentals-timeseries/")
    with pytest.raises(SourceError) as err:
        make_source(max_tries=2).fundamentals("MSFT", date(2026, 4, 1), date(2026, 5, 1))
    assert err.value.ticker == "MSFT" and "2 tries" in str(err.value)


def test_a_refused_handshake_is_left_to_yfinance(
    server: YahooReplayServer, make_source: SourceFactory
) -> None:
    # yfinance fetches data without a crumb after a 429 on getcrumb, so the session hands
    # the 429 back after its bounded retries; a refused data request is the real failure.
    session = make_source(max_tries=2)._session
    server.faults = Faults(too_many_requests=FOREVER, too_many_path="/v1/test/getcrumb")
    answer = session.get("https://query1.finance.yahoo.com/v1/test/getcrumb")
    assert answer.status_code == 429
    assert len(server.hits("/v1/test/getcrumb")) == 2

    server.faults = Faults(too_many_requests=FOREVER)
    with pytest.raises(SourceError) as err:
        session.get("https://query2.finance.yahoo.com/v8/finance/chart/XLK", params={"range": "1d"})
    assert err.value.ticker == "XLK" and "2 tries" in str(err.value)


def test_second_call_is_served_from_the_disk_cache(
    server: YahooReplayServer, make_source: SourceFactory, tmp_path: Path
) -> None:
    first = make_source().daily_bars("AAPL", START, END)
    first_meta = make_source().meta("MSFT")
    asked = len(server.seen)
    assert list((tmp_path / "cache" / "yahoo").rglob("*.json"))

    YfData.cache_get.cache_clear()  # a rerun: nothing memoised in memory, same home
    rerun = make_source()
    assert rerun.daily_bars("AAPL", START, END) == first
    assert rerun.meta("MSFT") == first_meta
    assert server.seen[asked:] == []


async def test_resume_skips_finished_tickers(
    server: YahooReplayServer, make_source: SourceFactory
) -> None:
    tickers = ["SPY", "XLK", "AAPL", "MSFT"]
    run_key = "bars:2026-05-01"
    fetched: list[str] = []

    class Interrupted(Exception):
        pass

    def collect(
        source: YFinanceSource, stop_at: str | None
    ) -> Callable[[str], Coroutine[None, None, None]]:
        async def work(ticker: str) -> None:
            if ticker == stop_at:
                raise Interrupted(ticker)  # the job is killed before this ticker
            fetched.append(ticker)
            source.daily_bars(ticker, START, END)

        return work

    first = make_source()
    with pytest.raises(Interrupted):
        await run_resumable(tickers, first.progress(run_key), collect(first, stop_at="AAPL"))
    assert fetched == ["SPY", "XLK"]

    fetched.clear()
    asked = len(server.seen)
    restarted = make_source()  # a new process: progress is read back from disk
    progress = restarted.progress(run_key)
    assert progress.done == {"SPY", "XLK"}
    report = await run_resumable(tickers, progress, collect(restarted, stop_at=None))

    assert fetched == ["AAPL", "MSFT"]
    assert report.skipped == ["SPY", "XLK"] and report.done == ["AAPL", "MSFT"]
    assert {s.path.rsplit("/", 1)[-1] for s in server.seen[asked:] if s.path.startswith(CHART)} == {
        "AAPL",
        "MSFT",
    }
    assert restarted.progress(run_key).done == set(tickers)


# --------------------------------------------------------------------------- live (opt-in)

_LIVE = os.environ.get("TRENDFOLIO_NETWORK_TESTS") == "1"


@pytest.mark.network
@pytest.mark.skipif(
    not _LIVE, reason="talks to the real Yahoo Finance; set TRENDFOLIO_NETWORK_TESTS=1 to run"
)
def test_live_yahoo_daily_bars(tmp_path: Path) -> None:
    source = open_source(load_settings(source="yfinance", home=tmp_path))
    try:
        end = date.today()
        bars = source.daily_bars("SPY", end - timedelta(days=14), end)
    finally:
        source.close()
    assert bars and all(b.close > 0 and b.adj_close is not None for b in bars)
