"""The Helm chart, rendered by the pinned helm over every ci/*.yaml scenario."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.chart import (
    KUBE_VERSION,
    NAMESPACE,
    RELEASE,
    SCENARIOS,
    Rendered,
    helm,
    parse,
    pod_specs,
    template,
)
from tests.support.paths import CHART
from trendfolio.stages import PIPELINE as STAGES

pytestmark = pytest.mark.chart
FULL = f"{RELEASE}-trendfolio"
# Kinds served by CRDs (Prometheus Operator): checked field by field below instead.
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}
WORKLOADS = {"Deployment", "StatefulSet", "Job", "CronJob"}


@pytest.mark.parametrize("values", SCENARIOS)
def test_helm_lint_strict(values: str) -> None:
    proc = helm("lint", "--strict", str(CHART), "-f", str(CHART / "ci" / values),
                "--kube-version", KUBE_VERSION)
    assert "0 chart(s) failed" in proc.stdout


def test_no_database_given_is_refused_with_the_setting_named() -> None:
    proc = template(check=False)
    assert proc.returncode != 0
    assert "database.url" in proc.stderr and "postgresql.enabled" in proc.stderr


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ("unknownKey=1", "unknownKey"),
        ("api.replica=2", "replica"),  # a typo of api.replicas
        ("api.apiKey.enabled=true,api.apiKey.value=short", "value"),
        ("postgresql.password=short", "password"),
        ("config.weighting=magic", "weighting"),
        ("config.extraEnv.TRENDFOLIO_DATABASE_URL=postgresql://u:p@h/db", "extraEnv"),
        ("api.resources.limits=null", "limits"),
        ("kafka.image.tag=latest", "tag"),
    ],
)
def test_values_schema_is_strict(setting: str, needle: str) -> None:
    proc = template("--set", "postgresql.enabled=true,kafka.enabled=true", "--set", setting,
                    check=False)
    assert proc.returncode != 0, f"--set {setting} was accepted"
    assert "values don't meet the specifications of the schema" in proc.stderr
    assert needle in proc.stderr


def test_every_object_validates_strictly(scenario: Rendered) -> None:
    kinds = Counter(o["kind"] for o in scenario.objects)
    assert kinds["Deployment"] >= 2 and kinds["CronJob"] == len(STAGES)
    for obj in scenario.objects:
        if obj["kind"] in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(
                f"{scenario.scenario}: {obj['kind']} {obj['metadata']['name']}: {exc.message} "
                f"at {'.'.join(str(p) for p in exc.path)}"
            ) from None


def test_every_object_has_the_standard_labels(scenario: Rendered) -> None:
    for obj in scenario.objects:
        labels = obj["metadata"].get("labels", {})
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance",
                    "app.kubernetes.io/component", "app.kubernetes.io/managed-by",
                    "app.kubernetes.io/version", "app.kubernetes.io/part-of"):
            assert key in labels, f"{obj['kind']} {obj['metadata']['name']} lacks {key}"
    for dep in scenario.of_kind("Deployment") + scenario.of_kind("StatefulSet"):
        selector = dep["spec"]["selector"]["matchLabels"]
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items()


def test_every_container_is_restricted_with_requests_and_limits(scenario: Rendered) -> None:
    checked = 0
    for obj in scenario.objects:
        for pod in pod_specs(obj):
            where = f"{scenario.scenario}: {obj['kind']} {obj['metadata']['name']}"
            psc = pod["securityContext"]
            assert psc["runAsNonRoot"] is True, where
            assert psc["runAsUser"] > 0 and psc["runAsGroup"] > 0, where
            assert psc["seccompProfile"]["type"] == "RuntimeDefault", where
            assert pod.get("hostNetwork") is not True and pod.get("hostPID") is not True, where
            volumes = {v["name"]: v for v in pod.get("volumes", [])}
            for c in pod.get("initContainers", []) + pod["containers"]:
                sc = c["securityContext"]
                assert sc["runAsNonRoot"] is True, where
                assert sc["allowPrivilegeEscalation"] is False, where
                assert sc["readOnlyRootFilesystem"] is True, where
                assert sc.get("privileged") is not True, where
                assert sc["capabilities"]["drop"] == ["ALL"], where
                assert "add" not in sc["capabilities"], where
                assert sc["seccompProfile"]["type"] == "RuntimeDefault", where
                for part in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(c["resources"][part]), f"{where}: {part}"
                # a read-only root still needs a writable /tmp: an emptyDir
                tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
                assert tmp and "emptyDir" in volumes[tmp[0]["name"]], f"{where}: /tmp"
                checked += 1
    assert checked >= 7  # 2+ Deployments and the 5 stage CronJobs at least


def test_services_never_get_a_service_account_token(scenario: Rendered) -> None:
    for obj in scenario.objects:
        for pod in pod_specs(obj):
            assert pod["automountServiceAccountToken"] is False, obj["metadata"]["name"]


def _secret_values(r: Rendered) -> dict[str, str]:
    out = {}
    for s in r.of_kind("Secret"):
        for k, v in s.get("data", {}).items():
            out[f"{s['metadata']['name']}/{k}"] = base64.b64decode(v).decode()
        out.update({f"{s['metadata']['name']}/{k}": v for k, v in s.get("stringData", {}).items()})
    return out


def test_no_default_password_anywhere() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["postgresql"]["password"] == "" and values["postgresql"]["readonlyPassword"] == ""
    assert values["api"]["apiKey"]["value"] == "" and values["database"]["url"] == ""
    text = "\n".join(p.read_text() for p in (CHART / "templates").iterdir())
    for placeholder in ("changeme", "password123", "dev-secret-key", "postgres:postgres"):
        assert placeholder not in text.lower()


def test_generated_secrets_are_random_and_never_in_configmaps() -> None:
    dev = ["-f", str(CHART / "ci" / "dev-values.yaml")]
    first, second = (_secret_values(Rendered("dev", parse(template(*dev).stdout)))
                     for _ in range(2))
    generated = ["tf-trendfolio-postgresql/postgres-password",
                 "tf-trendfolio-postgresql/readonly-password", "tf-trendfolio-api-key/api-key"]
    for key in generated:
        assert re.fullmatch(r"[A-Za-z0-9]{32}", first[key]), key
        assert first[key] != second[key], f"{key} is the same on every install: a default"
    url = first["tf-trendfolio-secrets/TRENDFOLIO_DATABASE_URL"]
    assert first["tf-trendfolio-postgresql/postgres-password"] in url
    ro = first["tf-trendfolio-secrets/TRENDFOLIO_READONLY_DATABASE_URL"]
    assert ro.startswith("postgresql://trendfolio_reader:")
    objects = parse(template(*dev).stdout)
    configmaps = json.dumps([o for o in objects if o["kind"] == "ConfigMap"])
    assert "postgresql://" not in configmaps and "TRENDFOLIO_API_KEY" not in configmaps


def test_secret_values_are_all_set(scenario: Rendered) -> None:
    for key, value in _secret_values(scenario).items():
        assert value.strip(), f"{scenario.scenario}: {key} is empty"


def test_a_suspended_cronjob_per_stage(scenario: Rendered) -> None:
    cronjobs = {c["metadata"]["labels"]["trendfolio.io/stage"]: c
                for c in scenario.of_kind("CronJob")}
    assert list(cronjobs) == [s.name for s in STAGES]
    for stage in STAGES:
        cj = cronjobs[stage.name]
        assert cj["metadata"]["name"] == f"{FULL}-stage-{stage.name}"
        assert cj["spec"]["suspend"] is True
        pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        (c,) = pod["containers"]
        expected = "spark-jobs" if stage.kind == "spark" else "collector"
        assert re.search(rf"(^|/){expected}[:@]", c["image"]), c["image"]
        assert c["command"] == ["/bin/sh", "-c"]
        assert c["args"][0].startswith(f"exec trendfolio stage {stage.name} ")
        env = {e["name"]: e for e in c["env"]}
        assert "TRENDFOLIO_AS_OF_DATE" in env and "TRENDFOLIO_DATABASE_URL" in env


@pytest.mark.parametrize(
    ("as_of", "message"),
    [("2026-08-22", "2026-08-22"), ("2026-13-01", "2026-13-01")],
)
def test_cronjob_command_passes_the_as_of_date_to_the_cli(
    rendered: dict[str, Rendered], as_of: str, message: str, tmp_path: object
) -> None:
    """The CronJob's shell line, run by a real /bin/sh against the real `trendfolio`."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    cj = rendered["dev-values.yaml"].named("CronJob", f"{FULL}-stage-benchmark")
    line = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][0]
    env = {**os.environ, "TRENDFOLIO_AS_OF_DATE": as_of, "TRENDFOLIO_HOME": str(tmp_path),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("TRENDFOLIO_DATABASE_URL", None)
    proc = subprocess.run(["/bin/sh", "-c", line], capture_output=True, text=True, env=env,
                          timeout=120)
    # a Saturday and an impossible date are bad usage (exit 2) naming the date: the date arrived
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


def test_consumer_api_and_dashboard_deployments(scenario: Rendered) -> None:
    deployments = {d["metadata"]["labels"]["app.kubernetes.io/component"]: d
                   for d in scenario.of_kind("Deployment")}
    consumer_on = "minimal" not in scenario.scenario
    assert set(deployments) == ({"api", "dashboard"} | ({"consumer"} if consumer_on else set()))
    services = {s["metadata"]["name"]: s for s in scenario.of_kind("Service")}
    expected_args = {
        "consumer": ["--metrics-port", "9464", "--metrics-addr", "0.0.0.0"],
        "api": ["--host", "0.0.0.0", "--port", "8000"],
        "dashboard": ["--host", "0.0.0.0", "--port", "8050"],
    }
    for component, dep in deployments.items():
        (c,) = dep["spec"]["template"]["spec"]["containers"]
        assert c["args"] == expected_args[component]
        assert "command" not in c  # the image's ENTRYPOINT: the trendfolio command
        svc = services[dep["metadata"]["name"]]
        port_names = {p["name"] for p in c["ports"]}
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= port_names
        assert c["readinessProbe"]["httpGet"]["port"] in port_names
        env = {e["name"] for e in c["env"]}
        if component in ("api", "dashboard"):
            # readers get the read-only login only
            assert "TRENDFOLIO_READONLY_DATABASE_URL" in env
            assert "TRENDFOLIO_DATABASE_URL" not in env
        else:
            assert "TRENDFOLIO_DATABASE_URL" in env


def test_dashboard_ingress(scenario: Rendered) -> None:
    ingresses = scenario.of_kind("Ingress")
    if "minimal" in scenario.scenario:
        assert ingresses == []
        return
    (ing,) = ingresses
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": f"{FULL}-dashboard", "port": {"name": "http"}}
    svc = scenario.named("Service", f"{FULL}-dashboard")
    assert "http" in {p["name"] for p in svc["spec"]["ports"]}


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def _matches(pod_selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions) against pod labels."""
    if not _selects(pod_selector.get("matchLabels", {}), labels):
        return False
    for e in pod_selector.get("matchExpressions", []):
        op, key, values = e["operator"], e["key"], e.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def test_network_policies_deny_by_default_and_open_only_service_ports(scenario: Rendered) -> None:
    policies = scenario.of_kind("NetworkPolicy")
    deny = scenario.named("NetworkPolicy", f"{FULL}-default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress"] and "ingress" not in deny["spec"]
    for obj in scenario.of_kind("Deployment") + scenario.of_kind("StatefulSet"):
        labels = obj["spec"]["template"]["metadata"]["labels"]
        assert _matches(deny["spec"]["podSelector"], labels)
        allowing = [p for p in policies if p is not deny
                    and _matches(p["spec"]["podSelector"], labels)]
        assert allowing, f"{obj['metadata']['name']}: no policy lets anything in"
        ports = {p["name"] for c in obj["spec"]["template"]["spec"]["containers"]
                 for p in c.get("ports", [])} | {p["containerPort"] for c in
                 obj["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for p in allowing:
            for rule in p["spec"]["ingress"]:
                for port in rule["ports"]:
                    assert port["port"] in ports, f"{p['metadata']['name']} opens {port}"


def test_servicemonitor_scrapes_the_services(scenario: Rendered) -> None:
    monitors = scenario.of_kind("ServiceMonitor")
    if "minimal" in scenario.scenario:
        assert monitors == []
        return
    (sm,) = monitors
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    sel = sm["spec"]["selector"]
    (expr,) = sel["matchExpressions"]
    endpoints = {e["port"] for e in sm["spec"]["endpoints"]}
    assert all(e["path"] == "/metrics" for e in sm["spec"]["endpoints"])
    scraped = set()
    for svc in scenario.of_kind("Service"):
        labels = svc["metadata"]["labels"]
        if _selects(sel["matchLabels"], labels) and labels[expr["key"]] in expr["values"]:
            ports = {p["name"] for p in svc["spec"]["ports"]} & endpoints
            assert ports, f"{svc['metadata']['name']} is selected but exposes no scraped port"
            scraped.add(labels["app.kubernetes.io/component"])
    assert {"api", "dashboard"} <= scraped


def test_grafana_dashboard_configmap_and_alert_rules(scenario: Rendered) -> None:
    dashboards = sorted((CHART / "files" / "grafana").glob("*.json"))
    rules = sorted((CHART / "files" / "prometheus").glob("*.yaml"))
    cms = [c for c in scenario.of_kind("ConfigMap")
           if c["metadata"]["labels"].get("grafana_dashboard") == "1"]
    prs = scenario.of_kind("PrometheusRule")
    if "minimal" in scenario.scenario:
        assert cms == [] and prs == []
        return
    if not dashboards or not rules:
        pytest.skip("charts/trendfolio/files/{grafana,prometheus} are not delivered yet")
    (cm,) = cms
    assert sorted(cm["data"]) == [p.name for p in dashboards]
    for name, text in cm["data"].items():
        assert json.loads(text)["panels"], f"{name} has no panels"
    (pr,) = prs
    # rule files only (promtool test files beside them have no `groups`)
    groups = [g for p in rules for g in yaml.safe_load(p.read_text()).get("groups", [])]
    assert groups
    assert pr["spec"]["groups"] == groups
    assert all(r.get("expr") for g in groups for r in g["rules"])


def test_rbac_is_namespaced_and_lets_the_launcher_start_pods_and_spark(
    scenario: Rendered,
) -> None:
    kinds = {o["kind"] for o in scenario.objects}
    assert not kinds & {"ClusterRole", "ClusterRoleBinding"}
    role = scenario.named("Role", f"{FULL}-launcher")

    def allowed(group: str, resource: str, verb: str) -> bool:
        return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"]
                   for r in role["rules"])

    assert allowed("", "pods", "create") and allowed("", "pods/log", "get")
    assert allowed("sparkoperator.k8s.io", "sparkapplications", "create")
    assert not allowed("", "secrets", "get") and not any("*" in r["verbs"] for r in role["rules"])
    binding = scenario.named("RoleBinding", f"{FULL}-launcher")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": f"{FULL}-launcher"}
    subjects = {(s["name"], s.get("namespace")) for s in binding["subjects"]}
    assert (f"{FULL}-launcher", NAMESPACE) in subjects
    if "external" in scenario.scenario:
        assert ("airflow-scheduler", "airflow") in subjects
    accounts = {s["metadata"]["name"]: s for s in scenario.of_kind("ServiceAccount")}
    assert accounts[f"{FULL}-app"]["automountServiceAccountToken"] is False
    assert accounts[f"{FULL}-stage"]["automountServiceAccountToken"] is False


def test_configmap_carries_only_trendfolio_settings(scenario: Rendered) -> None:
    cm = scenario.named("ConfigMap", f"{FULL}-config")
    assert cm["data"] and all(k.startswith("TRENDFOLIO_") for k in cm["data"])
    from trendfolio.config import Settings

    fields = {f"TRENDFOLIO_{name.upper()}" for name in Settings.model_fields}
    # every setting the chart passes is one Settings reads (or a service's own: API/CORS)
    known = fields | {"TRENDFOLIO_API_URL", "TRENDFOLIO_CORS_ORIGINS", "TRENDFOLIO_PUSHGATEWAY_URL"}
    assert set(cm["data"]) <= known, set(cm["data"]) - known


def test_stage_and_spark_pods_may_reach_postgresql_and_kafka(
    rendered: dict[str, Rendered],
) -> None:
    r = rendered["dev-values.yaml"]
    cm = r.named("ConfigMap", f"{FULL}-spark-applications")
    app = yaml.safe_load(cm["data"]["trending.yaml"].replace("{{ ds_nodash }}", "x")
                         .replace("{{ ds }}", "2026-08-20"))
    spark_driver = {**app["spec"]["driver"]["labels"], "spark-role": "driver"}
    spark_executor = {**app["spec"]["executor"]["labels"], "spark-role": "executor"}
    stage_pod = r.named("CronJob", f"{FULL}-stage-holdings")["spec"]["jobTemplate"]["spec"][
        "template"]["metadata"]["labels"]
    api_pod = r.named("Deployment", f"{FULL}-api")["spec"]["template"]["metadata"]["labels"]
    stranger = {"app.kubernetes.io/name": "something-else"}
    for svc in ("postgresql", "kafka"):
        policy = r.named("NetworkPolicy", f"{FULL}-{svc}")
        (rule,) = policy["spec"]["ingress"]
        peers = [p["podSelector"] for p in rule["from"]]

        def allowed(labels: dict[str, str], peers: list[dict[str, Any]] = peers) -> bool:
            return any(_matches(p, labels) for p in peers)

        for labels in (spark_driver, spark_executor, stage_pod, api_pod):
            assert allowed(labels), f"{svc} refuses {labels}"
        assert not allowed(stranger)
    spark = r.named("NetworkPolicy", f"{FULL}-spark")
    assert _matches(spark["spec"]["podSelector"], spark_executor)
    assert _matches(spark["spec"]["ingress"][0]["from"][0]["podSelector"], spark_driver)
    assert not _matches(spark["spec"]["ingress"][0]["from"][0]["podSelector"], stranger)
