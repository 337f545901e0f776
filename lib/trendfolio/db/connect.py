"""Where the database is: ``TRENDFOLIO_DATABASE_URL``, or the embedded server under the home."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg

from trendfolio.config import Settings


def database_url(settings: Settings) -> str:
    """The read-write URL; starts the embedded server when no URL is configured."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from trendfolio.db.server import embedded_url

        return embedded_url(settings.home)


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{parts.username or ''}@{host}:{parts.port or 5432}{parts.path}"


@asynccontextmanager
async def connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()
