"""The JSON messages on the three Kafka topics, validated on both sides (``schema_version`` 1)."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Annotated, Literal

import msgspec
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
# The limits below are the schema's; the pydantic types and the fast path both use them.
TEXT_PATTERN = r"^[^\x00-\x1f]*$"  # no control characters
TEXT_MAX, SECTOR_MAX, SOURCE_MAX = 255, 100, 64
SOURCE_PATTERN = r"^[A-Za-z0-9:_./\-]+$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
PRICE_MAX = 1e9  # prices are > 0 and < PRICE_MAX
MARKET_CAP_MAX = 1e15
VOLUME_MAX = 2**63  # volume is >= 0 and < VOLUME_MAX (a bigint)
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2100, 12, 31)

Ticker = Annotated[str, StringConstraints(pattern=TICKER_PATTERN)]
Price = Annotated[float, Field(gt=0, lt=PRICE_MAX, allow_inf_nan=False)]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX, pattern=TEXT_PATTERN)]
Sector = Annotated[str, StringConstraints(max_length=SECTOR_MAX, pattern=TEXT_PATTERN)]
Source = Annotated[str, StringConstraints(max_length=SOURCE_MAX, pattern=SOURCE_PATTERN)]
Currency = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]
Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
MarketCap = Annotated[float, Field(gt=0, lt=MARKET_CAP_MAX, allow_inf_nan=False)]


def is_ticker(text: str) -> bool:
    """Whether ``text`` is a symbol the messages accept (cash lines such as ``-`` are not)."""
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
    volume: Annotated[int, Field(ge=0, lt=VOLUME_MAX)] | None = None
    source: Source

    @model_validator(mode="after")
    def _range_is_consistent(self) -> _Bar:
        problem = bar_range_problem(self.high, self.low)
        if problem:
            raise ValueError(problem)
        return self


def bar_range_problem(high: float | None, low: float | None) -> str | None:
    """The one rule across a bar's prices: its high is not below its low."""
    if high is not None and low is not None and high < low:
        return f"high {high} is below low {low}"
    return None


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
    market_cap: MarketCap | None = None


class StockFundamental(_Message):
    """A dated market-cap / shares-outstanding observation (topic ``stock-daily-data``)."""

    kind: Literal["stock_fundamental"] = "stock_fundamental"
    ticker: Ticker
    as_of_date: Day
    market_cap: MarketCap | None = None
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


# --------------------------------------------------------------------------- the fast path
#
# Bars are nearly every message; validating each into a pydantic model costs more CPU than
# writing it. ``decode_bar_fast`` decodes a bar with msgspec into a plain struct, with the
# same types and limits (the constants above), and returns None for anything it cannot prove
# valid: then ``decode`` (pydantic) gives the verdict and the dead-letter reason. So the fast
# path never rejects a message and never accepts one that ``decode`` would reject; the test
# suite checks both on every malformed message it knows and on mutations of good ones.


class _StringRule:
    """One of the schema's string types, checked as pydantic does and remembered when good.

    msgspec would run the pattern through Python's ``re`` for every message (most of its
    cost); the same few tickers, sources and names recur, so each distinct good value is
    checked once. ``\\Z`` ends the pattern: Python's ``$`` also matches before a final
    newline, pydantic's (Rust) regex does not.
    """

    _MAX_REMEMBERED = 100_000

    def __init__(self, pattern: str, max_length: int | None = None) -> None:
        assert pattern.endswith("$")
        self._re = re.compile(pattern[:-1] + r"\Z")
        self._max = max_length
        self.good: set[str] = set()

    def check(self, value: str) -> bool:
        if (self._max is not None and len(value) > self._max) or not self._re.match(value):
            return False
        if len(self.good) >= self._MAX_REMEMBERED:
            self.good.clear()
        self.good.add(value)
        return True


_TICKER = _StringRule(TICKER_PATTERN)
_SOURCE = _StringRule(SOURCE_PATTERN, SOURCE_MAX)
_TEXT = _StringRule(TEXT_PATTERN, TEXT_MAX)
_SECTOR = _StringRule(TEXT_PATTERN, SECTOR_MAX)
_CURRENCY = _StringRule(CURRENCY_PATTERN)

_FPrice = Annotated[float, msgspec.Meta(gt=0, lt=PRICE_MAX)]
_FVolume = Annotated[int, msgspec.Meta(ge=0, le=VOLUME_MAX - 1)]
_FMarketCap = Annotated[float, msgspec.Meta(gt=0, lt=MARKET_CAP_MAX)]


class FastBar(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    """A bar as ``decode_bar_fast`` returns it: the fields of EtfDaily / StockDaily."""

    schema_version: Literal[1] = 1
    ticker: str  # _TICKER
    trade_date: date
    open: _FPrice | None = None
    high: _FPrice | None = None
    low: _FPrice | None = None
    close: _FPrice
    adj_close: _FPrice | None = None
    volume: _FVolume | None = None
    source: str  # _SOURCE


class FastEtfBar(FastBar, kw_only=True, forbid_unknown_fields=True, gc=False):
    kind: Literal["etf_bar"] = "etf_bar"


class FastStockBar(FastBar, kw_only=True, forbid_unknown_fields=True, gc=False):
    # Required: the topic's union picks the model by ``kind``, so pydantic requires it too.
    kind: Literal["stock_bar"]
    company_name: str | None = None  # _TEXT
    sector: str | None = None  # _SECTOR
    currency: str | None = None  # _CURRENCY
    market_cap: _FMarketCap | None = None


_FAST: dict[str, msgspec.json.Decoder[FastEtfBar] | msgspec.json.Decoder[FastStockBar]] = {
    TOPIC_ETF_DAILY: msgspec.json.Decoder(FastEtfBar),
    TOPIC_STOCK_DAILY: msgspec.json.Decoder(FastStockBar),
}
_FAST_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)


def decode_bar_fast(topic: str, raw: bytes | None) -> FastEtfBar | FastStockBar | None:
    """A bar from ``topic`` proven valid by the fast path, or None: then ask ``decode``."""
    decoder = _FAST.get(topic)
    if decoder is None or not raw:
        return None
    try:
        bar = decoder.decode(raw)
    except _FAST_ERRORS:
        return None
    if not (
        FIRST_DAY <= bar.trade_date <= LAST_DAY
        and (bar.ticker in _TICKER.good or _TICKER.check(bar.ticker))
        and (bar.source in _SOURCE.good or _SOURCE.check(bar.source))
        and bar_range_problem(bar.high, bar.low) is None
    ):
        return None
    if type(bar) is FastStockBar:
        name, sector, currency = bar.company_name, bar.sector, bar.currency
        if not (
            (name is None or name in _TEXT.good or _TEXT.check(name))
            and (sector is None or sector in _SECTOR.good or _SECTOR.check(sector))
            and (currency is None or currency in _CURRENCY.good or _CURRENCY.check(currency))
        ):
            return None
    return bar
