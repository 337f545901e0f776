"""The data-source interface every implementation follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from typing import Protocol


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


class RunProgress(Protocol):
    """The tickers one collection run has finished, so that a re-run after an interruption
    skips them (``trendfolio.sources.resume``)."""

    run_key: str

    def is_done(self, ticker: str) -> bool: ...

    def mark_done(self, ticker: str) -> None: ...

    def reset(self) -> None: ...


@dataclass
class Unrecorded:
    """Progress kept nowhere: a re-run redoes everything, which costs nothing for a source that
    reads local files or generates its data, and asks no upstream to tolerate it."""

    run_key: str

    def is_done(self, ticker: str) -> bool:
        return False

    def mark_done(self, ticker: str) -> None:
        pass

    def reset(self) -> None:
        pass


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

    def progress(self, run_key: str) -> RunProgress:
        """Where the collection run ``run_key`` records the tickers it finished: by default
        nowhere; a source whose calls cost an upstream's patience keeps it on disk."""
        return Unrecorded(run_key)
