"""Hostile and broken messages for every topic: each must be dead-lettered, never written."""

from __future__ import annotations

import json

from trendfolio.messages import TOPIC_ETF_DAILY, TOPIC_ETF_HOLDINGS, TOPIC_STOCK_DAILY


def _j(obj: object) -> bytes:
    return json.dumps(obj).encode()


def _bar(**over: object) -> dict[str, object]:
    base: dict[str, object] = {"schema_version": 1, "kind": "etf_bar", "ticker": "SPY",
                               "trade_date": "2026-08-20", "close": 500.0, "source": "test"}
    base.update(over)
    return base


def _stock(**over: object) -> dict[str, object]:
    base = _bar(kind="stock_bar", ticker="AAPL")
    base.update(over)
    return base


def _holdings(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "schema_version": 1, "kind": "etf_holdings", "etf_ticker": "XLK",
        "as_of_date": "2026-08-20", "point_in_time": True, "source": "test",
        "holdings": [{"holding_ticker": "AAPL", "weight": 0.1}],
    }
    base.update(over)
    return base


SQL = "'; DROP TABLE collected_01_daily_etf_ohlc; --"

MALFORMED: list[tuple[str, bytes | None, str]] = [
    # (topic, raw value, what is wrong)
    (TOPIC_ETF_DAILY, b"", "empty"),
    (TOPIC_ETF_DAILY, None, "null value"),
    (TOPIC_ETF_DAILY, b"not json at all", "not JSON"),
    (TOPIC_ETF_DAILY, b"\xff\xfe\x00garbage", "not UTF-8"),
    (TOPIC_ETF_DAILY, b"[1, 2, 3]", "a JSON array"),
    (TOPIC_ETF_DAILY, b'{"schema_version": 1', "truncated JSON"),
    (TOPIC_ETF_DAILY, _j(_bar(schema_version=99)), "unknown schema version"),
    (TOPIC_ETF_DAILY, _j(_bar(close="500")), "close as a string"),
    (TOPIC_ETF_DAILY, _j(_bar(close=-12.5)), "negative price"),
    (TOPIC_ETF_DAILY, _j(_bar(close=0)), "zero price"),
    (TOPIC_ETF_DAILY, _j(_bar(volume=-5)), "negative volume"),
    (TOPIC_ETF_DAILY, _j(_bar(volume=1.5)), "fractional volume"),
    (TOPIC_ETF_DAILY, _j(_bar(trade_date="2026-02-30")), "impossible date"),
    (TOPIC_ETF_DAILY, _j(_bar(trade_date="20260820")), "date without dashes"),
    (TOPIC_ETF_DAILY, _j(_bar(trade_date="1899-01-01")), "date out of range"),
    (TOPIC_ETF_DAILY, _j(_bar(ticker="A" * 500)), "500-character ticker"),
    (TOPIC_ETF_DAILY, _j(_bar(ticker=SQL)), "SQL in the ticker"),
    (TOPIC_ETF_DAILY, _j(_bar(source=SQL)), "SQL in the source"),
    (TOPIC_ETF_DAILY, _j(_bar(high=1.0, low=2.0)), "high below low"),
    (TOPIC_ETF_DAILY, _j(_bar(extra="field")), "unknown field"),
    (TOPIC_ETF_DAILY, _j(_bar(kind="stock_bar")), "kind of another topic"),
    (TOPIC_ETF_DAILY, b'{"schema_version":1,"kind":"etf_bar","ticker":"SPY",'
     b'"trade_date":"2026-08-20","close":NaN,"source":"t"}', "NaN price"),
    (TOPIC_STOCK_DAILY, _j(_stock(market_cap=-1)), "negative market cap"),
    (TOPIC_STOCK_DAILY, _j(_stock(sector="x" * 500)), "oversized sector"),
    (TOPIC_STOCK_DAILY, _j(_stock(company_name="bad\x00name")), "NUL in a name"),
    (TOPIC_STOCK_DAILY, _j({"schema_version": 1, "kind": "stock_fundamental", "ticker": "AAPL",
                            "as_of_date": "2026-08-20", "source": "t"}), "fundamental with no value"),
    (TOPIC_ETF_HOLDINGS, _j(_holdings(holdings=[])), "empty holdings"),
    (TOPIC_ETF_HOLDINGS, _j(_holdings(holdings=[{"holding_ticker": "AAPL", "weight": 1.7}])),
     "weight above 1"),
    (TOPIC_ETF_HOLDINGS, _j(_holdings(holdings=[{"holding_ticker": "AAPL", "weight": 0.1},
                                                {"holding_ticker": "AAPL", "weight": 0.2}])),
     "duplicate holding"),
    (TOPIC_ETF_HOLDINGS, _j(_holdings(etf_ticker=SQL)), "SQL in the ETF ticker"),
    (TOPIC_ETF_HOLDINGS, _j(_holdings(point_in_time="yes")), "boolean as a string"),
]
