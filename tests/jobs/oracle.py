"""SPEC §1 and §4 in plain Python, written from the SPEC and independent of the Spark jobs: the
oracle the real-data tests compare the jobs with. Slow on purpose (walks sessions one by one).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

from trendfolio.calendar import last_session_of_month, previous_session, session_offset
from trendfolio.messages import is_ticker
from trendfolio.universe import Universe

STALE = 3
TOP_WEIGHT, TOP_MCAP = 10, 5
PERIODS = (5, 10, 20)


def _q(text: str, places: str) -> float:
    """The value as the database keeps it (numeric columns round)."""
    return float(Decimal(text).quantize(Decimal(places)))


@dataclass(eq=False)  # hashed by identity: its methods are cached
class Market:
    bars: dict[str, dict[date, tuple[float, float | None]]]
    caps: dict[str, list[tuple[date, float]]]
    shares: dict[str, list[tuple[date, float]]]
    holdings: dict[str, dict[date, list[tuple[str, float]]]]

    @cache  # noqa: B019 - one Market per test session
    def price(self, ticker: str, s: date) -> tuple[float, float | None] | None:
        """price(T, s): the close of the latest bar ≤ s, at most 3 sessions old."""
        series = self.bars.get(ticker, {})
        day = s
        for _ in range(STALE + 1):
            if day in series:
                return series[day]
            day = previous_session(day)
        return None

    def ratio(self, ticker: str, now: date, then: date) -> float | None:
        end, start = self.price(ticker, now), self.price(ticker, then)
        if end is None or start is None:
            return None
        if end[1] is not None and start[1] is not None:
            return end[1] / start[1]
        return end[0] / start[0]

    @cache  # noqa: B019
    def r(self, ticker: str, d: date, p: int) -> float | None:
        """r_P(T, D)."""
        ratio = self.ratio(ticker, d, session_offset(d, -p))
        return None if ratio is None else ratio - 1

    @cache  # noqa: B019
    def mcap(self, ticker: str, d: date) -> float | None:
        """mcap(T, D): latest observation ≤ D, else close × shares (≤ D, else earliest)."""
        if ticker not in self.bars:  # nothing was collected for it (the source has no prices)
            return None
        observed = [c for day, c in self.caps.get(ticker, []) if day <= d]
        if observed:
            return observed[-1]
        quote = self.price(ticker, d)
        counts = self.shares.get(ticker, [])
        dated = [n for day, n in counts if day <= d]
        count = dated[-1] if dated else (counts[0][1] if counts else None)
        return None if quote is None or count is None else quote[0] * count

    def snapshot(self, etf: str, d: date) -> list[tuple[str, float]]:
        snaps = self.holdings.get(etf, {})
        if not snaps:
            return []
        dated = [day for day in snaps if day <= d]
        return snaps[max(dated) if dated else min(snaps)]

    def top10(self, etf: str, d: date) -> list[tuple[str, float]]:
        return sorted(self.snapshot(etf, d), key=lambda h: (-h[1], h[0]))[:TOP_WEIGHT]

    def selected(self, etf: str, d: date) -> list[str]:
        """Stage 4's selected holdings: of the top 10 by weight, the 5 largest by mcap."""
        capped = [(t, self.mcap(t, d)) for t, _ in self.top10(etf, d)]
        known = [(t, c) for t, c in capped if c is not None]
        return [t for t, _ in sorted(known, key=lambda x: (-x[1], x[0]))[:TOP_MCAP]]


def load_market(folder: Path) -> Market:
    bars: dict[str, dict[date, tuple[float, float | None]]] = defaultdict(dict)
    with (folder / "prices.csv").open() as f:
        for row in csv.DictReader(f):
            adj = _q(row["adj_close"], "0.000001") if row["adj_close"] else None
            bars[row["ticker"]][date.fromisoformat(row["date"])] = (
                _q(row["close"], "0.000001"),
                adj,
            )
    caps: dict[str, list[tuple[date, float]]] = defaultdict(list)
    shares: dict[str, list[tuple[date, float]]] = defaultdict(list)
    with (folder / "market_caps.csv").open() as f:
        for row in csv.DictReader(f):
            day = date.fromisoformat(row["date_or_asof"])
            if row["market_cap"] and float(row["market_cap"]) > 0:
                caps[row["ticker"]].append((day, _q(row["market_cap"], "0.01")))
            if row.get("shares_outstanding") and float(row["shares_outstanding"]) > 0:
                shares[row["ticker"]].append((day, _q(row["shares_outstanding"], "0.01")))
    for series in (*caps.values(), *shares.values()):
        series.sort()
    raw: dict[str, dict[date, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    with (folder / "holdings.csv").open() as f:
        for row in csv.DictReader(f):
            ticker = row["holding"].strip().upper()
            if not is_ticker(ticker):
                continue  # cash lines: stage 4 leaves them out
            snap = raw[row["etf"]][date.fromisoformat(row["asof"])]
            snap[ticker] = max(snap.get(ticker, 0.0), _q(row["weight"], "0.00000001"))
    holdings = {e: {d: sorted(s.items()) for d, s in snaps.items()} for e, snaps in raw.items()}
    return Market(dict(bars), dict(caps), dict(shares), holdings)


@dataclass(frozen=True)
class TrendRow:
    etf: str
    r: float | None
    spy_r: float | None
    rank: int | None
    is_trending: bool


def trending(m: Market, universe: Universe, d: date, p: int, threshold: float = 0.0) -> list[
    TrendRow
]:
    spy = m.r(universe.reference, d, p)
    returns = {e: m.r(e, d, p) for e in universe.tickers}
    ranked = sorted((e for e in returns if returns[e] is not None),
                    key=lambda e: (-returns[e], e))  # type: ignore[operator]
    out = []
    for e, r in returns.items():
        beats = (
            e != universe.reference and r is not None and spy is not None and r > spy
            and r > threshold
        )
        out.append(TrendRow(e, r, spy, ranked.index(e) + 1 if r is not None else None, beats))
    return out


@dataclass(frozen=True)
class Pick:
    ticker: str
    etf: str
    r: float
    mcap: float
    weight: float
    rank: int


def allocation(m: Market, universe: Universe, d: date, p: int, trend_period: int = 20) -> list[
    Pick
]:
    etfs = sorted(
        (t for t in trending(m, universe, d, trend_period) if t.is_trending),
        key=lambda t: (-t.r, t.etf),  # type: ignore[operator]
    )
    taken: set[str] = set()
    chosen: list[tuple[str, str, float, float]] = []
    for t in etfs:
        candidates = []
        for h in m.selected(t.etf, d):
            r, cap = m.r(h, d, p), m.mcap(h, d)
            if h not in taken and r is not None and cap is not None:
                candidates.append((h, r, cap))
        if not candidates:
            continue
        h, r, cap = min(candidates, key=lambda c: (-c[1], -c[2], c[0]))
        taken.add(h)
        if r > 0:
            chosen.append((h, t.etf, r, cap))
    total = sum(r / cap for _, _, r, cap in chosen)
    weighted = [(h, e, r, cap, (r / cap) / total) for h, e, r, cap in chosen]
    ordered = sorted(weighted, key=lambda x: (-x[4], x[0]))
    return [Pick(h, e, r, cap, w, i + 1) for i, (h, e, r, cap, w) in enumerate(ordered)]


@dataclass(frozen=True)
class MonthlyRow:
    ticker: str
    rank: int
    weight: float
    score: float
    source_periods: str
    valid_until: date


def monthly(m: Market, universe: Universe, d: date) -> list[MonthlyRow]:
    weights: dict[str, dict[int, float]] = defaultdict(dict)
    for p in PERIODS:
        for pick in allocation(m, universe, d, p):
            weights[pick.ticker][p] = pick.weight
    scores = {t: sum(w.values()) / 3 for t, w in weights.items()}

    def key(t: str) -> tuple[float, float, str]:
        r20 = m.r(t, d, 20)
        return (-scores[t], -r20 if r20 is not None else float("inf"), t)

    best = sorted(scores, key=key)[:20]
    total = sum(scores[t] for t in best)
    next_month = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    until = last_session_of_month(next_month)
    return [
        MonthlyRow(
            t,
            i + 1,
            scores[t] / total,
            scores[t],
            ",".join(f"{p}d" for p in (20, 10, 5) if p in weights[t]),
            until,
        )
        for i, t in enumerate(best)
    ]


def month_return(m: Market, etf: str, d: date, month: date) -> float | None:
    """analytics_10: price at the month's last session (or D) over the previous month's last."""
    close = min(last_session_of_month(month), d)
    ratio = m.ratio(etf, close, previous_session(month))
    return None if ratio is None else ratio - 1
