"""Dashboard fixtures: PostgreSQL loaded by the real pipeline, the real API, the dashboard, and
Debian's Chromium driven by Playwright. Everything is session-scoped and started once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.dashboard.stack import (
    CHROMIUM,
    MONTH_END,
    ApiServer,
    DashboardServer,
    load_market,
    market_source,
    run_backtest,
)
from tests.support.dashboard import SCREENSHOTS, Market, Tab
from tests.support.databases import create_database
from trendfolio.db.server import PgServer


@pytest.fixture(scope="session")
async def market(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Market:
    """A database filled by `trendfolio backfill` from a month's last session (so the monthly
    stage writes a real rebalance) to LATEST (real data, else sample)."""
    url = await create_database(pg_server, "dash")
    source = market_source()
    await asyncio.to_thread(load_market, url, tmp_path_factory.mktemp("dash-home"), source,
                            MONTH_END)
    return Market(url, source)


@pytest.fixture(scope="session")
async def backtest(market: Market, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real `trendfolio backtest` run over the market's range; the JSON it printed."""
    return await asyncio.to_thread(run_backtest, market.url,
                                   tmp_path_factory.mktemp("backtest-home"), market.source)


@pytest.fixture(scope="session")
def api(market: Market) -> Iterator[ApiServer]:
    server = ApiServer(market.url).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dashboard(api: ApiServer) -> Iterator[DashboardServer]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = DashboardServer(api.url).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium (Playwright cannot download a browser here)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium` (scripts/ci-system-deps.sh)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        await chromium.close()


@pytest.fixture
async def tab(browser: Any, request: pytest.FixtureRequest) -> AsyncIterator[Tab]:
    """A fresh browser context (no cache, no stored language) per test; a screenshot at the end."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ko-KR")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield Tab(page, errors)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        await page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    finally:
        await context.close()
