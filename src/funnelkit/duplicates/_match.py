"""
find_duplicates(): candidate duplicates among customers, key persons and
leads, found by blocking and scored with their reasons.
"""

# ruff: noqa: RUF002 - full-width and CJK forms are what this is about

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any, cast

import attrs

from .. import _checks as c
from .._report import Report
from ..entities import Customer, KeyPerson, Lead
from ..errors import MAX_LISTED, Problem, ValidationError
from ._normal import (
    COMPANY_SUFFIXES,
    FREE_MAIL_DOMAINS,
    _domain,
    _strip,
    _suffix_table,
    _Suffixes,
    _words,
    check_country_code,
    check_free_mail,
    check_strings,
    email,
    is_free,
    phone,
)

#: The kinds of record compared, in the order members of a pair and a cluster are listed.
KINDS: tuple[str, ...] = ("customer", "key_person", "lead")
#: What can match besides the name, and how much each says on its own (see :func:`find_duplicates`).
WEIGHTS: Mapping[str, Fraction] = MappingProxyType({
    "phone": Fraction(4, 5),
    "email": Fraction(9, 10),
    "domain": Fraction(3, 5),
})  # fmt: skip
#: The reasons a pair can give: the same normalised name, phone, email, web domain.
REASONS: tuple[str, ...] = ("name", "phone", "email", "domain")
#: The score from which a pair counts as a duplicate, unless ``threshold=`` says otherwise.
DEFAULT_THRESHOLD = Decimal("0.8")
#: A block of at most this many records is compared pair by pair; a bigger one (a common
#: word such as "trading") by sorted neighbourhood: each record against the next WINDOW
#: records in the order of their normalised names.
MAX_BLOCK = 16
WINDOW = 4

_KIND_ORDER = {k: i for i, k in enumerate(KINDS)}
_KIND_OF = {Customer: "customer", KeyPerson: "key_person", Lead: "lead"}


def _member_problem(value: object) -> Problem | None:
    if not (isinstance(value, tuple) and len(value) == 2):
        return c.wrong_type(value, "a (kind, id) pair")
    kind, ident = value
    if not isinstance(kind, str) or kind not in _KIND_ORDER:
        return c.bad(
            "choice", f"{c.show(kind)} is not a kind of record; allowed: {', '.join(KINDS)}"
        ).prefixed("[0]")
    problem = c.identifier(ident)
    return None if problem is None else problem.prefixed("[1]")


def _ratio(value: object) -> Problem | None:
    if not isinstance(value, Fraction):
        return c.wrong_type(value, "a Fraction in [0, 1]")
    if not 0 <= value <= 1:
        return c.bad("range", f"{c.show(value)} is outside [0, 1]")
    return None


@attrs.frozen(kw_only=True)
class Contact(c.Checked):
    """
    Ways to reach a customer, a key person or a lead that the entity itself
    does not hold (a host keeps them beside its records): phone numbers,
    email addresses and websites, as typed.  :func:`find_duplicates` takes
    them by record id (``contacts={"c-1": Contact(phones=["+86 ..."])}``).
    """

    phones: tuple[str, ...] = attrs.field(
        default=(), converter=c.to_tuple, metadata=c.check(c.items(c.name, tuple))
    )
    emails: tuple[str, ...] = attrs.field(
        default=(), converter=c.to_tuple, metadata=c.check(c.items(c.name, tuple))
    )
    websites: tuple[str, ...] = attrs.field(
        default=(), converter=c.to_tuple, metadata=c.check(c.items(c.name, tuple))
    )


@attrs.frozen(kw_only=True)
class DuplicatePair(c.Checked):
    """
    Two records that look like one: *left* before *right* (by kind, then
    id), their *score* in [0, 1], the *name_similarity* of their normalised
    names in [0, 1], and what else *matched*: ``"name"`` (the same
    normalised name), ``"phone"``, ``"email"``, ``"domain"``.
    """

    left: tuple[str, str] = attrs.field(converter=c.to_tuple, metadata=c.check(_member_problem))
    right: tuple[str, str] = attrs.field(converter=c.to_tuple, metadata=c.check(_member_problem))
    score: Fraction = attrs.field(metadata=c.check(_ratio))
    name_similarity: Fraction = attrs.field(metadata=c.check(_ratio))
    matched: tuple[str, ...] = attrs.field(
        default=(),
        converter=c.to_tuple,
        metadata=c.check(c.items(c.one_of(REASONS, "a reason"), tuple, unique=True)),
    )

    def _relations(self) -> list[Problem]:
        if _key(self.left) >= _key(self.right):
            msg = f"{self.left!r} is not before right {self.right!r}; a pair lists its members in order"
            return [Problem(path="right", code="order", message=msg)]
        return []


def _key(member: tuple[str, str]) -> tuple[int, str]:
    return _KIND_ORDER[member[0]], member[1]


@attrs.frozen(kw_only=True, repr=False)
class DuplicateReport(Report):
    """
    The candidate duplicates :func:`find_duplicates` found: the *pairs*
    scoring at least *threshold*, best first (ties by their members), and
    the *clusters* they join (connected components: records linked by a
    chain of pairs, each cluster's members in order, clusters by their first
    member).  *records* is how many records were compared, *compared* how
    many pairs blocking let through to scoring (out of records × (records −
    1) / 2).

    ``to_records()`` and ``to_frame()`` give one row per pair, with its
    cluster's number.  :meth:`accounts` maps each customer and lead id in a
    cluster to one account id, for ``Pool.claim(..., aliases=...)``.

    Not mergeable: a pair across two parts is found only by comparing the
    parts together; find once over every record.
    """

    threshold: Decimal
    pairs: tuple[DuplicatePair, ...]
    clusters: tuple[tuple[tuple[str, str], ...], ...]
    records: int
    compared: int

    def __len__(self) -> int:
        return len(self.pairs)

    def __iter__(self) -> Iterator[DuplicatePair]:
        return iter(self.pairs)

    def accounts(self) -> dict[str, str]:
        """
        Each customer and lead id in a cluster, to the account it belongs to:
        the cluster's first customer id (its first lead id when it has no
        customer).  Ids in no cluster are left out (each is its own
        account).  Pass it as ``aliases=`` to
        :meth:`~funnelkit.assignment.Pool.claim`, so that a claim on one
        entry of a company is refused while another rep holds another.
        Cost: O(n) for n members of clusters.
        """
        out: dict[str, str] = {}
        for cluster in self.clusters:
            company = [ident for kind, ident in cluster if kind != "key_person"]
            if len(company) > 1:
                out.update(dict.fromkeys(company, company[0]))
        return out

    def holders(self, customers: Iterable[Customer]) -> dict[str, str]:
        """
        Each customer and lead id of a cluster whose owned customers (among
        *customers*) all have one owner, to that owner: the rep who holds
        the company.  Pass it as ``held=`` to
        :func:`~funnelkit.assignment.assign`, so that a lead of a company a
        rep already holds goes to that rep.  A cluster whose customers have
        two owners is left out: that is a conflict to resolve (merge them).
        Cost: O(n + m) for n members of clusters and m customers.
        """
        owner = {}
        for cu in c.items_of(customers, Customer, "customers"):
            if cu.owner is not None:
                owner[cu.id] = cu.owner
        out: dict[str, str] = {}
        for cluster in self.clusters:
            company = [ident for kind, ident in cluster if kind != "key_person"]
            reps = {owner[ident] for kind, ident in cluster if kind == "customer" and ident in owner}
            if len(reps) == 1 and len(company) > 1:
                out.update(dict.fromkeys(company, reps.pop()))
        return out

    def _summary(self) -> str:
        return (
            f"{c.counted(len(self.pairs), 'pair')} in {c.counted(len(self.clusters), 'cluster')} among "
            f"{c.counted(self.records, 'record')} (threshold {self.threshold}; {self.compared:,} compared)"
        )

    def _rows(self) -> Iterator[dict[str, object]]:
        cluster_of = {m: i for i, cluster in enumerate(self.clusters) for m in cluster}
        for pair in self.pairs:
            yield {
                "cluster": cluster_of.get(pair.left),
                "left_kind": pair.left[0],
                "left_id": pair.left[1],
                "right_kind": pair.right[0],
                "right_id": pair.right[1],
                "score": pair.score,
                "name_similarity": pair.name_similarity,
                "matched": ", ".join(pair.matched),
            }


# --- reading the arguments ------------------------------------------------------------


def check_threshold(value: object) -> Decimal:
    """*value* as a Decimal in [0, 1]; else an error at ``threshold``."""
    if isinstance(value, Fraction):
        msg = f"{c.show(value)} is a Fraction; give the threshold as a Decimal, a str or a float"
        raise ValidationError.single("threshold", msg, code="type")
    number: object = c.to_decimal(value)  # type: ignore[arg-type]  # anything else is left for the check
    problem = c.probability(number)
    if problem is not None:
        raise c.at("threshold", problem)
    return cast("Decimal", number)


def _check_kinds(value: object) -> frozenset[str]:
    if value is None:
        return frozenset(KINDS)
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise c.at("kinds", c.wrong_type(value, "a list, tuple or set of kinds of record"))
    problems = []
    for i, kind in enumerate(value):
        if not isinstance(kind, str) or kind not in _KIND_ORDER:
            msg = f"{c.show(kind)} is not a kind of record; allowed: {', '.join(KINDS)}"
            problems.append(
                Problem(
                    path=f"kinds[{i}]" if isinstance(value, list | tuple) else "kinds",
                    code="choice",
                    message=msg,
                )
            )
            if len(problems) >= MAX_LISTED:
                break
    if problems:
        raise ValidationError(problems)
    return frozenset(cast("Iterable[str]", value))


def _check_contacts(value: object) -> Mapping[str, Contact]:
    if value is None:
        return {}
    value = c.to_mapping(value, "contacts")
    if not isinstance(value, Mapping):
        raise c.at("contacts", c.wrong_type(value, "a mapping of record id to Contact"))
    problems: list[Problem] = []
    for key, contact in value.items():
        problem = c.identifier(key)
        where = f"contacts[{c.show(key)}]"
        if problem is not None:
            problems.append(problem.prefixed(where))
        elif not isinstance(contact, Contact):
            problems.append(c.wrong_type(contact, "a Contact").prefixed(where))
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    return cast("Mapping[str, Contact]", value)


def read_records(records: object, kinds: frozenset[str], path: str = "records") -> list[tuple[str, Any]]:
    """
    ``(kind, record)`` for each record of *kinds* in *records*; a record of
    another type, or a kind and id met before, is reported at ``path[i]``.
    """
    c.require_iterable(records, "Customer, KeyPerson or Lead", path)
    out: list[tuple[str, Any]] = []
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for i, record in enumerate(cast("Iterable[object]", records)):
        kind = _KIND_OF.get(type(record))
        if kind is None:
            problems.append(
                c.wrong_type(record, "a Customer, a KeyPerson or a Lead").prefixed(f"{path}[{i}]")
            )
        elif (kind, record.id) in seen:  # type: ignore[attr-defined]
            msg = f"{kind} {c.show(record.id)} appears twice; give each record once"  # type: ignore[attr-defined]
            problems.append(Problem(path=f"{path}[{i}].id", code="duplicate", message=msg))
        elif kind in kinds:
            seen.add((kind, record.id))  # type: ignore[attr-defined]
            out.append((kind, record))
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    return out


# --- one record as the matcher sees it --------------------------------------------------


class _Rec:
    """A record's normalised name, its bigrams and its contact keys."""

    __slots__ = (
        "compact",
        "contacts",
        "domains",
        "emails",
        "grams",
        "group",
        "member",
        "phones",
        "side",
        "size",
        "words",
    )

    def __init__(  # noqa: PLR0917
        self,
        member: tuple[str, str],
        side: str,
        group: str,
        words: list[str],
        phones: frozenset[str],
        emails: frozenset[str],
        domains: frozenset[str],
    ) -> None:
        self.member = member
        self.side = side
        self.group = group
        self.words = words
        self.compact = compact = "".join(words)
        if len(compact) > 1:
            self.grams = frozenset(map(operator.add, compact, compact[1:]))
        else:
            self.grams = frozenset((compact,)) if compact else frozenset()
        self.size = len(self.grams)
        self.phones = phones
        self.emails = emails
        self.domains = domains
        #: Every contact key, told apart by a prefix: one test finds that two records share none.
        self.contacts = (
            frozenset(
                [*("ph\x1f" + p for p in phones), *("em\x1f" + e for e in emails),
                 *("dm\x1f" + d for d in domains)]
            )
            if phones or emails or domains
            else _NONE
        )  # fmt: skip


_NONE: frozenset[str] = frozenset()


class _Normaliser:
    """The options of one call, applied to each record."""

    def __init__(
        self,
        table: _Suffixes,
        country: str | None,
        free: frozenset[str],
        drop_dots: bool,
        book: Mapping[str, Contact],
    ) -> None:
        self.table = table
        self.country = country
        self.free = free
        self.drop_dots = drop_dots
        self.book = book

    def rec(self, kind: str, record: Any) -> _Rec:
        contact = self.book.get(record.id) if self.book else None
        phones: list[str] = list(contact.phones) if contact else []
        emails: list[str] = list(contact.emails) if contact else []
        websites: tuple[str, ...] = contact.websites if contact else ()
        if kind == "lead":
            name = record.company or ""
            if record.contact_phone is not None:
                phones.append(record.contact_phone)
            if record.contact_email is not None:
                emails.append(record.contact_email)
        else:
            name = record.name
        words = _words(name)
        if kind != "key_person" and words and self.table:
            words = _strip(words, self.table)
        phone_keys = frozenset(p for x in phones if (p := phone(x, self.country))) if phones else _NONE
        email_keys = frozenset(e for x in emails if (e := email(x, self.drop_dots))) if emails else _NONE
        domain_keys = _NONE
        if kind != "key_person" and (websites or email_keys):
            hosts = {_domain(x) for x in websites} | {e.rpartition("@")[2] for e in email_keys}
            domain_keys = frozenset(h for h in hosts if h is not None and not is_free(h, self.free))
        side, group = ("p", record.customer_id) if kind == "key_person" else ("c", "")
        return _Rec((kind, record.id), side, group, words, phone_keys, email_keys, domain_keys)


def _blocks(recs: list[_Rec]) -> dict[str, list[int]]:
    """
    The records sharing each blocking key: the normalised name, its first
    and last four characters, each word of it, each phone, email and domain.
    A key is one str (kind, side, group and value apart by a separator).
    """
    blocks: dict[str, list[int]] = {}
    get = blocks.get
    for i, r in enumerate(recs):
        compact = r.compact
        keys: set[str] = set()
        if compact:
            where = f"{r.side}\x1f{r.group}\x1f"
            keys.add("n" + where + compact)
            if len(compact) > 4:
                keys.add("p" + where + compact[:4])
                keys.add("s" + where + compact[-4:])
            if len(r.words) > 1:
                keys.update(["w" + where + w for w in r.words if len(w) > 1])
        if r.contacts:
            keys.update([f"{r.side}\x1f{k}" for k in r.contacts])
        for key in keys:
            members = get(key)
            if members is None:
                blocks[key] = [i]
            else:
                members.append(i)
    return blocks


def _candidates(recs: list[_Rec], blocks: dict[str, list[int]]) -> set[int]:
    """
    Candidate pairs ``i * n + j`` (i < j) from the blocks: every pair of a
    small block; in a big one, each record with the next :data:`WINDOW` in
    the order of the names (read backwards for a block of name endings).
    """
    n = len(recs)
    found: set[int] = set()
    add = found.add
    for key, members in blocks.items():
        m = len(members)
        if m < 2:
            continue
        if m <= MAX_BLOCK:
            for x in range(m - 1):
                base = members[x] * n  # members are in increasing order
                for j in members[x + 1 :]:
                    add(base + j)
            continue
        if key[0] == "s":
            ordered = sorted(members, key=lambda k: (recs[k].compact[::-1], k))
        else:
            ordered = sorted(members, key=lambda k: (recs[k].compact, k))
        for x in range(m - 1):
            i = ordered[x]
            for j in ordered[x + 1 : x + 1 + WINDOW]:
                add(i * n + j if i < j else j * n + i)
    return found


def _matched(a: _Rec, b: _Rec) -> tuple[str, ...]:
    """What matched besides the bigrams: the same name, phone, email, domain."""
    out = []
    if a.compact and a.compact == b.compact:
        out.append("name")
    if a.phones and not a.phones.isdisjoint(b.phones):
        out.append("phone")
    if a.emails and not a.emails.isdisjoint(b.emails):
        out.append("email")
    if a.domains and not a.domains.isdisjoint(b.domains):
        out.append("domain")
    return tuple(out)


def _exact(num: int, den: int, matched: tuple[str, ...]) -> tuple[Fraction, Fraction]:
    """
    The exact name similarity and score: 1 - (1 - similarity) × the
    product of (1 - weight) of each match.
    """
    similarity = Fraction(num, den)
    miss = 1 - similarity
    for reason in matched:
        weight = WEIGHTS.get(reason)
        if weight is not None:
            miss *= 1 - weight
    return 1 - miss, similarity


_FLOAT_MISS = {k: 1.0 - float(w) for k, w in WEIGHTS.items()}
Scored = tuple[Fraction, int, int, Fraction, tuple[str, ...]]


def _scored(recs: list[_Rec], pairs: Iterable[int], limit: Decimal) -> list[Scored]:
    """
    The pairs scoring at least *limit*: (score, i, j, similarity, matched).
    Floats sift the pairs (the most a pair without a contact match can
    score is bounded by its bigram counts alone); the exact score decides.
    """
    n = len(recs)
    exact_limit = Fraction(limit)
    most_missed = 1.0 - float(limit) + 1e-9
    grams = [r.grams for r in recs]
    sizes = [r.size for r in recs]
    contacts = [r.contacts for r in recs]
    kept = []
    for p in pairs:
        i, j = divmod(p, n)
        sa, sb = sizes[i], sizes[j]
        total = sa + sb
        ca = contacts[i]
        miss = _contact_miss(recs[i], recs[j]) if ca and not ca.isdisjoint(contacts[j]) else 1.0
        if total:
            if miss * (1.0 - 2 * (min(sb, sa)) / total) > most_missed:
                continue  # even every bigram of the shorter name shared would not do
            shared = len(grams[i] & grams[j])
            if miss * (1.0 - 2 * shared / total) > most_missed:
                continue
        else:
            shared = 0
            if miss > most_missed:
                continue
        matched = _matched(recs[i], recs[j])
        score, similarity = _exact(2 * shared, total or 1, matched)
        if score >= exact_limit:
            kept.append((score, i, j, similarity, matched))
    return kept


def _contact_miss(a: _Rec, b: _Rec) -> float:
    """The product of (1 - weight) of the contacts *a* and *b* share, in floats."""
    miss = 1.0
    if not a.phones.isdisjoint(b.phones):
        miss = _FLOAT_MISS["phone"]
    if not a.emails.isdisjoint(b.emails):
        miss *= _FLOAT_MISS["email"]
    if not a.domains.isdisjoint(b.domains):
        miss *= _FLOAT_MISS["domain"]
    return miss


def _clusters(n: int, edges: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components of more than one record (union-find), each sorted, by first member."""
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in edges:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for x in range(n):
        groups.setdefault(root(x), []).append(x)
    return sorted(members for members in groups.values() if len(members) > 1)


def normaliser(
    *,
    suffixes: object,
    country_code: object,
    free_mail: object,
    drop_dots: object,
    contacts: object,
) -> _Normaliser:
    """The checked options of a call, as one normaliser."""
    table = _suffix_table(check_strings(suffixes, "suffixes", "suffixes"))
    country = check_country_code(country_code)
    free = check_free_mail(free_mail)
    if not isinstance(drop_dots, bool):
        raise c.at("drop_dots", c.wrong_type(drop_dots, "a bool"))
    return _Normaliser(table, country, free, drop_dots, _check_contacts(contacts))


def find_duplicates(
    records: Iterable[Customer | KeyPerson | Lead],
    *,
    threshold: Decimal | str | float = DEFAULT_THRESHOLD,
    kinds: Iterable[str] | None = None,
    contacts: Mapping[str, Contact] | None = None,
    country_code: str | None = None,
    suffixes: Iterable[str] = COMPANY_SUFFIXES,
    free_mail: Iterable[str] = FREE_MAIL_DOMAINS,
    drop_dots: bool = False,
) -> DuplicateReport:
    """
    The pairs among *records* (customers, key persons and leads) that look
    like one company or one person, each with a score and its reasons, and
    the clusters they join.

    What is compared: a customer with a customer or a lead (a lead's
    *company*), a lead with a lead, and a key person with a key person of
    the same customer (by name), or of any customer (by phone or email).
    *kinds* (``"customer"``, ``"key_person"``, ``"lead"``; default all)
    leaves the records of other kinds out.  Names are normalised by
    :func:`normalize_name` (company names without the legal-form
    *suffixes*; people's names keep every word), phones by
    :func:`normalize_phone` with *country_code*, emails by
    :func:`normalize_email` with *drop_dots*, web domains by
    :func:`normalize_domain` (a free-mail domain of *free_mail* is never a
    company's).  A lead's own ``contact_phone`` and ``contact_email`` count;
    *contacts* adds phones, emails and websites by record id (a customer's
    and a key person's entity holds none); a domain counts for companies
    only (two people at one company share it).

    The score: the *name similarity* is the Dice coefficient of the
    normalised names' character bigrams (spaces removed): 2 × shared /
    (bigrams of one + bigrams of the other), in [0, 1].  Each other match
    adds evidence (:data:`WEIGHTS`: the same phone 4/5, email 9/10, web
    domain 3/5), combined as independent evidence:
    ``score = 1 - (1 - similarity) × (1 - 4/5 if phone) × (1 - 9/10 if email) × (1 - 3/5 if domain)``,
    an exact ``Fraction``.  A pair is kept when its score is at least
    *threshold* (default 0.8): the same name, phone or email alone, or a
    similar name on the same domain.

    Blocking keeps it fast: only records that share a key are scored: the
    normalised name, its first and last four characters, a word of it, a
    phone, an email or a domain.  A block of more than :data:`MAX_BLOCK`
    records (a common word) is compared by sorted neighbourhood (each record
    with the :data:`WINDOW` next in name order).  So a pair sharing no key
    is never found (two names with nothing in common but bigrams), which
    scoring every pair would find; 100,000 customers take seconds.

    The result does not depend on the order of *records*.  A record of
    another type, or one given twice, is refused by its index
    (``records[3]``, ``records[3].id``).

    Cost: O(n · k · w) for n records with k keys each, blocks compared in
    windows of w, plus O(p log p) to sort p pairs found.
    """
    return _find(
        records,
        threshold=threshold,
        kinds=kinds,
        options={
            "contacts": contacts,
            "country_code": country_code,
            "suffixes": suffixes,
            "free_mail": free_mail,
            "drop_dots": drop_dots,
        },
        blocked=True,
    )


def _find(
    records: object, *, threshold: object, kinds: object, options: Mapping[str, object], blocked: bool
) -> DuplicateReport:
    limit = check_threshold(threshold)
    wanted = _check_kinds(kinds)
    norm = normaliser(**options)
    given = read_records(records, wanted)
    given.sort(key=lambda kr: (_KIND_ORDER[kr[0]], kr[1].id))
    recs = [norm.rec(kind, record) for kind, record in given]
    candidates = _candidates(recs, _blocks(recs)) if blocked else _every_pair(recs)
    kept = _scored(recs, candidates, limit)
    return _report(recs, kept, limit, len(candidates))


def _report(recs: list[_Rec], kept: list[Scored], limit: Decimal, compared: int) -> DuplicateReport:
    kept.sort(key=lambda k: (k[1], k[2]))
    kept.sort(key=lambda k: k[0], reverse=True)  # stable: ties stay in member order
    pairs = tuple(
        _pair(recs[i].member, recs[j].member, score, sim, matched) for score, i, j, sim, matched in kept
    )
    groups = _clusters(len(recs), [(k[1], k[2]) for k in kept])
    clusters = tuple(tuple(recs[x].member for x in group) for group in groups)
    return DuplicateReport(
        threshold=limit, pairs=pairs, clusters=clusters, records=len(recs), compared=compared
    )


_set = object.__setattr__


def _pair(
    left: tuple[str, str], right: tuple[str, str], score: Fraction, sim: Fraction, matched: tuple[str, ...]
) -> DuplicatePair:
    """A pair built from values the matcher made (valid by construction), without the checks."""
    pair = object.__new__(DuplicatePair)
    _set(pair, "left", left)
    _set(pair, "right", right)
    _set(pair, "score", score)
    _set(pair, "name_similarity", sim)
    _set(pair, "matched", matched)
    return pair


def all_pairs(
    records: Iterable[Customer | KeyPerson | Lead],
    *,
    threshold: Decimal | str | float = DEFAULT_THRESHOLD,
    kinds: Iterable[str] | None = None,
    **options: Any,
) -> DuplicateReport:
    """
    :func:`find_duplicates` without blocking: every pair of comparable
    records scored; the oracle of tests and the baseline of the benchmark,
    not public.  Cost: O(n²).
    """
    defaults: dict[str, object] = {
        "contacts": None,
        "country_code": None,
        "suffixes": COMPANY_SUFFIXES,
        "free_mail": FREE_MAIL_DOMAINS,
        "drop_dots": False,
    }
    return _find(records, threshold=threshold, kinds=kinds, options={**defaults, **options}, blocked=False)


def _every_pair(recs: list[_Rec]) -> list[int]:
    """Every pair of comparable records: one side, and one customer for people unless a contact is shared."""
    n = len(recs)
    return [
        i * n + j
        for i in range(n)
        for j in range(i + 1, n)
        if recs[i].side == recs[j].side
        and (recs[i].group == recs[j].group or _shares_contact(recs[i], recs[j]))
    ]


def _shares_contact(a: _Rec, b: _Rec) -> bool:
    return not (a.phones.isdisjoint(b.phones) and a.emails.isdisjoint(b.emails))
