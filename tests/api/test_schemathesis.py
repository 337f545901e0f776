"""Property-based requests from the OpenAPI schema (the schemathesis CLI, against the served
API): no server error for any input, and every response matches its declared status codes,
content type and schema. Both generation modes run: valid and invalid (hostile) input."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.api import ApiServer
from tests.support.paths import VENV_BIN

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance," \
         "response_schema_conformance"


def test_schemathesis_finds_no_server_error(api: ApiServer, tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "schemathesis"), "run", f"{api.url}/openapi.json",
         "--checks", CHECKS, "--mode", "all", "--max-examples", "40", "--seed", "20260820",
         "--generation-database", "none", "--continue-on-failure", "--workers", "2"],
        capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    counts = re.search(r"(\d+) generated, (\d+) passed\s*$", out, re.MULTILINE)
    assert counts is not None, out[-3000:]
    generated, passed = map(int, counts.groups())
    assert generated == passed > 300, out[-3000:]
