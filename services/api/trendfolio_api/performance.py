"""The monthly-portfolio-vs-SPY chart: its sessions and cumulative returns (pure, no IO).

Prices and returns are SPEC §1's rule, :func:`trendfolio.rules.price` and
:func:`trendfolio.rules.simple_return`; this module only composes them for the chart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from trendfolio import calendar, rules

# Enough calendar days before the rebalance to hold MAX_STALE_SESSIONS sessions.
_LOOKBACK_DAYS = 14


@dataclass(frozen=True)
class ChartWindow:
    """The sessions the chart reads: ``sessions[base]`` is the rebalance session (or the first
    after it), the sessions before it only there for a stale base price. ``sessions`` is empty
    when no session lies between the rebalance and ``end``."""

    start: date
    valid_until: date
    end: date
    sessions: list[date]
    base: int


def chart_window(start: date, valid_until: date, last_bar: date | None) -> ChartWindow:
    """From the rebalance ``start`` to ``valid_until`` or the reference's ``last_bar``."""
    end = max(min(valid_until, last_bar) if last_bar is not None else start, start)
    window = calendar.sessions_between(start - timedelta(days=_LOOKBACK_DAYS), end)
    first = next((i for i, d in enumerate(window) if d >= start), None)
    if first is None:
        return ChartWindow(start, valid_until, end, [], 0)
    lead = max(first - rules.MAX_STALE_SESSIONS, 0)
    return ChartWindow(start, valid_until, end, window[lead:], first - lead)


def bars_by_ticker(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[date, rules.Bar]]:
    """Rows of (ticker, trade_date, close_price, adj_close) as bars by ticker and date."""
    out: dict[str, dict[date, rules.Bar]] = {}
    for r in rows:
        adj = r["adj_close"]
        out.setdefault(r["ticker"], {})[r["trade_date"]] = rules.Bar(
            close=float(r["close_price"]), adj_close=float(adj) if adj is not None else None
        )
    return out


def cumulative_returns(
    weights: Mapping[str, float],
    bars: Mapping[str, Mapping[date, rules.Bar]],
    sessions: Sequence[date],
    base: int,
) -> list[float | None]:
    """Weighted return since ``sessions[base]`` at each later session, in percent.

    Stocks without a price at the base or at the point are left out and the remaining
    weights renormalised; a point with no priced stock is None.
    """
    starts = {t: rules.price(bars.get(t, {}), sessions, base) for t in weights}
    out: list[float | None] = []
    for i in range(base, len(sessions)):
        total = weighted = 0.0
        for ticker, w in weights.items():
            start = starts[ticker]
            end = rules.price(bars.get(ticker, {}), sessions, i)
            if start is None or end is None:
                continue
            weighted += w * rules.simple_return(start, end)
            total += w
        out.append(100 * weighted / total if total > 0 else None)
    return out
