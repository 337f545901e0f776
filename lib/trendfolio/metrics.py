"""Prometheus metrics (prefix ``trendfolio_``), defined once and shared by every process."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    push_to_gateway,
    pushadd_to_gateway,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

ROWS_COLLECTED = Counter("trendfolio_rows_collected", "Rows written to collected tables", ["table"])
DEAD_LETTERS = Counter("trendfolio_dead_letters", "Messages dead-lettered")
MESSAGES = Counter("trendfolio_consumer_messages", "Messages consumed", ["topic"])
CONSUMER_LAG = Gauge("trendfolio_consumer_lag", "Messages not yet consumed", ["topic", "partition"])
BATCH_WRITE_SECONDS = Histogram(
    "trendfolio_batch_write_seconds",
    "Time to write one consumer batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DB_RETRIES = Counter("trendfolio_consumer_db_retries", "Batch writes retried after a DB error")
YAHOO_ERRORS = Counter("trendfolio_yahoo_errors", "Yahoo requests that failed", ["kind"])
YAHOO_RETRIES = Counter("trendfolio_yahoo_retries", "Yahoo requests retried")
STAGE_SECONDS = Histogram("trendfolio_stage_duration_seconds", "Stage wall time", ["stage"])

# --------------------------------------------------------------------------- stage pushes
# A stage pod exits right after its work, before any scrape: at the end of each stage its
# metrics go to a Prometheus Pushgateway (TRENDFOLIO_PUSHGATEWAY_URL), grouped by job and
# stage, so the last run of every stage stays visible until the next one replaces it.

PUSH_JOB = "trendfolio-stage"
# Families of the process registry that a stage's push carries along (no `stage` label: the
# grouping key adds it).
_PUSHED_FAMILIES = (
    "trendfolio_rows_collected",
    "trendfolio_yahoo_errors",
    "trendfolio_yahoo_retries",
)

log = logging.getLogger(__name__)


class _Families(Collector):
    """The named families of the process-wide registry, as they are now."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self._names = names

    def collect(self) -> Iterable[Metric]:
        return [m for m in REGISTRY.collect() if m.name in self._names]


@dataclass(frozen=True)
class StageOutcome:
    stage: str
    as_of: date
    duration_s: float
    rows: int = 0
    failed: bool = False
    finished_at: float = field(default_factory=time.time)


def stage_registry(outcome: StageOutcome) -> CollectorRegistry:
    """What one stage run pushes (every series gets job/stage from the grouping key)."""
    reg = CollectorRegistry(auto_describe=True)

    def gauge(name: str, doc: str, value: float) -> None:
        Gauge(name, doc, registry=reg).set(value)

    gauge("trendfolio_stage_last_run_timestamp_seconds", "When the stage last ended (Unix s)",
          outcome.finished_at)
    gauge("trendfolio_stage_last_duration_seconds", "Wall time of the stage's last run",
          outcome.duration_s)
    gauge("trendfolio_stage_last_failed", "1 when the stage's last run failed, else 0",
          1.0 if outcome.failed else 0.0)
    as_of_ts = datetime.combine(outcome.as_of, datetime.min.time(), UTC).timestamp()
    gauge("trendfolio_stage_last_as_of_timestamp_seconds",
          "As-of date (midnight UTC, Unix s) of the stage's last run", as_of_ts)
    if not outcome.failed:
        gauge("trendfolio_stage_last_success_timestamp_seconds",
              "When the stage last succeeded (Unix s)", outcome.finished_at)
        gauge("trendfolio_stage_last_success_as_of_timestamp_seconds",
              "As-of date (midnight UTC, Unix s) of the stage's last success", as_of_ts)
        gauge("trendfolio_stage_last_rows", "Rows the stage's last successful run wrote",
              float(outcome.rows))
        reg.register(_Families(_PUSHED_FAMILIES))
    return reg


def push_stage(gateway: str | None, outcome: StageOutcome, timeout_s: float = 10.0) -> bool:
    """Push a stage run's metrics; a failure to push is logged, never fails the stage.

    A success replaces the stage's whole group (PUT); a failure only adds/replaces its own
    series (POST), so the last *success* time stays visible for the freshness alert.
    """
    if not gateway:
        return False
    reg = stage_registry(outcome)
    key = {"stage": outcome.stage}
    try:
        if outcome.failed:
            pushadd_to_gateway(gateway, PUSH_JOB, reg, grouping_key=key, timeout=timeout_s)
        else:
            push_to_gateway(gateway, PUSH_JOB, reg, grouping_key=key, timeout=timeout_s)
    except OSError as exc:
        log.warning("could not push stage %s metrics to %s (TRENDFOLIO_PUSHGATEWAY_URL): %s",
                    outcome.stage, gateway, exc)
        return False
    return True
