"""
Notebook output without a plotting dependency: HTML tables, an inline SVG
funnel chart, and one small chart frame (:func:`chart_svg`) for steps,
lines, bands, bars and marked values.

Every text is escaped and every number is written with a fixed number of
decimals, so the same report gives the same bytes.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

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
        parts.append(f"<title>{e(title)}</title>")
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


# --- charts ---------------------------------------------------------------------------

#: Every chart's size in pixels.
CHART_WIDTH = 560
CHART_HEIGHT = 300
#: The plot area inside a chart: x runs from PLOT_LEFT (the low end of the x
#: axis) to PLOT_RIGHT, y from PLOT_BOTTOM (the low end of the y axis) up to PLOT_TOP.
PLOT_LEFT = 64
PLOT_RIGHT = 544
PLOT_TOP = 56
PLOT_BOTTOM = 256

BLUE = "#4c78a8"
ORANGE = "#f58518"
RED = "#e45756"
INK = "#222"

_FAINT = 'fill-opacity="0.25"'
#: Values beyond this are drawn at it: a chart has no room for 10**5000.
_HUGE = 1e300
#: A step line or band with more vertices than this is thinned to what a pixel column shows.
_MOST_VERTICES = 2_000


def finite(value: object) -> float:
    """
    *value* (an int, float, Decimal or Fraction) as a float to draw, held
    within +-1e300 (a huge int or ``Decimal('1e999')`` does not overflow a
    chart); NaN is drawn as 0.

    >>> finite(10**5000), finite(float("nan")), finite(2)
    (1e+300, 0.0, 2.0)
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        number = _HUGE if value > 0 else -_HUGE  # type: ignore[operator]
    if number != number:  # noqa: PLR0124 - NaN
        return 0.0
    return max(-_HUGE, min(_HUGE, number))


def short_number(value: float) -> str:
    """
    *value* in a few characters, for an axis tick.

    >>> [short_number(v) for v in (0.0, 2.5, 1500, 12500, 3_000_000, -0.25)]
    ['0', '2.5', '1500', '12.5k', '3M', '-0.25']
    """
    if value == 0:
        return "0"
    size = abs(value)
    for limit, unit, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if size >= limit:
            return f"{value / unit:.3g}{suffix}"
    return f"{value:.4g}"


def percent(value: float) -> str:
    """
    A share as a percentage, for an axis tick.

    >>> percent(0.25), percent(0.005), percent(1.0)
    ('25%', '0.5%', '100%')
    """
    return f"{value * 100:.3g}%"


@dataclass(frozen=True)
class Axis:
    """
    One axis of a chart: the values at its low and high ends, and the
    labelled ticks between them.
    """

    low: float
    high: float
    ticks: tuple[tuple[float, str], ...] = ()

    def x(self, value: float) -> float:
        """The pixel x of *value* on the horizontal axis."""
        return PLOT_LEFT + self._share(value) * (PLOT_RIGHT - PLOT_LEFT)

    def y(self, value: float) -> float:
        """The pixel y of *value* on the vertical axis."""
        return PLOT_BOTTOM - self._share(value) * (PLOT_BOTTOM - PLOT_TOP)

    def _share(self, value: float) -> float:
        span = self.high - self.low
        return 0.5 if span <= 0 else (finite(value) - self.low) / span


def nice_axis(
    low: float, high: float, *, label: Callable[[float], str] = short_number, integers: bool = False
) -> Axis:
    """
    An axis from a round number at or below *low* to one at or above *high*,
    with ticks at a round step (1, 2 or 5 times a power of ten, at least 1
    when *integers*), 3 to 6 of them.

    >>> nice_axis(0, 4).ticks
    ((0.0, '0'), (1.0, '1'), (2.0, '2'), (3.0, '3'), (4.0, '4'))
    >>> [t for _, t in nice_axis(0.03, 0.41, label=percent).ticks]
    ['0%', '10%', '20%', '30%', '40%', '50%']
    """
    low, high = sorted((finite(low), finite(high)))
    if high == low:
        low, high = (low - abs(low) / 2, high + abs(high) / 2) if low else (0.0, 1.0)
    raw = (high - low) / 5
    if not raw > 1e-300:  # too narrow for a float's powers of ten: draw it one unit wide
        high, raw = low + 1.0, 0.2
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if raw <= m * power * (1 + 1e-9))
    if integers:
        step = max(1.0, float(round(step)))
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    count = round((last - first) / step)
    values = [round(first + i * step, 12) for i in range(count + 1)]
    return Axis(values[0], values[-1], tuple((v, label(v)) for v in values))


@dataclass(frozen=True)
class Line:
    """
    A series through *points* (``(x, y)`` in data units), drawn straight or
    as *steps* (each y held until the next point's x), solid or *dashed*.
    *markers* ``"dot"`` or ``"tick"`` marks each point too; with
    ``path=False`` only the markers are drawn.  *label* names it in the
    legend and its tooltip.
    """

    label: str
    points: Sequence[tuple[float, float]]
    color: str = BLUE
    steps: bool = False
    dashed: bool = False
    markers: str = ""
    path: bool = True


@dataclass(frozen=True)
class Band:
    """
    A shaded area between *upper* and *lower* (``(x, y)`` points in data
    units, at the same xs), drawn straight or as steps.
    """

    label: str
    upper: Sequence[tuple[float, float]]
    lower: Sequence[tuple[float, float]]
    color: str = BLUE
    steps: bool = False


@dataclass(frozen=True)
class Bar:
    """A bar over x from *low* to *high*, from 0 up to *value*, with a tooltip *note*."""

    low: float
    high: float
    value: float
    note: str


@dataclass(frozen=True)
class Mark:
    """
    A dashed vertical line at *x*, with a short *label* at its top (``p90``)
    and a longer *note* in the legend and its tooltip (``p90 = 150 USD``).
    """

    x: float
    label: str
    note: str = ""
    color: str = RED


def _vertices(
    points: Sequence[tuple[float, float]], x: Axis, y: Axis, steps: bool
) -> list[tuple[float, float]]:
    """
    The pixel vertices of a line through *points*; for steps, each y held to
    the next x.  Thousands of steps are thinned to the first and last vertex
    of each quarter-pixel column (what the picture shows anyway).
    """
    out: list[tuple[float, float]] = []
    for vx, vy in points:
        px, py = x.x(vx), y.y(vy)
        if steps and out:
            out.append((px, out[-1][1]))
        out.append((px, py))
    if len(out) <= _MOST_VERTICES:
        return out
    thinned: list[tuple[float, float]] = []
    column = None
    for px, py in out:
        here = round(px * 4)
        if here == column and len(thinned) >= 2 and round(thinned[-2][0] * 4) == column:
            thinned[-1] = (px, py)
        else:
            thinned.append((px, py))
        column = here
    return thinned


def _path(vertices: Sequence[tuple[float, float]]) -> str:
    return "".join(f"{'L' if i else 'M'}{px:.2f},{py:.2f}" for i, (px, py) in enumerate(vertices))


def _legend(entries: Sequence[tuple[str, str, str]]) -> str:
    """A row of (swatch, label) under the title; *entries* are (label, color, kind)."""
    e = html.escape
    parts = []
    left = float(PLOT_LEFT)
    for label, color, kind in entries:
        paint = f'stroke="{color}" stroke-width="2"'
        if kind == "mark":
            paint += ' stroke-dasharray="4 3"'
        if kind == "band":
            swatch = f'<rect x="{left:.1f}" y="31" width="14" height="10" fill="{color}" {_FAINT}/>'
        elif kind == "tick":
            swatch = f'<line x1="{left + 7:.1f}" y1="31" x2="{left + 7:.1f}" y2="41" {paint}/>'
        else:
            swatch = f'<line x1="{left:.1f}" y1="36" x2="{left + 14:.1f}" y2="36" {paint}/>'
        parts.append(f'{swatch}<text x="{left + 18:.1f}" y="40">{e(label)}</text>')
        left += 18 + 6.5 * len(label) + 16
    return "".join(parts)


def chart_svg(
    *,
    title: str,
    x: Axis,
    y: Axis,
    x_label: str = "",
    y_label: str = "",
    bars: Sequence[Bar] = (),
    bands: Sequence[Band] = (),
    lines: Sequence[Line] = (),
    marks: Sequence[Mark] = (),
) -> str:
    """
    One chart, as an ``<svg>`` element of CHART_WIDTH x CHART_HEIGHT pixels
    with a ``<title>``: the axes with their ticks and labels, then the *bars*,
    the shaded *bands*, the *lines* and the dashed vertical *marks*, and a
    legend of the labelled bands and lines.  Every text is escaped; every
    coordinate is written with two decimals, so the output is deterministic.

    >>> svg = chart_svg(title="S(t)", x=nice_axis(0, 4), y=Axis(0, 1),
    ...                 lines=[Line("survival", [(0, 1), (2, 0.5)], steps=True)])
    >>> 'd="M64.00,56.00L304.00,56.00L304.00,156.00"' in svg
    True
    """
    e = html.escape
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" '
            f'viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" font-family="sans-serif" font-size="11" '
            f'role="img"><title>{e(title)}</title>'
            f'<text x="{CHART_WIDTH / 2:.0f}" y="18" text-anchor="middle" font-size="13" font-weight="bold">'
            f"{e(title)}</text>"
        )
    ]
    parts += _ticks_svg(x, y)
    parts += _bars_svg(bars, x, y)
    parts += _bands_svg(bands, x, y)
    parts += _lines_svg(lines, x, y)
    parts += _marks_svg(marks, x)
    parts.append(
        f'<line x1="{PLOT_LEFT}" y1="{PLOT_BOTTOM}" x2="{PLOT_RIGHT}" y2="{PLOT_BOTTOM}" stroke="{INK}"/>'
        f'<line x1="{PLOT_LEFT}" y1="{PLOT_TOP}" x2="{PLOT_LEFT}" y2="{PLOT_BOTTOM}" stroke="{INK}"/>'
    )
    if x_label:
        middle = (PLOT_LEFT + PLOT_RIGHT) / 2
        parts.append(
            f'<text x="{middle:.0f}" y="{CHART_HEIGHT - 10}" text-anchor="middle">{e(x_label)}</text>'
        )
    if y_label:
        centre = (PLOT_TOP + PLOT_BOTTOM) / 2
        parts.append(
            f'<text x="{-centre:.0f}" y="16" transform="rotate(-90)" text-anchor="middle">{e(y_label)}</text>'
        )
    entries = [(b.label, b.color, "band") for b in bands if b.label]
    entries += [
        (ln.label, ln.color, "line" if ln.path else ln.markers)
        for ln in lines
        if ln.label and (ln.path or ln.markers)
    ]
    entries += [(m.note, m.color, "mark") for m in marks if m.note]
    parts.append(_legend(entries))
    parts.append("</svg>")
    return "".join(parts)


def _ticks_svg(x: Axis, y: Axis) -> list[str]:
    """The grid lines and labels of the y ticks, and the x ticks with their labels."""
    e = html.escape
    parts = []
    for value, text in y.ticks:
        py = y.y(value)
        parts.append(
            f'<line x1="{PLOT_LEFT}" y1="{py:.2f}" x2="{PLOT_RIGHT}" y2="{py:.2f}" stroke="#ddd"/>'
            f'<text x="{PLOT_LEFT - 6}" y="{py + 4:.2f}" text-anchor="end">{e(text)}</text>'
        )
    for value, text in x.ticks:
        px = x.x(value)
        parts.append(
            f'<line x1="{px:.2f}" y1="{PLOT_BOTTOM}" x2="{px:.2f}" y2="{PLOT_BOTTOM + 4}" stroke="{INK}"/>'
            f'<text x="{px:.2f}" y="{PLOT_BOTTOM + 16}" text-anchor="middle">{e(text)}</text>'
        )
    return parts


def _bars_svg(bars: Sequence[Bar], x: Axis, y: Axis) -> list[str]:
    """One rectangle per bar, from the base line (0, or the bottom of the y axis) to its value."""
    e = html.escape
    base = y.y(0.0 if y.low <= 0 <= y.high else y.low)
    parts = []
    for bar in bars:
        x0, x1 = sorted((x.x(bar.low), x.x(bar.high)))
        top = y.y(bar.value)
        parts.append(
            f'<rect x="{x0:.2f}" y="{min(top, base):.2f}" width="{max(1.0, x1 - x0):.2f}" '
            f'height="{abs(base - top):.2f}" fill="{BLUE}"><title>{e(bar.note)}</title></rect>'
        )
    return parts


def _bands_svg(bands: Sequence[Band], x: Axis, y: Axis) -> list[str]:
    """One shaded path per band, between its upper and lower edges."""
    e = html.escape
    parts = []
    for band in bands:
        outline = _vertices(band.upper, x, y, band.steps) + _vertices(band.lower, x, y, band.steps)[::-1]
        if outline:
            parts.append(
                f'<path d="{_path(outline)}Z" fill="{band.color}" {_FAINT} stroke="none">'
                f"<title>{e(band.label)}</title></path>"
            )
    return parts


def _lines_svg(lines: Sequence[Line], x: Axis, y: Axis) -> list[str]:
    """Each line's path (solid or dashed) and its markers (dots or ticks), as it asks."""
    e = html.escape
    parts = []
    for line in lines:
        vertices = _vertices(line.points, x, y, line.steps)
        if line.path and vertices:
            dash = ' stroke-dasharray="6 4"' if line.dashed else ""
            parts.append(
                f'<path d="{_path(vertices)}" fill="none" stroke="{line.color}" stroke-width="2"{dash}>'
                f"<title>{e(line.label)}</title></path>"
            )
        if line.markers:
            spots = dict.fromkeys((round(x.x(vx), 2), round(y.y(vy), 2)) for vx, vy in line.points)
            shapes = [
                f'<circle cx="{px:.2f}" cy="{py:.2f}" r="3" fill="{line.color}"/>'
                if line.markers == "dot"
                else f'<line x1="{px:.2f}" y1="{py - 5:.2f}" x2="{px:.2f}" y2="{py + 5:.2f}" '
                f'stroke="{line.color}" stroke-width="1.5"/>'
                for px, py in list(spots)[:_MOST_VERTICES]
            ]
            parts.append(f"<g><title>{e(line.label)}</title>{''.join(shapes)}</g>")
    return parts


def _marks_svg(marks: Sequence[Mark], x: Axis) -> list[str]:
    """Each mark as a dashed vertical line with its label, on the side of the plot with room."""
    e = html.escape
    middle = (PLOT_LEFT + PLOT_RIGHT) / 2
    parts = []
    for i, mark in enumerate(marks):
        px = x.x(mark.x)
        ty = PLOT_TOP + 12 + 13 * (i % 3)
        anchor, tx = ("start", px + 4) if px <= middle else ("end", px - 4)
        parts.append(
            f'<line x1="{px:.2f}" y1="{PLOT_TOP}" x2="{px:.2f}" y2="{PLOT_BOTTOM}" stroke="{mark.color}" '
            f'stroke-width="1.5" stroke-dasharray="4 3"><title>{e(mark.note or mark.label)}</title></line>'
            f'<text x="{tx:.2f}" y="{ty}" text-anchor="{anchor}" fill="{mark.color}" stroke="#fff" '
            f'stroke-width="3" paint-order="stroke">{e(mark.label)}</text>'
        )
    return parts
