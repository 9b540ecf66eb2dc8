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
    assert forecast.to_records() == [
        {"owner": "ann", "stage": "b", "currency": "USD", "deals": 1, "amount": Decimal(1000), "weighted": Decimal("400.00")},
        {"owner": "ann", "stage": "won", "currency": "USD", "deals": 1, "amount": Decimal(300), "weighted": Decimal("300.00")},
        {"owner": "bob", "stage": "a", "currency": "USD", "deals": 1, "amount": Decimal(200), "weighted": Decimal("40.00")},
    ]  # fmt: skip
    assert forecast._repr_html_() == (
        "<table><thead><tr><th>owner</th><th>stage</th><th>currency</th><th>deals</th><th>amount</th>"
        "<th>weighted</th></tr></thead><tbody>"
        "<tr><td>ann</td><td>b</td><td>USD</td><td>1</td><td>1000</td><td>400.00</td></tr>"
        "<tr><td>ann</td><td>won</td><td>USD</td><td>1</td><td>300.00</td><td>300.00</td></tr>"
        "<tr><td>bob</td><td>a</td><td>USD</td><td>1</td><td>200</td><td>40.00</td></tr>"
        "</tbody></table>"
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
    assert report.to_records() == [
        {"owner": "ann", "currency": "USD", "target": "1000", "won": "300", "open_pipeline": "1000",
         "weighted_open": "400.00", "attainment": "0.3", "remaining": "700",
         "coverage": "1.428571428571428571428571429", "forecast": "700.00"},
        {"owner": "bob", "currency": "USD", "target": "100", "won": "0", "open_pipeline": "200",
         "weighted_open": "40.00", "attainment": "0", "remaining": "100", "coverage": "2",
         "forecast": "40.00"},
        {"owner": None, "currency": "USD", "target": "1100", "won": "300", "open_pipeline": "1200",
         "weighted_open": "440.00", "attainment": "0.2727272727272727272727272727", "remaining": "800",
         "coverage": "1.5", "forecast": "740.00"},
    ]  # fmt: skip
    assert report._repr_html_() == (
        "<table><thead><tr><th>owner</th><th>target</th><th>won</th><th>attainment</th><th>coverage</th>"
        "<th>forecast</th></tr></thead><tbody>"
        "<tr><td>ann</td><td>1000 USD</td><td>300 USD</td><td>30.0%</td><td>1.43x</td><td>700.00 USD</td></tr>"
        "<tr><td>bob</td><td>100 USD</td><td>0 USD</td><td>0.0%</td><td>2.00x</td><td>40.00 USD</td></tr>"
        "<tr><td>team</td><td>1100 USD</td><td>300 USD</td><td>27.3%</td><td>1.50x</td><td>740.00 USD</td></tr>"
        "</tbody></table>"
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
    assert (line["attainment"], line["remaining"], line["coverage"]) == ("1.5", "-100", None)
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
    assert report._repr_html_() == (
        f"<div>{svg}<table><thead><tr><th>stage</th><th>advanced</th><th>lost</th><th>conversion</th>"
        "<th>median time</th></tr></thead><tbody>"
        "<tr><td>a</td><td>2</td><td>1</td><td>67%</td><td>1 day, 0:00:00</td></tr>"
        "<tr><td>b</td><td>1</td><td>0</td><td>100%</td><td>1 day, 0:00:00</td></tr>"
        "<tr><td>c</td><td>0</td><td>0</td><td></td><td></td></tr>"
        "</tbody></table><p>win rate 50%, velocity 100.00 USD per day</p></div>"
    )


def test_funnel_report_without_closed_deals_says_so():
    """No win and no loss yet: the win rate and the velocity are shown as '-'."""
    report = funnel([opp("x", "a")], [], PIPE)
    assert (report.win_rate, report.velocity) == (None, None)
    assert report._repr_html_().endswith("<p>win rate -, velocity - per day</p></div>")


def test_shape_report_text_records_and_html():
    """
    Entered 100, 50, 25 times, 10 days each: shares 4/7, 2/7, 1/7 of 45 open deals = 25.7, 12.9,
    6.4 expected.  b holds 20, 1.56x: a bulge.
    """
    deals = [opp(f"a{i}", "a") for i in range(20)] + [opp(f"b{i}", "b") for i in range(20)]
    deals += [opp(f"c{i}", "c") for i in range(5)]
    report = diagnose(deals, PIPE, history=history([100, 50, 25], [10, 10, 10]))
    message = "bulge at 'b': 20 open deals where the history predicts 12.9 (1.56x, threshold 1.5x)"
    assert repr(report) == "\n".join(
        [
            "ShapeReport",
            "               a:    20 open,     25.7 expected",
            "               b:    20 open,     12.9 expected",
            "               c:     5 open,      6.4 expected",
            f"  ! {message}",
        ]
    )
    assert report.to_records() == [
        {"stage": "a", "observed": 20, "expected": Decimal("25.71428571428571428571428571"),
         "ratio": Decimal("0.7777777777777777777777777778")},
        {"stage": "b", "observed": 20, "expected": Decimal("12.85714285714285714285714286"),
         "ratio": Decimal("1.555555555555555555555555556")},
        {"stage": "c", "observed": 5, "expected": Decimal("6.428571428571428571428571429"),
         "ratio": Decimal("0.7777777777777777777777777778")},
    ]  # fmt: skip
    svg = report.to_svg()
    assert "open deals per stage" in svg
    assert '<rect x="150.0" y="24" width="480.0" height="34"' in svg  # a, 20: the widest
    assert '<rect x="330.0" y="100" width="120.0" height="34"' in svg  # c, 5: a quarter
    assert "<title>b: 20 (expected 12.9)</title>" in svg
    assert report._repr_html_() == (
        f"{svg}<table><thead><tr><th>stage</th><th>open</th><th>expected</th></tr></thead><tbody>"
        "<tr><td>a</td><td>20</td><td>25.7</td></tr><tr><td>b</td><td>20</td><td>12.9</td></tr>"
        "<tr><td>c</td><td>5</td><td>6.4</td></tr></tbody></table>"
        "<ul><li>bulge at &#x27;b&#x27;: 20 open deals where the history predicts 12.9 (1.56x, threshold 1.5x)</li></ul>"
    )


def test_a_matching_shape_says_so():
    """Open deals in the history's proportions: no finding, and the text says the shape matches."""
    deals = [opp(f"a{i}", "a") for i in range(4)] + [opp(f"b{i}", "b") for i in range(2)] + [opp("c", "c")]
    report = diagnose(deals, PIPE, history=history([100, 50, 25], [10, 10, 10]))
    assert report.findings == ()
    assert repr(report).endswith("\n  the shape matches the history")
    assert report._repr_html_().endswith("<ul></ul>")
