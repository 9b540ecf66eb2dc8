"""
Every report, found by introspection, keeps the report protocol.

The reports are those the hostile battery's working calls return, so a new
report is covered without a new row here: a short repr, HTML for notebooks,
records in exact and float form, a pandas frame with numeric and datetime
columns, and a picture that parses where the report draws one.
"""

from __future__ import annotations

import datetime as dt
import functools
import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction
from html.parser import HTMLParser
from typing import Any

import pytest
from hostile_harness import World

import funnelkit
from funnelkit import Money, Report
from funnelkit._report import MAX_REPR

#: Every report the library returns; each must be a Report and be found by the working calls.
REPORTS = {
    "AbcResult",
    "AccountPlans",
    "AtRisk",
    "PurchaseCohorts",
    "Retention",
    "AbsorbingChain",
    "ActivityKpis",
    "AssignmentResult",
    "Backtest",
    "Bookings",
    "CadenceReport",
    "Calibration",
    "CalibrationReport",
    "CloseRates",
    "CloseTimes",
    "Cohorts",
    "Company",
    "CoveragePlan",
    "CumulativeIncidence",
    "DealCloses",
    "DuplicateReport",
    "FairnessReport",
    "FlowReport",
    "ForecastComparison",
    "FunnelReport",
    "KaplanMeier",
    "LeadFollowUps",
    "PipelineChanges",
    "PipelineGeneration",
    "Migration",
    "Moves",
    "Readiness",
    "Reassignment",
    "ResponseReport",
    "ResponseSummary",
    "ResultKpis",
    "RevenueDistribution",
    "RfmResult",
    "Rollup",
    "ShapeReport",
    "SimulationResult",
    "TargetReport",
    "WeightedForecast",
    "WinCount",
    "WinLoss",
    "WorkLog",
    "WorkLogSummary",
    "LeadScoreModel",
    "LeadScores",
    "ScoreBacktest",
    "ScoreReliability",
}
#: The reports that draw a picture.
PICTURES = {
    "Backtest",
    "FunnelReport",
    "KaplanMeier",
    "RevenueDistribution",
    "ShapeReport",
    "WinCount",
    "WinLoss",
}


@functools.cache
def reports() -> dict[str, Any]:
    """One instance of every report class, by class name."""
    return {
        type(v).__name__: v
        for v in sorted(World().instances.values(), key=lambda v: type(v).__name__)
        if isinstance(v, Report)
    }


def test_every_report_class_is_a_report_and_is_found():
    """The listed reports are exactly the Report instances the working calls return."""
    assert set(reports()) == REPORTS


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_repr_is_one_short_line(name):
    """repr is one line of at most 200 characters that names the class."""
    text = repr(reports()[name])
    assert text.startswith(f"<{name}: ")
    assert text.endswith(">")
    assert "\n" not in text
    assert len(text) <= MAX_REPR


class _Strict(HTMLParser):
    """Counts open and close tags, to check that a fragment is balanced."""

    VOID = frozenset({"br", "hr", "img", "meta", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_html_is_a_balanced_fragment(name):
    """_repr_html_ gives balanced HTML with a table or picture, and no 'None' cells."""
    text = reports()[name]._repr_html_()
    parser = _Strict()
    parser.feed(text)
    assert parser.errors == []
    assert parser.stack == []
    assert "<table" in text or "<svg" in text
    assert "<td>None</td>" not in text


_FLOAT_CELL = (float, int, str, bool, type(None), dt.datetime, dt.timedelta, dt.date)


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_records_exact_and_float_hold_the_same_table(name):
    """Both kinds of records have the same rows and columns; float cells hold no Decimal, Fraction or Money."""
    report = reports()[name]
    exact = report.to_records()
    floats = report.to_records(numbers="float")
    assert [list(r) for r in exact] == [list(r) for r in floats]
    for e_row, f_row in zip(exact, floats, strict=True):
        for key, value in f_row.items():
            assert isinstance(value, _FLOAT_CELL), (key, value)
            assert not isinstance(e_row[key], Money), key
            if isinstance(e_row[key], Decimal | Fraction):
                assert value == pytest.approx(float(e_row[key]))
            if isinstance(value, dt.datetime):
                assert value.utcoffset() == dt.timedelta(0)


def test_records_refuse_an_unknown_kind_of_numbers():
    """numbers is 'exact' or 'float'."""
    report = reports()["FunnelReport"]
    with pytest.raises(funnelkit.ValidationError) as exc:
        report.to_records(numbers="decimal")
    assert [(p.path, p.code) for p in exc.value.problems] == [("numbers", "choice")]


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_frames_have_numeric_and_datetime_columns(name):
    """to_frame gives one column per record key; number columns are numeric and time columns datetime64."""
    pd = pytest.importorskip("pandas")
    report = reports()[name]
    frame = report.to_frame()
    rows = report.to_records(numbers="float")
    assert len(frame) == len(rows)
    for column in frame.columns:
        cells = [r.get(column) for r in rows if r.get(column) is not None]
        if cells and all(isinstance(v, float | int) and not isinstance(v, bool) for v in cells):
            assert pd.api.types.is_numeric_dtype(frame[column]), column
        if cells and all(isinstance(v, dt.datetime) for v in cells):
            assert pd.api.types.is_datetime64_any_dtype(frame[column]), column


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_pictures_are_svg_that_parses(name):
    """to_svg gives one <svg> element, sized, with a title, that an XML parser reads."""
    svg = reports()[name].to_svg()
    root = ET.fromstring(svg)  # noqa: S314 - our own SVG output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img"
    assert root.findtext("{http://www.w3.org/2000/svg}title")
    assert float(root.get("width")) > 0
    assert float(root.get("height")) > 0
    assert svg in reports()[name]._repr_html_()
