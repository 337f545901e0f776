"""Bad and hostile input: 422 naming the parameter, 404 for what does not exist, never a 500;
the API key, CORS, /metrics and the read-only role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.api import ApiServer, LoadedDb, start_server
from trendfolio.db.connect import connection

BAD = [
    ("/stocks/portfolio", {"period_days": "7"}, "period_days"),
    ("/stocks/portfolio", {"period_days": "twenty"}, "period_days"),
    ("/stocks/portfolio", {"period_days": "-20"}, "period_days"),
    ("/dashboard/active-allocations", {"period_days": "15"}, "period_days"),
    ("/dashboard/trending-etfs", {"period_days": "0"}, "period_days"),
    ("/stocks/portfolio", {"as_of_date": "2026-02-30"}, "as_of_date"),
    ("/stocks/portfolio", {"as_of_date": "yesterday"}, "as_of_date"),
    ("/stocks/portfolio", {"as_of_date": "2026-08-20'; DROP TABLE collected_00_meta_etf; --"},
     "as_of_date"),
    ("/stocks/monthly-portfolio", {"rebalance_date": "31/07/2026"}, "rebalance_date"),
    ("/stocks/AAPL/history", {"limit": "0"}, "limit"),
    ("/stocks/AAPL/history", {"limit": "501"}, "limit"),
    ("/stocks/AAPL/history", {"limit": "99999999999999999999999"}, "limit"),
    ("/stocks/AAPL/history", {"start_date": "2026-13-01"}, "start_date"),
    ("/dashboard/trending-etf-top-holdings", {"limit": "11"}, "limit"),
    ("/dashboard/trending-etf-top-holdings", {"limit": "0"}, "limit"),
    ("/dashboard/monthly-performance", {"months": "25"}, "months"),
    ("/dashboard/etf-benchmark", {}, "ticker"),
    ("/dashboard/etf-benchmark", {"ticker": "SPY", "days": "401"}, "days"),
    ("/dashboard/etf-benchmark", {"ticker": "SPY' OR '1'='1"}, "ticker"),
    ("/api/etf-holdings/top-holdings/XLK", {"time_period": "7"}, "time_period"),
    ("/stocks/AA PL/history", {}, "symbol"),
    ("/stocks/' OR 1=1 --/history", {}, "symbol"),
    ("/stocks/%00/history", {}, "symbol"),
    ("/stocks/삼성전자/history", {}, "symbol"),
    (f"/stocks/{'A' * 5000}/history", {}, "symbol"),
    ("/api/etf-holdings/top-holdings/XLK;DROP", {}, "etf_ticker"),
    ("/backtest", {"run_id": "0"}, "run_id"),
    ("/backtest", {"run_id": "-1"}, "run_id"),
    ("/backtest", {"run_id": "latest"}, "run_id"),
    ("/backtest", {"run_id": "1; DELETE FROM backtest_runs"}, "run_id"),
    ("/backtest", {"run_id": str(2**63)}, "run_id"),
    ("/backtest/runs", {"limit": "0"}, "limit"),
    ("/backtest/runs", {"limit": "101"}, "limit"),
]


@pytest.mark.parametrize(("path", "params", "name"), BAD)
def test_bad_input_is_a_422_naming_the_parameter(
    client: httpx.Client, path: str, params: dict[str, str], name: str
) -> None:
    resp = client.get(path, params=params)
    assert resp.status_code == 422, resp.text
    assert name in {e["loc"][-1] for e in resp.json()["detail"]}


MISSING = [
    ("/stocks/portfolio", {"as_of_date": "2026-07-30"}, "2026-07-30"),  # a session, never run
    ("/stocks/portfolio", {"as_of_date": "1900-01-01"}, "1900-01-01"),
    ("/dashboard/trending-etfs", {"as_of_date": "2026-08-22"}, "2026-08-22"),  # a Saturday
    ("/dashboard/trending-etf-top-holdings", {"as_of_date": "2026-07-29"}, "2026-07-29"),
    ("/dashboard/active-allocations", {"as_of_date": "9999-12-31"}, "9999-12-31"),
    ("/dashboard/monthly-performance", {"as_of_date": "2026-07-30"}, "2026-07-30"),
    ("/stocks/monthly-portfolio", {"rebalance_date": "2026-06-30"}, "2026-06-30"),
    ("/dashboard/monthly-vs-spy", {"rebalance_date": "2026-06-30"}, "2026-06-30"),
    ("/stocks/NOSUCH/history", {}, "NOSUCH"),
    ("/dashboard/etf-benchmark", {"ticker": "ZZZ"}, "ZZZ"),
    ("/api/etf-holdings/top-holdings/AAPL", {}, "AAPL"),
    ("/backtest", {"run_id": "987654321"}, "987654321"),
    ("/backtest", {"run_id": str(2**63 - 1)}, str(2**63 - 1)),
]


@pytest.mark.parametrize(("path", "params", "what"), MISSING)
def test_unknown_things_are_a_404_naming_them(
    client: httpx.Client, path: str, params: dict[str, str], what: str
) -> None:
    resp = client.get(path, params=params)
    assert resp.status_code == 404, resp.text
    assert what in resp.json()["detail"]


async def test_hostile_input_left_the_data_alone(client: httpx.Client, loaded_db: LoadedDb) -> None:
    client.get("/stocks/x/history", params={"start_date": "2026-01-01); DELETE FROM x; --"})
    async with connection(loaded_db.url) as conn:
        assert await conn.fetchval("SELECT count(*) FROM collected_00_meta_etf") == 17


async def test_the_api_reads_with_the_read_only_role(api: ApiServer, loaded_db: LoadedDb) -> None:
    async with connection(loaded_db.url) as conn:
        users = {r["usename"] for r in await conn.fetch(
            "SELECT usename FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")}
    assert "api_test_reader" in users
    async with connection(loaded_db.reader_url) as reader:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await reader.execute("DELETE FROM analytics_05_portfolio_allocation")


@pytest.fixture(scope="module")
def keyed_api(
    loaded_db: LoadedDb, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    home: Path = tmp_path_factory.mktemp("keyed")
    yield from start_server(loaded_db, home, TRENDFOLIO_API_KEY="k3y-for-the-api-tests")


def test_the_api_key_is_required_when_configured(keyed_api: ApiServer) -> None:
    url = f"{keyed_api.url}/stocks/portfolio"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"X-API-Key": "k3y-for-the-api-tests-not"}).status_code == 401
    assert httpx.get(url, headers={"X-API-Key": "k3y-for-the-api-tests"}).status_code == 200
    assert httpx.get(f"{keyed_api.url}/health").status_code == 200
    assert httpx.get(f"{keyed_api.url}/metrics").status_code == 200


def test_without_a_key_configured_the_api_is_open(client: httpx.Client) -> None:
    assert client.get("/stocks/portfolio", headers={"X-API-Key": "anything"}).status_code == 200


def test_cors_allows_only_the_configured_origin(client: httpx.Client) -> None:
    ok = client.get("/health", headers={"Origin": "http://127.0.0.1:8050"})
    assert ok.headers["access-control-allow-origin"] == "http://127.0.0.1:8050"
    other = client.get("/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_metrics_count_requests_by_route_and_status(client: httpx.Client) -> None:
    client.get("/stocks/portfolio", params={"period_days": 7})
    client.get("/stocks/NOSUCH/history")
    text = client.get("/metrics").text
    assert 'trendfolio_api_requests_total{method="GET",route="/stocks/portfolio",status="422"}' in text
    assert 'route="/stocks/{symbol}/history",status="404"' in text
    assert 'trendfolio_api_request_seconds_bucket{le="0.015",method="GET",route="/stocks/portfolio"}' in text
