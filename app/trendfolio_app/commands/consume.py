"""``trendfolio consume``: Kafka → PostgreSQL until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import signal

from trendfolio import wiring
from trendfolio.config import Settings
from trendfolio.db.connect import connection
from trendfolio.db.migrate import migrate
from trendfolio.errors import UsageError
from trendfolio_consumer.consumer import Consumer


async def consume(settings: Settings, metrics_port: int, metrics_addr: str) -> int:
    if not settings.kafka_bootstrap:
        raise UsageError("TRENDFOLIO_KAFKA_BOOTSTRAP is not set: `consume` reads from Kafka")
    url = await asyncio.to_thread(wiring.database_url, settings)
    async with connection(url) as conn:
        await migrate(conn)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_addr)
    consumer = Consumer(
        settings.kafka_bootstrap,
        url,
        settings.kafka_group,
        settings.consumer_batch_size,
        settings.consumer_batch_ms,
        instance_id=settings.kafka_instance_id,
        writers=settings.consumer_writers,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, consumer.stop)
    await consumer.run()
    return 0
