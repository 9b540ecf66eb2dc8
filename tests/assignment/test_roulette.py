"""Tests for the timed roulette: source 004's six reps A-F walked through by hand."""

import datetime as dt
import itertools
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st
from roster import MIN, NINE, lead, rep, six_reps

from _problems import raises_problems
from funnelkit.assignment import Declined, LoadBalance, Offer, Roulette, Skip, Team, Turn, fairness
from funnelkit.errors import AssignmentError, ClaimConflict

WINDOW = dt.timedelta(minutes=30)


@pytest.fixture
def six():
    """Source 004's six reps A-F, five customers each."""
    return six_reps()


def at(hh, mm=0, ss=0):
    """An instant on 25 November 2026, UTC."""
    return dt.datetime(2026, 11, 25, hh, mm, ss, tzinfo=dt.UTC)


# Source 004 (坚果云's 轮盘机制): six reps A-F, five customers each; F is saturated.
# A quality lead arrives when it is F's turn to see it first: F passes (saturated), and
# A, who still has room, sees it and claims it.  Worked by hand:
#
#   lead q1 offered 09:00, order starting at F: F skipped ("full: 5 of 5 open");
#     A holds 09:00-09:30; A claims at 09:12.
#   lead q2 offered 10:00, order starting at A (the roulette moved on by one):
#     A holds 10:00-10:30 and lets it lapse; B holds 10:30-11:00 and declines at 10:41;
#     C holds 10:41-11:11 (the decline starts the next window at once) and lets it lapse;
#     D 11:11-11:41, E 11:41-12:11 lapse; F is skipped; the offer is exhausted at 12:11.
#   q2 then falls back to load balancing over the loads after q1 (A has 6 open):
#     A 6/8 = 0.75, B 5/7 = 0.714, C-E 5/6 = 0.833, F full  ->  B.


def test_source_walkthrough_first_lead_skips_saturated_f_and_a_claims(six):
    """F is skipped as saturated, A holds the first window and claims the lead."""
    roulette = Roulette(order=list("abcdef"), window=WINDOW, start=5)
    roulette, offer = roulette.offer(lead("q1"), team=six, now=at(9))
    assert offer.skipped == (Skip("f", "full: 5 of 5 open"),)
    assert offer.queue == ("a", "b", "c", "d", "e")
    assert roulette.start == 0
    status = offer.status(now=at(9, 5))
    assert (status.state, status.holder, status.until) == ("open", "a", at(9, 30))
    offer = offer.claim("a", now=at(9, 12))
    status = offer.status(now=at(9, 13))
    assert (status.state, status.holder) == ("claimed", "a")
    assert status.turns[0] == Turn("a", at(9), at(9, 12), "claimed")
    assert [t.outcome for t in status.turns[1:]] == ["waiting"] * 4
    assert offer.outcomes(now=at(10)) == {
        "f": "skipped",
        "a": "claimed",
        "b": "waiting",
        "c": "waiting",
        "d": "waiting",
        "e": "waiting",
    }


def test_source_walkthrough_second_lead_lapses_round_and_falls_back():
    """Windows lapse and a decline passes at once; after the round, load balancing picks B."""
    team = six_reps(a=6)  # A took q1
    roulette = Roulette(order=list("abcdef"), window=WINDOW, start=0, then=LoadBalance())
    roulette, offer = roulette.offer(lead("q2"), team=team, now=at(10))
    assert roulette.start == 1
    assert offer.queue == ("a", "b", "c", "d", "e")
    assert offer.status(now=at(10, 29, 59)).holder == "a"
    assert offer.status(now=at(10, 30)).holder == "b"  # a window ends exclusively
    offer = offer.decline("b", now=at(10, 41))
    status = offer.status(now=at(10, 45))
    assert (status.holder, status.until) == ("c", at(11, 11))
    assert offer.status(now=at(11, 40)).holder == "d"
    assert (offer.status(now=at(12)).holder, offer.status(now=at(12)).until) == ("e", at(12, 11))
    done = offer.status(now=at(12, 11))
    assert (done.state, done.holder, done.until) == ("exhausted", None, at(12, 11))
    assert [(t.rep_id, t.start, t.end, t.outcome) for t in done.turns] == [
        ("a", at(10), at(10, 30), "lapsed"),
        ("b", at(10, 30), at(10, 41), "declined"),
        ("c", at(10, 41), at(11, 11), "lapsed"),
        ("d", at(11, 11), at(11, 41), "lapsed"),
        ("e", at(11, 41), at(12, 11), "lapsed"),
    ]
    result = roulette.fall_back(offer, lead("q2"), team=team, now=at(12, 11))
    (decision,) = result.decisions
    assert (decision.rep_id, decision.reason) == ("b", "least loaded: 5 of 7 open")


def test_status_of_a_past_instant_ignores_later_records():
    """Asking about 10:35 gives B even though B declined later, at 10:41."""
    offer = Offer(lead_id="q", offered_at=at(10), window=WINDOW, queue=("a", "b", "c"))
    offer = offer.decline("b", now=at(10, 41))
    assert offer.status(now=at(10, 35)).holder == "b"
    assert offer.status(now=at(10, 41)).holder == "c"


def test_claim_by_someone_else_names_holder_and_expiry():
    """A rep who is not holding the offer is told who is, and until when."""
    offer = Offer(lead_id="q2", offered_at=at(10), window=WINDOW, queue=("a", "b", "c"))
    with pytest.raises(ClaimConflict) as e:
        offer.claim("c", now=at(10, 35))
    assert str(e.value) == "lead 'q2' is held by 'b' until 2026-11-25T11:00:00+00:00; 'c' cannot take it"
    assert (e.value.holder, e.value.expires_at, e.value.requested_by) == ("b", at(11), "c")


def test_claim_after_a_claim_is_refused():
    """Once claimed, the offer is gone; the claimant is named."""
    offer = Offer(lead_id="q", offered_at=at(10), window=WINDOW, queue=("a", "b")).claim("a", now=at(10, 1))
    with pytest.raises(ClaimConflict, match="lead 'q' is held by 'a'; 'b' cannot take it"):
        offer.claim("b", now=at(10, 40))


def test_skipped_rep_and_stranger_cannot_claim(six):
    """A skipped rep is told why it was skipped; a rep not in the offer is told so."""
    _, offer = Roulette(order=list("abcdef"), window=WINDOW, start=5).offer(lead("q"), team=six, now=at(9))
    with pytest.raises(AssignmentError, match=r"rep 'f' was skipped for lead 'q' \(full: 5 of 5 open\)"):
        offer.claim("f", now=at(9, 1))
    with pytest.raises(AssignmentError, match="rep 'zed' is not in the offer of lead 'q'"):
        offer.decline("zed", now=at(9, 1))


def test_exhausted_offer_refuses_claims():
    """After the round, claiming says when it lapsed and that it falls back."""
    offer = Offer(lead_id="q", offered_at=at(10), window=WINDOW, queue=("a",))
    with pytest.raises(AssignmentError, match="went round every rep and lapsed at 2026-11-25T10:30:00"):
        offer.claim("a", now=at(10, 30))


def test_records_must_come_in_time_order():
    """A decline before the offer, or before the last decline, is refused with the times."""
    offer = Offer(lead_id="q", offered_at=at(10), window=WINDOW, queue=("a", "b", "c"))
    with raises_problems(("now", "order")):
        offer.claim("a", now=at(9))
    later = offer.decline("a", now=at(10, 20))
    with raises_problems(("now", "order")):
        later.claim("b", now=at(10, 10))


def test_fall_back_refused_while_open_and_without_policy_returns_reason(six):
    """An open offer does not fall back; with no fallback policy the lead comes back with why."""
    roulette = Roulette(order=list("ab"), window=WINDOW)
    roulette, offer = roulette.offer(lead("q"), team=six, now=at(10))
    with pytest.raises(AssignmentError, match="is open"):
        roulette.fall_back(offer, lead("q"), team=six, now=at(10, 5))
    result = roulette.fall_back(offer, lead("q"), team=six, now=at(11))
    (decision,) = result.unassigned
    assert decision.reason == (
        "went round every rep unclaimed by 2026-11-25T11:00:00+00:00; the roulette has no fallback policy"
    )
    with raises_problems(("lead.id", "conflict")):
        roulette.fall_back(offer, lead("other"), team=six, now=at(11))


def test_offer_skips_inactive_and_unknown_reps():
    """Inactive reps and reps no longer in the team get no window, with the reason."""
    team = Team(reps=[rep("a"), rep("b", active=False)])
    _, offer = Roulette(order=["a", "b", "gone"], window=WINDOW).offer(lead("q"), team=team, now=at(9))
    assert offer.queue == ("a",)
    assert offer.skipped == (Skip("b", "inactive"), Skip("gone", "not in the team"))


def test_offer_refuses_owned_and_converted_leads(six):
    """Only an open, unowned lead is offered."""
    roulette = Roulette(order=list("ab"), window=WINDOW)
    with pytest.raises(AssignmentError, match="already owned by 'a'"):
        roulette.offer(lead("q", owner="a"), team=six, now=at(9))
    with pytest.raises(AssignmentError, match="is converted"):
        roulette.offer(lead("q", status="converted"), team=six, now=at(9))


def test_roulette_and_offer_validate_their_fields():
    """Empty order, zero window, a start off the end and a stray decline are all reported."""
    with raises_problems(("order", "empty"), ("window", "range")):
        Roulette(order=[], window=dt.timedelta(0))
    with raises_problems(("start", "range")):
        Roulette(order=["a", "b"], window=WINDOW, start=3)
    with raises_problems(("declined[0].rep_id", "reference")):
        Offer(lead_id="q", offered_at=at(9), window=WINDOW, queue=("a",), declined=[Declined("x", at(9))])


def test_every_rep_gets_to_be_first(six):
    """Six offers in a row start at A, B, C, D, E and then skip saturated F to A."""
    roulette = Roulette(order=list("abcdef"), window=WINDOW)
    firsts = []
    for i in range(6):
        roulette, offer = roulette.offer(lead(f"q{i}"), team=six, now=at(9))
        firsts.append(offer.queue[0])
    assert firsts == ["a", "b", "c", "d", "e", "a"]


def test_fairness_counts_roulette_outcomes():
    """Declines, lapses, claims and skips are counted per rep over the period."""
    team = six_reps(a=6)
    roulette = Roulette(order=list("abcdef"), window=WINDOW)
    roulette, offer = roulette.offer(lead("q2"), team=team, now=at(10))
    offer = offer.decline("b", now=at(10, 41)).claim("c", now=at(10, 50))
    report = fairness([], team=team, start=at(0), end=at(23), offers=[offer])
    outcomes = {r.rep_id: (r.claimed, r.declined, r.lapsed, r.skipped) for r in report.rows}
    assert outcomes["a"] == (0, 0, 1, 0)
    assert outcomes["b"] == (0, 1, 0, 0)
    assert outcomes["c"] == (1, 0, 0, 0)
    assert outcomes["f"] == (0, 0, 0, 1)


def test_offer_pickles_and_serialises():
    """An offer survives pickle and writes a JSON-safe dict."""
    offer = Offer(lead_id="q", offered_at=at(10), window=WINDOW, queue=("a", "b")).decline("a", now=at(10, 5))
    assert pickle.loads(pickle.dumps(offer)) == offer
    assert offer.to_dict()["declined"] == [{"rep_id": "a", "at": "2026-11-25T10:05:00+00:00"}]


@st.composite
def histories(draw):
    """An offer with random declines (in time order) and maybe a claim."""
    n = draw(st.integers(1, 6))
    offer = Offer(lead_id="q", offered_at=NINE, window=WINDOW, queue=tuple(f"r{i}" for i in range(n)))
    t = NINE
    for _ in range(draw(st.integers(0, n + 1))):
        t += draw(st.integers(0, 40)) * MIN
        status = offer.status(now=t)
        if status.state != "open":
            break
        if draw(st.booleans()):
            offer = offer.decline(status.holder, now=t)
        else:
            offer = offer.claim(status.holder, now=t)
            break
    return offer, draw(st.integers(0, 6 * 40)) * MIN


@given(histories())
def test_windows_tile_time_without_overlap(case):
    """Turns follow one another without gap or overlap, none longer than the window; one holder at most."""
    offer, offset = case
    now = NINE + offset
    turns = offer.turns(now=now)
    assert [t.rep_id for t in turns] == list(offer.queue)
    assert turns[0].start == NINE
    for before, after in itertools.pairwise(turns):
        if before.outcome != "claimed":
            assert after.start == before.end
    for t in turns:
        assert t.start <= t.end <= t.start + WINDOW
    holding = [t for t in turns if t.outcome in ("holding", "claimed")]
    assert len(holding) <= 1
    status = offer.status(now=now)
    if status.state == "open":
        assert holding[0].start <= now < holding[0].end
    if status.state == "exhausted":
        assert all(t.outcome in ("lapsed", "declined") for t in turns)
        assert status.until <= now


@given(histories())
def test_no_lead_waits_longer_than_a_full_round(case):
    """Declines only bring windows forward: every outcome is settled by offered_at + n windows."""
    offer, offset = case
    deadline = NINE + len(offer.queue) * WINDOW
    status = offer.status(now=NINE + offset)
    if status.state != "claimed":
        assert status.until <= deadline
    assert offer.status(now=deadline).state in ("claimed", "exhausted")
