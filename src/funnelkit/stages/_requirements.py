"""
Milestone requirements: what must be true before an opportunity may leave a
stage.  Each is a small frozen value that can evaluate itself against an
opportunity and explain the result in words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import attrs

from .. import _checks as c
from .._checks import check
from .._money import Money
from .._time import span
from ..entities import Activity, ActivityKind, KeyPerson, Opportunity, Role, Stance
from ..errors import Problem, ValidationError
from . import _limits as lim

#: Activity text fields a quality filter may require to be filled.
ACTIVITY_TEXT_FIELDS: tuple[str, ...] = ("purpose", "dialogue", "needs_found", "feedback", "next_step")
#: Opportunity fields that :class:`RequiredFields` may require.
OPPORTUNITY_FIELDS: tuple[str, ...] = (
    "amount",
    "expected_close",
    "competitors",
    "key_person_ids",
    "gaps",
    "evidence",
)


@attrs.frozen(kw_only=True)
class Context:
    """
    What a requirement sees: the opportunity, its activities in the current
    stage up to *now*, and its key persons by id.
    """

    opportunity: Opportunity
    activities: tuple[Activity, ...]
    key_persons: Mapping[str, KeyPerson]
    now: dt.datetime


_c_opp, _c_acts, _c_people, _c_now = (
    Context.__dict__[n].__set__ for n in ("opportunity", "activities", "key_persons", "now")
)


def trusted_context(
    opportunity: Opportunity,
    activities: tuple[Activity, ...],
    key_persons: Mapping[str, KeyPerson],
    now: dt.datetime,
) -> Context:
    """
    A Context the stage engine vouches for, built from values it has checked,
    without attrs' ``__init__``.  Not for callers: build a ``Context``.
    """
    ctx = object.__new__(Context)
    _c_opp(ctx, opportunity)
    _c_acts(ctx, activities)
    _c_people(ctx, key_persons)
    _c_now(ctx, now)
    return ctx


@attrs.frozen(kw_only=True)
class Verdict:
    """
    One requirement's verdict: met or not, and why, in words.
    """

    name: str
    met: bool
    detail: str
    parts: tuple[Verdict, ...] = ()

    def lines(self, indent: int = 0) -> list[str]:
        """
        This outcome and its parts, one line each, indented two spaces per
        level from *indent* (an int from 0 to 64).

        Cost: O(parts, at every depth).
        """
        if type(indent) is not int or not 0 <= indent <= _MAX_INDENT:
            msg = f"{c.show(indent)} is {c.a_type(indent)}; expected an int from 0 to {_MAX_INDENT}"
            raise ValidationError.single("indent", msg, code="type" if type(indent) is not int else "range")
        out = []
        todo: list[tuple[Verdict, int]] = [(self, indent)]
        while todo:  # depth first, without recursion
            o, level = todo.pop()
            mark = "[ok]" if o.met else "[--]"
            out.append(f"{'  ' * level}{mark} {o.name}: {o.detail}")
            todo.extend((part, level + 1) for part in reversed(o.parts))
        return out

    def unmet(self) -> list[str]:
        """
        ``"name: detail"`` of this outcome if unmet (its parts are in the detail).

        Cost: O(1).
        """
        return [] if self.met else [f"{self.name}: {self.detail}"]


_MAX_INDENT = 64


def _not_a_context(ctx: object) -> ValidationError:
    msg = f"{c.show(ctx)} is {c.a_type(ctx)}; expected a Context"
    return ValidationError.single("ctx", msg, code="type")


class Requirement(c.Checked):
    """
    Base class of milestone requirements.

    A subclass is a frozen attrs class with a ``name`` field and a
    ``type_name`` (its tag in documents, unique among requirements); it
    implements ``_evaluate(ctx)`` (and, when a verdict alone is cheaper,
    ``_met(ctx)``).  That is all: :func:`~funnelkit.to_dict` and
    :func:`~funnelkit.from_dict` read and write it from its fields.  The
    public :meth:`evaluate` and :meth:`met` check their argument once and
    call them; the engine, whose contexts are its own, calls them directly.
    (A subclass written against the older protocol, overriding ``evaluate``
    or ``met`` itself, keeps working.)
    """

    __slots__ = ()
    type_name: ClassVar[str] = ""
    name: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        # The older protocol: evaluate / met overridden instead of _evaluate / _met.
        if "evaluate" in own and "_evaluate" not in own:
            cls._evaluate = own["evaluate"]  # type: ignore[method-assign]
        if "met" in own and "_met" not in own:
            cls._met = own["met"]  # type: ignore[method-assign]

    def evaluate(self, ctx: Context) -> Verdict:
        """
        The verdict with its explanation.

        Cost: one pass over the activities or key persons it reads, and over
        its parts.
        """
        if type(ctx) is not Context and not isinstance(ctx, Context):
            raise _not_a_context(ctx)
        return self._evaluate(ctx)

    def met(self, ctx: Context) -> bool:
        """
        Just the verdict, with no explanation built: always equal to
        ``evaluate(ctx).met``.

        Cost: at most that of :meth:`evaluate`; it stops as soon as the verdict is known.
        """
        if type(ctx) is not Context and not isinstance(ctx, Context):
            raise _not_a_context(ctx)
        return self._met(ctx)

    def _evaluate(self, ctx: Context) -> Verdict:
        """
        :meth:`evaluate` without the check of *ctx*: what a subclass implements.
        """
        raise NotImplementedError

    def _met(self, ctx: Context) -> bool:
        """
        :meth:`met` without the check of *ctx*; by default the verdict of
        ``_evaluate``.  Subclasses override it when the verdict alone is cheaper.
        """
        return self._evaluate(ctx).met

    def reads_activities(self) -> bool:
        """
        Whether the verdict depends on ``ctx.activities`` (the engine skips
        gathering them when no requirement reads them).  True unless a
        subclass knows better.

        Cost: O(parts).
        """
        return True

    def to_dict(self) -> dict[str, Any]:
        """
        The requirement as a JSON-safe document, tagged with its ``"type"``:
        the same as ``funnelkit.to_dict(self)``.

        Cost: O(size of the requirement, parts included).
        """
        from ..documents import to_dict

        return to_dict(self)  # type: ignore[no-any-return]

    def walk(self) -> Iterable[Requirement]:
        """
        This requirement and every one nested in it.

        Cost: O(size of the requirement, parts included).
        """
        yield self


def _words(value: object) -> str:
    """
    *value* as words in a generated name: a key's underscores become spaces.
    Names are built before the checks run, so a bad value is shown shortened.
    """
    if isinstance(value, str):
        return value.replace("_", " ")
    if type(value) is int and abs(value) < 10**18:
        return str(value)
    return c.show(value)


def _filled(value: str | None) -> bool:
    return value is not None and value.strip() != ""


def _kinds(value: ActivityKind | str | Iterable[ActivityKind | str]) -> frozenset[ActivityKind]:
    return lim.members(ActivityKind, value)  # type: ignore[no-any-return]


def _plural(kind: ActivityKind, n: int) -> str:
    if kind is ActivityKind.OTHER:
        return "other activity" if n == 1 else "other activities"
    return kind.value if n == 1 else f"{kind.value}s"


_ORDER = {k: i for i, k in enumerate(ActivityKind)}


def _activity_name(self: ActivityCount) -> str:
    # Names are built before the checks run: tolerate bad values here.
    kinds = (
        sorted((k for k in self.kinds if isinstance(k, ActivityKind)), key=_ORDER.__getitem__)
        if c.is_iterable(self.kinds)
        else []
    )
    noun = " or ".join(_plural(k, self.at_least if isinstance(self.at_least, int) else 2) for k in kinds)
    text = f"{_words(self.at_least)} {noun}"
    quals = []
    if self.filled and isinstance(self.filled, tuple):
        quals.append(f"with {' and '.join(_words(f) for f in self.filled)} filled")
    if isinstance(self.min_duration, dt.timedelta) and self.min_duration:
        quals.append(f"of at least {span(self.min_duration)}")
    if self.replied:
        quals.append("with a reply")
    if self.with_key_person:
        quals.append("with a key person")
    return " ".join([text, *quals])


def _check_kinds(value: object) -> Problem | None:
    if isinstance(value, lim.TooMany):
        return value.problem
    if not isinstance(value, frozenset | tuple) or not value:
        code = "empty" if isinstance(value, frozenset | tuple) else "type"
        return c.bad(code, f"{c.show(value)} is not a non-empty set of activity kinds")
    allowed = ", ".join(repr(k.value) for k in ActivityKind)
    for k in value:
        if not isinstance(k, ActivityKind):
            return c.bad("choice", f"{c.show(k)} is not an activity kind; allowed: {allowed}")
    return None


_check_text_fields = lim.limited(
    c.items(c.one_of(ACTIVITY_TEXT_FIELDS, "an activity text field"), tuple, unique=True)
)


def _check_positive(value: object) -> Problem | None:
    problem = c.non_negative_int(value)
    if problem is None and value == 0:
        return c.bad("range", "0 is not positive; expected an int >= 1")
    return problem


def _to_names(value: Iterable[str]) -> tuple[str, ...]:
    return lim.to_tuple(value)  # type: ignore[no-any-return]


@attrs.frozen(kw_only=True)
class ActivityCount(Requirement):
    """
    At least *at_least* activities of the given *kinds* in the current stage,
    each meeting the quality filter: the text fields in *filled* are not
    blank, it lasted at least *min_duration*, it got a reply (*replied*), it
    involved a key person (*with_key_person*).

    >>> ActivityCount(kinds="visit", at_least=2, filled=("purpose", "feedback")).name
    '2 visits with purpose and feedback filled'
    >>> import datetime as dt
    >>> ActivityCount(kinds="call", at_least=3, min_duration=dt.timedelta(minutes=5)).name
    '3 calls of at least 5 minutes'
    >>> ActivityCount(kinds="email", replied=True).name
    '1 email with a reply'

    Only activities of this opportunity (``opportunity_id``) count, from the
    moment it entered its stage up to ``now``.
    """

    type_name: ClassVar[str] = "activities"

    kinds: frozenset[ActivityKind] = attrs.field(metadata=check(_check_kinds), converter=_kinds)
    at_least: int = attrs.field(default=1, metadata=check(_check_positive), converter=c.to_int)
    filled: tuple[str, ...] = attrs.field(default=(), metadata=check(_check_text_fields), converter=_to_names)
    min_duration: dt.timedelta | None = attrs.field(default=None, metadata=check(c.optional(c.duration)))
    replied: bool = attrs.field(default=False, metadata=check(c.boolean), converter=c.to_bool)
    with_key_person: bool = attrs.field(default=False, metadata=check(c.boolean), converter=c.to_bool)
    name: str = attrs.field(default=attrs.Factory(_activity_name, takes_self=True), metadata=check(c.name))

    def counts(self, activity: Activity) -> bool:
        """
        Whether *activity* passes this requirement's kind and quality filter.

        Cost: O(filled fields).
        """
        if type(activity) is not Activity and not isinstance(activity, Activity):
            msg = f"{c.show(activity)} is {c.a_type(activity)}; expected an Activity"
            raise ValidationError.single("activity", msg, code="type")
        return self._counts(activity)

    def _counts(self, activity: Activity) -> bool:
        if activity.kind not in self.kinds:
            return False
        if self.min_duration is not None and (
            activity.duration is None or activity.duration < self.min_duration
        ):
            return False
        if self.replied and not activity.replied:
            return False
        if self.with_key_person and not activity.key_person_ids:
            return False
        return all(_filled(getattr(activity, f)) for f in self.filled)

    def _evaluate(self, ctx: Context) -> Verdict:
        counts = self._counts
        n = sum(1 for a in ctx.activities if counts(a))
        return Verdict(name=self.name, met=n >= self.at_least, detail=f"{n} of {self.at_least}")

    def _met(self, ctx: Context) -> bool:
        need, kinds, counts = self.at_least, self.kinds, self._counts
        for a in ctx.activities:
            if a.kind in kinds and counts(a):
                need -= 1
                if not need:
                    return True
        return False


def _fields_name(self: RequiredFields) -> str:
    fields = self.fields if isinstance(self.fields, tuple) else ()
    return ", ".join(_words(f) for f in fields) + " recorded"


def _check_opp_fields(value: object) -> c.Result:
    if value == ():
        return c.bad("empty", "() is empty; name at least one field")
    return _opp_fields(value)


_opp_fields = lim.limited(c.items(c.one_of(OPPORTUNITY_FIELDS, "an opportunity field"), tuple, unique=True))


_EMPTY: tuple[object, ...] = (None, (), frozenset())


@attrs.frozen(kw_only=True)
class RequiredFields(Requirement):
    """
    Opportunity fields that must be filled: a value that is not ``None`` and,
    for collections, not empty.

    >>> RequiredFields(fields=["amount", "expected_close"]).name
    'amount, expected close recorded'
    """

    type_name: ClassVar[str] = "fields"

    fields: tuple[str, ...] = attrs.field(metadata=check(_check_opp_fields), converter=_to_names)
    name: str = attrs.field(default=attrs.Factory(_fields_name, takes_self=True), metadata=check(c.name))

    def _evaluate(self, ctx: Context) -> Verdict:
        opp = ctx.opportunity
        missing = [f for f in self.fields if getattr(opp, f) in _EMPTY]
        if missing:
            return Verdict(name=self.name, met=False, detail="missing " + ", ".join(missing))
        return Verdict(name=self.name, met=True, detail="all recorded")

    def _met(self, ctx: Context) -> bool:
        opp = ctx.opportunity
        return not any(getattr(opp, f) in _EMPTY for f in self.fields)

    def reads_activities(self) -> bool:
        return False


@attrs.frozen(kw_only=True)
class NoOpenGaps(Requirement):
    """
    Every gap recorded on the deal is closed.
    """

    type_name: ClassVar[str] = "no_open_gaps"

    name: str = attrs.field(default="no open gaps", metadata=check(c.name))

    def _evaluate(self, ctx: Context) -> Verdict:
        open_gaps = ctx.opportunity.open_gaps
        if open_gaps:
            listed = ", ".join(g.description for g in open_gaps[:3]) + (", ..." if len(open_gaps) > 3 else "")
            return Verdict(name=self.name, met=False, detail=f"{len(open_gaps)} open: {listed}")
        return Verdict(name=self.name, met=True, detail="none open")

    def _met(self, ctx: Context) -> bool:
        return all(g.closed for g in ctx.opportunity.gaps)

    def reads_activities(self) -> bool:
        return False


def _role(value: Role | str) -> Role:
    return lim.member(Role, value)


def _stances(value: Iterable[Stance | str]) -> frozenset[Stance]:
    return lim.members(Stance, value)  # type: ignore[no-any-return]


_STANCE_ORDER = {s: i for i, s in enumerate(Stance)}


def _coverage_name(self: KeyPersonCoverage) -> str:
    role = _words(self.role.value if isinstance(self.role, Role) else self.role)
    who = f"a {role}" if self.at_least == 1 else f"{_words(self.at_least)} {role}s"
    if isinstance(self.stances, frozenset) and self.stances:
        stances = sorted(self.stances, key=lambda s: _STANCE_ORDER.get(s, 99))
        verb = "is" if self.at_least == 1 else "are"
        return f"{who} who {verb} {' or '.join(_words(getattr(s, 'value', s)) for s in stances)}"
    return f"{who} identified"


@attrs.frozen(kw_only=True)
class KeyPersonCoverage(Requirement):
    """
    At least *at_least* of the opportunity's key persons have *role* and, if
    *stances* is given, one of those stances toward us.

    >>> KeyPersonCoverage(role="decision_maker").name
    'a decision maker identified'
    >>> KeyPersonCoverage(role="recommender", stances=["supporter", "champion"]).name
    'a recommender who is champion or supporter'
    """

    type_name: ClassVar[str] = "key_person"

    role: Role = attrs.field(metadata=check(c.member_of(Role)), converter=_role)
    stances: frozenset[Stance] = attrs.field(
        default=frozenset(),
        metadata=check(lim.limited(c.items(c.member_of(Stance), frozenset))),
        converter=_stances,
    )
    at_least: int = attrs.field(default=1, metadata=check(_check_positive), converter=c.to_int)
    name: str = attrs.field(default=attrs.Factory(_coverage_name, takes_self=True), metadata=check(c.name))

    def _covers(self, kp: KeyPerson | None) -> bool:
        return kp is not None and kp.role is self.role and (not self.stances or kp.stance in self.stances)

    def _met(self, ctx: Context) -> bool:
        people, role, stances = ctx.key_persons, self.role, self.stances
        need = self.at_least
        for k in ctx.opportunity.key_person_ids:
            kp = people.get(k)
            if kp is not None and kp.role is role and (not stances or kp.stance in stances):
                need -= 1
                if not need:
                    return True
        return False

    def _evaluate(self, ctx: Context) -> Verdict:
        found = []
        for kp_id in ctx.opportunity.key_person_ids:
            kp = ctx.key_persons.get(kp_id)
            if kp is not None and self._covers(kp):
                found.append(kp.name)
        if len(found) >= self.at_least:
            return Verdict(name=self.name, met=True, detail=", ".join(found))
        role = self.role.value.replace("_", " ")
        if not found:
            return Verdict(
                name=self.name, met=False, detail=f"no {role}" + (" with that stance" if self.stances else "")
            )
        return Verdict(
            name=self.name, met=False, detail=f"{len(found)} of {self.at_least}: {', '.join(found)}"
        )

    def reads_activities(self) -> bool:
        return False


def _evidence_name(self: EvidenceRecorded) -> str:
    return f"{_words(self.key)} recorded"


def _minimum_check(value: object) -> c.Result:
    if not isinstance(value, Money):
        return c.wrong_type(value, "Money")
    if value.amount < 0:
        return c.bad("range", f"{c.show(value)} is negative; expected an amount of at least 0")
    return None


def _minimum_name(self: AmountAtLeast) -> str:
    return f"amount of at least {self.minimum}" if isinstance(self.minimum, Money) else "amount"


@attrs.frozen(kw_only=True)
class AmountAtLeast(Requirement):
    """
    The deal's amount is recorded, in the currency of *minimum*, and is at
    least *minimum*: a stage for large deals only, or a floor below which a
    deal is not worth the next step.

    >>> from funnelkit import Money
    >>> AmountAtLeast(minimum=Money.of("50000", "USD")).name
    'amount of at least 50000 USD'
    """

    type_name: ClassVar[str] = "amount_at_least"

    minimum: Money = attrs.field(metadata=check(_minimum_check))
    name: str = attrs.field(default=attrs.Factory(_minimum_name, takes_self=True), metadata=check(c.name))

    def _evaluate(self, ctx: Context) -> Verdict:
        amount = ctx.opportunity.amount
        if amount is None:
            return Verdict(name=self.name, met=False, detail="no amount recorded")
        if amount.currency != self.minimum.currency:
            return Verdict(name=self.name, met=False, detail=f"{amount} is not in {self.minimum.currency}")
        met = amount.amount >= self.minimum.amount
        return Verdict(name=self.name, met=met, detail=f"{amount}" + ("" if met else f" < {self.minimum}"))

    def reads_activities(self) -> bool:
        return False


@attrs.frozen(kw_only=True)
class EvidenceRecorded(Requirement):
    """
    The opportunity's *evidence* holds *key*: the customer did the thing
    (approved the project, shortlisted us, signed).

    >>> EvidenceRecorded(key="project_approved").name
    'project approved recorded'
    """

    type_name: ClassVar[str] = "evidence"

    key: str = attrs.field(metadata=check(c.name))
    name: str = attrs.field(default=attrs.Factory(_evidence_name, takes_self=True), metadata=check(c.name))

    def _evaluate(self, ctx: Context) -> Verdict:
        if self.key in ctx.opportunity.evidence:
            return Verdict(name=self.name, met=True, detail="recorded")
        return Verdict(name=self.name, met=False, detail=f"no {self.key!r} in the evidence")

    def _met(self, ctx: Context) -> bool:
        return self.key in ctx.opportunity.evidence

    def reads_activities(self) -> bool:
        return False


def _time_name(self: TimeInStage) -> str:
    return f"at least {_words(self.days)} day{'s' if self.days != 1 else ''} in stage"


def check_days(value: object) -> Problem | None:
    """
    A number of days: an int from 0 to :data:`~._limits.MAX_DAYS` (a hundred years).
    """
    problem = c.non_negative_int(value)
    if problem is None and value > lim.MAX_DAYS:  # type: ignore[operator]
        return c.bad(
            "limit", f"{c.show(value)} is more than {lim.MAX_DAYS:,} days; expected at most a hundred years"
        )
    return problem


@attrs.frozen(kw_only=True)
class TimeInStage(Requirement):
    """
    The opportunity has been in its stage at least *days* days (at most
    36,500: a hundred years).
    """

    type_name: ClassVar[str] = "time_in_stage"

    days: int = attrs.field(metadata=check(check_days), converter=c.to_int)
    name: str = attrs.field(default=attrs.Factory(_time_name, takes_self=True), metadata=check(c.name))

    def _evaluate(self, ctx: Context) -> Verdict:
        elapsed = ctx.now - ctx.opportunity.stage_entered_at
        days = elapsed // dt.timedelta(days=1)
        return Verdict(
            name=self.name, met=elapsed >= dt.timedelta(days=self.days), detail=f"{days} of {self.days} days"
        )

    def _met(self, ctx: Context) -> bool:
        return ctx.now - ctx.opportunity.stage_entered_at >= dt.timedelta(days=self.days)

    def reads_activities(self) -> bool:
        return False


def _callable(value: object) -> Problem | None:
    if not callable(value):
        return c.wrong_type(value, "a function of a Context returning bool")
    return None


@attrs.frozen(kw_only=True)
class Predicate(Requirement):
    """
    A custom rule: *test* takes the :class:`Context` and returns ``True`` /
    ``False``, or ``(met, detail)``.  Serialised by *name* alone; reading it
    back needs the same name in the ``predicates`` mapping.
    """

    type_name: ClassVar[str] = "predicate"

    name: str = attrs.field(metadata=check(c.identifier))
    description: str = attrs.field(metadata=check(c.name))
    test: Callable[[Context], bool | tuple[bool, str]] = attrs.field(metadata=check(_callable), eq=False)

    def _evaluate(self, ctx: Context) -> Verdict:
        result = self.test(ctx)
        if isinstance(result, bool):
            return Verdict(name=self.description, met=result, detail="yes" if result else "no")
        if (
            isinstance(result, tuple)
            and len(result) == 2
            and isinstance(result[0], bool)
            and isinstance(result[1], str)
        ):
            return Verdict(name=self.description, met=result[0], detail=result[1])
        msg = f"predicate {self.name!r} returned {c.show(result)}; expected a bool or (bool, str)"
        raise ValidationError.single(self.name, msg, code="callable")


def _check_parts(value: object) -> c.Result:
    result = lim.limited(c.items(c.instance_of(Requirement, "a Requirement"), tuple))(value)
    if result is None and not value:
        return c.bad("empty", "() is empty; combine at least one requirement")
    return result


def _depth(req: Requirement) -> int:
    """
    How many levels *req* nests: 1 for a single requirement.
    """
    return getattr(req, "_depth", 1)


def _to_parts(value: Iterable[Requirement]) -> tuple[Requirement, ...]:
    return lim.to_tuple(value)  # type: ignore[no-any-return]


def _parts_name(prefix: str, parts: object) -> str:
    if not isinstance(parts, tuple) or not parts:
        return prefix
    return f"{prefix}: " + "; ".join(_words(getattr(p, "name", p)) for p in parts)


def _all_name(self: AllOf) -> str:
    return _parts_name("all of", self.parts)


def _any_name(self: AnyOf) -> str:
    return _parts_name("any of", self.parts)


class _Combination(Requirement):
    """
    What AllOf and AnyOf share: parts, explained one by one.
    """

    __slots__ = ()
    parts: tuple[Requirement, ...]

    def _verdict(self, n_met: int, n_parts: int) -> bool:
        raise NotImplementedError

    def _relations(self) -> list[Problem]:
        depth = 1 + max(map(_depth, self.parts))
        object.__setattr__(self, "_depth", depth)
        if depth > lim.MAX_DEPTH:
            return [Problem(path="parts", code="nested", message=lim.depth_message())]
        return []

    def _evaluate(self, ctx: Context) -> Verdict:
        verdicts = tuple(p._evaluate(ctx) for p in self.parts)  # noqa: SLF001
        n = sum(o.met for o in verdicts)
        met = self._verdict(n, len(verdicts))
        return Verdict(name=self.name, met=met, detail=f"{n} of {len(verdicts)} met", parts=verdicts)

    def reads_activities(self) -> bool:
        return any(p.reads_activities() for p in self.parts)

    def walk(self) -> Iterable[Requirement]:
        yield self
        for p in self.parts:
            yield from p.walk()


@attrs.frozen(kw_only=True)
class AllOf(_Combination):
    """
    Met when every part is met.
    """

    type_name: ClassVar[str] = "all_of"

    parts: tuple[Requirement, ...] = attrs.field(metadata=check(_check_parts), converter=_to_parts)
    name: str = attrs.field(default=attrs.Factory(_all_name, takes_self=True), metadata=check(c.name))
    #: How many levels the requirement nests (set by the checks).
    _depth: int = attrs.field(init=False, default=1, eq=False, repr=False)

    def _verdict(self, n_met: int, n_parts: int) -> bool:
        return n_met == n_parts

    def _met(self, ctx: Context) -> bool:
        return all(p._met(ctx) for p in self.parts)  # noqa: SLF001


@attrs.frozen(kw_only=True)
class AnyOf(_Combination):
    """
    Met when at least one part is met.
    """

    type_name: ClassVar[str] = "any_of"

    parts: tuple[Requirement, ...] = attrs.field(metadata=check(_check_parts), converter=_to_parts)
    name: str = attrs.field(default=attrs.Factory(_any_name, takes_self=True), metadata=check(c.name))
    #: How many levels the requirement nests (set by the checks).
    _depth: int = attrs.field(init=False, default=1, eq=False, repr=False)

    def _verdict(self, n_met: int, n_parts: int) -> bool:  # noqa: ARG002 - one signature for both rules
        return n_met >= 1

    def _met(self, ctx: Context) -> bool:
        return any(p._met(ctx) for p in self.parts)  # noqa: SLF001


def all_of(*parts: Requirement, name: str | None = None) -> AllOf:
    """
    A requirement met when all *parts* are (at most 1,000 parts, nested at
    most 32 levels deep).

    Cost: O(parts).
    """
    return AllOf(parts=parts) if name is None else AllOf(parts=parts, name=name)


def any_of(*parts: Requirement, name: str | None = None) -> AnyOf:
    """
    A requirement met when any of *parts* is (at most 1,000 parts, nested at
    most 32 levels deep).

    Cost: O(parts).
    """
    return AnyOf(parts=parts) if name is None else AnyOf(parts=parts, name=name)


def requirement_from_dict(data: object, *, predicates: Mapping[str, Predicate] | None = None) -> Requirement:
    """
    Read a requirement written by :meth:`Requirement.to_dict`: the same as
    ``from_dict(Requirement, data, predicates=predicates)``.

    A ``"predicate"`` is looked up by name in *predicates*.  Every problem,
    at any depth, is reported in one :class:`~funnelkit.errors.ValidationError`;
    a document that nests more than 32 levels deep, or lists more than 1,000
    parts, is refused.

    Cost: O(size of the document).
    """
    from ..documents import from_dict

    return from_dict(Requirement, data, predicates=predicates)
