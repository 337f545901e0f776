"""Bar messages with distinct natural keys, and checks of what the consumer left in the tables."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from trendfolio.messages import EtfDaily, Message, StockDaily

ETF_TABLE = "collected_01_daily_etf_ohlc"
STOCK_TABLE = "collected_06_daily_stock_history"
BAR_TABLES = (ETF_TABLE, STOCK_TABLE)


@dataclass(frozen=True)
class Expected:
    """What a set of bar messages must leave in the tables: close and volume per natural key."""

    etf: dict[tuple[str, date], tuple[Decimal, int]] = field(default_factory=dict)
    stock: dict[tuple[str, date], tuple[Decimal, int]] = field(default_factory=dict)

    def table(self, name: str) -> dict[tuple[str, date], tuple[Decimal, int]]:
        return self.etf if name == ETF_TABLE else self.stock

    def close_sum(self, name: str) -> Decimal:
        return sum((c for c, _ in self.table(name).values()), Decimal(0))

    def __len__(self) -> int:
        return len(self.etf) + len(self.stock)


def make_bars(
    rng: random.Random, tickers: int, days: int, start: date = date(2024, 1, 2), prefix: str = ""
) -> tuple[list[Message], Expected]:
    """``tickers`` × ``days`` bars with distinct natural keys: half ETFs, half stocks.

    Closes have two decimals, so the stored doubles read back as numeric (15 significant digits)
    are those decimals exactly, and sums can be compared exactly. Returned in a seeded random order that keeps each ticker's bars in date
    order (the order a collector publishes them).
    """
    expected = Expected()
    per_ticker: list[list[Message]] = []
    for t in range(tickers):
        is_etf = t % 2 == 0
        ticker = f"{prefix}{'E' if is_etf else 'S'}{t:04d}"
        bars: list[Message] = []
        for d in range(days):
            day = start + timedelta(days=d)
            close = round(rng.uniform(5, 900), 2)
            volume = rng.randrange(0, 10**9)
            common: dict[str, Any] = {
                "ticker": ticker,
                "trade_date": day,
                "open": close,
                "high": round(close * 1.01, 2),
                "low": round(close * 0.99, 2),
                "close": close,
                "adj_close": close,
                "volume": volume,
                "source": "test",
            }
            if is_etf:
                bars.append(EtfDaily(**common))
                expected.etf[(ticker, day)] = (Decimal(f"{close:.2f}"), volume)
            else:
                bars.append(StockDaily(**common, company_name=f"Company {ticker}",
                                       sector="Technology", currency="USD"))
                expected.stock[(ticker, day)] = (Decimal(f"{close:.2f}"), volume)
        per_ticker.append(bars)
    # interleave the tickers at random, each ticker's own bars staying in date order
    order = [i for i, bars in enumerate(per_ticker) for _ in bars]
    rng.shuffle(order)
    cursors = [0] * len(per_ticker)
    out: list[Message] = []
    for i in order:
        out.append(per_ticker[i][cursors[i]])
        cursors[i] += 1
    return out, expected


async def count_rows(url: str, table: str, where: str = "") -> int:
    assert table in (*BAR_TABLES, "logs_consumer_error", "collected_04_etf_holdings",
                     "collected_07_stock_fundamentals")
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table} {where}"))
    finally:
        await conn.close()


async def bar_count(url: str) -> int:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return int(
            await conn.fetchval(
                f"SELECT (SELECT count(*) FROM {ETF_TABLE}) + (SELECT count(*) FROM {STOCK_TABLE})"
            )
        )
    finally:
        await conn.close()


async def assert_bars_equal(url: str, expected: Expected) -> None:
    """The bar tables hold exactly ``expected``: same keys, closes, volumes; no duplicates."""
    conn = await asyncpg.connect(url, timeout=10)
    try:
        for table in BAR_TABLES:
            want = expected.table(table)
            total, distinct = await conn.fetchrow(
                f"SELECT count(*), count(DISTINCT (ticker, trade_date)) FROM {table}"
            )
            assert total == distinct, f"{table}: {total - distinct} duplicated natural keys"
            assert total == len(want), f"{table}: {total} rows, {len(want)} produced"
            close_sum = await conn.fetchval(f"SELECT coalesce(sum(close_price::numeric), 0) FROM {table}")
            assert close_sum == expected.close_sum(table), (
                f"{table}: sum(close_price) {close_sum} != produced {expected.close_sum(table)}"
            )
            rows = await conn.fetch(f"SELECT ticker, trade_date, close_price::numeric AS close_price, volume FROM {table}")
            got = {(r["ticker"], r["trade_date"]): (r["close_price"], r["volume"]) for r in rows}
            missing = want.keys() - got.keys()
            extra = got.keys() - want.keys()
            assert not missing and not extra, (
                f"{table}: {len(missing)} produced rows missing (e.g. {sorted(missing)[:3]}), "
                f"{len(extra)} unexpected (e.g. {sorted(extra)[:3]})"
            )
            wrong = [k for k, v in want.items() if got[k] != v]
            assert not wrong, f"{table}: {len(wrong)} rows differ, e.g. {wrong[:3]}"
            # price_change_percent is derived from the stored bars: replays must keep it right
            bad_change = await conn.fetchval(
                f"""SELECT count(*) FROM (
                      SELECT price_change_percent AS got,
                             round((100 * (close_price / lag(close_price)
                                   OVER (PARTITION BY ticker ORDER BY trade_date) - 1))::numeric,
                                   6) AS want
                      FROM {table}) x WHERE got IS DISTINCT FROM want"""
            )
            assert bad_change == 0, f"{table}: {bad_change} rows with a wrong price_change_percent"
    finally:
        await conn.close()
