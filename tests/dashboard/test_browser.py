"""The dashboard in Debian's Chromium, over the real API and a database the pipeline filled.

Expected values come from the database itself (what the pipeline wrote), never from the
dashboard's own code.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.dashboard.stack import (
    DRAWN_JS,
    EARLIER,
    LATEST,
    MONTH_END,
    ApiServer,
    DashboardServer,
    free_port,
)
from tests.support.dashboard import SCREENSHOTS, Market, Tab

pytestmark = pytest.mark.browser
YELLOW = "rgb(255, 243, 205)"  # #fff3cd
KOREAN_TABS = ["📅 5일 (1주일)", "📅 10일 (2주일)", "📅 20일 (1개월)", "🌙 월간 비교"]
ENGLISH_TABS = ["📅 5 days (1 week)", "📅 10 days (2 weeks)", "📅 20 days (1 month)",
                "🌙 Monthly"]
TIMEOUT_MS = 30_000


async def _open(page: Any, dashboard: DashboardServer, view: str = "20") -> None:
    await page.goto(dashboard.url)
    await _drawn(page, view)


async def _drawn(page: Any, view: str, as_of: str | None = None) -> None:
    await page.wait_for_function(DRAWN_JS, arg=view, timeout=TIMEOUT_MS)
    if as_of:
        await page.wait_for_selector(f'#view[data-view="{view}"][data-as-of="{as_of}"]',
                                     timeout=TIMEOUT_MS)
        await page.wait_for_function(DRAWN_JS, arg=view, timeout=TIMEOUT_MS)


async def _tab_labels(page: Any) -> list[str]:
    return [(await page.inner_text(f"#tab-{v}")).strip() for v in ("5", "10", "20", "monthly")]


async def _row_tickers(page: Any, table: str, row_class: str = "") -> list[str]:
    selector = f"#{table} tbody tr{'.' + row_class if row_class else ''}"
    return [await r.get_attribute("data-ticker") for r in await page.query_selector_all(selector)]


async def _row_backgrounds(page: Any, table: str) -> dict[str, list[str]]:
    """ticker → the computed background colours of that row's cells."""
    backgrounds: dict[str, list[str]] = await page.evaluate(
        """(table) => Object.fromEntries([...document.querySelectorAll(`#${table} tbody tr`)]
             .map(tr => [tr.dataset.ticker,
                         [...new Set([...tr.cells].map(td => getComputedStyle(td).backgroundColor))]]))""",
        table,
    )
    return backgrounds


async def _cell_texts(page: Any, table: str) -> dict[str, list[str]]:
    """ticker → the text of each cell of that row."""
    cells: dict[str, list[str]] = await page.evaluate(
        """(table) => Object.fromEntries([...document.querySelectorAll(`#${table} tbody tr`)]
             .map(tr => [tr.dataset.ticker, [...tr.cells].map(td => td.innerText.trim())]))""",
        table,
    )
    return cells


async def _benchmarks(market: Market) -> set[str]:
    return {r["ticker"] for r in await market.fetch(
        "SELECT ticker FROM collected_00_meta_etf WHERE etf_type IN ('benchmark', 'both')")}


async def _portfolio(market: Market, day: str, period: int) -> list[str]:
    return [r["ticker"] for r in await market.fetch(
        "SELECT ticker FROM analytics_05_portfolio_allocation WHERE as_of_date = $1 "
        "AND period_days = $2 ORDER BY rank", date.fromisoformat(day), period)]


async def _assert_benchmarks_yellow(page: Any, table: str, benchmarks: set[str]) -> None:
    backgrounds = await _row_backgrounds(page, table)
    assert backgrounds, f"#{table} has no rows"
    yellow = {tk for tk, colours in backgrounds.items() if colours == [YELLOW]}
    shown = set(backgrounds)
    assert benchmarks & shown, f"#{table} shows no benchmark at all"
    assert yellow == benchmarks & shown, f"#{table}: yellow rows {yellow}, benchmarks {benchmarks}"


async def test_opens_on_the_latest_session_in_korean_with_the_20_day_portfolio(
    tab: Tab, dashboard: DashboardServer, market: Market
) -> None:
    page = tab.page
    await _open(page, dashboard)
    assert await _tab_labels(page) == KOREAN_TABS
    latest = await market.fetch("SELECT max(as_of_date) AS d FROM analytics_05_portfolio_allocation")
    assert str(latest[0]["d"]) == LATEST
    assert await page.input_value("#date-picker") == LATEST
    assert await page.get_attribute("#view", "data-as-of") == LATEST

    expected = await _portfolio(market, LATEST, 20)
    assert expected, "the pipeline produced no 20-day portfolio to look for"
    assert await _row_tickers(page, "portfolio-table") == expected
    chart_labels = await page.eval_on_selector_all(
        "#weights-chart .ytick text", "ts => ts.map(t => t.textContent)")
    assert sorted(chart_labels) == sorted(expected)
    assert "20일 포트폴리오" in await page.inner_text("#portfolio-section")
    plotly = await page.evaluate("""() => performance.getEntriesByType('resource')
        .filter(r => r.name.includes('plotly')).map(r => [r.name, r.encodedBodySize])""")
    assert any(name.endswith("assets/plotly-basic.min.js") for name, _ in plotly)
    assert all(size < 2_000_000 for _, size in plotly), f"the full Plotly bundle was sent: {plotly}"
    assert tab.errors == []


async def test_trending_badges_and_stars_follow_the_pipeline(
    tab: Tab, dashboard: DashboardServer, market: Market
) -> None:
    page = tab.page
    await _open(page, dashboard)
    day = date.fromisoformat(LATEST)
    rows = await market.fetch("SELECT etf_ticker, is_trending FROM analytics_03_trending_etfs "
                              "WHERE as_of_date = $1 AND period = 20", day)
    trending = {r["etf_ticker"] for r in rows if r["is_trending"]}
    shown_trending = {
        await r.get_attribute("data-ticker")
        for r in await page.query_selector_all("#sector-table tbody tr")
        if "트렌딩" in await r.inner_text()
    }
    assert shown_trending == trending
    assert set(await _row_tickers(page, "sector-table")) == {r["etf_ticker"] for r in rows}

    picks = await market.fetch("SELECT etf_ticker, ticker FROM analytics_05_portfolio_allocation "
                               "WHERE as_of_date = $1 AND period_days = 20", day)
    assert picks
    for pick in picks:
        card = page.locator(f"#card-{pick['etf_ticker']}")
        assert "Trending" in await card.locator(".card-header").inner_text()
        starred = card.locator("tr.tf-pick")
        assert await starred.count() == 1, f"card {pick['etf_ticker']} should star {pick['ticker']}"
        text = await starred.inner_text()
        assert pick["ticker"] in text and "★" in text
    for benchmark in await _benchmarks(market):
        card = page.locator(f"#card-{benchmark}")
        if await card.count():
            assert "Benchmark" in await card.locator(".card-header").inner_text()


async def test_benchmark_rows_are_yellow_on_every_table(
    tab: Tab, dashboard: DashboardServer, market: Market
) -> None:
    page = tab.page
    benchmarks = await _benchmarks(market)
    await _open(page, dashboard)
    await _assert_benchmarks_yellow(page, "sector-table", benchmarks)
    await page.click("#tab-monthly")
    await _drawn(page, "monthly")
    await _assert_benchmarks_yellow(page, "ranking-table", benchmarks)
    if await market.fetch("SELECT 1 FROM analytics_10_etf_monthly_returns LIMIT 1"):
        await _assert_benchmarks_yellow(page, "history-table", benchmarks)
    else:
        assert await page.locator("#history-section .tf-empty").is_visible()


async def test_every_tab_renders_from_a_handful_of_api_requests(
    tab: Tab, dashboard: DashboardServer, api: ApiServer
) -> None:
    page = tab.page
    mark = api.log.mark()
    await _open(page, dashboard)
    first = api.log.since(mark)
    assert 1 <= len(first) <= 5, first
    for view, section in (("5", "portfolio-section"), ("10", "cards-section"),
                          ("monthly", "monthly-section"), ("20", "sector-section")):
        mark = api.log.mark()
        await page.click(f"#tab-{view}")
        await _drawn(page, view)
        requests = api.log.since(mark)
        assert 1 <= len(requests) <= 5, f"tab {view}: {requests}"
        assert await page.locator(f"#{section}").is_visible()
        assert await page.locator(".tf-error").count() == 0, await page.inner_text("#view")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"tab-{view}.png"), full_page=True)
    assert tab.errors == []


async def test_the_monthly_tab_shows_the_portfolio_and_the_comparison_with_spy(
    tab: Tab, dashboard: DashboardServer, market: Market
) -> None:
    page = tab.page
    await _open(page, dashboard)
    await page.click("#tab-monthly")
    await _drawn(page, "monthly")
    latest = await market.fetch(
        "SELECT ticker, final_rank, final_weight, return_20d, rebalance_date "
        "FROM analytics_08_monthly_portfolio WHERE rebalance_date = "
        "(SELECT max(rebalance_date) FROM analytics_08_monthly_portfolio) ORDER BY final_rank")
    # The market fixture's backfill starts on a month's last session: a real rebalance.
    assert latest and str(latest[0]["rebalance_date"]) == MONTH_END
    assert await _row_tickers(page, "monthly-table") == [r["ticker"] for r in latest]
    top10 = await _row_tickers(page, "monthly-table", "tf-top10")
    assert top10 == [r["ticker"] for r in latest if r["final_rank"] <= 10]
    # Weight: the stored fraction shown in percent; the 20-day return is stored in percent.
    cells = await _cell_texts(page, "monthly-table")
    for r in latest:
        assert cells[r["ticker"]][4] == f"{100 * r['final_weight']:.2f}%", r["ticker"]
        assert cells[r["ticker"]][5] == f"{r['return_20d']:+.2f}%", r["ticker"]
    # The monthly-return table: analytics_10 stores fractions, the page shows percent.
    returns = await market.fetch(
        "SELECT etf_ticker, month, monthly_return FROM analytics_10_etf_monthly_returns "
        "WHERE as_of_date = $1 AND etf_ticker = 'SPY' ORDER BY month", date.fromisoformat(LATEST))
    spy = await _cell_texts(page, "history-table")
    assert spy["SPY"][-1] == f"{100 * returns[-1]['monthly_return']:+.2f}%"
    assert spy["SPY"][-2] == f"{100 * returns[-2]['monthly_return']:+.2f}%"
    assert await page.locator("#vs-spy-chart .scatterlayer .trace").count() == 2
    assert "SPY" in await page.inner_text("#vs-spy-chart")


async def test_the_date_picker_shows_an_earlier_session(
    tab: Tab, dashboard: DashboardServer, market: Market, api: ApiServer
) -> None:
    page = tab.page
    await _open(page, dashboard)
    mark = api.log.mark()
    await page.fill("#date-picker", EARLIER)
    await page.press("#date-picker", "Enter")
    await _drawn(page, "20", as_of=EARLIER)
    assert any(f"as_of_date={EARLIER}" in query for _, query in api.log.since(mark))
    assert await _row_tickers(page, "portfolio-table") == await _portfolio(market, EARLIER, 20)
    await page.click("#tab-5")
    await _drawn(page, "5", as_of=EARLIER)
    assert await _row_tickers(page, "portfolio-table") == await _portfolio(market, EARLIER, 5)


async def test_the_language_switch_translates_without_new_api_requests(
    tab: Tab, dashboard: DashboardServer, api: ApiServer
) -> None:
    page = tab.page
    await _open(page, dashboard)
    mark = api.log.mark()
    await page.click("label:has-text('English')")
    await page.wait_for_function(
        "() => document.querySelector('#tab-20').innerText.includes('20 days (1 month)')",
        timeout=TIMEOUT_MS)
    await _drawn(page, "20")
    assert await _tab_labels(page) == ENGLISH_TABS
    await page.wait_for_function(
        "() => document.querySelector('#sector-section h5').innerText.includes('20-day ETF')",
        timeout=TIMEOUT_MS)
    assert "Rank" in await page.inner_text("#portfolio-table thead")
    assert api.log.since(mark) == []  # the data was already in the page
    await page.click("label:has-text('한국어')")
    await page.wait_for_function(
        "() => document.querySelector('#sector-section h5').innerText.includes('20일 ETF')",
        timeout=TIMEOUT_MS)
    assert await _tab_labels(page) == KOREAN_TABS


async def test_the_sample_banner_appears_exactly_for_sample_data(
    tab: Tab, dashboard: DashboardServer, market: Market
) -> None:
    page = tab.page
    rows = await market.fetch("SELECT value FROM pipeline_settings WHERE key = 'is_sample'")
    is_sample = rows[0]["value"] == "true"
    await _open(page, dashboard)
    assert await page.locator("#sample-alert").count() == (1 if is_sample else 0)
    # The same database labelled the other way round flips the banner.
    await market.execute("UPDATE pipeline_settings SET value = $1 WHERE key = 'is_sample'",
                         "false" if is_sample else "true")
    try:
        await _open(page, dashboard)
        await page.wait_for_timeout(300)  # the frame renders beside the view
        assert await page.locator("#sample-alert").count() == (0 if is_sample else 1)
        if not is_sample:
            assert "샘플 데이터" in await page.inner_text("#sample-alert")
    finally:
        await market.execute("UPDATE pipeline_settings SET value = $1 WHERE key = 'is_sample'",
                             "true" if is_sample else "false")


async def test_the_freshness_line_and_the_methodology(
    tab: Tab, dashboard: DashboardServer
) -> None:
    page = tab.page
    await _open(page, dashboard)
    freshness = await page.inner_text("#freshness")
    assert LATEST in freshness and "마지막 성공 실행" in freshness
    for stage in ("benchmark", "sector", "trending", "holdings", "allocation"):
        assert stage in freshness
    await page.click("#methodology button")
    await page.wait_for_selector("#methodology-items li", state="visible")
    assert "SPY" in await page.inner_text("#methodology-items")


async def test_an_unreachable_api_reads_as_a_message_not_a_crash(tab: Tab) -> None:
    page = tab.page
    port = free_port()
    down = DashboardServer(f"http://127.0.0.1:{port}").start()
    try:
        await page.goto(down.url)
        await page.wait_for_selector(".tf-error", timeout=TIMEOUT_MS)
        message = await page.inner_text(".tf-error")
        assert "API 서버" in message and f"127.0.0.1:{port}" in message
        assert await page.locator(".dash-fe-error__title").count() == 0
        assert tab.errors == []
    finally:
        down.stop()


async def test_the_refresh_rereads_the_api_and_keeps_a_chosen_session(
    tab: Tab, dashboard: DashboardServer, api: ApiServer
) -> None:
    page = tab.page
    await _open(page, dashboard)
    interval = await page.evaluate(
        "() => fetch('/_dash-layout').then(r => r.json()).then(l => JSON.stringify(l))")
    assert '"interval": 300000' in interval.replace('":', '": ')  # every 5 minutes
    await page.fill("#date-picker", EARLIER)
    await page.press("#date-picker", "Enter")
    await _drawn(page, "20", as_of=EARLIER)
    mark = api.log.mark()
    # What the 5-minute timer does when it fires.
    await page.evaluate("() => window.dash_clientside.set_props('refresh', {n_intervals: 1})")
    for _ in range(100):
        if len(api.log.since(mark)) >= 4:
            break
        await page.wait_for_timeout(100)
    paths = [path for path, _ in api.log.since(mark)]
    assert paths.count("/dashboard/status") == 1 and len(paths) == 4, paths
    await _drawn(page, "20", as_of=EARLIER)
    assert await page.input_value("#date-picker") == EARLIER


async def test_the_api_key_is_sent_and_a_missing_one_is_explained(
    tab: Tab, market: Market
) -> None:
    import secrets

    page = tab.page
    key = secrets.token_urlsafe(16)
    locked = ApiServer(market.url, api_key=key).start()
    with_key = DashboardServer(locked.url, api_key=key).start()
    without_key = DashboardServer(locked.url).start()
    try:
        await _open(page, with_key)
        assert await _row_tickers(page, "portfolio-table") == await _portfolio(market, LATEST, 20)
        await page.goto(without_key.url)
        await page.wait_for_selector(".tf-error", timeout=TIMEOUT_MS)
        assert "API 키" in await page.inner_text(".tf-error")
        assert key not in await page.content()
    finally:
        without_key.stop()
        with_key.stop()
        locked.stop()


async def test_an_empty_database_says_to_run_the_pipeline(tab: Tab, pg_server: Any) -> None:
    import secrets

    import asyncpg

    from trendfolio.db.migrate import migrate

    name = f"dash_empty_{secrets.token_hex(4)}"
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
        assert "trendfolio run" in await page.inner_text("#view-content")
        assert await page.locator(".tf-error").count() == 0
        assert tab.errors == []
    finally:
        empty.stop()
        empty_api.stop()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
