"""The JSON messages on the three Kafka topics, validated on both sides (``schema_version`` 1)."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

SCHEMA_VERSION: Literal[1] = 1
TOPIC_ETF_DAILY = "etf-daily-data"
TOPIC_ETF_HOLDINGS = "etf-holdings-data"
TOPIC_STOCK_DAILY = "stock-daily-data"
TOPICS = (TOPIC_ETF_DAILY, TOPIC_ETF_HOLDINGS, TOPIC_STOCK_DAILY)

# Yahoo symbols: letters, digits and . - ^ = (BRK-B, 005930.KS, ^GSPC); nothing SQL-shaped.
TICKER_PATTERN = r"^[A-Z0-9^][A-Z0-9.\-=^]{0,15}$"
Ticker = Annotated[str, StringConstraints(pattern=TICKER_PATTERN)]
Price = Annotated[float, Field(gt=0, lt=1e9, allow_inf_nan=False)]
Text = Annotated[str, StringConstraints(max_length=255, pattern=r"^[^\x00-\x1f]*$")]
Sector = Annotated[str, StringConstraints(max_length=100, pattern=r"^[^\x00-\x1f]*$")]
Source = Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9:_./\-]+$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Day = Annotated[date, Field(ge=date(1970, 1, 1), le=date(2100, 12, 31))]


def is_ticker(text: str) -> bool:
    """Whether ``text`` is a symbol the messages accept (cash lines such as ``-`` are not)."""
    import re

    return re.fullmatch(TICKER_PATTERN, text) is not None


class _Message(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION


class _Bar(_Message):
    trade_date: Day
    open: Price | None = None
    high: Price | None = None
    low: Price | None = None
    close: Price
    adj_close: Price | None = None
    volume: Annotated[int, Field(ge=0, lt=2**63)] | None = None
    source: Source

    @model_validator(mode="after")
    def _range_is_consistent(self) -> _Bar:
        if self.high is not None and self.low is not None and self.high < self.low:
            raise ValueError(f"high {self.high} is below low {self.low}")
        return self


class EtfDaily(_Bar):
    """One ETF bar (topic ``etf-daily-data``, key = ticker)."""

    kind: Literal["etf_bar"] = "etf_bar"
    ticker: Ticker


class HoldingItem(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    holding_ticker: Ticker
    holding_name: Text | None = None
    weight: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
    currency: Currency | None = None


class EtfHoldings(_Message):
    """A whole holdings snapshot of one ETF (topic ``etf-holdings-data``, key = ETF)."""

    kind: Literal["etf_holdings"] = "etf_holdings"
    etf_ticker: Ticker
    as_of_date: Day
    point_in_time: bool
    holdings: Annotated[list[HoldingItem], Field(min_length=1, max_length=5000)]
    source: Source

    @model_validator(mode="after")
    def _unique_holdings(self) -> EtfHoldings:
        seen: set[str] = set()
        for h in self.holdings:
            if h.holding_ticker in seen:
                raise ValueError(f"holding {h.holding_ticker} appears twice")
            seen.add(h.holding_ticker)
        total = math.fsum(h.weight for h in self.holdings)
        if total > 1.05:
            raise ValueError(f"weights sum to {total:.4f} > 1")
        return self


class StockDaily(_Bar):
    """One stock bar with what is known of the company (topic ``stock-daily-data``)."""

    kind: Literal["stock_bar"] = "stock_bar"
    ticker: Ticker
    company_name: Text | None = None
    sector: Sector | None = None
    currency: Currency | None = None
    market_cap: Annotated[float, Field(gt=0, lt=1e15, allow_inf_nan=False)] | None = None


class StockFundamental(_Message):
    """A dated market-cap / shares-outstanding observation (topic ``stock-daily-data``)."""

    kind: Literal["stock_fundamental"] = "stock_fundamental"
    ticker: Ticker
    as_of_date: Day
    market_cap: Annotated[float, Field(gt=0, lt=1e15, allow_inf_nan=False)] | None = None
    shares_outstanding: Annotated[float, Field(gt=0, lt=1e13, allow_inf_nan=False)] | None = None
    source: Source

    @model_validator(mode="after")
    def _has_a_value(self) -> StockFundamental:
        if self.market_cap is None and self.shares_outstanding is None:
            raise ValueError("neither market_cap nor shares_outstanding is given")
        return self


Message = EtfDaily | EtfHoldings | StockDaily | StockFundamental


class InvalidMessage(ValueError):
    """A message that cannot be accepted; ``reason`` is stored in ``logs_consumer_error``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_BY_TOPIC: dict[str, tuple[type[_Message], ...]] = {
    TOPIC_ETF_DAILY: (EtfDaily,),
    TOPIC_ETF_HOLDINGS: (EtfHoldings,),
    TOPIC_STOCK_DAILY: (StockDaily, StockFundamental),
}


_ADAPTERS: dict[str, TypeAdapter[Message]] = {
    TOPIC_ETF_DAILY: TypeAdapter(EtfDaily),
    TOPIC_ETF_HOLDINGS: TypeAdapter(EtfHoldings),
    TOPIC_STOCK_DAILY: TypeAdapter(
        Annotated[StockDaily | StockFundamental, Field(discriminator="kind")]
    ),
}


def topic_of(message: Message) -> str:
    return next(t for t, kinds in _BY_TOPIC.items() if isinstance(message, kinds))


def key_of(message: Message) -> str:
    return message.etf_ticker if isinstance(message, EtfHoldings) else message.ticker


def encode(message: Message) -> bytes:
    return message.model_dump_json().encode()


def _short(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "message"
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def decode(topic: str, raw: bytes | None) -> Message:
    """Parse and validate one raw value from ``topic``; raise InvalidMessage with the reason."""
    kinds = _BY_TOPIC.get(topic)
    if kinds is None:
        raise InvalidMessage(f"unknown topic {topic!r}")
    if not raw:
        raise InvalidMessage("empty message")
    try:
        # One parse: the topic's adapter reads the JSON and picks the model by ``kind``.
        return _ADAPTERS[topic].validate_json(raw)
    except ValidationError as err:
        raise InvalidMessage(_short(err)) from None
