from datetime import date

import asyncpg

from trendfolio.db.writes import TableSpec, upsert

SPEC = TableSpec("collected_07_stock_fundamentals", ("ticker", "as_of_date"),
                 ("ticker", "as_of_date", "market_cap", "shares_outstanding", "source"),
                 keep_when_null=("market_cap", "shares_outstanding"))


async def test_upsert_is_idempotent_and_last_row_wins(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    d = date(2026, 8, 20)
    rows = [("AAPL", d, 1.0, None, "a"), ("MSFT", d, 2.0, None, "a"), ("AAPL", d, 3.0, None, "b")]
    async with conn.transaction():
        assert await upsert(conn, SPEC, rows) == 2
    async with conn.transaction():
        await upsert(conn, SPEC, rows)
    got = await conn.fetch("SELECT ticker, market_cap, source FROM collected_07_stock_fundamentals "
                           "ORDER BY ticker")
    assert [(r[0], float(r[1]), r[2]) for r in got] == [("AAPL", 3.0, "b"), ("MSFT", 2.0, "a")]
    await conn.close()


async def test_null_keeps_the_stored_value_where_asked(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    d = date(2026, 8, 20)
    async with conn.transaction():
        await upsert(conn, SPEC, [("AAPL", d, 5.0, 7.0, "a")])
    async with conn.transaction():
        await upsert(conn, SPEC, [("AAPL", d, None, 8.0, "b")])
    row = await conn.fetchrow("SELECT market_cap, shares_outstanding FROM "
                              "collected_07_stock_fundamentals")
    assert (float(row[0]), float(row[1])) == (5.0, 8.0)
    await conn.close()


async def test_a_failed_transaction_writes_nothing(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        async with conn.transaction():
            await upsert(conn, SPEC, [("AAPL", date(2026, 8, 20), 5.0, None, "a")])
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert await conn.fetchval("SELECT count(*) FROM collected_07_stock_fundamentals") == 0
    await conn.close()


async def test_large_batches_take_one_statement(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    rows = [(f"T{i:05d}", date(2026, 8, 20), float(i + 1), None, "bulk") for i in range(20_000)]
    async with conn.transaction():
        assert await upsert(conn, SPEC, rows) == 20_000
    await conn.close()
