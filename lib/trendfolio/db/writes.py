"""Batch writes: COPY into a staging table, then one idempotent upsert on the natural key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg


@dataclass(frozen=True)
class TableSpec:
    """A target table, its natural key and the columns a write supplies."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    touch_updated_at: bool = True
    keep_when_null: tuple[str, ...] = ()  # an incoming NULL keeps the stored value

    @property
    def update_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.key)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def upsert(conn: asyncpg.Connection, spec: TableSpec, rows: Sequence[Sequence[Any]]) -> int:
    """Write ``rows`` (tuples in ``spec.columns`` order); the last row wins for a repeated key.

    Must run inside a transaction: the staging table is dropped on commit.
    """
    if not rows:
        return 0
    staging = f"_stage_{spec.name}"
    cols = ", ".join(_q(c) for c in spec.columns)
    key = ", ".join(_q(c) for c in spec.key)
    await conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_q(staging)} "
        f"(LIKE {_q(spec.name)} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    await conn.execute(f"ALTER TABLE {_q(staging)} ADD COLUMN IF NOT EXISTS _seq bigserial")
    await conn.copy_records_to_table(staging, records=rows, columns=list(spec.columns))
    updates = [
        f"{_q(c)} = COALESCE(EXCLUDED.{_q(c)}, {_q(spec.name)}.{_q(c)})"
        if c in spec.keep_when_null
        else f"{_q(c)} = EXCLUDED.{_q(c)}"
        for c in spec.update_columns
    ]
    if spec.touch_updated_at:
        updates.append("updated_at = now()")
    action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
    result = await conn.execute(
        f"INSERT INTO {_q(spec.name)} ({cols}) "
        f"SELECT DISTINCT ON ({key}) {cols} FROM {_q(staging)} ORDER BY {key}, _seq DESC "
        f"ON CONFLICT ({key}) {action}"
    )
    await conn.execute(f"TRUNCATE {_q(staging)}")
    return int(result.split()[-1])
