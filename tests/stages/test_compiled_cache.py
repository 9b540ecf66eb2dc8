"""What the compiled moves remember between calls (_compiled.CHECKED) never changes an answer."""

import datetime as dt
import threading
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st
from test_compiled import outcome

from funnelkit import Activity, KeyPerson, Money, Opportunity
from funnelkit.stages import advance, default_pipeline, win
from funnelkit.stages._compiled import CHECKED

T0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
PIPELINE = default_pipeline()
STEPS = 7


def _people():
    """The two key persons every step of the default pipeline asks for."""
    return (
        KeyPerson(id="dm", customer_id="c", name="D", role="decision_maker", stance="supporter"),
        KeyPerson(id="rec", customer_id="c", name="R", role="recommender", stance="champion"),
    )


def _deal(i=0):
    """A deal at contact with all the evidence and fields the default pipeline's steps need."""
    return Opportunity(
        id=f"o-{i}", customer_id="c", owner="r", pipeline="default", stage="contact", created_at=T0,
        stage_entered_at=T0, key_person_ids=("dm", "rec"), amount=Money.of("1000.00", "USD"),
        expected_close=dt.date(2026, 6, 30), competitors=("Rival",),
        evidence={"project_approved", "shortlisted", "selected", "contract_signed"},
    )  # fmt: skip


def _acts(i=0):
    """The visit and the demo the default pipeline's contact and proposal steps count."""
    return (
        Activity(id=f"v-{i}", kind="visit", at=T0 + dt.timedelta(hours=1), rep_id="r", customer_id="c",
                 opportunity_id=f"o-{i}", purpose="intro", needs_found="downtime"),
        Activity(id=f"d-{i}", kind="demo", at=T0 + dt.timedelta(days=2, hours=1), rep_id="r",
                 customer_id="c", opportunity_id=f"o-{i}", feedback="liked it"),
    )  # fmt: skip


class _NotAnActivity:
    """Stands where an activity or a key person should be."""


def _step(deal, day, **kwargs):
    """One step of the lifecycle on *day*: advance, and win on the last day."""
    move = win if day == STEPS else advance
    return move(deal, PIPELINE, now=T0 + dt.timedelta(days=day), **kwargs)


def _general(kwargs):
    """The same arguments in shapes the compiled moves decline, so the general path decides."""
    general = dict(kwargs)
    general["activities"] = iter(list(kwargs.get("activities", ())))
    people = kwargs.get("key_persons", ())
    if isinstance(people, dict):
        general["key_persons"] = MappingProxyType(dict(people))
    else:
        general["key_persons"] = iter(list(people))
    return general


def _both(deal, day, **kwargs):
    """A step through the compiled move and through the general path."""
    fast = outcome(_step, deal, day, **kwargs)
    general = outcome(_step, deal, day, **_general(kwargs))
    return fast, general


def test_a_good_tuple_is_remembered_and_a_new_tuple_checked_again():
    """The tuple a move found good is kept; another tuple, even one that holds it all and more, is checked."""
    acts, people = _acts(), _people()
    deal = _deal()
    for day in range(1, STEPS + 1):
        deal, _ = _step(deal, day, actor="r", activities=acts, key_persons=people)
    assert deal.stage == "won"
    assert CHECKED.activities is acts
    assert CHECKED.key_persons is people
    assert CHECKED.actor == "r"
    bad_acts = (*acts, _NotAnActivity())
    bad_people = (*people, _NotAnActivity())
    for kwargs in (
        {"activities": bad_acts, "key_persons": people},
        {"activities": acts, "key_persons": bad_people},
    ):
        fast, general = _both(_deal(), 1, actor="r", **kwargs)
        assert fast == general
        assert fast[0] == "refused"
    assert CHECKED.activities is acts  # a tuple with a bad item is never kept
    assert CHECKED.key_persons is people


def test_a_list_or_a_dict_is_checked_on_every_call():
    """A list or dict is never kept: an item turned bad between two calls is refused as the general path."""
    acts, people = list(_acts()), {p.id: p for p in _people()}
    first, _ = _step(_deal(), 1, actor="r", activities=acts, key_persons=people)  # counts the activities
    second, _ = _step(first, 2, actor="r", activities=acts, key_persons=people)  # only checks them
    assert second.stage == "proposal"
    assert CHECKED.activities is not acts
    assert CHECKED.key_persons is not people
    acts.append(_NotAnActivity())
    fast, general = _both(first, 2, actor="r", activities=acts, key_persons=people)
    assert fast == general
    assert fast[0] == "refused"
    acts.pop()
    people["x"] = _NotAnActivity()
    fast, general = _both(first, 2, actor="r", activities=acts, key_persons=people)
    assert fast == general
    assert fast[0] == "refused"
    del people["x"]
    assert _step(first, 2, actor="r", activities=acts, key_persons=people)[0].stage == "proposal"


def test_a_remembered_actor_lets_no_bad_one_through():
    """After a good actor, a bad one, None, a str subclass and a non-str end as in the general path."""
    acts, people = _acts(), _people()
    _step(_deal(), 1, actor="r", activities=acts, key_persons=people)
    assert CHECKED.actor == "r"

    class Sneaky(str):
        """A str subclass: not the plain str the compiled move reads."""

        __slots__ = ()

    class Liar:
        """Says it equals anything, the remembered actor too."""

        def __eq__(self, other):
            return True

        __hash__ = None

    for actor in ("Bad Actor!", None, Sneaky("r"), Liar(), 7, "r2"):
        fast, general = _both(_deal(), 1, actor=actor, activities=acts, key_persons=people)
        assert fast == general
        if fast[0] == "moved":
            assert type(fast[1][1].actor) is type(general[1][1].actor)
    assert CHECKED.actor == "r2"  # the last good one


def test_the_kept_tuple_is_held_so_its_address_cannot_come_back():
    """The tuple is held, not its id(): dropped by the caller it stays alive, and a new tuple is not it."""

    def once():
        """A move with a tuple no one else holds."""
        _step(_deal(), 1, actor="r", activities=_acts(5) + _acts(0), key_persons=_people())

    once()
    kept = CHECKED.activities
    assert [a.id for a in kept] == ["v-5", "d-5", "v-0", "d-0"]
    fresh = _acts(5) + _acts(0)
    assert fresh == kept
    assert fresh is not kept


# a pool of argument objects, reused across calls as callers reuse them: good and bad, tuples and lists
_GOOD_ACTS = _acts()
_POOL_ACTS = {
    "good tuple": _GOOD_ACTS,
    "same items, new tuple": tuple(_GOOD_ACTS),
    "other deal's": _acts(1),
    "bad tuple": (*_GOOD_ACTS, _NotAnActivity()),
    "empty": (),
    "list": list(_GOOD_ACTS),
    "bad list": [_NotAnActivity(), *_GOOD_ACTS],
}
_GOOD_PEOPLE = _people()
_POOL_PEOPLE = {
    "good tuple": _GOOD_PEOPLE,
    "reversed tuple": _GOOD_PEOPLE[::-1],
    "bad tuple": (_GOOD_PEOPLE[0], _NotAnActivity()),
    "one": _GOOD_PEOPLE[:1],
    "dict": {p.id: p for p in _GOOD_PEOPLE},
    "bad dict": {"dm": _GOOD_PEOPLE[0], "x": "not a person"},
    "list": list(_GOOD_PEOPLE),
}
_POOL_ACTORS = ["r", "s", "Bad Actor!", None, 3]


@settings(max_examples=120, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, STEPS),
            st.sampled_from(sorted(_POOL_ACTS)),
            st.sampled_from(sorted(_POOL_PEOPLE)),
            st.sampled_from(_POOL_ACTORS),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_any_sequence_of_calls_agrees_with_the_general_path(calls):
    """Whatever was remembered from the calls before, each call ends as the general path ends it."""
    deals = [_deal()]
    for day in range(1, STEPS):
        deals.append(_step(deals[-1], day, actor="r", activities=_GOOD_ACTS, key_persons=_GOOD_PEOPLE)[0])
    for day, acts, people, actor in calls:
        fast, general = _both(
            deals[day - 1], day, actor=actor, activities=_POOL_ACTS[acts], key_persons=_POOL_PEOPLE[people]
        )
        assert fast == general


def test_threads_moving_deals_at_once_get_the_answers_of_one_thread():
    """Eight threads, each with its own tuples (some bad), end every step as one thread does."""

    def run(k):
        """Lifecycles of deal k: good tuples, then a bad tuple of activities at each step."""
        acts, people, bad = _acts(k), _people(), (*_acts(k), _NotAnActivity())
        ends = []
        for _ in range(30):
            deal = _deal(k)
            for day in range(1, STEPS + 1):
                ends.append(outcome(_step, deal, day, actor=f"r{k}", activities=bad, key_persons=people)[0])
                deal, _ = _step(deal, day, actor=f"r{k}", activities=acts, key_persons=people)
            ends.append((deal.stage, deal.version, deal.stage_entered_at))
        return ends

    expected = {k: run(k) for k in range(8)}
    got = {}

    def worker(k):
        """One thread's lifecycles."""
        got[k] = run(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == expected


def test_a_long_tuple_is_not_kept_alive():
    """A tuple of more than KEPT_AT_MOST activities is checked but not remembered: dropping it frees it."""
    from funnelkit.stages._compiled import KEPT_AT_MOST

    short = _acts()
    _step(_deal(), 1, actor="r", activities=short, key_persons=_people())
    assert CHECKED.activities is short
    filler = Activity(id="x", kind="call", at=T0, rep_id="r", customer_id="c")
    long = short + (filler,) * (KEPT_AT_MOST - 1)
    deal, _ = _step(_deal(), 1, actor="r", activities=long, key_persons=_people())
    assert deal.stage != "contact"  # checked and counted, as the short one
    assert CHECKED.activities is short  # but not kept
