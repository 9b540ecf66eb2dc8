"""Tests for notebook output: HTML tables and the inline SVG funnel."""

import re

from funnelkit._repr import funnel_svg, html_table
from funnelkit.forecast import FunnelReport, StageStats, weighted_forecast
from funnelkit.stages import default_pipeline


def test_funnel_bars_are_as_wide_as_their_share():
    """The widest bar spans 480 px; one at a quarter of the value spans 120 px, centred."""
    svg = funnel_svg([("contact", 40, "40"), ("proposal", 10, "10")])
    widths = [float(w) for w in re.findall(r'<rect x="[^"]+" y="[^"]+" width="([^"]+)"', svg)]
    xs = [float(x) for x in re.findall(r'<rect x="([^"]+)"', svg)]
    assert widths == [480.0, 120.0]
    assert xs == [150.0, 150.0 + 180.0]
    assert svg.count("<title>") == 2


def test_funnel_escapes_labels_and_survives_zeros():
    """Stage names are escaped; an all-zero funnel still draws thin bars."""
    svg = funnel_svg([("<b>", 0, "0")])
    assert "&lt;b&gt;" in svg
    assert "<b>" not in svg
    assert 'width="1.0"' in svg


def test_html_table_escapes_and_blanks_none():
    """Cells are escaped and None shows as an empty cell."""
    table = html_table(("a", "b"), [("<x>", None)])
    assert "<td>&lt;x&gt;</td><td></td>" in table


def test_pipeline_funnel_and_forecast_render_in_notebooks():
    """Pipelines, funnel reports and forecasts have HTML reprs; the funnel draws one bar per open stage."""
    pipeline = default_pipeline()
    page = pipeline._repr_html_()
    assert all(f"<td>{s.key}</td>" in page for s in pipeline.stages)
    stats = tuple(
        StageStats(
            stage=s.key,
            advanced=3,
            lost=1,
            conversion=None,
            loss_rate=None,
            median_time=None,
            mean_time=None,
            p90_time=None,
        )
        for s in pipeline.open_stages
    )
    report = FunnelReport(
        stages=stats, won=1, lost=1, win_rate=None, mean_days_to_win=None,
        mean_days_to_lose=None, open_deals=0, velocity=None,
    )  # fmt: skip
    assert report.to_svg().count("<rect") == len(pipeline.open_stages)
    assert report.reached()[0] == ("contact", 4)
    assert "<svg" in report._repr_html_()
    empty = weighted_forecast([], pipeline, by=["owner"])._repr_html_()
    assert "<caption>WeightedForecast: 0 lines by owner, 0 deals; weighted nothing</caption>" in empty
