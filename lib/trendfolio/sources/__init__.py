"""Data sources behind one interface: ``yfinance`` (live), ``csv:DIR`` (recorded) and ``sample``."""

from trendfolio.sources.base import (
    DailyBar,
    Fundamental,
    Holding,
    HoldingsSnapshot,
    Source,
    TickerMeta,
)

__all__ = [
    "DailyBar",
    "Fundamental",
    "Holding",
    "HoldingsSnapshot",
    "Source",
    "TickerMeta",
]
