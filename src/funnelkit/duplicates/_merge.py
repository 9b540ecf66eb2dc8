"""
merge(): fold duplicates into one surviving record, relink what points at
them, and say so in an event a host stores and replays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal, cast

import attrs

from .. import _checks as c
from .. import documents
from .._time import canonical, instant
from ..assignment import Claim, Pool
from ..assignment._args import bounded
from ..entities import Activity, Customer, KeyPerson, Lead, Opportunity, Stance
from ..errors import MAX_LISTED, Problem, ValidationError
from ._match import _KIND_OF, KINDS

_ids = c.items(c.identifier, tuple, unique=True)


def _id_tuple(value: Iterable[str]) -> tuple[str, ...]:
    """A converter: ids as a tuple, read no further than the first 50 bad items (an endless input ends)."""
    return bounded(value, lambda x: c.identifier(x) is None)  # type: ignore[no-any-return]


@attrs.frozen(kw_only=True)
class Merged(c.Checked):
    """
    Duplicates folded into a survivor: *kind* (``customer``, ``key_person``
    or ``lead``), the *survivor_id*, the *duplicate_ids* in the order given
    (the host deletes them), when (*at*) and by whom (*actor*), and which
    of the survivor's fields were *filled* from the duplicates.

    A host stores it in its log; :func:`apply_merge` of it to the same
    records gives the same result as the :func:`merge` that made it.
    """

    #: Its tag in documents (an event log mixes kinds of events).
    type_name: ClassVar[str] = "merged"

    kind: Literal["customer", "key_person", "lead"] = attrs.field(
        metadata=c.check(c.one_of(KINDS, "a kind of record"))
    )
    survivor_id: str = attrs.field(metadata=c.check(c.identifier))
    duplicate_ids: tuple[str, ...] = attrs.field(converter=_id_tuple, metadata=c.check(_ids))
    at: dt.datetime = attrs.field(converter=canonical, metadata=c.check(c.aware_datetime))
    actor: str = attrs.field(metadata=c.check(c.identifier))
    filled: tuple[str, ...] = attrs.field(default=(), converter=_id_tuple, metadata=c.check(_ids))

    def _relations(self) -> list[Problem]:
        if not self.duplicate_ids:
            return [
                Problem(path="duplicate_ids", code="empty", message="() is empty; a merge folds one or more")
            ]
        if self.survivor_id in self.duplicate_ids:
            msg = f"{self.survivor_id!r} is the survivor; it cannot be its own duplicate"
            return [Problem(path="duplicate_ids", code="conflict", message=msg)]
        return []

    def to_dict(self) -> dict[str, Any]:
        """
        The event as a JSON-safe document, tagged with its ``"type"``.
        Cost: O(size of the value).
        """
        return cast("dict[str, Any]", documents.to_dict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Merged:
        """
        Read a dict written by :meth:`to_dict`; one error listing every problem.
        Cost: O(size of data).
        """
        return cast("Merged", documents.from_dict(cls, data))


@attrs.frozen(kw_only=True)
class Merge:
    """
    What a merge made: the surviving record (under its kind: *customer*,
    *key_person* or *lead*; :attr:`survivor` whichever it is), the ids of
    the duplicates to delete (*removed*), every opportunity, activity and
    key person given, in the order given, relinked to the survivor, the
    *pool* with the duplicates' claims folded into the survivor's (``None``
    when none was given), the claims *released* by that (another rep's,
    see :func:`merge`), and the *event* to store.

    No opportunity appears or disappears: the same deals, the same amounts.
    """

    customer: Customer | None = None
    key_person: KeyPerson | None = None
    lead: Lead | None = None
    removed: tuple[str, ...]
    opportunities: tuple[Opportunity, ...] = ()
    activities: tuple[Activity, ...] = ()
    key_persons: tuple[KeyPerson, ...] = ()
    pool: Pool | None = None
    released: tuple[Claim, ...] = ()
    event: Merged

    @property
    def survivor(self) -> Customer | KeyPerson | Lead:
        """
        The surviving record, whatever its kind.
        """
        return cast("Customer | KeyPerson | Lead", self.customer or self.key_person or self.lead)


# --- the rule for the survivor's fields ------------------------------------------------


def _blank(value: object) -> bool:
    """Whether a field holds nothing: None, blank text, an empty collection, an unknown stance."""
    if value is None or value is Stance.UNKNOWN:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, tuple | frozenset) and not value


def combined(survivor: Any, duplicates: list[Any]) -> tuple[Any, tuple[str, ...]]:
    """
    The survivor with its blank fields filled, and the names of the fields
    that changed: see :func:`merge` for the rule.
    """
    changes: dict[str, object] = {}
    for field in attrs.fields(type(survivor)):
        name = field.name
        mine = getattr(survivor, name)
        if name == "id":
            continue
        if name == "created_at":
            value = min([mine, *(d.created_at for d in duplicates)])
        elif name == "tags":
            value = mine.union(*(d.tags for d in duplicates))
        elif _blank(mine):
            value = next((v for d in duplicates if not _blank(v := getattr(d, name))), mine)
        else:
            continue
        if value != mine:
            changes[name] = value
    if not changes:
        return survivor, ()
    return attrs.evolve(survivor, **changes), tuple(changes)


# --- checking everything first ----------------------------------------------------------


def _batch(values: object, cls: type, path: str) -> list[Any]:
    """*values*, an iterable of *cls* with unique ids, as a list; bad items reported by index."""
    c.require_iterable(values, cls.__name__, path)
    out: list[Any] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, item in enumerate(cast("Iterable[object]", values)):
        if not isinstance(item, cls):
            problems.append(c.wrong_item(item, cls, f"{path}[{i}]"))
        elif item.id in seen:  # type: ignore[attr-defined]
            msg = f"{c.show(item.id)} appears twice; give each record once"  # type: ignore[attr-defined]
            problems.append(Problem(path=f"{path}[{i}].id", code="duplicate", message=msg))
        else:
            seen.add(item.id)  # type: ignore[attr-defined]
            out.append(item)
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    return out


class _Links:
    """The records that point at the merged ones, checked."""

    def __init__(self, opportunities: object, activities: object, key_persons: object, pool: object) -> None:
        self.opportunities: list[Opportunity] = _batch(opportunities, Opportunity, "opportunities")
        self.activities: list[Activity] = _batch(activities, Activity, "activities")
        self.key_persons: list[KeyPerson] = _batch(key_persons, KeyPerson, "key_persons")
        if pool is not None and not isinstance(pool, Pool):
            raise c.at("pool", c.wrong_type(pool, "a Pool or None"))
        self.pool: Pool | None = pool


def _problems(
    kind: str, survivor: Any, duplicates: list[Any], at: dt.datetime, pool: Pool | None
) -> list[Problem]:
    """What forbids the merge at *at*: a time before a record or a claim, a person of another customer."""
    problems = []
    if kind != "key_person":
        for where, record in [
            ("survivor", survivor),
            *((f"duplicates[{i}]", d) for i, d in enumerate(duplicates)),
        ]:
            if at < record.created_at:
                msg = (
                    f"{at.isoformat()} is before {where} {record.id!r} was created "
                    f"({record.created_at.isoformat()})"
                )
                problems.append(Problem(path="now", code="order", message=msg))
                break
    else:
        for i, d in enumerate(duplicates):
            if d.customer_id != survivor.customer_id:
                msg = (
                    f"{d.customer_id!r} is not the survivor's customer {survivor.customer_id!r}; "
                    "merge the customers first"
                )
                problems.append(Problem(path=f"duplicates[{i}].customer_id", code="conflict", message=msg))
    if pool is not None and kind != "key_person":
        for key in (survivor.id, *(d.id for d in duplicates)):
            claim = pool.claims.get(key)
            if claim is not None and at < claim.worked_at:
                msg = (
                    f"{at.isoformat()} is before the last record of {key!r} "
                    f"(worked by {claim.rep_id!r} at {claim.worked_at.isoformat()}); keep time order"
                )
                problems.append(Problem(path="now", code="order", message=msg))
                break
    return problems


def _duplicates(value: object, survivor: Any, kind: str) -> list[Any]:
    c.require_iterable(value, "records of the survivor's kind", "duplicates")
    out: list[Any] = []
    problems: list[Problem] = []
    seen = {survivor.id}
    for i, d in enumerate(cast("Iterable[object]", value)):
        if type(d) is not type(survivor):
            problems.append(
                c.wrong_type(d, f"a {type(survivor).__name__}, as the survivor").prefixed(f"duplicates[{i}]")
            )
        elif d.id in seen:  # type: ignore[attr-defined]
            what = "is the survivor" if d.id == survivor.id else "appears twice"  # type: ignore[attr-defined]
            msg = f"{kind} {c.show(d.id)} {what}; each duplicate once, the survivor not among them"  # type: ignore[attr-defined]
            problems.append(Problem(path=f"duplicates[{i}].id", code="duplicate", message=msg))
        else:
            seen.add(d.id)  # type: ignore[attr-defined]
            out.append(d)
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    if not out:
        raise ValidationError.single(
            "duplicates", "nothing to merge; give one or more duplicates", code="empty"
        )
    return out


# --- relinking -------------------------------------------------------------------------------


def _relinked(kind: str, survivor_id: str, gone: frozenset[str], links: _Links) -> tuple[Any, Any, Any]:
    def people(ids: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(survivor_id if k in gone else k for k in ids))

    opps, acts, kps = links.opportunities, links.activities, links.key_persons
    if kind == "customer":
        opps = [attrs.evolve(o, customer_id=survivor_id) if o.customer_id in gone else o for o in opps]
        acts = [attrs.evolve(a, customer_id=survivor_id) if a.customer_id in gone else a for a in acts]
        kps = [attrs.evolve(k, customer_id=survivor_id) if k.customer_id in gone else k for k in kps]
    elif kind == "lead":
        opps = [attrs.evolve(o, lead_id=survivor_id) if o.lead_id in gone else o for o in opps]
    else:
        opps = [
            attrs.evolve(o, key_person_ids=people(o.key_person_ids))
            if gone.intersection(o.key_person_ids)
            else o
            for o in opps
        ]
        acts = [
            attrs.evolve(a, key_person_ids=people(a.key_person_ids))
            if gone.intersection(a.key_person_ids)
            else a
            for a in acts
        ]
    return tuple(opps), tuple(acts), tuple(kps)


def _folded_pool(
    pool: Pool, survivor_id: str, gone: tuple[str, ...], at: dt.datetime
) -> tuple[Pool, tuple[Claim, ...]]:
    """
    *pool* with the claims on the duplicates folded into the survivor's: the
    earliest active claim's rep keeps the account, its claims combined
    (first claimed, last worked, last expiry); other reps' active claims are
    released; lapsed claims on the duplicates are dropped.
    """
    keys = (survivor_id, *gone)
    active = [k for key in keys if (k := pool.claims.get(key)) is not None and k.active(now=at)]
    claims = {key: claim for key, claim in pool.claims.items() if key not in gone}
    released: tuple[Claim, ...] = ()
    if active:
        first = min(
            active, key=lambda k: (k.claimed_at, k.customer_id != survivor_id, k.rep_id, k.customer_id)
        )
        kept = [k for k in active if k.rep_id == first.rep_id]
        released = tuple(k for k in active if k.rep_id != first.rep_id)
        claims[survivor_id] = Claim(
            customer_id=survivor_id,
            rep_id=first.rep_id,
            claimed_at=min(k.claimed_at for k in kept),
            worked_at=max(k.worked_at for k in kept),
            expires_at=max(k.expires_at for k in kept),
        )
    if claims == pool.claims:
        return pool, released
    return attrs.evolve(pool, claims=claims), released


def _merge(  # noqa: PLR0917 - private, called twice
    kind: str,
    survivor: Any,
    dups: list[Any],
    links: _Links,
    at: dt.datetime,
    event: Merged | None,
    actor: str,
) -> Merge:
    problems = _problems(kind, survivor, dups, at, links.pool)
    if problems:
        raise ValidationError(problems)
    record, filled = combined(survivor, dups)
    gone_ids = tuple(d.id for d in dups)
    if event is None:
        event = Merged(
            kind=cast("Literal['customer', 'key_person', 'lead']", kind),
            survivor_id=survivor.id,
            duplicate_ids=gone_ids,
            at=at,
            actor=actor,
            filled=filled,
        )
    opps, acts, kps = _relinked(kind, survivor.id, frozenset(gone_ids), links)
    pool, released = links.pool, cast("tuple[Claim, ...]", ())
    if pool is not None and kind != "key_person":
        pool, released = _folded_pool(pool, survivor.id, gone_ids, at)
    return Merge(
        **{kind: record},
        removed=gone_ids,
        opportunities=opps,
        activities=acts,
        key_persons=kps,
        pool=pool,
        released=released,
        event=event,
    )


def merge(
    survivor: Customer | KeyPerson | Lead,
    duplicates: Iterable[Customer | KeyPerson | Lead],
    *,
    now: dt.datetime,
    actor: str,
    opportunities: Iterable[Opportunity] = (),
    activities: Iterable[Activity] = (),
    key_persons: Iterable[KeyPerson] = (),
    pool: Pool | None = None,
) -> Merge:
    """
    Fold *duplicates* into *survivor* (all customers, all key persons or all
    leads): the surviving record, every record given relinked to it, the
    pool's claims folded, and a :class:`Merged` event.

    The survivor keeps its id and every field it has; a blank field (``None``,
    blank text, an empty collection, an ``unknown`` stance) takes the first
    value among the *duplicates* in the order given that is not blank, except
    that ``created_at`` is the earliest of all (the account has existed
    since then) and a customer's ``tags`` are the union of all.  So the
    survivor's owner keeps the account when it has one; each deal keeps its
    own owner.

    Relinked: for customers, each opportunity's, activity's and key
    person's ``customer_id``; for leads, each opportunity's ``lead_id``; for
    key persons (of one customer: merge the customers first), each
    opportunity's and activity's ``key_person_ids`` (the survivor listed once,
    where the first of them was).  A relinked deal keeps its ``version``
    (the stage engine's count of moves).  No deal appears or disappears.

    With a *pool*, the claims on the duplicates fold into one on the
    survivor: the rep of the earliest active claim at *now* (conflict
    prevention: whoever held the company first) keeps it, with the first
    ``claimed_at`` and the last ``worked_at`` and expiry of their claims;
    other reps' active claims are released (listed in ``released``, to tell
    them), lapsed ones dropped.

    Everything is checked before anything is made: records of another type
    or kind, a duplicate given twice or being the survivor, a record given
    twice, *now* before a record was created or a claim last worked.
    Cost: O(n + f) for n records given and f fields.
    """
    kind = _KIND_OF.get(type(survivor))
    if kind is None:
        raise c.at("survivor", c.wrong_type(survivor, "a Customer, a KeyPerson or a Lead"))
    at = instant(now)
    problem = c.identifier(actor)
    if problem is not None:
        raise c.at("actor", problem)
    dups = _duplicates(duplicates, survivor, kind)
    links = _Links(opportunities, activities, key_persons, pool)
    return _merge(kind, survivor, dups, links, at, None, actor)


def apply_merge(
    event: Merged,
    records: Iterable[Customer | KeyPerson | Lead],
    *,
    opportunities: Iterable[Opportunity] = (),
    activities: Iterable[Activity] = (),
    key_persons: Iterable[KeyPerson] = (),
    pool: Pool | None = None,
) -> Merge:
    """
    Replay a stored :class:`Merged` *event* on the host's records: the
    survivor and each duplicate are looked up by id among *records* (of the
    event's kind; others are ignored), and the merge is made as
    :func:`merge` made it, with the event's time and actor.  On the records
    :func:`merge` was given, the result is the same, the event included.
    A survivor or duplicate missing from *records* is refused (code
    ``reference``), as is everything :func:`merge` refuses.
    Cost: O(n + f) for n records given and f fields.
    """
    c.require(event, Merged, "a Merged event", "event")
    c.require_iterable(records, "Customer, KeyPerson or Lead", "records")
    cls = {v: k for k, v in _KIND_OF.items()}[event.kind]
    wanted = {event.survivor_id, *event.duplicate_ids}
    found: dict[str, Any] = {}
    for i, record in enumerate(cast("Iterable[object]", records)):
        if isinstance(record, cls) and record.id in wanted:  # type: ignore[attr-defined]
            if record.id in found:  # type: ignore[attr-defined]
                msg = f"{event.kind} {record.id!r} appears twice; give each record once"  # type: ignore[attr-defined]
                raise ValidationError.single(f"records[{i}].id", msg, code="duplicate")
            found[record.id] = record  # type: ignore[attr-defined]
    missing = [k for k in (event.survivor_id, *event.duplicate_ids) if k not in found]
    if missing:
        msg = (
            f"no {event.kind} {', '.join(map(repr, missing[:5]))} among the records; give every merged record"
        )
        raise ValidationError.single("records", msg, code="reference")
    links = _Links(opportunities, activities, key_persons, pool)
    dups = [found[k] for k in event.duplicate_ids]
    return _merge(event.kind, found[event.survivor_id], dups, links, event.at, event, event.actor)
