"""Debian's Prometheus, promtool and Pushgateway (`apt-get install prometheus
prometheus-pushgateway`, see scripts/ci-system-deps.sh), started on 127.0.0.1 and stopped by PID,
and the chart's alert rules and Grafana dashboard they are tested with."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.net import free_port
from tests.support.paths import CHART

FILES = CHART / "files"
ALERTS = FILES / "prometheus" / "alerts.yaml"
ALERT_TESTS = FILES / "prometheus" / "alerts_test.yaml"
DASHBOARD = FILES / "grafana" / "trendfolio.json"


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed: apt-get install prometheus prometheus-pushgateway "
                    "(scripts/ci-system-deps.sh)")
    return path


def http_get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body: bytes = resp.read()
        return body


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url}: the process exited ({proc.returncode}):\n"
                                 + log.read_text(errors="replace")[-3000:])
        with contextlib.suppress(OSError):
            http_get(url, timeout=2)
            return
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout} s:\n"
                         + log.read_text(errors="replace")[-3000:])


@dataclass
class Server:
    """A process we started, its address and its log; stopped by PID."""

    popen: subprocess.Popen[bytes]
    address: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


def start(argv: list[str], address: str, log: Path, ready_path: str, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> Server:
    with log.open("wb") as out:
        popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                 start_new_session=True)
    server = Server(popen, address, log)
    try:
        wait_http(server.url + ready_path, popen, log)
    except BaseException:
        server.stop()
        raise
    return server


class Prometheus:
    def __init__(self, server: Server) -> None:
        self.server = server

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = self.server.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        doc = json.loads(http_get(url))
        assert doc["status"] == "success", (expr, doc)
        result: list[dict[str, Any]] = doc["data"]["result"]
        return result

    def get(self, path: str) -> Any:
        return json.loads(http_get(self.server.url + path))["data"]


def start_prometheus(workdir: Path, scrape: dict[str, tuple[str, bool]], rule_files: list[Path]) -> Prometheus:
    """A Prometheus scraping ``{job: (address, honor_labels)}`` every second, evaluating rules."""
    exe = binary("prometheus")
    lines = ["global:", "  scrape_interval: 1s", "  evaluation_interval: 1s",
             "rule_files:", *[f"  - {p}" for p in rule_files], "scrape_configs:"]
    for job, (address, honor) in scrape.items():
        lines += [f"  - job_name: {job}", f"    honor_labels: {str(honor).lower()}",
                  "    static_configs:", f"      - targets: ['{address}']"]
    config = workdir / "prometheus.yml"
    config.write_text("\n".join(lines) + "\n")
    address = f"127.0.0.1:{free_port()}"
    server = start(
        [exe, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
         f"--web.listen-address={address}", "--storage.tsdb.retention.time=1h"],
        address, workdir / "prometheus.log", "/-/ready",
    )
    return Prometheus(server)
