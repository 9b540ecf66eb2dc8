"""Properties of the stage engine: readiness agrees with advance; bad dicts raise ValidationError."""

import datetime as dt

import attrs
from hypothesis import given
from hypothesis import strategies as st

from funnelkit import Activity, KeyPerson, Opportunity, ValidationError
from funnelkit.errors import MilestoneNotMet
from funnelkit.stages import Pipeline, advance, default_pipeline, readiness
from funnelkit.stages._requirements import requirement_from_dict

T0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
PIPELINE = default_pipeline()
OPEN = [s.key for s in PIPELINE.open_stages]
EVIDENCE = ["project_approved", "shortlisted", "selected", "contract_signed"]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=15,
)


@st.composite
def situations(draw):
    """An open deal at a random stage, with random people, evidence and activities around it."""
    stage = draw(st.sampled_from(OPEN))
    dm_stance = draw(st.sampled_from(["neutral", "supporter"]))
    rec_stance = draw(st.sampled_from(["opponent", "champion"]))
    people = [
        KeyPerson(id="dm", customer_id="c", name="D", role="decision_maker", stance=dm_stance),
        KeyPerson(id="rec", customer_id="c", name="R", role="recommender", stance=rec_stance),
    ]
    opp = Opportunity(
        id="o",
        customer_id="c",
        owner="r",
        pipeline="default",
        stage=stage,
        created_at=T0,
        stage_entered_at=T0,
        key_person_ids=draw(st.lists(st.sampled_from(["dm", "rec"]), unique=True)),
        evidence=draw(st.frozensets(st.sampled_from(EVIDENCE))),
        competitors=draw(st.lists(st.just("Rival"), max_size=1)),
    )
    acts = [
        Activity(
            id=f"a{i}",
            kind=draw(st.sampled_from(["visit", "call", "demo", "meeting"])),
            at=T0 + dt.timedelta(hours=draw(st.integers(-48, 72))),
            rep_id="r",
            customer_id="c",
            opportunity_id=draw(st.sampled_from(["o", "other"])),
            purpose=draw(st.sampled_from([None, "", "why"])),
            needs_found=draw(st.sampled_from([None, "needs"])),
            feedback=draw(st.sampled_from([None, " ", "liked it"])),
        )
        for i in range(draw(st.integers(0, 6)))
    ]
    return opp, people, acts


@given(situations())
def test_advance_succeeds_exactly_when_readiness_says_ready(situation):
    """advance() moves iff readiness() reported the next stage ready, and then moves exactly there."""
    opp, people, acts = situation
    now = T0 + dt.timedelta(days=2)
    nxt = PIPELINE.next_stage(opp.stage)
    report = readiness(opp, PIPELINE, now=now, activities=acts, key_persons=people, to=nxt)
    try:
        moved, event = advance(opp, PIPELINE, now=now, actor="r", activities=acts, key_persons=people)
    except MilestoneNotMet as e:
        assert not report.targets[0].ready
        assert e.unmet == report.targets[0].unmet
    else:
        assert report.targets[0].ready
        assert (moved.stage, moved.version, event.bypassed) == (nxt, opp.version + 1, ())
        unchanged = {
            "stage": opp.stage,
            "stage_entered_at": opp.stage_entered_at,
            "version": 0,
            "status": opp.status,
        }
        assert attrs.evolve(moved, **unchanged) == opp  # nothing else moved


@given(data=JSON)
def test_pipeline_from_arbitrary_json(data):
    """Arbitrary JSON only ever raises ValidationError (here: PipelineDefinitionError)."""
    try:
        Pipeline.from_dict(data)
    except ValidationError as e:
        assert e.problems


@given(data=st.data(), junk=JSON)
def test_pipeline_dict_with_one_value_replaced(data, junk):
    """The default pipeline's dict with one value replaced by junk reads, or fails with paths inside it."""
    plain = PIPELINE.to_dict()
    where = data.draw(st.sampled_from(["top", "stage", "requirement"]))
    if where == "top":
        plain[data.draw(st.sampled_from(sorted(plain)))] = junk
    elif where == "stage":
        stage = plain["stages"][data.draw(st.integers(0, len(plain["stages"]) - 1))]
        stage[data.draw(st.sampled_from(sorted(stage)))] = junk
    else:
        req = plain["stages"][0]["requirements"][0]
        req[data.draw(st.sampled_from(sorted(req)))] = junk
    try:
        Pipeline.from_dict(plain)
    except ValidationError as e:
        assert all(isinstance(p.path, str) and p.message for p in e.problems)


@given(data=JSON)
def test_requirement_from_arbitrary_json(data):
    """Requirements read from junk only raise ValidationError."""
    try:
        requirement_from_dict(data)
    except ValidationError as e:
        assert e.problems
