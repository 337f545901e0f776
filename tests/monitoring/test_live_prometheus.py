"""A real Prometheus scrapes a running `trendfolio consume --metrics-port` and a Pushgateway that
real `trendfolio stage` runs pushed to; every dashboard query and alert rule about those
services then returns data, and the alerts whose conditions the test creates fire.

The conditions are real: a stage run for an old session (stale pipeline), a stage run that
fails (bad source), a poison message on a topic (dead letter). A running `trendfolio serve api`
answers a stream of good and bad requests, so the API latency and status queries have data too;
the API's two alerts (slow, 5xx share) need a slow or failing API and are covered by
`promtool test rules` instead."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.databases import create_database
from tests.support.kafka import Broker, Producer, commit_end_offsets
from tests.support.monitoring import (
    ALERTS,
    DASHBOARD,
    Prometheus,
    Server,
    free_port,
    http_get,
    start,
    start_prometheus,
)
from tests.support.paths import TRENDFOLIO

pytestmark = pytest.mark.kafka

AS_OF = "2026-08-20"  # a session long past: the freshness alert must fire for it
API_METRIC = "trendfolio_api_"
GRAFANA_VARS = {"$__rate_interval": "30s", "$__range": "10m", "$__interval": "5s"}


@dataclass
class World:
    prometheus: Prometheus
    consumer_metrics: str
    pushgateway: Server
    stage_logs: dict[str, str]


def _api_traffic(api: Server, seconds: float) -> None:
    """Good and bad requests for ``seconds`` (a 422 and 404s on an empty database)."""
    import urllib.error

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in ("/stocks/portfolio?period_days=20", "/stocks/portfolio?period_days=7",
                     "/dashboard/status"):
            with contextlib.suppress(urllib.error.HTTPError):
                http_get(api.url + path)
        time.sleep(0.05)


def _metric_value(text: str, name: str) -> float | None:
    m = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else None


async def _poison(bootstrap: str) -> None:
    async with Producer(bootstrap) as producer:
        fut = await producer.send_raw("etf-daily-data", b'{"schema_version": 1, "oops', b"SPY")
        await fut


def _stage(name: str, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TRENDFOLIO), *extra, "stage", name, "--date", AS_OF], env=env,
                          capture_output=True, text=True, timeout=300)


def _eventually(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def world(kafka: Broker, pg_server: Any, pushgateway: Server,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if not TRENDFOLIO.exists():
        pytest.skip(f"{TRENDFOLIO} missing: run `make install`")
    work = tmp_path_factory.mktemp("monitoring")
    db_url = asyncio.run(create_database(pg_server, "mon", migrated=True))
    group = f"monitoring-{uuid.uuid4().hex[:8]}"
    asyncio.run(commit_end_offsets(kafka.bootstrap, group))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
    env.update(
        TRENDFOLIO_KAFKA_BOOTSTRAP=kafka.bootstrap,
        TRENDFOLIO_DATABASE_URL=db_url,
        TRENDFOLIO_KAFKA_GROUP=group,
        TRENDFOLIO_HOME=str(work / "home"),
        TRENDFOLIO_SOURCE="sample",
        TRENDFOLIO_PUSHGATEWAY_URL=pushgateway.address,
    )
    port = free_port()
    consumer = start([str(TRENDFOLIO), "consume", "--metrics-port", str(port)],
                     f"127.0.0.1:{port}", work / "consumer.log", "/metrics", env=env, cwd=work)
    prometheus: Prometheus | None = None
    api: Server | None = None
    try:
        api_port = free_port()
        api = start([str(TRENDFOLIO), "serve", "api", "--host", "127.0.0.1", "--port",
                     str(api_port)], f"127.0.0.1:{api_port}", work / "api.log", "/metrics",
                    env=env, cwd=work)
        prometheus = start_prometheus(
            work,
            {"trendfolio-consumer": (consumer.address, False),
             "pushgateway": (pushgateway.address, True),
             "trendfolio-api": (api.address, False)},
            [ALERTS],
        )
        _eventually(lambda: len(prometheus.query('up == 1')) == 3, 30, "the three targets up")
        _api_traffic(api, 4)
        logs = {}
        ok = _stage("benchmark", env)
        logs["benchmark"] = ok.stderr[-3000:]
        assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr[-4000:]
        # a failing run: its source does not exist
        bad = _stage("sector", env, "--source", f"csv:{work / 'no-such-dir'}")
        logs["sector"] = bad.stderr[-3000:]
        assert bad.returncode != 0, bad.stdout + bad.stderr
        time.sleep(2)  # a few scrapes of dead_letters_total = 0 before the poison message
        asyncio.run(_poison(kafka.bootstrap))
        _eventually(
            lambda: (_metric_value(http_get(consumer.url + "/metrics").decode(),
                                   "trendfolio_dead_letters_total") or 0) >= 1,
            60, "the consumer to dead-letter the poison message")
        # the scrape after the dead letter, then one more rule evaluation
        _eventually(lambda: bool(prometheus.query("trendfolio_dead_letters_total > 0")), 30,
                    "Prometheus to scrape the dead letter")
        _api_traffic(api, 3)  # rates need two scrapes of the API's counters apart
        time.sleep(2)
        yield World(prometheus, consumer.url, pushgateway, logs)
    finally:
        if prometheus is not None:
            prometheus.server.stop()
        if api is not None:
            api.stop()
        consumer.stop()


def _dashboard_queries() -> list[tuple[str, str]]:
    dash = json.loads(DASHBOARD.read_text())
    out = []
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for var, value in GRAFANA_VARS.items():
                expr = expr.replace(var, value)
            out.append((panel["title"], expr))
    return out


def _alert_rules(prometheus: Prometheus) -> list[dict[str, Any]]:
    """The rules of alerts.yaml as the running Prometheus loaded them."""
    groups = prometheus.get("/api/v1/rules")["groups"]
    assert {g["file"] for g in groups} == {str(ALERTS)}
    return [{"alert": r["name"], "expr": r["query"]} for g in groups for r in g["rules"]]


def test_pushgateway_holds_the_stage_runs(world: World) -> None:
    text = http_get(world.pushgateway.url + "/metrics").decode()
    assert re.search(r'trendfolio_stage_last_success_timestamp_seconds\{[^}]*job="trendfolio-stage"'
                     r'[^}]*stage="benchmark"', text), text[-3000:]
    assert re.search(r'trendfolio_stage_last_failed\{[^}]*stage="sector"[^}]*\} 1', text)
    # the failed stage never succeeded: no success time for it
    assert not re.search(r'trendfolio_stage_last_success_timestamp_seconds\{[^}]*stage="sector"', text)


def test_every_dashboard_query_returns_data(world: World) -> None:
    empty = []
    checked = 0
    for title, expr in _dashboard_queries():
        checked += 1
        if not world.prometheus.query(expr):
            empty.append(f"{title}: {expr}")
    assert checked >= 14
    assert not empty, "queries without data:\n" + "\n".join(empty)


def test_stage_series_carry_job_and_stage_labels(world: World) -> None:
    rows = world.prometheus.query("trendfolio_stage_last_duration_seconds")
    assert {(r["metric"]["job"], r["metric"]["stage"]) for r in rows} == {
        ("trendfolio-stage", "benchmark"), ("trendfolio-stage", "sector")}
    (as_of,) = world.prometheus.query(
        'trendfolio_stage_last_success_as_of_timestamp_seconds{stage="benchmark"}')
    assert time.strftime("%Y-%m-%d", time.gmtime(float(as_of["value"][1]))) == AS_OF
    lag = world.prometheus.query('trendfolio_consumer_lag{job="trendfolio-consumer"}')
    assert lag and all(float(r["value"][1]) >= 0 for r in lag)


def test_alert_rules_return_data_and_fire_on_real_conditions(world: World) -> None:
    rules = {r["alert"]: r for r in _alert_rules(world.prometheus)}
    assert len(rules) == 6
    service_rules = {k: r for k, r in rules.items() if API_METRIC not in r["expr"]}
    assert set(service_rules) == {"TrendfolioPipelineStale", "TrendfolioStageFailed",
                                  "TrendfolioDeadLetters", "TrendfolioConsumerLag"}
    # conditions this test created: the expressions return the offending series
    stale = world.prometheus.query(rules["TrendfolioPipelineStale"]["expr"])
    assert {r["metric"]["stage"] for r in stale} == {"benchmark"}
    failed = world.prometheus.query(rules["TrendfolioStageFailed"]["expr"])
    assert {r["metric"]["stage"] for r in failed} == {"sector"}
    assert world.prometheus.query(rules["TrendfolioDeadLetters"]["expr"])
    # the consumer kept up: the lag alert's signal has data, its threshold is not crossed
    lag_expr = rules["TrendfolioConsumerLag"]["expr"]
    signal, threshold = lag_expr.rsplit(">", 1)
    assert world.prometheus.query(signal), signal
    assert float(threshold) == 1000 and not world.prometheus.query(lag_expr)
    # Prometheus itself evaluates the rule file: the created conditions are pending or firing
    _eventually(
        lambda: {a["labels"]["alertname"] for a in world.prometheus.get("/api/v1/alerts")["alerts"]}
        >= {"TrendfolioPipelineStale", "TrendfolioStageFailed", "TrendfolioDeadLetters"},
        20, "the alerts to be active in Prometheus")
