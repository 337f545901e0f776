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


# ----------------------------------------------------------------- the fast path of bar decoding


def _mutations() -> list[tuple[str, bytes]]:
    """Good bars with one field changed (or added, or removed) in many ways, good and bad."""
    import json

    from trendfolio.messages import TOPIC_ETF_DAILY, TOPIC_STOCK_DAILY

    etf = {"schema_version": 1, "kind": "etf_bar", "ticker": "SPY", "trade_date": "2026-08-20",
           "open": 500.0, "high": 501.0, "low": 499.0, "close": 500.5, "adj_close": 500.5,
           "volume": 10, "source": "test"}
    stock = {**etf, "kind": "stock_bar", "ticker": "BRK-B", "company_name": "Berkshire",
             "sector": "Financial", "currency": "USD", "market_cap": 1e12}
    values: list[object] = [
        None, True, False, 0, -0, 1, -1, 1.5, 0.0, -0.0, 1e9, 1e9 - 1e-6, 999999999.9999999,
        1e15, 1e15 - 1, 1e13, 2**63, 2**63 - 1, 2**64, 10**30, 1e308, "", "x", "SPY", "SPY\n",
        " SPY", "spy", "^GSPC", "005930.KS", "BRK-B", "A" * 16, "A" * 17, "US", "USD", "USDX",
        "usd", "a\u00e9", "tab\there", "x" * 64, "x" * 65, "x" * 100, "x" * 101, "x" * 255,
        "x" * 256, "bench", "csv:dir/a_b.c-d", "a b", "2026-08-20", "2026-02-30", "1970-01-01",
        "1969-12-31", "2100-12-31", "2101-01-01", "2026-08-20T00:00:00", "20260820",
        "etf_bar", "stock_bar", "stock_fundamental", [], {}, [1], {"a": 1},
    ]
    out: list[tuple[str, bytes]] = []
    for topic, base in ((TOPIC_ETF_DAILY, etf), (TOPIC_STOCK_DAILY, stock)):
        out.append((topic, json.dumps(base).encode()))
        for field in [*base, "extra", "shares_outstanding", "as_of_date"]:
            smaller = {k: v for k, v in base.items() if k != field}
            out.append((topic, json.dumps(smaller).encode()))
            for value in values:
                out.append((topic, json.dumps({**base, field: value}).encode()))
        for high, low in ((1.0, 2.0), (2.0, 2.0), (None, 2.0), (1.0, None)):
            out.append((topic, json.dumps({**base, "high": high, "low": low}).encode()))
        good = json.dumps(base).encode()
        out += [(topic, good + b" "), (topic, b" " + good), (topic, good + b"x"),
                (topic, good[:-1] + b', "ticker": "QQQ"}'), (topic, good[:-1] + b', "close": 0}'),
                (topic, good.replace(b"500.5", b"5.005e2")), (topic, good.replace(b"10,", b"1e1,")),
                (topic, good.replace(b'"SPY"', b'"S\\u0050Y"')), (topic, good[:-1] + b",}"),
                (topic, good.replace(b'"test"', b'"te\\ud800st"'))]
    return out


def test_the_fast_path_accepts_only_what_pydantic_accepts_with_the_same_values() -> None:
    from tests.support.malformed import MALFORMED
    from trendfolio.messages import decode_bar_fast

    accepted = 0
    cases = [(t, r) for t, r, _ in MALFORMED] + _mutations()
    for topic, raw in cases:
        bar = decode_bar_fast(topic, raw)
        try:
            model = decode(topic, raw)
        except InvalidMessage:
            assert bar is None, (topic, raw)
            continue
        if bar is not None:
            accepted += 1
            fields = {f: getattr(bar, f) for f in bar.__struct_fields__}
            assert fields == model.model_dump(), (topic, raw)
        # else: declined, and pydantic accepted it (``"schema_version": true``, which pydantic
        # takes for 1): slower, never wrong.
    assert accepted > 50
    assert all(decode_bar_fast(t, r) is None for t, r, _ in MALFORMED)
