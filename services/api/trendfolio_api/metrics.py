"""Request latency by route and requests by status, as a pure ASGI middleware (cheap per call)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_SECONDS = Histogram(
    "trendfolio_api_request_seconds",
    "API request latency by route template",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
REQUESTS = Counter(
    "trendfolio_api_requests", "API requests by route and status", ["route", "method", "status"]
)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route: Any = scope.get("route")
            # Label by template (/stocks/{symbol}/history), never by raw path: bounded cardinality.
            name = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            REQUEST_SECONDS.labels(name, method).observe(time.perf_counter() - started)
            REQUESTS.labels(name, method, str(status)).inc()
