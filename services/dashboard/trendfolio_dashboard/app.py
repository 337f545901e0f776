"""The Dash app: ``create_app(settings)`` wires the layout to the API; ``serve`` runs it."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, ctx, html, no_update
from flask import Response, request, send_from_directory

from trendfolio.config import Settings
from trendfolio_dashboard import views
from trendfolio_dashboard.api import ApiClient
from trendfolio_dashboard.components import error_alert, info_alert
from trendfolio_dashboard.data import (
    BACKTEST_VIEW,
    DEFAULT_VIEW,
    VIEWS,
    error_from_payload,
    load_status,
    load_view,
)
from trendfolio_dashboard.i18n import lang_or_default, t
from trendfolio_dashboard.layout import build_layout, freshness_text, picker_days

log = logging.getLogger(__name__)
ASSETS = Path(__file__).resolve().parent / "assets"
PLOTLY_BUNDLE = "plotly-basic.min.js"
FULL_PLOTLY_PATH = "/_dash-component-suites/plotly/package_data/plotly.min.js"
# dcc loads these when a graph or the date picker mounts; fetched early instead of on demand.
EAGER_CHUNKS = ("async-graph.js", "async-datepicker.js")
MONTH_FORMAT = {"ko": "YYYY년 M월", "en": "MMMM YYYY"}


def create_app(settings: Settings) -> Dash:
    """The dashboard for the API at ``settings.api_url`` (with ``settings.api_key``, if set)."""
    api = ApiClient.from_settings(settings)
    app = Dash(
        __name__,
        title="Trendfolio",
        update_title="",
        assets_folder=str(ASSETS),
        # Plotly loads beside the page, not before it: it is parsed while the page waits for
        # its first data, and is normally defined long before the first graph mounts.
        assets_ignore=PLOTLY_BUNDLE.replace(".", r"\."),
        external_scripts=[{"src": f"assets/{PLOTLY_BUNDLE}", "async": "async"}],
        serve_locally=True,
        suppress_callback_exceptions=True,
    )
    app.index_string = app.index_string.replace("<html>", '<html lang="ko">', 1).replace(
        "{%css%}", "{%css%}\n" + "\n".join(
            f'<link rel="preload" as="script" href="_dash-component-suites/dash/dcc/{chunk}">'
            for chunk in EAGER_CHUNKS),
        1,
    )
    # A function: every page load starts from the API's current dates (one request).
    app.layout = lambda: build_layout(load_status(api))
    app.server.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    app.server.before_request(_basic_plotly_for_dcc)
    _register(app, api)
    return app


def _basic_plotly_for_dcc() -> Response | None:
    """Should a graph mount before the async bundle ran, dcc.Graph fetches Plotly itself: it
    gets the same basic bundle, never the 4.8 MB full one."""
    if request.path.endswith(FULL_PLOTLY_PATH):
        return send_from_directory(ASSETS, PLOTLY_BUNDLE, mimetype="application/javascript")
    return None


def _register(app: Dash, api: ApiClient) -> None:
    @app.callback(
        Output("status", "data"),
        Output("date-picker", "date"),
        Output("date-picker", "min_date_allowed"),
        Output("date-picker", "max_date_allowed"),
        Output("date-picker", "disabled_days"),
        Input("refresh", "n_intervals"),
        State("date-picker", "date"),
        State("date-picker", "max_date_allowed"),
        prevent_initial_call=True,
    )
    def refresh_status(
        _n: int | None, current: str | None, previous_latest: str | None
    ) -> tuple[dict[str, Any], str | None, str | None, str | None, list[str]]:
        status = load_status(api)
        body = status.get("ok") or {}
        available: list[str] = body.get("available_dates") or []
        first, last, disabled = picker_days(available)
        latest = body.get("latest_as_of_date") or last
        # Opens on the latest data; follows new data unless the user chose an earlier session.
        keep = current in available and current != previous_latest
        return status, (current if keep else latest), first, last, disabled

    @app.callback(
        Output("view-data", "data"),
        Output("view-content", "children"),
        Input("tabs", "value"),
        Input("date-picker", "date"),
        Input("status", "data"),
        Input("lang-switch", "value"),
        State("view-data", "data"),
    )
    def show_view(
        view: str, chosen: str | None, status: dict[str, Any] | None, lang_value: str | None,
        shown: dict[str, Any] | None,
    ) -> tuple[Any, Any]:
        lang = lang_or_default(lang_value)
        if ctx.triggered_id == "lang-switch" and shown:
            return no_update, _render(shown, lang)  # a language switch needs no new data
        data = _fetch(api, view if view in VIEWS else DEFAULT_VIEW, chosen, status)
        return data, _render(data, lang)

    @app.callback(
        Output("page-title", "children"),
        Output("page-subtitle", "children"),
        Output("date-label", "children"),
        Output("lang-label", "children"),
        Output("sample-banner", "children"),
        Output("freshness", "children"),
        Output("horizon", "children"),
        Output("methodology-item", "title"),
        Output("methodology-items", "children"),
        Output("footer", "children"),
        Output("date-picker", "month_format"),
        Output("date-picker", "placeholder"),
        *[Output(f"tab-{v}", "label") for v in VIEWS],
        Input("lang-switch", "value"),
        Input("status", "data"),
        Input("tabs", "value"),
    )
    def render_frame(lang_value: str | None, status: dict[str, Any] | None, view: str) -> tuple[
            Any, ...]:
        lang = lang_or_default(lang_value)
        body = (status or {}).get("ok") or {}
        banner = (
            dbc.Alert(t("sample.banner", lang), color="warning", id="sample-alert",
                      class_name="fw-semibold")
            if body.get("is_sample") else None
        )
        freshness = freshness_text(body, lang) if body else ""
        methodology = [html.Li(item) for item in t("method.items", lang).split("|")]
        return (
            t("page.title", lang), t("page.subtitle", lang), t("control.date", lang),
            t("control.language", lang), banner, freshness,
            t(f"horizon.{view if view in VIEWS else '20'}", lang), t("method.title", lang),
            methodology, t("footer", lang), MONTH_FORMAT[lang], t("control.date_placeholder", lang),
            *[t(f"tab.{v}", lang) for v in VIEWS],
        )


def _fetch(
    api: ApiClient, view: str, chosen: str | None, status: dict[str, Any] | None
) -> dict[str, Any]:
    """The view's data for the chosen date, or why there is none."""
    if not status:
        return {"view": view, "pending": True}
    if "error" in status:
        return {"view": view, "fatal": status["error"]}
    if view == BACKTEST_VIEW:  # its own empty state: no stored run yet
        return load_view(api, view, None, None)
    latest = status["ok"].get("latest_as_of_date")
    if not latest:
        return {"view": view, "nodata": True}
    as_of = date.fromisoformat(chosen[:10]) if chosen else None
    return load_view(api, view, as_of, date.fromisoformat(latest))


def _render(data: dict[str, Any], lang: str) -> Any:
    if data.get("pending"):
        return html.Div()
    if "fatal" in data:
        return error_alert(error_from_payload(data["fatal"]), lang)
    if data.get("nodata"):
        return info_alert(f"{t('nodata.title', lang)}: {t('nodata.body', lang)}")
    return views.render_view(data, lang)


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the dashboard (``trendfolio serve dashboard``) until interrupted.

    Waitress, a production WSGI server, rather than Flask's development server.
    """
    from waitress import serve as serve_wsgi

    app = create_app(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per API call is noise
    log.info("dashboard on http://%s:%d reading %s", host, port, settings.api_url)
    serve_wsgi(app.server, host=host, port=port, threads=8, ident="trendfolio-dashboard")


__all__ = ["create_app", "serve"]
