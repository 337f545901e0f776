"""Render a view from the data ``data.load_view`` fetched: pure, so switching language is free."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from trendfolio_dashboard import theme
from trendfolio_dashboard.components import (
    Row,
    badge,
    data_table,
    error_alert,
    fmt_billions,
    fmt_number,
    fmt_pct,
    info_alert,
    section,
    signed_pct,
)
from trendfolio_dashboard.data import (
    CARD_HOLDINGS,
    MONTHLY_VIEW,
    PERIOD_VIEWS,
    RANKING_PERIOD,
    error_from_payload,
)
from trendfolio_dashboard.figures import vs_spy_chart, weights_chart
from trendfolio_dashboard.i18n import t

GRAPH_CONFIG: Any = {"displayModeBar": False, "responsive": True}


def render_view(data: dict[str, Any] | None, lang: str) -> Any:
    if not data:
        return html.Div()
    view = data["view"]
    body = _period_view(data, PERIOD_VIEWS[view], lang) if view in PERIOD_VIEWS else (
        _monthly_view(data, lang) if view == MONTHLY_VIEW else [])
    return html.Div(body, id="view", **{"data-view": view, "data-as-of": data.get("as_of") or ""})


def _unwrap(sec: dict[str, Any], lang: str, empty_text: str) -> tuple[Any, Any]:
    """(payload, None) on success; (None, a message component) on an error.

    A 404 means "nothing for that date" and reads as an empty state, not as a failure.
    """
    if "ok" in sec:
        return sec["ok"], None
    err = error_from_payload(sec["error"])
    if err.kind == "status" and err.status == 404:
        return None, info_alert(f"{empty_text} ({err.detail})")
    return None, error_alert(err, lang)


def _kind(etf: dict[str, Any], lang: str) -> html.Span:
    etf_type = etf.get("etf_type") or ("benchmark" if etf.get("is_benchmark") else "sector")
    colour = theme.BENCHMARK_LABEL if etf.get("is_benchmark") else theme.TEXT
    return html.Span(t(f"kind.{etf_type}", lang), style={"color": colour})


def _status_cell(etf: dict[str, Any], lang: str) -> str:
    if etf.get("etf_ticker") == "SPY" or etf.get("is_reference"):
        return t("status.reference", lang)
    return t("status.trending", lang) if etf.get("is_trending") else t("status.none", lang)


def _etf_rows(etfs: list[dict[str, Any]], lang: str) -> list[Row]:
    rows = []
    for e in etfs:
        background = (
            theme.BENCHMARK_ROW if e.get("is_benchmark")
            else theme.HIGHLIGHT_ROW if e.get("is_trending") else None
        )
        name = e.get("sector_name") if e.get("is_sector") and e.get("sector_name") else (
            e.get("etf_name") or "")
        rows.append(Row(
            [
                str(e.get("rank") or "—"),
                _kind(e, lang),
                name,
                html.B(e.get("etf_ticker"), style={"color": theme.PERIOD_HEADER}),
                signed_pct(e.get("return_pct")),
                signed_pct(e.get("vs_spy_pct")),
                _status_cell(e, lang),
            ],
            background=background,
            class_name="tf-benchmark" if e.get("is_benchmark") else (
                "tf-trending" if e.get("is_trending") else ""),
            attrs={"data-ticker": str(e.get("etf_ticker"))},
        ))
    return rows


def _etf_table(etfs: list[dict[str, Any]], n: int, lang: str, header: str, table_id: str) -> Any:
    columns = [t("col.rank", lang), t("col.kind", lang), t("col.sector", lang) + " / "
               + t("col.name", lang), t("col.etf", lang), t("col.return_n", lang, n=n),
               t("col.vs_spy", lang), t("col.status", lang)]
    return data_table(columns, _etf_rows(etfs, lang), header, table_id)


# ---------------------------------------------------------------- period tabs (5 / 10 / 20)

def _period_view(data: dict[str, Any], n: int, lang: str) -> list[Any]:
    return [
        _sector_section(data["trending"], n, lang),
        _portfolio_section(data["portfolio"], n, lang),
        _cards_section(data["cards"], n, lang),
    ]


def _sector_section(sec: dict[str, Any], n: int, lang: str) -> Any:
    payload, problem = _unwrap(sec, lang, t("nodata.title", lang))
    content = problem or _etf_table(payload.get("etfs", []), n, lang, theme.PERIOD_HEADER,
                                    "sector-table")
    return section(t("sector.title", lang, n=n), content, note=t("sector.note", lang, n=n),
                   section_id="sector-section")


def _portfolio_section(sec: dict[str, Any], n: int, lang: str) -> Any:
    payload, problem = _unwrap(sec, lang, t("portfolio.empty", lang, n=n))
    rows: list[dict[str, Any]] = payload or []
    if problem is not None or not rows:
        return section(t("portfolio.title", lang, n=n, count=0),
                       problem or info_alert(t("portfolio.empty", lang, n=n)),
                       section_id="portfolio-section")
    columns = [t("col.rank", lang), t("col.ticker", lang), t("col.company", lang),
               t("col.source_etf", lang), t("col.return_n", lang, n=n), t("col.mcap", lang),
               t("col.weight", lang)]
    table_rows = [
        Row(
            [
                str(r.get("rank")),
                html.B(r.get("ticker"), style={"color": theme.PERIOD_HEADER}),
                r.get("company_name") or "",
                r.get("etf_ticker") or "—",
                signed_pct(r.get("return_pct")),
                fmt_billions(r.get("market_cap")) + (" *" if r.get("market_cap_estimated") else ""),
                fmt_pct(r.get("weight"), signed=False),
            ],
            attrs={"data-ticker": str(r.get("ticker"))},
        )
        for r in rows
    ]
    table = data_table(columns, table_rows, theme.PERIOD_HEADER, "portfolio-table")
    notes = [t("portfolio.note", lang, n=n)]
    if any(r.get("market_cap_estimated") for r in rows):
        notes.append("* " + t("portfolio.estimated", lang))
    chart = dcc.Graph(id="weights-chart", figure=weights_chart(rows, lang), config=GRAPH_CONFIG)
    return section(
        t("portfolio.title", lang, n=n, count=len(rows)),
        dbc.Row([dbc.Col(table, lg=7), dbc.Col(chart, lg=5)]),
        note=" ".join(notes),
        section_id="portfolio-section",
    )


def _card(etf: dict[str, Any], n: int, lang: str) -> dbc.Card:
    badges = []
    if etf.get("is_benchmark"):
        badges.append(badge(t("badge.benchmark", lang), theme.BADGE_BENCHMARK))
    if etf.get("is_trending"):
        badges.append(badge(t("badge.trending", lang), theme.BADGE_TRENDING))
    header = dbc.CardHeader(
        [html.B(f"ETF: {etf.get('etf_ticker')}"), *badges,
         html.Span([" ", signed_pct(etf.get("etf_return_pct"))], className="float-end")],
        style={"backgroundColor": theme.BENCHMARK_ROW} if etf.get("is_benchmark") else None,
    )
    holdings = etf.get("holdings") or []
    if not holdings:
        body: Any = html.P(t("cards.no_holdings", lang), className="small text-muted mb-0")
    else:
        columns = [t("col.rank", lang), t("col.ticker", lang), t("col.company", lang),
                   t("col.mcap", lang), t("col.holding_return", lang)]
        rows = []
        for h in holdings:
            picked = h.get("is_pick") or h.get("holding_ticker") == etf.get("pick_ticker")
            ticker: list[Any] = [html.B(h.get("holding_ticker"))]
            if picked:
                ticker.append(html.Span(" " + t("star.pick", lang), className="tf-star",
                                        style={"color": theme.PICK_STAR, "fontWeight": 700}))
            rows.append(Row(
                [str(h.get("rank_position") or ""), html.Span(ticker),
                 (h.get("holding_name") or "")[:30], fmt_billions(h.get("market_cap")),
                 signed_pct(h.get("holding_return_pct"))],
                class_name="tf-pick" if picked else "",
            ))
        body = data_table(columns, rows, theme.CARD_HEADER, f"card-table-{etf.get('etf_ticker')}")
    return dbc.Card([header, dbc.CardBody(body, class_name="p-2")], class_name="h-100 tf-etf-card",
                    id=f"card-{etf.get('etf_ticker')}")


def _cards_section(sec: dict[str, Any], n: int, lang: str) -> Any:
    payload, problem = _unwrap(sec, lang, t("cards.empty", lang))
    title = t("cards.title", lang, k=CARD_HOLDINGS, n=n)
    if problem is not None:
        return section(title, problem, section_id="cards-section")
    etfs = payload.get("etfs") or []
    parts: list[Any] = []
    pick = payload.get("portfolio_pick")
    if pick:
        parts.append(dbc.Alert(t(
            "cards.pick", lang, ticker=pick.get("ticker"),
            name=f" ({pick['company_name']})" if pick.get("company_name") else "",
            ret=fmt_pct(pick.get("return_pct")), etf=pick.get("source_etf") or "—",
        ), color="info", id="portfolio-pick"))
    if not etfs:
        parts.append(info_alert(t("cards.empty", lang)))
    parts.append(dbc.Row([dbc.Col(_card(e, n, lang), md=6, class_name="mb-3") for e in etfs]))
    return section(title, *parts, section_id="cards-section")


# ---------------------------------------------------------------- monthly tab

def _monthly_view(data: dict[str, Any], lang: str) -> list[Any]:
    return [
        _monthly_portfolio_section(data["monthly"], lang),
        _ranking_section(data["ranking"], lang),
        _history_section(data["history"], lang),
        _vs_spy_section(data["vs_spy"], lang),
    ]


def _monthly_portfolio_section(sec: dict[str, Any], lang: str) -> Any:
    payload, problem = _unwrap(sec, lang, t("monthly.empty", lang))
    rows: list[dict[str, Any]] = (payload or {}).get("data") or []
    if problem is not None or not rows:
        return section(t("monthly.title", lang, count=0),
                       problem or info_alert(t("monthly.empty", lang)),
                       section_id="monthly-section")
    columns = [t("col.rank", lang), t("col.ticker", lang), t("col.company", lang),
               t("col.sector", lang), t("col.weight", lang), t("col.return_n", lang, n=20),
               t("col.score", lang), t("col.periods", lang)]
    table_rows = [
        Row(
            [str(r.get("rank")), html.B(r.get("ticker")), r.get("company_name") or "",
             r.get("sector") or "", fmt_pct(r.get("weight"), signed=False),
             signed_pct(r.get("return_pct")), fmt_number(r.get("score"), 6),
             r.get("source_periods") or ""],
            background=theme.HIGHLIGHT_ROW if (r.get("rank") or 99) <= 10 else None,
            class_name="tf-top10" if (r.get("rank") or 99) <= 10 else "",
            attrs={"data-ticker": str(r.get("ticker"))},
        )
        for r in rows
    ]
    footer = html.P(t(
        "monthly.footer", lang, rebalance=payload.get("rebalance_date"),
        valid=payload.get("valid_until"),
        total=fmt_pct(payload.get("total_weight"), signed=False),
    ), className="small", style={"color": theme.MUTED})
    return section(t("monthly.title", lang, count=len(rows)),
                   data_table(columns, table_rows, theme.MONTHLY_HEADER, "monthly-table"), footer,
                   section_id="monthly-section")


def _ranking_section(sec: dict[str, Any], lang: str) -> Any:
    payload, problem = _unwrap(sec, lang, t("nodata.title", lang))
    if problem is not None:
        return section(t("ranking.title", lang), problem, section_id="ranking-section")
    etfs = payload.get("etfs") or []
    footer = html.P(t("ranking.footer", lang, count=len(etfs)), className="small",
                    style={"color": theme.MUTED})
    return section(
        t("ranking.title", lang),
        _etf_table(etfs, RANKING_PERIOD, lang, theme.RANKING_HEADER, "ranking-table"),
        footer, section_id="ranking-section",
    )


def _history_section(sec: dict[str, Any], lang: str) -> Any:
    payload, problem = _unwrap(sec, lang, t("history.empty", lang))
    rows: list[dict[str, Any]] = payload or []
    if problem is not None or not rows:
        return section(t("history.title", lang), problem or info_alert(t("history.empty", lang)),
                       section_id="history-section")
    months = sorted({r["month"] for r in rows})
    complete = {r["month"]: bool(r.get("is_complete", True)) for r in rows}
    by_etf: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = by_etf.setdefault(r["ticker"], {"info": r, "returns": {}})
        entry["returns"][r["month"]] = r.get("monthly_return")
    order = sorted(by_etf, key=lambda tk: (not by_etf[tk]["info"].get("is_benchmark"),
                                            tk != "SPY", tk))
    labels = [m[:7] if complete.get(m, True) else t("history.current", lang, month=m[:7])
              for m in months]
    columns = [t("col.etf", lang), t("col.kind", lang), *labels]
    table_rows = [
        Row(
            [html.B(tk), _kind(by_etf[tk]["info"], lang),
             *[signed_pct(by_etf[tk]["returns"].get(m)) for m in months]],
            background=theme.BENCHMARK_ROW if by_etf[tk]["info"].get("is_benchmark") else None,
            class_name="tf-benchmark" if by_etf[tk]["info"].get("is_benchmark") else "",
            attrs={"data-ticker": tk},
        )
        for tk in order
    ]
    return section(t("history.title", lang),
                   data_table(columns, table_rows, theme.CARD_HEADER, "history-table"),
                   note=t("history.note", lang), section_id="history-section")


def _vs_spy_section(sec: dict[str, Any], lang: str) -> Any:
    payload, problem = _unwrap(sec, lang, t("vs_spy.empty", lang))
    points = (payload or {}).get("points") or []
    if problem is not None or not points:
        return section(t("vs_spy.title", lang), problem or info_alert(t("vs_spy.empty", lang)),
                       section_id="vs-spy-section")
    graph = dcc.Graph(id="vs-spy-chart", figure=vs_spy_chart(points, lang), config=GRAPH_CONFIG)
    return section(t("vs_spy.title", lang), graph, section_id="vs-spy-section")
