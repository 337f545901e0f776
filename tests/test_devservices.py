"""scripts/devservices.py: real PostgreSQL and a real KRaft Kafka broker, up, restart and down."""

from __future__ import annotations

import asyncio
import shutil
import stat
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.devservices import load_devservices

pytestmark = pytest.mark.kafka

def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


@pytest.fixture
def ds() -> ModuleType:
    module = load_devservices()
    if shutil.which("java") is None:
        pytest.skip("java is not installed (run scripts/ci-system-deps.sh)")
    if shutil.which("mvn") is None and not module.kafka_libs().is_dir():
        pytest.skip("mvn is not installed and the Kafka jars are not cached")
    return module


async def _consume(bootstrap: str, topic: str, expected: set[bytes]) -> dict[bytes, int]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"devservices-test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: dict[bytes, int] = {}
    try:
        async with asyncio.timeout(60):
            while not expected <= seen.keys():
                batches = await consumer.getmany(timeout_ms=1000)
                for records in batches.values():
                    for record in records:
                        assert record.value is not None
                        seen[record.value] = record.partition
        await consumer.commit()
    finally:
        await consumer.stop()
    return seen


@pytest.fixture
def home() -> Iterator[Path]:
    # Not under pytest's tmp_path: as root, PostgreSQL runs as an unprivileged user that must
    # traverse the parent folders, and every pytest start makes /tmp/pytest-of-root 0700 again.
    made = Path(tempfile.mkdtemp(prefix="trendfolio-devservices-"))
    yield made / "home"
    shutil.rmtree(made, ignore_errors=True)


async def test_services_up_produce_consume_restart_down(ds: ModuleType, home: Path) -> None:
    import asyncpg
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    try:
        values = await asyncio.to_thread(ds.up, home)
        bootstrap = values["TRENDFOLIO_KAFKA_BOOTSTRAP"]
        env = home / "services.env"
        assert stat.S_IMODE(env.stat().st_mode) == 0o600
        assert env.read_text().splitlines() == [
            f"TRENDFOLIO_DATABASE_URL={values['TRENDFOLIO_DATABASE_URL']}",
            f"TRENDFOLIO_KAFKA_BOOTSTRAP={bootstrap}",
        ]
        assert bootstrap.startswith("127.0.0.1:")
        pg_pid, kafka_pid = ds.postgres_pid(home), ds.kafka_pid(home)
        assert pg_pid is not None and kafka_pid is not None

        # idempotent: a second up finds both running
        assert await asyncio.to_thread(ds.up, home) == values
        assert (ds.postgres_pid(home), ds.kafka_pid(home)) == (pg_pid, kafka_pid)

        conn = await asyncpg.connect(values["TRENDFOLIO_DATABASE_URL"])
        try:
            assert await conn.fetchval("SELECT 1") == 1
        finally:
            await conn.close()

        topic = f"devservices-{uuid.uuid4().hex[:8]}"
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
        finally:
            await admin.close()

        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
            request_timeout_ms=15000, retry_backoff_ms=200,
        )
        await producer.start()
        try:
            partitions = await producer.partitions_for(topic)
            assert partitions == {0, 1, 2}
            await producer.send_and_wait(topic, b"before-restart", key=b"k", partition=2)
            seen = await _consume(bootstrap, topic, {b"before-restart"})
            assert seen[b"before-restart"] == 2

            # the broker restarts under a live producer, keeping its address and its data
            new_bootstrap = await asyncio.to_thread(ds.restart_kafka, home)
            assert new_bootstrap == bootstrap
            new_pid = ds.kafka_pid(home)
            assert new_pid is not None and new_pid != kafka_pid
            assert _gone(kafka_pid)
            async with asyncio.timeout(60):
                await producer.send_and_wait(topic, b"after-restart", key=b"k", partition=1)
        finally:
            await producer.stop()
        seen = await _consume(bootstrap, topic, {b"before-restart", b"after-restart"})
        assert seen == {b"before-restart": 2, b"after-restart": 1}

        await asyncio.to_thread(ds.down, home)
        assert ds.kafka_pid(home) is None and ds.postgres_pid(home) is None
        assert _gone(new_pid) and _gone(pg_pid)
        assert not (home / "services" / "kafka" / "kafka.pid").exists()
    finally:
        await asyncio.to_thread(ds.down, home)


def test_cluster_ids_never_look_like_an_option() -> None:
    # One random URL-safe id in 64 starts with '-', which the storage tool took for an option.
    ids = [load_devservices()._cluster_id() for _ in range(2000)]
    assert not [i for i in ids if i.startswith("-")]
    assert len(set(ids)) == len(ids)
