"""The package as a user installs it: the wheel built from this checkout, installed (not
editable) into a fresh virtualenv with the locked dependencies, imports every module of every
package and starts every entrypoint the images run."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.paths import REPO

PACKAGES = ("trendfolio", "trendfolio_app", "trendfolio_collector", "trendfolio_consumer",
            "trendfolio_jobs", "trendfolio_api", "trendfolio_dashboard")
# what the images and the chart run (the ENTRYPOINTs and the Spark application file)
ENTRYPOINTS = (
    ["trendfolio", "--help"],
    ["trendfolio", "stage", "--help"],
    ["trendfolio", "consume", "--help"],
    ["trendfolio", "serve", "--help"],
    ["trendfolio", "db", "migrate", "--help"],
    ["python", "-m", "trendfolio_app", "--help"],
    ["python", str(REPO / "spark-jobs" / "stage.py"), "--help"],
)


def run(*cmd: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd,
                          timeout=900, check=False)
    assert proc.returncode == 0, f"{cmd}: {proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--wheel-dir", out, REPO)
    (built,) = out.glob("trendfolio-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv") / "v"
    run(sys.executable, "-m", "venv", root)
    pip = [root / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-deps",
           "--disable-pip-version-check"]
    run(*pip, "--require-hashes", "-r", REPO / "requirements" / "laptop.txt")
    run(*pip, wheel)
    return root


def modules_in(wheel: Path) -> list[str]:
    names = []
    for name in zipfile.ZipFile(wheel).namelist():
        if name.endswith(".py") and name.split("/")[0] in PACKAGES:
            module = name[:-3].replace("/", ".").removesuffix(".__init__")
            if not module.endswith("__main__"):
                names.append(module)
    return sorted(names)


def test_the_wheel_holds_every_module_of_the_checkout(wheel: Path) -> None:
    folders = {"trendfolio": "lib", "trendfolio_app": "app",
               "trendfolio_collector": "services/collector",
               "trendfolio_consumer": "services/consumer", "trendfolio_jobs": "spark-jobs",
               "trendfolio_api": "services/api", "trendfolio_dashboard": "services/dashboard"}
    in_tree = sorted(
        str(p.relative_to(REPO / folder).with_suffix("")).replace("/", ".").removesuffix(
            ".__init__")
        for package, folder in folders.items()
        for p in (REPO / folder / package).rglob("*.py")
        if p.name != "__main__.py"
    )
    assert modules_in(wheel) == in_tree
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("trendfolio/db/migrations/") and n.endswith(".sql") for n in names)
    assert "trendfolio/data/universes/seed.csv" in names
    assert any(n.startswith("trendfolio_dashboard/assets/") for n in names)


def test_every_module_imports_from_the_installed_wheel(wheel: Path, venv: Path) -> None:
    modules = modules_in(wheel)
    probe = (
        "import importlib, sys\n"
        "for m in sys.argv[1:]:\n"
        "    mod = importlib.import_module(m)\n"
        "    assert '/site-packages/' in mod.__file__, (m, mod.__file__)\n"
        "print(len(sys.argv) - 1)\n"
    )
    # from outside the checkout, so nothing is imported from the source tree
    out = run(venv / "bin" / "python", "-c", probe, *modules, cwd=venv)
    assert int(out) == len(modules) > 60


@pytest.mark.parametrize("entry", ENTRYPOINTS, ids=lambda e: " ".join(e[:3]))
def test_every_entrypoint_starts(venv: Path, entry: list[str]) -> None:
    exe = venv / "bin" / entry[0]
    out = run(exe, *entry[1:], cwd=venv)
    assert "usage:" in out
