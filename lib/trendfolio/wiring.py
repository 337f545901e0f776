"""Embedded or real: the one place that decides, from the ``Settings`` it is given, where the
database, the message bus, the data source and the Spark master are (SPEC §7's embedded
defaults).

- database: ``TRENDFOLIO_DATABASE_URL``, else the embedded PostgreSQL under the home;
- bus: Apache Kafka at ``TRENDFOLIO_KAFKA_BOOTSTRAP``, else the in-process bus;
- source: ``TRENDFOLIO_SOURCE`` (``yfinance``, ``csv:DIR`` or ``sample``);
- Spark: ``TRENDFOLIO_SPARK_MASTER``, else local mode.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from trendfolio.bus import Bus, InProcessBus, KafkaBus, ensure_topics
from trendfolio.config import Settings
from trendfolio.errors import UsageError
from trendfolio.sources.base import Source

LOCAL_SPARK_MASTER = "local[2]"


def database_url(settings: Settings) -> str:
    """The read-write URL; starts the embedded server when no URL is configured."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from trendfolio.db.server import embedded_url

        return embedded_url(settings.home)


async def open_bus(settings: Settings, database_url: str) -> Bus:
    """Kafka (its topics created when missing) or the in-process bus writing to ``database_url``."""
    if settings.kafka_bootstrap:
        await ensure_topics(settings.kafka_bootstrap)
        return KafkaBus(settings.kafka_bootstrap, consumer_group=settings.kafka_group)
    return InProcessBus(database_url, settings.consumer_batch_size)


def open_source(settings: Settings) -> Source:
    """The source ``settings.source`` names, with its caches under ``settings.home``."""
    spec = settings.source
    if spec == "sample":
        from trendfolio.sources.sample import SampleSource

        return SampleSource()
    if spec.startswith("csv:"):
        from trendfolio.sources.csv_source import CsvSource

        return CsvSource(Path(spec[4:]))
    if spec == "yfinance":
        from trendfolio.sources.yfinance_source import YFinanceSource

        return YFinanceSource.from_settings(settings)
    raise UsageError(f"unknown source {spec!r}: use yfinance, csv:DIR or sample")


def spark_master(settings: Settings) -> str:
    """``TRENDFOLIO_SPARK_MASTER``, else Spark's local mode on two cores."""
    return settings.spark_master or LOCAL_SPARK_MASTER
