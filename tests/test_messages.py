from datetime import date

import pytest

from tests.support.malformed import MALFORMED
from trendfolio.messages import (
    EtfDaily,
    EtfHoldings,
    HoldingItem,
    InvalidMessage,
    StockDaily,
    StockFundamental,
    decode,
    encode,
    key_of,
    topic_of,
)


@pytest.mark.parametrize(
    "message",
    [
        EtfDaily(ticker="SPY", trade_date=date(2026, 8, 20), open=1.0, high=2.0, low=0.5,
                 close=1.5, adj_close=1.4, volume=10, source="csv"),
        StockDaily(ticker="BRK-B", trade_date=date(2026, 8, 20), close=480.0, source="csv",
                   company_name="Berkshire", sector="Financial", currency="USD", market_cap=1e12),
        StockFundamental(ticker="005930.KS", as_of_date=date(2026, 8, 20),
                         shares_outstanding=5.9e9, source="yfinance"),
        EtfHoldings(etf_ticker="XLK", as_of_date=date(2026, 8, 20), point_in_time=False,
                    source="csv", holdings=[HoldingItem(holding_ticker="AAPL", weight=0.13)]),
    ],
)
def test_round_trip(message: object) -> None:
    raw = encode(message)  # type: ignore[arg-type]
    assert decode(topic_of(message), raw) == message  # type: ignore[arg-type]


def test_keys_are_ticker_and_etf() -> None:
    h = EtfHoldings(etf_ticker="XLK", as_of_date=date(2026, 8, 20), point_in_time=True,
                    source="csv", holdings=[HoldingItem(holding_ticker="AAPL", weight=0.1)])
    assert key_of(h) == "XLK" and topic_of(h) == "etf-holdings-data"


@pytest.mark.parametrize(("topic", "raw", "what"), MALFORMED, ids=[m[2] for m in MALFORMED])
def test_malformed_messages_are_rejected_with_a_reason(topic: str, raw: bytes | None,
                                                       what: str) -> None:
    with pytest.raises(InvalidMessage) as err:
        decode(topic, raw)
    assert err.value.reason


def test_unknown_topic() -> None:
    with pytest.raises(InvalidMessage, match="unknown topic"):
        decode("stock-market-data", b"{}")
