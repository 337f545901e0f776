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


STATEMENT_COUNTER = """
CREATE TABLE _statements (n int NOT NULL);
INSERT INTO _statements VALUES (0);
CREATE FUNCTION _count_statement() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN UPDATE _statements SET n = n + 1; RETURN NULL; END $$;
CREATE TRIGGER _count AFTER INSERT ON collected_07_stock_fundamentals
  FOR EACH STATEMENT EXECUTE FUNCTION _count_statement();
"""


async def test_large_batches_take_one_statement(db_url: str) -> None:
    """The server counts the INSERT statements on the table (a statement-level trigger): a
    batch of 20,000 rows is one of them, where a row-by-row writer would make 20,000."""
    conn = await asyncpg.connect(db_url)
    await conn.execute(STATEMENT_COUNTER)
    rows = [(f"T{i:05d}", date(2026, 8, 20), float(i + 1), None, "bulk") for i in range(20_000)]
    async with conn.transaction():
        assert await upsert(conn, SPEC, rows) == 20_000
    assert await conn.fetchval("SELECT n FROM _statements") == 1
    assert await conn.fetchval("SELECT count(*) FROM collected_07_stock_fundamentals") == 20_000
    # the counter tells the two apart: the same rows one statement each count once per row
    await conn.executemany(
        "INSERT INTO collected_07_stock_fundamentals (ticker, as_of_date, market_cap, "
        "shares_outstanding, source) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        rows[:500],
    )
    assert await conn.fetchval("SELECT n FROM _statements") == 1 + 500
    await conn.close()
