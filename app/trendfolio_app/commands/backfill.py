"""``trendfolio backfill``: collect once, then every Spark stage once over the whole range."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date

from trendfolio import calendar
from trendfolio.config import Settings
from trendfolio.errors import UsageError
from trendfolio_app.commands.common import print_result
from trendfolio_app.runner import open_runner
from trendfolio_app.stages import Stage
from trendfolio_collector.progress import track


async def backfill(settings: Settings, start: date, end: date, stages: Sequence[Stage]) -> int:
    if end < start:
        raise UsageError(f"--end {end} is before --start {start}")
    sessions = calendar.sessions_between(start, end)
    if not sessions:
        raise UsageError(f"no NYSE session between {start} and {end}")
    runner = await open_runner(settings)
    try:
        print(
            f"trendfolio: backfill {start}..{end}: {len(sessions)} sessions, each Spark stage in "
            f"one job ({settings.source}, universe {settings.universe})",
            file=sys.stderr,
        )
        await runner.backfill(sessions, stages, report=print_result, track=track)
        print(f"trendfolio: backfilled {len(sessions)} sessions", file=sys.stderr)
    finally:
        await runner.close()
    return 0
