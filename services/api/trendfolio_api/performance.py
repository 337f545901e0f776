"""Cumulative returns for the monthly-portfolio-vs-SPY chart (pure functions, no IO)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

MAX_STALE_SESSIONS = 3  # SPEC §1: price(T, s) may come from at most 3 sessions before s


@dataclass(frozen=True)
class Bar:
    close: float
    adj_close: float | None


def price_at(bars: Mapping[date, Bar], sessions: Sequence[date], i: int) -> Bar | None:
    """The bar of the latest session <= sessions[i] with one, if at most 3 sessions stale."""
    for j in range(i, max(i - MAX_STALE_SESSIONS, 0) - 1, -1):
        bar = bars.get(sessions[j])
        if bar is not None:
            return bar
    return None


def simple_return(start: Bar, end: Bar) -> float:
    """Adjusted close at both ends when both have it, otherwise raw close at both (SPEC §1)."""
    if start.adj_close is not None and end.adj_close is not None:
        return end.adj_close / start.adj_close - 1
    return end.close / start.close - 1


def cumulative_returns(
    weights: Mapping[str, float],
    bars: Mapping[str, Mapping[date, Bar]],
    sessions: Sequence[date],
    base: int,
) -> list[float | None]:
    """Weighted return since ``sessions[base]`` at each later session, in percent.

    Stocks without a price at the base or at the point are left out and the remaining
    weights renormalised; a point with no priced stock is None.
    """
    starts = {t: price_at(bars.get(t, {}), sessions, base) for t in weights}
    out: list[float | None] = []
    for i in range(base, len(sessions)):
        total = weighted = 0.0
        for ticker, w in weights.items():
            start = starts[ticker]
            end = price_at(bars.get(ticker, {}), sessions, i)
            if start is None or end is None:
                continue
            weighted += w * simple_return(start, end)
            total += w
        out.append(100 * weighted / total if total > 0 else None)
    return out
