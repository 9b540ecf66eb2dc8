"""A CRM's field history (deal, field, before, after, time) as edit events, and one log with the moves."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from _problems import problems_of, raises_problems
from funnelkit import Money, Opportunity, ValidationError
from funnelkit.assignment import OwnerChanged
from funnelkit.errors import MAX_LISTED
from funnelkit.forecast import as_of
from funnelkit.stages import (
    AmountChanged,
    CategoryChanged,
    CloseDateChanged,
    ForecastCategory,
    StageChanged,
    default_pipeline,
    edits_from_history,
    events_from_history,
    merge_history,
    replay,
)
from funnelkit.strategies import event_histories

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PIPELINE = default_pipeline()


def change(deal, field, before, after, day, **more):
    return {
        "opportunity_id": deal,
        "field": field,
        "before": before,
        "after": after,
        "at": T0 + day * DAY,
        **more,
    }


def eur(amount):
    return Money.of(amount, "EUR")


# --- reading the rows ----------------------------------------------------------------------


def test_rows_become_edits_numbered_in_time_order():
    """Worked by hand: each deal's rows in time order (not table order) give its edits, versions 1, 2, ..."""
    rows = [
        change("o-1", "amount", None, "1000", 1, currency="EUR"),
        change("o-1", "expected_close", "2026-04-30", "2026-05-31", 1),
        change("o-2", "forecast_category", "commit", None, 0, actor="bob"),
        change("o-1", "amount", "1000", "1200.50", 3, currency="EUR", reason="upsell"),
        change("o-1", "owner", "ann", "bob", 2),
    ]
    edits = edits_from_history(rows)
    assert edits == (
        AmountChanged(
            opportunity_id="o-1", at=T0 + DAY, actor="import", version=1, before=None, after=eur(1000)
        ),
        CloseDateChanged(
            opportunity_id="o-1", at=T0 + DAY, actor="import", version=2,
            before=dt.date(2026, 4, 30), after=dt.date(2026, 5, 31),
        ),
        OwnerChanged(
            kind="opportunity", id="o-1", from_rep="ann", to_rep="bob", at=T0 + 2 * DAY, actor="import",
            reason="history", why="read from a history table", version=3,
        ),
        AmountChanged(
            opportunity_id="o-1", at=T0 + 3 * DAY, actor="import", version=4, before=eur(1000),
            after=eur("1200.50"), reason="upsell",
        ),
        CategoryChanged(opportunity_id="o-2", at=T0, actor="bob", version=1, before="commit", after=None),
    )  # fmt: skip


def test_a_salesforce_export_reads_with_renamed_columns_and_field_names():
    """OpportunityFieldHistory's own columns and field names; its other fields passed over when asked."""
    columns = {
        "OpportunityId": "opportunity_id",
        "Field": "field",
        "OldValue": "before",
        "NewValue": "after",
        "CreatedDate": "at",
        "CreatedById": "actor",
    }
    fields = {"Amount": "amount", "CloseDate": "expected_close", "ForecastCategoryName": "forecast_category"}

    def sf(field, old, new, when, by="005A1"):
        return {"OpportunityId": "006X1", "Field": field, "OldValue": old, "NewValue": new,
                "CreatedDate": when, "CreatedById": by}  # fmt: skip

    rows = [
        sf("created", None, None, "2026-03-02T09:00:00.000+0000"),
        sf("Amount", None, "12000", "2026-03-02T09:00:00.000+0000"),
        sf("StageName", "Prospecting", "Proposal/Price Quote", "2026-03-09T10:30:00.000+0000"),
        sf("ForecastCategoryName", "Pipeline", "Best Case", "2026-03-09T10:30:00.000+0000"),
        sf("CloseDate", "2026-04-30", "2026-06-30", "2026-03-20T08:00:00.000+0000", by="005B2"),
        sf("Amount", "12000", "9500.00", "2026-03-20T08:00:00.000+0000", by="005B2"),
    ]
    edits = edits_from_history(rows, columns=columns, fields=fields, unknown_fields="ignore", currency="USD")
    summary = [(type(e).__name__, e.version, e.before, e.after, e.actor) for e in edits]
    assert summary == [
        ("AmountChanged", 1, None, Money.of(12000, "USD"), "005A1"),
        ("CategoryChanged", 2, ForecastCategory.PIPELINE, ForecastCategory.BEST_CASE, "005A1"),
        ("CloseDateChanged", 3, dt.date(2026, 4, 30), dt.date(2026, 6, 30), "005B2"),
        ("AmountChanged", 4, Money.of(12000, "USD"), Money.of("9500.00", "USD"), "005B2"),
    ]
    assert edits[1].at == dt.datetime(2026, 3, 9, 10, 30, tzinfo=dt.UTC)
    with raises_problems(("rows[0].Field", "choice"), ("rows[2].Field", "choice")):
        edits_from_history(rows, columns=columns, fields=fields, currency="USD")


def test_category_names_read_in_any_case_and_spelling():
    """'Best Case', 'BEST_CASE', 'best-case' and HubSpot's 'OMIT' all name a category."""
    rows = [
        change("a", "forecast_category", "Best Case", "COMMIT", 0),
        change("a", "forecast_category", "commit", "omit", 1),
        change("a", "forecast_category", "Omitted", "best-case", 2),
        change("a", "forecast_category", ForecastCategory.BEST_CASE, "Closed", 3),
    ]
    got = [(e.before, e.after) for e in edits_from_history(rows)]
    bc, co, om, cl = (ForecastCategory.BEST_CASE, ForecastCategory.COMMIT, ForecastCategory.OMITTED,
                      ForecastCategory.CLOSED)  # fmt: skip
    assert got == [(bc, co), (co, om), (om, bc), (bc, cl)]


def test_blank_cells_clear_a_field():
    """None, '', whitespace, NaN and pandas' NA are a cleared value; an owner is never blank."""
    rows = [
        change("a", "amount", "", "10", 0, currency="EUR"),
        change("a", "amount", "10", float("nan"), 1, currency="EUR"),
        change("a", "expected_close", "  ", "2026-05-01", 2),
        change("a", "forecast_category", None, "commit", 3),
        {"opportunity_id": "a", "field": "forecast_category", "before": "commit", "at": T0 + 4 * DAY},
    ]
    edits = edits_from_history(rows)
    assert [(e.before, e.after) for e in edits] == [
        (None, eur(10)),
        (eur(10), None),
        (None, dt.date(2026, 5, 1)),
        (None, ForecastCategory.COMMIT),
        (ForecastCategory.COMMIT, None),
    ]
    with raises_problems(("rows[0].before", "missing"), ("rows[1].after", "missing")):
        edits_from_history([change("a", "owner", None, "ann", 0), change("b", "owner", "ann", "", 0)])


def test_amounts_read_exactly_from_text_ints_decimals_and_money():
    """Decimal text, an int, a Decimal, Money (in the row's currency) and numpy's ints; never a float."""
    rows = [
        change("a", "amount", "0.10", 3, 0, currency="JPY"),
        change("a", "amount", 3, Decimal("1e3"), 1, currency="JPY"),
        change("a", "amount", Money.of(1000, "JPY"), Money.of(7, "JPY"), 2),
    ]
    got = [(e.before, e.after) for e in edits_from_history(rows)]
    assert got == [
        (Money.of("0.10", "JPY"), Money.of(3, "JPY")),
        (Money.of(3, "JPY"), Money.of(1000, "JPY")),
        (Money.of(1000, "JPY"), Money.of(7, "JPY")),
    ]
    np = pytest.importorskip("numpy")
    (edit,) = edits_from_history([change("a", "amount", np.int64(5), None, 0, currency="EUR")])
    assert edit.before == eur(5)
    with raises_problems(("rows[0].after", "type")):
        edits_from_history([change("a", "amount", None, 0.1, 0, currency="EUR")])


def test_every_bad_row_is_named_by_row_and_column():
    """One error lists each problem at rows[i].column, in the table's order."""
    rows = [
        change("a", "amount", None, "12,000", 0, currency="EUR"),
        change("a", "amount", None, "-5", 1, currency="EUR"),
        change("a", "amount", None, "5", 2),
        change("a", "amount", None, "5", 3, currency="eur"),
        change("a", "expected_close", "30/04/2026", dt.datetime(2026, 4, 30, 12), 4),
        change("a", "forecast_category", "maybe", 3, 5),
        change(" a", "colour", None, "red", 6),
        {
            "opportunity_id": "b",
            "field": "amount",
            "after": "1",
            "at": dt.datetime(2026, 3, 2),
            "currency": "EUR",
        },
        {"opportunity_id": "c", "before": None, "after": "x", "at": T0, "actor": "", "reason": " "},
        {**change("d", "owner", "ann", "bob", 0), "colour": "red"},
        "not a row",
    ]
    with pytest.raises(ValidationError) as info:
        edits_from_history(rows)
    assert problems_of(info) == [
        ("rows[0].after", "format"),
        ("rows[1].after", "range"),
        ("rows[2].currency", "missing"),
        ("rows[3].currency", "format"),
        ("rows[4].after", "type"),
        ("rows[4].before", "format"),
        ("rows[5].after", "type"),
        ("rows[5].before", "choice"),
        ("rows[6].field", "choice"),
        ("rows[6].opportunity_id", "format"),
        ("rows[7].at", "timezone"),
        ("rows[8].actor", "empty"),
        ("rows[8].field", "missing"),
        ("rows[8].reason", "empty"),
        ("rows[9].colour", "unknown_field"),
        ("rows[10]", "type"),
    ]


def test_reading_stops_after_the_listed_number_of_problems():
    """A million bad rows are not all read: the first MAX_LISTED problems are reported."""
    read = []

    def junk():
        for i in range(1_000_000):
            read.append(i)
            yield change("a", "amount", None, "lots", i, currency="EUR")

    with pytest.raises(ValidationError) as info:
        edits_from_history(junk())
    assert problems_of(info) == [(f"rows[{i}].after", "format") for i in range(MAX_LISTED)]
    assert len(read) == MAX_LISTED


# --- the chain of a field's values ---------------------------------------------------------


def test_a_broken_chain_is_refused_or_mended():
    """A value before that is not the last value after (a dropped row) is named; 'mend' keeps the afters."""
    rows = [
        change("a", "amount", "100", "200", 0, currency="EUR"),
        change("a", "expected_close", None, "2026-05-01", 1),
        change("a", "amount", "250", "300", 2, currency="EUR"),  # the row to 250 was dropped
        change("a", "amount", "300", "300.00", 3, currency="EUR"),  # changes nothing
        change("a", "amount", "300", None, 4, currency="EUR"),
    ]
    with raises_problems(("rows[2].before", "conflict"), ("rows[3].after", "conflict")):
        edits_from_history(rows)
    mended = edits_from_history(rows, chain="mend")
    assert [(e.version, e.before, e.after) for e in mended if type(e) is AmountChanged] == [
        (1, eur(100), eur(200)),
        (3, eur(200), eur(300)),
        (4, eur(300), None),
    ]
    with raises_problems(("chain", "choice")):
        edits_from_history(rows, chain="fix")


def test_the_first_value_before_of_each_field_is_free():
    """Nothing comes before a field's first change: its value before is what the field held then."""
    rows = [change("a", "owner", "ann", "bob", 0), change("a", "amount", "5", "6", 1, currency="EUR")]
    assert [e.version for e in edits_from_history(rows)] == [1, 2]


# --- arguments, tables and progress ----------------------------------------------------------


def test_arguments_are_checked_together():
    """Every bad option is named at once, before a row is read."""
    with pytest.raises(ValidationError) as info:
        edits_from_history(
            [], actor="", currency="euro", columns={"Old": "old"}, fields={"Amount": "price", "": "amount"},
            unknown_columns="skip", unknown_fields="skip", chain="fix", progress="bar",
        )  # fmt: skip
    assert problems_of(info) == [
        ("actor", "empty"),
        ("currency", "format"),
        ("columns['Old']", "choice"),
        ("fields['Amount']", "choice"),
        ("fields['']", "empty"),
        ("unknown_columns", "choice"),
        ("unknown_fields", "choice"),
        ("chain", "choice"),
        ("progress", "type"),
    ]
    with raises_problems(("rows", "type")):
        edits_from_history(5)
    with raises_problems(("fields", "type")):
        edits_from_history([], fields=["Amount"])


def test_no_more_rows_than_the_limit_are_read(monkeypatch):
    """Rows beyond MAX_ROWS are refused, from an iterable as it is read and from a table up front."""
    import funnelkit.stages._history as history

    monkeypatch.setattr(history, "MAX_ROWS", 3)
    rows = [change(f"d{i}", "owner", "ann", "bob", 0) for i in range(5)]
    with raises_problems(("rows", "limit")):
        edits_from_history(iter(rows))
    with raises_problems(("rows", "limit")):
        edits_from_history({name: [r[name] for r in rows] for name in rows[0]})
    assert len(edits_from_history(rows[:3])) == 3


def test_progress_is_told_as_rows_are_read():
    """After every thousand rows and at the end, with the total when the rows have a length."""
    rows = [change(f"d{i}", "amount", None, str(i), 0, currency="EUR") for i in range(2500)]
    seen = []
    edits_from_history(rows, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]


def drawn_rows():
    """Field-history rows of a few deals, some with a blank or a wrong cell."""
    cell = {
        "amount": st.one_of(st.none(), st.sampled_from(["10", "12.50", "0", "x", "-1"]), st.integers(0, 99)),
        "expected_close": st.one_of(st.none(), st.sampled_from(["2026-04-30", "2026-05-31", "April"])),
        "forecast_category": st.one_of(st.none(), st.sampled_from(["commit", "Best Case", "maybe"])),
        "owner": st.sampled_from(["ann", "bob", " eve"]),
    }

    @st.composite
    def one(draw):
        field = draw(st.sampled_from(sorted(cell)))
        return {
            "opportunity_id": draw(st.sampled_from(["a", "b", "c"])),
            "field": field,
            "before": draw(cell[field]),
            "after": draw(cell[field]),
            "at": T0 + draw(st.integers(0, 5)) * DAY,
            "actor": draw(st.sampled_from([None, "ann"])),
            "currency": draw(st.sampled_from([None, "EUR", "USD"])),
            "reason": None,
        }

    return st.lists(one(), max_size=12)


def outcome(read):
    """What a read gives: its edits, or the (path, code) of its problems."""
    try:
        return read()
    except ValidationError as e:
        return problems_of(e)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn_rows(), st.sampled_from(["refuse", "mend"]))
def test_a_table_reads_as_its_rows_do(rows, chain):
    """A DataFrame and a dict of columns give the edits, or the problems, that the rows give."""
    pd = pytest.importorskip("pandas")
    expected = outcome(lambda: edits_from_history(rows, currency="GBP", chain=chain))
    names = ["opportunity_id", "field", "before", "after", "at", "actor", "currency", "reason"]
    columns = {name: [r[name] for r in rows] for name in names}
    assert outcome(lambda: edits_from_history(columns, currency="GBP", chain=chain)) == expected
    # the values as given: pandas would hold a column of ints and blanks as floats, which money refuses
    frame = pd.DataFrame({name: pd.Series(columns[name], dtype=object) for name in names[:4]})
    frame = frame.assign(**{name: columns[name] for name in names[4:]})
    assert outcome(lambda: edits_from_history(frame, currency="GBP", chain=chain)) == expected


def test_a_csv_export_reads_through_pandas():
    """Blank CSV cells are NaN; times are text or parsed; amounts kept as text."""
    pd = pytest.importorskip("pandas")
    import io

    text = io.StringIO(
        "deal,what,old,new,when\n"
        "D-1,amount,,12000,2026-01-05T09:00:00Z\n"
        "D-1,expected_close,2026-03-31,,2026-01-07T09:00:00Z\n"
        "D-1,amount,12000,15000.50,2026-01-09T09:00:00Z\n"
    )
    frame = pd.read_csv(text, dtype=str, parse_dates=["when"])
    edits = edits_from_history(
        frame, currency="EUR",
        columns={"deal": "opportunity_id", "what": "field", "old": "before", "new": "after", "when": "at"},
    )  # fmt: skip
    assert [(e.version, e.before, e.after) for e in edits] == [
        (1, None, eur(12000)),
        (2, dt.date(2026, 3, 31), None),
        (3, eur(12000), eur("15000.50")),
    ]


# --- one log of moves and edits -------------------------------------------------------------


def stage(deal, name, day, **more):
    return {"opportunity_id": deal, "stage": name, "at": T0 + day * DAY, **more}


STAGES = [stage("o-1", "contact", 0), stage("o-1", "needs_confirmed", 2), stage("o-1", "proposal", 5),
          stage("o-1", "won", 9)]  # fmt: skip
FIELDS = [
    change("o-1", "amount", None, "1000", 1, currency="EUR"),
    change("o-1", "expected_close", None, "2026-04-30", 2),
    change("o-1", "amount", "1000", "1500", 5, currency="EUR"),
    change("o-1", "forecast_category", None, "closed", 9),
]
START = Opportunity(id="o-1", customer_id="c-1", owner="ann", pipeline="default", stage="contact",
                    created_at=T0, stage_entered_at=T0)  # fmt: skip


def test_moves_and_edits_are_numbered_in_one_sequence_by_time():
    """Worked by hand: time order, a deal's moves before its edits at one instant, versions 1 to 7."""
    log = merge_history(events_from_history(STAGES, PIPELINE), edits_from_history(FIELDS))
    assert [(type(e).__name__, e.version, (e.at - T0).days) for e in log] == [
        ("AmountChanged", 1, 1),
        ("StageChanged", 2, 2),
        ("CloseDateChanged", 3, 2),
        ("StageChanged", 4, 5),
        ("AmountChanged", 5, 5),
        ("StageChanged", 6, 9),
        ("CategoryChanged", 7, 9),  # 'closed' once the deal is won
    ]
    end = replay(START, log)  # a history records what happened: proposal to won, past the milestones
    assert (end.stage, end.amount, end.forecast_category, end.version) == (
        "won", eur(1500), ForecastCategory.CLOSED, 7,
    )  # fmt: skip
    (before_proposal,) = as_of([end], log, now=T0 + 5 * DAY - dt.timedelta(microseconds=1))
    assert (before_proposal.stage, before_proposal.amount, before_proposal.version) == (
        "needs_confirmed", eur(1000), 3,
    )  # fmt: skip
    (before_all,) = as_of([end], log, now=T0)
    assert (before_all.stage, before_all.amount, before_all.expected_close, before_all.version) == (
        "contact", None, None, 0,
    )  # fmt: skip


def test_deals_keep_the_order_they_first_appear_in():
    """Each deal's events together; the deals in order of first appearance, the moves' first."""
    moves = events_from_history([*STAGES, stage("o-2", "contact", 0), stage("o-2", "lost", 1)], PIPELINE,
                                lost_reason="price")  # fmt: skip
    edits = edits_from_history([change("o-3", "owner", "ann", "bob", 0), *FIELDS])
    log = merge_history(moves, edits)
    deals = [getattr(e, "opportunity_id", None) or e.id for e in log]
    assert deals == ["o-1"] * 7 + ["o-2", "o-3"]
    assert [e.version for e in log[7:]] == [1, 1]


def test_a_closed_category_needs_a_won_deal():
    """'closed' before the win is refused, named by the edit; a deal without moves is not checked."""
    early = [*FIELDS[:3], change("o-1", "forecast_category", None, "closed", 8)]
    moves = events_from_history(STAGES, PIPELINE)
    with raises_problems(("edits[3].after", "state")):
        merge_history(moves, edits_from_history(early))
    alone = merge_history([], edits_from_history(early))
    assert [e.version for e in alone] == [1, 2, 3, 4]


def test_merge_names_what_is_not_an_event():
    """A move that is not a StageChanged, an edit that is not an edit, a customer's change of owner."""
    customer = OwnerChanged(kind="customer", id="c-1", from_rep="ann", to_rep="bob", at=T0, actor="x",
                            reason="r", why="w")  # fmt: skip
    with raises_problems(("moves[0]", "type"), ("edits[0]", "type"), ("edits[1].kind", "conflict")):
        merge_history(["a move"], [STAGES[0], customer])
    with raises_problems(("moves", "type")):
        merge_history(5, [])


def test_merging_an_engine_log_keeps_it():
    """A log the engine made, split into moves and edits and merged back, is the same log."""
    from funnelkit.stages import Override, advance, edit

    deal = START
    log = []
    deal, events = edit(deal, now=T0, actor="ann", amount=eur(10))
    log += events
    deal, move = advance(deal, PIPELINE, now=T0 + DAY, actor="ann", override=Override(reason="r", by="boss"))
    log.append(move)
    deal, events = edit(deal, now=T0 + DAY, actor="ann", amount=eur(20), expected_close=dt.date(2026, 5, 1))
    log += events
    moves = [e for e in log if type(e) is StageChanged]
    edits = [e for e in log if type(e) is not StageChanged]
    assert merge_history(moves, edits) == tuple(log)


# --- end to end: a deal's history exported and read back ---------------------------------------


def exported(history):
    """A drawn deal history as a CRM exports it: its stage rows and its field rows, all as text."""
    deal = history.start.id
    stages = [{"opportunity_id": deal, "stage": history.start.stage, "at": history.start.created_at}]
    fields = []
    for e in history.events:
        if type(e) is StageChanged:
            stages.append({"opportunity_id": deal, "stage": e.to_stage, "at": e.at, "actor": e.actor,
                           "lost_reason": e.lost_reason})  # fmt: skip
        elif type(e) is OwnerChanged:
            fields.append({"opportunity_id": deal, "field": "owner", "before": e.from_rep, "after": e.to_rep,
                           "at": e.at.isoformat(), "actor": e.actor})  # fmt: skip
        else:
            money = e.after if e.after is not None else e.before
            text = {"amount": lambda m: str(m.amount), "expected_close": dt.date.isoformat,
                    "forecast_category": lambda k: k.value.replace("_", " ").title()}[e.field]  # fmt: skip
            fields.append({
                "opportunity_id": deal, "field": e.field,
                "before": None if e.before is None else text(e.before),
                "after": None if e.after is None else text(e.after),
                "at": e.at.isoformat(), "actor": e.actor, "reason": e.reason,
                "currency": money.currency if e.field == "amount" else None,
            })  # fmt: skip
    return stages, fields


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(event_histories(edits=True, max_events=12))
def test_a_history_read_back_stands_as_the_original_at_every_instant(history):
    """Exported to tables and read back, the log replays to the deal, and as_of agrees at every instant."""
    stages, fields = exported(history)
    times = [r["at"] for r in stages]
    assume(
        all(a < b for a, b in itertools.pairwise(times))
    )  # a move takes some time, as a history records it
    log = merge_history(
        events_from_history(stages, history.pipeline, lost_reason="x"), edits_from_history(fields)
    )
    assert replay(history.start, log, pipeline=history.pipeline) == history.end
    assert [e.version for e in log] == list(range(1, len(history.events) + 1))
    edits = [e for e in history.events if type(e) is not StageChanged]
    read = [e for e in log if type(e) is not StageChanged]
    assert [(type(e), e.at) for e in read] == [(type(e), e.at) for e in edits]
    instants = {history.start.created_at - DAY, history.end.stage_entered_at + 400 * DAY}
    for e in history.events:
        instants |= {e.at, e.at - dt.timedelta(microseconds=1)}
    for now in sorted(instants):
        assert as_of([history.end], log, now=now) == as_of([history.end], history.events, now=now)


def test_a_bad_currency_is_named_once_per_row():
    """The row's currency serves its before and after: a bad one is one problem, not two."""
    row = {"opportunity_id": "o-1", "field": "amount", "before": "1", "after": "2",
           "at": "2026-03-05T09:00:00Z", "currency": "eur"}  # fmt: skip
    with raises_problems(("rows[0].currency", "format")):
        edits_from_history([row])
