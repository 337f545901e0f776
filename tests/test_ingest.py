"""The writer both the Kafka consumer and the in-process bus use, against a real PostgreSQL."""

from datetime import date

import asyncpg

from tests.support.malformed import MALFORMED
from trendfolio.ingest import RawRecord, write_batch
from trendfolio.messages import (
    EtfDaily,
    EtfHoldings,
    HoldingItem,
    Message,
    StockDaily,
    StockFundamental,
    encode,
    key_of,
    topic_of,
)


def _records(messages: list[Message], start: int = 0) -> list[RawRecord]:
    return [RawRecord(topic_of(m), 0, start + i, key_of(m).encode(), encode(m))
            for i, m in enumerate(messages)]


def _bar(ticker: str, day: int, close: float) -> EtfDaily:
    return EtfDaily(ticker=ticker, trade_date=date(2026, 8, day), close=close, source="test")


async def test_bars_are_upserted_and_changes_computed(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    batch = [_bar("SPY", 18, 100.0), _bar("SPY", 19, 110.0), _bar("SPY", 20, 99.0)]
    res = await write_batch(conn, _records(batch))
    assert res.written == {"collected_01_daily_etf_ohlc": 3} and res.dead_lettered == 0
    # Replaying the same messages (a consumer restart) changes nothing.
    await write_batch(conn, _records(batch))
    rows = await conn.fetch("SELECT trade_date, close_price, price_change_percent "
                            "FROM collected_01_daily_etf_ohlc ORDER BY trade_date")
    assert [(r[0].day, float(r[1])) for r in rows] == [(18, 100.0), (19, 110.0), (20, 99.0)]
    assert rows[0][2] is None and float(rows[1][2]) == 10.0 and float(rows[2][2]) == -10.0
    await conn.close()


async def test_the_last_message_for_a_key_wins_within_a_batch(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    await write_batch(conn, _records([_bar("XLK", 20, 1.0), _bar("XLK", 20, 2.0)]))
    assert await conn.fetchval("SELECT close_price FROM collected_01_daily_etf_ohlc") == 2
    await conn.close()


async def test_every_malformed_message_is_dead_lettered_and_nothing_else_written(
    db_url: str,
) -> None:
    conn = await asyncpg.connect(db_url)
    good = _records([_bar("SPY", 20, 500.0)], start=1000)
    bad = [RawRecord(topic, 1, i, b"k", raw) for i, (topic, raw, _) in enumerate(MALFORMED)]
    res = await write_batch(conn, bad + good)
    assert res.dead_lettered == len(MALFORMED)
    dead = await conn.fetch('SELECT topic, "partition", "offset", error_msg, raw_bytes '
                            'FROM logs_consumer_error ORDER BY "offset"')
    assert [(r["topic"], r["offset"]) for r in dead] == [(t, i) for i, (t, _, _) in
                                                        enumerate(MALFORMED)]
    assert all(r["error_msg"] and r["partition"] == 1 for r in dead)
    assert [r["raw_bytes"] for r in dead] == [raw for _, raw, _ in MALFORMED]
    assert await conn.fetchval("SELECT count(*) FROM collected_01_daily_etf_ohlc") == 1
    assert await conn.fetchval("SELECT count(*) FROM collected_06_daily_stock_history") == 0
    assert await conn.fetchval("SELECT count(*) FROM collected_04_etf_holdings") == 0
    # The table the SQL tried to drop is still there, and a replay does not double the log.
    await write_batch(conn, bad)
    assert await conn.fetchval("SELECT count(*) FROM logs_consumer_error") == len(MALFORMED)
    await conn.close()


async def test_a_snapshot_replaces_the_holdings_of_its_date(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)

    def snap(*items: tuple[str, float]) -> EtfHoldings:
        return EtfHoldings(etf_ticker="XLK", as_of_date=date(2026, 8, 20), point_in_time=True,
                           source="test", holdings=[HoldingItem(holding_ticker=t, weight=w)
                                                    for t, w in items])

    await write_batch(conn, _records([snap(("AAPL", 0.2), ("MSFT", 0.1))]))
    await write_batch(conn, _records([snap(("AAPL", 0.25), ("NVDA", 0.3))]))
    rows = await conn.fetch("SELECT holding_ticker, holding_percent FROM collected_04_etf_holdings "
                            "ORDER BY holding_ticker")
    assert [(r[0], float(r[1])) for r in rows] == [("AAPL", 25.0), ("NVDA", 30.0)]
    await conn.close()


async def test_stock_bars_and_fundamentals_merge_without_losing_values(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    d = date(2026, 8, 20)
    await write_batch(conn, _records([
        StockFundamental(ticker="AAPL", as_of_date=d, shares_outstanding=1.5e10, source="t"),
        StockDaily(ticker="AAPL", trade_date=d, close=250.0, market_cap=3.7e12, source="t",
                   company_name="Apple Inc.", sector="Technology", currency="USD"),
    ]))
    row = await conn.fetchrow("SELECT market_cap, shares_outstanding "
                              "FROM collected_07_stock_fundamentals")
    assert float(row[0]) == 3.7e12 and float(row[1]) == 1.5e10
    hist = await conn.fetchrow("SELECT company_name, sector, market_cap "
                               "FROM collected_06_daily_stock_history")
    assert tuple(hist) == ("Apple Inc.", "Technology", 3_700_000_000_000)
    await conn.close()


async def test_changes_stay_right_when_bars_arrive_out_of_order(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    await write_batch(conn, _records([_bar("SPY", 20, 120.0), _bar("SPY", 17, 100.0)]))
    await write_batch(conn, _records([_bar("SPY", 18, 110.0)]))  # a late fill in between
    await write_batch(conn, _records([_bar("SPY", 19, 99.0), _bar("SPY", 21, 132.0)]))
    rows = await conn.fetch("SELECT trade_date, price_change_percent "
                            "FROM collected_01_daily_etf_ohlc ORDER BY trade_date")
    expected = [None, 10.0, -10.0, 100 * (120 / 99 - 1), 10.0]
    got = [None if r[1] is None else float(r[1]) for r in rows]
    assert [r[0].day for r in rows] == [17, 18, 19, 20, 21]
    assert got[0] is None
    assert all(abs(g - e) < 1e-6 for g, e in zip(got[1:], expected[1:], strict=True)), got
    await conn.close()


async def test_changes_computed_per_batch_equal_the_full_recomputation(db_url: str) -> None:
    """The batch path (previous bar in the batch, or the stored one) gives exactly the numbers
    the whole-history SQL refresh gives: same arithmetic, same rounding."""
    import random
    from datetime import timedelta

    from trendfolio.ingest import _refresh_changes

    rng = random.Random(7)
    in_order: list[Message] = []
    shuffled: list[Message] = []
    for d in range(60):
        day = date(2026, 1, 1) + timedelta(days=d)
        for t in range(24):
            close = round(rng.uniform(1, 900), rng.choice((2, 4, 6)))
            bar: Message = (StockDaily(ticker=f"S{t}", trade_date=day, close=close, source="t")
                            if t % 2 else
                            EtfDaily(ticker=f"E{t}", trade_date=day, close=close, source="t"))
            (in_order if t < 12 else shuffled).append(bar)
    rng.shuffle(shuffled)  # out of order within and across batches; some bars sent twice
    shuffled += rng.sample(shuffled, 40)
    bars = [m for pair in zip(in_order, shuffled[:720], strict=True) for m in pair]
    bars += shuffled[720:]
    conn = await asyncpg.connect(db_url)
    try:
        for i in range(0, len(bars), 97):
            await write_batch(conn, _records(bars[i : i + 97], start=i))
        for table in ("collected_01_daily_etf_ohlc", "collected_06_daily_stock_history"):
            query = f"SELECT ticker, trade_date, price_change_percent FROM {table} ORDER BY 1, 2"
            batched = await conn.fetch(query)
            await conn.execute(f"UPDATE {table} SET price_change_percent = NULL")
            tickers = [r[0] for r in await conn.fetch(f"SELECT DISTINCT ticker FROM {table}")]
            await _refresh_changes(conn, table, tickers)
            assert [tuple(r) for r in batched] == [tuple(r) for r in await conn.fetch(query)]
            assert len(batched) == 12 * 60
    finally:
        await conn.close()
