"""Rate limit, backoff, bounded retries and the response cache, in isolation."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from trendfolio.errors import SourceError, SourceUnavailable
from trendfolio.sources.politeness import (
    CachedResponse,
    RateLimited,
    ResponseCache,
    RetryPolicy,
    TokenBucket,
    backoff_delay,
    is_retryable,
    retry,
)

pytestmark = pytest.mark.timeout(30)


class FakeTime:
    """A clock whose sleep advances it, so waits are observable and instant."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


# --------------------------------------------------------------------------- token bucket


def test_token_bucket_allows_a_burst_then_paces() -> None:
    t = FakeTime()
    bucket = TokenBucket(rate_per_s=2.0, burst=3, clock=t.clock, sleep=t.sleep)

    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire() == pytest.approx(0.5)
    assert bucket.acquire() == pytest.approx(0.5)
    assert t.now == pytest.approx(101.0)


def test_token_bucket_refills_while_idle_but_not_beyond_burst() -> None:
    t = FakeTime()
    bucket = TokenBucket(rate_per_s=1.0, burst=2, clock=t.clock, sleep=t.sleep)
    bucket.acquire()
    bucket.acquire()
    t.now += 60.0  # a long pause earns at most ``burst`` tokens
    assert [bucket.acquire() for _ in range(2)] == [0.0, 0.0]
    assert bucket.acquire() == pytest.approx(1.0)


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_token_bucket_rejects_nonsense(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


# --------------------------------------------------------------------------- backoff


def test_backoff_doubles_up_to_the_cap_with_full_jitter() -> None:
    policy = RetryPolicy(max_tries=10, backoff_s=1.0, max_backoff_s=5.0)
    assert [backoff_delay(n, policy, lambda: 1.0) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    assert backoff_delay(3, policy, lambda: 0.0) == 0.0
    assert backoff_delay(3, policy, lambda: 0.25) == pytest.approx(1.0)


def test_backoff_jitter_stays_in_bounds() -> None:
    rng = random.Random(7)
    policy = RetryPolicy(backoff_s=0.5, max_backoff_s=4.0)
    delays = [backoff_delay(n, policy, rng.random) for n in range(1, 8) for _ in range(50)]
    assert all(0.0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 100  # jittered, not lockstep


# --------------------------------------------------------------------------- retry


class YFRateLimitError(Exception):
    """Same name as yfinance's: matched by name so politeness needs no yfinance import."""


class ReadTimeout(OSError):
    """Same name as the curl_cffi / requests exception."""


@pytest.mark.parametrize(
    "exc",
    [
        RateLimited("HTTP 429"),
        TimeoutError("slow"),
        ConnectionResetError("reset"),
        YFRateLimitError("Too Many Requests. Rate limited. Try after a while."),
        ReadTimeout("curl: (28)"),
        RuntimeError("Too Many Requests"),
    ],
)
def test_transient_errors_are_retryable(exc: Exception) -> None:
    assert is_retryable(exc)


@pytest.mark.parametrize(
    "exc", [ValueError("bad"), KeyError("x"), SourceError("final", ticker="SPY"), OSError("disk")]
)
def test_other_errors_are_not(exc: Exception) -> None:
    assert not is_retryable(exc)


class Flaky:
    """Fails ``times`` times with ``make_error()``, then returns "ok"; counts its calls."""

    def __init__(self, times: int, make_error: Callable[[], Exception]) -> None:
        self.times = times
        self.make_error = make_error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.times:
            raise self.make_error()
        return "ok"


def test_retry_succeeds_after_transient_failures_with_backoff() -> None:
    t = FakeTime()
    attempt = Flaky(2, lambda: RateLimited("HTTP 429"))
    policy = RetryPolicy(max_tries=3, backoff_s=1.0)

    got = retry(attempt, ticker="SPY", what="bars", policy=policy, sleep=t.sleep, rand=lambda: 1.0)
    assert got == "ok"
    assert t.slept == [1.0, 2.0]


def test_retry_gives_up_naming_ticker_and_tries() -> None:
    t = FakeTime()
    attempt = Flaky(99, lambda: TimeoutError("read timed out"))
    policy = RetryPolicy(max_tries=4, backoff_s=0.1)

    with pytest.raises(SourceUnavailable) as err:
        retry(
            attempt,
            ticker="XLK",
            what="daily bars 2026-04-01..2026-04-30",
            policy=policy,
            sleep=t.sleep,
            rand=lambda: 1.0,
        )
    assert isinstance(err.value, SourceError) and err.value.ticker == "XLK"
    message = str(err.value)
    assert message.startswith("XLK: daily bars 2026-04-01..2026-04-30: gave up after 4 tries")
    assert "TimeoutError: read timed out" in message
    assert attempt.calls == 4
    assert len(t.slept) == 3  # no pointless sleep after the last try
    assert isinstance(err.value.__cause__, TimeoutError)


def test_retry_does_not_retry_other_errors() -> None:
    t = FakeTime()
    attempt = Flaky(1, lambda: ValueError("bad json"))
    with pytest.raises(ValueError):
        retry(attempt, ticker="SPY", what="x", policy=RetryPolicy(max_tries=5), sleep=t.sleep)
    assert attempt.calls == 1
    assert t.slept == []


def test_retry_honours_retry_after_within_the_cap() -> None:
    t = FakeTime()
    attempt = Flaky(2, lambda: RateLimited("429", retry_after=30.0))
    policy = RetryPolicy(max_tries=3, backoff_s=0.1, max_backoff_s=10.0)
    retry(attempt, ticker=None, what="x", policy=policy, sleep=t.sleep, rand=lambda: 0.0)
    assert t.slept == [10.0, 10.0]


# --------------------------------------------------------------------------- response cache

URL = "https://query2.finance.yahoo.com/v8/finance/chart/SPY"


def test_cache_round_trips_json_and_bytes(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    body = json.dumps({"chart": {"result": [], "error": None}}).encode()
    cache.put("GET", URL, {"interval": "1d"}, CachedResponse(200, URL, body, {"Content-Type": "j"}))
    hit = cache.get("GET", URL, {"interval": "1d"})
    assert hit is not None and hit.status == 200 and json.loads(hit.body) == json.loads(body)
    assert hit.headers == {"Content-Type": "j"}

    raw = bytes(range(256))
    cache.put("GET", URL + "x", None, CachedResponse(200, URL + "x", raw))
    hit = cache.get("GET", URL + "x")
    assert hit is not None and hit.body == raw


def test_cache_key_is_method_url_and_params_without_crumb(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    key = cache.key("GET", URL, {"period1": 1, "period2": 2, "crumb": "abc"})
    assert key == cache.key("get", URL + "?period2=2", {"crumb": "other", "period1": "1"})
    assert key != cache.key("GET", URL, {"period1": 1, "period2": 3})
    assert key != cache.key("POST", URL, {"period1": 1, "period2": 2})
    assert cache.key("GET", URL, {"includePrePost": False}) == cache.key(
        "GET", URL + "?includePrePost=false"
    )


def test_cache_miss_expiry_and_damage(tmp_path: Path) -> None:
    now = [1000.0]
    cache = ResponseCache(tmp_path, ttl_s=60.0, clock=lambda: now[0])
    assert cache.get("GET", URL) is None
    path = cache.put("GET", URL, None, CachedResponse(200, URL, b"{}"))
    assert cache.get("GET", URL) is not None
    now[0] += 61.0
    assert cache.get("GET", URL) is None  # stale

    path.write_text("{not json")
    assert ResponseCache(tmp_path).get("GET", URL) is None  # damaged: a miss, not a crash


def test_cache_writes_atomically(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    for i in range(5):
        cache.put("GET", URL, {"i": i}, CachedResponse(200, URL, b'{"i": %d}' % i))
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 5 and all(
        p.suffix == ".json" and not p.name.startswith(".") for p in files
    )
