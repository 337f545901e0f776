"""A fresh database on a test (or benchmark) PostgreSQL server, one function for all of them."""

from __future__ import annotations

import secrets

import asyncpg

from trendfolio.db.migrate import migrate
from trendfolio.db.server import PgServer


async def create_database(server: PgServer, prefix: str, *, migrated: bool = False) -> str:
    """Create ``<prefix>_<random>`` on ``server`` (migrated when asked); return its URL."""
    name = f"{prefix}_{secrets.token_hex(5)}"
    admin = await asyncpg.connect(server.url("postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = server.url(name)
    if migrated:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
    return url
