"""``csv:DIR`` — bring your own data (also what tests and checks use).

``DIR/prices.csv`` (ticker,date,open,high,low,close,adj_close,volume; blanks allowed except
close), ``DIR/market_caps.csv`` (ticker,date_or_asof,market_cap,shares_outstanding,...),
``DIR/holdings.csv`` (etf,holding,weight,asof) and optionally ``DIR/meta.csv``
(ticker,name,sector,currency).
"""

from __future__ import annotations

import csv
import math
from bisect import bisect_right
from collections import defaultdict
from datetime import date
from pathlib import Path

from trendfolio.errors import UnknownTicker, UsageError
from trendfolio.sources.base import (
    DailyBar,
    Fundamental,
    Holding,
    HoldingsSnapshot,
    Source,
    TickerMeta,
)


def _num(value: str | None, *, where: str, column: str) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        x = float(value)
    except ValueError:
        raise UsageError(f"{where}: {column} {value!r} is not a number") from None
    if not math.isfinite(x):
        raise UsageError(f"{where}: {column} {value!r} is not finite")
    return x


def _day(value: str, *, where: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{where}: {value!r} is not a YYYY-MM-DD date") from None


def _rows(path: Path, required: set[str]) -> list[tuple[int, dict[str, str]]]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise UsageError(f"{path}: missing columns {sorted(missing)}")
        return [(i, row) for i, row in enumerate(reader, start=2)]


class CsvSource(Source):
    name = "csv"

    def __init__(self, folder: Path) -> None:
        if not (folder / "prices.csv").is_file():
            raise UsageError(f"csv source: {folder}/prices.csv not found")
        self.folder = folder
        self._bars = self._load_prices()
        self._caps, self._shares = self._load_caps()
        self._holdings = self._load_holdings()
        self._meta = self._load_meta()

    def _load_prices(self) -> dict[str, list[DailyBar]]:
        path = self.folder / "prices.csv"
        bars: dict[str, list[DailyBar]] = defaultdict(list)
        for i, row in _rows(path, {"ticker", "date", "close"}):
            where = f"{path.name} line {i}"
            ticker = row["ticker"].strip().upper()
            close = _num(row.get("close"), where=where, column="close")
            if close is None or close <= 0:
                raise UsageError(f"{where}: {ticker} has no positive close")
            vol = _num(row.get("volume"), where=where, column="volume")
            bars[ticker].append(
                DailyBar(
                    ticker=ticker,
                    trade_date=_day(row["date"], where=where),
                    open=_num(row.get("open"), where=where, column="open"),
                    high=_num(row.get("high"), where=where, column="high"),
                    low=_num(row.get("low"), where=where, column="low"),
                    close=close,
                    adj_close=_num(row.get("adj_close"), where=where, column="adj_close"),
                    volume=int(vol) if vol is not None else None,
                )
            )
        for series in bars.values():
            series.sort(key=lambda b: b.trade_date)
        return dict(bars)

    def _load_caps(self) -> tuple[dict[str, list[Fundamental]], dict[str, list[Fundamental]]]:
        caps: dict[str, list[Fundamental]] = defaultdict(list)
        shares: dict[str, list[Fundamental]] = defaultdict(list)
        path = self.folder / "market_caps.csv"
        if not path.is_file():
            return {}, {}
        for i, row in _rows(path, {"ticker", "date_or_asof", "market_cap"}):
            where = f"{path.name} line {i}"
            ticker = row["ticker"].strip().upper()
            day = _day(row["date_or_asof"], where=where)
            cap = _num(row.get("market_cap"), where=where, column="market_cap")
            sh = _num(row.get("shares_outstanding"), where=where, column="shares_outstanding")
            if cap is not None and cap > 0:
                caps[ticker].append(Fundamental(ticker, day, cap, None))
            if sh is not None and sh > 0:
                shares[ticker].append(Fundamental(ticker, day, None, sh))
        for d in (caps, shares):
            for series in d.values():
                series.sort(key=lambda f: f.as_of)
        return dict(caps), dict(shares)

    def _load_holdings(self) -> dict[str, dict[date, list[Holding]]]:
        out: dict[str, dict[date, list[Holding]]] = defaultdict(lambda: defaultdict(list))
        path = self.folder / "holdings.csv"
        if not path.is_file():
            return {}
        for i, row in _rows(path, {"etf", "holding", "weight", "asof"}):
            where = f"{path.name} line {i}"
            weight = _num(row["weight"], where=where, column="weight")
            if weight is None or weight < 0:
                raise UsageError(f"{where}: weight must be a non-negative fraction")
            out[row["etf"].strip().upper()][_day(row["asof"], where=where)].append(
                Holding(
                    row["holding"].strip().upper(),
                    row.get("name") or None,
                    weight,
                    (row.get("currency") or "").strip().upper() or None,
                )
            )
        return {etf: dict(snaps) for etf, snaps in out.items()}

    def _load_meta(self) -> dict[str, TickerMeta]:
        path = self.folder / "meta.csv"
        if not path.is_file():
            return {}
        return {
            row["ticker"].strip().upper(): TickerMeta(
                row["ticker"].strip().upper(),
                row.get("name") or None,
                row.get("sector") or None,
                (row.get("currency") or "").strip().upper() or None,
            )
            for _, row in _rows(path, {"ticker"})
        }

    def daily_bars(self, ticker: str, start: date, end: date) -> list[DailyBar]:
        series = self._bars.get(ticker)
        if series is None:
            raise UnknownTicker("no prices in prices.csv", ticker=ticker)
        return [b for b in series if start <= b.trade_date <= end]

    def fundamentals(self, ticker: str, start: date, end: date) -> list[Fundamental]:
        caps = [f for f in self._caps.get(ticker, []) if start <= f.as_of <= end]
        shares = [f for f in self._shares.get(ticker, []) if f.as_of <= end]
        if not shares and ticker in self._shares:
            shares = self._shares[ticker][:1]  # before the first count: the earliest known
        return caps + shares

    def holdings(self, etf: str, as_of: date) -> HoldingsSnapshot | None:
        snaps = self._holdings.get(etf)
        if not snaps:
            return None
        dates = sorted(snaps)
        i = bisect_right(dates, as_of)
        day, pit = (dates[i - 1], True) if i else (dates[0], False)
        return HoldingsSnapshot(etf, day, tuple(snaps[day]), point_in_time=pit)

    def meta(self, ticker: str) -> TickerMeta:
        return self._meta.get(ticker, TickerMeta(ticker, None, None, None))
