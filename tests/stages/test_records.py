"""Records: the opportunity and the event are stored as tuples and behave as attrs values."""

import copy
import datetime as dt
import pickle
import re
import zoneinfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import T0
from funnelkit import Money, Opportunity, ValidationError
from funnelkit.stages import MoveKind, StageChanged

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def an_opportunity(**changes):
    """A valid opportunity, with *changes*."""
    fields = {
        "id": "o-1",
        "customer_id": "c-1",
        "owner": "ann",
        "pipeline": "default",
        "stage": "contact",
        "created_at": T0,
        "stage_entered_at": T0,
        "amount": Money.of("1200.00", "USD"),
        "key_person_ids": ("dm",),
        "evidence": {"project_approved"},
    }
    return Opportunity(**(fields | changes))


def test_a_record_is_an_attrs_value():
    """attrs sees the fields: fields, has, evolve and asdict work as for any attrs class."""
    opp = an_opportunity()
    assert attrs.has(Opportunity)
    assert attrs.has(StageChanged)
    assert [f.name for f in attrs.fields(Opportunity)][:5] == [
        "id",
        "customer_id",
        "owner",
        "pipeline",
        "stage",
    ]
    assert attrs.fields(Opportunity).stage.name == "stage"
    moved = attrs.evolve(opp, stage="proposal", version=2)
    assert (moved.stage, moved.version, moved.id) == ("proposal", 2, "o-1")
    assert attrs.asdict(opp)["evidence"] == frozenset({"project_approved"})


def test_a_record_runs_the_same_conversions_and_checks():
    """Converters run (a set becomes a frozenset, a str an enum); bad values are refused by field."""
    opp = an_opportunity(status="won", version=3)
    assert opp.evidence == frozenset({"project_approved"})
    assert opp.status.value == "won"
    assert opp.version == 3
    with pytest.raises(ValidationError) as info:
        an_opportunity(stage="", lost_reason="price")
    paths = [p.path for p in info.value.problems]
    assert paths == ["stage"]  # field checks first; the cross-field rule only when they pass
    with pytest.raises(ValidationError) as info:
        an_opportunity(lost_reason="price")
    assert [(p.path, p.code) for p in info.value.problems] == [("lost_reason", "conflict")]
    with pytest.raises(TypeError):
        Opportunity(id="o")  # the missing fields, as attrs says it


def test_a_record_is_not_a_sequence():
    """It does not iterate, index, measure, add or order, and it is always true."""
    opp = an_opportunity()
    for attempt in (
        lambda: list(opp),
        lambda: opp[0],
        lambda: len(opp),
        lambda: "o-1" in opp,
        lambda: opp + opp,
        lambda: opp * 2,
        lambda: opp < an_opportunity(),
    ):
        with pytest.raises(TypeError):
            attempt()
    assert bool(opp)
    assert str(opp) == repr(opp)
    assert repr(opp).startswith("Opportunity(id='o-1', customer_id='c-1', owner='ann', pipeline='default'")


def test_a_record_equals_only_a_record_of_its_class():
    """Equal values are equal and hash alike; a plain tuple or another class is never equal."""
    a, b = an_opportunity(), an_opportunity()
    assert a == b
    assert hash(a) == hash(b)
    assert a != an_opportunity(version=1)
    assert a != tuple.__getitem__(a, slice(None))
    assert len({a, b}) == 1
    event = StageChanged(
        opportunity_id="o", pipeline="p", kind=MoveKind.ADVANCE, from_stage="a", to_stage="b", at=T0,
        actor="r", version=1, time_in_stage=T0 - T0,
    )  # fmt: skip
    assert event != an_opportunity()
    assert event.__eq__(a) is False
    assert event.__eq__("o") is NotImplemented


def test_a_record_is_frozen():
    """Setting or deleting a field raises attrs' FrozenInstanceError."""
    opp = an_opportunity()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        opp.stage = "won"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del opp.stage  # type: ignore[misc]
    with pytest.raises(AttributeError):
        opp.extra = 1  # type: ignore[attr-defined]


def test_a_record_pickles_and_copies():
    """pickle, copy and deepcopy give an equal value of the same class."""
    opp = an_opportunity()
    for back in (pickle.loads(pickle.dumps(opp)), copy.copy(opp), copy.deepcopy(opp)):
        assert type(back) is Opportunity
        assert back == opp
        assert back.amount == Money.of("1200.00", "USD")


def test_match_by_field():
    """Pattern matching by keyword reads the fields."""
    match an_opportunity():
        case Opportunity(stage="contact", owner=owner):
            assert owner == "ann"
        case _:  # pragma: no cover - the case above matches
            pytest.fail("no match")


ODD = st.sampled_from([
    None, "", " x", "x", "won", "contact", 0, -1, 3, True, 2.5, [], ["a", "a"], ["a"], ("a",), {"a"},
    frozenset({"a"}), dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, tzinfo=SHANGHAI),
    dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.date(2026, 1, 1), Money.of("1", "USD"), Money.of("-1", "USD"),
    "\x00", "x" * 300,
])  # fmt: skip


@st.composite
def arguments(draw):
    """Keyword arguments for Opportunity: a valid set, some fields odd, left out, or given as iterators."""
    valid = attrs.asdict(draw(st.from_type(Opportunity)), recurse=False)
    for name in list(valid):
        choice = draw(st.integers(0, 6))
        if choice == 0:
            valid[name] = draw(ODD)
        elif choice == 1 and draw(st.booleans()):
            del valid[name]
        elif choice == 2 and isinstance(valid[name], tuple | frozenset):
            valid[name] = list(valid[name]) * draw(st.integers(1, 2))  # repeated items too
    return valid


def with_iterators(kwargs):
    """The arguments with every list a fresh one-shot iterator (made at each call)."""
    return {k: iter(v) if isinstance(v, list) else v for k, v in kwargs.items()}


def outcome(build, kwargs):
    """A constructor's value, or its error's class and problems (messages without object addresses)."""
    try:
        return "built", build(**kwargs)
    except ValidationError as e:
        return "refused", [(p.path, p.code, re.sub(r" at 0x[0-9a-f]+", "", p.message)) for p in e.problems]
    except TypeError as e:
        return "type", type(e)


@settings(max_examples=300)
@given(arguments())
def test_the_compiled_constructor_agrees_with_attrs(kwargs):
    """The compiled constructor builds what attrs' checked one builds, or refuses with the same problems."""
    checked = Opportunity.__attrs_checked_class__

    def through_attrs(**given):
        value = checked(**given)
        return Opportunity(**attrs.asdict(value, recurse=False))

    assert outcome(Opportunity, kwargs) == outcome(through_attrs, kwargs)
    assert outcome(Opportunity, with_iterators(kwargs)) == outcome(through_attrs, with_iterators(kwargs))


def test_the_signature_lists_the_fields():
    """inspect.signature shows the fields and their defaults, as for an attrs class."""
    import inspect

    sig = inspect.signature(Opportunity)
    assert list(sig.parameters)[:3] == ["id", "customer_id", "owner"]
    assert sig.parameters["version"].default == 0
    assert sig.parameters["id"].default is inspect.Parameter.empty


def test_a_one_shot_iterator_is_read_once_by_the_checked_path():
    """A generator of key persons reaches attrs whole: its duplicate is refused, its items are kept."""
    with pytest.raises(ValidationError) as info:
        an_opportunity(key_person_ids=(k for k in ["a", "a"]), status="open")
    assert [(p.path, p.code) for p in info.value.problems] == [("key_person_ids", "duplicate")]
    assert an_opportunity(key_person_ids=(k for k in ["a", "b"]), status="open").key_person_ids == ("a", "b")
    assert an_opportunity(evidence=iter(["x"]), version=2).evidence == frozenset({"x"})
