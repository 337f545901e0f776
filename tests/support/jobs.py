"""What the Spark jobs' tests share: ``Db`` on the test's database, the real-data backfill's range."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trendfolio.db.connect import connection

BACKFILL_START, BACKFILL_END = "2026-04-20", "2026-08-20"


class Db:
    """Set-up and checks on the test's database, one short connection per call."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        async with connection(self.url) as conn:
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def fetch(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        async with connection(self.url) as conn:
            return [tuple(r) for r in await conn.fetch(query, *args)]
