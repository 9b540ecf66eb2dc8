"""
The pictures of the forecasting reports, checked by their geometry on small cases worked by hand.

Every chart is 560 x 300 pixels; its plot area runs from x = 64 to 544 and from y = 256 (the low
end of the y axis) up to y = 56, so a value v on an axis from lo to hi sits at
x = 64 + 480 (v - lo) / (hi - lo) and y = 256 - 200 (v - lo) / (hi - lo).
"""

import math
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from test_backtest import DEALS, EVENTS, point
from three_stages import DAY, T0

from funnelkit import Money
from funnelkit._repr import Axis, Line, Mark, chart_svg, nice_axis
from funnelkit.errors import ValidationError
from funnelkit.forecast import KaplanMeier, RevenueDistribution, backtest, kaplan_meier, win_count

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    """The picture as XML: one sized <svg> with role="img" and a <title>."""
    root = ET.fromstring(svg)  # noqa: S314 - funnelkit's own output
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height"), root.get("role")) == ("560", "300", "img")
    assert root.find(f"{SVG}title") is not None
    return root


def titled(root: ET.Element, tag: str, title: str) -> list[ET.Element]:
    """The <tag> elements whose own <title> is *title*."""
    return [e for e in root.iter(f"{SVG}{tag}") if e.findtext(f"{SVG}title") == title]


def vertices(d: str) -> list[tuple[float, float]]:
    """The (x, y) pairs of a path written as M x,y L x,y ..."""
    return [(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", d)]


def rects(root: ET.Element) -> list[tuple[float, float, float, float]]:
    """Every bar: (x, y, width, height)."""
    return [tuple(float(r.get(k)) for k in ("x", "y", "width", "height")) for r in root.iter(f"{SVG}rect")]


def marks(root: ET.Element) -> dict[str, float]:
    """The dashed vertical marks: their tooltip and x."""
    return {
        line.findtext(f"{SVG}title"): float(line.get("x1"))
        for line in root.iter(f"{SVG}line")
        if line.get("stroke-dasharray") and line.findtext(f"{SVG}title")
    }


# --- Kaplan-Meier -------------------------------------------------------------------------


def test_two_step_survival_curve_by_hand():
    """
    Four deals: closed at 1 and 2, two still open at 4.  S = 3/4 after 1 (1 of 4 closed), 1/2
    after 2 (1 of 3), and stays 1/2 at 4 (censored).  The x axis runs 0..4 (x = 64 + 120 t), the
    y axis 0..1 (y = 256 - 200 S): the curve holds y = 56 (S = 1) to x = 184, drops to 106 (3/4),
    holds to x = 304, drops to 156 (1/2) and holds to x = 544, where the two censored deals are
    ticked.
    """
    km = kaplan_meier([(1, True), (2, True), (4, False), (4, False)])
    root = parse(km.to_svg())
    (curve,) = titled(root, "path", "S(t)")
    assert vertices(curve.get("d")) == [
        (64, 56), (184, 56), (184, 106), (304, 106), (304, 156), (544, 156), (544, 156),
    ]  # fmt: skip
    assert {y for _, y in vertices(curve.get("d"))} == {256 - 200 * s for s in (1, 0.75, 0.5)}
    (ticks,) = [g for g in root.iter(f"{SVG}g") if g.findtext(f"{SVG}title") == "censored"]
    (tick,) = ticks.iter(f"{SVG}line")
    assert (tick.get("x1"), tick.get("y1"), tick.get("y2")) == ("544.00", "151.00", "161.00")
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert [t for t in labels if t in {"0", "1", "2", "3", "4"}] == ["0", "1", "2", "3", "4"]
    assert {"0%", "25%", "50%", "75%", "100%"} <= set(labels)
    assert km.to_svg() in km._repr_html_()


def test_the_band_is_greenwood_on_the_log_log_scale():
    """
    After the first close S = 3/4 and Greenwood's sum is 1/(4 x 3) = 1/12; on the log(-log)
    scale the half-width is 1.96 sqrt(1/12) / |log 3/4|, so the 95 % band is
    exp(-exp(log(-log 3/4) +- 1.96 sqrt(1/12) / |log 3/4|)) = (0.1279, 0.9605).  After the second,
    S = 1/2 and the sum is 1/12 + 1/(3 x 2) = 1/4: (0.0578, 0.8449).  The band's outline passes
    through those values at the step times.
    """
    km = kaplan_meier([(1, True), (2, True), (4, False), (4, False)])
    z = 1.959963984540054
    expected = []
    for s, greenwood in ((0.75, 1 / 12), (0.5, 1 / 4)):
        half = z * math.sqrt(greenwood) / abs(math.log(s))
        centre = math.log(-math.log(s))
        expected.append((math.exp(-math.exp(centre + half)), math.exp(-math.exp(centre - half))))
    band = km.confidence_band()
    assert [b for pair in band[:2] for b in pair] == pytest.approx(
        [b for pair in expected for b in pair], abs=1e-12
    )
    assert [round(b, 4) for b in band[0] + band[1]] == [0.1279, 0.9605, 0.0578, 0.8449]
    assert band[2] == band[1]  # censoring alone does not move S or its variance
    (outline,) = titled(parse(km.to_svg()), "path", "95% band")
    ys = {y for _, y in vertices(outline.get("d"))}
    for lower, upper in band:
        assert round(256 - 200 * upper, 2) in ys
        assert round(256 - 200 * lower, 2) in ys
    records = km.to_records()
    assert [(r["survival"], r["lower_95"], r["upper_95"]) for r in records][1] == (
        0.5,
        band[1][0],
        band[1][1],
    )


def test_the_band_level_is_checked():
    """level is a number in (0, 1)."""
    km = kaplan_meier([(1, True), (2, False)])
    assert km.confidence_band(0.5)[0][0] > km.confidence_band(0.99)[0][0]
    for bad, code in (
        (1, "range"),
        (0, "range"),
        (float("nan"), "range"),
        (Decimal("NaN"), "range"),
        ("0.9", "type"),
    ):
        with pytest.raises(ValidationError) as e:
            km.confidence_band(bad)
        assert [(p.path, p.code) for p in e.value.problems] == [("level", code)]


def test_timedeltas_are_drawn_in_days():
    """Times as timedeltas: the x axis is in days, the curve steps at day 10."""
    km = kaplan_meier([(10 * DAY, True), (20 * DAY, False)])
    root = parse(km.to_svg())
    (curve,) = titled(root, "path", "S(t)")
    # 0..20 days: x = 64 + 24 t; S = 1/2 after day 10
    assert vertices(curve.get("d"))[:3] == [(64, 56), (304, 56), (304, 156)]
    assert "days" in [t.text for t in root.iter(f"{SVG}text")]


# --- distributions -----------------------------------------------------------------------


def test_win_count_bars_and_quantiles_by_hand():
    """
    Two coin flips: P(0, 1, 2 won) = 1/4, 1/2, 1/4; p10 = 0, p50 = 1, p90 = 2.  The x axis runs
    -0.5..2.5 (x = 64 + 160 (k + 0.5)), bars 0.8 wide; the y axis 0..50 % (y = 256 - 400 p).
    """
    d = win_count(["0.5", "0.5"])
    root = parse(d.to_svg())
    assert rects(root) == [(80, 156, 128, 100), (240, 56, 128, 200), (400, 156, 128, 100)]
    assert marks(root) == {"p10 = 0": 144, "p50 = 1": 304, "p90 = 2": 464}
    assert d.to_records() == [
        {"won": 0, "probability": 0.25, "at_most": 0.25, "at_least": 1.0},
        {"won": 1, "probability": 0.5, "at_most": 0.75, "at_least": 0.75},
        {"won": 2, "probability": 0.25, "at_most": 1.0, "at_least": 0.25},
    ]
    assert repr(d) == "<WinCount: 2 deals: 1.00 won on average, p10/p50/p90 0/1/2>"


def test_a_wide_win_count_shows_its_middle_in_at_most_60_bars():
    """3,000 deals at 30 %: about 900 won; the tails beyond 0.05 % are left out, neighbours share bars."""
    d = win_count(["0.3"] * 3000)
    root = parse(d.to_svg())
    notes = [r.findtext(f"{SVG}title") for r in root.iter(f"{SVG}rect")]
    ranges = [tuple(int(k.replace(",", "")) for k in n.split(" won")[0].split(" to ")) for n in notes]
    assert 40 <= len(ranges) <= 60
    assert [r[0] for r in ranges[1:]] == [r[-1] + 1 for r in ranges[:-1]]  # no count left out between
    assert ranges[0][0] <= d.quantile(0.0005)
    assert ranges[-1][-1] >= d.quantile(0.9995)
    shown = sum(float(n.rsplit(" ", 1)[1].rstrip("%")) for n in notes)
    assert shown == pytest.approx(100, abs=0.2)
    assert {"p10 = 868", "p50 = 900", "p90 = 932"} == set(marks(root))


def test_revenue_bars_per_distinct_outcome_by_hand():
    """
    Ten trials: 0 twice, 100 five times, 300 three times.  Gaps 100 and 200: bars 2 x 40 wide.
    The x axis is rounded out to -100..400 (x = 64 + 0.96 (v + 100)), the y axis 0..50 %
    (y = 256 - 400 share); p10 = 0 (the 1st of 10), p50 = 100 (the 5th), p90 = 300 (the 9th).
    """
    outcomes = tuple(Decimal(v) for v in (0, 0, 100, 100, 100, 100, 100, 300, 300, 300))
    d = RevenueDistribution(currency="USD", outcomes=outcomes)
    root = parse(d.to_svg())
    assert rects(root) == [(121.6, 176, 76.8, 80), (217.6, 56, 76.8, 200), (409.6, 136, 76.8, 120)]
    assert marks(root) == {"p10 = 0 USD": 160, "p50 = 100 USD": 256, "p90 = 300 USD": 448}
    assert [(r["quantile"], r["revenue"], r["revenue_currency"]) for r in d.to_records()] == [
        (0.0, 0, "USD"), (0.05, 0, "USD"), (0.1, 0, "USD"), (0.25, 100, "USD"), (0.5, 100, "USD"),
        (0.75, 300, "USD"), (0.9, 300, "USD"), (0.95, 300, "USD"), (1.0, 300, "USD"),
    ]  # fmt: skip
    assert repr(d) == "<RevenueDistribution: 10 trials: p10 0 USD, p50 100 USD, p90 300 USD; mean 140.00 USD>"


def test_many_revenues_are_binned_in_60_equal_bars():
    """1,000 outcomes 0..999: 60 bins of 16.65; the first holds 0..16 (17 trials, 1.70 %)."""
    d = RevenueDistribution(currency="EUR", outcomes=tuple(Decimal(v) for v in range(1000)))
    root = parse(d.to_svg())
    bars = list(root.iter(f"{SVG}rect"))
    assert len(bars) == 60
    assert bars[0].findtext(f"{SVG}title") == "0.00 to 16.65 EUR: 1.70%"
    shares = [float(b.findtext(f"{SVG}title").rsplit(" ", 1)[1].rstrip("%")) for b in bars]
    assert sum(shares) == pytest.approx(100, abs=0.1)


# --- backtest ------------------------------------------------------------------------------


def test_backtest_forecast_against_actual_by_hand():
    """
    Cut-offs on days 10 and 21 (11 days apart, padded by 8 %, 0.88 days, each side): x = 97.10
    and 510.90.  Forecast 140 then 120, actual 100 then 0; the y axis runs 0..150
    (y = 256 - 200 v / 150): 69.33, 96.00 and 122.67, 256.00.
    """
    cutoffs = [(T0 + 10 * DAY, T0 + 30 * DAY), (T0 + 21 * DAY, T0 + 40 * DAY)]
    result = backtest(DEALS, EVENTS, cutoffs=cutoffs, forecast=point, currency="USD")
    root = parse(result.to_svg())
    (actual,) = titled(root, "path", "actual")
    (forecast,) = titled(root, "path", "forecast")
    assert vertices(actual.get("d")) == [(97.10, 122.67), (510.90, 256.00)]
    assert vertices(forecast.get("d")) == [(97.10, 69.33), (510.90, 96.00)]
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert {"2026-01-15", "2026-01-26", "won in the window (USD)"} <= set(labels)


def test_a_quantile_backtest_draws_its_band_and_median():
    """p50 = weighted (140, 120), p90 = the full amount (600, 300): a band q0.5 to q0.9, median dashed."""

    def quantiles(deals):
        return {0.5: point(deals), 0.9: Money.total((d.amount for d in deals), currency="USD")}

    cutoffs = [(T0 + 10 * DAY, T0 + 30 * DAY), (T0 + 21 * DAY, T0 + 40 * DAY)]
    result = backtest(DEALS, EVENTS, cutoffs=cutoffs, forecast=quantiles, currency="USD")
    root = parse(result.to_svg())
    # y axis 0..600: y = 256 - v / 3
    (band,) = titled(root, "path", "q0.5 to q0.9")
    assert vertices(band.get("d")) == [(97.10, 56.00), (510.90, 156.00), (510.90, 216.00), (97.10, 209.33)]
    (median,) = titled(root, "path", "median forecast")
    assert median.get("stroke-dasharray") == "6 4"
    assert titled(root, "path", "forecast") == []


# --- the chart frame ----------------------------------------------------------------------


def test_charts_escape_every_text_and_are_deterministic():
    """Titles, labels, tooltips and marks are escaped; the same chart gives the same bytes."""

    def draw():
        return chart_svg(
            title="<b>&'\"",
            x=Axis(0, 1, ((0.5, "<x>"),)),
            y=nice_axis(0, 1),
            x_label="a < b",
            y_label="c & d",
            lines=[Line("<line>", [(0, 0), (1, 1)], markers="dot")],
            marks=[Mark(0.5, "<m>", "<note>")],
        )

    svg = draw()
    assert svg == draw()
    root = parse(svg)
    assert root.findtext(f"{SVG}title") == "<b>&'\""
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"<x>", "a < b", "c & d", "<m>", "<note>", "<line>"} <= texts
    assert "<b>" not in svg
    assert "<line>" not in svg


def test_nice_axes():
    """Round ends and 3 to 6 ticks at 1, 2 or 5 times a power of ten; integers when asked."""
    assert nice_axis(0, 4).ticks == tuple((float(v), str(v)) for v in range(5))
    assert (nice_axis(3, 97).low, nice_axis(3, 97).high) == (0, 100)
    assert [t for _, t in nice_axis(0, 1_234_567).ticks] == ["0", "500k", "1M", "1.5M"]
    assert [v for v, _ in nice_axis(-0.5, 2.5, integers=True).ticks] == [-1, 0, 1, 2, 3]
    assert nice_axis(5, 5).ticks[0][0] <= 5 <= nice_axis(5, 5).ticks[-1][0]
    assert nice_axis(10**5000, 10**5000).high > 0  # held within the floats, not an overflow


def test_an_empty_or_vanishingly_narrow_curve_still_draws():
    """No steps, or times 1e-323 apart, give a picture and HTML instead of an error."""
    empty = KaplanMeier(steps=())
    assert empty.to_svg().startswith("<svg")
    assert "<svg" in empty._repr_html_()
    narrow = kaplan_meier([(Decimal("1E-323"), True), (Decimal("2E-323"), True)])
    assert narrow.to_svg().startswith("<svg")
