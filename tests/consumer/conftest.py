"""The consumer against a real Apache Kafka broker (the session's ``kafka``, tests/conftest.py)
and a real PostgreSQL.

``consumers``: starts ``trendfolio consume`` as a real subprocess that a test can ``kill -9``;
the consumer logs of a failed test are kept for a look.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.consumers import Consumers
from tests.support.kafka import Broker
from tests.support.paths import TRENDFOLIO


@pytest.fixture
def consumers(kafka: Broker, request: pytest.FixtureRequest) -> Iterator[Consumers]:
    if not TRENDFOLIO.exists():
        pytest.skip(f"{TRENDFOLIO} is missing (run `make install`)")
    workdir = Path(tempfile.mkdtemp(prefix="trendfolio-consume-"))
    group = f"test-{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"
    made = Consumers(kafka.bootstrap, workdir, group)
    try:
        yield made
    finally:
        made.stop_all()
        if request.node.stash.get(_FAILED, False):
            # keep the consumer logs of a failed test for a look
            sys.stderr.write(f"\nconsumer logs kept in {workdir}\n")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report
