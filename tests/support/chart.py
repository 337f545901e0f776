"""The Helm chart as the tests render it: the pinned helm from `make tools`, `helm template`
with the tested Kubernetes version, and the rendered objects."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import CHART, TOOLS

HELM = TOOLS / "bin" / "helm"
KUBE_VERSION = "1.31.0"
NAMESPACE = "trendfolio"
RELEASE = "tf"
SPARK_OPERATOR_VERSION = "v2.3.0"
SCENARIOS = sorted(p.name for p in (CHART / "ci").glob("*.yaml"))

Obj = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    scenario: str
    objects: list[Obj]

    def of_kind(self, kind: str) -> list[Obj]:
        return [o for o in self.objects if o["kind"] == kind]

    def named(self, kind: str, name: str) -> Obj:
        for o in self.of_kind(kind):
            if o["metadata"]["name"] == name:
                return o
        raise AssertionError(f"{self.scenario}: no {kind} {name!r}")


def helm_bin() -> Path:
    if not HELM.is_file():
        pytest.skip(f"{HELM} is absent: run `make tools` to build the pinned helm")
    return HELM


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(helm_bin()), *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, "HELM_CACHE_HOME": str(TOOLS / "helm-cache"),
             "HELM_CONFIG_HOME": str(TOOLS / "helm-config"),
             "HELM_DATA_HOME": str(TOOLS / "helm-data")},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def template(*extra: str, release: str = RELEASE, check: bool = True) -> subprocess.CompletedProcess[str]:
    return helm("template", release, str(CHART), "--namespace", NAMESPACE,
                "--kube-version", KUBE_VERSION, *extra, check=check)


def parse(text: str) -> list[Obj]:
    return [d for d in yaml.safe_load_all(text) if d]


def pod_specs(obj: Obj) -> list[Obj]:
    """The pod spec of a workload object (Deployment, StatefulSet, Job, CronJob), else none."""
    kind = obj["kind"]
    if kind in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
        return [obj["spec"]["template"]["spec"]]
    if kind == "CronJob":
        return [obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []
