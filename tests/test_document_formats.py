"""The one converter: tagged families, event logs, unknown fields, and a host's own cattrs converter."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

import attrs
import cattrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelkit import Money, from_dict, to_dict
from funnelkit._hypothesis import TYPES as _REGISTERED
from funnelkit.assignment import Decision, LoadBalance, Policy, RoundRobin, Rule, Rules, TierMatch
from funnelkit.documents import TAG, configure_converter, format_zone, make_converter
from funnelkit.errors import ValidationError
from funnelkit.events import Event
from funnelkit.forecast import KaplanMeier, kaplan_meier
from funnelkit.stages import (
    ActivityCount,
    AllOf,
    MoveKind,
    Predicate,
    Requirement,
    StageChanged,
    TimeInStage,
    default_pipeline,
)
from funnelkit.stages._requirements import Verdict

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def _codes(exc: pytest.ExceptionInfo[ValidationError]) -> set[tuple[str, str]]:
    return {(p.path, p.code) for p in exc.value.problems}


def test_tag_key_is_the_same_for_requirements_policies_and_events():
    """Requirements, policies and events all name their class under "type"."""
    event = StageChanged(
        opportunity_id="o-1",
        pipeline="b2b",
        kind=MoveKind.ADVANCE,
        from_stage="a",
        to_stage="b",
        at=AT,
        actor="ann",
        version=1,
        time_in_stage=dt.timedelta(days=1),
    )
    assert TAG == "type"
    assert to_dict(TimeInStage(days=3))[TAG] == "time_in_stage"
    assert to_dict(RoundRobin(reps=["ann"]))[TAG] == "round_robin"
    assert to_dict(event)[TAG] == "stage_changed"
    assert "kind" not in to_dict(RoundRobin(reps=["ann"]))


def test_mixed_event_log_round_trips_through_json():
    """A log of stage changes and routing decisions reads back, in order, through the Event union."""
    log: list[Event] = []
    for i in range(30):
        if i % 3:
            log.append(
                Decision(
                    lead_id=f"l-{i}", rep_id="ann", by="rr", reason="next", at=AT + dt.timedelta(hours=i)
                )
            )
        else:
            log.append(
                StageChanged(
                    opportunity_id=f"o-{i}",
                    pipeline="b2b",
                    kind=MoveKind.LOSE,
                    from_stage="a",
                    to_stage="lost",
                    at=AT,
                    actor="ann",
                    version=2,
                    time_in_stage=dt.timedelta(days=i),
                    lost_reason="price",
                )
            )
    back = from_dict(list[Event], json.loads(json.dumps(to_dict(log))))
    assert back == log
    assert [type(e) for e in back] == [type(e) for e in log]


def test_an_event_log_with_an_unknown_type_names_the_item():
    """An entry with a type no event has is reported at its index, with the allowed tags."""
    data = [to_dict(Decision(lead_id="l", rep_id=None, by=None, reason="none free", at=AT)), {"type": "nope"}]
    with pytest.raises(ValidationError) as exc:
        from_dict(list[Event], data)
    assert _codes(exc) == {("[1].type", "choice")}
    assert "'decision', 'owner_changed', 'stage_changed'" not in str(exc.value)  # plain names, no quotes
    assert "decision, forecast_call, merged, owner_changed, stage_changed" in str(exc.value)


def test_a_tag_that_disagrees_with_the_class_is_refused():
    """Reading a round-robin document as a LoadBalance is refused at the tag."""
    with pytest.raises(ValidationError) as exc:
        from_dict(LoadBalance, {"type": "round_robin", "name": "x", "reps": None})
    assert _codes(exc) == {("type", "choice")}


def test_nested_policies_and_requirements_read_through_their_base():
    """A Fallback of rules and a nested AllOf read back through Policy and Requirement."""
    policy = Rules(
        rules=[Rule(name="north", to=["ann"], territory=["north"], min_value=Money.of("1E+3", "USD"))]
    ).or_else(
        TierMatch(
            groups={"A": ["ann"], "B": ["bob"], "C": ["bob"]},
            a_from=Money.of("1E+3", "USD"),
            b_from=Money.of("10", "USD"),
        )
    )
    data = json.loads(json.dumps(to_dict(policy)))
    assert from_dict(Policy, data) == policy
    assert (
        data["policies"][0]["rules"][0]["min_value"]
        == data["policies"][1]["a_from"]
        == {"amount": "1000", "currency": "USD"}
    )
    req = AllOf(parts=[TimeInStage(days=2), AllOf(parts=[ActivityCount(kinds=["visit"], at_least=2)])])
    assert from_dict(Requirement, json.loads(json.dumps(to_dict(req)))) == req


def test_a_requirement_of_the_callers_own_reads_back_without_registration():
    """A new requirement class is one class: the converter finds it by its tag."""

    @attrs.frozen(kw_only=True)
    class HasNotes(Requirement):
        type_name: ClassVar[str] = "test_has_notes"
        minimum: int = 1
        name: str = "has notes"

        def _evaluate(self, ctx):  # pragma: no cover - not evaluated here
            return Verdict(name=self.name, met=True, detail="")

    req = AllOf(parts=[HasNotes(minimum=3), TimeInStage(days=1)])
    data = to_dict(req)
    assert data["parts"][0] == {"type": "test_has_notes", "minimum": 3, "name": "has notes"}
    assert from_dict(Requirement, data) == req


def test_predicates_are_found_by_name():
    """A pipeline with a custom predicate reads back when the predicate is given, and names it when not."""
    big = Predicate(name="big", description="a big deal", test=lambda ctx: True)
    pipeline = default_pipeline()
    stage = attrs.evolve(pipeline.stages[0], requirements=(big,))
    pipeline = attrs.evolve(pipeline, stages=(stage, *pipeline.stages[1:]))
    data = to_dict(pipeline)
    assert data["stages"][0]["requirements"] == [{"type": "predicate", "name": "big"}]
    assert from_dict(type(pipeline), data, predicates={"big": big}) == pipeline
    with pytest.raises(ValidationError) as exc:
        from_dict(type(pipeline), data)
    assert ("stages[0].requirements[0].name", "reference") in _codes(exc)


def test_unknown_fields_are_refused_or_ignored_as_the_converter_says():
    """The default refuses a key that is not a field; make_converter(unknown_fields="ignore") skips it."""
    data = {"type": "round_robin", "name": "rr", "reps": ["ann"], "added_in_2027": True}
    with pytest.raises(ValidationError) as exc:
        from_dict(RoundRobin, data)
    assert _codes(exc) == {("added_in_2027", "unknown_field")}
    assert make_converter(unknown_fields="ignore").structure(data, Policy) == RoundRobin(
        name="rr", reps=["ann"]
    )
    with pytest.raises(ValidationError) as exc:
        make_converter(unknown_fields="maybe")  # type: ignore[arg-type]
    assert _codes(exc) == {("unknown_fields", "choice")}


def test_a_hosts_converter_learns_funnelkit_values_and_keeps_its_own_hooks():
    """configure_converter adds funnelkit's formats to a host's converter and keeps the host's hooks."""

    @attrs.frozen
    class Row:
        deal: Decision
        note: str

    mine = cattrs.Converter()
    mine.register_unstructure_hook(str, str.upper)
    configure_converter(mine)
    decision = Decision(
        lead_id="l", rep_id="ann", by="rr", reason="next", at=AT, value=Money.of("12.30", "USD")
    )
    data = mine.unstructure(Row(deal=decision, note="ok"))
    assert data["note"] == "OK"
    assert data["deal"]["value"] == {"amount": "12.30", "currency": "USD"}
    assert data["deal"]["at"] == "2026-03-02T09:30:00+00:00"
    with pytest.raises(ValidationError) as exc:
        configure_converter(object())  # type: ignore[arg-type]
    assert _codes(exc) == {("converter", "type")}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.250"), "0.250"),
        (Decimal("1E+3"), "1000"),
        (Fraction(1, 3), "1/3"),
        (Fraction(4, 2), "2"),
        (dt.timedelta(days=1, hours=2), "P1DT2H"),
        (dt.timedelta(seconds=-90), "-PT1M30S"),
        (float("nan"), "NaN"),
    ],
)
def test_each_number_and_duration_has_one_written_form(value, text):
    """Decimals in plain digits, ratios as n/d, durations in ISO 8601, non-finite floats as words."""
    assert to_dict(value) == text


@pytest.mark.parametrize(
    ("zone", "text"),
    [(dt.UTC, "UTC"), (dt.timezone(dt.timedelta(hours=-5, minutes=-30)), "-05:30")],
)
def test_zones_have_one_written_form(zone, text):
    """A zone is its IANA name, UTC, or a fixed offset, and reads back."""
    assert format_zone(zone) == text
    assert from_dict(dt.tzinfo, text).utcoffset(None) == zone.utcoffset(None)


@pytest.mark.parametrize("text", ["1/0", "1/", "abc", "1.5", "-"])
def test_bad_ratios_are_refused(text):
    """A ratio is n or n/d with d not zero."""
    with pytest.raises(ValidationError) as exc:
        from_dict(Fraction, text)
    assert _codes(exc) == {("", "format")}


@pytest.mark.parametrize("name", [name for _, name, _ in _REGISTERED], ids=str)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_drawable_value_round_trips_through_json(name, data):
    """Any value hypothesis draws for a registered funnelkit type reads back equal from its JSON document."""
    module = importlib.import_module(next(m for m, n, _ in _REGISTERED if n == name))
    cls = getattr(module, name)
    value = data.draw(st.from_type(cls))
    text = json.dumps(to_dict(value), allow_nan=False)
    assert from_dict(cls, json.loads(text)) == value


def test_a_policy_of_the_callers_own_reads_back_without_registration():
    """A new policy is one class too: in a fallback chain it writes its tag and reads back through Policy."""

    @attrs.frozen(kw_only=True)
    class FirstRep(Policy):
        type_name: ClassVar[str] = "test_first_rep"
        name: str = "first rep"

        def _choose(self, item, ctx, skips):  # pragma: no cover - not routed here
            return None, "never", self.name

    chain = FirstRep().or_else(LoadBalance(reps=["ann"]))
    data = json.loads(json.dumps(to_dict(chain)))
    assert data["policies"][0] == {"type": "test_first_rep", "name": "first rep"}
    assert from_dict(Policy, data) == chain


@pytest.mark.parametrize("text", ["1/00", "1/000", "0/0"])
def test_a_zero_denominator_in_any_spelling_is_a_format_problem(text):
    """'1/00' is refused like '1/0', never a ZeroDivisionError."""
    with pytest.raises(ValidationError) as exc:
        from_dict(Fraction, text)
    assert _codes(exc) == {("", "format")}


def test_a_lenient_converter_reads_pipelines_leniently_too():
    """unknown_fields='ignore' reaches the stages and requirements a pipeline reads with its own reader."""
    pipeline = default_pipeline()
    data = to_dict(pipeline)
    data["note"] = 1
    data["stages"][0]["note"] = 2
    data["stages"][0]["requirements"][0]["note"] = 3
    assert make_converter(unknown_fields="ignore").structure(data, type(pipeline)) == pipeline
    with pytest.raises(ValidationError) as exc:
        from_dict(type(pipeline), data)
    assert _codes(exc) == {
        ("note", "unknown_field"),
        ("stages[0].note", "unknown_field"),
        ("stages[0].requirements[0].note", "unknown_field"),
    }


def test_a_class_whose_annotations_do_not_resolve_is_named():
    """A caller's class annotated with a name that exists only for type checkers is refused at cls."""

    @attrs.frozen
    class Odd:
        value: NotDefinedAnywhere  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ValidationError) as exc:
        from_dict(Odd, {"value": 1})
    assert _codes(exc) == {("cls", "type")}


@pytest.mark.parametrize(
    "times",
    [
        [dt.timedelta(days=3), dt.timedelta(days=5)],
        [Fraction(1, 3), Decimal("1.5"), 2, 2.5],
    ],
    ids=["durations", "numbers"],
)
def test_kaplan_meier_times_of_every_kind_round_trip(times):
    """A survival curve over durations or mixed numbers reads back equal, each time of its own type."""
    km = kaplan_meier([(t, i % 2 == 0) for i, t in enumerate(times)])
    back = from_dict(KaplanMeier, json.loads(json.dumps(to_dict(km))))
    assert back == km
    assert [type(s.time) for s in back.steps] == [type(s.time) for s in km.steps]
