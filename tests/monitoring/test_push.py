"""Stage metrics pushed to a real Pushgateway: a failure keeps the last success visible, and an
unreachable gateway never fails the stage."""

from __future__ import annotations

import re
import time
import uuid
from datetime import date

from tests.support.monitoring import Server, http_get
from tests.support.net import free_port
from trendfolio.metrics import PUSH_JOB, StageOutcome, push_stage


def _series(text: str, name: str, stage: str) -> float | None:
    m = re.search(rf'^{name}\{{[^}}]*stage="{stage}"[^}}]*\}} (\S+)$', text, re.M)
    return float(m.group(1)) if m else None


def test_failure_after_success_keeps_the_success_time(pushgateway: Server) -> None:
    stage = f"probe-{uuid.uuid4().hex[:6]}"  # its own group in the session's gateway
    ok = StageOutcome(stage, date(2026, 8, 20), 12.5, rows=42, finished_at=1_790_000_000.0)
    assert push_stage(pushgateway.address, ok)
    bad = StageOutcome(stage, date(2026, 8, 21), 3.0, failed=True, finished_at=1_790_090_000.0)
    assert push_stage(pushgateway.address, bad)
    text = http_get(pushgateway.url + "/metrics").decode()
    assert f'job="{PUSH_JOB}"' in text
    assert _series(text, "trendfolio_stage_last_success_timestamp_seconds", stage) == 1_790_000_000
    assert _series(text, "trendfolio_stage_last_rows", stage) == 42
    assert _series(text, "trendfolio_stage_last_failed", stage) == 1
    assert _series(text, "trendfolio_stage_last_run_timestamp_seconds", stage) == 1_790_090_000
    assert _series(text, "trendfolio_stage_last_duration_seconds", stage) == 3.0
    # the next success replaces the group: failed back to 0, new success time
    again = StageOutcome(stage, date(2026, 8, 24), 11.0, rows=40, finished_at=1_790_300_000.0)
    assert push_stage(pushgateway.address, again)
    text = http_get(pushgateway.url + "/metrics").decode()
    assert _series(text, "trendfolio_stage_last_failed", stage) == 0
    assert _series(text, "trendfolio_stage_last_success_timestamp_seconds", stage) == 1_790_300_000


def test_an_unreachable_gateway_is_logged_not_raised() -> None:
    closed = f"127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    assert push_stage(closed, StageOutcome("benchmark", date(2026, 8, 20), 1.0), timeout_s=2) is False
    assert time.monotonic() - started < 5
    assert push_stage(None, StageOutcome("benchmark", date(2026, 8, 20), 1.0)) is False
