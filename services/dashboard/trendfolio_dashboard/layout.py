"""The page frame: header, controls, banner, freshness line, tabs, methodology, refresh timer."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from trendfolio_dashboard import theme
from trendfolio_dashboard.data import BACKTEST_VIEW, DEFAULT_VIEW, MONTHLY_VIEW, VIEWS
from trendfolio_dashboard.i18n import DEFAULT_LANG, t

REFRESH_MS = 5 * 60 * 1000
TAB_STYLE = {"padding": "8px 12px", "fontWeight": 600}


def _tab(view: str) -> dcc.Tab:
    active = {MONTHLY_VIEW: theme.ACTIVE_MONTHLY_TAB, BACKTEST_VIEW: theme.ACTIVE_BACKTEST_TAB}.get(
        view, theme.ACTIVE_TAB)
    return dcc.Tab(
        id=f"tab-{view}", value=view, label=t(f"tab.{view}", DEFAULT_LANG), style=TAB_STYLE,
        selected_style={**TAB_STYLE, "backgroundColor": active, "color": "white"},
    )


def build_layout(status: dict[str, Any]) -> html.Div:
    """The page for a fresh visit; ``status`` (from ``/dashboard/status``) sets the date picker."""
    lang = DEFAULT_LANG
    first, last, disabled = picker_days(((status.get("ok") or {}).get("available_dates")) or [])
    latest = (status.get("ok") or {}).get("latest_as_of_date") or last
    controls = dbc.Row(
        [
            dbc.Col([
                dbc.Label(t("control.date", lang), id="date-label", html_for="date-picker",
                          class_name="me-2 mb-0 fw-semibold"),
                dcc.DatePickerSingle(
                    id="date-picker", date=latest, min_date_allowed=first, max_date_allowed=last,
                    disabled_days=disabled, display_format="YYYY-MM-DD", first_day_of_week=0,
                    clearable=False,
                ),
            ], width="auto", class_name="d-flex align-items-center"),
            dbc.Col([
                dbc.Label(t("control.language", lang), id="lang-label", html_for="lang-switch",
                          class_name="me-2 mb-0 fw-semibold"),
                dbc.RadioItems(
                    id="lang-switch", value=DEFAULT_LANG, inline=True,
                    options=[{"label": t("lang.ko", lang), "value": "ko"},
                             {"label": t("lang.en", lang), "value": "en"}],
                    persistence=True, persistence_type="local",
                ),
            ], width="auto", class_name="d-flex align-items-center"),
        ],
        class_name="g-4 my-2",
    )
    return html.Div([
        dcc.Store(id="status", data=status),
        dcc.Store(id="view-data"),
        dcc.Interval(id="refresh", interval=REFRESH_MS),
        dbc.Container([
            html.H2(t("page.title", lang), id="page-title", className="mt-3 fw-bold",
                    style={"color": theme.TITLE}),
            html.P(t("page.subtitle", lang), id="page-subtitle", style={"color": theme.MUTED}),
            controls,
            html.Div(id="sample-banner"),
            html.P(id="freshness", className="small mb-2", style={"color": theme.MUTED}),
            dcc.Tabs(id="tabs", value=DEFAULT_VIEW, children=[_tab(v) for v in VIEWS]),
            dbc.Alert(id="horizon", color="info", class_name="mt-3"),
            dcc.Loading(html.Div(id="view-content"), type="circle", delay_show=300),
            dbc.Accordion(
                dbc.AccordionItem(html.Ul(id="methodology-items"), title=t("method.title", lang),
                                  id="methodology-item"),
                start_collapsed=True, id="methodology", class_name="mb-3",
            ),
            html.Footer(t("footer", lang), id="footer", className="small pb-4",
                        style={"color": theme.FAINT}),
        ], fluid=True, style={"padding": "0 20px"}),
    ])


def picker_days(available: list[str]) -> tuple[str | None, str | None, list[str]]:
    """(min, max, disabled days): every day between the first and last date with no data."""
    if not available:
        return None, None, []
    have = set(available)
    first, last = date.fromisoformat(min(have)), date.fromisoformat(max(have))
    disabled = []
    day = first
    while day <= last:
        if day.isoformat() not in have:
            disabled.append(day.isoformat())
        day += timedelta(days=1)
    return first.isoformat(), last.isoformat(), disabled


def freshness_text(status: dict[str, Any], lang: str) -> str:
    stages = status.get("stages") or []
    parts = [
        t("fresh.stage", lang, stage=s.get("stage"), as_of=s.get("as_of_date"),
          finished=(s.get("finished_at") or "")[:16].replace("T", " ") + " UTC")
        for s in stages
    ]
    line = t(
        "fresh.line", lang, as_of=status.get("latest_as_of_date") or "—",
        source=status.get("source") or "—", universe=status.get("universe") or "—",
        stages=", ".join(parts) if parts else t("fresh.none", lang),
    )
    return f"{line} · {t('fresh.refresh', lang)}"
