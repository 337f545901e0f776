"""Containers of the built images, run as the chart runs them: a numeric non-root user, a
read-only root filesystem, every capability dropped, no privilege escalation, and no network
but a loopback shared with the test's PostgreSQL container (``--network container:NAME``).
Writable paths are host folders mounted where the chart mounts its emptyDirs."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.paths import REPO

TRENDFOLIO_UID = 10001
POSTGRES_UID = 999
KAFKA_UID = 1000
AIRFLOW_UID = 50000


def engine() -> str | None:
    """podman, or docker when its engine answers; None when neither can run containers."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "info"], capture_output=True, check=False,
                                 timeout=30).returncode == 0:
        return docker
    return shutil.which("podman")


def app_version() -> str:
    for line in (REPO / "charts" / "trendfolio" / "Chart.yaml").read_text().splitlines():
        if line.startswith("appVersion:"):
            return line.split(":", 1)[1].strip().strip('"')
    raise AssertionError("Chart.yaml has no appVersion")


def kafka_version() -> str:
    pom = (REPO / "scripts" / "kafka" / "pom.xml").read_text()
    found = re.search(r"<kafka\.version>([0-9.]+)</kafka\.version>", pom)
    assert found, "scripts/kafka/pom.xml has no <kafka.version>"
    return found.group(1)


def image(name: str) -> str:
    """The tag `make images` (scripts/images.sh) gives image ``name``."""
    third_party = {"postgres": "trendfolio/postgres:15-bookworm",
                   "kafka": f"trendfolio/kafka:{kafka_version()}"}
    return third_party.get(name, f"trendfolio/{name}:{app_version()}")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Containers:
    """Starts containers with the chart's restrictions and removes every one at the end."""

    exe: str
    root: Path
    started: list[str] = field(default_factory=list)

    def scratch(self, name: str, uid: int) -> Path:
        """A host folder for a container's writable path (an emptyDir), owned by ``uid``."""
        path = self.root / f"{name}-{secrets.token_hex(3)}"
        path.mkdir(parents=True)
        os.chown(path, uid, uid)
        path.chmod(0o700)
        return path

    def _args(self, uid: int, network: str | None, mounts: dict[str, Path | str],
              env: dict[str, str], read_only_mounts: dict[Path, str]) -> list[str]:
        args = ["--user", f"{uid}:{uid}", "--read-only", "--cap-drop", "ALL",
                "--security-opt", "no-new-privileges",
                "--network", f"container:{network}" if network else "none"]
        for target, source in mounts.items():
            args += ["--volume", f"{source}:{target}:rw"]
        for source, target in read_only_mounts.items():
            args += ["--volume", f"{source}:{target}:ro"]
        for key, value in env.items():
            args += ["--env", f"{key}={value}"]
        return args

    def run(self, img: str, *command: str, uid: int = TRENDFOLIO_UID, network: str | None = None,
            mounts: dict[str, Path | str] | None = None, env: dict[str, str] | None = None,
            read_only_mounts: dict[Path, str] | None = None, entrypoint: str | None = None,
            timeout: float = 900) -> Run:
        """Run a container to its end and return what it printed."""
        args = self._args(uid, network, mounts or {}, env or {}, read_only_mounts or {})
        if entrypoint is not None:
            args += ["--entrypoint", entrypoint]
        proc = subprocess.run([self.exe, "run", "--rm", *args, img, *command],
                              capture_output=True, text=True, timeout=timeout, check=False)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def start(self, name: str, img: str, *command: str, uid: int = TRENDFOLIO_UID,
              network: str | None = None, mounts: dict[str, Path | str] | None = None,
              env: dict[str, str] | None = None,
              read_only_mounts: dict[Path, str] | None = None,
              entrypoint: str | None = None) -> str:
        """Start a container in the background; it is removed when the tests end."""
        full = f"tf-test-{name}-{secrets.token_hex(3)}"
        args = self._args(uid, network, mounts or {}, env or {}, read_only_mounts or {})
        if entrypoint is not None:
            args += ["--entrypoint", entrypoint]
        subprocess.run([self.exe, "run", "--detach", "--name", full, *args, img, *command],
                       capture_output=True, text=True, timeout=120, check=True)
        self.started.append(full)
        return full

    def exec(self, name: str, *command: str, timeout: float = 120) -> Run:
        proc = subprocess.run([self.exe, "exec", name, *command], capture_output=True,
                              text=True, timeout=timeout, check=False)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def logs(self, name: str) -> str:
        proc = subprocess.run([self.exe, "logs", name], capture_output=True, text=True,
                              timeout=60, check=False)
        return proc.stdout + proc.stderr

    def running(self, name: str) -> bool:
        proc = subprocess.run([self.exe, "inspect", "--format", "{{.State.Running}}", name],
                              capture_output=True, text=True, timeout=60, check=False)
        return proc.stdout.strip() == "true"

    def wait_for(self, name: str, *probe: str, timeout: float = 120) -> None:
        """Until ``probe`` (run inside the container) succeeds."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.exec(name, *probe)
            if got.returncode == 0:
                return
            if not self.running(name) or time.monotonic() > deadline:
                raise AssertionError(f"{name} not ready ({' '.join(probe)}): {got.stderr}\n"
                                     f"{self.logs(name)[-3000:]}")
            time.sleep(1)

    def remove_all(self) -> None:
        for name in reversed(self.started):
            subprocess.run([self.exe, "rm", "--force", "--time", "5", name],
                           capture_output=True, timeout=120, check=False)
        self.started.clear()


@contextmanager
def containers(exe: str, root: Path) -> Iterator[Containers]:
    made = Containers(exe, root)
    try:
        yield made
    finally:
        made.remove_all()


def http_get(c: Containers, name: str, url: str, headers: Sequence[str] = ()) -> tuple[int, str]:
    """GET ``url`` from inside container ``name`` (its loopback is the stack's)."""
    script = (
        "import sys, urllib.request, urllib.error\n"
        "req = urllib.request.Request(sys.argv[1])\n"
        "for h in sys.argv[2:]:\n"
        "    k, v = h.split(': ', 1); req.add_header(k, v)\n"
        "try:\n"
        "    r = urllib.request.urlopen(req, timeout=30); print(r.status); print(r.read().decode())\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(e.code); print(e.read().decode())\n"
    )
    got = c.exec(name, "python3", "-c", script, url, *headers)
    assert got.returncode == 0, got.stderr
    status, _, body = got.stdout.partition("\n")
    return int(status), body
