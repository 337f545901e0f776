"""A local stand-in for Yahoo Finance that replays recorded responses.

:class:`YahooReplayServer` (stdlib ``http.server`` in a thread, 127.0.0.1, a free port)
answers the endpoints yfinance 1.7 calls -- the cookie/crumb handshake (``fc.yahoo.com``,
``/v1/test/getcrumb``), the v8 chart, quoteSummary, the v7 quote and the
fundamentals-timeseries -- from ``tests/fixtures/yahoo/<endpoint>/<SYMBOL>.json``, slicing
by the request's period and modules the way Yahoo does. :class:`Faults` switches on 429s,
hangs and empty charts per test, and every request is logged in ``server.seen``.

:class:`ReplaySession` is the production :class:`PoliteSession` (rate limit, cache, retries)
with one change where a request leaves the process: Yahoo host names are rewritten to the
local server. Nothing in yfinance is mocked; it runs its real code over real HTTP.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from curl_cffi.requests import Response
from curl_cffi.requests.session import HttpMethod

from tests.support.paths import REPO
from trendfolio.sources.yfinance_source import PoliteSession

log = logging.getLogger(__name__)

FIXTURES = REPO / "tests" / "fixtures" / "yahoo"
CRUMB = "tfReplay.Crumb7"
FOREVER = 10**9
_HOST_HEADER = "X-Replay-Host"


@dataclass
class Faults:
    """Misbehaviour to switch on per test; ``path`` fields match by prefix."""

    too_many_requests: int = 0  # answer this many matching requests with 429 (FOREVER: all)
    too_many_path: str = "/v8/finance/chart/"
    hang_s: float = 0.0  # hold matching requests this long before answering
    hang_path: str = "/v8/finance/chart/"
    empty_chart: bool = False  # chart results with no sessions, as Yahoo sends for a gap


@dataclass(frozen=True)
class Seen:
    host: str
    path: str
    params: dict[str, str]
    status: int


@dataclass
class _State:
    faults: Faults = field(default_factory=Faults)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


class YahooReplayServer:
    """Start with ``with YahooReplayServer() as server:``; it stops (and joins) on exit."""

    def __init__(self, fixtures: Path = FIXTURES) -> None:
        self.fixtures = fixtures
        self._state = _State()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> YahooReplayServer:
        handler = type("Handler", (_Handler,), {"replay": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # so teardown does not wait half a second
            name="yahoo-replay",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()  # release hanging handlers before joining them
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> YahooReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- faults and the request log
    @property
    def faults(self) -> Faults:
        return self._state.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        with self._state.lock:
            self._state.faults = value

    @property
    def seen(self) -> list[Seen]:
        with self._state.lock:
            return list(self._state.seen)

    def hits(self, path_prefix: str, **params: str) -> list[Seen]:
        """Requests whose path starts with ``path_prefix`` and whose params include ``params``."""
        return [
            s
            for s in self.seen
            if s.path.startswith(path_prefix)
            and all(s.params.get(k) == v for k, v in params.items())
        ]

    def _log(self, seen: Seen) -> None:
        with self._state.lock:
            self._state.seen.append(seen)

    def _take_429(self, path: str) -> bool:
        with self._state.lock:
            f = self._state.faults
            if f.too_many_requests > 0 and path.startswith(f.too_many_path):
                f.too_many_requests -= 1
                return True
            return False

    def _fixture(self, endpoint: str, symbol: str) -> dict[str, Any] | None:
        path = self.fixtures / endpoint / f"{symbol}.json"
        if not path.is_file():
            return None
        data: dict[str, Any] = json.loads(path.read_text())
        return data


class _Handler(BaseHTTPRequestHandler):
    replay: YahooReplayServer
    server_version = "YahooReplay/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("replay: " + format, *args)

    def do_POST(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, params = parts.path or "/", dict(parse_qsl(parts.query, keep_blank_values=True))
        host = self.headers.get(_HOST_HEADER, "127.0.0.1")
        state = self.replay._state
        faults = state.faults
        if faults.hang_s > 0 and path.startswith(faults.hang_path):
            self.replay._log(Seen(host, path, params, 0))  # 0: never answered
            # Longer than the client's timeout; released early when the server stops.
            state.stopping.wait(faults.hang_s)
            return  # close without answering
        if self.replay._take_429(path):
            status, body, ctype = 429, b"Too Many Requests\r\n", "text/plain"
        else:
            status, body, ctype = _route(self.replay, path, params)
        self.replay._log(Seen(host, path, params, status))
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if host == "fc.yahoo.com":
                # The real one answers 404 too; the cookie is what matters.
                self.send_header(
                    "Set-Cookie", "A3=d=AQABBReplay&S=AQAAAReplay; Max-Age=31557600; Path=/"
                )
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); nothing to tell it


_JSON = "application/json;charset=utf-8"


def _json(status: int, payload: object) -> tuple[int, bytes, str]:
    return status, json.dumps(payload).encode(), _JSON


def _route(replay: YahooReplayServer, path: str, params: dict[str, str]) -> tuple[int, bytes, str]:
    if path == "/v1/test/getcrumb":
        return 200, CRUMB.encode(), "text/plain;charset=utf-8"
    if path.startswith("/v8/finance/chart/"):
        return _chart(replay, path.rsplit("/", 1)[-1], params)
    if path.startswith(("/v10/finance/quoteSummary/", "/v7/finance/quote")):
        if params.get("crumb") != CRUMB:
            return _json(
                401,
                {
                    "finance": {
                        "result": None,
                        "error": {"code": "Unauthorized", "description": "Invalid Crumb"},
                    }
                },
            )
        if path.startswith("/v7/"):
            return _quote(replay, params.get("symbols", ""))
        return _quote_summary(replay, path.rsplit("/", 1)[-1], params)
    if path.startswith("/ws/fundamentals-timeseries/v1/finance/timeseries/"):
        return _timeseries(replay, path.rsplit("/", 1)[-1], params)
    # fc.yahoo.com, guce.yahoo.com/consent and anything unknown: what Yahoo says to strangers.
    return 404, b"<html><body>Not Found</body></html>", "text/html;charset=utf-8"


def _chart(
    replay: YahooReplayServer, symbol: str, params: dict[str, str]
) -> tuple[int, bytes, str]:
    data = replay._fixture("chart", symbol)
    if data is None:
        return _json(
            404,
            {
                "chart": {
                    "result": None,
                    "error": {
                        "code": "Not Found",
                        "description": "No data found, symbol may be delisted",
                    },
                }
            },
        )
    result = data["chart"]["result"][0]
    stamps: list[int] = result.get("timestamp", [])
    if "period1" in params:
        lo, hi = int(params["period1"]), int(params.get("period2", 2**62))
        keep = [i for i, t in enumerate(stamps) if lo <= t < hi]
    elif params.get("range") == "1d":
        keep = [len(stamps) - 1] if stamps else []
    else:
        keep = list(range(len(stamps)))
    if replay.faults.empty_chart:
        keep = []
    sliced: dict[str, Any] = {"meta": result["meta"]}
    if keep:
        sliced["timestamp"] = [stamps[i] for i in keep]
        kept = set(sliced["timestamp"])
        events = {
            kind: {k: v for k, v in items.items() if v["date"] in kept}
            for kind, items in result.get("events", {}).items()
        }
        if any(events.values()):
            sliced["events"] = {k: v for k, v in events.items() if v}
        quote = result["indicators"]["quote"][0]
        sliced["indicators"] = {
            "quote": [{k: [vals[i] for i in keep] for k, vals in quote.items()}],
            "adjclose": [
                {"adjclose": [result["indicators"]["adjclose"][0]["adjclose"][i] for i in keep]}
            ],
        }
    else:
        # Yahoo's shape for a window without sessions: meta, no timestamps, empty quote.
        sliced["indicators"] = {"quote": [{}], "adjclose": [{}]}
    return _json(200, {"chart": {"result": [sliced], "error": None}})


def _quote_summary(
    replay: YahooReplayServer, symbol: str, params: dict[str, str]
) -> tuple[int, bytes, str]:
    data = replay._fixture("quoteSummary", symbol)
    if data is None:
        return _json(
            404,
            {
                "quoteSummary": {
                    "result": None,
                    "error": {
                        "code": "Not Found",
                        "description": f"Quote not found for symbol: {symbol}",
                    },
                }
            },
        )
    recorded = data["quoteSummary"]["result"][0]
    wanted = [m for m in params.get("modules", "").split(",") if m]
    modules = {m: recorded[m] for m in wanted if m in recorded}
    return _json(200, {"quoteSummary": {"result": [modules], "error": None}})


def _quote(replay: YahooReplayServer, symbols: str) -> tuple[int, bytes, str]:
    result: list[Any] = []
    for symbol in filter(None, symbols.split(",")):
        data = replay._fixture("quote", symbol)
        if data is not None:
            result.extend(data["quoteResponse"]["result"])
    return _json(200, {"quoteResponse": {"result": result, "error": None}})


def _timeseries(
    replay: YahooReplayServer, symbol: str, params: dict[str, str]
) -> tuple[int, bytes, str]:
    kinds = params.get("type")
    if kinds:
        # Only yfinance's info[] complement (trailingPegRatio) asks by type; nothing recorded.
        return _json(
            200,
            {
                "timeseries": {
                    "result": [{"meta": {"symbol": [symbol], "type": [kinds]}}],
                    "error": None,
                }
            },
        )
    data = replay._fixture("timeseries", symbol)
    if data is None:
        return _json(
            200,
            {"timeseries": {"result": [{"meta": {"symbol": [symbol], "type": []}}], "error": None}},
        )
    result = dict(data["timeseries"]["result"][0])
    lo, hi = int(params.get("period1", 0)), int(params.get("period2", 2**62))
    keep = [i for i, t in enumerate(result.get("timestamp", [])) if lo <= t <= hi]
    if "timestamp" in result:
        result["timestamp"] = [result["timestamp"][i] for i in keep]
        result["shares_out"] = [result["shares_out"][i] for i in keep]
    return _json(200, {"timeseries": {"result": [result], "error": None}})


class ReplaySession(PoliteSession):
    """A :class:`PoliteSession` whose requests to ``*.yahoo.com`` go to ``base_url`` instead.

    The rewrite happens in ``_send``, below the cache and the retries, so both see Yahoo's
    real URLs. Anything not addressed to Yahoo is refused: a test must never reach out.
    """

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        kwargs.setdefault("trust_env", False)  # no proxy between us and 127.0.0.1
        super().__init__(**kwargs)
        self._replay = urlsplit(base_url)

    def _send(self, method: HttpMethod, url: str, *args: Any, **kwargs: Any) -> Response:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not (host == "yahoo.com" or host.endswith(".yahoo.com")):
            # Not a ConnectionError on purpose: that would be retried as if it were transient.
            raise RuntimeError(f"replay session refuses non-Yahoo URL {url}")
        headers = dict(kwargs.pop("headers", None) or {})
        headers[_HOST_HEADER] = host
        local = urlunsplit(
            (self._replay.scheme, self._replay.netloc, parts.path or "/", parts.query, "")
        )
        response = super()._send(method, local, *args, headers=headers, **kwargs)
        if host == "fc.yahoo.com":
            self._rehome_cookies()
        return response

    def _rehome_cookies(self) -> None:
        """File the handshake cookie under ``.yahoo.com``, where real Yahoo sets it.

        Served from 127.0.0.1 it would sit under that host, yfinance would not recognise it
        as Yahoo's and would redo the handshake before every request -- which it does not do
        against the real site, and which would blur "the server saw no second request".
        """
        jar = self.cookies.jar
        local = self._replay.hostname or ""
        for cookie in [c for c in jar if c.domain.lstrip(".") in (local, f"{local}.local")]:
            jar.set_cookie(
                http.cookiejar.Cookie(
                    version=0,
                    name=cookie.name,
                    value=cookie.value,
                    port=None,
                    port_specified=False,
                    domain=".yahoo.com",
                    domain_specified=True,
                    domain_initial_dot=True,
                    path="/",
                    path_specified=True,
                    secure=True,
                    expires=cookie.expires or int(time.time()) + 3600,
                    discard=False,
                    comment=None,
                    comment_url=None,
                    rest={},
                )
            )
