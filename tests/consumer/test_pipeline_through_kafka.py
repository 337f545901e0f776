"""The whole daily run through the real Kafka broker and `trendfolio consume`, as the issue
checks it: the same portfolios as the embedded default, and hostile messages dead-lettered."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import asyncpg
import pytest

from tests.support.bars import count_rows
from tests.support.consumers import Consumers, wait_for_assignment
from tests.support.databases import create_database
from tests.support.kafka import Broker, Producer
from tests.support.malformed import MALFORMED
from tests.support.paths import TRENDFOLIO
from tests.support.waiting import eventually
from trendfolio.db.server import PgServer

pytestmark = [pytest.mark.kafka, pytest.mark.spark]
DAY = "2026-08-20"
COLLECTED = ("collected_01_daily_etf_ohlc", "collected_04_etf_holdings",
             "collected_06_daily_stock_history", "collected_07_stock_fundamentals")


def _cli(home: Path, env: dict[str, str], *args: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
    base.update(TRENDFOLIO_HOME=str(home), TRENDFOLIO_LOG_LEVEL="WARNING", **env)
    proc = subprocess.run([str(TRENDFOLIO), *args], env=base, capture_output=True, text=True,
                          timeout=900, check=False)
    assert proc.returncode == 0, f"trendfolio {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
    return proc.stdout


async def test_the_run_through_kafka_equals_the_embedded_run_and_survives_poison(
    kafka: Broker, consumers: Consumers, pg_server: PgServer, market_2026: Path, tmp_path: Path
) -> None:
    through_kafka = await create_database(pg_server, "k", migrated=True)
    embedded = await create_database(pg_server, "k")
    consumer = await consumers.start(through_kafka, batch_ms=200)
    await wait_for_assignment(consumer)

    run = ["--source", f"csv:{market_2026}", "--universe", "spdr", "run", "--date", DAY]
    kafka_env = {"TRENDFOLIO_DATABASE_URL": through_kafka,
                 "TRENDFOLIO_KAFKA_BOOTSTRAP": kafka.bootstrap,
                 "TRENDFOLIO_KAFKA_GROUP": consumers.group}
    await asyncio.to_thread(_cli, tmp_path / "k", kafka_env, *run)
    await asyncio.to_thread(_cli, tmp_path / "e", {"TRENDFOLIO_DATABASE_URL": embedded}, *run)

    def show(url: str, what: str) -> list[dict[str, object]]:
        out = _cli(tmp_path / "s", {"TRENDFOLIO_DATABASE_URL": url}, "show", what, "--date", DAY,
                   "--format", "json")
        rows: list[dict[str, object]] = json.loads(out)
        return rows

    for what in ("trending", "portfolio"):
        via_kafka = await asyncio.to_thread(show, through_kafka, what)
        assert via_kafka, f"no {what} rows through Kafka"
        assert via_kafka == await asyncio.to_thread(show, embedded, what)
    for table in COLLECTED:
        assert await count_rows(through_kafka, table) == await count_rows(embedded, table), table

    # A few hundred hostile messages on every partition of every topic.
    before = {t: await count_rows(through_kafka, t) for t in COLLECTED}
    sent = 0
    async with Producer(kafka.bootstrap) as producer:
        futures = []
        for _ in range(3):
            for topic_name, raw, _ in MALFORMED:  # each on its own topic, on every partition
                for partition in await producer.partitions(topic_name):
                    futures.append(await producer.send_raw(topic_name, raw, b"x", partition))
        await asyncio.gather(*futures)
        sent = len(futures)
    assert sent >= 200

    async def dead() -> int:
        return await count_rows(through_kafka, "logs_consumer_error")

    await eventually(dead, lambda n: n == sent, 120, lambda n: f"{n} of {sent} dead-lettered")
    assert consumer.alive(), consumer.log_tail()
    assert {t: await count_rows(through_kafka, t) for t in COLLECTED} == before
    conn = await asyncpg.connect(through_kafka)
    locations = await conn.fetch('SELECT topic, "partition", "offset" FROM logs_consumer_error')
    await conn.close()
    assert len({tuple(r) for r in locations}) == sent  # one row per Kafka record
