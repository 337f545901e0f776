"""Backtest fixtures: empty databases on the test PostgreSQL server for `trendfolio backtest` to
migrate and fill (tests/support/backtest.py runs it and compares its JSON with the oracle)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from tests.support.databases import create_database


@pytest.fixture(scope="session")
async def fresh_database(pg_server: object) -> AsyncIterator[Any]:
    """A factory of empty databases on the test server (the command migrates them itself),
    dropped when the session ends."""
    from trendfolio.db.server import PgServer

    assert isinstance(pg_server, PgServer)
    made: list[str] = []

    async def make(prefix: str, *, migrated: bool = False) -> str:
        url = await create_database(pg_server, prefix, migrated=migrated)
        made.append(url.rsplit("/", 1)[1].split("?")[0])
        return url

    yield make
    admin = await asyncpg.connect(pg_server.url("postgres"))
    try:
        for name in made:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
