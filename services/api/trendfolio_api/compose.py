"""Rows in, response models out: the pure half of every endpoint (no IO, unit-tested).

``crud`` reads the rows (asyncpg records, or any mapping in the tests) and hands them here. The
orderings are SPEC §4's, from :mod:`trendfolio.rules`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from trendfolio import rules
from trendfolio.backtest import STRATEGIES
from trendfolio_api import performance
from trendfolio_api.models import (
    ActiveAllocation,
    Backtest,
    BacktestRun,
    CardHolding,
    CumulativePoint,
    EtfBar,
    EtfCard,
    EtfCards,
    EtfInfo,
    EtfTopHoldings,
    HistoryRow,
    MonthlyPortfolio,
    MonthlyReturn,
    MonthlyStock,
    MonthlyVsSpy,
    PickLegReturns,
    PointInTimeDate,
    PointInTimeReport,
    PortfolioPick,
    PortfolioStock,
    StageRun,
    Status,
    StrategyMetrics,
    StrategySeries,
    TopHolding,
    TradeTurnover,
    TrendingEtf,
    TrendingEtfs,
)

Row = Mapping[str, Any]


def columns(**renamed: str) -> Callable[[Row, str], Any]:
    """A ``value`` for :meth:`rules.Ranking.sort_key` reading a rule's fields from row columns."""
    return lambda row, field: row[renamed.get(field, field)]


def is_benchmark(etf_type: str | None) -> bool:
    return etf_type in ("benchmark", "both")


def is_sector(etf_type: str | None) -> bool:
    return etf_type in ("sector", "both")


# ------------------------------------------------------------------------------ dashboard


def status(
    latest_by_period: Iterable[Row],
    dates: Sequence[date],
    settings: Mapping[str, str],
    stages: Iterable[Row],
    latest_rebalance: date | None,
) -> Status:
    return Status(
        latest_as_of_date=dates[0] if dates else None,
        latest_by_period={str(r["period_days"]): r["as_of_date"] for r in latest_by_period},
        available_dates=list(dates),
        latest_rebalance_date=latest_rebalance,
        is_sample=settings.get("is_sample") == "true",
        source=settings.get("source"),
        universe=settings.get("universe"),
        stages=[StageRun(**dict(r)) for r in stages],
    )


def etf_info(r: Row) -> EtfInfo:
    return EtfInfo(
        ticker=r["ticker"], etf_name=r["etf_name"], etf_type=r["etf_type"],
        sector_name=r["sector_name"], is_benchmark=is_benchmark(r["etf_type"]),
        is_sector=is_sector(r["etf_type"]), is_reference=r["is_reference"],
    )


_TRENDING_FIELDS = ("etf_ticker", "etf_name", "etf_type", "sector_name", "return_pct",
                    "spy_return_pct", "rank", "is_trending", "close_price")


def trending_etfs(day: date, period: int, rows: Sequence[Row]) -> TrendingEtfs:
    """The trending table: each ETF's stored row, its return against SPY's and its kind."""
    spy = next((r["spy_return_pct"] for r in rows if r["spy_return_pct"] is not None), None)
    etfs = [
        TrendingEtf(
            **{k: r[k] for k in _TRENDING_FIELDS},
            is_benchmark=is_benchmark(r["etf_type"]), is_sector=is_sector(r["etf_type"]),
            vs_spy_pct=(
                r["return_pct"] - r["spy_return_pct"]
                if r["return_pct"] is not None and r["spy_return_pct"] is not None
                else None
            ),
        )
        for r in rows
    ]
    return TrendingEtfs(as_of_date=day, period_days=period, spy_return_pct=spy, etfs=etfs)


# Benchmarks first, then SPEC §4 stage 3's order by return (ties: ticker).
CARD_ORDER = rules.Ranking(
    "ETF cards", (rules.Key("is_benchmark", descending=True), *rules.RETURN_RANK.keys)
)
# The portfolio's best pick is SPEC §4 stage 5's pick order over the portfolio rows.
_PICK_KEY = rules.PICK_ORDER.sort_key(columns(r="return_pct"))
# A card's mcap rank is SPEC §4 stage 4's market-cap order (largest first, ties: ticker).
_MCAP_KEY = rules.SELECTED_BY_MCAP.sort_key(getattr)


def _card_field(etf: Row, field: str) -> Any:
    if field == "is_benchmark":
        return is_benchmark(etf["etf_type"])
    return etf["return_pct" if field == "r" else field]


def etf_cards(
    day: date, period: int, etfs: Sequence[Row], holdings: Iterable[Row], picks: Sequence[Row]
) -> EtfCards:
    """Cards for the benchmarks, the ETFs trending over ``period`` and the ETFs the portfolio
    picked from (those trend over the trend period, which can differ from this one)."""
    pick_by_etf = {p["etf_ticker"]: p for p in picks}
    by_etf: dict[str, list[Row]] = {}
    for h in holdings:
        by_etf.setdefault(h["etf_ticker"], []).append(h)
    shown = [e for e in etfs
             if is_benchmark(e["etf_type"]) or e["is_trending"] or e["etf_ticker"] in pick_by_etf]
    cards = [
        etf_card(e, by_etf.get(e["etf_ticker"], []), pick_by_etf.get(e["etf_ticker"]))
        for e in CARD_ORDER.apply(shown, _card_field)
    ]
    types = {e["etf_ticker"]: e["etf_type"] for e in etfs}
    return EtfCards(period_days=period, as_of_date=day, etfs=cards,
                    portfolio_pick=portfolio_pick(picks, types))


def etf_card(etf: Row, holdings: Sequence[Row], pick: Row | None) -> EtfCard:
    """One card: its ranked holdings, the pick (★, added when not among them), mcap ranks."""
    pick_ticker = pick["ticker"] if pick is not None else None
    cards = [
        CardHolding(
            holding_ticker=h["holding_ticker"], holding_name=h["holding_name"],
            market_cap=h["market_cap"], holding_return_pct=h["total_return"],
            rank_position=h["rank_position"], mcap_rank=None,
            is_pick=h["holding_ticker"] == pick_ticker,
        )
        for h in holdings
    ]
    if pick is not None and not any(h.is_pick for h in cards):
        cards.append(CardHolding(
            holding_ticker=pick["ticker"], holding_name=pick["company_name"],
            market_cap=pick["market_cap"], holding_return_pct=pick["return_pct"],
            rank_position=None, mcap_rank=None, is_pick=True,
        ))
    for n, h in enumerate(sorted(cards, key=_MCAP_KEY), start=1):
        h.mcap_rank = n
    return EtfCard(
        etf_ticker=etf["etf_ticker"], etf_name=etf["etf_name"], sector_name=etf["sector_name"],
        etf_return_pct=etf["return_pct"], is_benchmark=is_benchmark(etf["etf_type"]),
        is_trending=etf["is_trending"], pick_ticker=pick_ticker,
        holdings_as_of_date=holdings[0]["as_of_date"] if holdings else None, holdings=cards,
    )


def portfolio_pick(picks: Iterable[Row], etf_types: Mapping[str, str]) -> PortfolioPick | None:
    """The portfolio's best pick by SPEC §4's pick order (highest return, larger mcap, ticker)."""
    best = min(picks, key=_PICK_KEY, default=None)
    if best is None:
        return None
    return PortfolioPick(
        ticker=best["ticker"], company_name=best["company_name"],
        return_pct=best["return_pct"], weight=best["portfolio_weight"],
        source_etf=best["etf_ticker"], source_type=etf_types.get(best["etf_ticker"]),
    )


def monthly_returns(rows: Sequence[Row], months: int) -> list[MonthlyReturn]:
    """The last ``months`` complete months and the current one, per ETF."""
    complete = sorted({r["month"] for r in rows if r["is_complete"]})
    keep = set(complete[-months:]) | {r["month"] for r in rows if not r["is_complete"]}
    return [
        MonthlyReturn(
            ticker=r["etf_ticker"], month=r["month"], month_open=r["month_open"],
            month_close=r["month_close"], monthly_return=r["monthly_return"],
            is_complete=r["is_complete"], etf_type=r["etf_type"],
            is_benchmark=is_benchmark(r["etf_type"]), sector_name=r["sector_name"],
        )
        for r in rows
        if r["month"] in keep
    ]


def monthly_vs_spy(
    reference: str,
    window: performance.ChartWindow | None,
    portfolio: Iterable[Row],
    stock_closes: Iterable[Row],
    reference_closes: Iterable[Row],
) -> MonthlyVsSpy:
    """The monthly portfolio's (its ``final_weight``) and the reference's cumulative returns."""
    if window is None:
        return MonthlyVsSpy(rebalance_date=None, valid_until=None, end_date=None,
                            reference_etf=reference, points=[])
    points = []
    if window.sessions:
        weights = {r["ticker"]: float(r["final_weight"]) for r in portfolio}
        sessions, base = window.sessions, window.base
        ours = performance.cumulative_returns(
            weights, performance.bars_by_ticker(stock_closes), sessions, base)
        spy = performance.cumulative_returns(
            {reference: 1.0}, performance.bars_by_ticker(reference_closes), sessions, base)
        points = [CumulativePoint(date=d, portfolio_pct=p, spy_pct=s)
                  for d, p, s in zip(sessions[base:], ours, spy, strict=True)]
    return MonthlyVsSpy(rebalance_date=window.start, valid_until=window.valid_until,
                        end_date=window.end, reference_etf=reference, points=points)


# --------------------------------------------------------------------------------- stocks


def portfolio(rows: Iterable[Row]) -> list[PortfolioStock]:
    """The period's portfolio with ``weight`` in percent."""
    return [PortfolioStock(**dict(r), weight=r["portfolio_weight"] * 100) for r in rows]


def active_allocations(rows: Iterable[Row]) -> list[ActiveAllocation]:
    """The same rows with ``portfolio_weight`` the stored fraction."""
    return [ActiveAllocation(**dict(r)) for r in rows]


_MONTHLY_FIELDS = ("rebalance_date", "valid_until", "ticker", "company_name", "sector", "score",
                   "source_periods", "market_cap", "allocation_reason", "created_at")


def monthly_portfolio(rows: Sequence[Row]) -> MonthlyPortfolio:
    """The monthly portfolio in the seed's shape, weights in percent."""
    if not rows:
        return MonthlyPortfolio(
            rebalance_date=None, valid_until=None, total_stocks=0, total_weight=0.0,
            message="No monthly portfolio data available", data=[],
        )
    data = [
        MonthlyStock(
            **{k: r[k] for k in _MONTHLY_FIELDS},
            rank=r["final_rank"], weight=r["final_weight"] * 100, return_pct=r["return_20d"],
        )
        for r in rows
    ]
    return MonthlyPortfolio(
        rebalance_date=rows[0]["rebalance_date"], valid_until=rows[0]["valid_until"],
        total_stocks=len(data), total_weight=round(sum(s.weight for s in data), 2),
        message=None, data=data,
    )


def history(rows: Iterable[Row]) -> list[HistoryRow]:
    """Daily bars in the seed's shape: one "window" per session."""
    return [
        HistoryRow(
            symbol=r["ticker"], company_name=r["company_name"], sector=r["sector"],
            avg_price=r["close_price"], adj_close=r["adj_close"], total_volume=r["volume"],
            min_price=r["low_price"], max_price=r["high_price"], market_cap=r["market_cap"],
            record_count=1, window_start=r["trade_date"], window_end=r["trade_date"],
        )
        for r in rows
    ]


def etf_bars(rows: Iterable[Row]) -> list[EtfBar]:
    return [EtfBar(**dict(r)) for r in rows]


# --------------------------------------------------------------------------- ETF holdings


_HOLDING_FIELDS = tuple(TopHolding.model_fields)


def top_holdings(rows: Iterable[Row]) -> list[EtfTopHoldings]:
    """Rows ordered by period and rank as one entry per period."""
    out: dict[int, EtfTopHoldings] = {}
    for r in rows:
        entry = out.get(r["time_period"])
        if entry is None:
            entry = out[r["time_period"]] = EtfTopHoldings(
                etf_ticker=r["etf_ticker"], etf_type=r["etf_type"], sector_name=r["sector_name"],
                time_period=r["time_period"], as_of_date=r["as_of_date"], holdings=[],
            )
        entry.holdings.append(TopHolding(**{k: r[k] for k in _HOLDING_FIELDS}))
    return list(out.values())


# ------------------------------------------------------------------------------ backtests


_RUN_FIELDS = tuple(BacktestRun.model_fields)
_METRIC_FIELDS = tuple(StrategyMetrics.model_fields)
_PIT_FIELDS = tuple(f for f in PointInTimeDate.model_fields if f != "clean")
_PICK_FIELDS = tuple(PickLegReturns.model_fields)


def backtest_run(r: Row) -> BacktestRun:
    return BacktestRun(**{k: r[k] for k in _RUN_FIELDS})


def strategy_series(rows: Iterable[Row], column: str) -> list[StrategySeries]:
    """Rows of (strategy, trade_date, column) as one point per date keyed by strategy."""
    by_date: dict[date, dict[str, Any]] = {}
    for r in rows:
        if r["strategy"] in STRATEGIES:
            point = by_date.setdefault(r["trade_date"], {"date": r["trade_date"]})
            point[r["strategy"]] = r[column]
    return [StrategySeries.model_validate(p) for p in by_date.values()]


def point_in_time(rows: Iterable[Row]) -> PointInTimeReport:
    """Per signal date whether its inputs were all known on the date, and the counts."""
    by_date = [
        PointInTimeDate(
            **{k: r[k] for k in _PIT_FIELDS},
            clean=r["holdings_dated_ok"] and r["caps_dated_ok"] and r["recorded_in_time"],
        )
        for r in rows
    ]
    return PointInTimeReport(
        dates=len(by_date), clean=sum(d.clean for d in by_date),
        holdings_dated_ok=sum(d.holdings_dated_ok for d in by_date),
        caps_dated_ok=sum(d.caps_dated_ok for d in by_date),
        recorded_in_time=sum(d.recorded_in_time for d in by_date), by_date=by_date,
    )


def backtest(
    run: Row, metrics: Iterable[Row], equity: Sequence[Row], pit: Iterable[Row],
    picks: Iterable[Row],
) -> Backtest:
    """A stored run with everything the 백테스트 tab draws; strategies in STRATEGIES' order."""
    by_strategy = {r["strategy"]: r for r in metrics}
    return Backtest(
        run=backtest_run(run),
        caveats=list(run["caveats"]),
        strategies={
            s: StrategyMetrics(**{k: by_strategy[s][k] for k in _METRIC_FIELDS})
            for s in STRATEGIES
            if s in by_strategy
        },
        equity=strategy_series(equity, "equity"),
        drawdown=strategy_series(equity, "drawdown"),
        turnover=[
            TradeTurnover(date=r["trade_date"], strategy=r["strategy"], turnover=r["turnover"])
            for r in equity
            if r["turnover"] is not None
        ],
        point_in_time=point_in_time(pit),
        picks=[PickLegReturns(**{k: r[k] for k in _PICK_FIELDS}) for r in picks],
    )
