"""
Embedding funnelkit in a service: the I/O lives here, not in the library.

A minimal "CRM backend" keeps deals, their stage events and the lead routing
state in SQLite (standard library), and calls funnelkit for the rules.  It
shows the pattern a host follows:

- read values from storage, call a pure funnelkit function with ``now``,
  write back what it returned;
- optimistic concurrency: the row's version is checked in the ``UPDATE``, and
  funnelkit's ``expected_version`` turns a stale read into
  ``ConcurrencyConflict`` instead of a silent overwrite;
- state (round-robin pointers, recent assignments) is a value saved between
  calls.

Run it with ``python examples/embedded_service.py`` (an in-memory database).
"""

import datetime as dt
import json
import sqlite3

import attrs

from funnelkit import Activity, KeyPerson, Lead, Opportunity, SalesRep, from_dict, to_dict
from funnelkit.assignment import AssignmentState, RoundRobin, Team, assign, convert_lead
from funnelkit.errors import ConcurrencyConflict, MilestoneNotMet
from funnelkit.stages import StageChanged, advance, default_pipeline, replay

SCHEMA = """
create table deal (id text primary key, version integer not null, body text not null);
create table event (deal_id text not null, version integer not null, body text not null,
                    primary key (deal_id, version));
create table routing (id integer primary key check (id = 1), body text not null);
create table person (id text primary key, customer_id text not null, body text not null);
"""


class Service:
    """The host application: storage and transactions; funnelkit decides."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        self.db.executescript(SCHEMA)
        self.db.execute("insert into routing values (1, ?)", (json.dumps(AssignmentState().to_dict()),))
        self.pipeline = default_pipeline()
        self.team = Team(reps=[SalesRep(id="ann", name="Ann"), SalesRep(id="bob", name="Bob")])

    # --- leads ------------------------------------------------------------------

    def route(self, leads: list[Lead], now: dt.datetime) -> dict[str, str]:
        """Assign leads round robin, resuming from the saved pointer."""
        self.db.execute("begin immediate")
        (body,) = self.db.execute("select body from routing where id = 1").fetchone()
        state = AssignmentState.from_dict(json.loads(body))
        result = assign(leads, team=self.team, policy=RoundRobin(), now=now, state=state)
        self.db.execute("update routing set body = ? where id = 1", (json.dumps(result.state.to_dict()),))
        self.db.execute("commit")
        return dict(result.owners)

    # --- deals ------------------------------------------------------------------

    def add(self, lead: Lead, now: dt.datetime) -> Opportunity:
        """Convert a qualified lead into a deal in the first stage."""
        made = convert_lead(lead, pipeline=self.pipeline, now=now, customer_id=f"c-{lead.id}",
                            opportunity_id=f"o-{lead.id}", contact_id=f"kp-{lead.id}",
                            contact_role="decision_maker")  # fmt: skip
        deal = made.opportunity
        for person in made.key_persons:
            self.db.execute(
                "insert into person values (?, ?, ?)",
                (person.id, person.customer_id, json.dumps(to_dict(person))),
            )
        self.db.execute(
            "insert into deal values (?, ?, ?)", (deal.id, deal.version, json.dumps(to_dict(deal)))
        )
        return deal

    def load(self, deal_id: str) -> Opportunity:
        (body,) = self.db.execute("select body from deal where id = ?", (deal_id,)).fetchone()
        return from_dict(Opportunity, json.loads(body))

    def move(self, deal_id: str, *, seen_version: int, now: dt.datetime, activities: list[Activity]) -> int:
        """Advance a deal the caller read at *seen_version*; returns the new version."""
        deal = self.load(deal_id)
        rows = self.db.execute("select body from person where customer_id = ?", (deal.customer_id,))
        people = [from_dict(KeyPerson, json.loads(body)) for (body,) in rows]
        moved, event = advance(
            deal,
            self.pipeline,
            now=now,
            actor="api",
            activities=activities,
            key_persons=people,
            expected_version=seen_version,
        )
        self.db.execute("begin immediate")
        updated = self.db.execute(
            "update deal set version = ?, body = ? where id = ? and version = ?",
            (moved.version, json.dumps(to_dict(moved)), deal_id, seen_version),
        ).rowcount
        if updated != 1:  # someone else wrote in between: the same rule as funnelkit's
            (stored,) = self.db.execute("select version from deal where id = ?", (deal_id,)).fetchone()
            self.db.execute("rollback")
            raise ConcurrencyConflict(
                opportunity_id=deal_id, expected_version=seen_version, actual_version=stored
            )
        self.db.execute(
            "insert into event values (?, ?, ?)", (deal_id, event.version, json.dumps(to_dict(event)))
        )
        self.db.execute("commit")
        return moved.version

    def history(self, deal_id: str) -> list[StageChanged]:
        rows = self.db.execute("select body from event where deal_id = ? order by version", (deal_id,))
        return [from_dict(StageChanged, json.loads(body)) for (body,) in rows]


def main() -> None:
    now = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    service = Service()
    leads = [
        Lead(
            id=f"web-{i}",
            source="web",
            created_at=now,
            company=f"Company {i}",
            contact_name=f"Contact {i}",
            needs="shared files",
        )
        for i in range(3)
    ]
    owners = service.route(leads, now)
    print("routed:", owners)
    more = service.route([Lead(id="web-9", source="web", created_at=now)], now)
    print("next call resumes the round robin:", more)

    lead = attrs.evolve(leads[0], owner=owners["web-0"])
    initial = service.add(lead, now)
    visit = Activity(id="v1", kind="visit", at=now + dt.timedelta(hours=2), rep_id=lead.owner,
                     customer_id=initial.customer_id, opportunity_id=initial.id, purpose="intro",
                     needs_found="shared files for 40 people")  # fmt: skip
    try:
        service.move(initial.id, seen_version=0, now=now + dt.timedelta(hours=1), activities=[])
    except MilestoneNotMet as e:
        print("refused:", e)
    version = service.move(initial.id, seen_version=0, now=now + dt.timedelta(days=1), activities=[visit])
    print(f"moved to {service.load(initial.id).stage!r}, version {version}")
    try:  # a second client still holding version 0
        service.move(initial.id, seen_version=0, now=now + dt.timedelta(days=2), activities=[visit])
    except ConcurrencyConflict as e:
        print("stale write refused:", e)
    replayed = replay(initial, service.history(initial.id))
    print("replaying the stored events gives the stored deal:", replayed == service.load(initial.id))


if __name__ == "__main__":
    main()
