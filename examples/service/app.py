"""
A reference HTTP service that embeds funnelkit (Starlette).

funnelkit decides (may this deal move? who gets this lead? what is the
forecast?); this module does the I/O: HTTP, the clock, and the database
through ``storage.py``.  Every write follows one pattern: read, call a pure
funnelkit function with ``now``, write what it returned by compare-and-set
in one transaction, and start again from fresh reads if someone else wrote
first (:func:`storage.retrying`).  When the move is no longer allowed after
a retry, funnelkit's refusal goes back to the caller as JSON.

Starlette rather than FastAPI: funnelkit already validates every value and
reports each problem with its path and code, so a second validation layer
(pydantic models, FastAPI's own 422 format) would only disagree with it.

Run it::

    python examples/service/app.py --db sqlite:///service.db --port 8000 --seed

then open http://127.0.0.1:8000/.  ``--db postgresql://user@host:port/db``
uses PostgreSQL (``pip install 'funnelkit[service]'``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from storage import (
    Busy,
    Conflict,
    Duplicate,
    NotFound,
    Store,
    Tx,
    crash_point,
    dumps,
    retrying,
    totals,
)

from funnelkit import Activity, Customer, Lead, Money, Opportunity, SalesRep, from_dict, to_dict
from funnelkit.assignment import (
    Claim,
    LoadBalance,
    Pool,
    RoundRobin,
    Team,
    assign,
    convert_lead,
    reassign,
)
from funnelkit.errors import (
    AssignmentError,
    ClaimConflict,
    ConcurrencyConflict,
    CurrencyMismatchError,
    FunnelkitError,
    MilestoneNotMet,
    Problem,
    TransitionNotAllowed,
    ValidationError,
)
from funnelkit.forecast import expected_bookings, funnel, weighted_forecast
from funnelkit.stages import Pipeline, advance, edit, lose, readiness, win

#: The service's pipeline: configuration, kept as the dict a CRM would store.
PIPELINE = Pipeline.from_dict(
    {
        "key": "service",
        "label": "Service pipeline",
        "stages": [
            {
                "key": "contact",
                "label": "Contact",
                "probability": "0.1",
                "requirements": [
                    {
                        "type": "activities",
                        "kinds": ["visit"],
                        "at_least": 1,
                        "filled": ["purpose", "needs_found"],
                    }
                ],
            },
            {
                "key": "qualified",
                "label": "Qualified",
                "probability": "0.3",
                "requirements": [{"type": "fields", "fields": ["amount", "expected_close"]}],
            },
            {
                "key": "proposal",
                "label": "Proposal",
                "probability": "0.6",
                "requirements": [
                    {
                        "type": "activities",
                        "kinds": ["demo", "meeting"],
                        "at_least": 1,
                        "filled": ["feedback"],
                    }
                ],
            },
            {"key": "negotiation", "label": "Negotiation", "probability": "0.8"},
            {"key": "won", "label": "Won", "probability": "1", "outcome": "won"},
            {"key": "lost", "label": "Lost", "probability": "0", "outcome": "lost"},
        ],
        "lost_reasons": ["price", "competitor", "no_budget", "no_decision", "timing", "other"],
    }
)

#: How long a pool claim protects a customer, and how many a rep may hold.
PROTECT_FOR = dt.timedelta(days=7)
MAX_CLAIMS = 25

#: Request bodies: refused before parsing when larger or nested deeper than this.
MAX_BODY = 64 * 1024
MAX_DEPTH = 32

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_KEEP = bytes.maketrans(b"", b"")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


class Clock:
    """
    The service's "now".  Real UTC time by default; the load test sets
    ``FUNNELKIT_SERVICE_CLOCK=<iso start>,<speed>,<unix t0>`` so that every
    process runs the same fast clock (a minute of load is weeks of company).
    """

    def __init__(self, spec: str | None = None) -> None:
        spec = os.environ.get("FUNNELKIT_SERVICE_CLOCK", "") if spec is None else spec
        if spec:
            start, speed, t0 = spec.split(",")
            self._start: dt.datetime | None = dt.datetime.fromisoformat(start)
            self._speed = float(speed)
            self._t0 = float(t0)
        else:
            self._start = None

    def now(self) -> dt.datetime:
        if self._start is None:
            return dt.datetime.now(dt.UTC)
        return self._start + dt.timedelta(seconds=(time.time() - self._t0) * self._speed)


class HTTPProblem(Exception):
    """A refusal of the HTTP layer itself (body too large, not JSON, ...), before funnelkit."""

    def __init__(self, status: int, problems: list[Problem]) -> None:
        self.status = status
        self.problems = problems
        super().__init__(problems[0].message)


def _problem(status: int, path: str, code: str, message: str) -> HTTPProblem:
    return HTTPProblem(status, [Problem(path=path, code=code, message=message)])


# --- request bodies ---------------------------------------------------------------------


def _depth(raw: bytes) -> int:
    """How deeply the JSON text nests, brackets inside strings aside: linear, no recursion."""
    brackets = _STRINGS.sub(b'""', raw).translate(_KEEP, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _no_constant(name: str) -> object:
    msg = f"{name} is not JSON"
    raise ValueError(msg)


async def read_json(request: Request) -> dict[str, Any]:
    """
    The request's JSON object, or a 4xx: the size is checked from the header and
    while reading (never more than MAX_BODY bytes read), the nesting by a scan
    of the bytes before any parsing.
    """
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        msg = f"a request body is at most {MAX_BODY:,} bytes; this one says {length[:20]}"
        raise _problem(413, "body", "limit", msg)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _problem(413, "body", "limit", f"a request body is at most {MAX_BODY:,} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth(raw) > MAX_DEPTH:
        raise _problem(400, "body", "nested", f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _problem(400, "body", "format", f"not a JSON document: {str(e)[:200]}") from None
    if not isinstance(data, dict):
        raise _problem(422, "body", "type", f"expected a JSON object, got {type(data).__name__}")
    return data


def _fields(
    body: Mapping[str, Any], *, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()
) -> None:
    problems = [Problem(path=k, code="missing", message="required") for k in required if k not in body]
    allowed = set(required) | set(optional)
    problems += [
        Problem(path=str(k)[:100], code="unknown_field", message=f"allowed: {', '.join(sorted(allowed))}")
        for k in body
        if k not in allowed
    ]
    if problems:
        raise ValidationError(problems)


def _text(body: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = body.get(key, default)
    if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 200):
        raise ValidationError.single(key, "expected a string of 1 to 200 characters", code="type")
    return value


def _money(body: Mapping[str, Any], key: str = "amount") -> Money | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return from_dict(Money, value)
    except ValidationError as e:
        raise e.prefixed(key) from None


def _date(body: Mapping[str, Any], key: str) -> dt.date | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return (
            dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else _bad_date(value)
        )
    except ValueError:
        return _bad_date(value)


def _bad_date(value: object) -> dt.date:
    raise ValidationError.single(
        "expected_close", f"{str(value)[:40]!r} is not a date YYYY-MM-DD", code="format"
    )


# --- the service ------------------------------------------------------------------------


class Service:
    """The operations: each reads, asks funnelkit, and writes by compare-and-set."""

    def __init__(self, store: Store, clock: Clock | None = None, pipeline: Pipeline = PIPELINE) -> None:
        self.store = store
        self.clock = clock or Clock()
        self.pipeline = pipeline

    def team(self) -> tuple[Team, dict[str, int]]:
        reps = self.store.reps()
        team = Team(reps=[SalesRep(id=i, name=n, active=a) for i, n, a, _ in reps])
        return team, {i: v for i, _, _, v in reps}

    # reps, customers, leads -------------------------------------------------------

    def add_rep(self, body: dict[str, Any]) -> dict[str, Any]:
        _fields(body, required=("id", "name"))
        rep = SalesRep(id=body["id"], name=body["name"])

        def write() -> None:
            if self.store.read("select 1 from rep where id = ?", (rep.id,)):
                raise Duplicate("rep", rep.id)
            with self.store.write() as tx:
                tx.execute("insert into rep values (?, ?, 1, 0)", (rep.id, rep.name))

        retrying(write, store=self.store)
        return {"rep": to_dict(rep)}

    def add_customer(self, body: dict[str, Any]) -> dict[str, Any]:
        _fields(body, required=("id", "name"), optional=("owner",))
        customer = Customer(
            id=body["id"], name=body["name"], created_at=self.clock.now(), owner=body.get("owner")
        )

        def operation() -> None:
            if self.store.read("select 1 from customer where id = ?", (customer.id,)):
                raise Duplicate("customer", customer.id)
            team, versions = self.team()
            if customer.owner is not None and not team.rep(customer.owner).active:
                raise AssignmentError(f"rep {customer.owner!r} is inactive")
            with self.store.write() as tx:
                if customer.owner is not None:  # the rep must still be there when we write
                    tx.cas(
                        "update rep set row_version = row_version + 1 where id = ? and row_version = ?",
                        (customer.owner, versions[customer.owner]),
                    )
                    self.store.record_owner(tx, "customer", customer.id, None, customer.owner, "created")
                tx.execute(
                    "insert into customer values (?, ?, 0, ?)", (customer.id, customer.owner, dumps(customer))
                )

        _, retries = retrying(operation, store=self.store)
        return {"customer": to_dict(customer), "retries": retries}

    def route(self, body: dict[str, Any]) -> dict[str, Any]:
        """Route new leads round robin; the routing state is a row written by compare-and-set."""
        _fields(body, required=("leads",))
        if not isinstance(body["leads"], list) or not 0 < len(body["leads"]) <= 100:
            raise ValidationError.single("leads", "expected a list of 1 to 100 leads", code="type")

        def operation() -> dict[str, str | None]:
            now = self.clock.now()
            leads: list[Lead] = []
            for i, item in enumerate(body["leads"]):
                if not isinstance(item, dict):
                    raise ValidationError.single(f"leads[{i}]", "expected an object", code="type")
                for key in ("owner", "status"):  # routing decides these
                    if key in item:
                        msg = "set by the service, not the caller"
                        raise ValidationError.single(f"leads[{i}].{key}", msg, code="unknown_field")
                try:
                    leads.append(from_dict(Lead, {"created_at": now.isoformat(), "source": "api", **item}))
                except ValidationError as e:
                    raise e.prefixed(f"leads[{i}]") from None
            for lead in leads:
                if self.store.read("select 1 from lead where id = ?", (lead.id,)):
                    raise Duplicate("lead", lead.id)
            state, version = self.store.routing()  # read before the team: see storage's notes
            team, _ = self.team()
            result = assign(leads, team=team, policy=RoundRobin(), now=now, state=state)
            owners = {d.lead_id: d.rep_id for d in result.decisions}
            with self.store.write() as tx:
                tx.cas(
                    "update routing set body = ?, row_version = row_version + 1 "
                    "where id = 1 and row_version = ?",
                    (json.dumps(result.state.to_dict()), version),
                )
                for lead in leads:
                    owned = Lead(**{**_attrs(lead), "owner": owners.get(lead.id)})
                    tx.execute(
                        "insert into lead values (?, ?, ?, 0, ?)",
                        (owned.id, owned.owner, owned.status.value, dumps(owned)),
                    )
                    if owned.owner is not None:
                        self.store.record_owner(tx, "lead", owned.id, None, owned.owner, "routed")
            return owners

        owners, retries = retrying(operation, store=self.store)
        return {"owners": owners, "retries": retries}

    def convert(self, lead_id: str, body: dict[str, Any]) -> dict[str, Any]:
        _fields(body, optional=("amount", "expected_close"))
        amount, close = _money(body), _date(body, "expected_close")

        def operation() -> Opportunity:
            lead, version = self.store.lead(lead_id)
            made = convert_lead(
                lead,
                pipeline=self.pipeline,
                now=self.clock.now(),
                opportunity_id=f"o-{lead.id}",
                customer_id=f"c-{lead.id}",
                amount=amount,
                expected_close=close,
            )
            customer = made.customer
            with self.store.write() as tx:
                tx.cas(
                    "update lead set status = ?, body = ?, row_version = row_version + 1 "
                    "where id = ? and row_version = ?",
                    (made.lead.status.value, dumps(made.lead), lead.id, version),
                )
                if customer is not None:
                    tx.execute(
                        "insert into customer values (?, ?, 0, ?)",
                        (customer.id, customer.owner, dumps(customer)),
                    )
                    if customer.owner is not None:
                        self.store.record_owner(
                            tx, "customer", customer.id, None, customer.owner, "converted"
                        )
                self.store.insert_deal(tx, made.opportunity)
            return made.opportunity

        deal, retries = retrying(operation, store=self.store)
        return {"deal": to_dict(deal), "retries": retries}

    # deals --------------------------------------------------------------------------

    def add_deal(self, body: dict[str, Any]) -> dict[str, Any]:
        """A deal on an owned customer; the customer's row version guards it against a reassignment."""
        _fields(body, required=("id", "customer_id"), optional=("amount", "expected_close"))
        amount, close = _money(body), _date(body, "expected_close")

        def operation() -> Opportunity:
            if self.store.read("select 1 from deal where id = ?", (body["id"],)):
                raise Duplicate("deal", str(body["id"]))
            customer, version = self.store.customer(str(body["customer_id"]))
            if customer.owner is None:
                raise AssignmentError(f"customer {customer.id!r} is in the pool: claim it first")
            now = self.clock.now()
            deal = Opportunity(
                id=body["id"],
                customer_id=customer.id,
                owner=customer.owner,
                pipeline=self.pipeline.key,
                stage=self.pipeline.stages[0].key,
                created_at=now,
                stage_entered_at=now,
                amount=amount,
                expected_close=close,
            )
            with self.store.write() as tx:
                tx.cas(
                    "update customer set row_version = row_version + 1 where id = ? and row_version = ?",
                    (customer.id, version),
                )
                self.store.insert_deal(tx, deal)
            return deal

        deal, retries = retrying(operation, store=self.store)
        return {"deal": to_dict(deal), "retries": retries}

    def get_deal(self, deal_id: str) -> dict[str, Any]:
        return {"deal": self.store.deal_document(deal_id)}

    def history(self, deal_id: str) -> dict[str, Any]:
        self.store.deal(deal_id)
        return {"events": to_dict(self.store.events(deal_id))}

    def log_activity(self, deal_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Activities are facts about a deal, not part of its versioned state: a plain insert."""
        deal = self.store.deal(deal_id)
        if "id" not in body:
            raise ValidationError.single("id", "required", code="missing")
        given = {k: v for k, v in body.items() if k not in {"at", "rep_id", "customer_id", "opportunity_id"}}
        activity: Activity = from_dict(
            Activity,
            {
                **given,
                "at": self.clock.now().isoformat(),
                "rep_id": deal.owner,
                "customer_id": deal.customer_id,
                "opportunity_id": deal.id,
            },
        )

        def write() -> None:
            if self.store.read("select 1 from activity where id = ?", (activity.id,)):
                raise Duplicate("activity", activity.id)
            with self.store.write() as tx:
                tx.execute("insert into activity values (?, ?, ?)", (activity.id, deal.id, dumps(activity)))

        retrying(write, store=self.store)
        return {"activity": to_dict(activity)}

    def _activities(self, deal_id: str) -> list[Activity]:
        return self.store.activities(deal_id)

    def readiness(self, deal_id: str) -> dict[str, Any]:
        deal = self.store.deal(deal_id)
        report = readiness(deal, self.pipeline, now=self.clock.now(), activities=self._activities(deal_id))
        return {"readiness": report.to_dict(), "text": str(report)}

    def move(self, kind: str, deal_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """
        Advance, win or lose.  With ``expected_version``, a deal that changed
        since the caller read it is refused (409); without it, the move is
        decided again on the deal as it is now.  ``request_id`` makes a
        retried request safe: one that already happened is answered, not redone.
        """
        _fields(body, optional=("expected_version", "to", "reason", "request_id", "actor"))
        request_id = _text(body, "request_id")
        actor = _text(body, "actor", "api") or "api"

        def operation() -> tuple[Opportunity, bool]:
            if request_id is not None and (done := self.store.done(request_id)) is not None:
                return self.store.deal(done[0]), True
            deal = self.store.deal(deal_id)
            now = self.clock.now()
            options: dict[str, Any] = {
                "now": now,
                "actor": actor,
                "expected_version": body.get("expected_version"),
            }
            if "to" in body:
                options["to"] = body["to"]
            if kind == "lose":
                moved, event = lose(deal, self.pipeline, reason=body.get("reason", "other"), **options)
            else:
                step = advance if kind == "advance" else win
                moved, event = step(deal, self.pipeline, activities=self._activities(deal_id), **options)
            with self.store.write() as tx:
                self.store.save_deal(tx, deal, moved, [event], request_id=request_id)
            crash_point("after commit, before the answer")
            return moved, False

        try:
            (deal, replayed), retries = retrying(operation, store=self.store)
        except FunnelkitError as e:
            self.store.refuse(request_id, deal_id, type(e).__name__, error_body(e)[1])
            raise
        return {"deal": to_dict(deal), "retries": retries, "replayed": replayed}

    def edit(self, deal_id: str, body: dict[str, Any]) -> dict[str, Any]:
        _fields(body, optional=("amount", "expected_close", "expected_version", "request_id"))
        request_id = _text(body, "request_id")
        changes: dict[str, Any] = {}
        if "amount" in body:
            changes["amount"] = _money(body)
        if "expected_close" in body:
            changes["expected_close"] = _date(body, "expected_close")

        def operation() -> tuple[Opportunity, bool]:
            if request_id is not None and (done := self.store.done(request_id)) is not None:
                return self.store.deal(done[0]), True  # done before the caller lost the answer
            deal = self.store.deal(deal_id)
            after, events = edit(
                deal,
                now=self.clock.now(),
                actor="api",
                expected_version=body.get("expected_version"),
                **changes,
            )
            if events:
                with self.store.write() as tx:
                    self.store.save_deal(tx, deal, after, events, request_id=request_id)
            return after, bool(events)

        try:
            (deal, changed), retries = retrying(operation, store=self.store)
        except FunnelkitError as e:
            self.store.refuse(request_id, deal_id, type(e).__name__, error_body(e)[1])
            raise
        return {"deal": to_dict(deal), "retries": retries, "changed": changed}

    # the pool and reassignment -------------------------------------------------------

    def claim(self, body: dict[str, Any], *, release: bool = False) -> dict[str, Any]:
        """Claim (or release) a pool customer; the rep's and the customer's row versions guard it."""
        _fields(body, required=("customer_id", "rep_id"))
        cid, rep_id = _text(body, "customer_id"), _text(body, "rep_id")
        assert cid is not None
        assert rep_id is not None

        def operation() -> Claim | None:
            team, versions = self.team()
            customer, cversion = self.store.customer(cid)
            if rep_id not in versions:
                raise NotFound("rep", rep_id)
            held = self.store.claims(cid, rep_id)
            pool = Pool(
                protect_for=PROTECT_FOR, max_claims=MAX_CLAIMS, claims={k: c for k, (c, _) in held.items()}
            )
            now = self.clock.now()
            if release:
                pool.release(cid, rep_id, now=now)
                claim = None
            else:
                _, claim = pool.claim(cid, rep_id, now=now, team=team, owner=customer.owner)
            with self.store.write() as tx:
                tx.cas(
                    "update rep set row_version = row_version + 1 "
                    "where id = ? and row_version = ? and active = 1",
                    (rep_id, versions[rep_id]),
                )
                tx.cas(
                    "update customer set row_version = row_version + 1 where id = ? and row_version = ?",
                    (cid, cversion),
                )
                before = held.get(cid)
                if claim is None:
                    if before is not None:
                        tx.cas(
                            "delete from claim where customer_id = ? and row_version = ?", (cid, before[1])
                        )
                        self.store.log_claim(tx, "release", before[0], now)
                elif before is None:
                    tx.execute("insert into claim values (?, ?, 0, ?)", (cid, rep_id, dumps(claim)))
                else:
                    tx.cas(
                        "update claim set rep_id = ?, body = ?, row_version = row_version + 1 "
                        "where customer_id = ? and row_version = ?",
                        (rep_id, dumps(claim), cid, before[1]),
                    )
                if claim is not None:
                    self.store.log_claim(tx, "claim", claim, now)
            return claim

        claim, retries = retrying(operation, store=self.store)
        return {"claim": None if claim is None else to_dict(claim), "retries": retries}

    def leave(self, rep_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """
        A rep leaves: their customers with their open deals, and their open
        leads, go to the others (funnelkit's ``reassign``); their claims go
        back to the pool.  One transaction, every row by compare-and-set.
        """
        _fields(body, optional=("reason",))
        reason = _text(body, "reason", "left the company") or "left the company"

        def operation() -> dict[str, Any]:
            state, routing_version = self.store.routing()
            team, versions = self.team()
            if rep_id not in versions:
                raise NotFound("rep", rep_id)
            customers = self.store.customers_owned_by(rep_id)
            deals = {d.id: d for d in self.store.deals_of([c.id for c, _ in customers])}
            deals.update({d.id: d for d in self.store.open_deals_owned_by(rep_id)})
            leads = self.store.open_leads_owned_by(rep_id)
            claims = self.store.claims_of(rep_id)
            now = self.clock.now()
            rest = Team(
                reps=[
                    r if r.id != rep_id else SalesRep(id=r.id, name=r.name, active=False) for r in team.reps
                ]
            )
            result = reassign(
                rep_id,
                team=rest,
                policy=LoadBalance(),
                now=now,
                actor="manager",
                reason=reason,
                customers=[c for c, _ in customers],
                opportunities=list(deals.values()),
                leads=[lead for lead, _ in leads],
                state=state,
            )
            moves = {(m.kind, m.id): m for m in result.moves}
            with self.store.write() as tx:
                tx.cas(
                    "update rep set active = 0, row_version = row_version + 1 "
                    "where id = ? and row_version = ?",
                    (rep_id, versions[rep_id]),
                )
                tx.cas(
                    "update routing set body = ?, row_version = row_version + 1 "
                    "where id = 1 and row_version = ?",
                    (json.dumps(result.state.to_dict()), routing_version),
                )
                self._write_moves(tx, result.customers, dict(customers), "customer", moves)
                for after in result.opportunities:
                    if (m := moves.get(("opportunity", after.id))) is not None:
                        self.store.save_deal(tx, deals[after.id], after, [m])
                self._write_moves(tx, result.leads, dict(leads), "lead", moves)
                for cid, (claim, version) in sorted(claims.items()):
                    tx.cas("delete from claim where customer_id = ? and row_version = ?", (cid, version))
                    self.store.log_claim(tx, "release", claim, now)
            return {"moved": len(result.moves), "unmoved": [to_dict(u) for u in result.unmoved]}

        found, retries = retrying(operation, store=self.store)
        return {**found, "retries": retries}

    def _write_moves(
        self, tx: Tx, records: Any, versions: dict[Any, int], kind: str, moves: dict[Any, Any]
    ) -> None:
        by_id = {r.id: v for r, v in versions.items()}
        for after in records:
            move = moves.get((kind, after.id))
            if move is None:
                continue
            if kind == "customer":
                tx.cas(
                    "update customer set owner = ?, body = ?, row_version = row_version + 1 "
                    "where id = ? and row_version = ?",
                    (after.owner, dumps(after), after.id, by_id[after.id]),
                )
            else:
                tx.cas(
                    "update lead set owner = ?, body = ?, row_version = row_version + 1 "
                    "where id = ? and row_version = ?",
                    (after.owner, dumps(after), after.id, by_id[after.id]),
                )
            self.store.record_owner(tx, kind, after.id, move.from_rep, move.to_rep, move.why)

    # reports --------------------------------------------------------------------------

    def weighted(self) -> dict[str, Any]:
        report = weighted_forecast(self.store.deals(open_only=True), self.pipeline, by=["owner"])
        return {"forecast": report.to_dict(), "text": str(report)}

    def bookings(self, days: int, backtests: int) -> dict[str, Any]:
        deals, events = self.store.deals(), self.store.events()
        now = self.clock.now()
        report = expected_bookings(
            deals,
            events,
            self.pipeline,
            start=now,
            end=now + dt.timedelta(days=days),
            now=now,
            backtests=backtests,
        )
        return {"bookings": report.to_dict(), "text": str(report)}

    def funnel(self) -> tuple[dict[str, Any], str]:
        # Counts and times only: the velocity needs one currency, and the deals here are in several.
        deals = [attrs.evolve(d, amount=None) for d in self.store.deals()]
        report = funnel(deals, self.store.stage_events(), self.pipeline)
        numbers = {
            "won": report.won,
            "lost": report.lost,
            "open_deals": report.open_deals,
            "stages": [
                {
                    "stage": s.stage,
                    "entered": s.entered,
                    "advanced": s.advanced,
                    "lost": s.lost,
                    "conversion": None if s.conversion is None else f"{float(s.conversion):.4f}",
                }
                for s in report.stages
            ],
        }
        return numbers, report.to_svg()

    def stats(self) -> dict[str, Any]:
        counts = {t: self.store.count(t) for t in ("deal", "event", "customer", "lead", "claim", "activity")}
        return {"counts": counts, "money": totals(self.store)}


def _attrs(value: Any) -> dict[str, Any]:
    return attrs.asdict(value, recurse=False)


# --- HTTP -------------------------------------------------------------------------------


def error_body(e: Exception) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON answer for a refusal: funnelkit's problems with their paths and codes."""
    if isinstance(e, HTTPProblem):
        return e.status, {"error": e.problems[0].code, "problems": [_p(p) for p in e.problems]}
    if isinstance(e, ValidationError):
        return 422, {"error": "validation", "problems": [_p(p) for p in e.problems]}
    if isinstance(e, ConcurrencyConflict):
        return 409, {
            "error": "conflict",
            "message": str(e),
            "expected_version": e.expected_version,
            "actual_version": e.actual_version,
        }
    if isinstance(e, MilestoneNotMet):
        return 422, {"error": "state", "message": str(e), "to": e.to_stage, "unmet": list(e.unmet)}
    if isinstance(e, TransitionNotAllowed):
        return 409, {"error": "state", "message": str(e), "allowed": list(e.allowed)}
    if isinstance(e, ClaimConflict):
        return 409, {"error": "conflict", "message": str(e), "holder": e.holder}
    if isinstance(e, CurrencyMismatchError):
        return 422, {"error": "currency", "message": str(e)}
    if isinstance(e, FunnelkitError):
        return 409, {"error": getattr(e, "code", "state"), "message": str(e)}
    if isinstance(e, NotFound):
        return 404, {"error": "reference", "message": str(e)}
    if isinstance(e, Duplicate):
        return 409, {"error": "duplicate", "message": str(e)}
    if isinstance(e, Busy | Conflict):
        return 503, {"error": "busy", "message": str(e)}
    return 500, {"error": "internal", "message": type(e).__name__}


def _p(p: Problem) -> dict[str, str]:
    return {"path": p.path, "code": p.code, "message": p.message}


def _json(data: Any, status: int = 200, retries: int = 0) -> JSONResponse:
    headers = {"x-retries": str(data.get("retries", retries))} if isinstance(data, dict) else {}
    return JSONResponse(data, status_code=status, headers=headers)


async def _refused(_request: Request, e: Exception) -> Response:
    status, body = error_body(e)
    if isinstance(e, FunnelkitError):
        body["type"] = type(e).__name__
    return JSONResponse(body, status_code=status, headers={"retry-after": "1"} if status == 503 else None)


def _endpoint(
    call: Callable[[Service, Request, dict[str, Any]], Any], *, body: bool = True
) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        data = await read_json(request) if body else {}
        service: Service = request.app.state.service
        return _json(await run_in_threadpool(call, service, request, data))

    return endpoint


def _int_param(request: Request, key: str, default: int, high: int) -> int:
    value = request.query_params.get(key, str(default))
    if not value.isdigit() or not 1 <= int(value) <= high:
        raise _problem(422, key, "range", f"{key} must be a whole number from 1 to {high}")
    return int(value)


async def page(request: Request) -> Response:
    """The funnel on a small HTML page: funnelkit's SVG and its numbers in a table."""
    service: Service = request.app.state.service
    (numbers, svg), forecast = await run_in_threadpool(lambda: (service.funnel(), service.weighted()))
    e = html.escape
    rows = "".join(
        f'<tr data-stage="{e(s["stage"])}"><th>{e(s["stage"])}</th>'
        f'<td class="entered">{s["entered"]}</td><td class="advanced">{s["advanced"]}</td>'
        f'<td class="lost">{s["lost"]}</td><td class="conversion">{s["conversion"] or "-"}</td></tr>'
        for s in numbers["stages"]
    )
    lines = forecast["forecast"].get("lines", [])
    weighted = "".join(
        f"<tr><th>{e(' '.join(line.get('key', [])))}</th><td>{e(line.get('currency', ''))}</td>"
        f"<td>{e(str((line.get('weighted') or {}).get('amount', '')))}"
        f"</td></tr>"
        for line in lines[:20]
    )
    text = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>funnelkit service</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 10px;text-align:right}}</style></head>
<body><h1>Pipeline</h1>
<div id="funnel">{svg}</div>
<table id="numbers"><thead><tr><th>stage</th><th>entered</th><th>advanced</th><th>lost</th><th>conversion</th>
</tr></thead><tbody>{rows}</tbody></table>
<p id="totals">won <span id="won">{numbers["won"]}</span>, lost <span id="lost">{numbers["lost"]}</span>,
open <span id="open">{numbers["open_deals"]}</span></p>
<h2>Weighted forecast by owner</h2><table id="weighted">{weighted}</table>
</body></html>"""
    return HTMLResponse(text)


def _move_route(kind: str) -> Route:
    def call(s: Service, r: Request, b: dict[str, Any]) -> dict[str, Any]:
        return s.move(kind, r.path_params["deal"], b)

    return Route(f"/api/deals/{{deal}}/{kind}", _endpoint(call), methods=["POST"])


def create_app(store: Store, clock: Clock | None = None) -> Starlette:
    routes = [
        Route("/", page),
        Route("/healthz", lambda _r: JSONResponse({"ok": True})),
        Route("/api/reps", _endpoint(lambda s, _r, b: s.add_rep(b)), methods=["POST"]),
        Route(
            "/api/reps/{rep}/leave",
            _endpoint(lambda s, r, b: s.leave(r.path_params["rep"], b)),
            methods=["POST"],
        ),
        Route("/api/customers", _endpoint(lambda s, _r, b: s.add_customer(b)), methods=["POST"]),
        Route("/api/leads", _endpoint(lambda s, _r, b: s.route(b)), methods=["POST"]),
        Route(
            "/api/leads/{lead}/convert",
            _endpoint(lambda s, r, b: s.convert(r.path_params["lead"], b)),
            methods=["POST"],
        ),
        Route("/api/deals", _endpoint(lambda s, _r, b: s.add_deal(b)), methods=["POST"]),
        Route("/api/deals/{deal}", _endpoint(lambda s, r, _b: s.get_deal(r.path_params["deal"]), body=False)),
        Route(
            "/api/deals/{deal}",
            _endpoint(lambda s, r, b: s.edit(r.path_params["deal"], b)),
            methods=["PATCH"],
        ),
        Route(
            "/api/deals/{deal}/events",
            _endpoint(lambda s, r, _b: s.history(r.path_params["deal"]), body=False),
        ),
        Route(
            "/api/deals/{deal}/activities",
            _endpoint(lambda s, r, b: s.log_activity(r.path_params["deal"], b)),
            methods=["POST"],
        ),
        Route(
            "/api/deals/{deal}/readiness",
            _endpoint(lambda s, r, _b: s.readiness(r.path_params["deal"]), body=False),
        ),
        *(_move_route(kind) for kind in ("advance", "win", "lose")),
        Route("/api/pool/claim", _endpoint(lambda s, _r, b: s.claim(b)), methods=["POST"]),
        Route("/api/pool/release", _endpoint(lambda s, _r, b: s.claim(b, release=True)), methods=["POST"]),
        Route("/api/forecast/weighted", _endpoint(lambda s, _r, _b: s.weighted(), body=False)),
        Route(
            "/api/forecast/bookings",
            _endpoint(
                lambda s, r, _b: s.bookings(
                    _int_param(r, "days", 30, 366), _int_param(r, "backtests", 4, 24)
                ),
                body=False,
            ),
        ),
        Route("/api/funnel", _endpoint(lambda s, _r, _b: s.funnel()[0], body=False)),
        Route("/api/stats", _endpoint(lambda s, _r, _b: s.stats(), body=False)),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            Exception: _refused,
            HTTPProblem: _refused,
            FunnelkitError: _refused,
            NotFound: _refused,
            Duplicate: _refused,
            Busy: _refused,
        },
    )
    app.state.service = Service(store, clock)
    return app


def seed(service: Service, *, reps: int = 4, customers: int = 6) -> None:
    """A small company to look at: reps, customers (some in the pool) and a few deals moved along."""
    for i in range(reps):
        service.add_rep({"id": f"rep-{i}", "name": f"Rep {i}"})
    for i in range(customers):
        owner = f"rep-{i % reps}" if i % 3 else None
        service.add_customer({"id": f"cust-{i}", "name": f"Customer {i}", "owner": owner})
        if owner is not None:
            deal = service.add_deal(
                {
                    "id": f"deal-{i}",
                    "customer_id": f"cust-{i}",
                    "amount": {"amount": f"{1000 * (i + 1)}", "currency": "EUR"},
                    "expected_close": "2027-03-31",
                }
            )["deal"]
            service.log_activity(
                deal["id"], {"id": f"visit-{i}", "kind": "visit", "purpose": "intro", "needs_found": "a CRM"}
            )
            service.move("advance", deal["id"], {})
            if i % 2:
                service.move("advance", deal["id"], {})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--db", default="sqlite:///service.db")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--seed", action="store_true", help="add a small company first")
    args = parser.parse_args(argv)
    import uvicorn

    store = Store(args.db)
    store.init_schema()
    app = create_app(store)
    if args.seed and not store.count("rep"):
        seed(app.state.service)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
