"""``/health``: the process is up and the database answers."""

from __future__ import annotations

from fastapi import APIRouter, Response

from trendfolio_api import crud
from trendfolio_api.deps import PoolDep
from trendfolio_api.models import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def health(pool: PoolDep, response: Response) -> Health:
    if not await crud.database_answers(pool):
        response.status_code = 503
        return Health(status="degraded", service="trendfolio-api", database="unavailable")
    return Health(status="ok", service="trendfolio-api", database="ok")
