"""The DAGs' own configuration: which runner, and what the pods and SparkApplications need.

Read from the environment of the Airflow scheduler/worker (the Airflow chart sets them; see
dags/README.md). The runner may also come from the Airflow Variable ``trendfolio_runner``; the
environment variable wins so that a deployment is reproducible from its manifests.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Runner = Literal["kubernetes", "local"]
RUNNERS: tuple[Runner, ...] = ("kubernetes", "local")
RUNNER_ENV = "TRENDFOLIO_AIRFLOW_RUNNER"
RUNNER_VARIABLE = "trendfolio_runner"


def _variable(key: str) -> str | None:
    try:
        from airflow.sdk import Variable

        value = Variable.get(key, default=None)
    except Exception:  # no metadata database / API while parsing: the environment decides
        return None
    return None if value is None else str(value)


def runner() -> Runner:
    raw = os.environ.get(RUNNER_ENV) or _variable(RUNNER_VARIABLE) or "kubernetes"
    value = raw.strip().lower()
    if value not in RUNNERS:
        raise ValueError(
            f"{RUNNER_ENV} (or Variable {RUNNER_VARIABLE}) is {raw!r}: use one of "
            + ", ".join(RUNNERS)
        )
    return value


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class KubernetesSettings:
    """What every stage pod and SparkApplication is built with (env ``TRENDFOLIO_K8S_*``)."""

    namespace: str
    image: str
    spark_image: str
    image_pull_policy: str
    service_account: str
    spark_service_account: str
    config_map: str
    secret: str
    in_cluster: bool
    spark_main: str
    spark_version: str

    @classmethod
    def from_env(cls) -> KubernetesSettings:
        return cls(
            namespace=_env("TRENDFOLIO_K8S_NAMESPACE", "trendfolio"),
            image=_env("TRENDFOLIO_K8S_IMAGE", "ghcr.io/trendfolio/collector:0.1.0"),
            spark_image=_env("TRENDFOLIO_K8S_SPARK_IMAGE", "ghcr.io/trendfolio/spark-jobs:0.1.0"),
            image_pull_policy=_env("TRENDFOLIO_K8S_IMAGE_PULL_POLICY", "IfNotPresent"),
            service_account=_env("TRENDFOLIO_K8S_SERVICE_ACCOUNT", "trendfolio-stage"),
            spark_service_account=_env("TRENDFOLIO_K8S_SPARK_SERVICE_ACCOUNT", "trendfolio-spark"),
            config_map=_env("TRENDFOLIO_K8S_CONFIGMAP", "trendfolio-config"),
            secret=_env("TRENDFOLIO_K8S_SECRET", "trendfolio-secrets"),
            in_cluster=_env("TRENDFOLIO_K8S_IN_CLUSTER", "true").lower() in ("1", "true", "yes"),
            spark_main=_env("TRENDFOLIO_K8S_SPARK_MAIN", "local:///opt/trendfolio/stage.py"),
            spark_version=_env("TRENDFOLIO_K8S_SPARK_VERSION", "4.3.0"),
        )


def local_command() -> str:
    """The ``trendfolio`` executable the local runner calls (env ``TRENDFOLIO_AIRFLOW_COMMAND``).

    Default: the one beside this interpreter (the Airflow virtualenv installs the package), else
    the one on PATH. The Spark stages need the ``spark`` extra, so on a laptop point it at the
    main virtualenv: ``TRENDFOLIO_AIRFLOW_COMMAND=$PWD/.venv/bin/trendfolio``.
    """
    configured = os.environ.get("TRENDFOLIO_AIRFLOW_COMMAND")
    if configured:
        return configured
    beside = Path(sys.executable).with_name("trendfolio")
    if beside.is_file():
        return str(beside)
    return shutil.which("trendfolio") or "trendfolio"
