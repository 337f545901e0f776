"""The live ``yfinance`` source (SPEC §3), polite by construction.

Politeness lives at the HTTP layer: yfinance accepts a curl_cffi session, so
:class:`PoliteSession` wraps ``request()`` with the token bucket, the on-disk response cache
and bounded retries, and every request yfinance makes (cookie/crumb handshake included) is
covered without touching yfinance itself. Only data answers are cached, and only once the
call that asked for them succeeded.

Each public method runs inside a :class:`CallScope` naming the ticker and the dates asked
for. yfinance swallows most errors and returns an empty frame instead, so the session
records a terminal failure on the scope and the scope re-raises it after yfinance returns:
a ticker that failed anywhere in a call fails as a whole, never half-delivered.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import yfinance as yf
from curl_cffi.requests import Headers, Response, Session
from curl_cffi.requests.session import HttpMethod
from yfinance.exceptions import YFDataException

from trendfolio.config import Settings
from trendfolio.errors import SourceError, UsageError
from trendfolio.sources.base import (
    DailyBar,
    Fundamental,
    Holding,
    HoldingsSnapshot,
    Source,
    TickerMeta,
)
from trendfolio.sources.politeness import (
    CachedResponse,
    RateLimited,
    ResponseCache,
    RetryPolicy,
    TokenBucket,
    retry,
)
from trendfolio.sources.resume import Progress

log = logging.getLogger(__name__)

T = TypeVar("T")

# Only data endpoints are cached: the cookie/crumb handshake must stay live, or a rerun
# would replay a stale crumb that Yahoo no longer honours.
_DATA_PATHS = (
    "/v8/finance/chart/",
    "/v10/finance/quoteSummary/",
    "/v7/finance/quote",
    "/ws/fundamentals-timeseries/",
)
# Reruns of the same day's collection hit the cache; the next day refetches, because Yahoo
# revises adjusted closes after each dividend and today's quote (market cap) moves.
CACHE_TTL_S = 12 * 3600.0
# Shares outstanding are reported quarterly: look back far enough that the first day asked
# for has a share count to estimate its market cap from.
SHARES_LOOKBACK = timedelta(days=120)
TOP_HOLDINGS = 10


# --------------------------------------------------------------------------- call scope


@dataclass
class CallScope:
    """One logical Yahoo call for one ticker: what to name in errors, and how it went."""

    ticker: str
    what: str
    failure: SourceError | None = None
    http_errors: list[str] = field(default_factory=list)
    # Cache writes wait for the call to succeed: a response that led to an error (an empty
    # chart, say) must not be replayed to the rerun that is meant to try again.
    uncommitted: list[Callable[[], object]] = field(default_factory=list)

    def hint(self) -> str:
        return f" (Yahoo answered {', '.join(self.http_errors[-3:])})" if self.http_errors else ""

    def run(self, fn: Callable[[], T]) -> T:
        """Run a yfinance call; a failure recorded by the session wins over its result."""
        try:
            result = fn()
        except SourceError:
            raise
        except Exception as exc:
            if self.failure is not None:
                raise self.failure from exc
            raise SourceError(
                f"{self.what}: yfinance failed: {type(exc).__name__}: {exc}{self.hint()}",
                ticker=self.ticker,
            ) from exc
        if self.failure is not None:
            raise self.failure
        return result


_SCOPE: ContextVar[CallScope | None] = ContextVar("trendfolio_yahoo_scope", default=None)


# --------------------------------------------------------------------------- session


class PoliteSession(Session[Response]):
    """A curl_cffi session yfinance accepts, adding rate limit, cache and bounded retries.

    ``_send`` is where a request leaves the process; tests override it to point Yahoo's host
    names at a local replay server, so cache keys and error messages keep the real URLs.
    """

    def __init__(
        self,
        *,
        limiter: TokenBucket,
        retry_policy: RetryPolicy,
        response_cache: ResponseCache | None,
        timeout_s: float,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        **session_kwargs: Any,
    ) -> None:
        # Yahoo rejects non-browser TLS fingerprints; yfinance's own default does the same.
        session_kwargs.setdefault("impersonate", "chrome")
        super().__init__(**session_kwargs)
        # Attribute names avoid curl_cffi's own (``retry``, ``timeout``, ``_cache``) and, above
        # all, ``cache``: yfinance refuses sessions whose ``cache`` is set.
        self._polite_limiter = limiter
        self._polite_retry = retry_policy
        self._polite_cache = response_cache
        self._polite_sleep = sleep
        self._polite_rand = rand
        self.timeout_s = timeout_s

    @classmethod
    def from_settings(cls, s: Settings, home: Path) -> PoliteSession:
        return cls(
            limiter=TokenBucket(s.yahoo_rate_per_s, s.yahoo_burst),
            retry_policy=RetryPolicy(max_tries=s.yahoo_max_tries, backoff_s=s.yahoo_backoff_s),
            response_cache=ResponseCache(home / "cache" / "yahoo", ttl_s=CACHE_TTL_S),
            timeout_s=s.yahoo_timeout_s,
        )

    @contextmanager
    def scope(self, ticker: str, what: str) -> Iterator[CallScope]:
        """Attribute every request made inside to ``ticker`` / ``what``."""
        current = CallScope(ticker, what)
        token = _SCOPE.set(current)
        try:
            yield current
        except BaseException:
            if current.uncommitted:
                log.debug(
                    "%s: %s failed; not caching %d responses",
                    ticker,
                    what,
                    len(current.uncommitted),
                )
            raise
        else:
            for write in current.uncommitted:
                write()
        finally:
            _SCOPE.reset(token)

    def request(self, method: HttpMethod, url: str, *args: Any, **kwargs: Any) -> Response:
        current = _SCOPE.get()
        if current is not None and current.failure is not None:
            # The call is lost already; yfinance's fallbacks would only add load.
            raise current.failure
        params = kwargs.get("params", args[0] if args else None)
        cache = self._polite_cache if _is_cacheable(method, url) else None
        if cache is not None:
            hit = cache.get(method, url, params)
            if hit is not None:
                log.debug("cache hit: %s %s", method, _short(url))
                return _response_from_cache(hit)

        # Settings are the single source of truth; yfinance hard-codes 10-30 s per call.
        kwargs["timeout"] = self.timeout_s
        ticker = current.ticker if current is not None else _ticker_in(url)
        what = f"{current.what + ': ' if current is not None else ''}{method} {_short(url)}"

        refused: list[Response] = []

        def attempt() -> Response:
            self._polite_limiter.acquire()
            response = self._send(method, url, *args, **kwargs)
            if _is_rate_limited(response):
                refused.append(response)
                raise RateLimited(
                    f"HTTP {response.status_code} Too Many Requests",
                    retry_after=_retry_after(response),
                )
            return response

        try:
            response = retry(
                attempt,
                ticker=ticker,
                what=what,
                policy=self._polite_retry,
                sleep=self._polite_sleep,
                rand=self._polite_rand,
            )
        except SourceError as err:
            if not _is_data_url(url):
                # The cookie/crumb handshake is optional to yfinance: it carries on without a
                # crumb after a 429 and without fc.yahoo.com when DNS blocks it. Hand it what
                # it knows how to handle; the data request that follows gives the verdict.
                if isinstance(err.__cause__, RateLimited) and refused:
                    return refused[-1]
                if isinstance(err.__cause__, Exception):
                    raise err.__cause__ from None
            if current is not None and current.failure is None:
                current.failure = err
            raise
        # Handshake 404s are normal (fc.yahoo.com always says 404); only data answers tell.
        if response.status_code >= 400 and current is not None and _is_data_url(url):
            current.http_errors.append(f"HTTP {response.status_code} on {_short(url)}")
        if cache is not None and response.status_code == 200 and _is_json(response):
            entry = _cached_from_response(url, response)
            write = partial(cache.put, method, url, params, entry)
            if current is not None:
                current.uncommitted.append(write)
            else:
                write()
        return response

    def _send(self, method: HttpMethod, url: str, *args: Any, **kwargs: Any) -> Response:
        return super().request(method, url, *args, **kwargs)


def _is_data_url(url: str) -> bool:
    return urlsplit(url).path.startswith(_DATA_PATHS)


def _is_cacheable(method: str, url: str) -> bool:
    return method.upper() == "GET" and _is_data_url(url)


def _is_json(response: Response) -> bool:
    # Every data endpoint answers JSON; a 200 HTML page ("Will be right back") is an outage.
    try:
        json.loads(response.content)
    except ValueError:
        return False
    return True


def _is_rate_limited(response: Response) -> bool:
    if response.status_code == 429:
        return True
    # Yahoo's edge sometimes answers a plain-text "Too Many Requests" with another status.
    return response.content[:64].lstrip().startswith(b"Too Many Requests")


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date; the exponential backoff is used instead


def _short(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def _ticker_in(url: str) -> str | None:
    path = urlsplit(url).path
    if path.startswith(_DATA_PATHS) and not path.endswith("/quote"):
        return path.rstrip("/").rsplit("/", 1)[-1] or None
    return None


def _cached_from_response(url: str, response: Response) -> CachedResponse:
    content_type = response.headers.get("Content-Type")
    return CachedResponse(
        status=response.status_code,
        url=url,
        body=response.content,
        headers={"Content-Type": content_type} if content_type else {},
        fetched_at=time.time(),
    )


def _response_from_cache(hit: CachedResponse) -> Response:
    response = Response()
    response.url = hit.url
    response.status_code = hit.status
    response.ok = 200 <= hit.status < 400
    response.content = hit.body
    response.headers = Headers(dict(hit.headers))
    return response


_yf_cache_pinned = False


def _pin_yfinance_cache(directory: Path) -> None:
    """Keep yfinance's own sqlite caches (time zones, cookies) under the Trendfolio home
    instead of the user's ~/.cache. yfinance honours this only before its first use."""
    global _yf_cache_pinned
    if not _yf_cache_pinned:
        directory.mkdir(parents=True, exist_ok=True)
        yf.set_tz_cache_location(str(directory))  # sets all its caches
        _yf_cache_pinned = True


# --------------------------------------------------------------------------- source


class YFinanceSource(Source):
    """Yahoo Finance through yfinance; every method covers one ticker and names it on failure."""

    name = "yfinance"

    def __init__(self, session: PoliteSession, *, home: Path) -> None:
        self._session = session
        self._home = home

    @classmethod
    def from_settings(cls, settings: Settings) -> YFinanceSource:
        """Rate limits, tries and timeouts from ``settings``; caches under its home."""
        home = settings.home
        _pin_yfinance_cache(home / "cache" / "yfinance")
        return cls(PoliteSession.from_settings(settings, home), home=home)

    def progress(self, run_key: str) -> Progress:
        """Resumable progress of one collection run (e.g. ``"bars:2026-05-01"``), on disk beside
        the response cache: a restarted job asks Yahoo only for what is left."""
        return Progress(self._home / "cache" / "yahoo" / "progress", run_key)

    def _ticker(self, symbol: str) -> Any:
        # yfinance keeps one process-wide session; passing ours on every Ticker keeps it ours.
        return yf.Ticker(symbol, session=self._session)

    def daily_bars(self, ticker: str, start: date, end: date) -> list[DailyBar]:
        if end < start:
            raise UsageError(f"{ticker}: end {end} is before start {start}")
        what = f"daily bars {start}..{end}"
        tkr = self._ticker(ticker)
        with self._session.scope(ticker, what) as scope:
            frame = scope.run(
                lambda: tkr.history(
                    start=start.isoformat(),
                    end=(end + timedelta(days=1)).isoformat(),  # yfinance's end is exclusive
                    interval="1d",
                    auto_adjust=False,  # keep both Close and Adj Close
                    actions=False,
                    repair=False,
                    timeout=self._session.timeout_s,
                )
            )
            bars = _bars_from_frame(ticker, frame, start, end)
            if not bars:
                raise SourceError(f"{what}: Yahoo returned no bars{scope.hint()}", ticker=ticker)
        return bars

    def fundamentals(self, ticker: str, start: date, end: date) -> list[Fundamental]:
        if end < start:
            raise UsageError(f"{ticker}: end {end} is before start {start}")
        tkr = self._ticker(ticker)
        since = start - SHARES_LOOKBACK
        with self._session.scope(ticker, f"market cap as of {end}") as scope:
            info = _require_quote(_as_dict(scope.run(lambda: tkr.info)), scope)
        with self._session.scope(ticker, f"shares outstanding {since}..{end}") as scope:
            shares = scope.run(
                lambda: tkr.get_shares_full(
                    start=since.isoformat(), end=(end + timedelta(days=1)).isoformat()
                )
            )
        by_day: dict[date, tuple[float | None, float | None]] = {}
        if shares is not None:
            for stamp, value in shares.items():
                day = stamp.date()
                count = _num(value)
                if day <= end and count is not None and count > 0:
                    by_day[day] = (None, count)  # the last observation of a day wins
        # yfinance only knows today's market cap; it is dated ``end`` as the caller asked.
        cap = _num(info.get("marketCap"))
        if cap is not None and cap > 0:
            _, counted = by_day.get(end, (None, None))
            if counted is None:
                counted = _num(info.get("sharesOutstanding"))
            by_day[end] = (cap, counted)
        return [
            Fundamental(ticker=ticker, as_of=day, market_cap=c, shares_outstanding=n)
            for day, (c, n) in sorted(by_day.items())
        ]

    def holdings(self, etf: str, as_of: date) -> HoldingsSnapshot | None:
        tkr = self._ticker(etf)
        with self._session.scope(etf, f"holdings as of {as_of}") as scope:
            table = scope.run(lambda: _top_holdings_table(tkr))
        if table is None or len(table) == 0:
            return None
        picked = _holdings_from_table(table)
        if not picked:
            return None
        # Yahoo's topHoldings carries no date: the snapshot is dated ``as_of`` as asked.
        return HoldingsSnapshot(etf=etf, as_of=as_of, holdings=picked, point_in_time=True)

    def meta(self, ticker: str) -> TickerMeta:
        tkr = self._ticker(ticker)
        with self._session.scope(ticker, "name, sector and currency") as scope:
            info = _require_quote(_as_dict(scope.run(lambda: tkr.info)), scope)
        return TickerMeta(
            ticker=ticker,
            name=_text(info.get("longName")) or _text(info.get("shortName")),
            sector=_text(info.get("sector")),
            currency=_text(info.get("currency")),
        )

    def close(self) -> None:
        self._session.close()


# --------------------------------------------------------------------------- parsing


def _num(value: object) -> float | None:
    """A finite float, or None for missing values (None, NaN, pandas NA, junk)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(cast(Any, value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _as_dict(value: object) -> Mapping[str, object]:
    return cast(Mapping[str, object], value) if isinstance(value, Mapping) else {}


def _require_quote(info: Mapping[str, object], scope: CallScope) -> Mapping[str, object]:
    """yfinance answers an unknown symbol with an (almost) empty info dict, not an error."""
    if not any(_text(info.get(k)) for k in ("quoteType", "longName", "shortName", "currency")):
        raise SourceError(
            f"{scope.what}: Yahoo has no quote data{scope.hint()}", ticker=scope.ticker
        )
    return info


def _bars_from_frame(ticker: str, frame: Any, start: date, end: date) -> list[DailyBar]:
    if frame is None or len(frame) == 0 or "Close" not in frame.columns:
        return []
    bars: dict[date, DailyBar] = {}
    no_close: list[date] = []
    for stamp, row in frame.iterrows():
        day = stamp.date()  # index is midnight in the exchange's time zone
        if not start <= day <= end:
            continue
        close = _num(row.get("Close"))
        if close is None:
            no_close.append(day)
            continue
        volume = _num(row.get("Volume"))
        bars[day] = DailyBar(
            ticker=ticker,
            trade_date=day,
            open=_num(row.get("Open")),
            high=_num(row.get("High")),
            low=_num(row.get("Low")),
            close=close,
            adj_close=_num(row.get("Adj Close")),
            volume=int(volume) if volume is not None else None,
        )
    if no_close:
        log.warning(
            "%s: dropped %d session(s) without a close: %s",
            ticker,
            len(no_close),
            ", ".join(d.isoformat() for d in no_close),
        )
    return [bars[d] for d in sorted(bars)]


def _top_holdings_table(tkr: Any) -> Any:
    try:
        return tkr.funds_data.top_holdings
    except YFDataException:
        return None  # not a fund, or Yahoo has no fund data for it


def _holdings_from_table(table: Any) -> tuple[Holding, ...]:
    rows: list[Holding] = []
    for symbol, row in table.iterrows():
        weight = _num(row.get("Holding Percent"))
        if weight is None or weight <= 0 or not isinstance(symbol, str) or not symbol.strip():
            continue
        rows.append(Holding(holding=symbol.strip(), name=_text(row.get("Name")), weight=weight))
    # Yahoo's holdingPercent is a fraction; a feed in percent would inflate weights 100x.
    if any(h.weight > 1.0 for h in rows):
        rows = [Holding(h.holding, h.name, h.weight / 100.0, h.currency) for h in rows]
    rows.sort(key=lambda h: (-h.weight, h.holding))
    return tuple(rows[:TOP_HOLDINGS])
