"""The messages one ticker's collection publishes, built from what the source returns.

Each builder fetches everything for its ticker before it returns a message, so a ticker the
source fails on raises before anything of it is published.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from trendfolio.messages import (
    EtfDaily,
    EtfHoldings,
    HoldingItem,
    Message,
    StockDaily,
    StockFundamental,
    is_ticker,
)
from trendfolio.sources.base import DailyBar, Holding, HoldingsSnapshot, Source
from trendfolio_collector.reads import Window

log = logging.getLogger(__name__)


def _bar(b: DailyBar, ticker: str, source: str) -> dict[str, Any]:
    """The fields every bar message has."""
    return {"ticker": ticker, "trade_date": b.trade_date, "open": b.open, "high": b.high,
            "low": b.low, "close": b.close, "adj_close": b.adj_close, "volume": b.volume,
            "source": source}


def etf_messages(source: Source, ticker: str, window: Window) -> list[Message]:
    """One ETF's bars for ``window``, oldest first."""
    return [EtfDaily(**_bar(b, b.ticker, source.name)) for b in source.daily_bars(ticker, *window)]


def stock_messages(
    source: Source, ticker: str, window: Window | None, as_of: date
) -> list[Message]:
    """One stock's dated fundamentals, then its bars for ``window`` oldest first (with what is
    known of the company). The bars come last on purpose: whatever prefix of these messages
    reaches the database, the stock's latest bar is there only if everything else is, so
    ``reads.fetch_windows`` asks for the stock again until it is whole."""
    start = window[0] if window else as_of
    fundamentals = source.fundamentals(ticker, start, as_of)
    out: list[Message] = [
        StockFundamental(
            ticker=ticker,
            as_of_date=f.as_of,
            market_cap=f.market_cap,
            shares_outstanding=f.shares_outstanding,
            source=source.name,
        )
        for f in fundamentals
    ]
    if window is None:
        return out
    caps = {f.as_of: f.market_cap for f in fundamentals if f.market_cap is not None}
    meta = source.meta(ticker)
    out.extend(
        StockDaily(
            **_bar(b, ticker, source.name),
            company_name=meta.name[:255] if meta.name else None,
            sector=meta.sector[:100] if meta.sector else None,
            currency=meta.currency,
            market_cap=caps.get(b.trade_date),
        )
        for b in source.daily_bars(ticker, *window)
    )
    return out


def valid_holdings(snap: HoldingsSnapshot) -> list[Holding]:
    """The snapshot's holdings that have a ticker (cash and futures lines do not), once each."""
    kept: dict[str, Holding] = {}
    for h in sorted(snap.holdings, key=lambda h: -h.weight):
        if not is_ticker(h.holding):
            log.info("%s as of %s: holding %r (weight %.4g) has no ticker; left out",
                     snap.etf, snap.as_of, h.holding, h.weight)
        elif h.holding in kept:
            log.warning("%s as of %s lists %s twice; the larger weight is kept",
                        snap.etf, snap.as_of, h.holding)
        else:
            kept[h.holding] = h
    return list(kept.values())


def snapshot_message(source: Source, snap: HoldingsSnapshot, valid: list[Holding]) -> Message:
    return EtfHoldings(
        etf_ticker=snap.etf,
        as_of_date=snap.as_of,
        point_in_time=snap.point_in_time,
        source=source.name,
        holdings=[
            HoldingItem(
                holding_ticker=h.holding,
                weight=h.weight,
                holding_name=h.name[:255] if h.name else None,
                currency=h.currency,
            )
            for h in valid
        ],
    )
