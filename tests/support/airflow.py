"""The Airflow virtualenv (.venv-airflow, made by scripts/airflow-venv.sh) and the environment
its commands run in: a throw-away AIRFLOW_HOME (SQLite metadata) and the project's DAGs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.paths import AIRFLOW_VENV, DAGS

AIRFLOW_PYTHON = AIRFLOW_VENV / "bin" / "python"

RunProbe = Callable[..., dict[str, Any]]


def airflow_env(home: Path, runner: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "TRENDFOLIO_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(home / "logs"),
        # The dags-folder bundle puts the folder on sys.path; the probe loads DAGs directly.
        PYTHONPATH=str(DAGS),
        TRENDFOLIO_AIRFLOW_RUNNER=runner,
        PATH=f"{AIRFLOW_VENV / 'bin'}:{os.environ.get('PATH', '')}",
    )
    env.update(extra)
    return env
