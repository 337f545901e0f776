"""``trendfolio consume``: at-least-once ingestion with offsets committed after the DB commit.

Records are written by *writers* (``TRENDFOLIO_CONSUMER_WRITERS``), each with its own
PostgreSQL connection and its own partitions: a partition number always goes to the same
writer, so a ticker (the message key, hashed to the same partition number in every topic) is
only ever written by one of them, one batch after another, and two writers never touch the
same rows. Batches close on a count or a time limit. A batch is written in one transaction
(good rows and dead letters together); only then are its offsets committed, so a partition's
offsets are committed in order. A database outage is retried with backoff while holding the
batch, so nothing is committed that was not written. Replays after a crash are harmless:
every write is an upsert on the natural key.

One reader fetches and decodes while the writers' transactions run in PostgreSQL: Python and
the database work on different cores, and with two or more writers the database uses both.
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
# Records decoded per fetch, so that the batches being written get the event loop in between:
# each of their round trips to PostgreSQL waits for the chunk being decoded (~0.4 ms for 100).
_DECODE_CHUNK = 100
# How far a writer's next batch may fill (in batch sizes) before the reader waits for it.
_MAX_BATCHES = 4
_DB_ERRORS = (
    OSError,
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    # a connection the server dropped mid-operation: asyncpg's protocol is left in a state that
    # refuses the rollback ("cannot switch to state 15; another operation is in progress")
    asyncpg.InternalClientError,
    # a deadlock or serialization failure rolls the batch back whole: write it again
    asyncpg.TransactionRollbackError,
    asyncio.TimeoutError,
)


class _Batch(Prepared):
    """A prepared batch with the next offset of each of its partitions and counts by topic."""

    def __init__(self) -> None:
        super().__init__()
        self.offsets: dict[Any, int] = {}  # TopicPartition -> offset to commit
        self.per_topic: Counter[str] = Counter()
        self.deadline = 0.0  # time.monotonic() at which it is due to its writer, however small


class _Writer:
    """One connection and the batches of its partitions, written one after another.

    While it writes a batch the next one keeps filling, past the batch size if need be (up
    to ``_MAX_BATCHES`` batch sizes): a writer that falls behind takes bigger batches instead
    of holding up the reader, and so the writers of the other partitions.
    """

    def __init__(self, index: int) -> None:
        self.index = index
        self.conn: asyncpg.Connection | None = None
        self.filling = _Batch()
        self.ready = asyncio.Event()  # ``filling`` is full or due: take it
        self.taken = asyncio.Event()  # the writer took a batch: there is room again


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
        writers: int = 3,
    ) -> None:
        if writers < 1:
            raise ValueError(f"writers must be at least 1, not {writers}")
        self.bootstrap = bootstrap
        self.database_url = database_url
        self.group = group
        self.batch_size = batch_size
        self.batch_ms = batch_ms
        self.on_batch = on_batch
        self.instance_id = instance_id
        self.writers = writers
        self._stop = asyncio.Event()
        self._commit_lock = asyncio.Lock()
        self.total = BatchResult()

    def stop(self) -> None:
        self._stop.set()

    async def _connection(self, writer: _Writer) -> asyncpg.Connection:
        if writer.conn is None or writer.conn.is_closed():
            writer.conn = await asyncpg.connect(self.database_url, timeout=10)
        return writer.conn

    async def _write(self, writer: _Writer, batch: Prepared) -> BatchResult | None:
        """Write ``batch``, retrying while the database is away; None if stopped meanwhile."""
        delay = 0.5
        while True:
            try:
                started = time.perf_counter()
                result = await write_prepared(await self._connection(writer), batch)
                BATCH_WRITE_SECONDS.observe(time.perf_counter() - started)
                return result
            except _DB_ERRORS as exc:
                DB_RETRIES.inc()
                log.warning(
                    "writer %d: database unavailable (%s); retrying the batch of %d in %.1fs",
                    writer.index,
                    exc,
                    len(batch.records),
                    delay,
                )
                # after a rollback (deadlock, serialization) the connection itself is fine
                rolled_back = isinstance(exc, asyncpg.TransactionRollbackError)
                if writer.conn is not None and not rolled_back:
                    writer.conn.terminate()
                    writer.conn = None
                if self._stop.is_set():
                    return None  # not written, not committed: it is re-read after a restart
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay * (0.5 + random.random()))
                delay = min(delay * 2, 15.0)

    async def _commit(self, consumer: Any, offsets: dict[Any, int]) -> None:
        from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

        delay = 0.5
        while True:
            # Partitions that moved to another member in a rebalance are its to commit now;
            # it re-reads those records, and the upserts make the replay harmless.
            mine = {tp: o for tp, o in offsets.items() if tp in consumer.assignment()}
            if not mine:
                return
            try:
                async with self._commit_lock:  # one commit request at a time
                    await consumer.commit(mine)
                return
            except (CommitFailedError, IllegalStateError) as exc:
                log.warning(
                    "offset commit lost to a rebalance (%s); messages will be replayed", exc
                )
                return
            except KafkaError as exc:
                if self._stop.is_set():
                    log.warning(
                        "offset commit failed while stopping (%s); the batch will be replayed", exc
                    )
                    return
                log.warning("offset commit failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

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

    async def _drain(self, consumer: Any, writer: _Writer) -> None:
        """A writer's loop: take the filled batch, write it, commit its offsets, count it."""
        while True:
            await writer.ready.wait()
            if self._stop.is_set():
                return  # a batch fetched but not written is not committed: it is re-read
            batch, writer.filling = writer.filling, _Batch()
            writer.ready.clear()
            writer.taken.set()
            result = await self._write(writer, batch)
            if result is None:
                return
            await self._commit(consumer, batch.offsets)
            self._account(batch, result)
            log.info(
                "writer %d: batch of %d, %d rows, %d dead-lettered",
                writer.index,
                len(batch.records),
                result.rows,
                result.dead_lettered,
            )

    async def _read(self, consumer: Any, writers: list[_Writer]) -> None:
        """Fetch and decode records into their writers' batches; flag the full and the due."""
        most = _MAX_BATCHES * self.batch_size
        while not self._stop.is_set():
            now = time.monotonic()
            due = [w.filling.deadline - now for w in writers if w.filling.records]
            wait = min(due) if due else self.batch_ms / 1000
            got = await consumer.getmany(
                timeout_ms=max(5, int(wait * 1000)), max_records=_DECODE_CHUNK
            )
            for tp, msgs in got.items():
                if not msgs:
                    continue
                batch = writers[tp.partition % len(writers)].filling
                if not batch.records:
                    batch.deadline = time.monotonic() + self.batch_ms / 1000
                batch.add(msgs)  # aiokafka's records as they are: no copy per message
                batch.offsets[tp] = msgs[-1].offset + 1  # in order within a partition
                batch.per_topic[tp.topic] += len(msgs)
                lag = consumer.highwater(tp)
                if lag is not None:
                    CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag - msgs[-1].offset - 1)
            now = time.monotonic()
            for w in writers:
                size = len(w.filling.records)
                if size and (size >= self.batch_size or now >= w.filling.deadline):
                    w.ready.set()
                while len(w.filling.records) >= most and not self._stop.is_set():
                    w.taken.clear()  # the database is behind: wait for this writer
                    await w.taken.wait()
            # getmany returns at once while records are buffered: yield, so that the writers'
            # round trips to PostgreSQL are answered while the next records are decoded
            await asyncio.sleep(0)

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
        log.info(
            "consuming %s from %s as group %s with %d writers",
            ", ".join(TOPICS),
            self.bootstrap,
            self.group,
            self.writers,
        )
        writers = [_Writer(i) for i in range(self.writers)]
        drains = [asyncio.create_task(self._drain(consumer, w)) for w in writers]
        reader = asyncio.create_task(self._read(consumer, writers))
        stopping = asyncio.create_task(self._stop.wait())
        failed = True
        try:
            done, _ = await asyncio.wait(
                [reader, stopping, *drains], return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                if task is not stopping:
                    task.result()  # a reader or writer that ended on its own has failed
            failed = False
        finally:
            self._stop.set()
            for task in (reader, stopping):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for w in writers:
                w.ready.set()  # wakes an idle writer, which sees the stop and ends
            if failed:
                for task in drains:
                    task.cancel()
            # a batch being written is finished and its offsets committed
            for task in drains:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await consumer.stop()
            for w in writers:
                if w.conn is not None:
                    with contextlib.suppress(Exception):
                        await w.conn.close()
