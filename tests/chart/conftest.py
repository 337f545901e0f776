"""Chart fixtures: each ci/*.yaml scenario rendered once with the pinned helm, and the Spark
operator's SparkApplication schema."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.chart import SCENARIOS, SPARK_OPERATOR_VERSION, Obj, Rendered, parse, template
from tests.support.paths import CHART, REPO, TOOLS


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
