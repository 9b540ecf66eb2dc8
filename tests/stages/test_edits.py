"""Tests for edits of a deal's fields: the events, apply and replay, and a log read back."""

import datetime as dt
import json

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import ForecastCategory, Money, Opportunity, from_dict, to_dict
from funnelkit.assignment import OwnerChanged
from funnelkit.errors import ConcurrencyConflict, ValidationError
from funnelkit.events import Event
from funnelkit.stages import (
    UNCHANGED,
    AmountChanged,
    CategoryChanged,
    CloseDateChanged,
    Override,
    advance,
    apply,
    default_pipeline,
    edit,
    replay,
)
from funnelkit.strategies import event_histories

T = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
DEAL = Opportunity(
    id="o-1", customer_id="c-1", owner="ann", pipeline="default", stage="contact", created_at=T,
    stage_entered_at=T, amount=Money.of("12000", "EUR"), expected_close=dt.date(2026, 4, 30),
)  # fmt: skip


def test_an_edit_makes_one_event_per_field_changed_in_order():
    """Amount, then close date, then category: each one version up, each with the value before and after."""
    after, events = edit(
        DEAL,
        now=T + DAY,
        actor="ann",
        forecast_category="commit",
        expected_close=dt.date(2026, 5, 31),
        amount=Money.of("15000", "EUR"),
        reason="scope grew",
    )
    assert [type(e) for e in events] == [AmountChanged, CloseDateChanged, CategoryChanged]
    assert [e.version for e in events] == [1, 2, 3]
    assert [(e.before, e.after) for e in events] == [
        (Money.of("12000", "EUR"), Money.of("15000", "EUR")),
        (dt.date(2026, 4, 30), dt.date(2026, 5, 31)),
        (None, ForecastCategory.COMMIT),
    ]
    assert {e.reason for e in events} == {"scope grew"}
    assert {e.at for e in events} == {T + DAY}
    assert after == attrs.evolve(
        DEAL,
        amount=Money.of("15000", "EUR"),
        expected_close=dt.date(2026, 5, 31),
        forecast_category=ForecastCategory.COMMIT,
        version=3,
    )
    assert events[0].delta == Money.of("3000", "EUR")
    assert events[1].days_moved == 31  # 30 April to 31 May


def test_a_field_left_unchanged_or_given_its_value_makes_no_event():
    """UNCHANGED (the default) and the present value both leave the deal as it is, version included."""
    assert edit(DEAL, now=T, actor="ann") == (DEAL, ())
    same = edit(DEAL, now=T, actor="ann", amount=Money.of("12000", "EUR"), forecast_category=UNCHANGED)
    assert same == (DEAL, ())


def test_none_clears_a_field_and_the_category_goes_back_to_the_stages():
    """Clearing is an edit too: the amount gone, the override back to None."""
    committed, _ = edit(DEAL, now=T, actor="ann", forecast_category=ForecastCategory.COMMIT)
    cleared, events = edit(committed, now=T + DAY, actor="bob", amount=None, forecast_category=None)
    assert cleared.amount is None
    assert cleared.forecast_category is None
    assert [(e.before, e.after) for e in events] == [
        (Money.of("12000", "EUR"), None),
        (ForecastCategory.COMMIT, None),
    ]
    assert events[0].delta is None


def test_bad_arguments_are_all_named_at_once_and_nothing_changes():
    """Each bad argument by its name and code; the deal given is untouched (it is a value)."""
    with raises_problems(
        ("now", "timezone"),
        ("actor", "type"),
        ("amount", "range"),
        ("expected_close", "type"),
        ("forecast_category", "choice"),
    ) as info:
        edit(
            DEAL,
            now=dt.datetime(2026, 3, 2),
            actor=7,  # type: ignore[arg-type]
            amount=Money.of("-1", "EUR"),
            expected_close="2026-05-01",
            forecast_category="maybe",
        )
    message = str(info.value)
    assert "forecast_category: 'maybe' is not a ForecastCategory; allowed: 'pipeline', 'best_case'" in message
    with raises_problems(("opp", "type")):
        edit({"id": "o-1"}, now=T, actor="ann", amount=None)  # type: ignore[arg-type]


def test_an_edit_before_the_deal_entered_its_stage_or_on_a_stale_version_is_refused():
    """Versions and times only grow; a stale read is a ConcurrencyConflict, as for moves."""
    with raises_problems(("now", "order")):
        edit(DEAL, now=T - DAY, actor="ann", amount=None)
    with pytest.raises(ConcurrencyConflict) as info:
        edit(DEAL, now=T, actor="ann", amount=None, expected_version=3)
    assert (info.value.expected_version, info.value.actual_version) == (3, 0)
    with raises_problems(("expected_version", "range")):
        edit(DEAL, now=T, actor="ann", amount=None, expected_version=2**63)


def test_an_edit_event_must_change_something_and_follow_a_version():
    """An event whose value before is its value after, or whose version is 0, is refused."""
    with raises_problems(("after", "conflict"), ("version", "range")):
        CloseDateChanged(
            opportunity_id="o-1",
            at=T,
            actor="ann",
            version=0,
            before=dt.date(2026, 1, 1),
            after=dt.date(2026, 1, 1),
        )
    with raises_problems(("after", "range")):
        AmountChanged(
            opportunity_id="o-1", at=T, actor="ann", version=1, before=None, after=Money.of("-5", "USD")
        )


def test_apply_refuses_an_edit_that_does_not_follow_from_the_deal():
    """Another deal, a value before that is not the deal's, an old version, a time too early: each named."""
    _, (event,) = edit(DEAL, now=T + DAY, actor="ann", amount=Money.of("1", "EUR"))
    assert apply(DEAL, event).amount == Money.of("1", "EUR")
    stale = attrs.evolve(event, opportunity_id="o-2", before=Money.of("2", "EUR"), version=0 + 1)
    moved = attrs.evolve(DEAL, version=5, stage_entered_at=T + 2 * DAY)
    with raises_problems(("opportunity_id", "conflict"), ("before", "conflict")) as info:
        apply(DEAL, stale)
    assert str(info.value) == (
        "2 problems:\n  - opportunity_id: 'o-2' is not the opportunity 'o-1'\n"
        "  - before: Money('2', 'EUR') but the opportunity's amount is Money('12000', 'EUR')"
    )
    with raises_problems(("version", "order"), ("at", "order")):
        apply(moved, event)


def test_apply_reads_a_change_of_owner_of_the_deal_and_refuses_one_of_a_customer():
    """An OwnerChanged of the opportunity moves it and sets its version; a customer's is not the deal's."""
    change = OwnerChanged(
        kind="opportunity", id="o-1", from_rep="ann", to_rep="bob", at=T, actor="mgr",
        reason="ann left", why="least loaded", version=4,
    )  # fmt: skip
    moved = apply(DEAL, change)
    assert (moved.owner, moved.version) == ("bob", 4)
    with raises_problems(("kind", "conflict"), ("version", "missing"), ("from_rep", "conflict")):
        apply(DEAL, attrs.evolve(change, kind="customer", from_rep="cy", version=None))


def test_apply_names_what_it_reads():
    """Not an event at all: the message says what kinds it reads."""
    with raises_problems(("event", "type")) as info:
        apply(DEAL, "amount_changed")  # type: ignore[arg-type]
    assert "a StageChanged, an edit or an OwnerChanged" in str(info.value)


def test_replay_applies_moves_and_edits_alike_and_checks_only_moves_against_the_pipeline():
    """A move, an edit, another move: replayed to the same deal, with the pipeline's check on."""
    pipeline = default_pipeline()
    let = Override(reason="test", by="mgr")
    one, moved = advance(DEAL, pipeline, now=T + DAY, actor="ann", override=let)
    two, edits = edit(one, now=T + 2 * DAY, actor="ann", expected_close=dt.date(2026, 6, 1))
    three, again = advance(two, pipeline, now=T + 3 * DAY, actor="ann", override=let)
    assert replay(DEAL, [moved, *edits, again], pipeline=pipeline) == three
    with raises_problems(("events[2].version", "order"), ("events[2].before", "conflict")):
        replay(DEAL, [moved, *edits, *edits])


def test_a_mixed_log_reads_back_from_json():
    """Moves, edits and a change of owner in one log: written, read back through Event, equal."""
    _, edits = edit(DEAL, now=T, actor="ann", amount=None, forecast_category="best_case")
    change = OwnerChanged(
        kind="opportunity", id="o-1", from_rep="ann", to_rep="bob", at=T, actor="mgr",
        reason="ann left", why="least loaded", version=3,
    )  # fmt: skip
    log = [*edits, change]
    text = json.dumps(to_dict(log))
    assert [e["type"] for e in json.loads(text)] == ["amount_changed", "category_changed", "owner_changed"]
    assert from_dict(list[Event], json.loads(text)) == log


@settings(max_examples=80, deadline=None)
@given(history=event_histories(pipeline=default_pipeline(), max_events=10, edits=True))
def test_replay_reproduces_the_deal_after_every_edit(history):
    """Moves, edits and changes of owner drawn together: replay gives the deal the engine left, each step."""
    assert replay(history.start, history.events, pipeline=history.pipeline) == history.end
    versions = [e.version for e in history.events]
    assert versions == sorted(set(versions))  # one version per change, growing
    assert all(a.at <= b.at for a, b in zip(history.events, history.events[1:], strict=False))


@settings(max_examples=40, deadline=None)
@given(deal=st.sampled_from([DEAL, attrs.evolve(DEAL, amount=None)]), cents=st.integers(0, 10**9))
def test_an_amount_edit_conserves_money(deal, cents):
    """The amount after is the amount before plus the event's delta: no money appears or disappears."""
    new = Money.of(cents, "EUR") / 100
    after, events = edit(deal, now=T, actor="ann", amount=new)
    if deal.amount is None or deal.amount == new:
        assert all(e.delta is None for e in events)
    else:
        assert deal.amount + events[0].delta == after.amount


def test_a_bad_event_document_is_refused_with_its_path():
    """A category that is not one, read from a document, is named by its path."""
    data = to_dict(edit(DEAL, now=T, actor="ann", forecast_category="commit")[1][0])
    data["after"] = "certain"
    with pytest.raises(ValidationError) as info:
        from_dict(CategoryChanged, data)
    assert [p.path for p in info.value.problems] == ["after"]


def test_an_open_deal_cannot_be_called_closed():
    """'closed' is a won deal's category: an edit or a deal that says it of an open deal is refused."""
    with raises_problems(("forecast_category", "conflict")):
        edit(DEAL, now=T, actor="ann", forecast_category="closed")
    with raises_problems(("forecast_category", "conflict")):
        attrs.evolve(DEAL, forecast_category=ForecastCategory.CLOSED)


def test_a_change_of_owner_is_checked_field_by_field():
    """A deal's change of owner carries its version; a bad field is named, not a bare TypeError later."""
    fields = {
        "kind": "opportunity", "id": "o-1", "from_rep": "ann", "to_rep": "bob", "at": T, "actor": "mgr",
        "reason": "ann left", "why": "least loaded",
    }  # fmt: skip
    with raises_problems(("version", "missing")):
        OwnerChanged(**fields)
    with raises_problems(("to_rep", "type"), ("at", "timezone")):
        OwnerChanged(**fields | {"at": dt.datetime(2026, 3, 2), "to_rep": 123, "version": 1})
    with raises_problems(("version", "conflict")):
        OwnerChanged(**fields | {"kind": "customer", "version": 2})
