"""Prometheus metrics (prefix ``trendfolio_``), defined once and shared by every process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
