# ruff: noqa: S603, PLR0917 - runs our own programs; drivers take their settings positionally
"""
Load-and-fault test of the reference service (``nox -s service``).

Several server processes share one database; several driver processes push
a seeded company through the HTTP API (deals created and moved, activities,
amount edits, leads routed and converted, pool claims, reps leaving) while
servers are killed with SIGKILL at random, from outside and from inside a
transaction.  Then, from the database alone, the storage rules are checked
(``storage.verify``), and what the drivers were told is checked against it:
every acknowledged move is in the event log, no refused one is.  Last, the
HTML page is opened in headless Chromium: a screenshot, and its funnel
numbers read back and compared with the API's.

    python examples/service/loadtest.py --db sqlite      # or postgres, or both
    python examples/service/loadtest.py --quick          # a smaller company

Each run writes report.json (and page.png) to --out.  Exit status 1 when any
invariant is violated or any request got a 5xx.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as dt
import json
import multiprocessing as mp
import os
import pathlib
import pwd
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from app import PIPELINE, Service  # noqa: E402
from storage import Store, verify  # noqa: E402

REPS = 10
CURRENCIES = ("EUR", "USD", "JPY")
MOVES = ("advance", "win", "lose", "edit")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- PostgreSQL, started for the run -------------------------------------------------------


def find_postgres() -> pathlib.Path | None:
    found = shutil.which("initdb")
    if found:
        return pathlib.Path(found).resolve().parent
    dirs = [d for d in pathlib.Path("/usr/lib/postgresql").glob("*/bin") if (d / "initdb").exists()]
    return max(dirs, key=lambda d: int(d.parent.name)) if dirs else None


def start_postgres(bindir: pathlib.Path) -> tuple[str, Callable[[], None]]:
    """initdb into a temporary directory, start on a free port (as user postgres when we are root)."""
    base = pathlib.Path(tempfile.mkdtemp(prefix="funnelkit-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(base, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", free_port()
    subprocess.run(
        [
            *run_as,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    # The faults here hit the service, not the database server: fsync off keeps the disk quiet.
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=400 -c shared_buffers=128MB"
    )
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(base / "server.log"),
            "-w",
            "-o",
            options,
            "start",
        ],
        check=True,
        capture_output=True,
    )
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
        conn.execute("create database service")

    def stop() -> None:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)

    return f"postgresql://postgres@127.0.0.1:{port}/service", stop


# --- servers, and the fault that kills them -------------------------------------------------


class Servers:
    """The server processes; a supervisor restarts any that die, and a killer kills them at random."""

    def __init__(self, db: str, *, count: int, env: dict[str, str], out: pathlib.Path) -> None:
        self.db, self.env, self.out = db, env, out
        self.ports = [free_port() for _ in range(count)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self.started = [0.0] * count
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.kills = Counter[str]()
        self.threads: list[threading.Thread] = []

    def _start(self, i: int) -> None:
        log = (self.out / f"server-{i}.log").open("ab")
        self.started[i] = time.monotonic()
        self.procs[i] = subprocess.Popen(
            [sys.executable, str(HERE / "app.py"), "--db", self.db, "--port", str(self.ports[i])],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=log,
        )

    def wait_ready(self, i: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.ports[i]}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        msg = f"server {i} did not start; see {self.out}/server-{i}.log"
        raise RuntimeError(msg)

    def start(self, *, kill_every: float) -> None:
        for i in range(len(self.ports)):
            self._start(i)
        for i in range(len(self.ports)):
            self.wait_ready(i)
        self.threads = [threading.Thread(target=self._supervise, daemon=True)]
        if kill_every > 0:
            self.threads.append(threading.Thread(target=self._killer, args=(kill_every,), daemon=True))
        for t in self.threads:
            t.start()

    def _supervise(self) -> None:
        while not self.stopping.is_set():
            for i, proc in enumerate(self.procs):
                if proc is not None and proc.poll() is not None and not self.stopping.is_set():
                    with self.lock:
                        if proc.returncode == -signal.SIGKILL:
                            self.kills["died"] += 1
                        else:
                            self.kills[f"exit {proc.returncode}"] += 1
                        self._start(i)
            time.sleep(0.05)

    def _killer(self, every: float) -> None:
        rng = random.Random(7)
        while not self.stopping.wait(rng.expovariate(1 / every)):
            with self.lock:  # any server up for a while, as long as another one stays up
                now = time.monotonic()
                up = [
                    p
                    for p, t in zip(self.procs, self.started, strict=True)
                    if p is not None and p.poll() is None and now - t > 2
                ]
                if len(up) >= 2:
                    rng.choice(up).send_signal(signal.SIGKILL)
                    self.kills["killed from outside"] += 1

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join()
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()


# --- drivers ------------------------------------------------------------------------------


class Driver:
    """One client process: a random mix of operations, one request at a time."""

    def __init__(self, k: int, ports: list[int], shared: Any, customers: int, pool: int, target: int) -> None:
        self.k, self.ports, self.shared = k, ports, shared
        self.customers, self.pool, self.target = customers, pool, target
        self.rng = random.Random(1000 + k)
        self.client = httpx.Client(timeout=30)
        self.port = self.rng.choice(ports)
        self.n = 0
        self.deals: list[str] = []
        self.known: dict[str, dict[str, Any]] = {}  # what this client last saw of each deal
        self.worked: set[tuple[str, str]] = set()
        self.record: dict[str, Any] = {
            "latency": {"move": [], "other": [], "resent": []},
            "status": Counter(),
            "errors": Counter(),
            "acked": [],
            "refused": [],
            "created": {},
            "retries": 0,
            "reconnects": 0,
            "moves": 0,
        }

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *, kind: str = "other") -> Any:
        """One logical request, sent again (same body, same request id) after a connection dies."""
        start = time.perf_counter()
        for attempt in range(10_000):
            if time.perf_counter() - start > 120:
                break
            try:
                r = self.client.request(method, f"http://127.0.0.1:{self.port}{path}", json=body)
            except httpx.TransportError:
                self.record["reconnects"] += 1
                self.port = self.rng.choice([p for p in self.ports if p != self.port] or self.ports)
                time.sleep(0.02 * min(attempt + 1, 10))
                continue
            self.record["latency"][kind if attempt == 0 else "resent"].append(time.perf_counter() - start)
            self.record["status"][str(r.status_code)] += 1
            self.record["retries"] += int(r.headers.get("x-retries", "0"))
            data = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            if r.status_code >= 400:
                self.record["errors"][f"{r.status_code} {data.get('error')}"] += 1
            return r.status_code, data, attempt > 0
        msg = "no server answered for two minutes"
        raise RuntimeError(msg)

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.k}-{self.n}"

    def pick_deal(self) -> str | None:
        if self.deals and self.rng.random() < 0.5:
            return self.rng.choice(self.deals[-40:])
        j = self.rng.randrange(len(self.shared))
        made = self.shared[j]
        if made == 0:
            return None
        return f"d-{j}-{self.rng.randrange(max(0, made - 60), made) + 1}"

    def create(self) -> None:
        self.shared[self.k] += 1
        deal_id = f"d-{self.k}-{self.shared[self.k]}"
        currency = self.rng.choice(CURRENCIES)
        amount = str(self.rng.randrange(1, 500) * 100)
        status, _, again = self.call(
            "POST",
            "/api/deals",
            {
                "id": deal_id,
                "customer_id": f"cust-{self.rng.randrange(self.customers)}",
                "amount": {"amount": amount, "currency": currency},
                "expected_close": "2027-06-30",
            },
        )
        if status == 200 or (again and status == 409):
            self.deals.append(deal_id)
            self.record["created"][deal_id] = [amount, currency]

    def activity(self, deal_id: str, kind: str | None = None) -> None:
        kind = kind or self.rng.choice(("visit", "meeting", "demo", "call"))
        self.call(
            "POST",
            f"/api/deals/{deal_id}/activities",
            {
                "id": self._id("a"),
                "kind": kind,
                "purpose": "work",
                "needs_found": "a CRM",
                "feedback": "fine",
            },
        )

    def move(self, deal_id: str) -> None:
        """
        Move a deal as a client would: from what it last saw of it when it has
        seen it (possibly stale: another client may have moved it since), else
        after reading it; doing the stage's work first when it has not yet.
        """
        deal = self.known.get(deal_id)
        if deal is None or self.rng.random() < 0.4:
            status, data, _ = self.call("GET", f"/api/deals/{deal_id}")
            if status != 200:
                return
            deal = self.known[deal_id] = data["deal"]
        stage, version = deal["stage"], deal["version"]
        if deal["status"] != "open" and self.rng.random() < 0.9:  # mostly leave closed deals alone
            return
        needs = {"contact": "visit", "proposal": "meeting"}.get(stage)
        if needs is not None and (deal_id, needs) not in self.worked and self.rng.random() < 0.8:
            self.activity(deal_id, needs)  # the stage's work, usually done before asking to move on
            self.worked.add((deal_id, needs))
        roll = self.rng.random()
        body: dict[str, Any] = {"request_id": self._id("r")}
        if self.rng.random() < 0.85:
            body["expected_version"] = version
        if roll < 0.12:
            path, kind = "edit", "edit"
            body["amount"] = {
                "amount": str(self.rng.randrange(1, 500) * 100),
                "currency": deal["amount"]["currency"],
            }
        elif roll < 0.22 or (stage == "negotiation" and roll < 0.4):
            path, kind = "lose", "lose"
            body["reason"] = self.rng.choice(("price", "timing", "competitor"))
        elif stage == "negotiation":
            path, kind = "win", "win"
        else:
            path, kind = "advance", "advance"
        if self.rng.random() < 0.3:  # let another client get in between the read and the write
            time.sleep(0.002)
        method, url = (
            ("PATCH", f"/api/deals/{deal_id}") if kind == "edit" else ("POST", f"/api/deals/{deal_id}/{path}")
        )
        status, data, _ = self.call(method, url, body, kind="move")
        if "deal" in data:
            self.known[deal_id] = data["deal"]
        elif status == 409 and "actual_version" in data:
            self.known.pop(deal_id, None)  # stale: read it again next time
        self.record["moves"] += 1
        with self.shared_moves.get_lock():
            self.shared_moves.value += 1
        if status == 200 and (kind != "edit" or data.get("changed") or data.get("replayed")):
            self.record["acked"].append(body["request_id"])
        elif status in {409, 422}:
            self.record["refused"].append(body["request_id"])
            self.record["status"][f"refused {data.get('type', data.get('error'))}"] += 1

    def leads(self) -> None:
        ids = [self._id("lead") for _ in range(3)]
        status, data, _ = self.call(
            "POST",
            "/api/leads",
            {"leads": [{"id": i, "company": f"Company {i}", "needs": "a CRM"} for i in ids]},
        )
        if status == 200 and self.rng.random() < 0.7:
            lead = ids[0]
            status, data, _ = self.call(
                "POST",
                f"/api/leads/{lead}/convert",
                {
                    "amount": {"amount": str(self.rng.randrange(1, 100) * 1000), "currency": "EUR"},
                    "expected_close": "2027-06-30",
                },
            )
            if status == 200:
                self.deals.append(data["deal"]["id"])

    def claim(self) -> None:
        path = "/api/pool/claim" if self.rng.random() < 0.8 else "/api/pool/release"
        self.call(
            "POST",
            path,
            {
                "customer_id": f"pool-{self.rng.randrange(self.pool)}",
                "rep_id": f"rep-{self.rng.randrange(REPS)}",
            },
        )

    def run(self, deadline: float) -> dict[str, Any]:
        while time.monotonic() < deadline and self.shared_moves.value < self.target:
            roll = self.rng.random()
            if roll < 0.12 or len(self.deals) < 5:
                self.create()
                continue
            deal_id = self.pick_deal()
            if roll < 0.30 and deal_id:
                self.activity(deal_id)
            elif roll < 0.85 and deal_id:
                self.move(deal_id)
            elif roll < 0.90:
                self.claim()
            elif roll < 0.95:
                self.leads()
            elif roll < 0.97 and deal_id:
                self.call("GET", f"/api/deals/{deal_id}/readiness")
            elif roll < 0.972:
                self.call("GET", "/api/forecast/weighted")
        return self.record

    shared_moves: Any = None


def drive(
    k: int,
    ports: list[int],
    shared: Any,
    moves: Any,
    customers: int,
    pool: int,
    target: int,
    deadline: float,
    out: str,
) -> None:
    driver = Driver(k, ports, shared, customers, pool, target)
    driver.shared_moves = moves
    try:
        record = driver.run(deadline)
    except RuntimeError as e:  # every server down for minutes: reported, not hidden
        record = {**driver.record, "gave_up": str(e)}
    pathlib.Path(out).write_text(json.dumps(record))


# --- hostile requests ----------------------------------------------------------------------


def hostile(port: int) -> dict[str, Any]:
    """Bad requests get 4xx with problems, never a 500, and big or deep bodies are refused cheaply."""
    base = f"http://127.0.0.1:{port}"
    cases: list[tuple[str, str, str, bytes]] = [
        ("10 MB body", "POST", "/api/deals", b"x" * (10 * 1024 * 1024)),
        ("nested 10,000 deep", "POST", "/api/deals", b"[" * 10_000 + b"]" * 10_000),
        ("objects 10,000 deep", "POST", "/api/deals", b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
        ("not JSON", "POST", "/api/deals", b"{nope"),
        ("not UTF-8", "POST", "/api/deals", b'{"id": "\xff\xfe"}'),
        ("NaN", "POST", "/api/deals", b'{"id": NaN}'),
        ("huge integer", "POST", "/api/deals/d-0-1/advance", b'{"expected_version": ' + b"9" * 5000 + b"}"),
        ("a list", "POST", "/api/deals", b"[1, 2]"),
        ("wrong types", "POST", "/api/deals", b'{"id": 3, "customer_id": [], "amount": {"amount": 1.5}}'),
        (
            "unknown currency",
            "POST",
            "/api/deals",
            b'{"id": "x", "customer_id": "cust-1", "amount": {"amount": "1", "currency": "ZZZ"}}',
        ),
        ("bad expected_version", "POST", "/api/deals/d-0-1/advance", b'{"expected_version": -1}'),
        ("bool version", "POST", "/api/deals/d-0-1/advance", b'{"expected_version": true}'),
        ("unknown stage", "POST", "/api/deals/d-0-1/advance", b'{"to": "moon"}'),
        ("bad lost reason", "POST", "/api/deals/d-0-1/lose", b'{"reason": "bored"}'),
        ("no such deal", "POST", "/api/deals/nope/advance", b"{}"),
        ("bad activity", "POST", "/api/deals/d-0-1/activities", b'{"id": "z", "kind": 7, "duration": "x"}'),
        (
            "too many leads",
            "POST",
            "/api/leads",
            json.dumps({"leads": [{"id": f"x{i}"} for i in range(500)]}).encode(),
        ),
        ("bad claim", "POST", "/api/pool/claim", b'{"customer_id": "", "rep_id": null}'),
        ("unknown rep leaves", "POST", "/api/reps/nobody/leave", b"{}"),
        ("bad query", "GET", "/api/forecast/bookings?days=-4", b""),
        ("bad date", "PATCH", "/api/deals/d-0-1", b'{"expected_close": "2027-02-30"}'),
    ]
    found: dict[str, Any] = {}
    with httpx.Client(timeout=30) as client:
        for name, method, path, body in cases:
            start = time.perf_counter()
            r = client.request(
                method, base + path, content=body, headers={"content-type": "application/json"}
            )
            took = time.perf_counter() - start
            try:
                data = r.json()
            except ValueError:
                data = {}
            problems = data.get("problems") or [{"code": data.get("error")}]
            found[name] = {
                "status": r.status_code,
                "ms": round(took * 1000, 1),
                "codes": sorted({p.get("code") for p in problems if p.get("code")}),
            }
    return found


# --- the browser check ---------------------------------------------------------------------


def browser_check(port: int, out: pathlib.Path) -> dict[str, Any]:
    """Open the page in headless Chromium, save a screenshot, read the funnel numbers back."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"checked": False, "why": "playwright is not installed"}
    if chromium is None:
        return {"checked": False, "why": "no chromium (apt-get install chromium)"}
    api = httpx.get(f"http://127.0.0.1:{port}/api/funnel", timeout=60).json()
    profile = tempfile.mkdtemp(prefix="funnelkit-chromium-")
    try:
        with sync_playwright() as p:
            # A fresh profile each time (Playwright takes it as user_data_dir, not as an argument).
            browser = p.chromium.launch_persistent_context(
                profile,
                executable_path=chromium,
                headless=True,
                viewport={"width": 900, "height": 900},
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            page = browser.new_page()
            answer = page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
            if answer is None or answer.status != 200:
                return {
                    "checked": True,
                    "stages_match": False,
                    "why": f"the page answered {answer and answer.status}",
                }
            shot = out / "page.png"
            page.screenshot(path=str(shot), full_page=True)
            rows = page.eval_on_selector_all(
                "#numbers tbody tr",
                """rows => rows.map(r => ({stage: r.dataset.stage,
                    entered: +r.querySelector('.entered').innerText,
                    advanced: +r.querySelector('.advanced').innerText,
                    lost: +r.querySelector('.lost').innerText}))""",
            )
            totals = {k: int(page.inner_text(f"#{k}")) for k in ("won", "lost", "open")}
            bars = page.eval_on_selector_all("#funnel svg rect", "rs => rs.length")
            browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    expected = [{k: s[k] for k in ("stage", "entered", "advanced", "lost")} for s in api["stages"]]
    same = rows == expected and totals == {"won": api["won"], "lost": api["lost"], "open": api["open_deals"]}
    return {
        "checked": True,
        "screenshot": str(shot),
        "stages_match": same,
        "bars": bars,
        "rows": rows,
        "totals": totals,
    }


# --- one run --------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "p50_ms": round(pick(0.50), 1),
        "p95_ms": round(pick(0.95), 1),
        "p99_ms": round(pick(0.99), 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


#: Damage the checker must see: (what, SQL statements, the invariant that must go up).
TAMPERING = [
    ("a lost event", ["delete from event where rowid = (select max(rowid) from event where version > 1)"],
     "version_violations"),
    ("a row changed behind the log", [("update deal set body = replace(body, '\"stage\":\"', "
     "'\"stage\":\"x') where rowid = (select min(rowid) from deal)")], "replay_violations"),
    ("a lead given away off the books", [("update lead set owner = 'rep-9' where rowid = (select min(rowid) "
     "from lead where owner is not null and owner != 'rep-9')")], "owner_chain_violations"),
    ("a second holder inside a claim", [("insert into claim_log select customer_id, seq + 1, 'claim', "
     "'rep-x', at, expires_at from claim_log c where action = 'claim' and seq = (select max(seq) from "
     "claim_log d where d.customer_id = c.customer_id) limit 1")], "double_claim_violations"),
    ("a booking twice", [("insert into booking select deal_id, version + 1000, currency, amount from booking "
     "where rowid = (select min(rowid) from booking)")], "booking_violations"),
    ("a refused move that left an event", [("update event set request_id = (select min(request_id) from "
     "refusal) where rowid = (select min(rowid) from event where request_id is null)")],
     "refused_with_effect_violations"),
]  # fmt: skip


def teeth(db_path: pathlib.Path, baseline: dict[str, int]) -> dict[str, bool]:
    """On copies of the SQLite database, each kind of damage must be caught by verify()."""
    import sqlite3

    caught = {}
    for what, statements, invariant in TAMPERING:
        copy = db_path.with_name("tampered.db")
        src, dst = sqlite3.connect(db_path), sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        for sql in statements:
            dst.execute(sql)
        dst.commit()
        dst.close()
        store = Store(f"sqlite:///{copy}")
        caught[what] = verify(store, PIPELINE)[invariant] > baseline[invariant]
        store.close()
        copy.unlink()
    return caught


def seed_company(store: Store, *, customers: int, pool: int) -> None:
    service = Service(store)
    for i in range(REPS):
        service.add_rep({"id": f"rep-{i}", "name": f"Rep {i}"})
    for i in range(customers):
        service.add_customer({"id": f"cust-{i}", "name": f"Customer {i}", "owner": f"rep-{i % REPS}"})
    for i in range(pool):
        service.add_customer({"id": f"pool-{i}", "name": f"Pool customer {i}"})


def run(kind: str, args: argparse.Namespace, out: pathlib.Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    stop_db: Callable[[], None] = lambda: None  # noqa: E731
    if kind == "postgres":
        bindir = find_postgres()
        if bindir is None:
            return {"db": kind, "skipped": "PostgreSQL is not installed (apt-get install postgresql)"}
        db, stop_db = start_postgres(bindir)
    else:
        path = out / "service.db"
        for suffix in ("", "-wal", "-shm"):
            pathlib.Path(f"{path}{suffix}").unlink(missing_ok=True)
        db = f"sqlite:///{path}"
    try:
        store = Store(db)
        store.init_schema()
        customers, pool = max(50, args.deals // 10), max(20, args.deals // 40)
        seed_company(store, customers=customers, pool=pool)
        speed = 30 * 24 * 3600 / max(args.max_seconds, 1)  # the run covers about a month of company time
        start = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
        env = {
            "FUNNELKIT_SERVICE_CLOCK": f"{start.isoformat()},{speed},{time.time()}",
            "FUNNELKIT_SERVICE_CRASH": str(args.crash_rate),
        }
        servers = Servers(db, count=args.servers, env=env, out=out)
        atexit.register(servers.stop)  # whatever happens below, no server is left running
        servers.start(kill_every=args.kill_every)
        shared = mp.Array("i", args.drivers)
        moves = mp.Value("i", 0)
        began = time.monotonic()
        deadline = began + args.max_seconds
        ctx = mp.get_context("fork")
        procs = [
            ctx.Process(
                target=drive,
                args=(
                    k,
                    servers.ports,
                    shared,
                    moves,
                    customers,
                    pool,
                    args.moves,
                    deadline,
                    str(out / f"driver-{k}.json"),
                ),
            )
            for k in range(args.drivers)
        ]
        for p in procs:
            p.start()
        leaves: list[dict[str, Any]] = []
        leave_retries = 0
        marks = [0.25, 0.5, 0.75]  # of the moves, or of the time, whichever comes first
        while any(p.is_alive() for p in procs):
            done = max(moves.value / args.moves, (time.monotonic() - began) / args.max_seconds)
            if marks and done >= marks[0]:
                marks.pop(0)
                rep = f"rep-{len(leaves)}"
                for _ in range(600):  # a minute at most, even with every server restarting
                    try:
                        r = httpx.post(
                            f"http://127.0.0.1:{random.choice(servers.ports)}/api/reps/{rep}/leave",
                            json={"reason": "left the company"},
                            timeout=60,
                        )
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                else:
                    msg = f"no server answered {rep}'s leaving for a minute"
                    raise RuntimeError(msg)
                leaves.append(
                    {
                        "rep": rep,
                        "status": r.status_code,
                        **{k: v for k, v in r.json().items() if k in {"moved", "retries"}},
                    }
                )
                leave_retries += int(r.headers.get("x-retries", "0"))
            time.sleep(0.05)
        elapsed = time.monotonic() - began
        for p in procs:
            p.join()
        servers.stop()
        # A calm server for the reports, the hostile requests and the browser.
        calm = Servers(db, count=1, env={**env, "FUNNELKIT_SERVICE_CRASH": "0"}, out=out)
        try:
            calm.start(kill_every=0)
            port = calm.ports[0]
            t = time.perf_counter()
            bookings = httpx.get(
                f"http://127.0.0.1:{port}/api/forecast/bookings?days=30&backtests=3", timeout=600
            )
            bookings_s = time.perf_counter() - t
            hostile_found = hostile(port)
            browser = browser_check(port, out) if args.browser else {"checked": False, "why": "--no-browser"}
        finally:
            calm.stop()

        records = [json.loads((out / f"driver-{k}.json").read_text()) for k in range(args.drivers)]
        gave_up = [r["gave_up"] for r in records if "gave_up" in r]
        move_lat = [x for r in records for x in r["latency"]["move"]]
        other_lat = [x for r in records for x in r["latency"]["other"]]
        resent_lat = [x for r in records for x in r["latency"]["resent"]]
        status = sum((Counter(r["status"]) for r in records), Counter())
        errors = sum((Counter(r["errors"]) for r in records), Counter())
        acked = [i for r in records for i in r["acked"]]
        refused = [i for r in records for i in r["refused"]]
        created = {k: v for r in records for k, v in r["created"].items()}

        t = time.perf_counter()
        invariants = verify(store, PIPELINE)
        verify_s = time.perf_counter() - t
        caught = teeth(out / "service.db", invariants) if kind == "sqlite" else {}
        in_log = {i for (i,) in store.read("select request_id from event where request_id is not null")}
        invariants["acked_move_missing_violations"] = sum(1 for i in acked if i not in in_log)
        invariants["refused_move_in_log_violations"] = sum(1 for i in refused if i in in_log)
        starts = {i: json.loads(b)["amount"] for i, b in store.read("select id, body from deal_start")}
        invariants["acked_deal_missing_violations"] = sum(
            1
            for i, (amount, currency) in created.items()
            if i not in starts or starts[i] != {"amount": amount, "currency": currency}
        )
        server_errors = sum(n for code, n in status.items() if code.startswith("5") and code != "503")
        invariants["driver_gave_up_violations"] = len(gave_up)
        invariants["http_5xx_violations"] = server_errors + sum(
            1 for h in hostile_found.values() if h["status"] >= 500
        )
        total_moves = sum(r["moves"] for r in records)
        report = {
            "db": kind,
            "elapsed_s": round(elapsed, 1),
            "servers": args.servers,
            "drivers": args.drivers,
            "deals": invariants["deals"],
            "events": invariants["events"],
            "moves": total_moves,
            "moves_per_s": round(total_moves / elapsed, 1),
            "accepted_moves_per_s": round(len(acked) / elapsed, 1),
            "accepted_moves": len(acked),
            "requests": sum(status[c] for c in status if c[0].isdigit()),
            "requests_per_s": round(sum(status[c] for c in status if c[0].isdigit()) / elapsed, 1),
            "move_latency": percentiles(move_lat),
            "other_latency": percentiles(other_lat),
            "resent_after_kill_latency": percentiles(resent_lat),
            "stale_409": status.get("refused ConcurrencyConflict", 0),
            "claims_refused": errors.get("409 conflict", 0) - status.get("refused ConcurrencyConflict", 0),
            "refusals": {
                k.removeprefix("refused "): v for k, v in status.items() if k.startswith("refused ")
            },
            "server_retries": sum(r["retries"] for r in records) + leave_retries,
            "busy_503": status.get("503", 0),
            "client_resends_after_kill": sum(r["reconnects"] for r in records),
            "kills": {
                "from outside": servers.kills["killed from outside"],
                "mid-write, by the server itself": servers.kills["died"]
                - servers.kills["killed from outside"],
                "other exits": sum(v for k, v in servers.kills.items() if k.startswith("exit")),
            },
            "kills_survived": servers.kills["died"],
            "leaves": leaves,
            "status": dict(sorted(status.items())),
            "bookings_forecast": {"status": bookings.status_code, "seconds": round(bookings_s, 2)},
            "verify_s": round(verify_s, 1),
            "invariants": invariants,
            "violations": sum(v for k, v in invariants.items() if k.endswith("_violations")),
            "hostile": hostile_found,
            "browser": browser,
            "damage_caught": caught,
        }
        (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
        return report
    finally:
        stop_db()


def show(report: dict[str, Any]) -> None:
    if "skipped" in report:
        print(f"[{report['db']}] skipped: {report['skipped']}")
        return
    r = report
    print(f"\n[{r['db']}] {r['elapsed_s']} s, {r['servers']} servers, {r['drivers']} drivers")
    print(
        f"  deals {r['deals']:,}, events {r['events']:,}, "
        f"moves {r['moves']:,} ({r['accepted_moves']:,} accepted)"
    )
    print(
        f"  throughput: {r['moves_per_s']} moves/s ({r['accepted_moves_per_s']} accepted), "
        f"{r['requests_per_s']} requests/s"
    )
    m = r["move_latency"]
    print(
        f"  move latency: p50 {m['p50_ms']} ms, p95 {m['p95_ms']} ms, p99 {m['p99_ms']} ms, "
        f"max {m['max_ms']} ms"
    )
    if r["resent_after_kill_latency"]:
        k = r["resent_after_kill_latency"]
        print(
            f"  requests resent after a kill (not in the figures above): p50 {k['p50_ms']} ms, "
            f"max {k['max_ms']} ms"
        )
    print(
        f"  stale expected_version refused (409): {r['stale_409']:,}; pool claims refused (held): "
        f"{r['claims_refused']:,}; server-side retries after a lost "
        f"compare-and-set: {r['server_retries']:,}; 503 busy: {r['busy_503']}"
    )
    print(f"  refusals: {r['refusals']}")
    print(
        f"  kills survived: {r['kills_survived']} {r['kills']}; requests resent after a kill: "
        f"{r['client_resends_after_kill']}"
    )
    print(f"  reps left: {r['leaves']}")
    print(
        f"  expected bookings over the whole log: HTTP {r['bookings_forecast']['status']} in "
        f"{r['bookings_forecast']['seconds']} s"
    )
    bad = {k: v for k, v in r["hostile"].items() if not 400 <= v["status"] < 500}
    slowest = max(r["hostile"].items(), key=lambda kv: kv[1]["ms"])
    print(
        f"  hostile requests: {len(r['hostile'])} sent, {len(bad)} not 4xx {bad or ''}; "
        f"slowest {slowest[0]!r} {slowest[1]['ms']} ms"
    )
    inv = r["invariants"]
    print("  invariants (from the database alone): " + ", ".join(f"{k} {v}" for k, v in inv.items()))
    print(f"  VIOLATIONS: {r['violations']}")
    if r["damage_caught"]:
        print(f"  the checker's teeth, on damaged copies: {r['damage_caught']}")
    b = r["browser"]
    if b.get("checked"):
        print(
            f"  browser: screenshot {b['screenshot']}; funnel numbers on the page match the API: "
            f"{b['stages_match']} ({b['bars']} bars)"
        )
    else:
        print(f"  browser: not checked ({b.get('why')})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgres", "both", "auto"],
        default="auto",
        help="auto: SQLite, then PostgreSQL where it is installed",
    )
    parser.add_argument("--quick", action="store_true", help="a smaller company (about a minute a back end)")
    parser.add_argument("--deals", type=int, default=None, help="the size knob: deals in the seeded company")
    parser.add_argument(
        "--moves", type=int, default=None, help="stop after this many moves (default 10 x deals)"
    )
    parser.add_argument("--max-seconds", type=float, default=None, help="and at the latest after this long")
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--drivers", type=int, default=6)
    parser.add_argument("--kill-every", type=float, default=8.0, help="mean seconds between outside kills")
    parser.add_argument(
        "--crash-rate", type=float, default=0.002, help="chance a server kills itself mid-write"
    )
    parser.add_argument("--no-browser", dest="browser", action="store_false")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    args.deals = args.deals or (600 if args.quick else 2500)
    args.moves = args.moves or 10 * args.deals
    args.max_seconds = args.max_seconds or (60 if args.quick else 100)
    out = args.out or pathlib.Path(tempfile.mkdtemp(prefix="funnelkit-service-"))
    kinds = {"sqlite": ["sqlite"], "postgres": ["postgres"], "both": ["sqlite", "postgres"]}.get(
        args.db, ["sqlite"] + (["postgres"] if find_postgres() else [])
    )
    print(f"output: {out}")
    reports = []
    for kind in kinds:
        report = run(kind, args, out / kind)
        show(report)
        reports.append(report)
    (out / "reports.json").write_text(json.dumps(reports, indent=1, default=str))
    failed = [
        r["db"]
        for r in reports
        if r.get("violations")
        or ("browser" in r and r["browser"].get("checked") and not r["browser"]["stages_match"])
    ]
    print(f"\nservice load-and-fault test: {'FAILED on ' + ', '.join(failed) if failed else 'passed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
