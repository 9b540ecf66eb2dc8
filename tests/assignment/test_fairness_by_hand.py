"""Fairness and lead conversion at their edges, worked by hand."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from roster import NINE, lead, rep

from _problems import raises_problems
from funnelkit import Customer, Money
from funnelkit.assignment import (
    AssignmentState,
    Decision,
    LoadBalance,
    Offer,
    Roulette,
    Skip,
    Team,
    assign,
    convert_lead,
    fairness,
)
from funnelkit.stages import default_pipeline

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def decision(lead_id, rep_id, at, value=None):
    """A decision by the rules policy, with a value in CNY."""
    money = None if value is None else Money.of(str(value), "CNY")
    return Decision(lead_id=lead_id, rep_id=rep_id, by="rules", reason="r", at=at, value=money)


def offer(lead_id, at, queue, **kw):
    """A roulette offer with a 30-minute window."""
    return Offer(lead_id=lead_id, offered_at=at, window=dt.timedelta(minutes=30), queue=queue, **kw)


def test_fairness_worked_by_hand():
    """
    Team: ann (capacity 4), bob (no limit: weighs like the largest limit, 6), cat (inactive,
    capacity 6: weight 0).  In [nine, nine + 1 day): ann gets l1 (100) at the very start and
    l2 (50); bob gets l3 (30) and l5 (20: unassigned and then routed to bob at the same
    instant, the later decision wins); dan, who left, got l6 (10); u1 and u2 found nobody; l4 at
    the end of the period and l0 before it do not count.
      leads 5, unassigned 2; weights 4 + 6 = 10; expected ann 5*4/10 = 2, bob 3;
      ratio ann 1, bob 2/3; value 210: expected ann 84.00, bob 126.00;
      value ratio ann 150/84 = 25/14, bob 50/126 = 25/63;
      Gini of leads per weight (1/2, 1/3): 2 * 1/6 / (2 * 4 * 5/12) = 1/10;
      Gini of value per weight (75/2, 25/3): 2 * 175/6 / (2 * 4 * 275/12) = 7/22.
    """
    team = Team(reps=[rep("ann", 4), rep("bob"), rep("cat", 6, active=False)])
    decisions = [
        decision("l0", "ann", NINE - dt.timedelta(seconds=1), 999),
        decision("l1", "ann", NINE, 100),
        decision("l2", "ann", NINE + HOUR, 50),
        decision("l3", "bob", NINE + HOUR, 30),
        decision("u1", None, NINE + HOUR),
        decision("l5", None, NINE + 2 * HOUR),
        decision("l5", "bob", NINE + 2 * HOUR, 20),
        decision("u2", None, NINE + 3 * HOUR),
        decision("l6", "dan", NINE + 3 * HOUR, 10),
        decision("l4", "bob", NINE + DAY, 999),
    ]
    report = fairness(decisions, team=team, start=NINE, end=NINE + DAY)
    assert (report.leads, report.unassigned) == (5, 2)
    rows = [
        (
            r.rep_id,
            r.in_team,
            r.weight,
            r.leads,
            r.value,
            r.expected,
            r.ratio,
            r.expected_value,
            r.value_ratio,
        )
        for r in report.rows
    ]
    cny = lambda x: Money.of(x, "CNY")  # noqa: E731
    assert rows == [
        ("ann", True, 4, 2, cny("150"), Decimal(2), Fraction(1), cny("84.00"), Fraction(25, 14)),
        (
            "bob",
            True,
            6,
            2,
            cny("50"),
            Decimal(3),
            Fraction(2, 3),
            cny("126.00"),
            Fraction(25, 63),
        ),
        ("cat", True, 0, 0, None, Decimal(0), None, cny("0.00"), None),
        ("dan", False, 0, 1, cny("10"), Decimal(0), None, cny("0.00"), None),
    ]
    assert report.gini == Fraction(1, 10)
    assert report.value_gini == Fraction(7, 22)
    # Decisions given in another order count the same (the latest of a lead wins; ties by order).
    assert fairness(decisions[::-1][1:], team=team, start=NINE, end=NINE + DAY).unassigned == 3
    # Split by lead (l5's two decisions together), the parts merge to the same report.
    early = {"l0", "l1", "l2", "u1"}
    parts = [
        fairness(
            [d for d in decisions if (d.lead_id in early) == side], team=team, start=NINE, end=NINE + DAY
        )
        for side in (True, False)
    ]
    assert parts[0].merge(parts[1]) == report == parts[1].merge(parts[0])
    # the first part alone: ann 2 of 4 per weight, bob none: Gini (n - 1) / n = 1/2, not the whole's 1/10
    assert (parts[0].leads, parts[1].leads, parts[0].gini) == (2, 3, Fraction(1, 2))


def test_reps_outside_the_team_come_after_it_by_id():
    """Reps no longer in the team follow the team's reps, by id, whatever the order of the decisions."""
    team = Team(reps=[rep("bob"), rep("ann")])
    decisions = [decision("l1", "zed", NINE), decision("l2", "dan", NINE), decision("l3", "ann", NINE)]
    for given in (decisions, decisions[::-1]):
        report = fairness(given, team=team, start=NINE, end=NINE + DAY)
        assert [r.rep_id for r in report.rows] == ["bob", "ann", "dan", "zed"]


def test_fairness_without_values_or_limits():
    """No values: no value Gini and no expected value; nobody with a limit: everyone weighs 1."""
    team = Team(reps=[rep("ann"), rep("bob")])
    decisions = [decision("l1", "ann", NINE), decision("l2", "ann", NINE), decision("l3", "bob", NINE)]
    report = fairness(decisions, team=team, start=NINE, end=NINE + HOUR)
    assert [(r.weight, r.expected, r.expected_value, r.value_ratio) for r in report.rows] == [
        (1, Decimal("1.5"), None, None),
        (1, Decimal("1.5"), None, None),
    ]
    assert report.value_gini is None
    assert report.to_records()[0] == {
        "rep_id": "ann",
        "in_team": True,
        "weight": 1,
        "leads": 2,
        "value": None,
        "value_currency": None,
        "expected": Decimal("1.5"),
        "ratio": Fraction(4, 3),
        "expected_value": None,
        "expected_value_currency": None,
        "value_ratio": None,
        "claimed": 0,
        "declined": 0,
        "lapsed": 0,
        "skipped": 0,
    }
    assert report.to_dict()["value_gini"] is None
    assert repr(report) == (
        "<FairnessReport: 3 leads to 2 reps (0 unassigned), 2026-11-25 09:00 to 2026-11-25 10:00; "
        "Gini 0.1667>"
    )


def test_roulette_outcomes_in_the_period():
    """
    o1 at the very start: ann declines after 10 minutes, bob's window runs out (lapsed); cat was
    skipped.  o2: bob claims it.  o3 at the end of the period and o0 before it are not counted.
    """
    team = Team(reps=[rep("ann", 4), rep("bob", 4), rep("cat", 4, active=False)])
    o1 = offer("o1", NINE, ("ann", "bob"), skipped=(Skip("cat", "inactive"),)).decline(
        "ann", now=NINE + dt.timedelta(minutes=10)
    )
    o2 = offer("o2", NINE + HOUR, ("bob", "ann")).claim("bob", now=NINE + HOUR + dt.timedelta(minutes=5))
    o3 = offer("o3", NINE + DAY, ("ann", "bob"))
    o0 = offer("o0", NINE - HOUR, ("ann", "bob"))
    report = fairness([], team=team, start=NINE, end=NINE + DAY, offers=[o0, o1, o2, o3])
    assert [(r.rep_id, r.claimed, r.declined, r.lapsed, r.skipped) for r in report.rows] == [
        ("ann", 0, 1, 0, 0),
        ("bob", 1, 0, 1, 0),
        ("cat", 0, 0, 0, 1),
    ]
    records = report.to_records()
    assert [(r["rep_id"], r["claimed"], r["declined"], r["lapsed"], r["skipped"]) for r in records] == [
        ("ann", 0, 1, 0, 0),
        ("bob", 1, 0, 1, 0),
        ("cat", 0, 0, 0, 1),
    ]
    assert [(r["rep_id"], r["claimed"], r["skipped"]) for r in report.to_dict()["rows"]] == [
        ("ann", 0, 0),
        ("bob", 1, 0),
        ("cat", 0, 1),
    ]
    assert report.to_dict()["start"] == "2026-11-25T09:00:00+00:00"
    assert report.to_dict()["end"] == "2026-11-26T09:00:00+00:00"


def test_an_empty_period_is_refused_by_name():
    """end must come after start."""
    with raises_problems(("end", "order")):
        fairness([], team=Team(reps=[rep("a")]), start=NINE, end=NINE)


def test_conversion_copies_the_company_facts_and_the_close_date():
    """The new customer takes the lead's industry, territory and size; the deal its expected close."""
    source = lead(
        "l1", owner="ann", company="Acme", needs="x", industry="textiles", territory="east", size="large"
    )
    made = convert_lead(
        source,
        pipeline=default_pipeline(),
        now=NINE,
        opportunity_id="o1",
        customer_id="acme",
        amount=Money.of("0", "CNY"),
        expected_close=dt.date(2027, 3, 31),
    )
    account = made.customer
    assert (account.industry, account.territory, account.size.value, account.owner) == (
        "textiles",
        "east",
        "large",
        "ann",
    )
    assert (made.opportunity.amount, made.opportunity.expected_close) == (
        Money.of("0", "CNY"),
        dt.date(2027, 3, 31),
    )
    assert made.key_persons == ()
    assert made.opportunity.key_person_ids == ()


def test_conversion_onto_the_reps_own_customer_keeps_it_as_is():
    """Converting onto a customer the rep already owns returns that very customer, unchanged."""
    mine = Customer(id="acme", name="Acme", created_at=NINE, owner="ann")
    made = convert_lead(
        lead("l1", owner="ann", needs="x"),
        pipeline=default_pipeline(),
        now=NINE,
        opportunity_id="o",
        customer=mine,
    )
    assert made.customer is mine


def test_conversion_with_both_customer_choices_is_refused():
    """customer_id and customer together are as wrong as neither."""
    mine = Customer(id="acme", name="Acme", created_at=NINE, owner="ann")
    with raises_problems(("customer_id", "conflict")):
        convert_lead(
            lead("l1", owner="ann", needs="x", company="Acme"),
            pipeline=default_pipeline(),
            now=NINE,
            opportunity_id="o",
            customer=mine,
            customer_id="acme2",
        )
    with raises_problems(("lead.owner", "missing")):
        convert_lead(
            lead("l1", needs="x"), pipeline=default_pipeline(), now=NINE, opportunity_id="o", customer=mine
        )


def test_a_lapsed_offer_without_a_fallback_comes_back_unassigned():
    """Without a fallback policy the lead comes back unassigned, with its value and the reason."""
    team = Team(reps=[rep("ann", 4), rep("bob", 4)])
    roulette = Roulette(order=["ann", "bob"], window=dt.timedelta(minutes=30))
    lapsed = offer("q", NINE, ("ann", "bob"))
    result = roulette.fall_back(lapsed, lead("q", value=70), team=team, now=NINE + HOUR)
    (d,) = result.decisions
    assert (d.lead_id, d.rep_id, d.by, d.at, d.value) == (
        "q",
        None,
        "roulette",
        NINE + HOUR,
        Money.of("70", "CNY"),
    )
    assert d.reason == (
        "went round every rep unclaimed by 2026-11-25T10:00:00+00:00; the roulette has no fallback policy"
    )
    assert result.state == AssignmentState()


def test_assignment_result_html_shows_fifty_rows_and_counts_the_rest():
    """The notebook table lists the first 50 decisions, blanks a missing rep, and says how many more."""
    team = Team(reps=[rep("ann", 100)])
    batch = [lead(f"l{i:02}") for i in range(52)] + [lead("own", owner="x")]
    result = assign(batch, team=team, policy=LoadBalance(), now=NINE)
    page = result._repr_html_()
    assert page.startswith(
        "<div><table><caption>AssignmentResult: 53 leads: 52 assigned to 1 rep, 1 unassigned "
        "(first 50 of 53 rows)</caption><thead><tr><th>lead_id</th><th>rep_id</th><th>by</th><th>reason</th>"
        "<th>at</th><th>value</th><th>skipped</th></tr>"
    )
    assert page.count("<tr><td>") == 50
    assert (
        "<tr><td>l00</td><td>ann</td><td>load_balance</td><td>least loaded: 0 of 100 open</td>"
        "<td>2026-11-25T09:00:00+00:00</td><td></td><td></td></tr>"
    ) in page
    assert "<td>l49</td>" in page
    assert "<td>l50</td>" not in page
    assert page.endswith("</tbody></table></div>")
    small = assign([lead("own", owner="x")], team=team, policy=LoadBalance(), now=NINE)._repr_html_()
    assert "<tr><td>own</td><td></td><td></td><td>" in small
    assert "first" not in small
