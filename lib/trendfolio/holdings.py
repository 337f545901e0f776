"""Holdings rules shared by the collector (which holdings to fetch data for)."""

from __future__ import annotations

from collections.abc import Iterable

from trendfolio.sources.base import Holding

TOP_BY_WEIGHT = 10
SELECTED_BY_MCAP = 5


def top_by_weight(holdings: Iterable[Holding], n: int = TOP_BY_WEIGHT) -> list[Holding]:
    """The ``n`` largest holdings by weight (ties: ticker), SPEC §4 stage 4."""
    return sorted(holdings, key=lambda h: (-h.weight, h.holding))[:n]
