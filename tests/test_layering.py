"""The floor plan, read from the imports: the domain library at the bottom, the services, the
Spark jobs and the DAGs on it, the application on top. Every import counts, lazy ones too."""

from __future__ import annotations

import ast
import re

import pytest

from tests.support.paths import REPO

# package → the folder it lives in, and the packages it may import (besides itself)
LAYERS: dict[str, tuple[str, frozenset[str]]] = {
    "trendfolio": ("lib/trendfolio", frozenset()),
    "trendfolio_collector": ("services/collector/trendfolio_collector", frozenset({"trendfolio"})),
    "trendfolio_consumer": ("services/consumer/trendfolio_consumer", frozenset({"trendfolio"})),
    "trendfolio_jobs": ("spark-jobs/trendfolio_jobs", frozenset({"trendfolio"})),
    "trendfolio_api": ("services/api/trendfolio_api", frozenset({"trendfolio"})),
    "trendfolio_dashboard": ("services/dashboard/trendfolio_dashboard", frozenset({"trendfolio"})),
    "trendfolio_dags": ("dags/trendfolio_dags", frozenset({"trendfolio"})),
}
OURS = frozenset({*LAYERS, "trendfolio_app"})
# a "module:function" string naming code to load at run time
TARGET = re.compile(r"""["']trendfolio\w*(\.\w+)*:\w+["']""")


def imported_packages(source: str) -> set[str]:
    """The top-level packages of ours that ``source`` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
              and getattr(node.func, "attr", getattr(node.func, "id", "")) in
              ("import_module", "__import__") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names = [node.args[0].value]
        else:
            continue
        found |= {n.split(".")[0] for n in names} & OURS
    return found


def violations(package: str) -> list[str]:
    folder, allowed = LAYERS[package]
    out = []
    for path in sorted((REPO / folder).rglob("*.py")):
        text = path.read_text()
        for other in sorted(imported_packages(text) - allowed - {package}):
            out.append(f"{path.relative_to(REPO)} imports {other}")
        out += [f"{path.relative_to(REPO)} names {m.group(0)}" for m in TARGET.finditer(text)]
    return out


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_each_layer_imports_only_what_is_below_it(package: str) -> None:
    assert violations(package) == []


def test_the_scan_sees_every_kind_of_import() -> None:
    source = '''
import trendfolio_jobs.allocation
from trendfolio_api.app import serve
def later():
    from trendfolio_app import cli
    importlib.import_module("trendfolio_collector.stages")
TARGET = "trendfolio_jobs.trending:run_trending"
'''
    assert imported_packages(source) == {
        "trendfolio_jobs", "trendfolio_api", "trendfolio_app", "trendfolio_collector",
    }
    assert TARGET.search(source)


def test_the_application_is_what_the_command_runs() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'trendfolio = "trendfolio_app.cli:main"' in pyproject
