"""The alert rules and the dashboard as files: promtool checks and unit tests, dashboard shape."""

from __future__ import annotations

import json
import subprocess

from tests.support.monitoring import ALERT_TESTS, ALERTS, DASHBOARD, binary


def test_promtool_check_rules() -> None:
    proc = subprocess.run([binary("promtool"), "check", "rules", str(ALERTS)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 6 rules found" in proc.stdout


def test_promtool_test_rules() -> None:
    proc = subprocess.run([binary("promtool"), "test", "rules", str(ALERT_TESTS)],
                          capture_output=True, text=True, timeout=60, cwd=ALERT_TESTS.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_dashboard_covers_the_required_signals() -> None:
    dash = json.loads(DASHBOARD.read_text())
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    for metric in (
        "trendfolio_stage_last_success_as_of_timestamp_seconds",  # freshness per stage
        "trendfolio_stage_last_duration_seconds",  # stage durations
        "trendfolio_rows_collected_total",  # rows collected
        "trendfolio_consumer_lag",  # consumer lag
        "trendfolio_dead_letters_total",  # dead letters
        "trendfolio_yahoo_retries_total",  # Yahoo retries
        "trendfolio_api_request_seconds_bucket",  # API latency
    ):
        assert metric in exprs, metric
    for p in panels:  # every query goes through the dashboard's datasource variable
        assert p["datasource"]["uid"] == "${datasource}"
        assert all(t["datasource"]["uid"] == "${datasource}" for t in p["targets"])
