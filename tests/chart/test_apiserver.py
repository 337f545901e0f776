"""The chart installed for real: a kube-apiserver (built from its Go module) on Debian's etcd.

No controllers run, so nothing is scheduled: what is checked is admission. Every object the
chart renders is accepted by the API server with strict field validation, no object trips the
restricted Pod Security Standard (the namespace warns on it), the generated secrets survive a
`helm upgrade` (lookup), and the Spark operator's real CRD admits our SparkApplications.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.chart import HELM, SPARK_OPERATOR_VERSION
from tests.support.net import free_port
from tests.support.paths import CHART, REPO, TOOLS
from trendfolio.stages import PIPELINE as STAGES

pytestmark = pytest.mark.chart
KUBE_APISERVER = TOOLS / "bin" / "kube-apiserver"
NS = "trendfolio"
httpx = pytest.importorskip("httpx")


@dataclass
class Cluster:
    url: str
    token: str
    kubeconfig: Path

    def client(self) -> Any:
        return httpx.Client(base_url=self.url, verify=False, timeout=30,
                            headers={"Authorization": f"Bearer {self.token}"})

    def helm(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(HELM), *args, "--kubeconfig", str(self.kubeconfig)], capture_output=True,
            text=True, timeout=300,
            env={**os.environ, "HELM_CACHE_HOME": str(TOOLS / "helm-cache"),
                 "HELM_CONFIG_HOME": str(TOOLS / "helm-config"),
                 "HELM_DATA_HOME": str(TOOLS / "helm-data")},
        )


def _wait(proc: subprocess.Popen[bytes], ready: Any, what: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if ready():
                return
        except Exception:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} not ready in {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    etcd = shutil.which("etcd")
    if not KUBE_APISERVER.is_file() or not etcd or not HELM.is_file():
        pytest.skip("needs .tools/bin/kube-apiserver and helm (`scripts/tools.sh apiserver`) "
                    "and etcd (Debian etcd-server)")
    d = tmp_path_factory.mktemp("apiserver")
    client_port, peer_port, api_port = free_port(), free_port(), free_port()
    etcd_log, api_log = d / "etcd.log", d / "apiserver.log"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen(
            [etcd, "--data-dir", str(d / "etcd"), "--name", "default",
             "--listen-client-urls", f"http://127.0.0.1:{client_port}",
             "--advertise-client-urls", f"http://127.0.0.1:{client_port}",
             "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
             "--initial-cluster", f"default=http://127.0.0.1:{peer_port}",
             "--listen-metrics-urls", f"http://127.0.0.1:{free_port()}"],
            stdout=etcd_log.open("wb"), stderr=subprocess.STDOUT))
        _wait(procs[0], lambda: httpx.get(f"http://127.0.0.1:{client_port}/health").is_success,
              "etcd", etcd_log, 60)
        subprocess.run(["openssl", "genrsa", "-out", str(d / "sa.key"), "2048"], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "rsa", "-in", str(d / "sa.key"), "-pubout", "-out",
                        str(d / "sa.pub")], check=True, capture_output=True)
        token = secrets.token_hex(16)
        (d / "tokens.csv").write_text(f'{token},admin,admin,"system:masters"\n')
        procs.append(subprocess.Popen(
            [str(KUBE_APISERVER), f"--etcd-servers=http://127.0.0.1:{client_port}",
             "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
             f"--secure-port={api_port}", f"--cert-dir={d / 'certs'}",
             f"--token-auth-file={d / 'tokens.csv'}", "--authorization-mode=RBAC",
             "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
             f"--service-account-key-file={d / 'sa.pub'}",
             f"--service-account-signing-key-file={d / 'sa.key'}",
             "--service-cluster-ip-range=10.96.0.0/16", "--enable-priority-and-fairness=false",
             "--profiling=false", "--v=0"],
            stdout=api_log.open("wb"), stderr=subprocess.STDOUT))
        url = f"https://127.0.0.1:{api_port}"
        c = Cluster(url, token, d / "kubeconfig")
        _wait(procs[1], lambda: c.client().get("/readyz").is_success, "kube-apiserver",
              api_log, 180)
        c.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "t",
            "clusters": [{"name": "t", "cluster": {"server": url,
                                                   "insecure-skip-tls-verify": True}}],
            "users": [{"name": "admin", "user": {"token": token}}],
            "contexts": [{"name": "t", "context": {"cluster": "t", "user": "admin",
                                                   "namespace": NS}}],
        }))
        c.kubeconfig.chmod(0o600)
        yield c
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture(scope="module")
def installed(cluster: Cluster) -> Cluster:
    with cluster.client() as api:
        r = api.post("/api/v1/namespaces", json={
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted"}}})
        assert r.status_code == 201, r.text
    proc = cluster.helm("install", "trendfolio", str(CHART), "-n", NS, "--no-hooks",
                        "-f", str(REPO / "k8s" / "trendfolio-dev-values.yaml"),
                        # no Prometheus Operator CRDs in this API server
                        "--set", "metrics.serviceMonitor.enabled=false",
                        "--set", "metrics.prometheusRule.enabled=false")
    assert proc.returncode == 0, proc.stderr
    # the restricted profile warns on any workload whose pods it would refuse
    assert "PodSecurity" not in proc.stderr and "would violate" not in proc.stderr, proc.stderr
    # NOTES.txt tells how to run a stage by hand
    assert "create job --from=cronjob/trendfolio-stage-benchmark" in proc.stdout, proc.stdout
    return cluster


def _secret(api: Any, name: str) -> dict[str, str]:
    r = api.get(f"/api/v1/namespaces/{NS}/secrets/{name}")
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


def test_every_object_is_admitted(installed: Cluster) -> None:
    with installed.client() as api:
        for path, count in [
            (f"/apis/apps/v1/namespaces/{NS}/deployments", 3),
            (f"/apis/apps/v1/namespaces/{NS}/statefulsets", 2),
            (f"/apis/batch/v1/namespaces/{NS}/cronjobs", len(STAGES)),
            (f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies", 7),
            (f"/apis/networking.k8s.io/v1/namespaces/{NS}/ingresses", 1),
            (f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/roles", 2),
        ]:
            items = api.get(path).json()["items"]
            assert len(items) == count, f"{path}: {[i['metadata']['name'] for i in items]}"


def test_generated_passwords_survive_an_upgrade(installed: Cluster) -> None:
    with installed.client() as api:
        before = _secret(api, "trendfolio-postgresql")
        url_before = _secret(api, "trendfolio-secrets")
    proc = installed.helm("upgrade", "trendfolio", str(CHART), "-n", NS, "--no-hooks",
                          "-f", str(REPO / "k8s" / "trendfolio-dev-values.yaml"),
                          "--set", "metrics.serviceMonitor.enabled=false",
                          "--set", "metrics.prometheusRule.enabled=false",
                          "--set", "api.replicas=2")
    assert proc.returncode == 0, proc.stderr
    with installed.client() as api:
        assert _secret(api, "trendfolio-postgresql") == before
        assert _secret(api, "trendfolio-secrets") == url_before
        dep = api.get(f"/apis/apps/v1/namespaces/{NS}/deployments/trendfolio-api").json()
        assert dep["spec"]["replicas"] == 2


def test_the_spark_operator_crd_admits_our_sparkapplications(installed: Cluster) -> None:
    crd_file = (TOOLS / "crds" / f"spark-operator-{SPARK_OPERATOR_VERSION}"
                / "sparkoperator.k8s.io_sparkapplications.yaml")
    if not crd_file.is_file():
        pytest.skip("Spark operator CRDs absent: scripts/tools.sh crds")
    crd = yaml.safe_load(crd_file.read_text())
    with installed.client() as api:
        r = api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
        assert r.status_code in (201, 409), r.text
        name = crd["metadata"]["name"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            conds = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
                            ).json().get("status", {}).get("conditions") or []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conds):
                break
            time.sleep(0.5)
        base = f"/apis/sparkoperator.k8s.io/v1beta2/namespaces/{NS}/sparkapplications"
        time.sleep(1)  # discovery of the new group
        for stage in (s.name for s in STAGES if s.kind == "spark"):
            app = yaml.safe_load((REPO / "k8s" / "spark" / f"{stage}.yaml").read_text())
            r = api.post(base, params={"fieldValidation": "Strict"}, json=app)
            assert r.status_code == 201, r.text
        bad = yaml.safe_load((REPO / "k8s" / "spark" / "trending.yaml").read_text())
        bad["metadata"]["name"] = "typo"
        bad["spec"]["driver"]["memmory"] = "1g"
        r = api.post(base, params={"fieldValidation": "Strict"}, json=bad)
        assert r.status_code == 400 and 'unknown field \\"spec.driver.memmory\\"' in r.text, r.text
