"""
The forecasting reports as reports: one-line reprs, tables with exact values, and the old ways of
reading flow() and close_rates() (a sequence of rows, a mapping of owner), worked by hand.
"""

import datetime as dt
import json
from fractions import Fraction

import pytest
from test_shape import EVENTS, move, opp
from three_stages import DAY, PIPE, T0

import funnelkit
from funnelkit import Report
from funnelkit.forecast import (
    CloseRates,
    FlowReport,
    FlowRow,
    absorbing_chain,
    calibration,
    close_rates,
    flow,
    kaplan_meier,
)


def test_flow_is_a_report_and_still_a_sequence_of_rows():
    """x created in January and won in February; y created and lost in February."""
    deals = [opp("x", "a", created=T0), opp("y", "a", created=T0 + 40 * DAY)]
    events = [move("x", "a", "won", 30, 1), move("y", "a", "lost", 45, 1)]
    report = flow(deals, events, period="month")
    assert isinstance(report, FlowReport)
    assert isinstance(report, Report)
    january = FlowRow(period=dt.date(2026, 1, 1), created=1, won=0, lost=0)
    february = FlowRow(period=dt.date(2026, 2, 1), created=1, won=1, lost=1)
    assert (len(report), report[0], report[-1], report[1:], list(report)) == (
        2,
        january,
        february,
        (february,),
        [january, february],
    )
    assert february in report
    assert repr(report) == "<FlowReport: 2 periods from 2026-01-01 to 2026-02-01: 2 created, 1 won, 1 lost>"
    assert report.to_records() == [
        {"period": dt.date(2026, 1, 1), "created": 1, "won": 0, "lost": 0},
        {"period": dt.date(2026, 2, 1), "created": 1, "won": 1, "lost": 1},
    ]
    assert funnelkit.to_dict(report) == {
        "rows": [
            {"period": "2026-01-01", "created": 1, "won": 0, "lost": 0},
            {"period": "2026-02-01", "created": 1, "won": 1, "lost": 1},
        ],
        "period": "month",
        "tz": "UTC",
    }
    assert funnelkit.from_dict(FlowReport, funnelkit.to_dict(report)) == report
    assert repr(flow([], [])) == "<FlowReport: no deal created, won or lost>"


def test_close_rates_are_a_report_and_still_a_mapping():
    """ann: w1 won, l1 and l2 lost (1/3); bob: w2 won (1); o1 is open and does not count."""
    deals = [opp("w1", "won", owner="ann"), opp("w2", "won", owner="bob"), opp("l1", "lost", owner="ann")]
    deals += [opp("l2", "lost", owner="ann"), opp("o1", "b", owner="bob")]
    rates = close_rates(deals, EVENTS, PIPE)
    assert isinstance(rates, CloseRates)
    assert rates == {"ann": (1, 2, Fraction(1, 3)), "bob": (1, 0, Fraction(1))}
    assert (rates["ann"], list(rates), len(rates), "bob" in rates, rates.get("cy")) == (
        (1, 2, Fraction(1, 3)),
        ["ann", "bob"],
        2,
        True,
        None,
    )
    assert repr(rates) == "<CloseRates: 2 owners: 2 won, 2 lost, close rate 50.0% in all>"
    assert rates.to_records() == [
        {"owner": "ann", "won": 1, "lost": 2, "close_rate": Fraction(1, 3)},
        {"owner": "bob", "won": 1, "lost": 0, "close_rate": Fraction(1)},
    ]
    assert rates.to_records(numbers="float")[0]["close_rate"] == pytest.approx(1 / 3)
    data = json.loads(json.dumps(rates.to_dict()))
    assert data == {"rates": {"ann": [1, 2, "1/3"], "bob": [1, 0, "1"]}, "pipeline": "p"}
    assert funnelkit.from_dict(CloseRates, data) == rates
    with pytest.raises(KeyError):
        rates["cy"]
    assert repr(close_rates([], [], PIPE)) == "<CloseRates: no owner has closed a deal>"


def test_a_calibration_row_is_a_report_of_one_row():
    """Stage a: w1, w2 won, l1, l2 lost: 1/2 against 20 % configured; shrunk toward 1/2 it stays 1/2."""
    row = calibration(EVENTS, PIPE, strength=2)[0]
    assert repr(row) == "<Calibration: 'a': configured 20.0%, observed 50.0% (2 won, 2 lost), shrunk 50.0%>"
    assert row.to_records() == [
        {
            "stage": "a",
            "configured": row.configured,
            "won": 2,
            "lost": 2,
            "observed": Fraction(1, 2),
            "shrunk": Fraction(1, 2),
            "difference": Fraction(3, 10),
        }
    ]


def test_absorbing_chain_table_by_hand():
    """
    Q = [[1/4, 1/2], [1/4, 0]]: N = (I - Q)^-1 = [[8/5, 4/5], [2/5, 6/5]]; steps 12/5 and 8/5;
    B = N R with R = [[1/4, 0], [1/2, 1/4]]: from a won 4/5, lost 1/5; from b 7/10, 3/10.
    """
    chain = absorbing_chain(
        {"a": {"a": "1/4", "b": "1/2", "won": "1/4"}, "b": {"a": "1/4", "won": "1/2", "lost": "1/4"}},
        absorbing=["won", "lost"],
    )
    f = Fraction
    assert chain.to_records() == [
        {"state": "a", "expected_steps": f(12, 5), "p_won": f(4, 5), "p_lost": f(1, 5),
         "visits_a": f(8, 5), "visits_b": f(4, 5)},
        {"state": "b", "expected_steps": f(8, 5), "p_won": f(7, 10), "p_lost": f(3, 10),
         "visits_a": f(2, 5), "visits_b": f(6, 5)},
    ]  # fmt: skip
    assert (
        repr(chain)
        == "<AbsorbingChain: 2 transient, 2 absorbing states; from 'a': won 80.0%, lost 20.0%, 2.4 steps>"
    )


def test_kaplan_meier_table_keeps_times_and_fractions():
    """Times stay as given (timedeltas here), S(t) stays a Fraction; float records make it a float."""
    km = kaplan_meier([(2 * DAY, True), (3 * DAY, False), (5 * DAY, True)])
    rows = km.to_records()
    assert [(r["time"], r["at_risk"], r["events"], r["censored"], r["survival"]) for r in rows] == [
        (2 * DAY, 3, 1, 0, Fraction(2, 3)),
        (3 * DAY, 2, 0, 1, Fraction(2, 3)),
        (5 * DAY, 1, 1, 0, Fraction(0)),
    ]
    assert km.to_records(numbers="float")[0]["survival"] == pytest.approx(2 / 3)
    assert rows[2]["lower_95"] == rows[2]["upper_95"] == 0.0
    assert repr(km) == (
        "<KaplanMeier: 3 observations (2 closed, 1 censored) at 3 times; S = 0 at the last, "
        "median 5 days, 0:00:00>"
    )


@pytest.mark.parametrize("name", ["WeightedForecast", "TargetReport", "ShapeReport", "Backtest"])
def test_no_hand_written_records_or_repr_are_left(name):
    """The base class gives records, dicts and reprs; the reports define only their rows and summary."""
    cls = getattr(funnelkit.forecast, name)
    assert "to_records" not in vars(cls)
    assert "to_dict" not in vars(cls)
    assert "__repr__" not in vars(cls)
