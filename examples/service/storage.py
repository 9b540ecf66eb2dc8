"""
The service's storage: every SQL statement of the example lives in this module.

Two back ends behind one class: SQLite (the default, standard library) and
PostgreSQL (psycopg 3).  The rules that keep an embedded engine honest:

- **Append-only events with a unique (deal, version) key.**  A deal's events
  are never updated or deleted; the primary key makes a second writer of the
  same version fail instead of forking the history.
- **Compare-and-set in the same transaction as the events.**  The deal row is
  written with ``UPDATE ... WHERE id = ? AND version = ?`` and its events are
  inserted in the same transaction: both land or neither does.  Customers,
  leads, reps, claims and the routing state carry a ``row_version`` used the
  same way.
- **Reads outside, writes inside.**  An operation reads what it needs without
  holding a lock, asks funnelkit for the new values, then writes them in one
  short transaction whose compare-and-sets fail (:class:`Conflict`) if anything
  it read has changed.  :func:`retrying` then runs the whole operation again
  from fresh reads, so funnelkit decides again: the move goes through, or its
  refusal (a ``ConcurrencyConflict``, a ``TransitionNotAllowed``, ...) goes
  back to the caller.

:func:`verify` checks, from the database alone, that the rules held.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import random
import signal
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from funnelkit import Activity, Customer, Lead, Money, Opportunity, from_dict, to_dict
from funnelkit.assignment import AssignmentState, Claim, OwnerChanged
from funnelkit.entities import OpportunityStatus
from funnelkit.events import Event
from funnelkit.stages import (
    AmountChanged,
    CategoryChanged,
    CloseDateChanged,
    Pipeline,
    StageChanged,
    replay,
)

T = TypeVar("T")

#: What a deal's log holds: its moves, edits and changes of owner.
DealEvent = StageChanged | AmountChanged | CloseDateChanged | CategoryChanged | OwnerChanged
_DEAL_EVENTS = (StageChanged, AmountChanged, CloseDateChanged, CategoryChanged, OwnerChanged)


@functools.lru_cache(maxsize=8192)
def opportunity(text: str) -> Opportunity:
    """
    A stored deal read back.  Cached by its text: values are immutable, and a
    row that has not changed since the last read is not parsed again.
    """
    deal: Opportunity = from_dict(Opportunity, json.loads(text))
    return deal


@functools.lru_cache(maxsize=8192)
def activity(text: str) -> Activity:
    """A stored activity read back (cached by its text, like :func:`opportunity`)."""
    found: Activity = from_dict(Activity, json.loads(text))
    return found


def deal_event(text: str) -> DealEvent:
    """One stored event, read back as the value funnelkit wrote (its document names its type)."""
    event: Event = from_dict(Event, json.loads(text))
    if not isinstance(event, _DEAL_EVENTS):
        msg = f"not a deal event: {type(event).__name__}"
        raise TypeError(msg)
    return event


SCHEMA = """
create table if not exists rep (
    id text primary key, name text not null, active integer not null, row_version integer not null);
create table if not exists routing (
    id integer primary key, body text not null, row_version integer not null);
create table if not exists customer (
    id text primary key, owner text, row_version integer not null, body text not null);
create table if not exists lead (
    id text primary key, owner text, status text not null, row_version integer not null,
    body text not null);
create table if not exists deal (
    id text primary key, customer_id text not null, owner text not null, stage text not null,
    status text not null, version integer not null, currency text, amount text, body text not null);
create index if not exists deal_customer on deal (customer_id);
create index if not exists deal_owner on deal (owner);
create table if not exists deal_start (id text primary key, body text not null);
create table if not exists event (
    deal_id text not null, version integer not null, kind text not null, request_id text,
    body text not null, primary key (deal_id, version));
create unique index if not exists event_request on event (request_id);
create table if not exists activity (id text primary key, deal_id text not null, body text not null);
create index if not exists activity_deal on activity (deal_id);
create table if not exists claim (
    customer_id text primary key, rep_id text not null, row_version integer not null,
    body text not null);
create table if not exists claim_log (
    customer_id text not null, seq integer not null, action text not null, rep_id text not null,
    at text not null, expires_at text not null, primary key (customer_id, seq));
create table if not exists ownership (
    kind text not null, id text not null, seq integer not null, from_rep text, to_rep text not null,
    why text not null, primary key (kind, id, seq));
create table if not exists booking (
    deal_id text not null, version integer not null, currency text not null, amount text not null,
    primary key (deal_id, version));
create table if not exists refusal (
    request_id text primary key, deal_id text not null, code text not null, body text not null);
"""


class Conflict(Exception):
    """Something this operation read changed before it wrote: read again and redo."""


class Busy(Exception):
    """Still conflicting after every retry: the caller should try later (HTTP 503)."""


class NotFound(Exception):
    """No such row."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no {kind} {key!r}")


class Duplicate(Exception):
    """An id that is already taken (a unique key said no)."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} already exists")


def dumps(value: object) -> str:
    return json.dumps(to_dict(value), separators=(",", ":"), sort_keys=True)


def crash_point(name: str) -> None:
    """
    Fault injection for the load test: with probability FUNNELKIT_SERVICE_CRASH,
    the process kills itself here, exactly as ``kill -9`` would.
    """
    rate = float(os.environ.get("FUNNELKIT_SERVICE_CRASH", "0") or 0)
    if rate and random.random() < rate:
        os.kill(os.getpid(), signal.SIGKILL)
    del name


class Tx:
    """One open write transaction: statements with ``?`` placeholders."""

    def __init__(self, cursor: Any, *, postgres: bool) -> None:
        self._cursor = cursor
        self._postgres = postgres

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._postgres else sql

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        self._cursor.execute(self._sql(sql), tuple(params))
        return int(self._cursor.rowcount)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        self._cursor.execute(self._sql(sql), tuple(params))
        return list(self._cursor.fetchall())

    def cas(self, sql: str, params: Sequence[object]) -> None:
        """An UPDATE that must change exactly one row, else someone else wrote first."""
        if self.execute(sql, params) != 1:
            raise Conflict(sql.split()[1])


class Store:
    """A database: SQLite (``sqlite:///path``) or PostgreSQL (``postgresql://...``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith(("postgresql://", "postgres://"))
        if not self.postgres and not url.startswith("sqlite:///"):
            msg = f"unknown database URL {url!r}: sqlite:///path or postgresql://..."
            raise ValueError(msg)
        self._local = threading.local()

    # --- connections ----------------------------------------------------------------

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _connect(self) -> Any:
        if self.postgres:
            import psycopg

            return psycopg.connect(self.url, autocommit=True)
        conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
        conn.execute("pragma journal_mode = wal")
        conn.execute("pragma synchronous = normal")  # durable against a killed process
        conn.execute("pragma busy_timeout = 0")  # see _begin_immediate
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def init_schema(self) -> None:
        with self.write() as tx:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    tx.execute(statement)
            if not tx.query("select 1 from routing where id = 1"):
                tx.execute("insert into routing values (1, ?, 0)", (json.dumps(AssignmentState().to_dict()),))

    def read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """
        A read outside any transaction (each statement sees the latest commits),
        or inside the exclusive transaction when one is open (:meth:`exclusive`).
        """
        held: Tx | None = getattr(self._local, "tx", None)
        if held is not None:
            return held.query(sql, params)
        conn = self._connection()
        if self.postgres:
            with conn.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), tuple(params))
                return list(cur.fetchall())
        return list(conn.execute(sql, tuple(params)).fetchall())

    @contextlib.contextmanager
    def write(self) -> Iterator[Tx]:
        """
        One write transaction.  A unique-key violation, a lock that cannot be
        had, a deadlock or a serialization failure all surface as
        :class:`Conflict`: the operation is redone from fresh reads.
        """
        held: Tx | None = getattr(self._local, "tx", None)
        if held is not None:  # inside exclusive(): part of that transaction
            yield held
            return
        conn = self._connection()
        if self.postgres:
            import psycopg

            try:
                with conn.transaction(), conn.cursor() as cur:
                    yield Tx(cur, postgres=True)
            except psycopg.errors.UniqueViolation as e:
                raise Conflict(str(e)) from e
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as e:
                raise Conflict(str(e)) from e
            return
        self._begin_immediate(conn)
        try:
            yield Tx(conn.cursor(), postgres=False)
        except sqlite3.IntegrityError as e:
            conn.execute("rollback")
            raise Conflict(str(e)) from e
        except BaseException:
            conn.execute("rollback")
            raise
        conn.execute("commit")

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """
        Run an operation with every other writer held off: its reads and its
        writes in one transaction that no other write can interleave with.
        The fallback for an operation that keeps losing its compare-and-sets
        (a rep's whole book reassigned while clients move deals in it): slower
        for everyone for a moment, but it finishes.  SQLite's write lock
        already excludes other writers; PostgreSQL locks the tables written
        to, in the order every operation writes them.
        """
        with self.write() as tx:
            if self.postgres:
                tx.execute(
                    "lock table rep, routing, customer, deal, deal_start, event, lead, activity, claim, "
                    "claim_log, ownership, booking in share row exclusive mode"
                )
            self._local.tx = tx
            try:
                yield
            finally:
                self._local.tx = None

    @staticmethod
    def _begin_immediate(conn: sqlite3.Connection) -> None:
        """
        Take SQLite's write lock, polling every millisecond or so: SQLite's own
        busy handler sleeps up to 100 ms at a time, which is most of a
        request's latency when several processes write.
        """
        deadline = time.monotonic() + 30
        while True:
            try:
                conn.execute("begin immediate")
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e):
                    raise
                if time.monotonic() > deadline:
                    raise Conflict(str(e)) from e
                time.sleep(random.uniform(0.0002, 0.0015))
            else:
                return

    # --- reads ------------------------------------------------------------------------

    def deal(self, deal_id: str) -> Opportunity:
        rows = self.read("select body from deal where id = ?", (deal_id,))
        if not rows:
            raise NotFound("deal", deal_id)
        return opportunity(rows[0][0])

    def deal_document(self, deal_id: str) -> dict[str, Any]:
        """The stored deal as its JSON document, as funnelkit wrote it (no need to build the value)."""
        rows = self.read("select body from deal where id = ?", (deal_id,))
        if not rows:
            raise NotFound("deal", deal_id)
        found: dict[str, Any] = json.loads(rows[0][0])
        return found

    def deals(self, *, open_only: bool = False) -> list[Opportunity]:
        sql = (
            "select body from deal where status = 'open' order by id"
            if open_only
            else "select body from deal"
        )
        return [opportunity(b) for (b,) in self.read(sql)]

    def deals_of(self, customer_ids: Sequence[str]) -> list[Opportunity]:
        out: list[Opportunity] = []
        for cid in customer_ids:
            rows = self.read("select body from deal where customer_id = ? and status = 'open'", (cid,))
            out.extend(opportunity(b) for (b,) in rows)
        return out

    def open_deals_owned_by(self, rep_id: str) -> list[Opportunity]:
        rows = self.read("select body from deal where owner = ? and status = 'open' order by id", (rep_id,))
        return [opportunity(b) for (b,) in rows]

    def events(self, deal_id: str | None = None) -> list[DealEvent]:
        if deal_id is None:
            rows = self.read("select body from event order by deal_id, version")
        else:
            rows = self.read("select body from event where deal_id = ? order by version", (deal_id,))
        return [deal_event(b) for (b,) in rows]

    def stage_events(self) -> list[StageChanged]:
        rows = self.read("select body from event where kind = 'StageChanged' order by deal_id, version")
        return [from_dict(StageChanged, json.loads(b)) for (b,) in rows]

    def activities(self, deal_id: str) -> list[Activity]:
        rows = self.read("select body from activity where deal_id = ? order by id", (deal_id,))
        return [activity(b) for (b,) in rows]

    def customer(self, customer_id: str) -> tuple[Customer, int]:
        rows = self.read("select body, row_version from customer where id = ?", (customer_id,))
        if not rows:
            raise NotFound("customer", customer_id)
        return from_dict(Customer, json.loads(rows[0][0])), int(rows[0][1])

    def customers_owned_by(self, rep_id: str) -> list[tuple[Customer, int]]:
        rows = self.read("select body, row_version from customer where owner = ? order by id", (rep_id,))
        return [(from_dict(Customer, json.loads(b)), int(v)) for b, v in rows]

    def lead(self, lead_id: str) -> tuple[Lead, int]:
        rows = self.read("select body, row_version from lead where id = ?", (lead_id,))
        if not rows:
            raise NotFound("lead", lead_id)
        return from_dict(Lead, json.loads(rows[0][0])), int(rows[0][1])

    def open_leads_owned_by(self, rep_id: str) -> list[tuple[Lead, int]]:
        rows = self.read(
            "select body, row_version from lead "
            "where owner = ? and status in ('new', 'working', 'qualified') "
            "order by id",
            (rep_id,),
        )
        return [(from_dict(Lead, json.loads(b)), int(v)) for b, v in rows]

    def reps(self) -> list[tuple[str, str, bool, int]]:
        return [
            (i, n, bool(a), int(v))
            for i, n, a, v in self.read("select id, name, active, row_version from rep order by id")
        ]

    def routing(self) -> tuple[AssignmentState, int]:
        ((body, version),) = self.read("select body, row_version from routing where id = 1")
        return AssignmentState.from_dict(json.loads(body)), int(version)

    def claims(self, customer_id: str, rep_id: str) -> dict[str, tuple[Claim, int]]:
        rows = self.read(
            "select body, row_version from claim where customer_id = ? or rep_id = ?", (customer_id, rep_id)
        )
        found = {}
        for body, version in rows:
            claim: Claim = from_dict(Claim, json.loads(body))
            found[claim.customer_id] = (claim, int(version))
        return found

    def claims_of(self, rep_id: str) -> dict[str, tuple[Claim, int]]:
        rows = self.read("select body, row_version from claim where rep_id = ?", (rep_id,))
        found = {}
        for body, version in rows:
            claim: Claim = from_dict(Claim, json.loads(body))
            found[claim.customer_id] = (claim, int(version))
        return found

    def done(self, request_id: str) -> tuple[str, int] | None:
        """The deal and version a request already produced (a retried request is answered, not redone)."""
        rows = self.read("select deal_id, version from event where request_id = ?", (request_id,))
        return (str(rows[0][0]), int(rows[0][1])) if rows else None

    def count(self, table: str) -> int:
        return int(self.read(f"select count(*) from {table}")[0][0])  # noqa: S608 - our own table names

    # --- writes (inside a transaction) ------------------------------------------------

    @staticmethod
    def insert_deal(tx: Tx, deal: Opportunity) -> None:
        """A new deal at version 0: its row and its starting value, which replay begins from."""
        amount = deal.amount
        tx.execute(
            "insert into deal values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                deal.id,
                deal.customer_id,
                deal.owner,
                deal.stage,
                deal.status.value,
                deal.version,
                None if amount is None else amount.currency,
                None if amount is None else str(amount.amount),
                dumps(deal),
            ),
        )
        tx.execute("insert into deal_start values (?, ?)", (deal.id, dumps(deal)))

    @staticmethod
    def save_deal(
        tx: Tx,
        before: Opportunity,
        after: Opportunity,
        events: Sequence[DealEvent],
        *,
        request_id: str | None = None,
    ) -> None:
        """
        The storage rule: compare-and-set the deal row on the version it was
        read at, and append its events, in the caller's transaction.  The
        request id goes on the last event, so a retried request is recognised.
        """
        amount = after.amount
        tx.cas(
            "update deal set owner = ?, stage = ?, status = ?, version = ?, currency = ?, amount = ?, "
            "body = ? where id = ? and version = ?",
            (
                after.owner,
                after.stage,
                after.status.value,
                after.version,
                None if amount is None else amount.currency,
                None if amount is None else str(amount.amount),
                dumps(after),
                after.id,
                before.version,
            ),
        )
        crash_point("after the deal's compare-and-set, before its events")
        for i, event in enumerate(events):
            tx.execute(
                "insert into event values (?, ?, ?, ?, ?)",
                (
                    after.id,
                    event.version,
                    type(event).__name__,
                    request_id if i == len(events) - 1 else None,
                    dumps(event),
                ),
            )
        # Bookings: what a win adds to the books, and what an edit of a won deal changes.
        if after.status is OpportunityStatus.WON and amount is not None:
            was = before.amount if before.status is OpportunityStatus.WON else None
            delta = amount.amount - (was.amount if was is not None else 0)
            if delta:
                tx.execute(
                    "insert into booking values (?, ?, ?, ?)",
                    (after.id, after.version, amount.currency, str(delta)),
                )

    @staticmethod
    def record_owner(  # noqa: PLR0917 - one link: what, which, from, to, why
        tx: Tx, kind: str, key: str, from_rep: str | None, to_rep: str, why: str
    ) -> None:
        """One link of a lead's or customer's chain of owners; the key (kind, id, seq) is unique."""
        ((seq,),) = tx.query(
            "select coalesce(max(seq), -1) + 1 from ownership where kind = ? and id = ?", (kind, key)
        )
        tx.execute("insert into ownership values (?, ?, ?, ?, ?, ?)", (kind, key, seq, from_rep, to_rep, why))

    @staticmethod
    def log_claim(tx: Tx, action: str, claim: Claim, at: dt.datetime) -> None:
        ((seq,),) = tx.query(
            "select coalesce(max(seq), -1) + 1 from claim_log where customer_id = ?", (claim.customer_id,)
        )
        tx.execute(
            "insert into claim_log values (?, ?, ?, ?, ?, ?)",
            (claim.customer_id, seq, action, claim.rep_id, at.isoformat(), claim.expires_at.isoformat()),
        )

    def refuse(self, request_id: str | None, deal_id: str, code: str, body: dict[str, Any]) -> None:
        """Note a refused move (its own small transaction): the load test checks it left nothing behind."""
        if request_id is None:
            return
        with contextlib.suppress(Conflict), self.write() as tx:
            tx.execute(
                "insert into refusal values (?, ?, ?, ?)", (request_id, deal_id, code, json.dumps(body))
            )


def retrying(
    operation: Callable[[], T], *, store: Store | None = None, attempts: int = 12, exclusive_after: int = 4
) -> tuple[T, int]:
    """
    Run *operation* (reads, funnelkit, one write transaction) until its
    compare-and-sets hold; returns its result and how many retries it took.
    Funnelkit's own refusals are not retried: they go back to the caller.
    After *exclusive_after* lost attempts, given the *store*, the operation
    runs inside :meth:`Store.exclusive`, where it cannot lose again.
    """
    for attempt in range(attempts):
        try:
            if store is not None and attempt >= exclusive_after:
                with store.exclusive():
                    return operation(), attempt
            return operation(), attempt
        except Conflict:
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
    raise Busy(f"still conflicting after {attempts} attempts")


# --- invariants, from the database alone --------------------------------------------------


def verify(store: Store, pipeline: Pipeline) -> dict[str, int]:  # noqa: C901 - one pass per invariant
    """
    Check the storage rules held, reading nothing but the database.  Every
    count named ``*_violations`` must be 0.
    """
    starts: dict[str, Opportunity] = {
        i: from_dict(Opportunity, json.loads(b)) for i, b in store.read("select id, body from deal_start")
    }
    stored = {i: json.loads(b) for i, b in store.read("select id, body from deal")}
    by_deal: dict[str, list[tuple[int, DealEvent]]] = defaultdict(list)
    for deal_id, version, body in store.read("select deal_id, version, body from event"):
        by_deal[deal_id].append((int(version), deal_event(body)))
    found = Counter[str]()
    found["deals"] = len(stored)
    found["events"] = sum(len(v) for v in by_deal.values())
    opps: dict[str, Opportunity] = {}
    for deal_id, body in stored.items():
        events = sorted(by_deal.get(deal_id, []), key=lambda ve: ve[0])
        versions = [v for v, _ in events]
        if versions != list(range(1, body["version"] + 1)):
            found["version_violations"] += 1
        start = starts.get(deal_id)
        if start is None:
            found["replay_violations"] += 1
            continue
        try:
            replayed = replay(start, [e for _, e in events], pipeline=pipeline)
        except Exception:  # noqa: BLE001 - any refusal to replay is a broken history
            found["replay_violations"] += 1
            continue
        if to_dict(replayed) != body:
            found["replay_violations"] += 1
        opps[deal_id] = replayed
    found["deals_without_start_violations"] = len(set(stored) - set(starts)) + len(set(starts) - set(stored))
    found["orphan_event_violations"] = len(set(by_deal) - set(stored))

    # One account, one owner: open deals follow their customer's owner.
    owners = dict(store.read("select id, owner from customer"))
    for opp in opps.values():
        if opp.status is OpportunityStatus.OPEN and owners.get(opp.customer_id) not in (None, opp.owner):
            found["split_account_violations"] += 1
    # Leads and customers: the chain of owners is unbroken and ends at the stored owner.
    chains: dict[tuple[str, str], list[tuple[int, str | None, str]]] = defaultdict(list)
    for kind, key, seq, from_rep, to_rep in store.read(
        "select kind, id, seq, from_rep, to_rep from ownership"
    ):
        chains[kind, key].append((int(seq), from_rep, to_rep))
    current = {("customer", i): o for i, o in owners.items()}
    current.update({("lead", i): o for i, o in store.read("select id, owner from lead")})
    for key, owner in current.items():
        links = sorted(chains.get(key, []))
        if owner is None and not links:
            continue
        if [s for s, _, _ in links] != list(range(len(links))):
            found["owner_chain_violations"] += 1
            continue
        holder = None
        for _, from_rep, to_rep in links:
            if from_rep != holder:
                found["two_owner_violations"] += 1  # two writers both thought they had it
            holder = to_rep
        if holder != owner:
            found["owner_chain_violations"] += 1
    # The pool: no claim taken while another rep's claim on the same customer was in force.
    log: dict[str, list[tuple[int, str, str, str, str]]] = defaultdict(list)
    for cid, seq, action, rep, at, expires in store.read("select * from claim_log"):
        log[cid].append((int(seq), action, rep, at, expires))
    for entries in log.values():
        holder_rep, until = None, ""
        for _, action, rep, at, expires in sorted(entries):
            if action == "claim":
                if holder_rep not in (None, rep) and dt.datetime.fromisoformat(
                    at
                ) < dt.datetime.fromisoformat(until):
                    found["double_claim_violations"] += 1
                holder_rep, until = rep, expires
            elif action == "release":
                holder_rep, until = None, ""
        found["claims_logged"] += len(entries)
    # Nothing open is left with a rep who has left (converted leads and closed deals keep theirs).
    active = {i for i, _, a, _ in store.reps() if a}
    for (lead_owner,) in store.read("select owner from lead where status in ('new', 'working', 'qualified')"):
        if lead_owner is not None and lead_owner not in active:
            found["departed_owner_violations"] += 1
    for opp in opps.values():
        if opp.status is OpportunityStatus.OPEN and opp.owner not in active:
            found["departed_owner_violations"] += 1

    # Money per currency: starts plus amount edits give the stored amounts; bookings give the wins.
    def add(sums: dict[str, Decimal], money: Money | None, sign: int = 1) -> None:
        if money is not None:
            sums[money.currency] = sums.get(money.currency, Decimal(0)) + sign * money.amount

    expected: dict[str, Decimal] = {}
    actual: dict[str, Decimal] = {}
    won: dict[str, Decimal] = {}
    for deal_id, start in starts.items():
        add(expected, start.amount)
        for _, e in by_deal.get(deal_id, []):
            if isinstance(e, AmountChanged):
                add(expected, e.after)
                add(expected, e.before, -1)
    for opp in opps.values():
        add(actual, opp.amount)
        if opp.status is OpportunityStatus.WON:
            add(won, opp.amount)
    booked: dict[str, Decimal] = {}
    for currency, amount in store.read("select currency, amount from booking"):
        booked[currency] = booked.get(currency, Decimal(0)) + Decimal(amount)
    for currency in sorted(set(expected) | set(actual)):
        if expected.get(currency, 0) != actual.get(currency, 0):
            found["money_violations"] += 1
    for currency in sorted(set(won) | set(booked)):
        if won.get(currency, 0) != booked.get(currency, 0):
            found["booking_violations"] += 1
    found["currencies"] = len(actual)
    # Refused moves left nothing behind: no event carries a refused request's id.
    found["refusals_logged"] = store.count("refusal")
    found["refused_with_effect_violations"] = int(
        store.read("select count(*) from refusal r join event e on e.request_id = r.request_id")[0][0]
    )
    found["owner_changes"] = sum(1 for v in by_deal.values() for _, e in v if isinstance(e, OwnerChanged))
    for name in (
        "version_violations",
        "replay_violations",
        "split_account_violations",
        "owner_chain_violations",
        "two_owner_violations",
        "double_claim_violations",
        "departed_owner_violations",
        "money_violations",
        "booking_violations",
    ):
        found.setdefault(name, 0)
    return dict(sorted(found.items()))


def totals(store: Store) -> dict[str, dict[str, str]]:
    """Amounts per currency: all deals, and won (for the report)."""
    out: dict[str, dict[str, str]] = {"all": {}, "won": {}}
    for currency, status, amount in store.read(
        "select currency, status, amount from deal where currency is not null"
    ):
        for key in ("all", "won") if status == "won" else ("all",):
            out[key][currency] = str(Decimal(out[key].get(currency, "0")) + Decimal(amount))
    return out
