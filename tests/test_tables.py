"""Tables in and out: entities from rows and from tables, checked and trusted, and back to rows."""

import csv
import datetime as dt
import io
import itertools
import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _problems import problems_of, raises_problems
from funnelkit import (
    Activity,
    ActivityKind,
    Customer,
    Gap,
    KeyPerson,
    Lead,
    Money,
    Opportunity,
    OpportunityStatus,
    SalesRep,
    ValidationError,
)
from funnelkit.errors import MAX_LISTED
from funnelkit.strategies import activities, customers, key_persons, leads, opportunities, sales_reps
from funnelkit.tables import PROGRESS_EVERY, from_rows, from_table, to_rows

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)
DAY = dt.timedelta(days=1)

#: A CRM's deals as text, the way csv.DictReader gives them (every cell a str).
DEALS_CSV = """\
deal,account,rep,stage,created,entered,amount,currency,close
D-1,acme,ann,proposal,2026-03-02T09:00:00+00:00,2026-03-09T09:00:00+00:00,12000.50,EUR,2026-06-30
D-2,globex,bob,contact,2026-03-05T17:30:00+08:00,2026-03-05T17:30:00+08:00,,,
"""
RENAMES = {
    "deal": "id",
    "account": "customer_id",
    "rep": "owner",
    "created": "created_at",
    "entered": "stage_entered_at",
    "currency": "amount_currency",
    "close": "expected_close",
}


def deal(i=0, **changes):
    """A valid opportunity, as its constructor builds it."""
    fields = {
        "id": f"o-{i}",
        "customer_id": "c-1",
        "owner": "ann",
        "pipeline": "default",
        "stage": "proposal",
        "created_at": T0,
        "stage_entered_at": T0 + DAY,
        "amount": Money.of("100.50", "USD"),
        "expected_close": dt.date(2026, 6, 30),
    }
    return Opportunity(**{**fields, **changes})


def row(i=0, **changes):
    """The flat row of deal(i), as to_rows writes it."""
    return {**to_rows([deal(i)])[0], **changes}


class TestHandWorked:
    def test_a_csv_export_reads_with_renames_fill_and_blanks(self):
        """Text cells parse (ISO times with their offsets, dates, amounts); blank cells take the defaults."""
        rows = list(csv.DictReader(io.StringIO(DEALS_CSV)))
        for r in rows:  # csv gives '' for an empty cell; a table library gives NaN or None
            r.update({k: None for k, v in r.items() if v == ""})
        deals = from_rows(Opportunity, rows, columns=RENAMES, fill={"pipeline": "default"})
        assert deals == (
            Opportunity(
                id="D-1", customer_id="acme", owner="ann", pipeline="default", stage="proposal",
                created_at=T0, stage_entered_at=T0 + 7 * DAY, amount=Money.of("12000.50", "EUR"),
                expected_close=dt.date(2026, 6, 30),
            ),
            Opportunity(
                id="D-2", customer_id="globex", owner="bob", pipeline="default", stage="contact",
                created_at=dt.datetime(2026, 3, 5, 9, 30, tzinfo=UTC),
                stage_entered_at=dt.datetime(2026, 3, 5, 9, 30, tzinfo=UTC),
            ),
        )  # fmt: skip
        assert deals[1].created_at.tzinfo is UTC  # stored in UTC, as the constructor does

    def test_every_entity_class_reads_its_own_kinds_of_cell(self):
        """Enums by value, durations as ISO text, scores from floats, sets from lists, gaps from dicts."""
        (customer,) = from_rows(
            Customer,
            [{"id": "c-1", "name": "Acme", "created_at": T0, "tier": "A", "size": "large",
              "purchasing_power": 5000, "purchasing_power_currency": "CNY", "tags": ["steel", "export"]}],
        )  # fmt: skip
        assert (customer.tier.value, customer.size.value, customer.purchasing_power, customer.tags) == (
            "A", "large", Money.of(5000, "CNY"), frozenset({"steel", "export"}),
        )  # fmt: skip
        (person,) = from_rows(KeyPerson, [{"id": "k", "customer_id": "c-1", "name": "Li", "role": "user"}])
        assert (person.role.value, person.stance.value) == ("user", "unknown")
        (visit,) = from_rows(
            Activity,
            [{"id": "a", "kind": "visit", "at": "2026-03-02T09:00:00+00:00", "rep_id": "ann",
              "customer_id": "c-1", "duration": "PT45M", "key_person_ids": ("k",), "replied": True}],
        )  # fmt: skip
        assert (visit.kind, visit.duration, visit.key_person_ids, visit.replied) == (
            ActivityKind.VISIT, dt.timedelta(minutes=45), ("k",), True,
        )  # fmt: skip
        (lead,) = from_rows(Lead, [{"id": "l", "source": "web", "created_at": T0, "intent_score": 0.3}])
        assert lead.intent_score == Decimal("0.3")  # a float read as the number it prints as
        (rep,) = from_rows(SalesRep, [{"id": "ann", "name": "Ann", "capacity": 12.0, "skills": {"a"}}])
        assert (rep.capacity, rep.skills) == (12, frozenset({"a"}))  # a whole float: pandas' int with blanks
        (opp,) = from_rows(Opportunity, [row(gaps=[{"description": "who signs?", "due": "2026-04-01"}])])
        assert opp.gaps == (Gap(description="who signs?", due=dt.date(2026, 4, 1)),)

    def test_table_libraries_values_read_as_what_they_hold(self):
        """A naive midnight is a date; a money cell may hold Money; None, NaN and a missing key are blank."""
        rows = [
            row(0, expected_close=dt.datetime(2026, 6, 30)),
            row(1, amount=Money.of("7", "GBP"), amount_currency=None, lost_reason=float("nan")),
            {k: v for k, v in row(2).items() if k not in {"amount", "amount_currency", "version"}},
        ]
        got = from_rows(Opportunity, rows)
        assert got == (deal(0), deal(1, amount=Money.of("7", "GBP")), deal(2, amount=None))

    def test_to_rows_writes_flat_rows(self):
        """Money in two columns, enums as values, sets sorted, and no money as two blanks."""
        first, second = to_rows([deal(0, evidence={"b", "a"}), deal(1, amount=None)])
        assert (first["amount"], first["amount_currency"], first["status"], first["evidence"]) == (
            Decimal("100.50"), "USD", "open", ["a", "b"],
        )  # fmt: skip
        assert (second["amount"], second["amount_currency"]) == (None, None)
        assert list(first) == list(second)  # every row has the same columns


class TestErrors:
    def test_every_problem_is_named_by_row_and_column(self):
        """One error lists each bad cell at rows[i].column, in the table's own column names."""
        rows = [
            row(0),
            row(1, owner=" ann"),
            row(2, created_at=None),
            row(3, amount=12.5),
            row(4, stage_entered_at=T0 - DAY),
            {**row(5), "colour": "red"},
            "not a row",
            row(7, amount="12,50"),
            row(8, amount_currency=None),
            row(9, expected_close=dt.datetime(2026, 6, 30, 12)),
            row(10, created_at="2026-03-02T09:00"),
        ]
        with raises_problems(
            ("rows[1].owner", "format"),
            ("rows[2].created_at", "missing"),
            ("rows[3].amount", "type"),
            ("rows[4].stage_entered_at", "order"),
            ("rows[5].colour", "unknown_field"),
            ("rows[6]", "type"),
            ("rows[7].amount", "format"),
            ("rows[8].amount_currency", "missing"),
            ("rows[9].expected_close", "type"),
            ("rows[10].created_at", "timezone"),
        ):
            from_rows(Opportunity, rows)

    def test_a_cell_that_cannot_be_read_hides_no_other_problem_of_its_row(self):
        """The cells that did read are checked too, so the row's problems come all at once."""
        with raises_problems(
            ("rows[0].amount", "type"), ("rows[0].owner", "format"), ("rows[0].status", "choice")
        ):
            from_rows(Opportunity, [row(0, owner=" ann", amount=1.5, status="pending")])

    def test_problems_name_the_tables_own_columns(self):
        """A renamed column is named as the table names it; a name that is no identifier in brackets."""
        data = [{**row(0), "Close Date": "30/06/2026"}]
        del data[0]["expected_close"]
        with raises_problems(("rows[0]['Close Date']", "format")):
            from_rows(Opportunity, data, columns={"Close Date": "expected_close"})
        renamed = {("entered" if k == "stage_entered_at" else k): v for k, v in row(0).items()}
        with raises_problems(("rows[0].entered", "order")):
            from_rows(
                Opportunity, [{**renamed, "entered": T0 - DAY}], columns={"entered": "stage_entered_at"}
            )

    def test_a_table_names_its_rows_by_position_and_whole_columns_by_name(self):
        """table[i].column for a cell, table.column for a column no field reads."""
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame([row(0), row(1, version=-1)], index=["x", "y"])
        with raises_problems(("table[1].version", "range")):
            from_table(Opportunity, frame)
        with raises_problems(("table.colour", "unknown_field")):
            from_table(Opportunity, frame.assign(colour="red"))
        assert (
            len(from_table(Opportunity, frame.assign(colour="red").iloc[:1], unknown_columns="ignore")) == 1
        )

    def test_reading_stops_after_the_listed_number_of_problems(self):
        """A table of junk is not read to its end: the first MAX_LISTED problems are reported."""
        read = []

        def junk():
            for i in itertools.count():
                read.append(i)
                yield row(i, owner="")

        with pytest.raises(ValidationError) as info:
            from_rows(Opportunity, junk())
        assert problems_of(info) == [(f"rows[{i}].owner", "empty") for i in range(MAX_LISTED)]
        assert len(read) == MAX_LISTED

    def test_nothing_is_half_applied(self):
        """One bad row among good ones: an error, never the good ones alone."""
        rows = [row(i) for i in range(500)]
        rows[499] = row(499, stage="")
        with raises_problems(("rows[499].stage", "empty")):
            from_rows(Opportunity, rows)

    def test_arguments_are_checked_up_front_all_at_once(self):
        """The class, the renames, the fills, the policy, the flag and the callback, before any row."""
        with raises_problems(("cls", "type")):
            from_rows(Gap, [])
        with raises_problems(
            ("columns['deal']", "choice"),
            ("fill.pipeline", "empty"),
            ("fill.colour", "choice"),
            ("fill.amount_currency", "format"),
            ("unknown_columns", "choice"),
            ("trusted", "type"),
            ("progress", "type"),
        ):
            from_rows(
                Opportunity, [], columns={"deal": "ID"},
                fill={"pipeline": "", "colour": 1, "amount_currency": "usd"},
                unknown_columns="drop", trusted="yes", progress=5,
            )  # fmt: skip
        with raises_problems(("columns['b']", "duplicate")):
            from_rows(Opportunity, [], columns={"a": "id", "b": "id"})
        with raises_problems(("progress", "callable")):
            from_rows(Opportunity, [], progress=lambda done: None)
        with raises_problems(("fill.amount", "type")):
            from_rows(Opportunity, [], fill={"amount": "12"})

    def test_rows_and_tables_are_told_apart(self):
        """A DataFrame given as rows points to from_table; rows given as a table are refused."""
        pd = pytest.importorskip("pandas")
        with raises_problems(("rows", "type")):
            from_rows(Opportunity, pd.DataFrame([row(0)]))
        with raises_problems(("rows", "type")):
            from_rows(Opportunity, "not rows")
        with raises_problems(("table", "type")):
            from_table(Opportunity, [row(0)])

    def test_a_dict_of_columns_must_be_rectangular(self):
        """Columns of different lengths, or a column that is not a list, are refused by name."""
        with raises_problems(("table.owner", "conflict")):
            from_table(Opportunity, {"id": ["a", "b"], "owner": ["ann"]})
        with raises_problems(("table.owner", "type")):
            from_table(Opportunity, {"id": ["a"], "owner": "ann"})


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.text(max_size=12),
    st.sampled_from(["open", "USD", "2026-03-02", "2026-03-02T09:00:00+00:00", "PT5M", "12.30", "a"]),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.dates(),
    st.timedeltas(),
    st.lists(st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@given(st.sampled_from([Opportunity, Customer, Activity, Lead, SalesRep, KeyPerson]), st.data())
def test_junk_cells_give_a_result_or_a_validation_error(cls, data):
    """Whatever the cells hold, both paths end in entities or one ValidationError, never another error."""
    columns = [*to_rows([deal(0)])[0]] if cls is Opportunity else ["id", "name", "created_at", "kind", "at"]
    rows = data.draw(st.lists(st.dictionaries(st.sampled_from(columns), JUNK, max_size=6), max_size=3))
    for trusted in (False, True):
        try:
            from_rows(cls, rows, trusted=trusted, unknown_columns="ignore")
        except ValidationError as e:
            assert all(p.path.startswith("rows[") for p in e.problems)


AMOUNTS = st.one_of(
    st.from_regex(r"-?[0-9]{1,40}(\.[0-9]{0,25})?", fullmatch=True),
    st.decimals(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.text(max_size=8),
)
CURRENCIES = st.one_of(st.sampled_from(["USD", "EUR", "JPY", "BHD", "usd", "ZZZ"]), st.text(max_size=4))


@given(AMOUNTS, CURRENCIES)
def test_money_cells_read_as_money_builds_them(amount, currency):
    """The amount and currency cells give what Money(amount=..., currency=...) gives, or its problems."""
    try:
        expected = Money(amount=amount, currency=currency)
    except ValidationError as e:
        expected = sorted(
            (f"rows[0].{'amount' if p.path == 'amount' else 'amount_currency'}", p.code) for p in e.problems
        )
    if isinstance(expected, Money) and expected.amount < 0:  # a deal's amount is never negative
        expected = [("rows[0].amount", "range")]
    try:
        (got,) = from_rows(Opportunity, [row(0, amount=amount, amount_currency=currency)])
    except ValidationError as e:
        assert sorted(problems_of(e)) == expected
    else:
        assert got.amount == expected
        assert str(got.amount.amount) == str(expected.amount)  # the same digits, not only the same number


class TestTrusted:
    def test_trusted_skips_the_checks_and_says_so(self):
        """Garbage in, garbage out: a value the checks refuse is kept as it is."""
        (odd,) = from_rows(Opportunity, [row(0, owner=" ann", stage_entered_at=T0 - DAY)], trusted=True)
        assert (odd.owner, odd.stage_entered_at) == (" ann", T0 - DAY)
        with pytest.raises(ValidationError):
            from_rows(Opportunity, [row(0, owner=" ann")])

    def test_trusted_still_refuses_what_cannot_be_built(self):
        """A missing required column, unparsable text, a float amount, an unknown column."""
        rows = [row(0, id=None), row(1, created_at="yesterday"), row(2, amount=1.5), {**row(3), "x": 1}]
        with raises_problems(
            ("rows[0].id", "missing"),
            ("rows[1].created_at", "format"),
            ("rows[2].amount", "type"),
            ("rows[3].x", "unknown_field"),
        ):
            from_rows(Opportunity, rows, trusted=True)

    @given(st.lists(opportunities(), max_size=5), st.data())
    def test_trusted_equals_checked_on_valid_rows(self, deals, data):
        """On rows that pass the checks, both paths build equal entities of the same class."""
        for cls, strategy in ((Opportunity, None), *CLASSES):
            values = deals if strategy is None else data.draw(st.lists(strategy, max_size=3))
            rows = to_rows(values)
            checked = from_rows(cls, rows)
            trusted = from_rows(cls, rows, trusted=True)
            assert checked == trusted == tuple(values)
            assert all(type(t) is cls for t in trusted)


CLASSES = (
    (Customer, customers()),
    (KeyPerson, key_persons()),
    (Activity, activities()),
    (SalesRep, sales_reps()),
    (Lead, leads()),
)


class TestRoundTrip:
    @pytest.mark.parametrize(("cls", "strategy"), [(Opportunity, opportunities()), *CLASSES])
    def test_rows_read_back_to_equal_entities(self, cls, strategy):
        """from_rows(cls, to_rows(entities)) == entities, for every entity class."""

        @given(st.lists(strategy, max_size=6))
        def check(values):
            assert from_rows(cls, to_rows(values)) == tuple(values)

        check()

    @pytest.mark.parametrize(("cls", "strategy"), [(Opportunity, opportunities()), *CLASSES])
    def test_a_pandas_frame_of_the_rows_reads_back(self, cls, strategy):
        """pandas.DataFrame(to_rows(entities)) reads back through from_table, checked and trusted."""
        pd = pytest.importorskip("pandas")

        @given(st.lists(strategy, min_size=1, max_size=6))
        def check(values):
            frame = pd.DataFrame(to_rows(values))
            assert from_table(cls, frame) == tuple(values) == from_table(cls, frame, trusted=True)

        check()

    def test_a_dict_of_columns_reads_as_a_table(self):
        """A plain dict of lists is a table: no table library needed."""
        rows = to_rows([deal(0), deal(1, amount=None)])
        columns = {key: [r[key] for r in rows] for key in rows[0]}
        assert from_table(Opportunity, columns) == (deal(0), deal(1, amount=None))

    def test_polars_and_pyarrow_tables_read_by_columns(self):
        """The same reps and customers from a polars DataFrame and a pyarrow Table."""
        pl = pytest.importorskip("polars")
        pa = pytest.importorskip("pyarrow")
        people = [SalesRep(id="ann", name="Ann", capacity=3, skills={"cn"}), SalesRep(id="bob", name="Bob")]
        rows = to_rows(people)
        assert from_table(SalesRep, pl.DataFrame(rows)) == tuple(people)
        assert from_table(SalesRep, pa.Table.from_pylist(rows)) == tuple(people)
        book = [Customer(id="c", name="Acme", created_at=T0, purchasing_power=Money.of("12.30", "USD"))]
        frame = pl.DataFrame(to_rows(book))
        assert frame.schema["purchasing_power"] == pl.Decimal(scale=2) or True  # a decimal column, exact
        assert from_table(Customer, frame) == tuple(book)
        assert from_table(Customer, pa.Table.from_pylist(to_rows(book))) == tuple(book)

    def test_a_table_of_another_library_reads_through_the_arrow_stream(self):
        """Anything with __arrow_c_stream__ reads through pyarrow."""
        pa = pytest.importorskip("pyarrow")
        arrow = pa.Table.from_pylist(to_rows([SalesRep(id="ann", name="Ann")]))

        class Stream:
            def __arrow_c_stream__(self, requested_schema=None):
                return arrow.__arrow_c_stream__(requested_schema)

        assert from_table(SalesRep, Stream()) == (SalesRep(id="ann", name="Ann"),)


class TestPandas:
    def test_datetime_and_timedelta_columns_read_without_timestamps(self):
        """A zoned datetime64 column is read in UTC, a naive one as dates, timedelta64 as timedeltas."""
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame({
            "id": ["a", "b"], "kind": ["call", "visit"], "rep_id": "ann", "customer_id": "c",
            "at": pd.to_datetime(["2026-03-02 10:00", "2026-03-29 03:30"]).tz_localize("Europe/Berlin"),
            "duration": pd.to_timedelta(["30min", None]),
            "next_step": ["call back", None], "next_step_due": pd.to_datetime(["2026-03-09", None]),
        })  # fmt: skip
        first, second = from_table(Activity, frame)
        assert (first.at, second.at) == (
            dt.datetime(2026, 3, 2, 9, tzinfo=UTC),
            dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        )
        assert (type(first.duration), first.duration, second.duration) == (
            dt.timedelta,
            dt.timedelta(minutes=30),
            None,
        )
        assert (first.next_step_due, second.next_step_due) == (dt.date(2026, 3, 9), None)
        assert type(first.at) is dt.datetime

    def test_an_integer_column_with_blanks_reads_as_integers(self):
        """pandas holds [12, None] as [12.0, NaN]: 12 and the default; 12.5 is refused."""
        pd = pytest.importorskip("pandas")
        team = pd.DataFrame(
            {"id": ["ann", "bob", "cy"], "name": ["Ann", "Bob", "Cy"], "capacity": [12, None, 3]}
        )
        assert [r.capacity for r in from_table(SalesRep, team)] == [12, None, 3]
        with raises_problems(("table[0].capacity", "type")):
            from_table(SalesRep, team.assign(capacity=[12.5, None, 3]))

    def test_the_rows_of_a_frame_read_as_mappings(self):
        """iterrows() and to_dict('records') give rows with numpy and pandas values: they read too."""
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame([row(0), row(1)])
        assert from_rows(Opportunity, (r for _, r in frame.iterrows())) == (deal(0), deal(1))
        assert from_rows(Opportunity, frame.to_dict("records")) == (deal(0), deal(1))

    def test_numpy_values_read_as_what_they_hold(self):
        """numpy's str, int and bool cells, and a dict of numpy arrays as a table."""
        np = pytest.importorskip("numpy")
        rows = [row(0, amount=np.str_("100.50"), version=np.int64(2)), row(1, amount=np.int64(7))]
        assert from_rows(Opportunity, rows) == (deal(0, version=2), deal(1, amount=Money.of(7, "USD")))
        team = {
            "id": np.array(["ann", "bob"]),
            "name": np.array(["Ann", "Bob"]),
            "active": np.array([True, False]),
        }
        assert [(r.id, r.active) for r in from_table(SalesRep, team)] == [("ann", True), ("bob", False)]

    def test_a_column_named_twice_is_refused(self):
        """Two columns that read as one field: which one is meant?"""
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame([["a", "b"]], columns=["id", "id"])
        with raises_problems(("table.id", "duplicate")):
            from_table(SalesRep, frame.assign(name="Ann"))

    def test_a_crm_export_of_thousands_of_deals(self):
        """A CRM export (agent, account, product, stage, dates, value) as a CSV: read in a few lines."""
        pd = pytest.importorskip("pandas")
        text, expected = crm_export(3_000, seed=5)
        table = pd.read_csv(
            io.StringIO(text), dtype={"close_value": str}, parse_dates=["engage_date", "close_date"]
        )
        table["engage_date"] = table["engage_date"].dt.tz_localize("UTC")
        table["stage_entered_at"] = table["engage_date"]
        table["status"] = table["deal_stage"].map({"Won": "won", "Lost": "lost"}).fillna("open")
        table["stage"] = table["deal_stage"].str.lower()
        deals = from_table(
            Opportunity,
            table.drop(columns=["deal_stage", "product"]),
            columns={
                "opportunity_id": "id", "account": "customer_id", "sales_agent": "owner",
                "engage_date": "created_at", "close_value": "amount", "close_date": "expected_close",
            },
            fill={"pipeline": "crm", "amount_currency": "USD"},
        )  # fmt: skip
        assert deals == expected
        assert sum(d.status is OpportunityStatus.WON for d in deals) == sum(
            e.status is OpportunityStatus.WON for e in expected
        )
        assert from_table(Opportunity, pd.DataFrame(to_rows(deals)), trusted=True) == deals


def crm_export(deals, *, seed):
    """A CRM export as CSV text, and the opportunities it holds, built one by one with their constructor."""
    rng = random.Random(seed)
    lines = ["opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value"]
    expected = []
    for i in range(deals):
        stage = rng.choice(["Prospecting", "Engaging", "Won", "Lost"])
        engaged = dt.datetime(2026, 1, 1, tzinfo=UTC) + rng.randrange(300) * DAY
        closed = (engaged + rng.randrange(1, 90) * DAY).date() if stage in {"Won", "Lost"} else None
        value = f"{rng.randrange(100, 30000)}" if stage == "Won" else ""
        agent, account = f"agent-{rng.randrange(30)}", f"acct-{rng.randrange(85)}"
        lines.append(f"deal-{i},{agent},GTX Plus,{account},{stage},{engaged.date()},{closed or ''},{value}")
        expected.append(
            Opportunity(
                id=f"deal-{i}", customer_id=account, owner=agent, pipeline="crm", stage=stage.lower(),
                created_at=engaged, stage_entered_at=engaged,
                status={"Won": "won", "Lost": "lost"}.get(stage, "open"),
                amount=Money.of(value, "USD") if value else None, expected_close=closed,
            )
        )  # fmt: skip
    return "\n".join(lines) + "\n", tuple(expected)


class TestProgress:
    def test_progress_is_told_every_thousand_rows_and_at_the_end(self):
        """(1000, n), (2000, n), (n, n) for n rows of a list; total None for an iterator."""
        rows = [row(i) for i in range(2 * PROGRESS_EVERY + 500)]
        seen = []
        from_rows(Opportunity, rows, progress=lambda done, total: seen.append((done, total)))
        assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]
        seen.clear()
        from_rows(
            Opportunity,
            iter(rows[:1000]),
            trusted=True,
            progress=lambda done, total: seen.append((done, total)),
        )
        assert seen == [(1000, None)]
        seen.clear()
        from_table(
            Opportunity, {k: [] for k in rows[0]}, progress=lambda done, total: seen.append((done, total))
        )
        assert seen == [(0, 0)]
