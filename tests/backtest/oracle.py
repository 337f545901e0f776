"""An independent, plain-Python implementation of the walk-forward backtest's rules (issue 5).

It exists only to check ``trendfolio backtest`` (a Spark job): it shares no code with
``trendfolio.backtest`` or ``trendfolio_jobs`` (only the NYSE calendar), reads its inputs with
psycopg itself, and walks the sessions one day at a time, exactly as the rules read:

- sessions S of [start, end]; for each period P, signals at S[0], S[P], S[2P], … while another
  session follows (index ≤ n−2); the P-day portfolio of the signal date (analytics_05 rows of
  that as_of_date and period; none → all cash) is traded at the close ``lag`` sessions later; a
  trade that would fall after S[-1] is not made; before the first trade the strategy holds cash.
- monthly: signals on each month's last session in S (index ≤ n−2), portfolio = analytics_08
  rows of that rebalance_date, traded ``lag`` sessions later.
- each day d = S[1..]: R = Σ hᵢ·rᵢ (cash earns 0), then hᵢ ← hᵢ(1+rᵢ)/(1+R). rᵢ uses adjusted
  closes when both bars have one, else closes; no bar that day → 0, and the next bar's return
  is measured from the last bar before the gap (bars before S[0] count).
- at a trade (after that day's return): turnover = Σ|newᵢ − hᵢ| over all tickers; equity ×=
  (1 − turnover × cost_bps / 10,000).
- SPY: bought at the close of S[0] and held, no cost, one trade of turnover 1, no hit rate.
- metrics from the equity after costs (1 at S[0]'s close, n−1 daily returns).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

TRADING_DAYS = 252
PERIODS = (5, 10, 20)
BENCHMARK = "SPY"


@dataclass(frozen=True)
class Bar:
    close: float
    adj_close: float | None = None


class Bars:
    """One ticker's daily bars, sorted by date."""

    def __init__(self, bars: Mapping[date, Bar]) -> None:
        self.dates = sorted(bars)
        self.bars = [bars[d] for d in self.dates]

    def on(self, day: date) -> Bar | None:
        i = bisect.bisect_left(self.dates, day)
        if i < len(self.dates) and self.dates[i] == day:
            return self.bars[i]
        return None

    def before(self, day: date) -> Bar | None:
        """The last bar strictly before ``day`` (any date, also before the backtest starts)."""
        i = bisect.bisect_left(self.dates, day)
        return self.bars[i - 1] if i > 0 else None

    def day_return(self, day: date) -> float:
        """The return of ``day``: 0 without a bar that day (or without any earlier bar)."""
        today = self.on(day)
        last = self.before(day)
        if today is None or last is None:
            return 0.0
        if today.adj_close is not None and last.adj_close is not None:
            return today.adj_close / last.adj_close - 1.0
        return today.close / last.close - 1.0


NO_BARS = Bars({})


@dataclass
class Curve:
    """A strategy's equity after costs on every session, and its trades."""

    equity: list[float]
    pre_trade: list[float]  # equity at each close before that close's trade cost
    trades: list[tuple[int, float]] = field(default_factory=list)  # (session index, turnover)


def period_signals(n: int, period: int) -> list[int]:
    """Signal indices S[0], S[P], S[2P], … while another session follows."""
    out = []
    i = 0
    while i <= n - 2:
        out.append(i)
        i += period
    return out


def monthly_signals(sessions: Sequence[date]) -> list[int]:
    """Each month's last session in S that another session follows."""
    n = len(sessions)
    return [
        i
        for i in range(n - 1)
        if (sessions[i].year, sessions[i].month) != (sessions[i + 1].year, sessions[i + 1].month)
    ]


def simulate(
    sessions: Sequence[date],
    orders: Mapping[int, Mapping[str, float]],
    prices: Mapping[str, Bars],
    cost_bps: float,
) -> Curve:
    """Walk the sessions: ``orders[i]`` is the portfolio traded at the close of S[i]."""
    equity = 1.0
    holdings: dict[str, float] = {}
    curve = Curve(equity=[], pre_trade=[])
    for i, day in enumerate(sessions):
        if i > 0:
            rets = {t: prices.get(t, NO_BARS).day_return(day) for t in holdings}
            day_ret = sum(w * rets[t] for t, w in holdings.items())
            equity *= 1.0 + day_ret
            holdings = {t: w * (1.0 + rets[t]) / (1.0 + day_ret) for t, w in holdings.items()}
        curve.pre_trade.append(equity)
        if i in orders:
            new = dict(orders[i])
            turnover = sum(
                abs(new.get(t, 0.0) - holdings.get(t, 0.0)) for t in set(new) | set(holdings)
            )
            equity *= 1.0 - turnover * cost_bps / 10_000.0
            holdings = {t: w for t, w in new.items() if w != 0.0}
            curve.trades.append((i, turnover))
        curve.equity.append(equity)
    return curve


def benchmark_curve(sessions: Sequence[date], spy: Bars) -> Curve:
    """SPY bought at the close of S[0] and held: chained daily returns, no cost."""
    equity = 1.0
    curve = Curve(equity=[1.0], pre_trade=[1.0], trades=[(0, 1.0)])
    for day in sessions[1:]:
        equity *= 1.0 + spy.day_return(day)
        curve.equity.append(equity)
        curve.pre_trade.append(equity)
    return curve


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _sample_stdev(xs: Sequence[float]) -> float:
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def metrics(curve: Curve, benchmark: Curve | None) -> dict[str, Any]:
    """The issue's metrics of a curve; ``benchmark`` is SPY's curve (None for SPY itself)."""
    eq = curve.equity
    days = len(eq) - 1
    rets = [eq[i] / eq[i - 1] - 1.0 for i in range(1, len(eq))]
    final = eq[-1]
    stdev = _sample_stdev(rets) if len(rets) >= 2 else None
    peak = -math.inf
    worst = 0.0
    for e in eq:
        peak = max(peak, e)
        worst = min(worst, e / peak - 1.0)
    hit: float | None = None
    if benchmark is not None:
        starts = [i for i, _ in curve.trades]
        ends = [*starts[1:], len(eq) - 1][: len(starts)]  # no trade: no period
        beat = counted = 0
        for a, b in zip(starts, ends, strict=True):
            if b <= a:
                continue
            mine = curve.pre_trade[b] / curve.pre_trade[a] - 1.0
            theirs = benchmark.equity[b] / benchmark.equity[a] - 1.0
            counted += 1
            beat += mine > theirs
        hit = beat / counted if counted else None
    return {
        "total_return": final - 1.0,
        "cagr": final ** (TRADING_DAYS / days) - 1.0 if final > 0 else None,
        "volatility": stdev * math.sqrt(TRADING_DAYS) if stdev is not None else None,
        "sharpe": (_mean(rets) / stdev * math.sqrt(TRADING_DAYS) if stdev else None),
        "max_drawdown": worst,
        "turnover_per_year": sum(t for _, t in curve.trades) * TRADING_DAYS / days,
        "trades": len(curve.trades),
        "hit_rate": hit,
    }


@dataclass
class Inputs:
    """Everything the rules read: sessions, target portfolios and daily bars."""

    sessions: list[date]
    period_portfolios: dict[tuple[date, int], dict[str, float]]  # (as_of_date, period) → weights
    monthly_portfolios: dict[date, dict[str, float]]  # rebalance_date → weights
    prices: dict[str, Bars]  # held tickers
    spy: Bars


def run(inputs: Inputs, cost_bps: float = 10.0, lag: int = 1) -> dict[str, Any]:
    """Every strategy's metrics and the equity table, shaped like ``trendfolio backtest``'s
    JSON (``strategies`` and ``equity``)."""
    s = inputs.sessions
    n = len(s)
    if n < 2:
        raise ValueError("a backtest needs at least two sessions")
    curves: dict[str, Curve] = {}
    for period in PERIODS:
        orders = {
            i + lag: inputs.period_portfolios.get((s[i], period), {})
            for i in period_signals(n, period)
            if i + lag <= n - 1
        }
        curves[f"{period}d"] = simulate(s, orders, inputs.prices, cost_bps)
    monthly = {
        i + lag: inputs.monthly_portfolios.get(s[i], {})
        for i in monthly_signals(s)
        if i + lag <= n - 1
    }
    curves["monthly"] = simulate(s, monthly, inputs.prices, cost_bps)
    spy = benchmark_curve(s, inputs.spy)
    curves[BENCHMARK] = spy
    return {
        "strategies": {
            name: metrics(c, None if name == BENCHMARK else spy) for name, c in curves.items()
        },
        "equity": [
            {"date": d.isoformat(), **{name: c.equity[i] for name, c in curves.items()}}
            for i, d in enumerate(s)
        ],
        "curves": curves,
    }


# --- reading the inputs from PostgreSQL (psycopg, parameterised SQL) -----------------------


def _bars(rows: Sequence[tuple[Any, ...]]) -> dict[str, Bars]:
    from trendfolio.calendar import is_session

    by_ticker: dict[str, dict[date, Bar]] = {}
    for ticker, day, close, adj in rows:
        if not is_session(day):
            continue  # a bar dated on a day the exchange was closed is not a session's bar
        by_ticker.setdefault(ticker, {})[day] = Bar(
            float(close), float(adj) if adj is not None else None
        )
    return {t: Bars(b) for t, b in by_ticker.items()}


def load_inputs(url: str, start: date, end: date) -> Inputs:
    """Read what the rules need for [start, end] from the database at ``url``.

    Held tickers' bars come from the stock history (collected_06); a held ticker that has no
    stock bars at all is looked up among the ETF bars (collected_01). SPY comes from the ETF
    bars. Every bar up to ``end`` is read, so a gap's "last bar before" may predate ``start``;
    bars dated on days the exchange was closed are ignored.
    """
    import psycopg

    from trendfolio.calendar import sessions_between

    sessions = sessions_between(start, end)
    with psycopg.connect(url) as conn:
        alloc = conn.execute(
            "SELECT as_of_date, period_days, ticker, portfolio_weight"
            " FROM analytics_05_portfolio_allocation"
            " WHERE as_of_date BETWEEN %s AND %s",
            (start, end),
        ).fetchall()
        month = conn.execute(
            "SELECT rebalance_date, ticker, final_weight FROM analytics_08_monthly_portfolio"
            " WHERE rebalance_date BETWEEN %s AND %s",
            (start, end),
        ).fetchall()
        period_portfolios: dict[tuple[date, int], dict[str, float]] = {}
        for day, period, ticker, weight in alloc:
            period_portfolios.setdefault((day, int(period)), {})[ticker] = float(weight)
        monthly_portfolios: dict[date, dict[str, float]] = {}
        for day, ticker, weight in month:
            monthly_portfolios.setdefault(day, {})[ticker] = float(weight)
        held = sorted(
            {t for p in period_portfolios.values() for t in p}
            | {t for p in monthly_portfolios.values() for t in p}
        )
        stocks = _bars(
            conn.execute(
                "SELECT ticker, trade_date, close_price, adj_close"
                " FROM collected_06_daily_stock_history"
                " WHERE ticker = ANY(%s) AND trade_date <= %s",
                (held, end),
            ).fetchall()
        )
        etf_tickers = sorted({BENCHMARK} | (set(held) - set(stocks)))
        etfs = _bars(
            conn.execute(
                "SELECT ticker, trade_date, close_price, adj_close"
                " FROM collected_01_daily_etf_ohlc"
                " WHERE ticker = ANY(%s) AND trade_date <= %s",
                (etf_tickers, end),
            ).fetchall()
        )
    prices = {**{t: b for t, b in etfs.items() if t in held}, **stocks}
    return Inputs(
        sessions=sessions,
        period_portfolios=period_portfolios,
        monthly_portfolios=monthly_portfolios,
        prices=prices,
        spy=etfs.get(BENCHMARK, NO_BARS),
    )
