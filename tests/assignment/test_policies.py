"""Tests for the routing policies and assign(): hand-worked cases, oracles and properties."""

import datetime as dt
import json
import pickle
import random
import zoneinfo
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from roster import NINE, lead, rep, six_reps

from _problems import raises_problems
from funnelkit import Money
from funnelkit.assignment import (
    Assigned,
    AssignmentState,
    Fallback,
    LoadBalance,
    RoundRobin,
    Rule,
    Rules,
    Skip,
    Team,
    TierMatch,
    WeightedRandom,
    Window,
    assign,
    policy_from_dict,
    reassign,
)

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def six():
    """Source 004's six reps A-F, five customers each."""
    return six_reps()


def leads(n, **kw):
    """*n* unowned leads l0..l(n-1)."""
    return [lead(f"l{i}", **kw) for i in range(n)]


# --- load balancing -------------------------------------------------------------


def test_load_balance_by_hand(six):
    """
    Loads 5 of 8/7/6/6/6/5: ratios .625 .714 .833 .833 .833 1.0.  Worked by hand, each lead
    goes to the lowest ratio (ties in team order): a (->.75), b (->.857), a (->.875),
    c (.833, first of the tied c-e), d, e, b (.857), a (.875 -> 1.0 full) ... until full.
    """
    result = assign(leads(13), team=six, policy=LoadBalance(), now=NINE)
    order = [d.rep_id for d in result]
    assert order[:8] == ["a", "b", "a", "c", "d", "e", "b", "a"]
    assert result.counts() == {"a": 3, "b": 2, "c": 1, "d": 1, "e": 1}
    assert [d.reason for d in result.unassigned] == [
        "no rep has room (a: full: 8 of 8 open; b: full: 7 of 7 open; c: full: 6 of 6 open; 3 more)"
    ] * 5
    assert result.decisions[0].reason == "least loaded: 5 of 8 open"


def _greedy(team, n):
    """Oracle: a plain O(n*m) scan for the lowest load/limit ratio, ties by team order."""
    used = {r.id: team.load.get(r.id, 0) for r in team.reps}
    caps = [r.capacity for r in team.reps if r.capacity]
    biggest = max(caps, default=1)
    out = []
    for _ in range(n):
        best = None
        for r in team.reps:
            if not r.active or (r.capacity is not None and used[r.id] >= r.capacity):
                continue
            ratio = Fraction(used[r.id], r.capacity or biggest) if r.capacity != 0 else None
            if best is None or ratio < best[0]:
                best = (ratio, r.id)
        out.append(None if best is None else best[1])
        if best is not None:
            used[best[1]] += 1
    return out


@st.composite
def teams(draw, max_reps=8):
    """A team with random capacities (some unlimited), activity and loads; one rep at least is active
    (a team with none is refused, see test_a_team_with_no_active_rep_is_refused)."""
    n = draw(st.integers(1, max_reps))
    reps = []
    load = {}
    for i in range(n):
        cap = draw(st.one_of(st.none(), st.integers(0, 6)))
        active = (i == n - 1 and not any(r.active for r in reps)) or draw(st.booleans() | st.just(True))
        reps.append(rep(f"r{i}", cap, active=active))
        load[f"r{i}"] = draw(st.integers(0, 7))
    return Team(reps=reps, load=load)


@given(teams(), st.integers(0, 30))
def test_load_balance_matches_a_plain_scan(team, n):
    """The heap gives exactly what a plain scan over every rep gives, lead by lead."""
    result = assign(leads(n), team=team, policy=LoadBalance(), now=NINE)
    assert [d.rep_id for d in result] == _greedy(team, n)


@given(teams(), st.integers(0, 30), st.sampled_from(["load", "rr", "random", "rules"]), st.integers(0, 3))
def test_every_lead_once_and_nobody_over_capacity(team, n, kind, seed):
    """Each lead gets one decision, in order; no rep ends over their limit; no inactive rep gets one."""
    policy = {
        "load": LoadBalance(),
        "rr": RoundRobin(),
        "random": WeightedRandom(),
        "rules": Rules(rules=[Rule(name="odd", to=team.ids[::2])], default=team.ids[-1]),
    }[kind]
    batch = leads(n)
    result = assign(batch, team=team, policy=policy, now=NINE, rng=seed)
    assert [d.lead_id for d in result] == [x.id for x in batch]
    counts = result.counts()
    for r in team.reps:
        got = counts.get(r.id, 0)
        if not r.active:
            assert got == 0
        if r.capacity is not None and got:
            assert team.load.get(r.id, 0) + got <= r.capacity
    for d in result.unassigned:
        assert d.reason
    if kind != "rules":  # only rules may leave a lead while some rep has room
        room = any(
            r.active and (r.capacity is None or team.load.get(r.id, 0) + counts.get(r.id, 0) < r.capacity)
            for r in team.reps
        )
        assert not (result.unassigned and room)


@given(teams(), st.integers(0, 20), st.integers(0, 2**32))
def test_same_inputs_and_seed_same_result(team, n, seed):
    """Two runs with the same seed agree decision for decision; a Random with that seed too."""
    one = assign(leads(n), team=team, policy=WeightedRandom(), now=NINE, rng=seed)
    two = assign(leads(n), team=team, policy=WeightedRandom(), now=NINE, rng=random.Random(seed))
    assert one.decisions == two.decisions
    assert one.state == two.state


# --- round robin ----------------------------------------------------------------


def test_round_robin_skips_full_and_resumes_from_state(six):
    """F is full and skipped with its reason; the next call resumes after the saved rep."""
    first = assign(leads(7), team=six, policy=RoundRobin(), now=NINE)
    assert [d.rep_id for d in first] == ["a", "b", "c", "d", "e", "a", "b"]
    assert first.decisions[5].skipped == (Skip("f", "full: 5 of 5 open"),)  # after e comes f, full
    assert first.state.pointers == {"round_robin": "b"}
    second = assign([lead("x")], team=six, policy=RoundRobin(), now=NINE, state=first.state)
    assert second.decisions[0].rep_id == "c"
    assert second.decisions[0].reason == "round robin: next after 'b'"


def test_round_robin_restricted_to_some_reps(six):
    """A round robin over a subset keeps to the subset, in the order given."""
    result = assign(leads(3), team=six, policy=RoundRobin(reps=["e", "a"]), now=NINE)
    assert [d.rep_id for d in result] == ["e", "a", "a"]  # e had one place left
    assert result.decisions[2].skipped == (Skip("e", "full: 6 of 6 open"),)


# --- weighted random --------------------------------------------------------------


def test_weighted_random_follows_weights():
    """Over 4,000 draws a 3:1 weighting lands near 3:1 (binomial sd ~27 around 3,000)."""
    team = Team(reps=[rep("a"), rep("b")])
    result = assign(leads(4000), team=team, policy=WeightedRandom(weights={"a": 3, "b": 1}), now=NINE, rng=7)
    assert 2850 < result.counts()["a"] < 3150


def test_weighted_random_by_capacity_skips_full():
    """Weights default to capacity; a rep who fills up stops being drawn."""
    team = Team(reps=[rep("a", 2), rep("b", 10)])
    result = assign(leads(12), team=team, policy=WeightedRandom(), now=NINE, rng=1)
    assert result.counts() == {"a": 2, "b": 10}


def test_weighted_random_needs_a_seed():
    """Without rng the call is refused, and the message says what to pass."""
    with raises_problems(("rng", "missing")):
        assign([], team=Team(reps=[rep("a")]), policy=WeightedRandom(), now=NINE)


# --- rules ----------------------------------------------------------------------


RULES = Rules(
    rules=[
        Rule(name="north-big", to=["a"], territory=["north"], min_value=Money.of("10000", "CNY")),
        Rule(name="north", to=["b", "c"], territory=["north"]),
        Rule(name="fair", to=["d"], source=["trade fair"], size=["large", "enterprise"]),
    ],
    default="e",
)


def test_rules_first_match_with_reasons(six):
    """Each lead meets the first rule it matches; the reason spells out what matched."""
    batch = [
        lead("big", territory="north", value=20000),
        lead("small", territory="north", value=500),
        lead("fair", source="trade fair", size="large"),
        lead("other", territory="south"),
    ]
    result = assign(batch, team=six, policy=RULES, now=NINE)
    got = {d.lead_id: (d.rep_id, d.reason) for d in result}
    assert got["big"] == (
        "a",
        "rule 'north-big' matched (territory 'north', value 20000 CNY); least loaded: 5 of 8 open",
    )
    assert got["small"] == ("b", "rule 'north' matched (territory 'north'); least loaded: 5 of 7 open")
    assert got["fair"] == (
        "d",
        "rule 'fair' matched (source 'trade fair', size 'large'); least loaded: 5 of 6 open",
    )
    assert got["other"] == ("e", "no rule matched; default owner")


def test_rule_with_full_reps_falls_through_and_says_so():
    """A matching rule whose reps are full is noted, and the next matching rule decides."""
    team = six_reps(a=8)
    result = assign([lead("big", territory="north", value=20000)], team=team, policy=RULES, now=NINE)
    (d,) = result.decisions
    assert d.rep_id == "b"
    assert d.reason == (
        "rule 'north-big' matched but no rep has room (a: full: 8 of 8 open); "
        "rule 'north' matched (territory 'north'); least loaded: 5 of 7 open"
    )


def test_rules_value_bounds_and_currency():
    """min_value is inclusive, max_value exclusive; another currency or no value does not match."""
    rule = Rule(name="mid", to=["a"], min_value=Money.of("100", "CNY"), max_value=Money.of("200", "CNY"))
    team = Team(reps=[rep("a"), rep("z")])
    policy = Rules(rules=[rule], default="z")
    batch = [
        lead("lo", value=100),
        lead("hi", value=200),
        lead("usd", value=150, currency="USD"),
        lead("none"),
    ]
    owners = assign(batch, team=team, policy=policy, now=NINE).owners
    assert owners == {"lo": "a", "hi": "z", "usd": "z", "none": "z"}


def test_default_owner_full_is_a_reason_not_a_drop():
    """With the default owner full the lead comes back with both reasons."""
    team = Team(reps=[rep("a", 1)], load={"a": 1})
    result = assign([lead("x")], team=team, policy=Rules(rules=[], default="a"), now=NINE)
    assert result.unassigned[0].reason == "no rule matched; default owner 'a' is full: 1 of 1 open"


def test_rule_validation_lists_every_problem():
    """Bad rule fields are all reported with their paths."""
    with raises_problems(("name", "empty"), ("to", "empty"), ("size", "choice")):
        Rule(name=" ", to=[], size=["huge"], min_value=Money.of("5", "CNY"), max_value=Money.of("1", "CNY"))
    with raises_problems(("max_value", "order")):
        Rule(name="x", to=["a"], min_value=Money.of("5", "CNY"), max_value=Money.of("1", "CNY"))
    with raises_problems(("rules[1].name", "duplicate")):
        Rules(rules=[Rule(name="x", to=["a"]), Rule(name="x", to=["b"])])


def test_policy_naming_unknown_reps_is_refused(six):
    """Reps named by a policy but missing from the team are reported with their path."""
    policy = Rules(rules=[Rule(name="n", to=["a", "zed"])], default="nobody").or_else(
        RoundRobin(reps=["ghost"])
    )
    with raises_problems(
        ("policy.policies[0].rules[0].to[1]", "reference"),
        ("policy.policies[0].default", "reference"),
        ("policy.policies[1].reps[0]", "reference"),
    ):
        assign([], team=six, policy=policy, now=NINE)


# --- tiers ----------------------------------------------------------------------


def test_tier_match_sends_a_to_the_best_and_c_to_trainees():
    """With quartiles from KPIs, A-tier goes to quartile 1 and C-tier to the trainees."""
    team = Team(reps=[rep("star"), rep("mid"), rep("low"), rep("new")])
    policy = TierMatch.from_quartiles(
        {"star": 1, "mid": 2, "low": 4},
        trainees=["new"],
        a_from=Money.of("10000", "CNY"),
        b_from=Money.of("2000", "CNY"),
    )
    assert policy.groups == {"A": ("star",), "B": ("star", "mid"), "C": ("low", "new")}
    batch = [lead("a1", value=50000), lead("b1", value=5000), lead("c1", value=100), lead("c2", value=10)]
    result = assign(batch, team=team, policy=policy, now=NINE)
    assert [d.rep_id for d in result] == ["star", "mid", "low", "new"]
    assert result.decisions[0].reason == "tier A; least loaded: 0 open"


def test_tier_groups_from_every_quartile():
    """Quartile 3 serves B and C, quartile 2 only B; pick and name are kept; no trainee is listed twice."""
    policy = TierMatch.from_quartiles(
        {"q1": 1, "q2": 2, "q3": 3, "q4": 4}, trainees=["new", "q4"], pick="round_robin", name="by tier"
    )
    assert policy.groups == {
        "A": ("q1",),
        "B": ("q1", "q2", "q3"),
        "C": ("q3", "q4", "new"),
    }
    assert (policy.pick, policy.name, policy.a_from, policy.b_from) == ("round_robin", "by tier", None, None)
    assert TierMatch.from_quartiles({"q4": 4}).groups == {"C": ("q4",)}  # tiers without reps are left out
    assert TierMatch.from_quartiles({"q1": 1}).name == "tier_match"
    with raises_problems(("quartiles[' x']", "format"), ("trainees[1]", "empty")):
        TierMatch.from_quartiles({" x": 1}, trainees=["ok", ""])


def test_round_robin_skips_full_reps_and_says_when_nobody_has_room():
    """
    a is full (1 of 1), b takes 2, c takes 1: b, c, b, then nobody; the turn skips a each time and
    the pointer ends on b.  The last lead meets the same answer without asking every rep again.
    """
    team = Team(reps=[rep("a", 1), rep("b", 2), rep("c", 1)], load={"a": 1})
    result = assign([lead(f"l{i}") for i in range(5)], team=team, policy=RoundRobin(), now=NINE)
    nobody = "no rep has room (a: full: 1 of 1 open; b: full: 2 of 2 open; c: full: 1 of 1 open)"
    assert [(d.rep_id, d.reason, [(k.rep_id, k.reason) for k in d.skipped]) for d in result.decisions] == [
        ("b", "round robin: first turn", [("a", "full: 1 of 1 open")]),
        ("c", "round robin: next after 'b'", []),
        ("b", "round robin: next after 'c'", [("a", "full: 1 of 1 open")]),
        (None, nobody, [("c", "full: 1 of 1 open"), ("a", "full: 1 of 1 open"), ("b", "full: 2 of 2 open")]),
        (None, nobody, []),
    ]
    assert result.state.pointers == {"round_robin": "b"}


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: Rule(name="r", to=["a"], min_value=Money.of("1", "CNY"), max_value=Money.of("1", "USD")),
            [("max_value", "currency")],
        ),
        (
            lambda: Rule(name="r", to=["a"], min_value=Money.of("5", "CNY"), max_value=Money.of("5", "CNY")),
            [("max_value", "order")],
        ),
        (
            lambda: Rules(rules=[Rule(name="r", to=["a"]), Rule(name="r", to=["b"])]),
            [("rules[1].name", "duplicate")],
        ),
        (lambda: Rules(rules=[Rule(name="r", to=["a"]), 5]), [("rules[1]", "type")]),
    ],
)
def test_rule_problems(make, expected):
    """A value band must be in one currency and not empty; rule names are unique; rules are Rules."""
    with raises_problems(*expected):
        make()


class Draws(random.Random):
    """A random.Random whose random() returns the given numbers, in order: draws chosen by hand."""

    def __init__(self, values):
        super().__init__(0)
        self._values = iter(values)

    def random(self):
        return next(self._values)


def test_weighted_random_by_hand():
    """
    Weights a 2, b 1, c 1 scale to 1, 0.5, 0.5 (cumulative 1, 1.5, 2).  Draw 0.1 x 2 = 0.2 -> a,
    who is then full (capacity 1) and leaves the table (b, c: 0.5, 1).  0.2 -> b; 0.9 -> c;
    0.6 -> c, now full too; 0.99 x 0.5 -> b, alone.
    """
    team = Team(reps=[rep("a", 1), rep("b"), rep("c", 2)])
    policy = WeightedRandom(weights={"a": 2, "b": 1, "c": 1})
    result = assign(
        [lead(f"l{i}") for i in range(5)],
        team=team,
        policy=policy,
        now=NINE,
        rng=Draws([0.1, 0.2, 0.9, 0.6, 0.99]),
    )
    assert [(d.rep_id, d.reason, d.skipped) for d in result.decisions] == [
        ("a", "weighted random: weight 1 of 2", ()),
        ("b", "weighted random: weight 0.5 of 1", ()),
        ("c", "weighted random: weight 0.5 of 1", ()),
        ("c", "weighted random: weight 0.5 of 1", ()),
        ("b", "weighted random: weight 0.5 of 0.5", ()),
    ]


def test_weighted_random_draws_again_without_a_rep_too_full_for_this_item():
    """
    A customer with 3 open deals weighs 3.  Capacities 5 and 5 weigh ann and bob alike: 0.1 x 10
    draws ann, who has room for 2 only: skipped with the reason, and the draw is made again
    among the others (0.3 x 5 -> bob).
    """
    from test_reassign import customer, deal

    team = Team(reps=[rep("ann", 5), rep("bob", 5)], load={"ann": 3})
    result = reassign(
        "leaver", team=team, policy=WeightedRandom(), now=NINE, actor="m", reason="left",
        customers=[customer("x", "leaver")], opportunities=[deal(f"x{i}", "x", "leaver") for i in range(3)],
        rng=Draws([0.1, 0.3]),
    )  # fmt: skip
    first = result.moves[0]
    assert (first.id, first.to_rep, first.why) == ("x", "bob", "weighted random: weight 5 of 5")
    assert first.skipped == (Skip("ann", "full: 3 of 5 open; this needs room for 3"),)
    assert [(m.id, m.to_rep) for m in result.moves[1:]] == [("x0", "bob"), ("x1", "bob"), ("x2", "bob")]


def test_round_robin_after_the_last_rep_left():
    """A pointer to a rep no longer in the group starts the turn over, and says why."""
    team = Team(reps=[rep("b", 5), rep("c", 5)])
    state = AssignmentState(pointers={"round_robin": "gone"})
    (d,) = assign([lead("x")], team=team, policy=RoundRobin(), now=NINE, state=state).decisions
    assert (d.rep_id, d.reason) == ("b", "round robin: 'gone' is no longer in the group; starting over")


@pytest.mark.parametrize(
    ("a_from", "b_from", "expected"),
    [
        ("1 CNY", None, ("b_from", "missing")),
        (None, "1 CNY", ("a_from", "missing")),
        ("1 CNY", "1 USD", ("b_from", "currency")),
        ("1 CNY", "2 CNY", ("b_from", "order")),
    ],
)
def test_tier_thresholds_problems(a_from, b_from, expected):
    """Tier thresholds come in pairs, in one currency, B at or below A; each fault named."""
    money = {
        k: None if v is None else Money.of(*v.split()) for k, v in (("a_from", a_from), ("b_from", b_from))
    }
    with raises_problems(expected):
        TierMatch(groups={"A": ["a"]}, **money)
    same = TierMatch(groups={"A": ["a"]}, a_from=Money.of("1", "CNY"), b_from=Money.of("1", "CNY"))
    assert same.b_from == same.a_from  # B may start where A does: no B tier


def test_tier_unknown_comes_back_and_fallback_places_it():
    """A lead without a value has no tier; a fallback chain places it and says so."""
    team = Team(reps=[rep("a")])
    tiers = TierMatch(groups={"A": ["a"]}, a_from=Money.of("1", "CNY"), b_from=Money.of("1", "CNY"))
    alone = assign([lead("x")], team=team, policy=tiers, now=NINE)
    assert alone.unassigned[0].reason == "tier unknown (no value in CNY, the thresholds' currency)"
    chained = assign([lead("x")], team=team, policy=tiers.or_else(RoundRobin()), now=NINE)
    (d,) = chained.decisions
    assert (d.rep_id, d.by) == ("a", "round_robin")
    assert d.reason.startswith("tier_match: tier unknown")


def test_tier_match_validation():
    """Thresholds must come in pairs, share a currency, and be ordered; tiers must be A, B or C."""
    with raises_problems(("b_from", "missing")):
        TierMatch(groups={"A": ["a"]}, a_from=Money.of("1", "CNY"))
    with raises_problems(("b_from", "order")):
        TierMatch(groups={"A": ["a"]}, a_from=Money.of("1", "CNY"), b_from=Money.of("2", "CNY"))
    with raises_problems(("groups['D']", "choice")):
        TierMatch(groups={"D": ["a"]})
    with raises_problems(("quartiles['a']", "range")):
        TierMatch.from_quartiles({"a": 5})


def test_fallback_chains_flatten():
    """or_else builds one flat chain."""
    chain = LoadBalance(reps=["a"]).or_else(RoundRobin()).or_else(LoadBalance())
    assert isinstance(chain, Fallback)
    assert [p.type_name for p in chain.policies] == ["load_balance", "round_robin", "load_balance"]
    nested = LoadBalance(reps=["a"]).or_else(RoundRobin().or_else(LoadBalance()))
    assert nested == chain  # a chain given to or_else is spliced in, not nested
    with raises_problems(("other", "type")):
        LoadBalance().or_else(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: Rule(name="n", to=["a"], territory=[]),
            [("territory", "empty")],
        ),
        (lambda: Rule(name="n", to=["a"], tier=[]), [("tier", "empty")]),
        (lambda: Rule(name="n", to=["a", "a"]), [("to", "duplicate")]),
        (lambda: LoadBalance(reps=["a", "a"]), [("reps", "duplicate")]),
        (
            lambda: TierMatch(groups={"D": ["a"], "A": ["x", "x"], "B": [""], "C": 5}),
            [
                ("groups['D']", "choice"),
                ("groups['A']", "duplicate"),
                ("groups['B'][0]", "empty"),
                ("groups['C']", "type"),
            ],
        ),
    ],
)
def test_policy_criteria_problems(make, expected):
    """Empty criteria, repeated reps and bad tier groups are each named, every one at once."""
    with raises_problems(*expected):
        make()


# --- leads that are not routed ------------------------------------------------------


def test_owned_converted_and_disqualified_leads_come_back_with_reasons(six):
    """Nothing is dropped: leads that cannot be routed are returned, each with why."""
    batch = [lead("own", owner="a"), lead("conv", status="converted"), lead("dq", status="disqualified")]
    result = assign(batch, team=six, policy=LoadBalance(), now=NINE)
    assert [d.reason for d in result] == [
        "already owned by 'a'; use reassign() to move it",
        "the lead is already converted",
        "the lead is disqualified",
    ]


def test_bad_arguments_are_reported_together():
    """A wrong team, policy, naive now and bad rng are all named in one error."""
    with raises_problems(("team", "type"), ("policy", "type"), ("now", "timezone"), ("rng", "type")):
        assign([], team="team", policy="rr", now=dt.datetime(2026, 1, 1), rng=1.5)


def test_bad_leads_are_named_by_index(six):
    """A non-lead and a duplicate id are both reported with their index."""
    with raises_problems(("leads[1]", "type"), ("leads[2].id", "duplicate")):
        assign([lead("x"), "y", lead("x")], team=six, policy=LoadBalance(), now=NINE)


def test_apply_sets_owners_only(six):
    """apply() returns the leads with the decided owners and leaves the others as they were."""
    batch = [lead("x"), lead("own", owner="b")]
    result = assign(batch, team=six, policy=LoadBalance(), now=NINE)
    applied = result.apply(batch)
    assert [x.owner for x in applied] == ["a", "b"]
    assert applied[1] is batch[1]


# --- windowed capacity --------------------------------------------------------------


def test_daily_window_counts_local_day_in_the_team_zone():
    """
    A daily limit of 2 in Shanghai (UTC+8): an assignment at 15:30 UTC on 24 Nov is 23:30
    local on the 24th and does not count on the 25th; one at 16:30 UTC is 00:30 on the 25th
    and does.  So on the 25th the rep has room for one more.
    """
    team = Team(reps=[rep("a", 2)], window="day", tz="Asia/Shanghai")
    state = AssignmentState(
        recent=[
            Assigned(lead_id="old", rep_id="a", at=dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)),
            Assigned(lead_id="new", rep_id="a", at=dt.datetime(2026, 11, 24, 16, 30, tzinfo=dt.UTC)),
        ]
    )
    now = dt.datetime(2026, 11, 25, 1, tzinfo=dt.UTC)
    result = assign(leads(2), team=team, policy=LoadBalance(), state=state, now=now)
    assert [d.rep_id for d in result] == ["a", None]
    assert result.decisions[1].reason == "no rep has room (a: full: 2 of 2 assigned today)"
    assert [a.lead_id for a in result.state.recent] == ["new", "l0"]  # the 24th-local one is pruned


def test_rolling_window_counts_the_last_24_hours():
    """In a rolling 24 h window, both assignments of the last day count."""
    team = Team(reps=[rep("a", 2)], window=Window.ROLLING_24H)
    state = AssignmentState(
        recent=[
            Assigned(lead_id=f"o{i}", rep_id="a", at=NINE - dt.timedelta(hours=h))
            for i, h in enumerate((23, 25))
        ]
    )
    result = assign(leads(2), team=team, policy=LoadBalance(), state=state, now=NINE)
    assert [d.rep_id for d in result] == ["a", None]
    assert result.decisions[1].reason == "no rep has room (a: full: 2 of 2 assigned in the last 24 h)"


def test_monthly_window_and_state_round_trip():
    """A month window counts from the 1st; the state survives to_dict/from_dict."""
    team = Team(reps=[rep("a", 3)], window="month")
    first = assign(leads(2), team=team, policy=RoundRobin(), now=NINE)
    state = AssignmentState.from_dict(first.state.to_dict())
    assert state == first.state
    second = assign([lead("m1"), lead("m2")], team=team, policy=RoundRobin(), state=state, now=NINE)
    assert [d.rep_id for d in second] == ["a", None]
    december = assign(
        [lead("d1")], team=team, policy=RoundRobin(), state=second.state, now=NINE + dt.timedelta(days=6)
    )
    assert december.decisions[0].rep_id == "a"
    assert len(december.state.recent) == 1


def test_state_from_dict_reports_every_problem():
    """Unknown keys and bad records are reported with paths."""
    with raises_problems(
        ("extra", "unknown_field"),
        ("recent[0].at", "format"),
        ("recent[0].lead_id", "empty"),
        ("recent[1]", "type"),
    ):
        AssignmentState.from_dict(
            {"extra": 1, "recent": [{"lead_id": "", "rep_id": "a", "at": "yesterday"}, 3]}
        )


def test_team_validation():
    """Duplicate reps, loads for strangers and negative loads are all named."""
    with raises_problems(("reps[1].id", "duplicate"), ("load['a']", "range")):
        Team(reps=[rep("a"), rep("a")], load={"a": -1})
    with raises_problems(("load['zed']", "reference")):
        Team(reps=[rep("a")], load={"zed": 1})
    with raises_problems(("tz", "format")):
        Team(reps=[rep("a")], tz="Mars/Olympus")
    assert Team(reps=[rep("a")], tz=SHANGHAI).tz is SHANGHAI


def test_result_records_and_repr(six):
    """The result has a short repr, flat records (money split, times as datetimes) and an HTML table."""
    result = assign(
        [lead("l0"), lead("l1", value="1200.50"), lead("own", owner="a")],
        team=six,
        policy=LoadBalance(),
        now=NINE,
    )
    assert repr(result) == "<AssignmentResult: 3 leads: 2 assigned to 2 reps, 1 unassigned>"
    records = result.to_records()
    assert records[0] == {
        "lead_id": "l0",
        "rep_id": "a",
        "by": "load_balance",
        "reason": "least loaded: 5 of 8 open",
        "at": NINE,
        "value": None,
        "value_currency": None,
        "skipped": "",
    }
    assert (records[1]["value"], records[1]["value_currency"]) == (Decimal("1200.50"), "CNY")
    assert records[2]["rep_id"] is None
    assert result.to_records(numbers="float")[1]["value"] == 1200.5
    assert "<td>l0</td><td>a</td><td>load_balance</td>" in result._repr_html_()


# --- serialisation --------------------------------------------------------------------


EVERY_KIND = [
    LoadBalance(reps=["a", "b"]),
    RoundRobin(name="night shift"),
    WeightedRandom(weights={"a": 3, "b": Decimal("0.5")}),
    Rules(
        rules=[
            Rule(name="n", to=["a"], territory=["north"], size=["large"], min_value=Money.of("10", "CNY")),
            Rule(name="t", to=["b", "c"], tier=["A"], source=["fair"], pick="round_robin"),
        ],
        default="c",
    ),
    TierMatch(groups={"A": ["a"], "C": ["b"]}, a_from=Money.of("5", "CNY"), b_from=Money.of("1", "CNY")),
    LoadBalance().or_else(RoundRobin()),
]


@pytest.mark.parametrize("policy", EVERY_KIND, ids=lambda p: p.type_name)
def test_policies_round_trip_through_json(policy):
    """Every kind of policy survives to_dict -> JSON -> policy_from_dict, and pickle."""
    data = json.loads(json.dumps(policy.to_dict()))
    assert policy_from_dict(data) == policy
    assert pickle.loads(pickle.dumps(policy)) == policy


def test_policy_from_dict_errors_name_the_path():
    """Unknown kinds, unknown keys and bad values are reported where they are."""
    with raises_problems(("policies[0].type", "choice")):
        policy_from_dict({"type": "fallback", "policies": [{"type": "nope"}]})
    with raises_problems(("rules[0].colour", "unknown_field")):
        policy_from_dict({"type": "rules", "rules": [{"name": "x", "to": ["a"], "colour": "red"}]})
    with raises_problems(("rules[0].min_value", "type")):
        policy_from_dict({"type": "rules", "rules": [{"name": "x", "to": ["a"], "min_value": 5}]})
    with raises_problems(("rules[0].to", "empty")):
        policy_from_dict({"type": "rules", "rules": [{"name": "x", "to": []}]})
