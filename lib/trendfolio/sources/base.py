"""The data-source interface every implementation follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from trendfolio.errors import UsageError


@dataclass(frozen=True)
class DailyBar:
    """One session's bar; ``adj_close`` is the dividend- and split-adjusted close when known."""

    ticker: str
    trade_date: date
    open: float | None
    high: float | None
    low: float | None
    close: float
    adj_close: float | None
    volume: int | None


@dataclass(frozen=True)
class Fundamental:
    """A market-cap and/or shares-outstanding observation dated ``as_of``."""

    ticker: str
    as_of: date
    market_cap: float | None
    shares_outstanding: float | None


@dataclass(frozen=True)
class Holding:
    holding: str
    name: str | None
    weight: float  # fraction of NAV
    currency: str | None = None


@dataclass(frozen=True)
class HoldingsSnapshot:
    """An ETF's holdings as of ``as_of``; ``point_in_time`` is False when dated after the run."""

    etf: str
    as_of: date
    holdings: tuple[Holding, ...]
    point_in_time: bool = True


@dataclass(frozen=True)
class TickerMeta:
    ticker: str
    name: str | None
    sector: str | None
    currency: str | None


class Source(ABC):
    """Where prices, market caps and holdings come from.

    Every method covers one ticker, so a failure names it; implementations raise
    ``SourceError(ticker=...)`` and never return a partial day.
    """

    name: str
    is_sample: bool = False

    @abstractmethod
    def daily_bars(self, ticker: str, start: date, end: date) -> list[DailyBar]:
        """Bars for sessions in ``[start, end]``, oldest first."""

    @abstractmethod
    def fundamentals(self, ticker: str, start: date, end: date) -> list[Fundamental]:
        """Market-cap observations in ``[start, end]`` plus the shares-outstanding history
        dated on or before ``end`` (used to estimate a cap before the first observation)."""

    @abstractmethod
    def holdings(self, etf: str, as_of: date) -> HoldingsSnapshot | None:
        """The latest snapshot dated on or before ``as_of``; with none, the earliest one flagged
        ``point_in_time=False``; ``None`` when the source knows no holdings for ``etf``."""

    @abstractmethod
    def meta(self, ticker: str) -> TickerMeta:
        """Name, sector and currency of a ticker (unknown fields are ``None``)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and flush caches."""


def open_source(spec: str, *, home: Path | None = None) -> Source:
    """Build a source from ``yfinance``, ``csv:DIR`` or ``sample``."""
    if spec == "sample":
        from trendfolio.sources.sample import SampleSource

        return SampleSource()
    if spec.startswith("csv:"):
        from trendfolio.sources.csv_source import CsvSource

        return CsvSource(Path(spec[4:]))
    if spec == "yfinance":
        from trendfolio.sources.yfinance_source import YFinanceSource

        return YFinanceSource.from_settings(home=home)
    raise UsageError(f"unknown source {spec!r}: use yfinance, csv:DIR or sample")
