"""``trendfolio run``: the pipeline's stages in order for one session."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date

from trendfolio.config import Settings
from trendfolio_app.commands.common import print_result
from trendfolio_app.runner import open_runner
from trendfolio_app.stages import Stage


async def run(settings: Settings, as_of: date, stages: Sequence[Stage]) -> int:
    runner = await open_runner(settings)
    try:
        print(f"trendfolio: {as_of} ({settings.source}, universe {settings.universe})",
              file=sys.stderr)
        await runner.run(as_of, stages, report=print_result)
    finally:
        await runner.close()
    return 0
