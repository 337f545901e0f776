"""The edges of a Spark job: tables in over JDBC, results out through asyncpg in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import asyncpg
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession

from trendfolio.db.connect import connection
from trendfolio.db.writes import TableSpec, copies_as_is, upsert
from trendfolio.errors import UsageError

T = TypeVar("T")
_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class JdbcTarget:
    """A JDBC URL without credentials and the connection properties that carry them."""

    url: str
    properties: dict[str, str] = field(repr=False)


def jdbc_target(database_url: str) -> JdbcTarget:
    """Turn ``postgresql://user:pw@host:port/db?opts`` into a JDBC URL plus properties."""
    parts = urlsplit(database_url)
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise UsageError(
            "database URL must look like postgresql://user:password@host:port/database "
            f"(got scheme {parts.scheme!r})"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    query = urlencode(parse_qsl(parts.query))
    url = f"jdbc:postgresql://{host}:{parts.port or 5432}{parts.path or '/'}"
    properties = {"driver": "org.postgresql.Driver"}
    if parts.username:
        properties["user"] = unquote(parts.username)
    if parts.password:
        properties["password"] = unquote(parts.password)
    return JdbcTarget(url=f"{url}?{query}" if query else url, properties=properties)


def read_table(spark: SparkSession, database_url: str, table: str) -> DataFrame:
    """A lazy DataFrame over ``table``; filters applied to it are pushed down to PostgreSQL."""
    target = jdbc_target(database_url)
    return spark.read.jdbc(target.url, table, properties=target.properties)


def rows_of(df: DataFrame, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Collect ``df`` to the driver as tuples in ``columns`` order.

    Through Arrow, column by column: far cheaper than a ``Row`` object per row. Timestamps come
    back naive (UTC), as ``collect`` gives them with the session's UTC time zone.
    """
    table = df.select(*columns).toArrow()
    values = [_pylist(table.column(i)) for i in range(table.num_columns)]
    return list(zip(*values, strict=True)) if values else [() for _ in range(table.num_rows)]


def _pylist(column: pa.ChunkedArray) -> list[Any]:
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        column = column.cast(pa.timestamp(column.type.unit))
    values: list[Any] = column.to_pylist()  # pyarrow has no type hints
    return values


def in_transaction(database_url: str, body: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run ``body`` on a fresh connection inside one transaction (from synchronous code)."""

    async def run() -> T:
        async with connection(database_url) as conn, conn.transaction():
            return await body(conn)

    return asyncio.run(run())


BATCH_ROWS = 20_000


async def replace_dates(
    conn: asyncpg.Connection,
    spec: TableSpec,
    date_column: str,
    dates: Sequence[date],
    rows: Sequence[Sequence[Any]],
) -> int:
    """Make ``rows`` the whole content of ``spec`` for ``dates``: one DELETE of those dates, then
    COPY + upsert in batches of ``BATCH_ROWS`` (run inside a transaction); when no key conflicts,
    one COPY straight into the table, which gives the same rows.
    """
    # identifiers come from the fixed table specs; values are bound parameters
    await conn.execute(
        f'DELETE FROM "{spec.name}" WHERE "{date_column}" = ANY($1::date[])', list(dates)
    )
    if not rows:
        return 0
    if await copies_as_is(conn, spec):
        try:
            # Those dates are empty now, so unless a key repeats or a row lies outside them the
            # upsert would only insert: COPY straight into the table does the same, without the
            # staging table, the sort and the conflict checks.
            async with conn.transaction():  # a savepoint: a key conflict undoes only the COPY
                await conn.copy_records_to_table(
                    spec.name, records=rows, columns=list(spec.columns)
                )
            return len(rows)
        except asyncpg.UniqueViolationError:
            pass
    written = 0
    for start in range(0, len(rows), BATCH_ROWS):
        written += await upsert(conn, spec, rows[start : start + BATCH_ROWS])
    return written


def write_dates(
    database_url: str,
    spec: TableSpec,
    date_column: str,
    dates: Sequence[date],
    rows: Sequence[Sequence[Any]],
) -> int:
    """:func:`replace_dates` in one transaction of its own."""
    return in_transaction(
        database_url, lambda conn: replace_dates(conn, spec, date_column, dates, rows)
    )
