"""Data sources behind one interface: ``yfinance`` (live), ``csv:DIR`` (recorded) and ``sample``."""

from trendfolio.sources.base import (
    DailyBar,
    Fundamental,
    Holding,
    HoldingsSnapshot,
    Source,
    TickerMeta,
    open_source,
)

__all__ = [
    "DailyBar",
    "Fundamental",
    "Holding",
    "HoldingsSnapshot",
    "Source",
    "TickerMeta",
    "open_source",
]
