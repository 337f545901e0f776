"""``trendfolio consume`` as a real subprocess that a test can stop or ``kill -9``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.kafka import commit_end_offsets
from tests.support.paths import TRENDFOLIO
from tests.support.waiting import eventually


@dataclass
class ConsumerProcess:
    """One ``trendfolio consume`` subprocess; stopped or killed by its PID."""

    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=15)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (a clean stop), SIGKILL after ``timeout``; returns the exit status."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                return self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
        return self.popen.wait(timeout=15)

    def log_tail(self, limit: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-limit:]
        except OSError:
            return "(no log)"


@dataclass
class Consumers:
    """Starts ``trendfolio consume`` for one test: one consumer group, one home, one log dir."""

    bootstrap: str
    workdir: Path
    group: str
    started: list[ConsumerProcess] = field(default_factory=list)

    async def start(
        self,
        database_url: str,
        batch_size: int = 5000,
        batch_ms: int = 500,
        instance_id: str | None = None,
        writers: int | None = None,
    ) -> ConsumerProcess:
        """Start one more ``trendfolio consume``; the first start begins at the topics' end.

        The session's topics keep earlier tests' messages: the group commits the current end
        offsets before its first member starts, so a test sees only what it produces.
        """
        if not self.started:
            await commit_end_offsets(self.bootstrap, self.group)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
        env.update(
            TRENDFOLIO_KAFKA_BOOTSTRAP=self.bootstrap,
            TRENDFOLIO_DATABASE_URL=database_url,
            TRENDFOLIO_KAFKA_GROUP=self.group,
            TRENDFOLIO_HOME=str(self.workdir / "home"),
            TRENDFOLIO_CONSUMER_BATCH_SIZE=str(batch_size),
            TRENDFOLIO_CONSUMER_BATCH_MS=str(batch_ms),
            TRENDFOLIO_LOG_LEVEL="INFO",
            COLUMNS="240",  # the rich log handler wraps at the console width
        )
        if instance_id is not None:
            env["TRENDFOLIO_KAFKA_INSTANCE_ID"] = instance_id
        if writers is not None:
            env["TRENDFOLIO_CONSUMER_WRITERS"] = str(writers)
        log = self.workdir / f"consumer-{len(self.started)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [str(TRENDFOLIO), "consume"],
                env=env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = ConsumerProcess(popen, log)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.started:
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                proc.kill9()


async def wait_for_assignment(proc: ConsumerProcess, timeout: float = 90) -> None:
    """Wait until the subprocess has joined its group (or fail with the tail of its log)."""

    async def probe() -> str:
        return proc.log.read_text(errors="replace") if proc.log.exists() else ""

    def done(text: str) -> bool:
        assert proc.alive(), f"the consumer exited early:\n{proc.log_tail()}"
        return "consuming" in text

    await eventually(probe, done, timeout, lambda t: f"the consumer never started: {t[-2000:]}")
