"""Every pod and SparkApplication the kubernetes runner would create, rendered by a dry run for
a real session and validated: pods with kubernetes-validate --strict (the Kubernetes OpenAPI
schema), the SparkApplications' embedded Kubernetes types the same way, plus their contract."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.airflow import RunProbe
from tests.support.paths import AIRFLOW_VENV

pytestmark = pytest.mark.airflow

DS = "2026-08-20"
K8S_VERSION = "1.33.0"
POD_TASKS = {"trendfolio_daily.benchmark", "trendfolio_daily.sector", "trendfolio_daily.holdings",
             "trendfolio_weekly_holdings.etf_holdings"}
SPARK_TASKS = {"trendfolio_daily.trending", "trendfolio_daily.allocation",
               "trendfolio_daily.monthly"}


@pytest.fixture(scope="module")
def rendered(probe: RunProbe) -> dict[str, Any]:
    return probe("render", DS, runner="kubernetes")


def _kubernetes_validate(objects: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    files = []
    for key, obj in objects.items():
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(obj))
        files.append(str(path))
    proc = subprocess.run(
        [str(AIRFLOW_VENV / "bin" / "kubernetes-validate"), "--strict", "-k", K8S_VERSION,
         "--quiet", *files],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _assert_restricted(container_sc: dict[str, Any], pod_sc: dict[str, Any]) -> None:
    assert container_sc["runAsNonRoot"] is True
    assert container_sc["allowPrivilegeEscalation"] is False
    assert container_sc["readOnlyRootFilesystem"] is True
    assert container_sc["capabilities"]["drop"] == ["ALL"]
    assert container_sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod_sc["runAsNonRoot"] is True and pod_sc["runAsUser"] != 0
    assert pod_sc["seccompProfile"]["type"] == "RuntimeDefault"


def test_every_stage_pod_is_valid_and_restricted(rendered: dict[str, Any], tmp_path: Path) -> None:
    pods = rendered["pods"]
    assert set(pods) == POD_TASKS  # the collector stages
    _kubernetes_validate(pods, tmp_path)
    for key, pod in pods.items():
        stage = pod["metadata"]["labels"]["trendfolio.io/stage"]
        assert key.endswith(stage.replace("-", "_"))
        (container,) = pod["spec"]["containers"]
        assert container["command"] == ["trendfolio"]
        assert container["args"] == ["stage", stage, "--date", DS]  # the as-of date, rendered
        _assert_restricted(container["securityContext"], pod["spec"]["securityContext"])
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert pod["spec"]["restartPolicy"] == "Never"  # Airflow owns the retries
        assert pod["spec"]["automountServiceAccountToken"] is False
        refs = [next(iter(e.values()))["name"] for e in container["envFrom"]]
        assert refs == ["trendfolio-config", "trendfolio-secrets"]
        # a read-only root filesystem still needs a writable TRENDFOLIO_HOME
        assert {"name": "TRENDFOLIO_HOME", "value": "/tmp/trendfolio"} in container["env"]
        assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]


def _pod_of(app: dict[str, Any], role: str) -> dict[str, Any]:
    """A Pod built from a SparkApplication's driver/executor fields (Kubernetes core types)."""
    part = app["spec"][role]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{app['metadata']['name']}-{role}", "labels": part["labels"]},
        "spec": {
            "securityContext": part["podSecurityContext"],
            "serviceAccountName": part.get("serviceAccount"),
            "volumes": app["spec"]["volumes"],
            "containers": [{
                "name": f"spark-kubernetes-{role}",
                "image": app["spec"]["image"],
                "imagePullPolicy": app["spec"]["imagePullPolicy"],
                "securityContext": part["securityContext"],
                "env": part["env"],
                "envFrom": part["envFrom"],
                "volumeMounts": part["volumeMounts"],
            }],
        },
    }


def test_every_spark_application_is_rendered_for_the_session(
    rendered: dict[str, Any], tmp_path: Path
) -> None:
    apps = rendered["spark_applications"]
    assert set(apps) >= SPARK_TASKS  # plus the ETF analytics when this trendfolio has them
    embedded = {}
    for key, doc in apps.items():
        app = doc["body"]
        stage = app["metadata"]["labels"]["trendfolio.io/stage"]
        assert key.endswith(stage.replace("-", "_"))
        assert app["apiVersion"] == "sparkoperator.k8s.io/v1beta2"
        assert app["kind"] == "SparkApplication"
        assert app["metadata"]["namespace"] == "trendfolio"
        assert app["metadata"]["name"].startswith(f"trendfolio-{stage}-{DS.replace('-', '')}")
        spec = app["spec"]
        assert spec["type"] == "Python" and spec["mode"] == "cluster"
        assert spec["mainApplicationFile"].startswith("local:///")
        assert spec["arguments"] == ["stage", stage, "--date", DS]
        assert spec["restartPolicy"] == {"type": "Never"}
        assert spec["driver"]["serviceAccount"]
        for role in ("driver", "executor"):
            part = spec[role]
            assert part["cores"] >= 1 and part["memory"] and part["coreLimit"]
            _assert_restricted(part["securityContext"], part["podSecurityContext"])
            embedded[f"{key}.{role}"] = _pod_of(app, role)
        assert "{{" not in json.dumps(app)  # nothing left unrendered
    _kubernetes_validate(embedded, tmp_path)
