"""The 🧪 백테스트 tab in Debian's Chromium, over the real API and a run `trendfolio backtest`
stored. Expected values come from the stored rows, never from the dashboard's own code."""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg
import pytest

from tests.dashboard.stack import DRAWN_JS, ApiServer, DashboardServer
from tests.support.dashboard import Market, Tab
from trendfolio.db.migrate import migrate

pytestmark = pytest.mark.browser
YELLOW = "rgb(255, 243, 205)"  # #fff3cd
STRATEGIES = ["5d", "10d", "20d", "monthly", "SPY"]
TIMEOUT_MS = 30_000


async def _open_backtest(page: Any, dashboard: DashboardServer) -> None:
    await page.goto(dashboard.url)
    await page.wait_for_function(DRAWN_JS, arg="20", timeout=TIMEOUT_MS)
    await page.click("#tab-backtest")
    await page.wait_for_function(DRAWN_JS, arg="backtest", timeout=TIMEOUT_MS)


async def _rows(page: Any, table: str, key: str) -> dict[str, list[str]]:
    """data-<key> of each row → its cells' text."""
    rows: dict[str, list[str]] = await page.evaluate(
        """([table, key]) => Object.fromEntries([...document.querySelectorAll(`#${table} tbody tr`)]
             .map(tr => [tr.dataset[key], [...tr.cells].map(td => td.innerText.trim())]))""",
        [table, key],
    )
    return rows


async def _traces(page: Any, graph: str) -> list[dict[str, Any]]:
    traces: list[dict[str, Any]] = await page.evaluate(
        """(id) => document.querySelector(`#${id} .js-plotly-plot`).data
             .map(t => ({name: t.name, x: t.x, y: t.y}))""", graph)
    return traces


async def _stored(market: Market, run_id: int) -> dict[str, Any]:
    metrics = {r["strategy"]: r for r in await market.fetch(
        "SELECT * FROM backtest_metrics WHERE run_id = $1", run_id)}
    equity = await market.fetch(
        "SELECT strategy, trade_date, equity, drawdown FROM backtest_equity WHERE run_id = $1 "
        "ORDER BY trade_date", run_id)
    picks = await market.fetch("SELECT * FROM backtest_pick_returns WHERE run_id = $1", run_id)
    (run,) = await market.fetch("SELECT * FROM backtest_runs WHERE id = $1", run_id)
    return {"metrics": metrics, "equity": equity, "picks": picks, "run": run}


async def test_the_backtest_tab_draws_the_stored_run_in_korean(
    tab: Tab, dashboard: DashboardServer, api: ApiServer, market: Market,
    backtest: dict[str, Any],
) -> None:
    page = tab.page
    await page.goto(dashboard.url)
    await page.wait_for_function(DRAWN_JS, arg="20", timeout=TIMEOUT_MS)
    assert (await page.inner_text("#tab-backtest")).strip() == "🧪 백테스트"
    mark = api.log.mark()
    await page.click("#tab-backtest")
    await page.wait_for_function(DRAWN_JS, arg="backtest", timeout=TIMEOUT_MS)
    assert [path for path, _ in api.log.since(mark)] == ["/backtest"]  # one request, all of it
    stored = await _stored(market, backtest["run"]["id"])
    run = stored["run"]
    title = await page.inner_text("#backtest-run-section h5")
    assert str(run["start_date"]) in title and str(run["end_date"]) in title
    assert f"실행 #{run['id']}" in await page.inner_text("#backtest-run-section")

    # The metrics table: every strategy, stored fractions shown in percent, SPY in yellow.
    rows = await _rows(page, "backtest-metrics-table", "strategy")
    assert list(rows) == STRATEGIES
    for s in STRATEGIES:
        m = stored["metrics"][s]
        cells = rows[s]
        assert cells[1] == f"{100 * m['total_return']:+.2f}%", s
        assert cells[2] == f"{100 * m['cagr']:+.2f}%", s
        assert cells[3] == f"{100 * m['volatility']:.2f}%", s
        assert cells[4] == f"{m['sharpe']:.2f}", s
        assert cells[5] == f"{100 * m['max_drawdown']:+.2f}%", s
        assert cells[6] == f"{100 * m['turnover_per_year']:,.0f}%", s
        assert cells[7] == str(m["trades"]), s
        assert cells[8] == ("—" if m["hit_rate"] is None else f"{100 * m['hit_rate']:.1f}%"), s
    backgrounds = await page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll(
             '#backtest-metrics-table tbody tr')].map(tr => [tr.dataset.strategy,
             [...new Set([...tr.cells].map(td => getComputedStyle(td).backgroundColor))]]))""")
    assert backgrounds["SPY"] == [YELLOW]
    assert all(YELLOW not in backgrounds[s] for s in STRATEGIES if s != "SPY")

    # One equity chart with every strategy against SPY (cumulative return in percent), and
    # the drawdowns, point for point the stored curves.
    equity = await _traces(page, "backtest-equity-chart")
    drawdown = await _traces(page, "backtest-drawdown-chart")
    assert [t["name"] for t in equity] == ["5일 포트폴리오", "10일 포트폴리오", "20일 포트폴리오",
                                           "월간 포트폴리오", "SPY (매수 후 보유)"]
    for s, eq_trace, dd_trace in zip(STRATEGIES, equity, drawdown, strict=True):
        curve = [r for r in stored["equity"] if r["strategy"] == s]
        assert eq_trace["x"] == [str(r["trade_date"]) for r in curve], s
        assert eq_trace["y"] == pytest.approx([100 * (r["equity"] - 1) for r in curve]), s
        assert dd_trace["y"] == pytest.approx([100 * r["drawdown"] for r in curve]), s
    assert await page.locator("#backtest-equity-chart .scatterlayer .trace").count() == 5
    assert await page.locator("#backtest-turnover-chart .barlayer .trace").count() >= 1

    # The pick leg, one row per (period, horizon) the run measured.
    picks = await _rows(page, "backtest-picks-table", "horizon")
    assert await page.locator("#backtest-picks-table tbody tr").count() == len(stored["picks"])
    assert picks

    # The point-in-time warning up front (a backfilled range is not point-in-time), the other
    # caveats in Korean with the run's own numbers.
    assert run["point_in_time"] is False
    warning = await page.inner_text("#pit-warning")
    assert "시점 정합성" in warning and "미래 정보 편향" in warning
    pit = backtest["point_in_time"]
    assert f"신호일 {pit['dates']}일 중 문제없는 날 {pit['clean']}일" in warning
    caveats = await page.inner_text("#backtest-caveats")
    assert f"회전율의 {run['cost_bps']:g}bp" in caveats
    assert f"거래일이 {run['sessions']}일뿐" in caveats
    kinds = await page.eval_on_selector_all("#backtest-caveats li", "ls => ls.map(l => l.dataset.kind)")
    assert "other" not in kinds and len(kinds) == len(backtest["caveats"]) - 1
    assert "NOT POINT-IN-TIME" not in await page.inner_text("#view")
    assert await page.locator(".tf-error").count() == 0
    assert tab.errors == []


async def test_the_backtest_tab_in_english_needs_no_new_request(
    tab: Tab, dashboard: DashboardServer, api: ApiServer, backtest: dict[str, Any]
) -> None:
    page = tab.page
    await _open_backtest(page, dashboard)
    mark = api.log.mark()
    await page.click("label:has-text('English')")
    await page.wait_for_function(
        "() => document.querySelector('#tab-backtest').innerText.includes('Backtest')",
        timeout=TIMEOUT_MS)
    await page.wait_for_function(
        "() => document.querySelector('#pit-warning').innerText.includes('NOT point-in-time')",
        timeout=TIMEOUT_MS)
    await page.wait_for_function(DRAWN_JS, arg="backtest", timeout=TIMEOUT_MS)
    assert api.log.since(mark) == []
    assert "Total return" in await page.inner_text("#backtest-metrics-table thead")
    assert backtest["caveats"][0] in await page.inner_text("#pit-warning")  # as stored
    for caveat in backtest["caveats"][1:]:
        assert caveat in await page.inner_text("#backtest-caveats")
    names = [t["name"] for t in await _traces(page, "backtest-equity-chart")]
    assert names[-1] == "SPY (buy and hold)"
    assert tab.errors == []


async def test_without_a_run_the_tab_says_how_to_make_one(tab: Tab, pg_server: Any) -> None:
    name = f"dash_nobt_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(pg_server.url("postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(pg_server.url(name))
    await migrate(conn)
    await conn.close()
    empty_api = ApiServer(pg_server.url(name)).start()
    empty = DashboardServer(empty_api.url).start()
    page = tab.page
    try:
        await page.goto(empty.url)
        await page.wait_for_selector("#view-content .tf-empty", timeout=TIMEOUT_MS)
        await page.click("#tab-backtest")
        await page.wait_for_selector("#view[data-view='backtest'] .tf-backtest-empty",
                                     timeout=TIMEOUT_MS)
        text = await page.inner_text("#view")
        assert "아직 저장된 백테스트가 없습니다" in text and "trendfolio backtest --start" in text
        await page.click("label:has-text('English')")
        await page.wait_for_function(
            "() => document.querySelector('#view').innerText.includes('No backtest stored yet')",
            timeout=TIMEOUT_MS)
        assert await page.locator(".tf-error").count() == 0
        assert tab.errors == []
    finally:
        empty.stop()
        empty_api.stop()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
