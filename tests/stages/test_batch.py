"""advance_many: many deals moved at one time, each exactly as advance would move it."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from test_compiled import outcome, situations

from _problems import raises_problems
from funnelkit import Opportunity
from funnelkit.stages import Moves, advance, advance_many, default_pipeline
from funnelkit.strategies import pipelines, sales_data

T0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


def one_by_one(opps, pipeline, **kwargs):
    """What advance does to each deal on its own, given the whole activity log."""
    return [outcome(advance, opp, pipeline, **kwargs) for opp in opps]


def as_outcomes(moves, opps):
    """A batch's result in the form of one_by_one's."""
    refused = {r.index: r for r in moves.refused}
    events = iter(moves.events)
    out = []
    for i, _ in enumerate(opps):
        if i in refused:
            out.append(("refused", refused[i].error, refused[i].message))
        else:
            out.append(("moved", (moves.opportunities[i], next(events))))
    return out


def comparable(results):
    """One-by-one outcomes with the error as its class name and message."""
    return [r if r[0] == "moved" else ("refused", r[1].__name__, r[2]) for r in results]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_batch_moves_each_deal_as_advance_would(data):
    """On drawn pipelines and books, the batch's values and refusals are advance's, deal by deal."""
    pipeline = data.draw(pipelines(), label="pipeline")
    book = data.draw(sales_data(pipeline=pipeline, max_opportunities=5, max_activities=12), label="book")
    now = max((o.stage_entered_at for o in book.opportunities), default=T0) + dt.timedelta(days=3)
    to = data.draw(st.sampled_from([None, *pipeline.routes.order]), label="to")
    kwargs = {
        "now": now,
        "actor": "r",
        "to": to,
        "activities": book.activities,
        "key_persons": book.key_persons,
    }
    moves = advance_many(book.opportunities, pipeline, **kwargs)
    assert as_outcomes(moves, book.opportunities) == comparable(
        one_by_one(book.opportunities, pipeline, **kwargs)
    )
    # conservation: every deal comes out once, in order, and only moved ones have an event
    assert [o.id for o in moves.opportunities] == [o.id for o in book.opportunities]
    assert len(moves.events) + len(moves.refused) == len(book.opportunities)


@given(situations())
def test_the_default_pipeline_batch_agrees(situation):
    """Deals of the default pipeline with drawn people and activities move as advance moves them."""
    opp, people, acts = situation
    others = [Opportunity(**{**_fields(opp), "id": f"x{i}"}) for i in range(3)]
    opps = [opp, *others]
    kwargs = {"now": T0 + dt.timedelta(days=2), "actor": "r", "activities": acts, "key_persons": people}
    moves = advance_many(opps, default_pipeline(), **kwargs)
    assert as_outcomes(moves, opps) == comparable(one_by_one(opps, default_pipeline(), **kwargs))
    by_id = {p.id: p for p in people}  # the key persons as a mapping, as advance takes them too
    moves = advance_many(opps, default_pipeline(), **(kwargs | {"key_persons": by_id}))
    assert as_outcomes(moves, opps) == comparable(one_by_one(opps, default_pipeline(), **kwargs))


def _fields(opp):
    """An opportunity's fields as keyword arguments."""
    import attrs

    return attrs.asdict(opp, recurse=False)


def test_bad_batch_arguments_are_refused_before_anything_moves():
    """A non-deal, a non-activity, a naive time or a bad actor is refused with its path; nothing moves."""
    pipeline = default_pipeline()
    opp = Opportunity(id="o", customer_id="c", owner="r", pipeline="default", stage="contact",
                      created_at=T0, stage_entered_at=T0)  # fmt: skip
    with raises_problems(("opps[1]", "type")):
        advance_many([opp, "o2"], pipeline, now=T0, actor="r")
    with raises_problems(("activities[0]", "type")):
        advance_many([opp], pipeline, now=T0, actor="r", activities=["a visit"])
    with raises_problems(("key_persons[0]", "type")):
        advance_many([opp], pipeline, now=T0, actor="r", key_persons=["dm"])
    with raises_problems(("now", "timezone")):
        advance_many([opp], pipeline, now=dt.datetime(2026, 1, 6), actor="r")
    with raises_problems(("actor", "empty")):
        advance_many([opp], pipeline, now=T0, actor="")
    with raises_problems(("pipeline", "type")):
        advance_many([opp], "default", now=T0, actor="r")


def test_progress_is_reported_every_thousand_deals_and_at_the_end():
    """progress(done, total) is called after each 1,000 deals and once at the end."""
    opp = Opportunity(id="o", customer_id="c", owner="r", pipeline="default", stage="contact",
                      created_at=T0, stage_entered_at=T0)  # fmt: skip
    calls = []
    moves = advance_many([opp] * 2500, default_pipeline(), now=T0, actor="r", to="needs_confirmed",
                         progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls == [(1000, 2500), (2000, 2500), (2500, 2500)]
    assert isinstance(moves, Moves)
    assert len(moves.refused) == 2500  # no visit, no decision maker: the milestones are not met
    assert {r.error for r in moves.refused} == {"MilestoneNotMet"}


def test_a_batch_report_has_a_row_per_deal():
    """The report lists each deal with its stage and, for a refused one, the code and why."""
    opp = Opportunity(id="o", customer_id="c", owner="r", pipeline="default", stage="contact",
                      created_at=T0, stage_entered_at=T0)  # fmt: skip
    moves = advance_many([opp], default_pipeline(), now=T0, actor="r", to="lost")
    (row,) = moves.to_records()
    assert row["opportunity_id"] == "o"
    assert row["refused"] == "conflict"
    assert row["why"] == "to: 'contact' -> 'lost' is a lose move; use lose()"
    assert moves.opportunities == (opp,)  # refused: as it was
