"""``sample`` — a deterministic synthetic market generated offline, for demos with no network.

Every ticker's path depends only on its name and the seed, so any date range is reproducible.
Stocks follow their sector's factor plus their own noise; market caps are shares × close.
Everything it produces is sample data and is labelled as such wherever it is shown.
"""

from __future__ import annotations

import hashlib
from datetime import date
from functools import lru_cache

import numpy as np

from trendfolio import calendar
from trendfolio.sources.base import (
    DailyBar,
    Fundamental,
    Holding,
    HoldingsSnapshot,
    Source,
    TickerMeta,
)

FIRST_DAY = date(2015, 1, 2)
SNAPSHOT_DAY = FIRST_DAY
LAST_DAY = date(2030, 12, 31)
SECTORS: dict[str, str] = {
    "XLK": "Technology",
    "QQQ": "Technology",
    "XLF": "Financial",
    "XLV": "Healthcare",
    "XLY": "Consumer Cyclical",
    "XLC": "Communication",
    "XLI": "Industrial",
    "XLP": "Consumer Defensive",
    "XLU": "Utilities",
    "XLRE": "Real Estate",
    "XLB": "Basic Materials",
    "XLE": "Energy",
}
BROAD = ("SPY", "IWM", "DIA", "EWY", "SCHD")
STOCKS_PER_SECTOR = 12


def _rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@lru_cache(maxsize=1)
def _sessions() -> tuple[date, ...]:
    return tuple(calendar.sessions_between(FIRST_DAY, LAST_DAY))


def _stock_tickers(sector_etf: str) -> list[str]:
    return [f"S{sector_etf[:4]}{i:02d}" for i in range(1, STOCKS_PER_SECTOR + 1)]


class SampleSource(Source):
    name = "sample"
    is_sample = True

    def __init__(self, seed: int = 7) -> None:
        self.seed = seed
        self._stock_sector = {
            t: etf for etf in SECTORS if etf != "QQQ" for t in _stock_tickers(etf)
        }

    @lru_cache(maxsize=64)  # noqa: B019 - a source lives for one run
    def _factor(self, name: str) -> np.ndarray:
        rng = _rng(self.seed, "factor", name)
        n = len(_sessions())
        # Regimes of a few months with their own drift make trends appear and fade.
        drift = np.repeat(rng.normal(0.0002, 0.0012, n // 60 + 1), 60)[:n]
        return np.asarray(drift + rng.normal(0, 0.011, n))

    @lru_cache(maxsize=4096)  # noqa: B019
    def _path(self, ticker: str) -> np.ndarray:
        market = self._factor("market")
        if ticker in SECTORS:
            r = market + 0.8 * self._factor(SECTORS[ticker] if ticker != "QQQ" else "Technology")
            r = r + _rng(self.seed, ticker).normal(0, 0.002, len(r))
        elif ticker in BROAD:
            r = market * (1.2 if ticker == "IWM" else 1.0) + self._factor(ticker) * 0.4
        else:
            etf = self._stock_sector.get(ticker)
            if etf is None:
                return np.empty(0)
            rng = _rng(self.seed, ticker)
            r = market + 0.8 * self._factor(SECTORS[etf]) + rng.normal(0.0, 0.017, len(market))
        start = 20 + _rng(self.seed, ticker, "p0").random() * 300
        return np.asarray(start * np.exp(np.cumsum(np.clip(r, -0.2, 0.2))))

    def _shares(self, ticker: str) -> float:
        return float(np.round(_rng(self.seed, ticker, "shares").uniform(5e7, 2e9), -3))

    def daily_bars(self, ticker: str, start: date, end: date) -> list[DailyBar]:
        from trendfolio.errors import UnknownTicker

        path = self._path(ticker)
        if path.size == 0:
            raise UnknownTicker("not part of the sample market", ticker=ticker)
        rng = _rng(self.seed, ticker, "ohlc")
        out = []
        sessions = _sessions()
        noise = rng.uniform(0.001, 0.012, (len(sessions), 2))
        vol = rng.integers(200_000, 30_000_000, len(sessions))
        for i, day in enumerate(sessions):
            if day < start or day > end:
                continue
            close = round(float(path[i]), 4)
            prev = float(path[i - 1]) if i else close
            hi = max(close, prev) * (1 + noise[i, 0])
            lo = min(close, prev) * (1 - noise[i, 1])
            out.append(
                DailyBar(
                    ticker,
                    day,
                    round(prev, 4),
                    round(float(hi), 4),
                    round(float(lo), 4),
                    close,
                    close,
                    int(vol[i]),
                )
            )
        return out

    def fundamentals(self, ticker: str, start: date, end: date) -> list[Fundamental]:
        if ticker not in self._stock_sector:
            return []
        shares = self._shares(ticker)
        caps = [
            Fundamental(ticker, b.trade_date, round(b.close * shares, 0), None)
            for b in self.daily_bars(ticker, start, end)
        ]
        return [*caps, Fundamental(ticker, SNAPSHOT_DAY, None, shares)]

    def holdings(self, etf: str, as_of: date) -> HoldingsSnapshot | None:
        if etf in SECTORS:
            members = _stock_tickers("XLK" if etf == "QQQ" else etf)
        elif etf in ("SPY", "DIA", "SCHD"):
            rng = _rng(self.seed, etf, "members")
            pool = sorted(self._stock_sector)
            members = list(rng.choice(pool, size=30, replace=False))
        else:
            return None
        w = _rng(self.seed, etf, "weights").dirichlet(np.ones(len(members)) * 0.7)
        holdings = tuple(
            Holding(t, f"Sample {t}", round(float(x), 6), "USD")
            for t, x in zip(members, w, strict=True)
        )
        return HoldingsSnapshot(etf, SNAPSHOT_DAY, holdings, point_in_time=as_of >= SNAPSHOT_DAY)

    def meta(self, ticker: str) -> TickerMeta:
        etf = self._stock_sector.get(ticker)
        if etf is None:
            return TickerMeta(ticker, f"Sample ETF {ticker}", None, "USD")
        return TickerMeta(ticker, f"Sample {SECTORS[etf]} Co. {ticker[-2:]}", SECTORS[etf], "USD")
