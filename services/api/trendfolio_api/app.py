"""Wires the API: the asyncpg pool (read-only role), routers, metrics, CORS and error handlers."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from trendfolio.config import Settings
from trendfolio.db.connect import describe
from trendfolio_api.crud import NotFound
from trendfolio_api.deps import require_api_key
from trendfolio_api.metrics import MetricsMiddleware
from trendfolio_api.models import ErrorDetail
from trendfolio_api.routes import backtest, dashboard, etf_holdings, health, stocks

log = logging.getLogger(__name__)
POOL_MIN, POOL_MAX = 2, 10


def reader_url(settings: Settings) -> str:
    """The read-only role's URL; the read-write one (with a warning) when none is configured."""
    readonly = settings.readonly_database_url
    if readonly is not None and readonly.get_secret_value().strip():
        return readonly.get_secret_value()
    # Imported here: wiring brings the bus and the sources, which only this fallback needs.
    from trendfolio import wiring

    url = wiring.database_url(settings)
    log.warning(
        "TRENDFOLIO_READONLY_DATABASE_URL is not set: the API connects to %s with the read-write "
        "role; set it (and run `trendfolio db migrate`) to use the read-only role",
        describe(url),
    )
    return url


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = await asyncio.to_thread(reader_url, settings)
        app.state.pool = await asyncpg.create_pool(
            url, min_size=POOL_MIN, max_size=POOL_MAX, command_timeout=30
        )
        log.info("API reading %s", describe(url))
        # Everything loaded so far lives for the whole process: keep it out of the cyclic
        # collector, whose full passes over it were the API's longest pauses under load.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title="Trendfolio API",
        version="1.0.0",
        description="ETF-momentum stock portfolios (SPEC §8). Percent fields end in `_pct`.",
        lifespan=lifespan,
    )
    app.state.api_key = (
        settings.api_key.get_secret_value().encode() if settings.api_key is not None else None
    )
    protected = [Depends(require_api_key)]
    errors: dict[int | str, dict[str, object]] = {
        401: {"model": ErrorDetail, "description": "X-API-Key missing or wrong"},
        404: {"model": ErrorDetail, "description": "unknown ticker, ETF, date or backtest run"},
        503: {"model": ErrorDetail, "description": "the database is unavailable"},
    }
    app.include_router(health.router, responses={503: errors[503]})
    for router in (stocks.router, dashboard.router, etf_holdings.router, backtest.router):
        app.include_router(router, dependencies=protected, responses=errors)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(asyncpg.PostgresError)
    @app.exception_handler(OSError)
    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.error("database error on %s: %s", request.url.path, exc)
        return JSONResponse({"detail": "database unavailable, try again later"}, status_code=503)

    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET"],
            allow_headers=["X-API-Key"],
        )
    app.add_middleware(MetricsMiddleware)
    return app


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the API with uvicorn (one process; scale with replicas, not workers)."""
    import uvicorn

    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=settings.log_level == "DEBUG",
    )
