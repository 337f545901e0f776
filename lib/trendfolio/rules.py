"""The rules of SPEC §1 and §4 that more than one component applies, each stated once.

The orderings are data (:class:`Ranking`): Python applies them with :meth:`Ranking.sort_key`
and :meth:`Ranking.apply`, Spark through ``trendfolio_jobs.ranking``, so a tie-break is
changed here or nowhere. The price rule is :func:`price` and :func:`simple_return`; the
Spark stages compute the same rule for many sessions at once (``trendfolio_jobs.prices``),
and a test holds the two equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

T = TypeVar("T")

# SPEC §1: a period P is 5, 10 or 20 sessions; the trend period is 20 unless configured.
PERIODS: tuple[int, ...] = (5, 10, 20)
TREND_PERIOD = 20
# SPEC §4 stage 3: trending means beating the reference and this threshold (a fraction).
TREND_THRESHOLD = 0.0
# SPEC §1: price(T, s) may come from a bar at most this many sessions before s.
MAX_STALE_SESSIONS = 3
# SPEC §4 stage 1: a first collection reaches back at least 13 months (the longest lookback
# and the 12-month table).
HISTORY_CALENDAR_DAYS = 400
# SPEC §4 stage 6: the monthly portfolio keeps this many stocks, tie-broken by this period's return.
MONTHLY_SIZE = 20
MONTHLY_RETURN_PERIOD = 20
# SPEC §4 stage 7: the holdings kept per ETF and period.
TOP_HOLDINGS_KEPT = 5


# ----------------------------------------------------------------------------- orderings


@dataclass(frozen=True)
class Key:
    """One key of an ordering; ``descending`` keys must be numbers. Missing values sort last."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class Ranking:
    """An order of SPEC §4, most significant key first, and how many it keeps (``keep``)."""

    name: str
    keys: tuple[Key, ...]
    keep: int | None = None

    def sort_key(self, value: Callable[[T, str], Any]) -> Callable[[T], tuple[Any, ...]]:
        """A key for ``sorted``/``min``; ``value(item, field)`` reads one field of an item."""
        keys = self.keys

        def key(item: T) -> tuple[Any, ...]:
            out: list[Any] = []
            for k in keys:
                v = value(item, k.field)
                missing = v is None or v != v  # None or NaN
                out.append(missing)
                out.append(0 if missing else (-v if k.descending else v))
            return tuple(out)

        return key

    def apply(self, items: Iterable[T], value: Callable[[T, str], Any]) -> list[T]:
        """``items`` in this order, the first ``keep`` of them."""
        ordered = sorted(items, key=self.sort_key(value))
        return ordered if self.keep is None else ordered[: self.keep]


def field_of(item: Mapping[str, Any], field: str) -> Any:
    """``value`` for rows held as mappings (records, asyncpg rows)."""
    return item[field]


# SPEC §4 stage 4: a snapshot's top 10 holdings by weight (ties: ticker) ...
TOP_BY_WEIGHT = Ranking(
    "top by weight", (Key("holding_percent", descending=True), Key("holding_ticker")), keep=10
)
# ... and of those the 5 largest by mcap(·, D) (ties: ticker): the selected holdings.
SELECTED_BY_MCAP = Ranking(
    "selected by market cap", (Key("market_cap", descending=True), Key("holding_ticker")), keep=5
)
# SPEC §4 stage 5: trending ETFs pick in order of trend-period return, best first (ties: ticker);
ETF_PICK_ORDER = Ranking(
    "ETF pick order", (Key("trend_return_pct", descending=True), Key("etf_ticker"))
)
# each takes the unpicked selected holding with the highest r_P (ties: larger mcap, then ticker);
PICK_ORDER = Ranking(
    "pick", (Key("r", descending=True), Key("market_cap", descending=True), Key("ticker"))
)
# and the portfolio is ranked by weight (ties: ticker).
WEIGHT_RANK = Ranking("rank by weight", (Key("portfolio_weight", descending=True), Key("ticker")))
# SPEC §4 stage 6: the 20 best scores (ties: higher 20-day return, then ticker).
MONTHLY_ORDER = Ranking(
    "monthly", (Key("score", descending=True), Key("r", descending=True), Key("ticker")),
    keep=MONTHLY_SIZE,
)
# SPEC §4 stage 7: an ETF's top holdings ranked by r_P (ties: ticker), the first 5 kept.
TOP_HOLDINGS_ORDER = Ranking(
    "top holdings by return", (Key("r", descending=True), Key("holding_ticker")),
    keep=TOP_HOLDINGS_KEPT,
)
# SPEC §4 stage 3: ETFs ranked by return, 1 = best (ties: ticker).
RETURN_RANK = Ranking("rank by return", (Key("r", descending=True), Key("etf_ticker")))


def top_by_weight(
    holdings: Iterable[T], weight: str = "weight", ticker: str = "holding"
) -> list[T]:
    """SPEC §4 stage 4's top 10 by weight of holdings with attributes ``weight`` and ``ticker``."""
    names = {"holding_percent": weight, "holding_ticker": ticker}
    return TOP_BY_WEIGHT.apply(holdings, lambda h, f: getattr(h, names[f]))


# ----------------------------------------------------------------------------- prices


@dataclass(frozen=True)
class Bar:
    """The two closes a price can use."""

    close: float
    adj_close: float | None


def price(bars: Mapping[date, Bar], sessions: Sequence[date], i: int) -> Bar | None:
    """price(T, sessions[i]): the bar of the latest session ≤ sessions[i] that has one, if it
    is at most :data:`MAX_STALE_SESSIONS` sessions before it; else undefined (None).
    ``sessions`` are consecutive NYSE sessions.
    """
    for j in range(i, max(i - MAX_STALE_SESSIONS, 0) - 1, -1):
        bar = bars.get(sessions[j])
        if bar is not None:
            return bar
    return None


def simple_return(start: Bar, end: Bar) -> float:
    """end / start − 1 on adjusted closes when both bars have one, otherwise on raw closes."""
    if start.adj_close is not None and end.adj_close is not None:
        return end.adj_close / start.adj_close - 1
    return end.close / start.close - 1

