"""The Plotly charts: portfolio weights, the monthly portfolio against SPY, and the backtest's
equity, drawdown and turnover.

Figures are plain dicts in Plotly's JSON schema: no graph-object validation on every render.
"""

from __future__ import annotations

from typing import Any

from trendfolio_dashboard import theme
from trendfolio_dashboard.components import fmt_billions, fmt_pct
from trendfolio_dashboard.i18n import t

FONT = "Noto Sans KR, Malgun Gothic, Apple SD Gothic Neo, sans-serif"


Figure = dict[str, Any]


def _figure(data: list[dict[str, Any]], height: int, **layout: Any) -> Figure:
    return {
        "data": data,
        "layout": {
            "height": height,
            "margin": {"l": 60, "r": 10, "t": 40, "b": 40},
            "plot_bgcolor": theme.PLOT_BACKGROUND,
            "paper_bgcolor": "white",
            "font": {"family": FONT, "color": theme.TEXT},
            **layout,
        },
    }


def weights_chart(rows: list[dict[str, Any]], lang: str) -> Figure:
    """Horizontal bars of the period's weights (percent), the largest on top."""
    ordered = sorted(rows, key=lambda r: r.get("rank") or 0, reverse=True)
    hover = [
        f"{r.get('ticker')} · {r.get('company_name') or ''}<br>"
        f"{t('col.source_etf', lang)}: {r.get('etf_ticker') or '—'}<br>"
        f"{t('col.return_n', lang, n=r.get('period_days', ''))}: {fmt_pct(r.get('return_pct'))}<br>"
        f"{t('col.mcap', lang)}: {fmt_billions(r.get('market_cap'))}"
        for r in ordered
    ]
    bars = {
        "type": "bar",
        "orientation": "h",
        "x": [r.get("weight") for r in ordered],
        "y": [r.get("ticker") for r in ordered],
        "marker": {"color": theme.PERIOD_HEADER},
        "text": [fmt_pct(r.get("weight"), signed=False) for r in ordered],
        "textposition": "auto",
        "hovertext": hover,
        "hoverinfo": "text",
    }
    return _figure(
        [bars],
        height=max(220, 70 + 26 * len(ordered)),
        title={"text": t("chart.weights", lang), "font": {"size": 14}},
        xaxis={"title": {"text": t("chart.weight_axis", lang)}},
        yaxis={"type": "category", "automargin": True},
    )


def vs_spy_chart(points: list[dict[str, Any]], lang: str) -> Figure:
    """Cumulative returns (percent) from the rebalance session: portfolio in green, SPY in blue."""
    dates = [p.get("date") for p in points]
    lines = [
        {"type": "scatter", "mode": "lines+markers", "x": dates,
         "y": [p.get(key) for p in points], "name": t(label, lang),
         "line": {"color": colour, "width": 3}}
        for key, label, colour in (
            ("portfolio_pct", "vs_spy.portfolio", theme.PORTFOLIO_LINE),
            ("spy_pct", "vs_spy.spy", theme.SPY_LINE),
        )
    ]
    return _figure(
        lines,
        height=400,
        xaxis={"title": {"text": t("vs_spy.x", lang)}},
        yaxis={"title": {"text": t("vs_spy.y", lang)}, "ticksuffix": "%", "automargin": True},
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
    )


def _strategy_lines(
    series: list[dict[str, Any]], strategies: list[str], lang: str
) -> list[dict[str, Any]]:
    """One line per strategy of a by-date series of fractions, drawn in percent."""
    dates = [p.get("date") for p in series]
    return [
        {"type": "scatter", "mode": "lines", "x": dates,
         "y": [None if p.get(s) is None else 100 * p[s] for p in series],
         "name": t(f"strategy.{s}", lang),
         "line": {"color": theme.STRATEGY_LINES.get(s, theme.TEXT), "width": 2.5,
                  "dash": "dash" if s == "SPY" else "solid"},
         "hovertemplate": "%{y:.2f}%"}
        for s in strategies
    ]


def _lines_layout(y_title: str, lang: str) -> dict[str, Any]:
    return {
        "xaxis": {"title": {"text": t("vs_spy.x", lang)}},
        "yaxis": {"title": {"text": y_title}, "ticksuffix": "%", "automargin": True},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right",
                   "x": 1},
    }


def equity_chart(equity: list[dict[str, Any]], strategies: list[str], lang: str) -> Figure:
    """Cumulative return after costs (equity − 1, in percent) of every strategy and SPY."""
    growth = [{**p, **{s: None if p.get(s) is None else p[s] - 1 for s in strategies}}
              for p in equity]
    return _figure(_strategy_lines(growth, strategies, lang), height=420,
                   **_lines_layout(t("backtest.equity_y", lang), lang))


def drawdown_chart(drawdown: list[dict[str, Any]], strategies: list[str], lang: str) -> Figure:
    """Each strategy's fall from its running peak, in percent (≤ 0)."""
    return _figure(_strategy_lines(drawdown, strategies, lang), height=320,
                   **_lines_layout(t("backtest.drawdown_y", lang), lang))


def turnover_chart(turnover: list[dict[str, Any]], strategies: list[str], lang: str) -> Figure:
    """Bars of each trade's turnover (percent), grouped by trade date, one colour a strategy."""
    bars = [
        {"type": "bar", "name": t(f"strategy.{s}", lang),
         "x": [r["date"] for r in turnover if r["strategy"] == s],
         "y": [100 * r["turnover"] for r in turnover if r["strategy"] == s],
         "marker": {"color": theme.STRATEGY_LINES.get(s, theme.TEXT)},
         "hovertemplate": "%{x}: %{y:.1f}%"}
        for s in strategies
        if any(r["strategy"] == s for r in turnover)
    ]
    return _figure(bars, height=280, barmode="group",
                   xaxis={"type": "date", "title": {"text": t("vs_spy.x", lang)}},
                   yaxis={"title": {"text": t("backtest.turnover_y", lang)}, "ticksuffix": "%",
                          "automargin": True},
                   legend={"orientation": "h", "yanchor": "bottom", "y": 1.02,
                           "xanchor": "right", "x": 1})
