"""SparkApplications (chart template and k8s/spark/) against the Spark operator's own CRD schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.support.chart import Rendered, parse, template
from tests.support.paths import CHART, REPO
from trendfolio.stages import PIPELINE as STAGES

pytestmark = pytest.mark.chart
SPARK_STAGES = [s.name for s in STAGES if s.kind == "spark"]
K8S_SPARK = REPO / "k8s" / "spark"
AS_OF, AS_OF_NODASH = "2026-08-20", "20260820"


def _fill(text: str) -> str:
    """What Airflow's Jinja does with the two templates the manifests use."""
    return text.replace("{{ ds_nodash }}", AS_OF_NODASH).replace("{{ ds }}", AS_OF)


def _templates(r: Rendered) -> dict[str, dict[str, Any]]:
    cm = r.named("ConfigMap", "tf-trendfolio-spark-applications")
    return {k.removesuffix(".yaml"): yaml.safe_load(_fill(v)) for k, v in cm["data"].items()}


def unknown_fields(obj: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Fields the schema does not declare: the API server's strict field validation."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    out = []
    if isinstance(obj, dict) and "properties" in schema:
        for key, value in obj.items():
            if key in schema["properties"]:
                out += unknown_fields(value, schema["properties"][key], f"{path}.{key}")
            elif not schema.get("additionalProperties"):
                out.append(f"{path}.{key}")
    elif isinstance(obj, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, value in obj.items():
            out += unknown_fields(value, schema["additionalProperties"], f"{path}.{key}")
    elif isinstance(obj, list) and "items" in schema:
        for i, value in enumerate(obj):
            out += unknown_fields(value, schema["items"], f"{path}[{i}]")
    return out


def check_against_crd(app: dict[str, Any], schema: dict[str, Any]) -> None:
    assert app["apiVersion"] == "sparkoperator.k8s.io/v1beta2" and app["kind"] == "SparkApplication"
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(app), key=str)
    assert not errors, "; ".join(f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors)
    # metadata is the API server's, not the CRD's: only its name and labels matter here
    spec_only = {k: v for k, v in app.items() if k != "metadata"}
    assert unknown_fields(spec_only, schema) == []


def test_the_chart_templates_validate_against_the_crd(
    scenario: Rendered, sparkapplication_schema: dict[str, Any]
) -> None:
    if "minimal" in scenario.scenario:
        assert not [c for c in scenario.of_kind("ConfigMap")
                    if c["metadata"]["name"].endswith("spark-applications")]
        return
    apps = _templates(scenario)
    assert sorted(apps) == sorted(SPARK_STAGES)
    for stage, app in apps.items():
        check_against_crd(app, sparkapplication_schema)
        spec = app["spec"]
        assert spec["arguments"] == ["stage", stage, "--date", AS_OF]
        assert spec["mainApplicationFile"] == "local:///opt/trendfolio/stage.py"
        assert app["metadata"]["name"].endswith(f"-{stage}-{AS_OF_NODASH}")
        for role in ("driver", "executor"):
            sc = spec[role]["securityContext"]
            assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
            assert spec[role]["podSecurityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
            assert spec[role]["memory"] and spec[role]["coreLimit"]
            assert spec[role]["labels"]["app.kubernetes.io/component"] == "spark"


def test_a_broken_application_is_caught(sparkapplication_schema: dict[str, Any]) -> None:
    """The checks can fail: a misspelt field and a wrong type are both reported."""
    app = yaml.safe_load((K8S_SPARK / "trending.yaml").read_text())
    app["spec"]["driver"]["memmory"] = "1g"
    with pytest.raises(AssertionError, match="memmory"):
        check_against_crd(app, sparkapplication_schema)
    app = yaml.safe_load((K8S_SPARK / "trending.yaml").read_text())
    app["spec"]["type"] = "Perl"
    with pytest.raises(AssertionError, match="type"):
        check_against_crd(app, sparkapplication_schema)


@pytest.mark.parametrize("stage", SPARK_STAGES)
def test_kubectl_manifests_validate_and_match_the_chart(
    stage: str, sparkapplication_schema: dict[str, Any]
) -> None:
    path = K8S_SPARK / f"{stage}.yaml"
    app = yaml.safe_load(path.read_text())
    check_against_crd(app, sparkapplication_schema)
    # the kubectl files are the chart's template for release "trendfolio" in "trendfolio"
    objects = parse(template("--set", "postgresql.enabled=true,kafka.enabled=true",
                             release="trendfolio").stdout)
    (cm,) = [o for o in objects if o["kind"] == "ConfigMap"
             and o["metadata"]["name"] == "trendfolio-spark-applications"]
    assert app == yaml.safe_load(_fill(cm["data"][f"{stage}.yaml"])), (
        f"{path} differs from the chart's template: regenerate it (see its header)"
    )


def test_the_application_file_is_the_trendfolio_cli(tmp_path: Path) -> None:
    """spark-submit runs stage.py with the SparkApplication's arguments: the real CLI answers."""
    entry = REPO / "spark-jobs" / "stage.py"
    env = {**os.environ, "TRENDFOLIO_HOME": str(tmp_path)}
    # 2026-08-22 is a Saturday: bad usage, exit 2, before any Spark or database work
    proc = subprocess.run([sys.executable, str(entry), "stage", "trending", "--date", "2026-08-22"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "2026-08-22" in proc.stderr, proc.stderr
    proc = subprocess.run([sys.executable, str(entry), "stage", "--help"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0 and "trending" in proc.stdout


def test_the_chart_image_for_spark_is_the_spark_jobs_image() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["images"]["spark"]["repository"].endswith("/spark-jobs")
    # the image's Spark is the locked PySpark (its spark-submit and jars)
    locked = (REPO / "requirements" / "spark-jobs.txt").read_text()
    assert f"\npyspark=={values['sparkApplications']['sparkVersion']} " in locked
