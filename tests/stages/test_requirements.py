"""Tests for milestone requirements: evaluation, names, explanations and dicts."""

import datetime as dt

import attrs
import pytest

from _problems import problems_of, raises_problems
from conftest import at, gap, visit
from funnelkit import Money, ValidationError
from funnelkit._time import span
from funnelkit.stages import (
    ActivityCount,
    AllOf,
    AmountAtLeast,
    AnyOf,
    Context,
    EvidenceRecorded,
    KeyPersonCoverage,
    NoOpenGaps,
    Predicate,
    RequiredFields,
    TimeInStage,
    all_of,
    any_of,
)
from funnelkit.stages._requirements import requirement_from_dict


def ctx(opp, activities=(), people=(), now=None):
    return Context(
        opportunity=opp,
        activities=tuple(activities),
        key_persons={p.id: p for p in people},
        now=now or at(days=1),
    )


class TestActivityCount:
    def test_counts_kind_and_quality(self, opp):
        """Only visits whose purpose and feedback are filled (not blank) count: 1 of 2."""
        req = ActivityCount(kinds="visit", at_least=2, filled=("purpose", "feedback"))
        acts = [
            visit("a1", at(hours=1), feedback="keen"),
            visit("a2", at(hours=2), feedback="   "),  # blank feedback
            visit("a3", at(hours=3), kind="call", feedback="keen"),  # not a visit
        ]
        out = req.evaluate(ctx(opp, acts))
        assert (out.met, out.detail, out.name) == (
            False,
            "1 of 2",
            "2 visits with purpose and feedback filled",
        )

    def test_minimum_duration(self, opp):
        """3 calls of at least 5 minutes: a 4-minute call and a call of unknown length do not count."""
        req = ActivityCount(kinds="call", at_least=3, min_duration=dt.timedelta(minutes=5))
        durations = [dt.timedelta(minutes=m) for m in (5, 12, 4)] + [None]
        acts = [visit(f"c{i}", at(hours=i), kind="call", duration=d) for i, d in enumerate(durations)]
        out = req.evaluate(ctx(opp, acts))
        assert (out.met, out.detail) == (False, "2 of 3")
        assert req.evaluate(
            ctx(opp, [*acts, visit("c9", at(hours=9), kind="call", duration=durations[0])])
        ).met

    def test_reply_and_key_person(self, opp):
        """1 email with a reply and a key person: only the replied one with a key person counts."""
        req = ActivityCount(kinds="email", replied=True, with_key_person=True)
        acts = [
            visit("e1", at(hours=1), kind="email", replied=True),
            visit("e2", at(hours=2), kind="email", key_person_ids=["kp-dm"]),
            visit("e3", at(hours=3), kind="email", replied=True, key_person_ids=["kp-dm"]),
        ]
        assert req.evaluate(ctx(opp, acts[:2])).met is False
        assert req.evaluate(ctx(opp, acts)).met is True
        assert req.name == "1 email with a reply with a key person"

    def test_several_kinds(self, opp):
        """A demo or a meeting both count toward 'demo or meeting'."""
        req = ActivityCount(kinds=["meeting", "demo"], at_least=2)
        acts = [visit("d", at(hours=1), kind="demo"), visit("m", at(hours=2), kind="meeting")]
        assert req.evaluate(ctx(opp, acts)).met
        assert req.name == "2 meetings or demos"

    @pytest.mark.parametrize(
        ("kwargs", "path", "code"),
        [
            ({"kinds": []}, "kinds", "empty"),
            ({"kinds": ["fax"]}, "kinds", "choice"),
            ({"kinds": "visit", "at_least": 0}, "at_least", "range"),
            ({"kinds": "visit", "filled": ["mood"]}, "filled[0]", "choice"),
            (
                {"kinds": "visit", "min_duration": 5},
                "min_duration",
                "type",
            ),
        ],
    )
    def test_bad_definitions(self, kwargs, path, code):
        """Bad requirement fields are named with the kind of problem."""
        with pytest.raises(ValidationError) as exc:
            ActivityCount(**kwargs)
        assert (path, code) in problems_of(exc)


class TestFieldRules:
    def test_required_fields(self, opp):
        """Missing amount and empty competitors are named; filled ones are not."""
        req = RequiredFields(fields=["amount", "expected_close", "competitors"])
        out = req.evaluate(ctx(attrs.evolve(opp, expected_close=dt.date(2026, 6, 30))))
        assert (out.met, out.detail) == (False, "missing amount, competitors")
        full = attrs.evolve(
            opp, amount=Money.of(1, "CNY"), expected_close=dt.date(2026, 6, 30), competitors=["Rival"]
        )
        assert req.evaluate(ctx(full)).met

    def test_no_open_gaps(self, opp):
        """Open gaps are listed by description; closed ones are ignored."""
        req = NoOpenGaps()
        with_gaps = attrs.evolve(opp, gaps=[gap("budget owner"), gap("timeline", closed=True), gap("legal")])
        out = req.evaluate(ctx(with_gaps))
        assert (out.met, out.detail) == (False, "2 open: budget owner, legal")
        done = req.evaluate(ctx(opp))
        assert (done.name, done.met, done.detail) == ("no open gaps", True, "none open")
        assert req.met(ctx(with_gaps)) is False

    def test_open_gaps_listed_up_to_three(self, opp):
        """Three open gaps are all listed; from four on, the first three and an ellipsis."""
        req = NoOpenGaps(name="strategy table complete")
        three = attrs.evolve(opp, gaps=[gap("a"), gap("b"), gap("c")])
        out = req.evaluate(ctx(three))
        assert (out.name, out.detail) == ("strategy table complete", "3 open: a, b, c")
        four = attrs.evolve(opp, gaps=[gap("a"), gap("b"), gap("c"), gap("d")])
        assert req.evaluate(ctx(four)).detail == "4 open: a, b, c, ..."

    def test_evidence(self, opp):
        """Evidence is a recorded key on the opportunity."""
        req = EvidenceRecorded(key="project_approved")
        assert not req.evaluate(ctx(opp)).met
        assert req.evaluate(ctx(attrs.evolve(opp, evidence={"project_approved"}))).met


class TestKeyPersons:
    def test_decision_maker_identified(self, opp, people):
        """A decision maker counts only when listed on the opportunity."""
        req = KeyPersonCoverage(role="decision_maker")
        out = req.evaluate(ctx(opp, people=people))
        assert (out.met, out.detail) == (False, "no decision maker")
        linked = attrs.evolve(opp, key_person_ids=["kp-dm"])
        out = req.evaluate(ctx(linked, people=people))
        assert (out.met, out.detail) == (True, "Wang Jun")

    def test_stance(self, opp, people):
        """A neutral decision maker is not a supporter or champion."""
        req = KeyPersonCoverage(role="decision_maker", stances=["supporter", "champion"])
        linked = attrs.evolve(opp, key_person_ids=["kp-dm", "kp-rec"])
        out = req.evaluate(ctx(linked, people=people))
        assert (out.met, out.detail) == (False, "no decision maker with that stance")
        assert req.name == "a decision maker who is champion or supporter"

    def test_at_least_two(self, opp, people):
        """Two recommenders asked, one found: 1 of 2."""
        req = KeyPersonCoverage(role="recommender", at_least=2)
        out = req.evaluate(ctx(attrs.evolve(opp, key_person_ids=["kp-rec"]), people=people))
        assert (out.met, out.detail, req.name) == (False, "1 of 2: Chen Yu", "2 recommenders identified")


@pytest.mark.parametrize(
    ("amount", "met", "detail"),
    [
        (None, False, "no amount recorded"),
        (Money.of("49999.99", "USD"), False, "49999.99 USD < 50000 USD"),
        (Money.of("50000", "USD"), True, "50000 USD"),
        (Money.of("90000", "EUR"), False, "90000 EUR is not in USD"),
    ],
)
def test_amount_at_least(opp, amount, met, detail):
    """The amount must be recorded, in the minimum's currency, and not below it: the boundary is met."""
    req = AmountAtLeast(minimum=Money.of("50000", "USD"))
    verdict = req.evaluate(ctx(attrs.evolve(opp, amount=amount)))
    assert (verdict.name, verdict.met, verdict.detail) == ("amount of at least 50000 USD", met, detail)
    assert req.met(ctx(attrs.evolve(opp, amount=amount))) is met
    assert not req.reads_activities()


@pytest.mark.parametrize(("minimum", "code"), [(50000, "type"), (Money.of("-1", "USD"), "range")])
def test_amount_at_least_checks_its_minimum(minimum, code):
    """The minimum is Money, not negative."""
    with raises_problems(("minimum", code)):
        AmountAtLeast(minimum=minimum)


def test_time_in_stage(opp):
    """3 full days of 7 in stage."""
    req = TimeInStage(days=7)
    out = req.evaluate(ctx(opp, now=at(days=3, hours=5)))
    assert (out.met, out.detail) == (False, "3 of 7 days")
    assert req.evaluate(ctx(opp, now=at(days=7))).met


class TestPredicate:
    def test_bool_and_detail(self, opp):
        """A predicate may answer a bool, or a bool with its own detail."""
        yes = Predicate(name="always", description="always true", test=lambda c: True)
        explained = Predicate(name="why", description="explained", test=lambda c: (False, "because"))
        assert yes.evaluate(ctx(opp)).met
        out = explained.evaluate(ctx(opp))
        assert (out.met, out.detail, out.name) == (False, "because", "explained")

    def test_outcomes_word_for_word(self, opp):
        """A bool reads yes/no under the description; the predicate sees the context it is given."""
        seen = []

        def record(context):
            seen.append(context.opportunity.id)
            return context.opportunity.amount is None

        req = Predicate(name="no_amount", description="no amount yet", test=record)
        out = req.evaluate(ctx(opp))
        assert (out.name, out.met, out.detail, seen) == ("no amount yet", True, "yes", ["o-1"])
        no = Predicate(name="never", description="never", test=lambda c: False).evaluate(ctx(opp))
        assert (no.name, no.met, no.detail) == ("never", False, "no")

    @pytest.mark.parametrize(
        "answer", [(True,), (True, "a", "b"), ("yes", "because"), (1, "because"), (True, 5), None, 1]
    )
    def test_answers_of_the_wrong_shape(self, opp, answer):
        """Only a bool or a (bool, str) pair is an answer; anything else is refused by name."""
        bad = Predicate(name="odd", description="odd", test=lambda c: answer)  # type: ignore[arg-type,return-value]
        with raises_problems(("odd", "callable")):
            bad.evaluate(ctx(opp))

    def test_bad_answer(self, opp):
        """A predicate that answers something else is refused by name."""
        bad = Predicate(name="bad", description="bad", test=lambda c: "yes")  # type: ignore[arg-type,return-value]
        with raises_problems(("bad", "callable")):
            bad.evaluate(ctx(opp))

    def test_not_callable(self):
        """The test must be callable."""
        with raises_problems(("test", "type")):
            Predicate(name="x", description="x", test=3)  # type: ignore[arg-type]


class TestCombinations:
    def test_all_and_any(self, opp, people):
        """all_of needs every part; any_of one; the parts' outcomes are kept."""
        dm = KeyPersonCoverage(role="decision_maker")
        ev = EvidenceRecorded(key="selected")
        linked = attrs.evolve(opp, key_person_ids=["kp-dm"])
        both = all_of(dm, ev).evaluate(ctx(linked, people=people))
        either = any_of(dm, ev).evaluate(ctx(linked, people=people))
        assert (both.met, both.detail) == (False, "1 of 2 met")
        assert (either.met, either.detail) == (True, "1 of 2 met")
        assert [p.met for p in both.parts] == [True, False]
        assert both.lines() == [
            "[--] all of: a decision maker identified; selected recorded: 1 of 2 met",
            "  [ok] a decision maker identified: Wang Jun",
            "  [--] selected recorded: no 'selected' in the evidence",
        ]

    def test_empty_combination_refused(self):
        """Combining nothing is refused."""
        with raises_problems(("parts", "empty")):
            all_of()

    def test_custom_name(self):
        """A combination may be named for people."""
        assert any_of(NoOpenGaps(), name="clean strategy table").name == "clean strategy table"


REQUIREMENTS = [
    ActivityCount(kinds="visit", at_least=2, filled=("purpose", "feedback")),
    ActivityCount(kinds=["call"], at_least=3, min_duration=dt.timedelta(minutes=5), name="three real calls"),
    ActivityCount(kinds="email", replied=True, with_key_person=True),
    RequiredFields(fields=["amount", "expected_close"]),
    NoOpenGaps(),
    KeyPersonCoverage(role="recommender", stances=["supporter", "champion"], at_least=2),
    EvidenceRecorded(key="project_approved"),
    TimeInStage(days=3),
    AmountAtLeast(minimum=Money.of("50000", "USD")),
    AllOf(parts=[NoOpenGaps(), AnyOf(parts=[EvidenceRecorded(key="a"), TimeInStage(days=1)])]),
]


@pytest.mark.parametrize("req", REQUIREMENTS, ids=lambda r: r.name)
def test_dict_round_trip(req):
    """Every requirement reads back equal from its dict, custom names included."""
    assert requirement_from_dict(req.to_dict()) == req


def test_dict_errors_are_listed_with_paths():
    """Problems deep inside combinations come back with their paths."""
    data = {
        "type": "all_of",
        "parts": [{"type": "activities", "kinds": ["visit"], "at_least": 0}, {"type": "x"}],
        "colour": 1,
    }
    with raises_problems(
        ("colour", "unknown_field"), ("parts[0].at_least", "range"), ("parts[1].type", "choice")
    ):
        requirement_from_dict(data)


def test_named_combination_with_a_nested_predicate_round_trips():
    """A combination keeps its own name, and predicates are found at any depth."""
    big = Predicate(name="big", description="big deal", test=lambda c: True)
    req = any_of(NoOpenGaps(), all_of(TimeInStage(days=1), big), name="clean or waited")
    data = req.to_dict()
    assert data["name"] == "clean or waited"
    back = requirement_from_dict(data, predicates={"big": big})
    assert back == req
    assert back.name == "clean or waited"
    assert back.parts[1].parts[1] is big


@pytest.mark.parametrize(
    ("data", "predicates", "expected"),
    [
        (5, None, [("", "type")]),  # the root has no path
        ({"type": "any_of", "parts": 5}, None, [("parts", "type")]),
        ({"type": "predicate", "name": "zz"}, None, [("name", "reference")]),
        ({"type": "predicate", "name": "zz"}, {"b": "B", "a": "A"}, [("name", "reference")]),
        ({"type": "predicate", "name": 5}, {"a": "A"}, [("name", "reference")]),
        (
            {"type": "predicate", "name": "a", "test": "x", "colour": 1},
            {"a": "A"},
            [("colour", "unknown_field"), ("test", "unknown_field")],
        ),
        ({"type": "predicate", "name": "a"}, ["a"], [("predicates", "type")]),
        ({"type": "predicate", "name": "a"}, {"a": "B"}, [("name", "conflict")]),
        (
            {"type": "all_of", "parts": [{"type": "predicate", "name": "x"}]},
            {"a": "A"},
            [("parts[0].name", "reference")],
        ),
    ],
)
def test_dict_reader_problems(data, predicates, expected):
    """Each way a requirement dict can be wrong is located with its path and code."""
    if isinstance(predicates, dict):
        predicates = {k: Predicate(name=v, description=v, test=lambda c: True) for k, v in predicates.items()}
    with raises_problems(*expected):
        requirement_from_dict(data, predicates=predicates)


def test_dict_reader_names_the_known_predicates():
    """An unknown predicate's message says how to pass predicates and lists the known names, sorted."""
    known = {k: Predicate(name=k, description=k, test=lambda c: True) for k in ("b", "a")}
    with raises_problems(("name", "reference")):
        requirement_from_dict({"type": "predicate", "name": "zz"}, predicates=known)


def test_requirements_are_hashable_values():
    """Requirements are frozen values: equal ones hash alike and can be set members."""
    assert len({NoOpenGaps(), NoOpenGaps(), TimeInStage(days=1)}) == 2


def test_which_requirements_read_activities():
    """Only requirements that look at activities make the engine gather them; custom ones are assumed to."""
    assert ActivityCount(kinds="visit").reads_activities()
    assert not NoOpenGaps().reads_activities()
    assert not all_of(NoOpenGaps(), TimeInStage(days=1)).reads_activities()
    assert any_of(NoOpenGaps(), ActivityCount(kinds="call")).reads_activities()
    assert Predicate(name="p", description="p", test=lambda c: True).reads_activities()


def test_fast_verdict_agrees_with_the_explanation(opp, people):
    """met() and evaluate().met agree for every built-in requirement on one context."""
    linked = attrs.evolve(
        opp, key_person_ids=["kp-dm", "kp-rec"], gaps=[gap("x")], evidence={"project_approved"}
    )
    acts = [visit("a1", at(hours=1)), visit("a2", at(hours=2), kind="call")]
    combined = [
        AnyOf(parts=[NoOpenGaps(), EvidenceRecorded(key="project_approved")]),
        AnyOf(parts=[NoOpenGaps(), EvidenceRecorded(key="b")]),
        AllOf(parts=[EvidenceRecorded(key="project_approved"), TimeInStage(days=1)]),
        Predicate(name="p", description="has gaps", test=lambda c: bool(c.opportunity.gaps)),
    ]
    verdicts = []
    for deal in (linked, attrs.evolve(linked, gaps=[])):
        context = ctx(deal, acts, people)
        for req in [*REQUIREMENTS, *combined]:
            assert req.met(context) == req.evaluate(context).met, req.name
        verdicts.append([req.met(context) for req in combined])
    # With an open gap, then without: both answers occur, so agreement is not trivially all-False.
    assert verdicts == [[True, False, True, True], [True, True, True, False]]


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (dt.timedelta(0), "0 seconds"),
        (dt.timedelta(seconds=1), "1 second"),
        (dt.timedelta(seconds=1.5), "1.5 seconds"),
        (dt.timedelta(seconds=59), "59 seconds"),
        (dt.timedelta(minutes=1), "1 minute"),
        (dt.timedelta(minutes=3), "3 minutes"),
        (dt.timedelta(minutes=90), "1 hour 30 minutes"),
        (dt.timedelta(days=1, hours=2, minutes=1, seconds=1), "1 day 2 hours 1 minute 1 second"),
        (dt.timedelta(days=2, seconds=30), "2 days 30 seconds"),
        (dt.timedelta(hours=-3), "-3 hours"),
        (dt.timedelta(seconds=-1), "-1 second"),
        (dt.timedelta(days=-1, hours=-1), "-1 day 1 hour"),
    ],
)
def test_span_in_words(delta, words):
    """Durations read in days, hours, minutes and seconds, singular for one, with a sign when negative."""
    assert span(delta) == words


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: KeyPersonCoverage(role="decision_maker", at_least=2), "2 decision makers identified"),
        (
            lambda: KeyPersonCoverage(
                role="recommender", stances=["neutral", "supporter", "champion"], at_least=2
            ),
            "2 recommenders who are champion or supporter or neutral",
        ),
        (lambda: KeyPersonCoverage(role="user", stances=["opponent"]), "a user who is opponent"),
        (lambda: ActivityCount(kinds="other"), "1 other activity"),
        (lambda: ActivityCount(kinds=["other", "call"], at_least=2), "2 calls or other activities"),
        (lambda: ActivityCount(kinds="visit"), "1 visit"),
        (
            lambda: ActivityCount(
                kinds=["demo", "email", "visit"], at_least=3, replied=True, with_key_person=True,
                min_duration=dt.timedelta(minutes=90),
            ),
            "3 visits or emails or demos of at least 1 hour 30 minutes with a reply with a key person",
        ),
    ],
)  # fmt: skip
def test_default_names_read_as_english(make, name):
    """Names count people and activities in the singular or plural, stances in the enum's order."""
    assert make().name == name  # built in the test, not at collection
