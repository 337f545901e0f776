"""The seed dashboard's colours (seed INVENTORY §7.4), named by what they mean."""

from __future__ import annotations

BENCHMARK_ROW = "#fff3cd"  # benchmark rows, everywhere
HIGHLIGHT_ROW = "#d4edda"  # trending sectors, the monthly top 10
POSITIVE = "#27ae60"
NEGATIVE = "#e74c3c"
PERIOD_HEADER = "#3498db"
CARD_HEADER = "#9b59b6"
MONTHLY_HEADER = "#8e44ad"
RANKING_HEADER = "#16a085"
BENCHMARK_LABEL = "#e67e22"
PICK_STAR = "#e67e22"
BADGE_BENCHMARK = "#f39c12"
BADGE_TRENDING = "#2ecc71"
TITLE = "#2c3e50"
TEXT = "#34495e"
MUTED = "#7f8c8d"
FAINT = "#95a5a6"
ACTIVE_TAB = "#3498db"
ACTIVE_MONTHLY_TAB = "#9b59b6"
ACTIVE_BACKTEST_TAB = "#16a085"
PLOT_BACKGROUND = "#f8f9fa"
SPY_LINE = "#3498db"
PORTFOLIO_LINE = "#27ae60"
# The backtest's strategies: one colour each, SPY in the benchmark blue (drawn dashed).
STRATEGY_LINES = {
    "5d": "#e67e22",
    "10d": "#9b59b6",
    "20d": "#27ae60",
    "monthly": "#c0392b",
    "SPY": SPY_LINE,
}
BACKTEST_HEADER = "#16a085"
