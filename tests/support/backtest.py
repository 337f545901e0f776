"""Running `trendfolio backtest` as a user does (a subprocess of the installed command against a
database of the test PostgreSQL server) and comparing its JSON with the oracle."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tests.backtest.oracle import load_inputs, run
from tests.support.paths import REPO

TRENDFOLIO = Path(sys.executable).parent / "trendfolio"
STRATEGIES = {"5d", "10d", "20d", "monthly", "SPY"}
METRIC_KEYS = {
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "max_drawdown",
    "turnover_per_year",
    "trades",
    "hit_rate",
}
TOLERANCE = 1e-6


@dataclass
class CliRun:
    """One `trendfolio backtest` run: its arguments, process and the database it used."""

    args: list[str]
    proc: subprocess.CompletedProcess[str]
    url: str

    @property
    def report(self) -> dict[str, Any]:
        assert self.proc.returncode == 0, (self.args, self.proc.stderr[-3000:])
        return parse_report(self.proc.stdout)


def home() -> Path:
    """The worktree's TRENDFOLIO_HOME (it keeps Spark's JDBC jar), as the jobs tests use it."""
    from trendfolio.config import Settings

    h = Settings().home
    return h if h.is_absolute() else REPO / h


def backtest_cli(url: str, *args: str, env: dict[str, str] | None = None) -> CliRun:
    """``trendfolio backtest ARGS`` from the repository root, on the database at ``url``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
    clean.update(TRENDFOLIO_HOME=str(home()), TRENDFOLIO_DATABASE_URL=url, **(env or {}))
    argv = [str(TRENDFOLIO), "backtest", *args]
    proc = subprocess.run(
        argv, capture_output=True, text=True, env=clean, cwd=REPO, timeout=900, check=False
    )
    return CliRun(list(args), proc, url)


def parse_report(stdout: str) -> dict[str, Any]:
    """The JSON document on stdout. ``test_json_output_is_only_json`` holds stdout to being
    nothing else; here a log line printed before it does not hide the numbers."""
    try:
        out: dict[str, Any] = json.loads(stdout)
        return out
    except json.JSONDecodeError:
        at = stdout.find("\n{")
        if at < 0:
            raise
        out, _ = json.JSONDecoder().raw_decode(stdout[at + 1 :])
        return out


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a == b)
    return bool(math.isfinite(a) and math.isfinite(b) and abs(a - b) <= TOLERANCE)


def compare_with_oracle(
    report: dict[str, Any], url: str, start: date, end: date, cost_bps: float, lag: int
) -> dict[str, Any]:
    """Every metric of every strategy and every equity point of ``report`` against the oracle
    on the same database; return the oracle's result. Mismatches are listed all at once."""
    expected = run(load_inputs(url, start, end), cost_bps=cost_bps, lag=lag)
    problems: list[str] = []
    got = report["strategies"]
    assert set(got) == STRATEGIES, sorted(got)
    for name in sorted(STRATEGIES):
        assert set(got[name]) >= METRIC_KEYS, (name, sorted(got[name]))
        for key in sorted(METRIC_KEYS):
            mine, theirs = expected["strategies"][name][key], got[name][key]
            ok = mine == theirs if key == "trades" else _close(mine, theirs)
            if not ok:
                problems.append(f"{name} {key}: backtest {theirs!r}, oracle {mine!r}")
    dates = [e["date"] for e in report["equity"]]
    assert dates == [e["date"] for e in expected["equity"]], "equity dates differ from S"
    for theirs_row, mine_row in zip(report["equity"], expected["equity"], strict=True):
        for name in sorted(STRATEGIES):
            if not _close(mine_row[name], theirs_row[name]):
                problems.append(
                    f"equity {name} {theirs_row['date']}: backtest {theirs_row[name]!r}, "
                    f"oracle {mine_row[name]!r}"
                )
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:40])
    return expected
