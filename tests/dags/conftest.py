"""Airflow runs in its own virtualenv (.venv-airflow, made by scripts/airflow-venv.sh): these
tests drive it through subprocesses (tests/dags/airflow_probe.py, the `airflow` CLI) with a
throw-away AIRFLOW_HOME (SQLite metadata) and skip with a reason when it is absent."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.airflow import AIRFLOW_PYTHON, RunProbe, airflow_env
from tests.support.paths import AIRFLOW_VENV

PROBE = Path(__file__).with_name("airflow_probe.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if AIRFLOW_PYTHON.exists():
        return
    skip = pytest.mark.skip(
        reason=f"no Airflow virtualenv at {AIRFLOW_VENV}: run scripts/airflow-venv.sh"
    )
    for item in items:
        if "airflow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def airflow_home() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="trendfolio-airflow-"))
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def probe(airflow_home: Path) -> RunProbe:
    """Run airflow_probe.py in .venv-airflow; return its JSON document."""

    def run(*args: str, runner: str = "kubernetes", **extra: str) -> dict[str, Any]:
        proc = subprocess.run(
            [str(AIRFLOW_PYTHON), str(PROBE), *args],
            env=airflow_env(airflow_home, runner, **extra),
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("PROBE-JSON ")]
        assert proc.returncode == 0 and lines, (
            f"probe {args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
        doc: dict[str, Any] = json.loads(lines[-1].removeprefix("PROBE-JSON "))
        return doc

    return run
