"""What several commands share: the as-of date, the stage list, the per-stage line."""

from __future__ import annotations

import sys
from datetime import date
from typing import TYPE_CHECKING

from trendfolio import calendar
from trendfolio.errors import UsageError
from trendfolio.pipeline import StageResult

if TYPE_CHECKING:  # the stage table imports the Spark jobs: only commands that run stages do
    from trendfolio_app.stages import Stage


def as_of(day: date | None) -> date:
    """``--date`` checked to be a session, else the latest completed session."""
    return calendar.require_session(day) if day else calendar.latest_completed_session()


def print_result(stage: Stage, result: StageResult) -> None:
    state = "skipped" if result.skipped else f"{result.rows} rows"
    print(f"  stage {stage.info.number} {stage.info.name:<11} {state}", file=sys.stderr)


def check_port(option: str, port: int) -> None:
    if not 0 < port < 65536:
        raise UsageError(f"{option} {port} is not a TCP port (1-65535)")
