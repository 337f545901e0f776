"""`trendfolio serve`: bad usage exits 2 with a message, before anything starts."""

from __future__ import annotations

import subprocess

from tests.support.paths import TRENDFOLIO


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TRENDFOLIO), "serve", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_an_unknown_service_is_bad_usage() -> None:
    proc = _serve("database")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_a_port_out_of_range_is_bad_usage() -> None:
    proc = _serve("api", "--port", "70000")
    assert proc.returncode == 2 and "--port 70000" in proc.stderr
