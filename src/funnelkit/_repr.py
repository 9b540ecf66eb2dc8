"""
Notebook output without a plotting dependency: HTML tables and an inline SVG
funnel chart.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

_WIDTH = 480
_ROW = 34
_GAP = 4
_LABEL = 150


def html_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, caption: str | None = None
) -> str:
    """
    A plain HTML table; every cell is escaped, ``None`` shows as empty.
    """
    e = html.escape
    head = "".join(f"<th>{e(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{'' if v is None else e(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    cap = f"<caption>{e(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def funnel_svg(bars: Sequence[tuple[str, float, str]], *, title: str = "") -> str:
    """
    A horizontal funnel: one centred bar per stage, as wide as its value
    relative to the largest, labelled with the stage and *note* (the
    number to show).  *bars* are ``(stage, value, note)``; values must be
    >= 0.  Returns an ``<svg>`` element, sized in pixels.

    >>> svg = funnel_svg([("contact", 10, "10"), ("won", 2.5, "2.5")], title="Open deals")
    >>> svg.startswith("<svg") and svg.count("<rect") == 2 and "Open deals" in svg
    True
    """
    e = html.escape
    top = max((v for _, v, _ in bars), default=0) or 1
    height = len(bars) * (_ROW + _GAP) + (24 if title else 4)
    width = _LABEL + _WIDTH + 10
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" role="img">'
        )
    ]
    y = 4
    if title:
        parts.append(
            f'<text x="{width / 2:.0f}" y="15" text-anchor="middle" font-weight="bold">{e(title)}</text>'
        )
        y = 24
    for stage, value, note in bars:
        w = max(1.0, _WIDTH * max(0.0, value) / top)
        x = _LABEL + (_WIDTH - w) / 2
        parts.append(
            f'<text x="{_LABEL - 8}" y="{y + _ROW / 2 + 4:.0f}" text-anchor="end">{e(stage)}</text>'
            f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{_ROW}" fill="#4c78a8" rx="3">'
            f"<title>{e(stage)}: {e(note)}</title></rect>"
            f'<text x="{_LABEL + _WIDTH / 2:.0f}" y="{y + _ROW / 2 + 4:.0f}" text-anchor="middle" '
            f'fill="#000">{e(note)}</text>'
        )
        y += _ROW + _GAP
    parts.append("</svg>")
    return "".join(parts)
