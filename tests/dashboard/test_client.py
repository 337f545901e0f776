"""The API client and the view loader against the real API (no browser)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.dashboard.stack import EARLIER, LATEST, TRENDFOLIO, ApiServer
from tests.support.dashboard import Market
from tests.support.net import free_port
from trendfolio_dashboard.api import ApiClient, ApiError
from trendfolio_dashboard.data import load_status, load_view, monthly_rebalance_in_force


@pytest.mark.parametrize(
    ("day", "rebalance"),
    [
        ("2026-08-20", "2026-07-31"),  # mid-month: last month's portfolio
        ("2026-07-31", "2026-07-31"),  # a month's last session rebalances that day
        ("2026-01-02", "2025-12-31"),  # across the year end
        ("2026-06-01", "2026-05-29"),  # May 2026 ends on a Sunday: its last session is Friday
    ],
)
def test_the_monthly_portfolio_in_force_is_the_last_month_end_rebalance(
    day: str, rebalance: str
) -> None:
    assert monthly_rebalance_in_force(date.fromisoformat(day)) == date.fromisoformat(rebalance)


def test_errors_name_what_went_wrong(api: ApiServer) -> None:
    client = ApiClient(api.url)
    with pytest.raises(ApiError) as bad_period:
        client.portfolio(7, None)
    assert bad_period.value.status == 422 and "period_days" in bad_period.value.detail
    with pytest.raises(ApiError) as no_data:
        client.portfolio(20, date(2026, 1, 2))
    assert no_data.value.status == 404 and "2026-01-02" in no_data.value.message("ko")

    port = free_port()
    down = ApiClient(f"http://127.0.0.1:{port}")
    with pytest.raises(ApiError) as unreachable:
        down.status()
    assert unreachable.value.kind == "unreachable"
    assert f"127.0.0.1:{port}" in unreachable.value.message("ko")
    assert f"127.0.0.1:{port}" in unreachable.value.message("en")


async def test_a_view_is_a_few_requests_and_follows_the_chosen_date(
    api: ApiServer, market: Market
) -> None:
    client = ApiClient(api.url)
    status = load_status(client)["ok"]
    assert status["latest_as_of_date"] == LATEST and EARLIER in status["available_dates"]
    latest = date.fromisoformat(LATEST)
    for view in ("5", "10", "20", "monthly"):
        mark = api.log.mark()
        data = load_view(client, view, date.fromisoformat(EARLIER), latest)
        requests = api.log.since(mark)
        assert 1 <= len(requests) <= 4, requests
        assert all("error" not in part for part in data.values() if isinstance(part, dict)), data
    earlier = load_view(client, "10", date.fromisoformat(EARLIER), latest)
    tickers = [r["ticker"] for r in earlier["portfolio"]["ok"]]
    expected = await market.fetch(
        "SELECT ticker FROM analytics_05_portfolio_allocation WHERE as_of_date = $1 "
        "AND period_days = 10 ORDER BY rank", date.fromisoformat(EARLIER))
    assert tickers == [r["ticker"] for r in expected]


def test_trendfolio_serve_dashboard_serves_the_page_for_the_api(
    api: ApiServer, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDFOLIO_")}
    env.update(TRENDFOLIO_HOME=str(tmp_path), TRENDFOLIO_API_URL=api.url)
    with (tmp_path / "dashboard.log").open("w") as log:
        proc = subprocess.Popen(
            [str(TRENDFOLIO), "serve", "dashboard", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, (
                    (tmp_path / "dashboard.log").read_text())
                time.sleep(0.2)
            page = httpx.get(url, timeout=10)
            assert page.status_code == 200 and '<html lang="ko">' in page.text
            layout = httpx.get(f"{url}/_dash-layout", timeout=10).json()
            assert f'"latest_as_of_date": "{LATEST}"' in json.dumps(layout)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
