"""Response models, one family per resource; field names follow the seed's JSON."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    """A 401, 404 or 503: what was missing or wrong, in words."""

    detail: str


class Health(BaseModel):
    status: str
    service: str
    database: str


class StageRun(BaseModel):
    stage: str
    as_of_date: date
    status: str
    finished_at: datetime | None
    rows_written: int


class Status(BaseModel):
    latest_as_of_date: date | None
    latest_by_period: dict[str, date]
    available_dates: list[date]
    latest_rebalance_date: date | None
    is_sample: bool
    source: str | None
    universe: str | None
    stages: list[StageRun]


class EtfInfo(BaseModel):
    ticker: str
    etf_name: str | None
    etf_type: str
    sector_name: str | None
    is_benchmark: bool
    is_sector: bool
    is_reference: bool


class TrendingEtf(BaseModel):
    etf_ticker: str
    etf_name: str | None
    etf_type: str | None
    sector_name: str | None
    is_benchmark: bool
    is_sector: bool
    return_pct: float | None
    spy_return_pct: float | None
    vs_spy_pct: float | None
    rank: int | None
    is_trending: bool
    close_price: float | None


class TrendingEtfs(BaseModel):
    as_of_date: date
    period_days: int
    spy_return_pct: float | None
    etfs: list[TrendingEtf]


class _AllocationBase(BaseModel):
    as_of_date: date
    ticker: str
    company_name: str | None
    sector: str
    market_cap: int | None
    market_cap_estimated: bool
    return_pct: float | None
    allocation_reason: str | None
    rank: int
    period_days: int
    etf_ticker: str
    etf_return_pct: float | None
    is_point_in_time: bool
    created_at: datetime


class PortfolioStock(_AllocationBase):
    """A row of ``/stocks/portfolio``: ``weight`` in percent."""

    weight: float


class ActiveAllocation(_AllocationBase):
    """A row of ``/dashboard/active-allocations``: ``portfolio_weight`` as a fraction."""

    portfolio_weight: float
    sector_avg: float | None
    is_trending: bool


class CardHolding(BaseModel):
    holding_ticker: str
    holding_name: str | None
    market_cap: int | None
    holding_return_pct: float | None
    rank_position: int | None
    mcap_rank: int | None
    is_pick: bool


class EtfCard(BaseModel):
    etf_ticker: str
    etf_name: str | None
    sector_name: str | None
    etf_return_pct: float | None
    is_benchmark: bool
    is_trending: bool
    pick_ticker: str | None
    holdings_as_of_date: date | None
    holdings: list[CardHolding]


class PortfolioPick(BaseModel):
    ticker: str
    company_name: str | None
    return_pct: float | None
    weight: float
    source_etf: str
    source_type: str | None


class EtfCards(BaseModel):
    period_days: int
    as_of_date: date
    etfs: list[EtfCard]
    portfolio_pick: PortfolioPick | None


class MonthlyStock(BaseModel):
    rebalance_date: date
    valid_until: date
    ticker: str
    company_name: str | None
    sector: str | None
    rank: int
    weight: float
    score: float
    source_periods: str | None
    return_pct: float | None
    market_cap: int | None
    allocation_reason: str | None
    created_at: datetime


class MonthlyPortfolio(BaseModel):
    rebalance_date: date | None
    valid_until: date | None
    total_stocks: int
    total_weight: float
    message: str | None
    data: list[MonthlyStock]


class MonthlyReturn(BaseModel):
    ticker: str
    month: date
    month_open: float | None
    month_close: float | None
    monthly_return: float | None
    is_complete: bool
    etf_type: str | None
    is_benchmark: bool
    sector_name: str | None


class CumulativePoint(BaseModel):
    date: date
    portfolio_pct: float | None
    spy_pct: float | None


class MonthlyVsSpy(BaseModel):
    rebalance_date: date | None
    valid_until: date | None
    end_date: date | None
    reference_etf: str | None
    points: list[CumulativePoint]


class EtfBar(BaseModel):
    ticker: str
    trade_date: date
    close_price: float
    adj_close: float | None
    price_change_percent: float | None


class HistoryRow(BaseModel):
    symbol: str
    company_name: str | None
    sector: str | None
    avg_price: float
    adj_close: float | None
    total_volume: int | None
    min_price: float | None
    max_price: float | None
    market_cap: int | None
    record_count: int
    window_start: date
    window_end: date


class TopHolding(BaseModel):
    holding_ticker: str
    holding_name: str | None
    holding_sector: str | None
    rank_position: int
    avg_return: float | None
    total_return: float | None
    volatility: float | None
    avg_volume: int | None
    current_price: float | None
    market_cap: int | None


class EtfTopHoldings(BaseModel):
    etf_ticker: str
    etf_type: str | None
    sector_name: str | None
    time_period: int
    as_of_date: date
    holdings: list[TopHolding]


# ---------------------------------------------------------------- backtests (fractions, not %)

class BacktestRun(BaseModel):
    """One `trendfolio backtest` run: its parameters and whether it was point-in-time."""

    id: int
    start_date: date
    end_date: date
    universe: str
    source: str
    is_sample: bool
    cost_bps: float
    lag: int = Field(description="sessions between a signal's close and the trade's close")
    sessions: int
    point_in_time: bool = Field(
        description="true only when every signal date used holdings and market caps dated, "
        "and stored, on or before it"
    )
    elapsed_seconds: float | None
    created_at: datetime


class StrategyMetrics(BaseModel):
    """A strategy's metrics from its equity curve after costs; fractions (0.05 = 5 %)."""

    total_return: float | None
    cagr: float | None
    volatility: float | None = Field(description="annualised: sample stdev of daily returns × √252")
    sharpe: float | None
    max_drawdown: float | None = Field(description="≤ 0")
    turnover_per_year: float | None
    trades: int
    hit_rate: float | None = Field(
        description="share of holding periods that beat SPY (null for SPY itself)"
    )


class StrategySeries(BaseModel):
    """One session's value per strategy (null where a strategy has none)."""

    model_config = ConfigDict(populate_by_name=True)

    date: date
    d5: float | None = Field(None, alias="5d")
    d10: float | None = Field(None, alias="10d")
    d20: float | None = Field(None, alias="20d")
    monthly: float | None = None
    SPY: float | None = None


class TradeTurnover(BaseModel):
    """A trade made at the close of ``date``: Σ|new weight − drifted weight|."""

    date: date
    strategy: str
    turnover: float


class PointInTimeDate(BaseModel):
    as_of_date: date
    picks: int
    holdings_dated_ok: bool
    caps_dated_ok: bool
    recorded_in_time: bool
    clean: bool = Field(description="all three checks passed")
    oldest_snapshot: date | None
    newest_cap: date | None
    last_recorded_at: datetime | None


class PointInTimeReport(BaseModel):
    dates: int = Field(description="signal dates checked")
    clean: int = Field(description="signal dates whose inputs were all known on the date")
    holdings_dated_ok: int
    caps_dated_ok: int
    recorded_in_time: int
    by_date: list[PointInTimeDate]


class PickLegReturns(BaseModel):
    """The pick leg alone: forward ``horizon``-session returns of each pick vs its source ETF."""

    period_days: int
    horizon: int
    picks: int
    mean_pick_return: float | None
    mean_etf_return: float | None
    mean_excess: float | None
    median_excess: float | None
    beat_etf_share: float | None


class Backtest(BaseModel):
    """Everything the 백테스트 tab draws, in one response."""

    run: BacktestRun
    caveats: list[str]
    strategies: dict[str, StrategyMetrics] = Field(
        description="keyed 5d, 10d, 20d, monthly, SPY (in that order)"
    )
    equity: list[StrategySeries] = Field(description="equity after costs, 1 at the first close")
    drawdown: list[StrategySeries] = Field(description="equity / running peak − 1 (≤ 0)")
    turnover: list[TradeTurnover]
    point_in_time: PointInTimeReport
    picks: list[PickLegReturns]
