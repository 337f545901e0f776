"""Small building blocks: number formats, coloured cells, tables with row colours, messages."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from trendfolio_dashboard import theme
from trendfolio_dashboard.api import ApiError
from trendfolio_dashboard.i18n import t

Cell = Any  # a string or a Dash component


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def fmt_pct(value: object, digits: int = 2, signed: bool = True) -> str:
    number = _number(value)
    if number is None:
        return "—"
    return f"{number:+.{digits}f}%" if signed else f"{number:.{digits}f}%"


def fmt_billions(value: object) -> str:
    number = _number(value)
    return "—" if number is None else f"{number / 1e9:,.1f}"


def fmt_number(value: object, digits: int = 4) -> str:
    number = _number(value)
    return "—" if number is None else f"{number:.{digits}f}"


def signed_pct(value: object, digits: int = 2) -> html.Span:
    """A return in percent, green when ≥ 0 and red below."""
    number = _number(value)
    colour = theme.MUTED if number is None else theme.POSITIVE if number >= 0 else theme.NEGATIVE
    return html.Span(fmt_pct(value, digits), style={"color": colour, "fontWeight": 600})


@dataclass
class Row:
    cells: Sequence[Cell]
    background: str | None = None
    class_name: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)


def data_table(
    columns: Sequence[str], rows: Sequence[Row], header_colour: str, table_id: str
) -> dbc.Table:
    """A Bootstrap table; a row's background is set on its cells (Bootstrap paints cells)."""
    header = html.Thead(
        html.Tr([
            html.Th(c, style={"backgroundColor": header_colour, "color": "white"}) for c in columns
        ])
    )
    body = html.Tbody([
        html.Tr(
            [
                html.Td(cell, style={"backgroundColor": row.background} if row.background else None)
                for cell in row.cells
            ],
            className=row.class_name or None,
            **row.attrs,
        )
        for row in rows
    ])
    return dbc.Table(
        [header, body], id=table_id, bordered=True, size="sm", responsive=True,
        class_name="tf-table align-middle",
    )


def section(title: str, *children: Any, note: str | None = None, section_id: str) -> html.Section:
    parts: list[Any] = [html.H5(title, className="tf-section-title", style={"color": theme.TITLE})]
    if note:
        parts.append(html.P(note, className="small", style={"color": theme.MUTED}))
    parts.extend(children)
    return html.Section(parts, id=section_id, className="mb-4")


def error_alert(err: ApiError, lang: str) -> dbc.Alert:
    """An API failure as a readable message, never a traceback."""
    return dbc.Alert(
        [html.Strong(t("error.title", lang) + ": "), err.message(lang)],
        color="danger", class_name="tf-error",
    )


def info_alert(text: str, class_name: str = "tf-empty") -> dbc.Alert:
    return dbc.Alert(text, color="light", class_name=class_name)


def badge(text: str, colour: str) -> html.Span:
    return html.Span(
        text, className="badge ms-2",
        style={"backgroundColor": colour, "color": "white"},
    )
