"""Connections: one ``async with connection(url)`` for every short-lived one, and URLs in
messages without their password. Which database to use is ``trendfolio.wiring``'s decision.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{parts.username or ''}@{host}:{parts.port or 5432}{parts.path}"


@asynccontextmanager
async def connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to ``url``, closed when the block ends."""
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()
