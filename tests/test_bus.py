"""The bus collectors publish to: the in-process one of the embedded default, and Kafka with a
real consumer group behind it (``settle`` returns once the group has written everything)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import asyncpg
import pydantic
import pytest

from tests.support.kafka import Broker
from trendfolio.bus import InProcessBus, KafkaBus, skip_to_end
from trendfolio.messages import EtfDaily
from trendfolio_consumer.consumer import Consumer


def bar(ticker: str, day: int, close: float) -> EtfDaily:
    return EtfDaily(ticker=ticker, trade_date=date(2026, 8, day), close=close, source="test")


async def count(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        n: int = await conn.fetchval("SELECT count(*) FROM collected_01_daily_etf_ohlc")
        return n
    finally:
        await conn.close()


async def test_in_process_writes_in_batches_and_on_settle(db_url: str) -> None:
    bus = InProcessBus(db_url, batch_size=3)
    await bus.publish_all([bar("SPY", d, 100.0 + d) for d in (17, 18)])
    assert await count(db_url) == 0, "below the batch size nothing is written yet"
    await bus.publish(bar("SPY", 19, 120.0))
    assert await count(db_url) == 3, "a full batch is written at once"
    await bus.publish(bar("SPY", 20, 121.0))
    await bus.settle()
    assert await count(db_url) == 4
    assert bus.published == 4 and bus.result.written == {"collected_01_daily_etf_ohlc": 4}
    await bus.close()


async def test_a_message_that_fails_validation_never_leaves_the_producer(db_url: str) -> None:
    bus = InProcessBus(db_url)
    broken = bar("SPY", 20, 100.0).model_copy(update={"close": -1.0})
    with pytest.raises(pydantic.ValidationError):
        await bus.publish(broken)
    await bus.settle()
    assert bus.published == 0 and await count(db_url) == 0


@pytest.mark.kafka
async def test_on_kafka_settle_waits_until_the_consumer_group_wrote_it(
    kafka: Broker, db_url: str
) -> None:
    group = f"bus-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(kafka.bootstrap, db_url, group, batch_size=50, batch_ms=200, writers=1)
    bus = KafkaBus(kafka.bootstrap, consumer_group=group)
    # the group reads only what this test publishes
    await skip_to_end(kafka.bootstrap, group)
    running = asyncio.create_task(consumer.run())
    try:
        await bus.publish_all([bar(t, d, 50.0 + d) for t in ("XLK", "XLF", "XLV")
                               for d in range(3, 21)])
        await asyncio.wait_for(bus.settle(), timeout=120)
        assert await count(db_url) == 3 * 18
    finally:
        consumer.stop()
        await asyncio.wait_for(running, timeout=60)
        await bus.close()
