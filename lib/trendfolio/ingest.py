"""Validate raw topic records and write them to PostgreSQL in one transaction per batch.

The Kafka consumer and the in-process bus both call ``write_batch``: same decoding, same
validation, same writers. A record that fails validation is dead-lettered into
``logs_consumer_error`` with its topic, partition and offset, so it never blocks the stream.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import NamedTuple, Protocol

import asyncpg

from trendfolio.db.writes import TableSpec, conflict_action, stage, upsert
from trendfolio.messages import (
    EtfDaily,
    EtfHoldings,
    FastEtfBar,
    FastStockBar,
    InvalidMessage,
    Message,
    StockDaily,
    StockFundamental,
    decode,
    decode_bar_fast,
)

log = logging.getLogger(__name__)

_BAR = ("open_price", "high_price", "low_price", "close_price", "adj_close", "volume", "source")
ETF_OHLC = TableSpec(
    "collected_01_daily_etf_ohlc", ("ticker", "trade_date"), ("ticker", "trade_date", *_BAR)
)
HOLDINGS = TableSpec(
    "collected_04_etf_holdings",
    ("etf_ticker", "holding_ticker", "as_of_date"),
    (
        "etf_ticker",
        "holding_ticker",
        "as_of_date",
        "holding_name",
        "holding_percent",
        "holding_currency",
        "is_point_in_time",
        "source",
    ),
)
STOCK_HISTORY = TableSpec(
    "collected_06_daily_stock_history",
    ("ticker", "trade_date"),
    ("ticker", "trade_date", *_BAR, "company_name", "sector", "currency", "market_cap"),
    keep_when_null=("company_name", "currency", "market_cap"),
)
FUNDAMENTALS = TableSpec(
    "collected_07_stock_fundamentals",
    ("ticker", "as_of_date"),
    ("ticker", "as_of_date", "market_cap", "shares_outstanding", "source"),
    keep_when_null=("market_cap", "shares_outstanding"),
)
DEAD_LETTERS = TableSpec(
    "logs_consumer_error",
    ("topic", "partition", "offset"),
    ("topic", "partition", "offset", "message_key", "raw_value", "raw_bytes", "error_msg"),
    touch_updated_at=False,
)
_MAX_RAW_TEXT = 10_000


class Record(Protocol):
    """What the writer reads of a topic record: a RawRecord, or aiokafka's ConsumerRecord."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


class RawRecord(NamedTuple):
    """One record as read from a topic (the in-process bus builds one per message)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class BatchResult:
    written: dict[str, int] = field(default_factory=dict)
    dead_lettered: int = 0

    @property
    def rows(self) -> int:
        return sum(self.written.values())


def _dead_row(rec: Record, reason: str) -> tuple[object, ...]:
    text = rec.value.decode("utf-8", errors="replace")[:_MAX_RAW_TEXT] if rec.value else None
    if text is not None:
        text = text.replace("\x00", "\ufffd")
    key = (
        rec.key.decode("utf-8", errors="replace").replace("\x00", "\ufffd")[:255]
        if rec.key
        else None
    )
    return (rec.topic, rec.partition, rec.offset, key, text, rec.value, reason[:2000])


class _Rows:
    """Rows per table for one batch; the last message for a key wins, as in the stream."""

    def __init__(self) -> None:
        # bar rows: the table's columns, then two slots that upsert_bars fills (_first, _pct)
        self.etf: list[list[object]] = []
        self.stock: list[list[object]] = []
        self._fundamentals: dict[tuple[str, object], list[object]] = {}
        self.snapshots: dict[tuple[str, object], EtfHoldings] = {}

    def add_etf(self, m: EtfDaily | FastEtfBar) -> None:
        self.etf.append([m.ticker, m.trade_date, m.open, m.high, m.low, m.close, m.adj_close,
                         m.volume, m.source, None, None])

    def add_stock(self, m: StockDaily | FastStockBar) -> None:
        cap = m.market_cap
        self.stock.append([m.ticker, m.trade_date, m.open, m.high, m.low, m.close, m.adj_close,
                           m.volume, m.source, m.company_name, m.sector or "Unknown",
                           m.currency, round(cap) if cap is not None else None, None, None])
        if cap is not None:
            self._add_fundamental(m.ticker, m.trade_date, cap, None, m.source)

    def add(self, m: Message | FastEtfBar | FastStockBar) -> None:
        if isinstance(m, EtfDaily | FastEtfBar):
            self.add_etf(m)
        elif isinstance(m, StockDaily | FastStockBar):
            self.add_stock(m)
        elif isinstance(m, StockFundamental):
            self._add_fundamental(
                m.ticker, m.as_of_date, m.market_cap, m.shares_outstanding, m.source
            )
        else:
            self.snapshots[(m.etf_ticker, m.as_of_date)] = m


    def _add_fundamental(self, ticker: str, day: object, cap: float | None,
                         shares: float | None, source: str) -> None:
        # A cap and a share count for the same day may come in separate messages: merge them.
        row = self._fundamentals.setdefault((ticker, day), [ticker, day, None, None, source])
        if cap is not None:
            row[2] = cap
        if shares is not None:
            row[3] = shares
        row[4] = source

    @property
    def fundamentals(self) -> list[tuple[object, ...]]:
        return [tuple(r) for r in self._fundamentals.values()]


async def _write_snapshot(conn: asyncpg.Connection, snap: EtfHoldings) -> int:
    tickers = [h.holding_ticker for h in snap.holdings]
    # A snapshot replaces the previous one with the same date: drop holdings it no longer has.
    await conn.execute(
        "DELETE FROM collected_04_etf_holdings WHERE etf_ticker = $1 AND as_of_date = $2 "
        "AND NOT (holding_ticker = ANY($3::text[]))",
        snap.etf_ticker,
        snap.as_of_date,
        tickers,
    )
    rows = [
        (
            snap.etf_ticker,
            h.holding_ticker,
            snap.as_of_date,
            h.holding_name,
            h.weight * 100,
            h.currency,
            snap.point_in_time,
            snap.source,
        )
        for h in snap.holdings
    ]
    return await upsert(conn, HOLDINGS, rows)


async def _refresh_changes(conn: asyncpg.Connection, table: str, tickers: list[str]) -> None:
    """Recompute ``price_change_percent`` (close vs the previous stored bar) for ``tickers``."""
    await conn.execute(
        f"""UPDATE {table} t SET price_change_percent = c.pct
            FROM (SELECT id, round((100 * (close_price / lag(close_price)
                         OVER (PARTITION BY ticker ORDER BY trade_date) - 1))::numeric, 6) AS pct
                  FROM {table} WHERE ticker = ANY($1::text[])) c
            WHERE t.id = c.id AND t.price_change_percent IS DISTINCT FROM c.pct""",
        tickers,
    )


_CLOSE = 5  # the position of close_price in a bar row (ticker, trade_date, open, high, low, close)
# the two slots at the end of a bar row, staged beside the table's columns
_BAR_SLOTS = (("_first", "boolean"), ("_pct", "double precision"))


def _order_bars(rows: list[list[object]]) -> tuple[list[list[object]], list[object]]:
    """The batch's bars by ticker and date, the last one for a key winning, each with its two
    last slots set: whether it is its ticker's first bar in the batch, and then
    ``price_change_percent`` against the previous bar of its ticker in the batch (for a first
    bar the database takes it against its latest stored bar before it); and per ticker: its
    first and last date and number of bars."""
    by_ticker: dict[object, list[list[object]]] = {}
    for row in rows:
        bars = by_ticker.get(row[0])
        if bars is None:
            by_ticker[row[0]] = [row]
        else:
            bars.append(row)
    out: list[list[object]] = []
    tickers: list[object] = []
    firsts: list[object] = []
    lasts: list[object] = []
    counts: list[int] = []
    for ticker, bars in by_ticker.items():
        if any(a[1] >= b[1] for a, b in pairwise(bars)):  # type: ignore[operator]
            # out of order or repeated: the last message for a day wins, then by day
            latest = {bar[1]: bar for bar in bars}
            bars = [latest[day] for day in sorted(latest)]  # type: ignore[type-var]
        first = bars[0]
        first[-2], first[-1] = True, None
        prev = first[_CLOSE]
        for bar in bars[1:]:
            close = bar[_CLOSE]
            bar[-2] = False
            # the same IEEE arithmetic as the SQL it replaces (and as _refresh_changes)
            bar[-1] = 100 * (close / prev - 1)  # type: ignore[operator]
            prev = close
        out += bars
        tickers.append(ticker)
        firsts.append(first[1])
        lasts.append(bars[-1][1])
        counts.append(len(bars))
    return out, [tickers, firsts, lasts, counts]


async def upsert_bars(conn: asyncpg.Connection, spec: TableSpec, rows: list[list[object]]) -> int:
    """Upsert daily bars with ``price_change_percent`` computed in the same statement.

    The change is taken against the previous bar in the batch (computed here, in key order)
    or, for a ticker's first bar in the batch, its latest stored bar before it (looked up by
    the INSERT), so each row is written once. Only a ticker whose stored bars interleave with
    or follow the batch (a replay, a late fill) needs the whole-history refresh afterwards.
    """
    if not rows:
        return 0
    ordered, per_ticker = _order_bars(rows)
    # in key order, one row per key already: no arrival numbers needed
    staging = await stage(conn, spec, ordered, extra=_BAR_SLOTS, numbered=False)
    table = spec.name
    cols = ", ".join(spec.columns)
    s_cols = ", ".join(f"s.{c}" for c in spec.columns)
    result = await conn.execute(
        f"""INSERT INTO {table} ({cols}, price_change_percent)
            SELECT {s_cols},
                   round((CASE WHEN s._first THEN
                              100 * (s.close_price / (
                                  SELECT t.close_price FROM {table} t
                                  WHERE t.ticker = s.ticker AND t.trade_date < s.trade_date
                                  ORDER BY t.trade_date DESC LIMIT 1) - 1)
                          ELSE s._pct END)::numeric, 6)
            FROM {staging} s
            {conflict_action(spec, extra=("price_change_percent",))}"""
    )
    stale = await conn.fetch(
        f"""SELECT s.ticker FROM unnest($1::text[], $2::date[], $3::date[], $4::int[])
                AS s(ticker, d, m, n)
            WHERE EXISTS (SELECT 1 FROM {table} t WHERE t.ticker = s.ticker AND t.trade_date > s.m)
               OR (SELECT count(*) FROM {table} t
                   WHERE t.ticker = s.ticker AND t.trade_date BETWEEN s.d AND s.m) > s.n""",
        *per_ticker,
    )
    if stale:
        await _refresh_changes(conn, table, sorted(r["ticker"] for r in stale))
    return int(result.split()[-1])


async def _write_rows(conn: asyncpg.Connection, rows: _Rows) -> dict[str, int]:
    written: dict[str, int] = defaultdict(int)
    written[ETF_OHLC.name] += await upsert_bars(conn, ETF_OHLC, rows.etf)
    written[STOCK_HISTORY.name] += await upsert_bars(conn, STOCK_HISTORY, rows.stock)
    written[FUNDAMENTALS.name] += await upsert(conn, FUNDAMENTALS, rows.fundamentals)
    for snap in rows.snapshots.values():
        written[HOLDINGS.name] += await _write_snapshot(conn, snap)
    return {k: v for k, v in written.items() if v}


class Prepared:
    """A batch decoded and validated, ready to write: rows per table and dead letters.

    Decoding is CPU work in Python and writing is work in the database, so the consumer
    prepares the next batch while the previous one is being written.
    """

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.rows = _Rows()
        self.dead: list[tuple[object, ...]] = []

    def add(self, records: Sequence[Record]) -> None:
        self.records.extend(records)
        add_etf, add_stock, add = self.rows.add_etf, self.rows.add_stock, self.rows.add
        for rec in records:
            # Bars proven valid by the fast path skip pydantic; anything else gets its verdict
            # (and, if bad, its dead-letter reason) from ``decode``.
            bar = decode_bar_fast(rec.topic, rec.value)
            if bar is not None:
                if type(bar) is FastEtfBar:
                    add_etf(bar)
                else:
                    add_stock(bar)  # type: ignore[arg-type]
                continue
            try:
                add(decode(rec.topic, rec.value))
            except InvalidMessage as bad:
                log.warning(
                    "dead-lettered %s[%d]@%d: %s", rec.topic, rec.partition, rec.offset, bad.reason
                )
                self.dead.append(_dead_row(rec, bad.reason))


def prepare(records: Sequence[Record]) -> Prepared:
    prepared = Prepared()
    prepared.add(records)
    return prepared


async def write_batch(conn: asyncpg.Connection, records: Sequence[Record]) -> BatchResult:
    """Validate ``records`` and write the good ones and the dead letters in one transaction."""
    return await write_prepared(conn, prepare(records))


async def write_prepared(conn: asyncpg.Connection, batch: Prepared) -> BatchResult:
    """Write a prepared batch: the good rows and the dead letters in one transaction.

    A record the database itself rejects (a constraint validation did not foresee) would fail
    its whole batch for ever; then the batch is written record by record and the rejected one
    is dead-lettered with the database's reason. Connection errors propagate: the caller
    retries the batch without committing offsets.
    """
    try:
        async with conn.transaction():
            written = await _write_rows(conn, batch.rows)
            dead_count = await upsert(conn, DEAD_LETTERS, batch.dead)
        return BatchResult(written=written, dead_lettered=dead_count if batch.dead else 0)
    except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
        records = batch.records
        if len(records) == 1:
            rec = records[0]
            async with conn.transaction():
                await upsert(conn, DEAD_LETTERS, [_dead_row(rec, f"database rejected: {exc}")])
            return BatchResult(dead_lettered=1)
        log.warning("batch of %d rejected by the database (%s); isolating", len(records), exc)
        total = BatchResult()
        for rec in records:
            one = await write_batch(conn, [rec])
            for table, n in one.written.items():
                total.written[table] = total.written.get(table, 0) + n
            total.dead_lettered += one.dead_lettered
        return total
