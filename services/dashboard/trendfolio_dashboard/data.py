"""What each view fetches: a handful of API requests per view, never one per ETF.

The results are plain JSON (they travel to the browser in a ``dcc.Store``); a section whose
request failed carries the error instead, so one failure never blanks the whole page.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from trendfolio import calendar, rules
from trendfolio_dashboard.api import ApiClient, ApiError

PERIOD_VIEWS = {str(p): p for p in rules.PERIODS}
MONTHLY_VIEW = "monthly"
BACKTEST_VIEW = "backtest"
VIEWS = (*PERIOD_VIEWS, MONTHLY_VIEW, BACKTEST_VIEW)
DEFAULT_VIEW = str(rules.TREND_PERIOD)  # SPEC §9: the 20-day tab first
CARD_HOLDINGS = rules.TOP_HOLDINGS_KEPT  # stage 7 keeps the top 5 of each ETF
RANKING_PERIOD = 20  # SPEC §9: the monthly tab ranks every ETF by its 20-day return
HISTORY_MONTHS = 12

# The few requests of a view go out together; shared by every browser session.
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="api")

Section = dict[str, Any]  # {"ok": payload} or {"error": {...ApiError fields}}


def error_payload(err: ApiError) -> dict[str, Any]:
    return {"kind": err.kind, "path": err.path, "status": err.status, "detail": err.detail,
            "url": err.url}


def error_from_payload(payload: dict[str, Any]) -> ApiError:
    return ApiError(payload["kind"], payload["path"], payload.get("status"),
                    payload.get("detail", ""), payload.get("url", ""))


def _section(fetch: Callable[[], Any]) -> Section:
    try:
        return {"ok": fetch()}
    except ApiError as err:
        return {"error": error_payload(err)}


def load_status(client: ApiClient) -> Section:
    """One request per page load and refresh: dates, freshness, sample flag."""
    return _section(client.status)


def monthly_rebalance_in_force(d: date) -> date:
    """The rebalance session whose monthly portfolio applies on session ``d``.

    A monthly portfolio is built on the last session of a month and holds through the next
    month, so on ``d`` it is ``d`` itself on a month's last session, else the previous month's.
    """
    if calendar.is_last_session_of_month(d):
        return d
    return calendar.last_session_of_month(d.replace(day=1) - timedelta(days=1))


def load_view(
    client: ApiClient, view: str, as_of: date | None, latest: date | None
) -> dict[str, Any]:
    """Fetch one view's data for ``as_of`` (``None`` = the latest in the data), concurrently."""
    day = as_of if as_of is not None and as_of != latest else None
    shown = as_of or latest
    fetches: dict[str, Callable[[], Any]]
    if view in PERIOD_VIEWS:
        period = PERIOD_VIEWS[view]
        fetches = {
            "trending": lambda: client.trending_etfs(period, day),
            "portfolio": lambda: client.portfolio(period, day),
            "cards": lambda: client.etf_cards(period, day, CARD_HOLDINGS),
        }
    elif view == MONTHLY_VIEW:
        rebalance = monthly_rebalance_in_force(day) if day is not None else None
        fetches = {
            "monthly": lambda: client.monthly_portfolio(rebalance),
            "ranking": lambda: client.trending_etfs(RANKING_PERIOD, day),
            "history": lambda: client.monthly_performance(day, HISTORY_MONTHS),
            "vs_spy": lambda: client.monthly_vs_spy(rebalance),
        }
    elif view == BACKTEST_VIEW:
        # The newest stored run, whatever the chosen date: one request for the whole tab.
        fetches = {"backtest": lambda: client.backtest()}
    else:
        raise ValueError(f"unknown dashboard view {view!r}: use one of {', '.join(VIEWS)}")
    futures = {name: _POOL.submit(_section, fetch) for name, fetch in fetches.items()}
    return {
        "view": view,
        "as_of": shown.isoformat() if shown else None,
        **{name: future.result() for name, future in futures.items()},
    }
