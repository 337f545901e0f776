"""The two Plotly charts: portfolio weights, and the monthly portfolio against SPY."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from trendfolio_dashboard import theme
from trendfolio_dashboard.components import fmt_billions, fmt_pct
from trendfolio_dashboard.i18n import t

FONT = "Noto Sans KR, Malgun Gothic, Apple SD Gothic Neo, sans-serif"


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        plot_bgcolor=theme.PLOT_BACKGROUND,
        paper_bgcolor="white",
        font={"family": FONT, "color": theme.TEXT},
    )
    return fig


def weights_chart(rows: list[dict[str, Any]], lang: str) -> go.Figure:
    """Horizontal bars of the period's weights (percent), the largest on top."""
    ordered = sorted(rows, key=lambda r: r.get("rank") or 0, reverse=True)
    hover = [
        f"{r.get('ticker')} · {r.get('company_name') or ''}<br>"
        f"{t('col.source_etf', lang)}: {r.get('etf_ticker') or '—'}<br>"
        f"{t('col.return_n', lang, n=r.get('period_days', ''))}: {fmt_pct(r.get('return_pct'))}<br>"
        f"{t('col.mcap', lang)}: {fmt_billions(r.get('market_cap'))}"
        for r in ordered
    ]
    fig = go.Figure(
        go.Bar(
            x=[r.get("weight") for r in ordered],
            y=[r.get("ticker") for r in ordered],
            orientation="h",
            marker_color=theme.PERIOD_HEADER,
            text=[fmt_pct(r.get("weight"), signed=False) for r in ordered],
            textposition="auto",
            hovertext=hover,
            hoverinfo="text",
        )
    )
    fig.update_layout(
        title={"text": t("chart.weights", lang), "font": {"size": 14}},
        xaxis_title=t("chart.weight_axis", lang),
        yaxis={"type": "category"},
    )
    return _layout(fig, height=max(220, 70 + 26 * len(ordered)))


def vs_spy_chart(points: list[dict[str, Any]], lang: str) -> go.Figure:
    """Cumulative returns (percent) from the rebalance session: portfolio in green, SPY in blue."""
    dates = [p.get("date") for p in points]
    fig = go.Figure([
        go.Scatter(
            x=dates, y=[p.get("portfolio_pct") for p in points], mode="lines+markers",
            name=t("vs_spy.portfolio", lang), line={"color": theme.PORTFOLIO_LINE, "width": 3},
        ),
        go.Scatter(
            x=dates, y=[p.get("spy_pct") for p in points], mode="lines+markers",
            name=t("vs_spy.spy", lang), line={"color": theme.SPY_LINE, "width": 3},
        ),
    ])
    fig.update_layout(
        xaxis_title=t("vs_spy.x", lang),
        yaxis_title=t("vs_spy.y", lang),
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
    )
    return _layout(fig, height=400)
