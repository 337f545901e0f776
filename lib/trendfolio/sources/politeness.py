"""Being polite to a rate-limited upstream (Yahoo): pace, back off, give up, remember.

Pure building blocks with no HTTP client in them, so each is testable with a fake clock:

* :class:`TokenBucket` paces requests (a rate per second plus a burst);
* :func:`backoff_delay` and :func:`retry` retry transient failures (429, timeouts, dropped
  connections) with exponential backoff and full jitter, a bounded number of times;
* :class:`ResponseCache` keeps raw responses on disk so a rerun does not ask again.

Resuming an interrupted collection is ``trendfolio.sources.resume``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from trendfolio.errors import SourceError, SourceUnavailable
from trendfolio.metrics import YAHOO_ERRORS, YAHOO_RETRIES

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], None]


# --------------------------------------------------------------------------- rate limit


class TokenBucket:
    """Allows ``burst`` requests at once, then ``rate_per_s`` on average.

    ``acquire`` sleeps while holding the lock on purpose: waiters queue up behind each
    other instead of all waking at once and stampeding the upstream.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate_per_s)
        self._stamp = now

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds waited."""
        waited = 0.0
        with self._lock:
            self._refill()
            while self._tokens < 1.0:
                wait = (1.0 - self._tokens) / self.rate_per_s
                self._sleep(wait)
                waited += wait
                self._refill()
            self._tokens -= 1.0
        return waited


# --------------------------------------------------------------------------- retry


class RateLimited(Exception):
    """The upstream answered 429 / "Too Many Requests"; ``retry_after`` is its hint in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """``max_tries`` counts the first try; the n-th retry waits up to ``backoff_s * 2**(n-1)``."""

    max_tries: int = 5
    backoff_s: float = 2.0
    max_backoff_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_tries < 1 or self.backoff_s <= 0 or self.max_backoff_s <= 0:
            raise ValueError("max_tries must be >= 1 and backoff times > 0")


def backoff_delay(retry_no: int, policy: RetryPolicy, rand: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(retry_no-1))].

    Full rather than equal jitter because many workers backing off from the same 429 should
    spread out, not come back in lockstep.
    """
    ceiling = min(policy.max_backoff_s, policy.backoff_s * 2.0 ** max(retry_no - 1, 0))
    return rand() * ceiling


# Matched by class name so this module needs neither curl_cffi, requests nor yfinance.
_RETRYABLE_NAMES = frozenset(
    {"YFRateLimitError", "Timeout", "ConnectTimeout", "ReadTimeout", "ConnectionError"}
)


def is_retryable(exc: BaseException) -> bool:
    """429 / "Too Many Requests", timeouts and connection errors; nothing else is retried."""
    if isinstance(exc, SourceError):
        return False  # already a final verdict (e.g. an inner retry gave up); never nest
    if isinstance(exc, RateLimited | TimeoutError | ConnectionError):
        return True
    if any(cls.__name__ in _RETRYABLE_NAMES for cls in type(exc).__mro__):
        return True
    return "Too Many Requests" in str(exc)


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def retry(
    attempt: Callable[[], T],
    *,
    ticker: str | None,
    what: str,
    policy: RetryPolicy,
    sleep: Sleep = time.sleep,
    rand: Callable[[], float] = random.random,
    retryable: Callable[[BaseException], bool] = is_retryable,
) -> T:
    """Call ``attempt`` until it succeeds, at most ``policy.max_tries`` times.

    A non-retryable error propagates at once. When every try failed with a retryable error,
    raises :class:`SourceUnavailable` (a ``SourceError``) naming the ticker, ``what`` was
    asked and the number of tries: the upstream is refusing or unreachable, and hammering
    on with the next ticker would only prolong a ban.
    """
    last: BaseException | None = None
    for try_no in range(1, policy.max_tries + 1):
        try:
            return attempt()
        except Exception as exc:
            if not retryable(exc):
                raise
            YAHOO_ERRORS.labels(type(exc).__name__).inc()
            last = exc
            if try_no == policy.max_tries:
                break
            delay = backoff_delay(try_no, policy, rand)
            if isinstance(exc, RateLimited) and exc.retry_after is not None:
                delay = max(delay, min(exc.retry_after, policy.max_backoff_s))
            log.warning(
                "%s: %s: %s (try %d of %d); retrying in %.2fs",
                ticker or "-",
                what,
                _describe(exc),
                try_no,
                policy.max_tries,
                delay,
            )
            YAHOO_RETRIES.inc()
            sleep(delay)
    assert last is not None  # the loop ran at least once and only breaks after a failure
    raise SourceUnavailable(
        f"{what}: gave up after {policy.max_tries} tries; last error {_describe(last)}",
        ticker=ticker,
    ) from last


# --------------------------------------------------------------------------- disk helpers


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file in the same directory and ``os.replace`` it into place, so a
    reader (or a rerun after a crash) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- response cache


@dataclass(frozen=True)
class CachedResponse:
    """A raw upstream response as stored on disk."""

    status: int
    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    fetched_at: float = 0.0


ParamValue = str | int | float | bool | None


class ResponseCache:
    """Raw responses under ``root``, one JSON envelope per request.

    The key is method + URL + query parameters (those in the URL and those passed
    separately, order-insensitive) minus ``ignored_params`` -- Yahoo's ``crumb`` is a
    per-session token, not part of what is asked. Bodies that parse as JSON are stored as
    JSON (readable when debugging), anything else base64-encoded. ``ttl_s=None`` keeps
    entries forever.
    """

    def __init__(
        self,
        root: Path,
        *,
        ttl_s: float | None = None,
        clock: Clock = time.time,
        ignored_params: frozenset[str] = frozenset({"crumb"}),
    ) -> None:
        self.root = root
        self.ttl_s = ttl_s
        self._clock = clock
        self._ignored = ignored_params

    def key(self, method: str, url: str, params: Mapping[str, ParamValue] | None = None) -> str:
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        query += [(str(k), _param_text(v)) for k, v in (params or {}).items() if v is not None]
        canonical = json.dumps(
            [
                method.upper(),
                urlunsplit((parts.scheme, parts.netloc.lower(), parts.path, "", "")),
                sorted((k, v) for k, v in query if k not in self._ignored),
            ]
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(
        self, method: str, url: str, params: Mapping[str, ParamValue] | None = None
    ) -> CachedResponse | None:
        path = self.path_for(self.key(method, url, params))
        try:
            env = json.loads(path.read_bytes())
            fetched_at = float(env["fetched_at"])
            if "body_json" in env:
                body = json.dumps(env["body_json"], separators=(",", ":")).encode()
            else:
                body = _b64decode(str(env["body_b64"]))
            cached = CachedResponse(
                status=int(env["status"]),
                url=str(env["url"]),
                body=body,
                headers={str(k): str(v) for k, v in dict(env.get("headers", {})).items()},
                fetched_at=fetched_at,
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # A damaged entry is only a miss: the next fetch overwrites it.
            log.warning("ignoring unreadable cache entry %s: %s", path, exc)
            return None
        if self.ttl_s is not None and self._clock() - fetched_at > self.ttl_s:
            return None
        return cached

    def put(
        self,
        method: str,
        url: str,
        params: Mapping[str, ParamValue] | None,
        response: CachedResponse,
    ) -> Path:
        path = self.path_for(self.key(method, url, params))
        env: dict[str, object] = {
            "method": method.upper(),
            "url": url,
            "params": {
                k: _param_text(v)
                for k, v in (params or {}).items()
                if v is not None and k not in self._ignored
            },
            "status": response.status,
            "headers": dict(response.headers),
            "fetched_at": response.fetched_at or self._clock(),
        }
        try:
            env["body_json"] = json.loads(response.body)
        except ValueError:
            env["body_b64"] = _b64encode(response.body)
        atomic_write_bytes(path, json.dumps(env, separators=(",", ":")).encode())
        return path


def _param_text(value: ParamValue) -> str:
    # str(True) is "True" but requests and curl send "true"; match the wire.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)
