"""The session's Apache Kafka broker and what the tests do with it.

``Broker``: the KRaft broker of the ``kafka`` fixture (tests/conftest.py), started with
``scripts/devservices.py``. ``Producer``: an aiokafka producer (acks=all, idempotent) keyed by
ticker, as collectors are. A consumer group's offsets: committed at the topics' end, its lag.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from trendfolio.bus import KafkaBus, consumer_lag, skip_to_end
from trendfolio.messages import TOPICS, Message, encode, key_of, topic_of


@dataclass
class Broker:
    """The session's broker: a devservices home, its bootstrap address and its PID."""

    ds: ModuleType
    home: Path
    bootstrap: str

    def pid(self) -> int | None:
        pid: int | None = self.ds.kafka_pid(self.home)
        return pid

    def restart(self) -> None:
        """Stop the broker by PID and start it again on the same ports (blocking)."""
        before = self.pid()
        assert before is not None, "the Kafka broker is not running before its restart"
        bootstrap = self.ds.restart_kafka(self.home)
        assert bootstrap == self.bootstrap, (
            f"the broker came back on {bootstrap}, not on {self.bootstrap}"
        )
        after = self.pid()
        assert after is not None and after != before, (
            f"the broker was not restarted (pid before {before}, after {after})"
        )


class Producer:
    """The product's ``KafkaBus`` producer, with raw sends for hostile records."""

    def __init__(self, bootstrap: str) -> None:
        self._bus = KafkaBus(bootstrap)

    async def __aenter__(self) -> Producer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._bus.close()

    async def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None, partition: int | None = None
    ) -> asyncio.Future[Any]:
        """Queue one record; the future resolves to its RecordMetadata once acknowledged."""
        return await self._bus.send_raw(topic, value, key, partition)

    async def send(self, message: Message) -> asyncio.Future[Any]:
        return await self.send_raw(topic_of(message), encode(message), key_of(message).encode())

    async def send_all(self, messages: Sequence[Message]) -> list[Any]:
        """Send ``messages`` and wait until the broker has acknowledged every one."""
        futures = [await self.send(m) for m in messages]
        return list(await asyncio.gather(*futures))

    async def partitions(self, topic: str) -> list[int]:
        return await self._bus.partitions(topic)


async def _partitions(bootstrap: str) -> list[Any]:
    """Every partition of the three topics, as the broker describes them."""
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(TOPICS))
    finally:
        await admin.close()
    tps = sorted(
        TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]
    )
    assert len(tps) >= 3 * len(TOPICS), f"the topics are not all there: {described}"
    return tps


async def commit_end_offsets(bootstrap: str, group: str) -> None:
    """Commit the current end of every partition of the three topics for ``group``."""
    await _partitions(bootstrap)  # every topic and partition is there
    await skip_to_end(bootstrap, group)


async def committed_lag(bootstrap: str, group: str) -> int:
    """Messages on the three topics that ``group`` has not committed yet (all topics present)."""
    await _partitions(bootstrap)
    return await consumer_lag(bootstrap, group)
