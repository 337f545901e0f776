"""The dashboard's only source of data: the Trendfolio API over HTTP (services/api/README.md)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from trendfolio.config import Settings
from trendfolio_dashboard.i18n import t

TIMEOUT_S = 10.0


@dataclass
class ApiError(Exception):
    """A failed API call, kept in a form the page can explain in either language."""

    kind: str  # "unreachable" | "status" | "auth" | "invalid"
    path: str
    status: int | None = None
    detail: str = ""
    url: str = ""

    def message(self, lang: str) -> str:
        if self.kind == "unreachable":
            return t("error.unreachable", lang, url=self.url, reason=self.detail)
        if self.kind == "auth":
            return t("error.auth", lang)
        if self.kind == "invalid":
            return t("error.invalid", lang, path=self.path)
        return t("error.status", lang, path=self.path, status=self.status, detail=self.detail)

    def __str__(self) -> str:
        return self.message("en")


def _detail(response: httpx.Response) -> str:
    """The API's own explanation: a string, or FastAPI's 422 list naming the parameter."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        return "; ".join(
            f"{(d.get('loc') or ['?'])[-1]}: {d.get('msg', '')}"
            for d in detail
            if isinstance(d, dict)
        )
    return str(detail if detail is not None else body)[:300]


@dataclass
class ApiClient:
    """One method per API endpoint the dashboard reads; safe to share between threads."""

    base_url: str
    api_key: str | None = None
    timeout_s: float = TIMEOUT_S
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _http: httpx.Client | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiClient:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        return cls(settings.api_url.rstrip("/"), key)

    def _client(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                headers = {"X-API-Key": self.api_key} if self.api_key else {}
                self._http = httpx.Client(
                    base_url=self.base_url, headers=headers, timeout=self.timeout_s
                )
            return self._http

    def get(self, path: str, **params: object) -> Any:
        query = {k: _param(v) for k, v in params.items() if v is not None}
        try:
            response = self._client().get(path, params=query)
        except httpx.HTTPError as exc:
            raise ApiError(
                "unreachable", path, url=self.base_url, detail=type(exc).__name__
            ) from exc
        if response.status_code in (401, 403):
            raise ApiError("auth", path, status=response.status_code)
        if response.status_code >= 400:
            raise ApiError("status", path, status=response.status_code, detail=_detail(response))
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError("invalid", path, status=response.status_code) from exc

    # One method per endpoint the dashboard reads.
    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = self.get("/dashboard/status")
        return body

    def trending_etfs(self, period: int, as_of: date | None) -> dict[str, Any]:
        body: dict[str, Any] = self.get(
            "/dashboard/trending-etfs", period_days=period, as_of_date=as_of
        )
        return body

    def portfolio(self, period: int, as_of: date | None) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = self.get(
            "/stocks/portfolio", period_days=period, as_of_date=as_of
        )
        return body

    def etf_cards(self, period: int, as_of: date | None, limit: int = 5) -> dict[str, Any]:
        body: dict[str, Any] = self.get(
            "/dashboard/trending-etf-top-holdings",
            period_days=period,
            limit=limit,
            as_of_date=as_of,
        )
        return body

    def monthly_portfolio(self, rebalance: date | None) -> dict[str, Any]:
        body: dict[str, Any] = self.get("/stocks/monthly-portfolio", rebalance_date=rebalance)
        return body

    def monthly_performance(self, as_of: date | None, months: int = 12) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = self.get(
            "/dashboard/monthly-performance", months=months, as_of_date=as_of
        )
        return body

    def monthly_vs_spy(self, rebalance: date | None) -> dict[str, Any]:
        body: dict[str, Any] = self.get("/dashboard/monthly-vs-spy", rebalance_date=rebalance)
        return body

    def backtest(self, run_id: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = self.get("/backtest", run_id=run_id)
        return body


def _param(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
