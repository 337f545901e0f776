#!/usr/bin/env python3
"""Development services: a real PostgreSQL and a real Apache Kafka broker on 127.0.0.1.

    .venv/bin/python scripts/devservices.py up|down|status [--home DIR]

``--home`` defaults to ``$TRENDFOLIO_HOME`` or ``./.trendfolio``. Layout under it::

    services/postgres/       trendfolio.db.server.PgServer root (data/, server.log, secret.json)
    services/kafka/          server.properties, log4j2.properties, state.json (cluster id and
                             the two ports, kept across restarts), kafka.pid, kafka.log, data/
    services.env             TRENDFOLIO_DATABASE_URL=... and TRENDFOLIO_KAFKA_BOOTSTRAP=... (0600)

The Kafka jars come from Maven Central through ``scripts/kafka/pom.xml`` (which names the Kafka
version) and are cached in ``.tools/kafka/<version>/libs`` at the repository root (fetched again
when pom.xml changes).

Stdlib only (PostgreSQL comes through ``trendfolio.db.server``). Import-safe: tests load this file
with importlib and call :func:`start_kafka`, :func:`stop_kafka`, :func:`restart_kafka`,
:func:`kafka_pid`, :func:`up` and :func:`down`.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
POM = REPO / "scripts" / "kafka" / "pom.xml"
TOOLS = REPO / ".tools" / "kafka"

KAFKA_HEAP = "-Xmx512m"
KAFKA_START_TIMEOUT = 120.0
KAFKA_STOP_TIMEOUT = 60.0
_LOG_ROTATE_BYTES = 32 * 1024 * 1024

# Popen objects of brokers started by this process, so that they can be reaped (no zombies).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class DevServiceError(RuntimeError):
    """A development service could not be fetched, started or stopped."""


# --------------------------------------------------------------------------- paths and helpers


def home_dir(home: str | os.PathLike[str] | None = None) -> Path:
    raw = home or os.environ.get("TRENDFOLIO_HOME") or "./.trendfolio"
    return Path(raw).expanduser().resolve()


def _kafka_dir(home: Path) -> Path:
    return Path(home).resolve() / "services" / "kafka"


def _pg_root(home: Path) -> Path:
    return Path(home).resolve() / "services" / "postgres"


def env_file(home: Path) -> Path:
    return Path(home).resolve() / "services.env"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (serialises concurrent ``up``/``down`` calls)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` atomically with ``mode``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # Maven 3.8 colours even in batch mode


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _process_alive(pid: int) -> bool:
    """True while ``pid`` runs; reaps it when it is our own exited child."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _CHILDREN.pop(pid, None)
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # the state letter follows the parenthesised command name
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


# --------------------------------------------------------------------------- Kafka jars


def kafka_version() -> str:
    """The Kafka version pinned in ``scripts/kafka/pom.xml``."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    try:
        node = ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns)
    except (OSError, ET.ParseError) as exc:
        raise DevServiceError(f"cannot read the Kafka version from {POM}: {exc}") from exc
    if node is None or not (node.text or "").strip():
        raise DevServiceError(f"{POM} has no <kafka.version> property")
    return (node.text or "").strip()


def kafka_libs(version: str | None = None) -> Path:
    version = version or kafka_version()
    return TOOLS / version / "libs"


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def _jars_present(libs: Path, version: str) -> bool:
    """The cache holds this version's broker jar, fetched with the current pom.xml."""
    try:
        stamp = (libs / ".pom.sha256").read_text().strip()
    except OSError:
        return False
    return (libs / f"kafka_2.13-{version}.jar").is_file() and stamp == _pom_digest()


def ensure_kafka_jars() -> Path:
    """Fetch the broker jars with Maven into ``.tools/kafka/<version>/libs`` unless cached."""
    version = kafka_version()
    libs = kafka_libs(version)
    if _jars_present(libs, version):
        return libs
    target = libs.parent
    target.mkdir(parents=True, exist_ok=True)
    with _locked(target / ".lock"):
        if _jars_present(libs, version):
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise DevServiceError(
                "Maven (mvn) is not on PATH: it is needed once to fetch the Kafka "
                f"{version} jars into {libs} (run scripts/ci-system-deps.sh as root)"
            )
        staging = Path(tempfile.mkdtemp(dir=target, prefix="libs.partial-"))
        log = target / "mvn.log"
        cmd = [
            mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(POM),
            "dependency:copy-dependencies", f"-DoutputDirectory={staging}",
        ]
        try:
            with log.open("wb") as out:
                proc = subprocess.run(
                    cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    timeout=1800, check=False,
                )
            if proc.returncode != 0 or not (staging / f"kafka_2.13-{version}.jar").is_file():
                raise DevServiceError(
                    f"Maven could not fetch the Kafka {version} jars (exit {proc.returncode}; "
                    f"command: {' '.join(cmd)}; log: {log}):\n{_tail(log)}"
                )
            (staging / ".pom.sha256").write_text(_pom_digest() + "\n")
            os.chmod(staging, 0o755)  # mkdtemp made it 0700
            if libs.exists():  # fetched with an older pom.xml
                shutil.rmtree(libs)
            staging.rename(libs)
        except subprocess.TimeoutExpired as exc:
            raise DevServiceError(
                f"Maven timed out fetching the Kafka {version} jars (log: {log}):\n{_tail(log)}"
            ) from exc
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return libs


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise DevServiceError(
            "java is not on PATH (Kafka needs Java 17+; run scripts/ci-system-deps.sh as root)"
        )
    return found


# --------------------------------------------------------------------------- Kafka config


def _cluster_id() -> str:
    """A KRaft cluster id: a random UUID in URL-safe base64 that does not start with '-'.

    (One in 64 would, and the storage tool's argument parser takes it for an option.)
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _kafka_state(kdir: Path) -> dict[str, Any]:
    """Cluster id and ports, created once and kept so the bootstrap address survives restarts."""
    path = kdir / "state.json"
    if path.exists():
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    port, controller_port = _free_ports(2)
    data = {
        "cluster_id": _cluster_id(),
        "port": port,
        "controller_port": controller_port,
    }
    _write_private(path, json.dumps(data, indent=2) + "\n", 0o644)
    return data


def _server_properties(kdir: Path, state: dict[str, Any]) -> str:
    port, cport = int(state["port"]), int(state["controller_port"])
    return "\n".join(
        [
            "# Written by scripts/devservices.py on every start: edit that file, not this one.",
            "node.id=1",
            "process.roles=broker,controller",
            f"controller.quorum.voters=1@127.0.0.1:{cport}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={kdir / 'data'}",
            "num.partitions=3",
            "default.replication.factor=1",
            "min.insync.replicas=1",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "auto.create.topics.enable=false",
            "group.initial.rebalance.delay.ms=0",
            "log.retention.hours=168",
            "",
        ]
    )


_LOG4J2 = """\
# Written by scripts/devservices.py: the broker logs to stdout, which goes to kafka.log.
status = warn
name = trendfolio-dev-kafka
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
"""


def _write_kafka_config(kdir: Path, state: dict[str, Any]) -> tuple[Path, Path]:
    props = kdir / "server.properties"
    log4j = kdir / "log4j2.properties"
    _write_private(props, _server_properties(kdir, state), 0o644)
    _write_private(log4j, _LOG4J2, 0o644)
    return props, log4j


def _java_base(java: str, libs: Path, log4j: Path) -> list[str]:
    return [
        java, "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={log4j}",
        "-cp", f"{libs}/*",
    ]


def _format_storage(kdir: Path, state: dict[str, Any], base: list[str], props: Path) -> None:
    data = kdir / "data"
    if (data / "meta.properties").exists():
        return
    log = kdir / "format.log"
    cmd = [
        *base, "-Xmx256m", "kafka.tools.StorageTool", "format",
        f"--cluster-id={state['cluster_id']}", "-c", str(props), "--ignore-formatted",
    ]
    with log.open("wb") as out:
        proc = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=kdir, timeout=120, check=False,
        )
    if proc.returncode != 0 or not (data / "meta.properties").exists():
        raise DevServiceError(
            f"formatting the Kafka storage in {data} failed (exit {proc.returncode}; "
            f"log: {log}):\n{_tail(log)}"
        )


# --------------------------------------------------------------------------- Kafka readiness


def _read_exact(sock: socket.socket, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        buf += chunk
    return bytes(buf)


def _metadata(port: int, timeout: float = 3.0) -> tuple[list[tuple[int, str, int]], int]:
    """One Metadata v4 request (kept by Kafka 3.x and 4.x): (brokers, controller id)."""
    client = b"trendfolio-devservices"
    request = struct.pack(">hhih", 3, 4, 1, len(client)) + client + struct.pack(">ib", -1, 0)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _read_exact(sock, 4))
        body = _read_exact(sock, size)
    pos = 8  # correlation id, throttle time

    def take(fmt: str) -> Any:
        nonlocal pos
        value = struct.unpack_from(fmt, body, pos)[0]
        pos += struct.calcsize(fmt)
        return value

    def string() -> str | None:
        nonlocal pos
        length = take(">h")
        if length < 0:
            return None
        value = body[pos : pos + length].decode()
        pos += length
        return value

    brokers = []
    for _ in range(take(">i")):
        node_id, host, bport = take(">i"), string(), take(">i")
        string()  # rack
        brokers.append((node_id, host or "", bport))
    string()  # cluster id
    return brokers, take(">i")


def _broker_ready(port: int) -> bool:
    try:
        brokers, controller = _metadata(port)
    except (OSError, ConnectionError, struct.error, UnicodeDecodeError):
        return False
    # a KRaft broker lists itself only once it is registered and unfenced
    return controller >= 0 and any(p == port for _, _, p in brokers)


# --------------------------------------------------------------------------- Kafka lifecycle


def kafka_pid(home: str | os.PathLike[str]) -> int | None:
    """PID of this home's running broker, or None (a stale PID file is ignored)."""
    kdir = _kafka_dir(Path(home))
    try:
        pid = int((kdir / "kafka.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    if not _process_alive(pid):
        return None
    cmd = _cmdline(pid)
    if "kafka.Kafka" not in cmd or str(kdir / "server.properties") not in cmd:
        return None  # the PID was reused by something else
    return pid


def kafka_bootstrap(home: str | os.PathLike[str]) -> str | None:
    path = _kafka_dir(Path(home)) / "state.json"
    if not path.exists():
        return None
    return f"127.0.0.1:{int(json.loads(path.read_text())['port'])}"


def _rotate(log: Path) -> None:
    with contextlib.suppress(OSError):
        if log.stat().st_size > _LOG_ROTATE_BYTES:
            os.replace(log, log.with_name(log.name + ".1"))


def _wait_port_free(ports: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        busy = [p for p in ports if not _port_free(p)]
        if not busy or time.monotonic() >= deadline:
            return busy
        time.sleep(0.2)


def start_kafka(
    home: str | os.PathLike[str],
    *,
    timeout: float = KAFKA_START_TIMEOUT,
    reassign_busy_ports: bool = False,
) -> str:
    """Start this home's KRaft broker unless it runs; wait until it serves metadata.

    Returns the bootstrap address ``127.0.0.1:<port>``, the same across restarts. When a stored
    port is taken by another program, fail (or, with ``reassign_busy_ports``, pick new ports).
    """
    kdir = _kafka_dir(Path(home))
    kdir.mkdir(parents=True, exist_ok=True)
    log = kdir / "kafka.log"
    with _locked(kdir / ".lock"):
        state = _kafka_state(kdir)
        port = int(state["port"])
        pid = kafka_pid(home)
        if pid is not None:
            _wait_ready(None, pid, port, log, timeout)
            return f"127.0.0.1:{port}"

        libs = ensure_kafka_jars()
        busy = _wait_port_free([port, int(state["controller_port"])], 5.0)
        if busy and reassign_busy_ports:
            state["port"], state["controller_port"] = _free_ports(2)
            _write_private(kdir / "state.json", json.dumps(state, indent=2) + "\n", 0o644)
            port = int(state["port"])
        elif busy:
            raise DevServiceError(
                f"Kafka port(s) {busy} on 127.0.0.1 are in use by another program; stop it, "
                f"or remove {kdir / 'state.json'} to pick new ports"
            )
        props, log4j = _write_kafka_config(kdir, state)
        base = _java_base(_java(), libs, log4j)
        _format_storage(kdir, state, base, props)

        _rotate(log)
        with log.open("ab") as out:
            out.write(f"\n=== devservices: starting Kafka at {time.ctime()} ===\n".encode())
            out.flush()
            proc = subprocess.Popen(
                [*base, KAFKA_HEAP, "-Xms256m", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
                 "kafka.Kafka", str(props)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=kdir, start_new_session=True, close_fds=True,
            )
        _CHILDREN[proc.pid] = proc
        _write_private(kdir / "kafka.pid", f"{proc.pid}\n", 0o644)
        try:
            _wait_ready(proc, proc.pid, port, log, timeout)
        except BaseException:
            _terminate(proc.pid, 10.0)
            (kdir / "kafka.pid").unlink(missing_ok=True)
            raise
        return f"127.0.0.1:{port}"


def _wait_ready(
    proc: subprocess.Popen[bytes] | None, pid: int, port: int, log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            _CHILDREN.pop(pid, None)
            raise DevServiceError(
                f"Kafka exited with status {proc.returncode} while starting on 127.0.0.1:{port} "
                f"(log: {log}):\n{_tail(log)}"
            )
        if proc is None and not _process_alive(pid):
            raise DevServiceError(f"Kafka (pid {pid}) died (log: {log}):\n{_tail(log)}")
        if _broker_ready(port):
            return
        if time.monotonic() >= deadline:
            raise DevServiceError(
                f"Kafka (pid {pid}) did not become ready on 127.0.0.1:{port} within "
                f"{timeout:.0f}s (log: {log}):\n{_tail(log)}"
            )
        time.sleep(0.25)


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL; returns once the process is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 15.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while _process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _process_alive(pid):
            break
    else:
        raise DevServiceError(f"Kafka (pid {pid}) survived SIGKILL")
    _CHILDREN.pop(pid, None)


def stop_kafka(home: str | os.PathLike[str], *, timeout: float = KAFKA_STOP_TIMEOUT) -> None:
    """Stop this home's broker by PID (SIGTERM, SIGKILL after ``timeout``) and drop the PID file."""
    kdir = _kafka_dir(Path(home))
    if not kdir.exists():
        return
    with _locked(kdir / ".lock"):
        pid = kafka_pid(home)
        if pid is not None:
            _terminate(pid, timeout)
        (kdir / "kafka.pid").unlink(missing_ok=True)


def restart_kafka(home: str | os.PathLike[str], *, timeout: float = KAFKA_START_TIMEOUT) -> str:
    """Stop and start the broker on the same ports; returns the (unchanged) bootstrap address."""
    stop_kafka(home)
    return start_kafka(home, timeout=timeout)


# --------------------------------------------------------------------------- PostgreSQL


def _pg_server(home: Path) -> Any:
    try:
        from trendfolio.db.server import PgServer
    except ImportError:
        sys.path.insert(0, str(REPO / "lib"))
        from trendfolio.db.server import PgServer
    return PgServer(_pg_root(home))


def start_postgres(home: str | os.PathLike[str]) -> str:
    server = _pg_server(Path(home))
    server.start()
    return str(server.url())


def postgres_pid(home: str | os.PathLike[str]) -> int | None:
    if not (_pg_root(Path(home)) / "data").exists():
        return None
    pid: int | None = _pg_server(Path(home)).pid()
    return pid


def stop_postgres(home: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
    """``pg_ctl stop -m fast``; should pg_ctl fail, a fast shutdown by the postmaster's PID."""
    if not (_pg_root(Path(home)) / "data").exists():
        return
    server = _pg_server(Path(home))
    try:
        server.stop()
    except Exception as exc:
        # e.g. pg_ctl runs as the unprivileged service user and a parent folder of the home
        # lost its search permission (pytest makes /tmp/pytest-of-<user> 0700 at each start)
        pid = server.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while _process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _process_alive(pid):
            raise DevServiceError(
                f"PostgreSQL (pid {pid}) did not stop within {timeout:.0f}s after pg_ctl "
                f"failed ({exc}); log: {_pg_root(Path(home)) / 'server.log'}"
            ) from exc


# --------------------------------------------------------------------------- both


def write_env(home: str | os.PathLike[str], database_url: str, bootstrap: str) -> Path:
    path = env_file(Path(home))
    _write_private(
        path,
        f"TRENDFOLIO_DATABASE_URL={database_url}\nTRENDFOLIO_KAFKA_BOOTSTRAP={bootstrap}\n",
    )
    return path


def up(home: str | os.PathLike[str], *, reassign_busy_ports: bool = False) -> dict[str, str]:
    """Start PostgreSQL and Kafka (each unless it runs) and write ``services.env``."""
    home = Path(home).resolve()
    url = start_postgres(home)
    bootstrap = start_kafka(home, reassign_busy_ports=reassign_busy_ports)
    write_env(home, url, bootstrap)
    return {"TRENDFOLIO_DATABASE_URL": url, "TRENDFOLIO_KAFKA_BOOTSTRAP": bootstrap}


def down(home: str | os.PathLike[str]) -> None:
    """Stop Kafka, then PostgreSQL. Stopping what does not run is not an error."""
    errors = []
    for stop in (stop_kafka, stop_postgres):
        try:
            stop(home)
        except Exception as exc:
            errors.append(str(exc))
    if errors:
        raise DevServiceError("; ".join(errors))


# --------------------------------------------------------------------------- CLI


def _redacted(url: str) -> str:
    scheme, _, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    return f"{scheme}://{creds.split(':')[0]}:***@{host}" if at else url


def _status_lines(home: Path) -> tuple[list[str], bool]:
    lines = []
    pg_pid = postgres_pid(home)
    if pg_pid is not None:
        url = str(_pg_server(home).url())
        lines.append(
            f"postgres  running  pid {pg_pid}  {_redacted(url)}  log {_pg_root(home)}/server.log"
        )
    else:
        lines.append(f"postgres  stopped  ({_pg_root(home)})")
    k_pid = kafka_pid(home)
    kdir = _kafka_dir(home)
    if k_pid is not None:
        port = int(json.loads((kdir / "state.json").read_text())["port"])
        ready = "ready" if _broker_ready(port) else "NOT answering"
        lines.append(
            f"kafka     running  pid {k_pid}  bootstrap {kafka_bootstrap(home)} ({ready}, "
            f"Kafka {kafka_version()})  log {kdir}/kafka.log"
        )
    else:
        lines.append(f"kafka     stopped  ({kdir})")
    env = env_file(home)
    lines.append(f"env       {env}" + ("" if env.exists() else " (not written)"))
    return lines, pg_pid is not None and k_pid is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="devservices.py",
        description="PostgreSQL and Apache Kafka (KRaft) on 127.0.0.1 for development and tests.",
    )
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument(
        "--home", default=None, help="default: $TRENDFOLIO_HOME or ./.trendfolio"
    )
    args = parser.parse_args(argv)
    home = home_dir(args.home)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    try:
        if args.command == "up":
            started = time.monotonic()
            values = up(home, reassign_busy_ports=True)
            for line in _status_lines(home)[0][:2]:
                print(line)
            print(f"wrote {env_file(home)} in {time.monotonic() - started:.1f}s")
            return 0 if values else 1
        if args.command == "down":
            down(home)
            print(f"stopped PostgreSQL and Kafka under {home / 'services'}")
            return 0
        lines, running = _status_lines(home)
        print("\n".join(lines))
        return 0 if running else 3
    except Exception as exc:
        print(f"devservices {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
