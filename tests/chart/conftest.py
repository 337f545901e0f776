"""Chart fixtures: the pinned helm from `make tools`, each ci/*.yaml scenario rendered once."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "trendfolio"
TOOLS = REPO / ".tools"
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


@pytest.fixture(scope="session")
def rendered() -> dict[str, Rendered]:
    """Every ci/*.yaml scenario rendered once for the whole session."""
    out = {}
    for name in SCENARIOS:
        proc = template("-f", str(CHART / "ci" / name))
        out[name] = Rendered(name, parse(proc.stdout))
    return out


@pytest.fixture(params=SCENARIOS)
def scenario(request: pytest.FixtureRequest, rendered: dict[str, Rendered]) -> Rendered:
    return rendered[request.param]


@pytest.fixture(scope="session")
def sparkapplication_schema() -> Iterator[Obj]:
    """openAPIV3Schema of the Spark operator's published SparkApplication CRD (v1beta2).

    Taken from the kubeflow/spark-operator Go module (`scripts/tools.sh crds`), never written
    by hand; fetched here when `make tools` has not run yet and Go is at hand.
    """
    crd = (TOOLS / "crds" / f"spark-operator-{SPARK_OPERATOR_VERSION}"
           / "sparkoperator.k8s.io_sparkapplications.yaml")
    if not crd.is_file():
        go = shutil.which("go") or "/usr/local/go/bin/go"
        if not Path(go).is_file():
            pytest.skip(f"{crd} is absent and Go is not installed to fetch it (`make tools`)")
        subprocess.run(["bash", str(REPO / "scripts" / "tools.sh"), "crds"], check=True,
                       timeout=600, env={**os.environ, "GO": go})
    doc = yaml.safe_load(crd.read_text())
    assert doc["spec"]["group"] == "sparkoperator.k8s.io"
    (version,) = [v for v in doc["spec"]["versions"] if v["name"] == "v1beta2"]
    yield version["schema"]["openAPIV3Schema"]


def pod_specs(obj: Obj) -> list[Obj]:
    """The pod spec of a workload object (Deployment, StatefulSet, Job, CronJob), else none."""
    kind = obj["kind"]
    if kind in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
        return [obj["spec"]["template"]["spec"]]
    if kind == "CronJob":
        return [obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []
