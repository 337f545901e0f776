"""Render a view from the data ``data.load_view`` fetched: pure, so switching language is free."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from trendfolio_dashboard import theme
from trendfolio_dashboard.caveats import Caveat
from trendfolio_dashboard.caveats import parse as parse_caveat
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
    BACKTEST_VIEW,
    CARD_HOLDINGS,
    MONTHLY_VIEW,
    PERIOD_VIEWS,
    RANKING_PERIOD,
    error_from_payload,
)
from trendfolio_dashboard.figures import (
    drawdown_chart,
    equity_chart,
    turnover_chart,
    vs_spy_chart,
    weights_chart,
)
from trendfolio_dashboard.i18n import TEXTS, t

GRAPH_CONFIG: Any = {"displayModeBar": False, "responsive": True}


def render_view(data: dict[str, Any] | None, lang: str) -> Any:
    if not data:
        return html.Div()
    view = data["view"]
    if view in PERIOD_VIEWS:
        body = _period_view(data, PERIOD_VIEWS[view], lang)
    elif view == MONTHLY_VIEW:
        body = _monthly_view(data, lang)
    elif view == BACKTEST_VIEW:
        body = _backtest_view(data["backtest"], lang)
    else:
        body = []
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


# ---------------------------------------------------------------- backtest tab

STRATEGY_ORDER = ("5d", "10d", "20d", "monthly", "SPY")


def _pct(fraction: object, signed: bool = True, digits: int = 2) -> Any:
    """A stored fraction shown in percent: coloured when signed, plain text otherwise."""
    value = None if not isinstance(fraction, int | float) else 100 * fraction
    return signed_pct(value, digits) if signed else fmt_pct(value, digits, signed=False)


def _turnover(fraction: object) -> str:
    """Turnover in percent of equity with thousands separators (9,000% = 90 × the portfolio)."""
    return f"{100 * fraction:,.0f}%" if isinstance(fraction, int | float) else "—"


def _backtest_view(sec: dict[str, Any], lang: str) -> list[Any]:
    if "error" in sec:
        err = error_from_payload(sec["error"])
        if err.kind == "status" and err.status == 404:
            return [info_alert(t("backtest.empty", lang), "tf-empty tf-backtest-empty")]
        return [error_alert(err, lang)]
    payload = sec["ok"]
    run = payload["run"]
    metrics: dict[str, dict[str, Any]] = payload.get("strategies") or {}
    strategies = [s for s in STRATEGY_ORDER if s in metrics] + [
        s for s in metrics if s not in STRATEGY_ORDER]
    caveats = [parse_caveat(c) for c in payload.get("caveats") or []]
    header = section(
        t("backtest.title", lang, start=run["start_date"], end=run["end_date"],
          sessions=run["sessions"]),
        _point_in_time_alert(run, payload.get("point_in_time") or {}, caveats, lang),
        note=t("backtest.run", lang, id=run["id"], universe=run["universe"],
               source=run["source"], cost_bps=f"{run['cost_bps']:g}", lag=run["lag"],
               created=(run.get("created_at") or "")[:16].replace("T", " ") + " UTC"),
        section_id="backtest-run-section",
    )
    equity = dcc.Graph(id="backtest-equity-chart", config=GRAPH_CONFIG,
                       figure=equity_chart(payload.get("equity") or [], strategies, lang))
    drawdown = dcc.Graph(id="backtest-drawdown-chart", config=GRAPH_CONFIG,
                         figure=drawdown_chart(payload.get("drawdown") or [], strategies, lang))
    parts = [
        header,
        section(t("backtest.equity_title", lang), equity, section_id="backtest-equity-section"),
        section(t("backtest.metrics_title", lang), _metrics_table(metrics, strategies, lang),
                note=t("backtest.metrics_note", lang), section_id="backtest-metrics-section"),
        section(t("backtest.drawdown_title", lang), drawdown,
                section_id="backtest-drawdown-section"),
    ]
    turnover = payload.get("turnover") or []
    if turnover:
        parts.append(section(
            t("backtest.turnover_title", lang),
            dcc.Graph(id="backtest-turnover-chart", config=GRAPH_CONFIG,
                      figure=turnover_chart(turnover, strategies, lang)),
            section_id="backtest-turnover-section"))
    parts.append(_picks_section(payload.get("picks") or [], lang))
    others = [c for c in caveats if c.kind != "not_point_in_time"]
    parts.append(section(
        t("backtest.caveats_title", lang),
        html.Ul([_caveat_item(c, lang) for c in others], id="backtest-caveats"),
        section_id="backtest-caveats-section"))
    return parts


def _caveat_item(caveat: Caveat, lang: str) -> html.Li:
    attrs: dict[str, Any] = {"data-kind": caveat.kind or "other"}
    return html.Li(caveat.words(lang), **attrs)


def _point_in_time_alert(
    run: dict[str, Any], pit: dict[str, Any], caveats: list[Caveat], lang: str
) -> dbc.Alert:
    """Loud when the run is not point-in-time (the warning in full); a quiet line when it is."""
    dates = pit.get("dates", 0)
    if run.get("point_in_time"):
        return dbc.Alert(t("backtest.pit_ok", lang, dates=dates), color="success",
                         id="pit-ok", class_name="small")
    warning = next((c for c in caveats if c.kind == "not_point_in_time"), None)
    return dbc.Alert(
        [
            html.H5(t("backtest.pit_title", lang), className="alert-heading fw-bold"),
            html.P(warning.words(lang), className="mb-2") if warning is not None else None,
            html.P(t("backtest.pit_counts", lang, dates=dates, clean=pit.get("clean", 0),
                     holdings=pit.get("holdings_dated_ok", 0), caps=pit.get("caps_dated_ok", 0),
                     recorded=pit.get("recorded_in_time", 0)),
                   className="small mb-0"),
        ],
        color="danger", id="pit-warning",
    )


def _metrics_table(
    metrics: dict[str, dict[str, Any]], strategies: list[str], lang: str
) -> Any:
    columns = [t(f"col.{k}", lang) for k in (
        "strategy", "total_return", "cagr", "volatility", "sharpe", "max_drawdown",
        "turnover_per_year", "trades", "hit_rate")]
    rows = []
    for s in strategies:
        m = metrics[s]
        benchmark = s == "SPY"
        rows.append(Row(
            [
                html.B(t(f"strategy.{s}", lang) if f"strategy.{s}" in TEXTS else s,
                       style={"color": theme.STRATEGY_LINES.get(s, theme.TEXT)}),
                _pct(m.get("total_return")),
                _pct(m.get("cagr")),
                _pct(m.get("volatility"), signed=False),
                fmt_number(m.get("sharpe"), 2),
                _pct(m.get("max_drawdown")),
                _turnover(m.get("turnover_per_year")),
                str(m.get("trades", "—")),
                _pct(m.get("hit_rate"), signed=False, digits=1),
            ],
            background=theme.BENCHMARK_ROW if benchmark else None,
            class_name="tf-benchmark" if benchmark else "",
            attrs={"data-strategy": s},
        ))
    return data_table(columns, rows, theme.BACKTEST_HEADER, "backtest-metrics-table")


def _picks_section(picks: list[dict[str, Any]], lang: str) -> Any:
    title = t("backtest.picks_title", lang)
    if not picks:
        return section(title, info_alert(t("backtest.picks_empty", lang)),
                       section_id="backtest-picks-section")
    columns = [t(f"col.{k}", lang) for k in (
        "portfolio", "horizon", "picks", "mean_pick_return", "mean_etf_return", "mean_excess",
        "median_excess", "beat_etf_share")]
    rows = [
        Row(
            [
                t(f"strategy.{p['period_days']}d", lang),
                t("horizon.sessions", lang, n=p["horizon"]),
                str(p["picks"]),
                _pct(p.get("mean_pick_return")),
                _pct(p.get("mean_etf_return")),
                _pct(p.get("mean_excess")),
                _pct(p.get("median_excess")),
                _pct(p.get("beat_etf_share"), signed=False, digits=1),
            ],
            attrs={"data-period": str(p["period_days"]), "data-horizon": str(p["horizon"])},
        )
        for p in picks
    ]
    return section(title, data_table(columns, rows, theme.BACKTEST_HEADER, "backtest-picks-table"),
                   note=t("backtest.picks_note", lang), section_id="backtest-picks-section")
