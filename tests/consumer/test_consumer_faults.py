"""Fault injection: ``kill -9`` of the consumer, a broker restart and a PostgreSQL restart.

Each test produces valid bars with distinct natural keys from a task running concurrently and
checks at the end that the tables hold exactly what was produced: every row once, with the
produced values, and ``price_change_percent`` consistent with the stored bars.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import asyncpg
import pytest

from tests.support.bars import Expected, assert_bars_equal, bar_count, count_rows, make_bars
from tests.support.consumers import ConsumerProcess, Consumers, wait_for_assignment
from tests.support.kafka import Broker, Producer, committed_lag
from tests.support.waiting import eventually, running
from trendfolio.db.migrate import migrate
from trendfolio.db.server import PgServer
from trendfolio.messages import Message

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

KILLS = int(os.environ.get("TRENDFOLIO_TEST_KILLS", "10"))
TICKERS, DAYS = 250, 400  # 100,000 bars with distinct (ticker, trade_date)
BATCH_SIZE, BATCH_MS = 5000, 300
# The restarted consumer keeps its static group instance id (as a restarted pod would), so it
# gets its partitions back at once; allow generously for the work itself.
PROGRESS_TIMEOUT = 120.0


def log(text: str) -> None:
    """Progress lines (shown with ``pytest -s`` or in a failure report)."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")


async def _stored_at_least(url: str, proc: ConsumerProcess, rows: int, what: str) -> None:
    """Wait until the bar tables hold ``rows`` rows while ``proc`` runs."""
    await eventually(
        lambda: bar_count(url),
        lambda n: n >= rows or not proc.alive(),
        PROGRESS_TIMEOUT,
        f"{what} (pid {proc.pid}) did not bring the bar tables to {rows} rows",
        interval=0.05,
    )
    assert proc.alive(), f"{what} exited by itself:\n{proc.log_tail()}"


async def _produce_paced(
    producer: Producer,
    messages: Sequence[Message],
    share_done: asyncio.Event,
    quota: list[int],
    chunk: int = 500,
    pause: float = 0.1,
) -> int:
    """Send ``messages`` in chunks, never past ``quota[0]``; wait for more quota when there.

    The kill loop raises the quota after each kill, so messages keep flowing across every
    kill and restart whatever time a restart takes. Returns the number sent and acknowledged.
    """
    sent = 0
    while sent < len(messages):
        if sent >= quota[0]:
            share_done.clear()
            await share_done.wait()
            continue
        upto = min(sent + chunk, quota[0], len(messages))
        futures = [await producer.send(m) for m in messages[sent:upto]]
        await asyncio.gather(*futures)
        sent = upto
        await asyncio.sleep(pause)
    return sent


async def test_kill_9_the_consumer_ten_times_while_100k_messages_flow(
    kafka: Broker, consumers: Consumers, db_url: str
) -> None:
    rng = random.Random(9_2026)
    messages, expected = make_bars(rng, tickers=TICKERS, days=DAYS)
    assert len(expected) == TICKERS * DAYS == 100_000
    started = time.monotonic()

    proc = await consumers.start(db_url, BATCH_SIZE, BATCH_MS, instance_id="killed-pod")
    await wait_for_assignment(proc)
    quota = [len(messages) // (KILLS + 1)]
    more = asyncio.Event()
    kills: list[str] = []
    mid_work = 0  # kills that found work still to do
    async with (
        Producer(kafka.bootstrap) as producer,
        running(_produce_paced(producer, messages, more, quota)) as production,
    ):
        for k in range(KILLS):
            t0 = time.monotonic()
            before = await bar_count(db_url)
            # Kill somewhere inside this consumer's work: once a random share of what it has
            # to do is stored (the count moves at each DB commit: the kill then lands before
            # or after the offset commit), plus a random fraction of a batch's time.
            share = rng.uniform(0.05, 0.95)
            threshold = before + max(1, int(share * (quota[0] - before)))
            await _stored_at_least(db_url, proc, threshold, f"consumer {k}")
            delay = rng.uniform(0, 0.5)
            await asyncio.sleep(delay)
            rows = await bar_count(db_url)
            proc.kill9()
            mid_work += rows < quota[0]
            kills.append(
                f"kill {k + 1}: pid {proc.pid} {time.monotonic() - t0:.1f}s after its start, "
                f"{delay:.2f}s after {threshold} rows, {rows} of {quota[0]} rows stored"
            )
            log(kills[-1])
            quota[0] = len(messages) * (k + 2) // (KILLS + 1)
            more.set()
            proc = await consumers.start(db_url, BATCH_SIZE, BATCH_MS, instance_id="killed-pod")

        produced = await asyncio.wait_for(production, timeout=120)
        assert produced == len(messages)

    await eventually(
        lambda: bar_count(db_url), lambda n: n >= len(expected), PROGRESS_TIMEOUT,
        f"{len(expected)} bars produced; the table did not fill after {len(kills)} kills "
        f"({'; '.join(kills)})",
    )
    await eventually(
        lambda: committed_lag(kafka.bootstrap, consumers.group), lambda lag: lag == 0, 60,
        "the last consumer did not commit everything",
    )
    await assert_bars_equal(db_url, expected)
    assert await count_rows(db_url, "logs_consumer_error") == 0, "valid bars were dead-lettered"
    assert len(kills) == KILLS
    assert proc.alive(), f"the last consumer died:\n{proc.log_tail()}"
    assert proc.stop() == 0, f"the last consumer did not stop cleanly:\n{proc.log_tail()}"
    log(f"{KILLS} kills ({mid_work} with work still to do), {len(expected)} bars "
        f"in {time.monotonic() - started:.0f}s")


# --------------------------------------------------------------------------- broker and database


@pytest.fixture
async def own_pg() -> AsyncIterator[PgServer]:
    """A PostgreSQL of this test's own (it gets restarted), stopped by PID at the end."""
    root = Path(tempfile.mkdtemp(prefix="trendfolio-pg-restart-"))
    server = PgServer(root / "pg")
    try:
        await asyncio.to_thread(server.start)
        conn = await asyncpg.connect(server.url())
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield server
    finally:
        pid = server.pid()
        if pid is not None:
            try:
                await asyncio.to_thread(server.stop, "immediate")
            finally:
                if server.pid() is not None:
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


async def _at_least(url: str, low: int, what: str) -> int:
    """Wait until ``low`` bars are stored: the consumer is busy with a phase."""
    return await eventually(
        lambda: bar_count(url), lambda n: n >= low, 90, f"{what}: fewer than {low} bars stored"
    )


def _alive(proc: ConsumerProcess, when: str) -> None:
    assert proc.alive(), f"the consumer exited {when}:\n{proc.log_tail()}"


async def test_the_consumer_rides_out_a_broker_restart_and_a_postgres_restart(
    kafka: Broker, consumers: Consumers, own_pg: PgServer
) -> None:
    rng = random.Random(77)
    messages, expected = make_bars(rng, tickers=250, days=240)  # 60,000 bars
    thirds = [messages[:20_000], messages[20_000:40_000], messages[40_000:]]
    url = own_pg.url()
    port = own_pg.secrets.port

    proc = await consumers.start(url, BATCH_SIZE, BATCH_MS)
    pid = proc.pid
    await wait_for_assignment(proc)

    # 1. the broker restarts while the consumer works through the first third
    async with Producer(kafka.bootstrap) as producer:
        await producer.send_all(thirds[0])
    at = await _at_least(url, 1_000, "before the broker restart")
    log(f"restarting the broker with {at} bars stored")
    t0 = time.monotonic()
    await asyncio.to_thread(kafka.restart)
    log(f"broker back after {time.monotonic() - t0:.1f}s")
    _alive(proc, "during the broker restart")

    # 2. new messages after the restart; PostgreSQL restarts while they are written
    async with Producer(kafka.bootstrap) as producer:
        await producer.send_all(thirds[1])
    at = await _at_least(url, 21_000, "after the broker restart")
    log(f"stopping PostgreSQL (fast) with {at} bars stored")
    await asyncio.to_thread(own_pg.stop, "fast")
    assert own_pg.pid() is None
    async with Producer(kafka.bootstrap) as producer:  # messages keep coming meanwhile
        await producer.send_all(thirds[2][:5_000])
    await asyncio.sleep(4)  # the consumer retries with backoff, committing nothing
    _alive(proc, "while PostgreSQL was down")
    await asyncio.to_thread(own_pg.start)
    new_port = own_pg.secrets.port  # (compared alone: a failure must not print the URL)
    assert new_port == port, (
        f"PgServer.start() moved PostgreSQL from port {port} to {new_port}: the "
        "consumer's TRENDFOLIO_DATABASE_URL is no longer valid (PgServer._port_free binds "
        "without SO_REUSEADDR, so the TIME_WAIT sockets the stop left make the port look busy)"
    )
    log("PostgreSQL back on the same port")

    # 3. the same process catches up on its own
    async with Producer(kafka.bootstrap) as producer:
        await producer.send_all(thirds[2][5_000:])
    await eventually(lambda: bar_count(url), lambda n: n >= len(expected), 120,
                     f"{len(expected)} bars produced; the table did not fill after the restarts")
    await eventually(lambda: committed_lag(kafka.bootstrap, consumers.group),
                     lambda lag: lag == 0, 60, "the consumer did not commit everything")
    await _check(url, expected)
    _alive(proc, "after the restarts")
    assert proc.pid == pid and len(consumers.started) == 1, "the consumer was restarted"
    text = proc.log.read_text(errors="replace")
    assert "database unavailable" in text, "the consumer never saw the database go away"
    assert proc.stop() == 0, f"the consumer did not stop cleanly:\n{proc.log_tail()}"


async def _check(url: str, expected: Expected) -> None:
    await assert_bars_equal(url, expected)
    assert await count_rows(url, "logs_consumer_error") == 0, "valid bars were dead-lettered"


async def test_a_stop_while_postgres_is_away_is_prompt_and_commits_nothing_unwritten(
    kafka: Broker, consumers: Consumers, own_pg: PgServer
) -> None:
    """SIGTERM while every writer is retrying a batch against a stopped PostgreSQL: the
    consumer ends at once with status 0 instead of retrying for ever, and commits no offset
    of a batch it did not write; a consumer started after PostgreSQL is back writes them."""
    rng = random.Random(78)
    messages, expected = make_bars(rng, tickers=100, days=100)  # 10,000 bars
    url = own_pg.url()
    proc = await consumers.start(url, 1000, 100)
    await wait_for_assignment(proc)
    async with Producer(kafka.bootstrap) as producer:
        await producer.send_all(messages[:4_000])
    await eventually(lambda: committed_lag(kafka.bootstrap, consumers.group),
                     lambda lag: lag == 0, 60, "the first 4,000 bars were not consumed")
    await asyncio.to_thread(own_pg.stop, "fast")
    async with Producer(kafka.bootstrap) as producer:
        await producer.send_all(messages[4_000:])
    await asyncio.sleep(3)  # the writers fail on their batches and back off, holding them
    _alive(proc, "while PostgreSQL was down")
    started = time.monotonic()
    status = proc.stop(timeout=20)
    took = time.monotonic() - started
    assert status == 0, f"exit status {status}:\n{proc.log_tail()}"
    assert took < 10, f"the stop took {took:.1f}s"
    assert "database unavailable" in proc.log.read_text(errors="replace")
    lag = await committed_lag(kafka.bootstrap, consumers.group)
    assert lag == len(messages) - 4_000, f"{lag} uncommitted: offsets of unwritten batches moved"

    await asyncio.to_thread(own_pg.start)
    url = own_pg.url()
    second = await consumers.start(url, 1000, 100)
    await eventually(lambda: committed_lag(kafka.bootstrap, consumers.group),
                     lambda lag: lag == 0, 90, "the second consumer did not catch up")
    await _check(url, expected)
    assert second.stop() == 0, f"the second consumer did not stop cleanly:\n{second.log_tail()}"
