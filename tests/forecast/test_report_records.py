"""
The records, HTML and text of the forecasting reports, word for word, on one small book worked
by hand: what a notebook shows and what pandas receives must be exactly the numbers.
"""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from test_shape import history, move, opp
from three_stages import PIPE

from funnelkit import Money
from funnelkit.forecast import against_targets, diagnose, funnel, weighted_forecast

# ann won d1 (300) and works d2 (b, 40 %, 1000); bob lost d3 (50) and works d4 (a, 20 %, 200).
BOOK = [
    opp("d1", "won", owner="ann", amount="300"),
    opp("d2", "b", owner="ann", amount="1000", close=dt.date(2026, 2, 1)),
    opp("d3", "lost", owner="bob", amount="50"),
    opp("d4", "a", owner="bob", amount="200", close=dt.date(2026, 2, 1)),
]
EVENTS = [
    move("d1", "a", "b", 1, 2),
    move("d1", "b", "won", 3, 3),
    move("d2", "a", "b", 2, 2),
    move("d3", "a", "lost", 4, 2),
]


def test_weighted_forecast_records_and_html():
    """400.00 = 40 % of 1000, 40.00 = 20 % of 200, the win in full; the lost deal is left out."""
    forecast = weighted_forecast(BOOK, PIPE, by=["owner", "stage"])
    usd = {"amount_currency": "USD", "weighted_currency": "USD"}
    assert forecast.to_records() == [
        {"owner": "ann", "stage": "b", "deals": 1, "amount": Decimal(1000), "weighted": Decimal("400.00"), **usd},
        {"owner": "ann", "stage": "won", "deals": 1, "amount": Decimal(300), "weighted": Decimal("300.00"), **usd},
        {"owner": "bob", "stage": "a", "deals": 1, "amount": Decimal(200), "weighted": Decimal("40.00"), **usd},
    ]  # fmt: skip
    assert forecast.to_records(numbers="float")[0]["weighted"] == 400.0
    summary = "3 lines by owner, stage, 3 deals; weighted 740.00 USD of 1500.00 USD"
    assert repr(forecast) == f"<WeightedForecast: {summary}>"
    assert forecast._repr_html_() == (
        f"<div><table><caption>WeightedForecast: {summary}</caption><thead><tr><th>owner</th><th>stage</th>"
        "<th>deals</th><th>amount</th><th>weighted</th>"
        "</tr></thead><tbody>"
        "<tr><td>ann</td><td>b</td><td>1</td><td>1000 USD</td><td>400.00 USD</td></tr>"
        "<tr><td>ann</td><td>won</td><td>1</td><td>300.00 USD</td><td>300.00 USD</td></tr>"
        "<tr><td>bob</td><td>a</td><td>1</td><td>200 USD</td><td>40.00 USD</td></tr>"
        "</tbody></table></div>"
    )


def test_target_report_records_and_html():
    """
    ann: 300 of 1000 won (30 %), 700 to go, 1000 open (1.43x), forecast 300 + 400.  bob: nothing
    won, 100 to go, 200 open (2x), forecast 40.  Team: 300 of 1100 (27.3 %), 800 to go, 1200 open.
    """
    report = against_targets(
        BOOK,
        PIPE,
        targets={"ann": Money.of("1000", "USD"), "bob": Money.of("100", "USD")},
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 3, 1),
    )
    amounts = ("target", "won", "open_pipeline", "weighted_open", "remaining", "forecast")
    usd = {f"{name}_currency": "USD" for name in amounts}
    assert report.to_records() == [
        {"owner": "ann", "target": Decimal(1000), "won": Decimal(300), "open_pipeline": Decimal(1000),
         "weighted_open": Decimal("400.00"), "attainment": Fraction(3, 10), "remaining": Decimal(700),
         "coverage": Fraction(10, 7), "forecast": Decimal("700.00"), **usd},
        {"owner": "bob", "target": Decimal(100), "won": Decimal(0), "open_pipeline": Decimal(200),
         "weighted_open": Decimal("40.00"), "attainment": Fraction(0), "remaining": Decimal(100),
         "coverage": Fraction(2), "forecast": Decimal("40.00"), **usd},
        {"owner": None, "target": Decimal(1100), "won": Decimal(300), "open_pipeline": Decimal(1200),
         "weighted_open": Decimal("440.00"), "attainment": Fraction(3, 11),
         "remaining": Decimal(800), "coverage": Fraction(3, 2), "forecast": Decimal("740.00"), **usd},
    ]  # fmt: skip
    assert report.to_records(numbers="float")[2]["coverage"] == 1.5
    summary = (
        "2 owners, 2026-01-01 to 2026-03-01 (exclusive); team won 300 USD of 1100 USD (27.3%), "
        "forecast 740.00 USD"
    )
    assert repr(report) == f"<TargetReport: {summary}>"
    assert report._repr_html_() == (
        f"<div><table><caption>TargetReport: {summary}</caption><thead><tr><th>owner</th><th>target</th>"
        "<th>won</th><th>attainment</th><th>coverage</th><th>open pipeline</th><th>remaining</th>"
        "<th>forecast</th></tr></thead><tbody>"
        "<tr><td>ann</td><td>1000 USD</td><td>300 USD</td><td>30.0%</td><td>1.43x</td><td>1000 USD</td>"
        "<td>700 USD</td><td>700.00 USD</td></tr>"
        "<tr><td>bob</td><td>100 USD</td><td>0 USD</td><td>0.0%</td><td>2.00x</td><td>200 USD</td>"
        "<td>100 USD</td><td>40.00 USD</td></tr>"
        "<tr><td>team</td><td>1100 USD</td><td>300 USD</td><td>27.3%</td><td>1.50x</td><td>1200 USD</td>"
        "<td>800 USD</td><td>740.00 USD</td></tr>"
        "</tbody></table></div>"
    )


def test_a_met_target_shows_no_coverage():
    """Once won >= target the remaining is negative and coverage is blank (None), not a ratio."""
    report = against_targets(
        BOOK,
        PIPE,
        targets={"ann": Money.of("200", "USD")},
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 3, 1),
    )
    (line,) = report.to_records()[:1]
    assert (line["attainment"], line["remaining"], line["coverage"]) == (Fraction(3, 2), Decimal(-100), None)
    assert "<td>150.0%</td><td></td>" in report._repr_html_()


def test_funnel_report_html_and_chart():
    """
    a was entered 4 times (every deal starts there) and left 3 times: 2 forward, 1 lost (67 % on);
    b left once, to won (100 %).  Velocity: 2 open x 300 average win x 1/2 / 3 days = 100 a day.
    The widest bar (3) spans 480 px; b's (1) a third, centred; c's (0) the 1 px minimum.
    """
    report = funnel(BOOK, EVENTS, PIPE)
    a, b, c = report.stages
    assert (a.entered, a.advanced, a.lost, a.conversion, a.loss_rate) == (
        4,
        2,
        1,
        Fraction(2, 3),
        Fraction(1, 3),
    )
    assert (b.entered, b.advanced, b.lost, b.conversion) == (2, 1, 0, 1)
    assert (c.entered, c.conversion, c.median_time) == (0, None, None)
    assert (report.win_rate, report.mean_days_to_win, report.mean_days_to_lose) == (Fraction(1, 2), 3, 4)
    assert report.velocity == Money.of("100.00", "USD")
    svg = report.to_svg()
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="138"')
    assert '<rect x="150.0" y="24" width="480.0" height="34"' in svg
    assert "<title>a: 3 (67% on)</title>" in svg
    assert '<rect x="310.0" y="62" width="160.0" height="34"' in svg
    assert "<title>b: 1 (100% on)</title>" in svg
    assert '<rect x="389.5" y="100" width="1.0" height="34"' in svg
    assert "<title>c: 0</title>" in svg
    summary = "3 stages, 1 won, 1 lost, 2 open; win rate 50%, velocity 100.00 USD per day"
    assert repr(report) == f"<FunnelReport: {summary}>"
    day = "<td>1 day</td>" * 3
    assert report._repr_html_() == (
        f"<div>{svg}<table><caption>FunnelReport: {summary}</caption><thead><tr><th>stage</th>"
        "<th>advanced</th><th>lost</th><th>conversion</th><th>loss_rate</th><th>median_time</th>"
        "<th>mean_time</th><th>p90_time</th><th>entered</th></tr></thead><tbody>"
        f"<tr><td>a</td><td>2</td><td>1</td><td>0.6667</td><td>0.3333</td>{day}<td>4</td></tr>"
        f"<tr><td>b</td><td>1</td><td>0</td><td>1</td><td>0</td>{day}<td>2</td></tr>"
        "<tr><td>c</td><td>0</td><td>0</td>" + "<td></td>" * 5 + "<td>0</td></tr>"
        "</tbody></table></div>"
    )


def test_funnel_report_without_closed_deals_says_so():
    """No win and no loss yet: the win rate and the velocity are shown as '-'."""
    report = funnel([opp("x", "a")], [], PIPE)
    assert (report.win_rate, report.velocity) == (None, None)
    assert repr(report) == "<FunnelReport: 3 stages, 0 won, 0 lost, 1 open; win rate -, velocity ->"
    assert "win rate -, velocity -</caption>" in report._repr_html_()


def test_shape_report_text_records_and_html():
    """
    Entered 100, 50, 25 times, 10 days each: shares 4/7, 2/7, 1/7 of 45 open deals = 25.7, 12.9,
    6.4 expected.  b holds 20, 1.56x: a bulge.
    """
    deals = [opp(f"a{i}", "a") for i in range(20)] + [opp(f"b{i}", "b") for i in range(20)]
    deals += [opp(f"c{i}", "c") for i in range(5)]
    report = diagnose(deals, PIPE, history=history([100, 50, 25], [10, 10, 10]))
    message = "bulge at 'b': 20 open deals where the history predicts 12.9 (1.56x, threshold 1.5x)"
    assert repr(report) == f"<ShapeReport: 3 stages, 45 open deals; {message}>"
    assert str(report) == "\n".join(
        [
            "ShapeReport",
            "               a:    20 open,     25.7 expected",
            "               b:    20 open,     12.9 expected",
            "               c:     5 open,      6.4 expected",
            f"  ! {message}",
        ]
    )
    none = {"finding": None, "message": None}
    assert report.to_records() == [
        {"stage": "a", "observed": 20, "expected": Decimal("25.71428571428571428571428571"),
         "ratio": Fraction(7, 9), **none},
        {"stage": "b", "observed": 20, "expected": Decimal("12.85714285714285714285714286"),
         "ratio": Fraction(14, 9), "finding": "bulge", "message": message},
        {"stage": "c", "observed": 5, "expected": Decimal("6.428571428571428571428571429"),
         "ratio": Fraction(7, 9), **none},
    ]  # fmt: skip
    svg = report.to_svg()
    assert "open deals per stage" in svg
    assert '<rect x="150.0" y="24" width="480.0" height="34"' in svg  # a, 20: the widest
    assert '<rect x="330.0" y="100" width="120.0" height="34"' in svg  # c, 5: a quarter
    assert "<title>b: 20 (expected 12.9)</title>" in svg
    html = report._repr_html_()
    assert html.startswith(
        f"<div>{svg}<table><caption>ShapeReport: 3 stages, 45 open deals; bulge at &#x27;b&#x27;"
    )
    assert (
        "<tr><td>b</td><td>20</td><td>12.86</td><td>1.556</td>"
        "<td>bulge</td><td>bulge at &#x27;b&#x27;: 20 open deals where the history predicts 12.9 (1.56x, "
        "threshold 1.5x)</td></tr>"
    ) in html


def test_a_matching_shape_says_so():
    """Open deals in the history's proportions: no finding, and the text says the shape matches."""
    deals = [opp(f"a{i}", "a") for i in range(4)] + [opp(f"b{i}", "b") for i in range(2)] + [opp("c", "c")]
    report = diagnose(deals, PIPE, history=history([100, 50, 25], [10, 10, 10]))
    assert report.findings == ()
    assert str(report).endswith("\n  the shape matches the history")
    assert repr(report) == "<ShapeReport: 3 stages, 7 open deals; the shape matches the history>"
    assert "<td>a</td><td>4</td>" in report._repr_html_()
