"""``trendfolio consume``: at-least-once ingestion with offsets committed after the DB commit.

Batches close on a count or a time limit. A batch is written in one transaction (good rows
and dead letters together); only then are its offsets committed. A database outage is
retried with backoff while holding the batch, so nothing is committed that was not written.
Replays after a crash are harmless: every write is an upsert on the natural key.

The next batch is fetched and decoded while the database writes the current one (Python and
PostgreSQL then work on different cores), and a batch's offsets go to Kafka while the next one
is written; offsets are still committed only after their own batch's transaction, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import asyncpg

from trendfolio.bus import ensure_topics
from trendfolio.ingest import BatchResult, Prepared, write_prepared
from trendfolio.messages import TOPICS
from trendfolio.metrics import (
    BATCH_WRITE_SECONDS,
    CONSUMER_LAG,
    DB_RETRIES,
    DEAD_LETTERS,
    MESSAGES,
    ROWS_COLLECTED,
)

log = logging.getLogger(__name__)
# Records decoded per fetch, so that the batch being written gets the event loop in between:
# each of its round trips to PostgreSQL waits for the chunk being decoded (~1 ms for 250).
_DECODE_CHUNK = 250
_DB_ERRORS = (
    OSError,
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncio.TimeoutError,
)


class _Batch(Prepared):
    """A prepared batch with the next offset of each of its partitions and counts by topic."""

    def __init__(self) -> None:
        super().__init__()
        self.offsets: dict[Any, int] = {}  # TopicPartition -> offset to commit
        self.per_topic: Counter[str] = Counter()


class Consumer:
    def __init__(
        self,
        bootstrap: str,
        database_url: str,
        group: str,
        batch_size: int = 5000,
        batch_ms: int = 500,
        on_batch: Callable[[BatchResult], None] | None = None,
        instance_id: str | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.database_url = database_url
        self.group = group
        self.batch_size = batch_size
        self.batch_ms = batch_ms
        self.on_batch = on_batch
        self.instance_id = instance_id
        self._stop = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self.total = BatchResult()

    def stop(self) -> None:
        self._stop.set()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self.database_url, timeout=10)
        return self._conn

    async def _write(self, batch: Prepared) -> BatchResult:
        delay = 0.5
        while True:
            try:
                started = time.perf_counter()
                result = await write_prepared(await self._connection(), batch)
                BATCH_WRITE_SECONDS.observe(time.perf_counter() - started)
                return result
            except _DB_ERRORS as exc:
                DB_RETRIES.inc()
                log.warning(
                    "database unavailable (%s); retrying the batch of %d in %.1fs",
                    exc,
                    len(batch.records),
                    delay,
                )
                if self._conn is not None:
                    self._conn.terminate()
                self._conn = None
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 15.0)

    async def _commit(self, consumer: Any, offsets: dict[Any, int]) -> None:
        from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

        delay = 0.5
        while not self._stop.is_set():
            # Partitions that moved to another member in a rebalance are its to commit now;
            # it re-reads those records, and the upserts make the replay harmless.
            mine = {tp: o for tp, o in offsets.items() if tp in consumer.assignment()}
            if not mine:
                return
            try:
                await consumer.commit(mine)
                return
            except (CommitFailedError, IllegalStateError) as exc:
                log.warning(
                    "offset commit lost to a rebalance (%s); messages will be replayed", exc
                )
                return
            except KafkaError as exc:
                log.warning("offset commit failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _settle(self, consumer: Any, batch: _Batch, result: BatchResult) -> None:
        """After the batch's DB commit: commit its offsets, then count it."""
        await self._commit(consumer, batch.offsets)
        self._account(batch, result)
        log.info("batch of %d: %d rows, %d dead-lettered", len(batch.records), result.rows,
                 result.dead_lettered)

    def _account(self, batch: _Batch, result: BatchResult) -> None:
        for topic, n in batch.per_topic.items():
            MESSAGES.labels(topic).inc(n)
        for table, n in result.written.items():
            ROWS_COLLECTED.labels(table).inc(n)
            self.total.written[table] = self.total.written.get(table, 0) + n
        if result.dead_lettered:
            DEAD_LETTERS.inc(result.dead_lettered)
            self.total.dead_lettered += result.dead_lettered
        if self.on_batch:
            self.on_batch(result)

    async def _collect(self, consumer: Any) -> _Batch:
        """The next batch, decoded and validated as its records arrive."""
        batch = _Batch()
        deadline = time.monotonic() + self.batch_ms / 1000
        while len(batch.records) < self.batch_size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 and batch.records:
                break
            got = await consumer.getmany(
                timeout_ms=max(50, int(remaining * 1000)),
                max_records=min(_DECODE_CHUNK, self.batch_size - len(batch.records)),
            )
            for tp, msgs in got.items():
                if not msgs:
                    continue
                batch.add(msgs)  # aiokafka's records as they are: no copy per message
                batch.offsets[tp] = msgs[-1].offset + 1  # in order within a partition
                batch.per_topic[tp.topic] += len(msgs)
                lag = consumer.highwater(tp)
                if lag is not None:
                    CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag - msgs[-1].offset - 1)
            if remaining <= 0:
                break
        return batch

    async def run(self) -> None:
        from aiokafka import AIOKafkaConsumer

        await ensure_topics(self.bootstrap)
        consumer = AIOKafkaConsumer(
            *TOPICS,
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.batch_size,
            fetch_max_wait_ms=100,
            fetch_max_bytes=64 << 20,
            max_partition_fetch_bytes=16 << 20,
            # Static membership: a restarted member with the same id gets its partitions back
            # at once instead of waiting for its old session to expire.
            group_instance_id=self.instance_id,
            session_timeout_ms=20_000,
            heartbeat_interval_ms=2_000,
            max_poll_interval_ms=600_000,
        )
        await consumer.start()
        log.info("consuming %s from %s as group %s", ", ".join(TOPICS), self.bootstrap, self.group)
        writing: asyncio.Task[BatchResult] | None = None
        committing: asyncio.Task[None] | None = None
        try:
            batch = await self._collect(consumer)
            while batch.records or not self._stop.is_set():
                if not batch.records:
                    batch = await self._collect(consumer)
                    continue
                writing = asyncio.create_task(self._write(batch))
                # Fetch and decode the next batch while the database writes this one.
                following = await self._collect(consumer) if not self._stop.is_set() else _Batch()
                result = await writing
                writing = None
                # Offsets go to Kafka while the next batch is written; commits stay in order.
                if committing is not None:
                    await committing
                committing = asyncio.create_task(self._settle(consumer, batch, result))
                batch = following
                if self._stop.is_set():
                    break  # a fetched batch not yet written is not committed: it is re-read
        finally:
            if writing is not None:
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writing
            if committing is not None:  # a written batch: let its offsets reach Kafka
                with contextlib.suppress(Exception):
                    await committing
            await consumer.stop()
            if self._conn is not None:
                await self._conn.close()
