"""The walk-forward backtest's rules that are not about prices: when each strategy trades, and
the metrics of an equity curve. The equity curves themselves come from the Spark job
(``trendfolio_jobs.backtest``); these functions are shared by it, the CLI, the API and the tests.

Rules (issue 5):
- sessions S of [start, end]; for each period P, signals at S[0], S[P], S[2P], … while another
  session follows; the portfolio formed at a signal's close is traded at the close ``lag``
  sessions later (a trade that would fall after S[-1] is not made). Before the first trade the
  strategy holds cash. The monthly portfolio is signalled on each month's last session and
  traded ``lag`` sessions later.
- between trades weights drift with prices; at a trade, turnover = Σ|newᵢ − hᵢ| over all
  tickers and equity is multiplied by (1 − turnover × cost_bps / 10,000).
- SPY bought and held from the close of S[0] is the benchmark (no cost).
- metrics from the equity curve after costs, equity 1 at the close of S[0].
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from trendfolio.calendar import is_last_session_of_month
from trendfolio.errors import UsageError
from trendfolio.rules import PERIODS

MONTHLY = "monthly"
BENCHMARK = "SPY"
TRADING_DAYS = 252
DEFAULT_COST_BPS = 10.0
DEFAULT_LAG = 1
METRIC_KEYS = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "max_drawdown",
    "turnover_per_year",
    "trades",
    "hit_rate",
)


def strategy_name(period: int) -> str:
    """'5d' for the 5-day portfolio, and so on."""
    return f"{period}d"


STRATEGIES = (*(strategy_name(p) for p in PERIODS), MONTHLY, BENCHMARK)


@dataclass(frozen=True)
class Trade:
    """A portfolio signalled at the close of ``signal`` and traded at the close of ``trade``."""

    signal: date
    trade: date


def check_parameters(sessions: Sequence[date], cost_bps: float, lag: int) -> None:
    """Usage errors for a range too short to measure, a negative cost or a lag below 1."""
    if len(sessions) < 2:
        raise UsageError(
            f"a backtest needs at least two sessions; the range has {len(sessions)}"
        )
    if not math.isfinite(cost_bps) or cost_bps < 0:
        raise UsageError(f"--cost-bps must be a number ≥ 0 (got {cost_bps})")
    if lag < 1:
        raise UsageError(f"--lag must be at least 1 session (got {lag})")


def period_schedule(sessions: Sequence[date], period: int, lag: int) -> list[Trade]:
    """Signals at S[0], S[P], S[2P], … while another session follows, each traded ``lag``
    sessions later when that session is still in S."""
    n = len(sessions)
    return [
        Trade(sessions[i], sessions[i + lag]) for i in range(0, n - 1, period) if i + lag < n
    ]


def monthly_schedule(sessions: Sequence[date], lag: int) -> list[Trade]:
    """Signals on every month's last session in S that another session follows, each traded
    ``lag`` sessions later when that session is still in S."""
    n = len(sessions)
    return [
        Trade(s, sessions[i + lag])
        for i, s in enumerate(sessions[:-1])
        if is_last_session_of_month(s) and i + lag < n
    ]


def cost_factor(turnover: float, cost_bps: float) -> float:
    """What a trade of ``turnover`` leaves of equity: 1 − turnover × cost_bps / 10,000."""
    return 1.0 - turnover * cost_bps / 10_000.0


@dataclass(frozen=True)
class Metrics:
    total_return: float
    cagr: float | None
    volatility: float | None
    sharpe: float | None
    max_drawdown: float
    turnover_per_year: float
    trades: int
    hit_rate: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def daily_returns(equity: Sequence[float]) -> list[float]:
    return [equity[i] / equity[i - 1] - 1.0 for i in range(1, len(equity))]


def drawdowns(equity: Sequence[float]) -> list[float]:
    """Each day's equity against its running peak, minus 1 (0 at a new high, negative below)."""
    out = []
    peak = -math.inf
    for e in equity:
        peak = max(peak, e)
        out.append(e / peak - 1.0)
    return out


def hit_rate(
    pre_trade_equity: Sequence[float], benchmark: Sequence[float], trade_idx: Sequence[int]
) -> float | None:
    """The share of holding periods whose return beat the benchmark's over the same sessions.

    Holding period k runs from the close of trade k to the close of trade k+1 (the last one to
    the last session); its return is measured on the equity before each of those closes' trade
    costs, so every period bears the cost of the trade that opened it. Periods of no session
    (a trade on the last session) are not counted.
    """
    bounds = sorted(set(trade_idx))
    if not bounds:
        return None
    last = len(pre_trade_equity) - 1
    ends = [*bounds[1:], last]
    beat = counted = 0
    for start, end in zip(bounds, ends, strict=True):
        if end <= start:
            continue
        mine = pre_trade_equity[end] / pre_trade_equity[start] - 1.0
        theirs = benchmark[end] / benchmark[start] - 1.0
        counted += 1
        beat += mine > theirs
    return beat / counted if counted else None


def metrics(
    equity: Sequence[float],
    turnovers: Sequence[float],
    trade_idx: Sequence[int],
    benchmark: Sequence[float] | None,
    cost_bps: float,
) -> Metrics:
    """The issue's metrics of an equity curve after costs (``equity[0]`` = 1 at S[0]'s close).

    ``turnovers[k]`` is the turnover of the trade made at the close of session
    ``trade_idx[k]``; ``benchmark`` is SPY's equity on the same sessions (``None`` for SPY
    itself, which has no hit rate).
    """
    if len(equity) < 2:
        raise ValueError("an equity curve needs at least two sessions")
    rets = daily_returns(equity)
    years = len(rets) / TRADING_DAYS
    final = equity[-1] / equity[0]
    vol = statistics.stdev(rets) if len(rets) > 1 else None
    annual_vol = vol * math.sqrt(TRADING_DAYS) if vol is not None else None
    sharpe = (
        statistics.fmean(rets) / vol * math.sqrt(TRADING_DAYS) if vol is not None and vol > 0
        else None
    )
    pre = list(equity)
    for k, i in enumerate(trade_idx):
        factor = cost_factor(turnovers[k], cost_bps)
        if factor > 0:
            pre[i] = equity[i] / factor
    return Metrics(
        total_return=final - 1.0,
        cagr=final ** (1.0 / years) - 1.0 if final > 0 else None,
        volatility=annual_vol,
        sharpe=sharpe,
        max_drawdown=min(drawdowns(equity)),
        turnover_per_year=sum(turnovers) / years,
        trades=len(trade_idx),
        hit_rate=hit_rate(pre, benchmark, trade_idx) if benchmark is not None else None,
    )


CAVEAT_NOT_POINT_IN_TIME = (
    "NOT POINT-IN-TIME: of {total} signal dates, {dated} used holdings or market caps dated "
    "after the date and {stored} used data stored after the date (collected later, not "
    "recorded by a live run). Sources such as yfinance only give "
    "today's holdings and caps, so a backtest over the past picks from what was known later "
    "(look-ahead and survivorship bias): treat these results as optimistic. The daily "
    "pipeline stores every snapshot and cap with its date from go-live on, so backtests over "
    "sessions it ran live are clean."
)
CAVEAT_STALE_SNAPSHOT = (
    "The oldest holdings snapshot used is dated {oldest}, {days} days before the first "
    "signal: an ETF's weights then are not its weights on each date."
)
CAVEAT_SAMPLE = "SAMPLE DATA: the prices come from the synthetic `sample` market, not a real one."
CAVEAT_SHORT = (
    "Only {sessions} sessions: annualised figures (CAGR, volatility, Sharpe, turnover per "
    "year) extrapolate a short window and are noisy."
)
CAVEAT_MISSING_PRICES = (
    "No prices could be collected up to the end for {tickers}: their days without a bar count "
    "as 0 return."
)
CAVEAT_COSTS = (
    "Costs are {cost_bps:g} bps of turnover per trade; no slippage beyond that, no taxes, no "
    "dividends other than what adjusted closes carry; trades fill at the close {lag} "
    "session(s) after each signal."
)
