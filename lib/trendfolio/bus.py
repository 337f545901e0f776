"""Where collectors publish: Apache Kafka, or the in-process bus of the embedded default.

Both serialise with ``messages.encode`` and end in ``ingest.write_batch``; the in-process bus
simply hands the bytes to the writer instead of a broker.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections import defaultdict
from typing import Any

from trendfolio.db.connect import connection
from trendfolio.ingest import BatchResult, RawRecord, write_batch
from trendfolio.messages import TOPICS, Message, encode, key_of, topic_of

log = logging.getLogger(__name__)


class Bus(ABC):
    """Publish validated messages; ``flush`` returns once they are durable."""

    published: int = 0

    async def publish(self, message: Message) -> None:
        # Validate on the producing side too: a bad message never leaves the collector.
        type(message).model_validate(message.model_dump())
        await self._send(topic_of(message), key_of(message).encode(), encode(message))
        self.published += 1

    async def publish_all(self, messages: list[Message]) -> None:
        for m in messages:
            await self.publish(m)

    @abstractmethod
    async def _send(self, topic: str, key: bytes, value: bytes) -> None: ...

    @abstractmethod
    async def flush(self) -> None: ...

    async def settle(self) -> None:
        """Return once everything published so far is in the database."""
        await self.flush()

    async def close(self) -> None:
        await self.flush()


class InProcessBus(Bus):
    """The embedded default: records go straight to the same writer the consumer uses."""

    def __init__(self, database_url: str, batch_size: int = 5000) -> None:
        self.database_url = database_url
        self.batch_size = batch_size
        self._pending: list[RawRecord] = []
        self._offsets: dict[str, int] = defaultdict(int)
        self.result = BatchResult()

    async def _send(self, topic: str, key: bytes, value: bytes) -> None:
        offset = self._offsets[topic]
        self._offsets[topic] += 1
        self._pending.append(RawRecord(topic, 0, offset, key, value))
        if len(self._pending) >= self.batch_size:
            await self.flush()

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        async with connection(self.database_url) as conn:
            res = await write_batch(conn, batch)
        for table, n in res.written.items():
            self.result.written[table] = self.result.written.get(table, 0) + n
        self.result.dead_lettered += res.dead_lettered


class KafkaBus(Bus):
    """aiokafka producer: acks=all and idempotence on, keyed by ticker (holdings by ETF).

    With ``consumer_group``, :meth:`settle` waits until that group (``trendfolio consume``) has
    written what was published; without it, until the broker has it.
    """

    def __init__(self, bootstrap: str, consumer_group: str | None = None) -> None:
        self.bootstrap = bootstrap
        self.consumer_group = consumer_group
        self._producer: Any = None

    async def _start(self) -> Any:
        if self._producer is None:
            from aiokafka import AIOKafkaProducer

            self._producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                enable_idempotence=True,
                linger_ms=20,
                max_batch_size=1 << 20,
                compression_type="lz4",
                request_timeout_ms=30_000,
            )
            await self._producer.start()
        return self._producer

    async def _send(self, topic: str, key: bytes, value: bytes) -> None:
        await self.send_raw(topic, value, key)

    async def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None, partition: int | None = None
    ) -> asyncio.Future[Any]:
        """Queue one record as it is; the future resolves to its metadata once acknowledged."""
        producer = await self._start()
        fut: asyncio.Future[Any] = await producer.send(
            topic, value=value, key=key, partition=partition
        )
        return fut

    async def partitions(self, topic: str) -> list[int]:
        producer = await self._start()
        return sorted(await producer.partitions_for(topic))

    async def flush(self) -> None:
        if self._producer is not None:
            await self._producer.flush()

    async def settle(self) -> None:
        await self.flush()
        if self.consumer_group is not None:
            await wait_until_consumed(self.bootstrap, self.consumer_group)

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.flush()
            await self._producer.stop()
            self._producer = None


async def ensure_topics(bootstrap: str, partitions: int = 3, replication: int = 1) -> list[str]:
    """Create the three topics explicitly (auto-creation is off); return the ones created."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in TOPICS if t not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(t, num_partitions=partitions, replication_factor=replication)
                    for t in missing
                ]
            )
            log.info("created topics %s with %d partitions", ", ".join(missing), partitions)
        return missing
    finally:
        await admin.close()


async def _topic_partitions(probe: Any) -> list[Any]:
    """Every partition of the three topics, refreshing the metadata once if it is empty."""
    from aiokafka import TopicPartition

    def known() -> list[Any]:
        return [TopicPartition(t, p) for t in TOPICS for p in (probe.partitions_for_topic(t) or ())]

    tps = known()
    if not tps:
        await probe._client.force_metadata_update()
        tps = known()
    return tps


async def _behind(probe: Any, ends: dict[Any, int]) -> int:
    """Messages before ``ends`` that the probe's group has not committed."""
    behind = 0
    for tp, end in ends.items():
        behind += max(0, end - (await probe.committed(tp) or 0))
    return behind


def _probe(bootstrap: str, group: str) -> Any:
    from aiokafka import AIOKafkaConsumer

    return AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)


async def skip_to_end(bootstrap: str, group: str) -> None:
    """Commit the topics' current end offsets for ``group``: it then reads only what follows."""
    probe = _probe(bootstrap, group)
    await probe.start()
    try:
        tps = await _topic_partitions(probe)
        ends = await probe.end_offsets(tps)
        probe.assign(tps)
        await probe.commit({tp: end for tp, end in ends.items()})
    finally:
        await probe.stop()


async def consumer_lag(bootstrap: str, group: str) -> int:
    """Messages now on the three topics that consumer ``group`` has not committed."""
    probe = _probe(bootstrap, group)
    await probe.start()
    try:
        return await _behind(probe, await probe.end_offsets(await _topic_partitions(probe)))
    finally:
        await probe.stop()


async def wait_until_consumed(bootstrap: str, group: str, timeout_s: float = 600) -> None:
    """Block until consumer ``group`` has committed every message now on the three topics.

    Stages that read what earlier stages published (through Kafka and ``trendfolio consume``)
    start only after this returns; it fails with a clear message instead of waiting for ever.
    """
    import time

    from trendfolio.errors import TrendfolioError

    probe = _probe(bootstrap, group)
    await probe.start()
    try:
        # The ends are fixed now: later messages are not this caller's to wait for.
        ends = await probe.end_offsets(await _topic_partitions(probe))
        deadline = time.monotonic() + timeout_s
        while (behind := await _behind(probe, ends)) > 0:
            if time.monotonic() > deadline:
                raise TrendfolioError(
                    f"consumer group {group!r} is still {behind} messages behind after "
                    f"{timeout_s:.0f}s: is `trendfolio consume` running against {bootstrap}?"
                )
            await asyncio.sleep(0.5)
    finally:
        await probe.stop()
