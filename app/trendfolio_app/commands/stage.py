"""``trendfolio stage NAME``: one stage for one session, what a pod runs.

A failure before the stage itself (database, source, universe) is pushed to the Pushgateway
too, so a pod that died early still shows."""

from __future__ import annotations

import asyncio
import time
from datetime import date

from trendfolio.config import Settings
from trendfolio.metrics import StageOutcome, push_stage
from trendfolio_app.commands.run import run
from trendfolio_app.stages import stage_by_name


async def stage(settings: Settings, name: str, as_of: date) -> int:
    chosen = stage_by_name(name)
    started = time.monotonic()
    try:
        return await run(settings, as_of, [chosen])
    except BaseException:
        outcome = StageOutcome(chosen.info.name, as_of, time.monotonic() - started, failed=True)
        await asyncio.to_thread(push_stage, settings.pushgateway_url, outcome)
        raise
