"""What the dashboard tests share: the loaded market's database, a browser tab and where its
screenshots go (the stack itself, servers and all, is tests/dashboard/stack.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from tests.support.paths import REPO

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


@dataclass(frozen=True)
class Market:
    url: str
    source: str

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def execute(self, query: str, *args: object) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(query, *args)
        finally:
            await conn.close()


@dataclass
class Tab:
    """A page plus the JavaScript errors it raised."""

    page: Any
    errors: list[str]
