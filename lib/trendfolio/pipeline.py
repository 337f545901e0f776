"""What every stage gets to run with, and the ``pipeline_runs`` bookkeeping around it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg

from trendfolio.config import Settings
from trendfolio.metrics import STAGE_SECONDS
from trendfolio.universe import Universe

log = logging.getLogger(__name__)


@dataclass
class StageContext:
    settings: Settings
    universe: Universe
    database_url: str
    source_spec: str


@dataclass
class StageResult:
    rows: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False


async def record_run(
    conn: asyncpg.Connection,
    ctx: StageContext,
    stage: str,
    as_of: date,
    body: Callable[[], Awaitable[StageResult]],
) -> StageResult:
    """Run ``body`` and record it in ``pipeline_runs`` (running → success/skipped/failed)."""
    run_id = await conn.fetchval(
        "INSERT INTO pipeline_runs (stage, as_of_date, universe, source, status) "
        "VALUES ($1, $2, $3, $4, 'running') RETURNING id",
        stage,
        as_of,
        ctx.universe.name,
        ctx.source_spec,
    )
    started = time.monotonic()
    try:
        result = await body()
    except BaseException as exc:
        await conn.execute(
            "UPDATE pipeline_runs SET status = 'failed', finished_at = now(), duration_s = $2, "
            "error = $3 WHERE id = $1",
            run_id,
            time.monotonic() - started,
            f"{type(exc).__name__}: {exc}"[:4000],
        )
        raise
    STAGE_SECONDS.labels(stage).observe(time.monotonic() - started)
    await conn.execute(
        "UPDATE pipeline_runs SET status = $2, finished_at = now(), duration_s = $3, "
        "rows_written = $4, details = $5::jsonb WHERE id = $1",
        run_id,
        "skipped" if result.skipped else "success",
        time.monotonic() - started,
        result.rows,
        json.dumps(result.details, default=str),
    )
    return result
