"""``trendfolio show``: analytics rows as a table or as JSON objects with the table's columns."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date
from decimal import Decimal
from typing import Any

from trendfolio import wiring
from trendfolio.config import Settings
from trendfolio.db import queries
from trendfolio.db.connect import connection
from trendfolio.db.migrate import migrate


def _jsonable(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, date):
        return v.isoformat()
    return v


async def show(settings: Settings, what: str, day: date | None, period: int | None,
               fmt: str) -> int:
    url = await asyncio.to_thread(wiring.database_url, settings)
    async with connection(url) as conn:
        await migrate(conn)  # a fresh home shows "no rows", not a missing table
        target, rows = await queries.shown_rows(conn, what, day, period)
    records = [{k: _jsonable(v) for k, v in r.items()} for r in rows]
    if fmt == "json":
        print(json.dumps(records, indent=1))
    else:
        columns = queries.SHOWN[what].columns
        print_table([{c: r.get(c) for c in columns} for r in records],
                    f"{what} {target or '(no data)'}")
    if not records:
        print(f"trendfolio: no {what} rows for {day or 'any date'}", file=sys.stderr)
    return 0


def print_table(records: list[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    if records:
        for col in records[0]:
            table.add_column(col, overflow="fold")
        for r in records:
            table.add_row(*(f"{v:.6g}" if isinstance(v, float) else str(v) for v in r.values()))
    Console().print(table)
