"""The compiled moves (funnelkit.stages._compiled) end every call exactly as the general path does."""

import datetime as dt
import zoneinfo
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import PIPELINE, T0, situations

from funnelkit import Activity, KeyPerson, Money, Opportunity
from funnelkit.errors import FunnelkitError
from funnelkit.stages import Pipeline, Stage, advance, default_pipeline, win
from funnelkit.stages._compiled import compile_move
from funnelkit.stages._requirements import trusted_context
from funnelkit.strategies import pipelines, sales_data

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def outcome(move, *args, **kwargs):
    """What a call ended with: its values, or its error's class, text and problems."""
    try:
        return "moved", move(*args, **kwargs)
    except FunnelkitError as e:
        return "refused", type(e), str(e), getattr(e, "problems", None)


def both_ways(move, opp, pipeline, *, activities, people, **kwargs):
    """The call through the compiled move (plain inputs) and through the general path (other shapes)."""
    fast = outcome(move, opp, pipeline, activities=tuple(activities), key_persons=tuple(people), **kwargs)
    general = outcome(
        move,
        opp,
        pipeline,
        activities=iter(activities),  # not a tuple or list: the compiled move declines
        key_persons=MappingProxyType({p.id: p for p in people}),
        **kwargs,
    )
    return fast, general


@settings(max_examples=120)
@given(
    situations(),
    st.sampled_from([None, "needs_confirmed", "proposal", "won", "contact", "lost"]),
    st.integers(0, 30),
    st.sampled_from([None, 0, 1]),
    st.sampled_from(["r", "Bad Actor!"]),
    st.booleans(),
)
def test_default_pipeline_moves_agree(situation, to, days, expected_version, actor, shanghai):  # noqa: PLR0917
    """advance and win on the default pipeline give the same values or the same refusal either way."""
    opp, people, acts = situation
    now = T0 + dt.timedelta(days=days)
    if shanghai:
        now = now.astimezone(SHANGHAI)
    for move in (advance, win):
        fast, general = both_ways(
            move, opp, PIPELINE, activities=acts, people=people,
            now=now, actor=actor, to=to, expected_version=expected_version,
        )  # fmt: skip
        assert fast == general


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_drawn_pipelines_moves_agree(data):
    """On drawn pipelines and requirements, every advance and win agrees with the general path."""
    pipeline = data.draw(pipelines(), label="pipeline")
    book = data.draw(sales_data(pipeline=pipeline, max_opportunities=3, max_activities=10), label="book")
    people = book.key_persons
    for opp in book.opportunities:
        now = opp.stage_entered_at + dt.timedelta(hours=data.draw(st.integers(0, 24 * 40)))
        for to in (None, *pipeline.routes.moves.get(opp.stage, ())):
            target = {} if to is None else {"to": to}  # None as the default, and each allowed target
            for move in (advance, win):
                fast, general = both_ways(
                    move,
                    opp,
                    pipeline,
                    activities=book.activities,
                    people=people,
                    now=now,
                    actor="r",
                    **target,
                )
                assert fast == general


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_compiled_checks_agree_with_the_requirements(data):
    """A plan's compiled check is true exactly when each requirement's verdict and the dwell say met."""
    pipeline = data.draw(pipelines(), label="pipeline")
    book = data.draw(sales_data(pipeline=pipeline, max_opportunities=2, max_activities=12), label="book")
    people = {p.id: p for p in book.key_persons}
    for opp in book.opportunities:
        now = opp.stage_entered_at + dt.timedelta(hours=data.draw(st.integers(0, 24 * 40)))
        for to in pipeline.routes.moves.get(opp.stage, ()):
            plan = pipeline.routes.plan(opp.stage, to)
            entered, first = opp.stage_entered_at, opp.stage_entered_at == opp.created_at

            def in_stage(a, entered=entered, first=first, now=now):
                """The activity is this deal's, in (entered, now], or at its creation in a first stage."""
                return entered < a.at <= now or (first and a.at == entered)

            mine = tuple(a for a in book.activities if a.opportunity_id == opp.id and in_stage(a))
            ctx = trusted_context(opp, mine, people, now)
            expected = all(r._met(ctx) for r in plan.requirements) and (
                plan.min_dwell is None or now - entered >= plan.min_dwell
            )
            move = compile_move(pipeline.key, plan.kind, opp.stage, to, plan.requirements, plan.min_dwell)
            fields = () + opp  # noqa: RUF005 - the plain tuple of its fields, as the engine gives it
            assert (move(fields, now, "r", None, book.activities, people) is not None) is expected


def test_the_lifecycle_takes_the_compiled_moves():
    """An eight-step lifecycle on a fresh default pipeline is made by compiled moves, one per step, kept."""
    pipeline = default_pipeline()
    assert pipeline.routes._next_movers == pipeline.routes._win_movers == pipeline.routes._movers == {}
    people = [
        KeyPerson(id="dm", customer_id="c", name="D", role="decision_maker", stance="supporter"),
        KeyPerson(id="rec", customer_id="c", name="R", role="recommender", stance="champion"),
    ]
    deal = Opportunity(
        id="o", customer_id="c", owner="r", pipeline="default", stage="contact", created_at=T0,
        stage_entered_at=T0, key_person_ids=("dm", "rec"), amount=Money.of("1000.00", "USD"),
        expected_close=dt.date(2026, 6, 30), competitors=("Rival",),
        evidence={"project_approved", "shortlisted", "selected", "contract_signed"},
    )  # fmt: skip
    acts = (
        Activity(id="v", kind="visit", at=T0 + dt.timedelta(hours=1), rep_id="r", customer_id="c",
                 opportunity_id="o", purpose="intro", needs_found="downtime"),
        Activity(id="d", kind="demo", at=T0 + dt.timedelta(days=2, hours=1), rep_id="r", customer_id="c",
                 opportunity_id="o", feedback="liked it"),
    )  # fmt: skip
    events = []
    for day in range(1, 7):
        deal, event = advance(deal, pipeline, now=T0 + dt.timedelta(days=day), actor="r", activities=acts,
                              key_persons=people)  # fmt: skip
        events.append(event)
    deal, event = win(
        deal, pipeline, now=T0 + dt.timedelta(days=7), actor="r", activities=acts, key_persons=people
    )
    assert (deal.stage, deal.status.value, deal.version, event.kind.value) == ("won", "won", 7, "win")
    assert [e.version for e in events] == [1, 2, 3, 4, 5, 6]
    assert all(e.time_in_stage == dt.timedelta(days=1) for e in events)
    # six advances to the next stage, one win, each kept by the stage it leaves
    assert list(pipeline.routes._next_movers) == ["contact", "needs_confirmed", "proposal", "approved",
                                                  "shortlisted", "selected"]  # fmt: skip
    assert list(pipeline.routes._win_movers) == ["negotiation"]
    assert pipeline.routes._movers == {}  # no move to a named stage was asked for


def _requirement():
    """Every kind of requirement, with each of its options: those compiled inline and those asked."""
    from funnelkit import Money
    from funnelkit.stages import (
        ActivityCount,
        AmountAtLeast,
        EvidenceRecorded,
        KeyPersonCoverage,
        NoOpenGaps,
        Predicate,
        RequiredFields,
        TimeInStage,
        all_of,
        any_of,
    )

    leaf = st.one_of(
        st.builds(
            ActivityCount,
            kinds=st.sets(st.sampled_from(["visit", "call", "demo", "email"]), min_size=1),
            at_least=st.integers(1, 2),
            filled=st.lists(st.sampled_from(["purpose", "needs_found", "feedback"]), unique=True, max_size=2),
            min_duration=st.sampled_from([None, dt.timedelta(minutes=10)]),
            replied=st.booleans(),
            with_key_person=st.booleans(),
        ),
        st.builds(
            RequiredFields,
            fields=st.lists(
                st.sampled_from(
                    ["amount", "expected_close", "competitors", "key_person_ids", "gaps", "evidence"]
                ),
                min_size=1,
                unique=True,
            ),
        ),
        st.just(NoOpenGaps()),
        st.builds(
            KeyPersonCoverage,
            role=st.sampled_from(["decision_maker", "recommender", "user"]),
            stances=st.sets(st.sampled_from(["supporter", "champion", "neutral"])),
            at_least=st.integers(1, 2),
        ),
        st.builds(EvidenceRecorded, key=st.sampled_from(["approved", "signed"])),
        st.builds(TimeInStage, days=st.integers(0, 5)),
        st.builds(
            AmountAtLeast,
            minimum=st.sampled_from(
                [Money.of("100", "USD"), Money.of("5000", "USD"), Money.of("100", "EUR")]
            ),
        ),
        st.builds(
            Predicate,
            name=st.just("owner_is_r"),
            description=st.just("owned by r"),
            test=st.just(lambda ctx: ctx.opportunity.owner == "r"),
        ),
    )
    return st.one_of(
        leaf,
        st.lists(leaf, min_size=1, max_size=3).map(lambda parts: all_of(*parts)),
        st.lists(leaf, min_size=1, max_size=3).map(lambda parts: any_of(*parts)),
    )


AMOUNTS = [None, Money.of("50", "USD"), Money.of("9000", "USD"), Money.of("200", "EUR")]


@st.composite
def every_requirement_situation(draw):
    """A pipeline whose first stage asks drawn requirements, and a deal drawn to meet some of them."""
    from funnelkit import Gap, KeyPerson, Opportunity
    from funnelkit.stages import Stage

    reqs = draw(st.lists(_requirement(), max_size=4))
    dwell = draw(st.sampled_from([None, dt.timedelta(days=1)]))
    pipeline = Pipeline(key="p", label="P", stages=[
        Stage(key="a", label="A", probability="0.2", requirements=reqs, min_dwell=dwell),
        Stage(key="b", label="B", probability="0.5"),
        Stage(key="won", label="W", probability=1, outcome="won"),
        Stage(key="lost", label="L", probability=0, outcome="lost"),
    ])  # fmt: skip
    people = [
        KeyPerson(id=f"k{i}", customer_id="c", name=f"K{i}",
                  role=draw(st.sampled_from(["decision_maker", "recommender", "user"])),
                  stance=draw(st.sampled_from(["supporter", "champion", "neutral"])))
        for i in range(draw(st.integers(0, 3)))
    ]  # fmt: skip
    opp = Opportunity(
        id="o", customer_id="c", owner=draw(st.sampled_from(["r", "s"])), pipeline="p", stage="a",
        created_at=T0, stage_entered_at=T0 + dt.timedelta(days=draw(st.integers(0, 1))),
        key_person_ids=draw(st.lists(st.sampled_from(["k0", "k1", "k2", "k9"]), unique=True)),
        amount=draw(st.sampled_from(AMOUNTS)),
        expected_close=draw(st.sampled_from([None, dt.date(2026, 6, 30)])),
        competitors=draw(st.lists(st.just("Rival"), max_size=1)),
        gaps=draw(st.lists(st.builds(Gap, description=st.just("budget"), closed=st.booleans()), max_size=2)),
        evidence=draw(st.frozensets(st.sampled_from(["approved", "signed"]))),
    )  # fmt: skip
    acts = [
        Activity(
            id=f"a{i}", kind=draw(st.sampled_from(["visit", "call", "demo", "email"])),
            at=T0 + dt.timedelta(hours=draw(st.integers(-24, 24 * 4))), rep_id="r", customer_id="c",
            opportunity_id=draw(st.sampled_from(["o", "other"])),
            purpose=draw(st.sampled_from([None, " ", "why"])), needs_found=draw(st.sampled_from([None, "n"])),
            feedback=draw(st.sampled_from([None, "ok"])),
            duration=draw(st.sampled_from([None, dt.timedelta(minutes=5), dt.timedelta(minutes=30)])),
            replied=draw(st.booleans()), key_person_ids=draw(st.lists(st.just("k0"), max_size=1)),
        )
        for i in range(draw(st.integers(0, 6)))
    ]  # fmt: skip
    return pipeline, opp, people, acts


@settings(max_examples=150, deadline=None)
@given(every_requirement_situation(), st.integers(0, 6 * 24))
def test_every_kind_of_requirement_agrees(situation, hours):
    """With every kind of requirement and option, the compiled move agrees with the general path."""
    pipeline, opp, people, acts = situation
    now = T0 + dt.timedelta(days=1, hours=hours)
    for move in (advance, win):
        fast, general = both_ways(move, opp, pipeline, activities=acts, people=people, now=now, actor="r")
        assert fast == general


def test_a_pipeline_pickles_without_its_compiled_moves_and_makes_them_again():
    """pickle and deepcopy keep the pipeline, drop the generated code, and the copy moves deals the same."""
    import copy
    import pickle

    pipeline = Pipeline(key="p", label="P", stages=[
        Stage(key="a", label="A", probability="0.2"),
        Stage(key="b", label="B", probability="0.5"),
        Stage(key="won", label="W", probability=1, outcome="won"),
        Stage(key="lost", label="L", probability=0, outcome="lost"),
    ])  # fmt: skip
    deal = Opportunity(id="o", customer_id="c", owner="r", pipeline="p", stage="a", created_at=T0,
                       stage_entered_at=T0)  # fmt: skip
    now = T0 + dt.timedelta(days=1)
    moved = advance(deal, pipeline, now=now, actor="r")  # no requirements: a compiled move makes it
    named = advance(deal, pipeline, now=now, actor="r", to="b")
    assert list(pipeline.routes._next_movers) == ["a"]
    assert list(pipeline.routes._movers) == [("a", "b", False)]
    for twin in (pickle.loads(pickle.dumps(pipeline)), copy.deepcopy(pipeline)):
        assert twin == pipeline
        assert twin.routes._next_movers == twin.routes._win_movers == twin.routes._movers == {}
        assert advance(deal, twin, now=now, actor="r") == moved
        assert advance(deal, twin, now=now, actor="r", to="b") == named
        assert list(twin.routes._next_movers) == ["a"]
        assert list(twin.routes._movers) == [("a", "b", False)]


class _NotAnActivity:
    """Stands where an activity should be: both paths must refuse it the same way."""


def _shaped(items, shape):
    """*items* as the drawn container: a tuple, a list, or a dict by id (what the compiled move reads)."""
    if shape == "dict":
        return {getattr(p, "id", f"x{i}"): p for i, p in enumerate(items)}
    return tuple(items) if shape == "tuple" else list(items)


def _other_shape(plain):
    """The same items in a shape the compiled move declines, so the general path decides."""
    return MappingProxyType(plain) if isinstance(plain, dict) else iter(plain)


@settings(max_examples=150, deadline=None)
@given(
    every_requirement_situation(),
    st.integers(0, 6 * 24),
    st.sampled_from(["tuple", "list"]),
    st.sampled_from(["tuple", "list", "dict"]),
    st.sampled_from([None, "activity", "key person"]),
    st.integers(0, 6),
)
def test_compiled_moves_agree_on_every_shape_and_on_bad_items(situation, hours, acts_shape, people_shape,  # noqa: PLR0917
                                                              bad, where):  # fmt: skip
    """Any plain shape of activities and key persons, a bad item or not: compiled and general paths agree."""
    pipeline, opp, people, acts = situation
    if bad == "activity":
        acts = [*acts[:where], _NotAnActivity(), *acts[where:]]
    elif bad == "key person":
        people = [*people[:where], "k9", *people[where:]]
    now = T0 + dt.timedelta(days=1, hours=hours)
    for move in (advance, win):
        plain_acts, plain_people = _shaped(acts, acts_shape), _shaped(people, people_shape)
        fast = outcome(
            move, opp, pipeline, now=now, actor="r", activities=plain_acts, key_persons=plain_people
        )
        general = outcome(
            move, opp, pipeline, now=now, actor="r",
            activities=_other_shape(plain_acts), key_persons=_other_shape(plain_people),
        )  # fmt: skip
        assert fast == general
        plan = pipeline.plan("a", "b")
        if move is advance and bad is not None and (plan.requirements or plan.min_dwell is not None):
            assert fast[0] == "refused"  # the inputs were read, the bad item found


def test_a_record_copies_into_a_plain_tuple_by_concatenation():
    """The compiled moves read an opportunity's fields as ``() + opp``: a plain tuple, in field order."""
    import attrs

    deal = Opportunity(id="o", customer_id="c", owner="r", pipeline="p", stage="a", created_at=T0,
                       stage_entered_at=T0, evidence={"signed"})  # fmt: skip
    fields = () + deal  # noqa: RUF005 - (*deal,) would iterate, which a record refuses
    assert type(fields) is tuple
    assert fields == tuple(getattr(deal, f.name) for f in attrs.fields(Opportunity))
