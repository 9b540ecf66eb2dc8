"""Tests for the weighted forecast from ready columns, held to the object path (the oracle)."""

import contextlib
import datetime as dt
import decimal
import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Money, Opportunity
from funnelkit.forecast import WeightedForecast, weighted_forecast, weighted_forecast_columns
from funnelkit.stages import default_pipeline

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
PIPE = default_pipeline()
STAGES = [s.key for s in PIPE.stages]


@contextlib.contextmanager
def without_numpy():
    """funnelkit's column reading sees neither numpy nor pandas: the row-by-row path answers."""
    from funnelkit import _columns

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_columns, "module", lambda name: None)
        yield


def both_paths(*args, **kwargs):
    """The forecast with numpy (when installed) and without; asserts they are equal line for line."""
    fast = weighted_forecast_columns(*args, **kwargs)
    with without_numpy():
        exact = weighted_forecast_columns(*args, **kwargs)
    assert fast.by == exact.by
    assert fast.lines == exact.lines
    return fast


def lines(forecast):
    return [(ln.key, ln.currency, ln.deals, ln.amount, ln.weighted) for ln in forecast.lines]


def test_worked_by_hand_half_even_per_deal():
    """
    Cents x probability, each rounded half-even: 100005 x 0.4 = 40002; 1999 x 0.5 = 999.5 -> 1000 (even);
    2001 x 0.5 = 1000.5 -> 1000; 2003 x 0.5 = 1001.5 -> 1002; 5 x 0.1 = 0.5 -> 0; won in full.
    """
    f = both_paths(
        [100_005, 1_999, 2_001, 2_003, 5, 5_000],
        ["0.4", "0.5", "0.5", "0.5", "0.1", 1],
        currency="USD",
        by={"owner": ["ann", "ann", "bob", "bob", "bob", "cy"]},
    )
    assert lines(f) == [
        (("ann",), "USD", 2, Money.of("1020.04", "USD"), Money.of("410.02", "USD")),
        (("bob",), "USD", 3, Money.of("40.09", "USD"), Money.of("20.02", "USD")),
        (("cy",), "USD", 1, Money.of("50.00", "USD"), Money.of("50.00", "USD")),
    ]


def test_zero_and_three_place_currencies_and_a_currency_column():
    """JPY has no minor unit (1001 x 0.5 = 500.5 -> 500 yen), KWD three (0.500 KWD); never summed together."""
    f = both_paths([1001, 1001, 1003], [0.5, 0.5, 0.5], currency=["JPY", "KWD", "JPY"])
    assert lines(f) == [
        ((), "JPY", 2, Money.of("2004", "JPY"), Money.of("1002", "JPY")),
        ((), "KWD", 1, Money.of("1.001", "KWD"), Money.of("0.500", "KWD")),
    ]


def test_no_rows_no_lines():
    """Empty columns give a forecast without lines, grouped as asked."""
    f = both_paths([], [], currency="USD", by={"owner": []})
    assert f.by == ("owner",)
    assert f.lines == ()


def _deals(raw):
    """Opportunities from hypothesis' (owner, stage, cents, currency) tuples; lost deals get a reason."""
    out = []
    for i, (owner, stage, cents, currency) in enumerate(raw):
        status = {"won": "won", "lost": "lost"}.get(stage, "open")
        amount = Money.from_minor(cents, currency)
        out.append(
            Opportunity(
                id=f"o{i}",
                customer_id="c",
                owner=owner,
                pipeline="default",
                stage=stage,
                status=status,
                created_at=T0,
                stage_entered_at=T0,
                amount=amount,
                lost_reason="price" if status == "lost" else None,
            )
        )
    return out


def _columns_of(deals, kind):
    """The columns of the deals that count (lost ones left out, won ones at probability 1)."""
    kept = [d for d in deals if d.status.value != "lost"]
    probabilities = [Decimal(1) if d.status.value == "won" else PIPE.stage(d.stage).probability for d in kept]
    if kind == "float":
        probabilities = [float(p) for p in probabilities]
    elif kind == "str":
        probabilities = [str(p) for p in probabilities]
    return (
        [d.amount.to_minor() for d in kept],
        probabilities,
        [d.amount.currency for d in kept],
        {"owner": [d.owner for d in kept], "stage": [d.stage for d in kept]},
    )


raw_deals = st.lists(
    st.tuples(
        st.sampled_from(["ann", "bob", "cy"]),
        st.sampled_from(STAGES),
        st.integers(0, 10**12),
        st.sampled_from(["USD", "JPY", "KWD"]),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(raw=raw_deals, kind=st.sampled_from(["float", "decimal", "str"]), array=st.booleans())
def test_columns_equal_the_object_path(raw, kind, array):
    """The object path is the oracle: the same lines, with numpy (lists or arrays) and without."""
    deals = _deals(raw)
    amounts, probabilities, currencies, keys = _columns_of(deals, kind)
    if array:
        np = pytest.importorskip("numpy")
        amounts = np.array(amounts, dtype=np.int64)
        probabilities = np.array(probabilities, dtype=np.float64 if kind == "float" else object)
        currencies = np.array(currencies, dtype=object)
        keys = {name: np.array(column, dtype=object) for name, column in keys.items()}
    f = both_paths(amounts, probabilities, currency=currencies, by=keys)
    assert f == weighted_forecast(deals, PIPE, by=["owner", "stage"])


@settings(max_examples=30, deadline=None)
@given(raw=raw_deals, cut=st.integers(0, 40))
def test_column_results_merge_as_one_pass_and_with_the_object_path(raw, cut):
    """Two partitions' column forecasts merge into the whole's; a column and an object forecast merge."""
    deals = _deals(raw)
    amounts, probabilities, currencies, keys = _columns_of(deals, "float")
    whole = weighted_forecast_columns(amounts, probabilities, currency=currencies, by=keys)
    left = weighted_forecast_columns(
        amounts[:cut],
        probabilities[:cut],
        currency=currencies[:cut],
        by={k: v[:cut] for k, v in keys.items()},
    )
    right = weighted_forecast_columns(
        amounts[cut:],
        probabilities[cut:],
        currency=currencies[cut:],
        by={k: v[cut:] for k, v in keys.items()},
    )
    assert left.merge(right) == whole
    kept = [d for d in deals if d.status.value != "lost"]
    objects = weighted_forecast(kept[cut:], PIPE, by=["owner", "stage"])
    assert left.merge(objects) == whole


@settings(max_examples=40, deadline=None)
@given(
    cents=st.lists(st.integers(0, 2**62), min_size=1, max_size=20),
    probabilities=st.lists(
        st.floats(0, 1).filter(lambda p: Decimal(repr(p)).as_tuple().exponent >= -20),
        min_size=20,
        max_size=20,
    ),
)
def test_any_float_and_huge_amounts_stay_exact(cents, probabilities):
    """Floats with 17 digits (read by their shortest repr) and products past 2**63 give Decimal's rounding."""
    ps = probabilities[: len(cents)]
    f = both_paths(cents, ps, currency="USD")
    expected = sum(
        (
            (Decimal(c) * Decimal(repr(p))).quantize(Decimal(1), rounding=decimal.ROUND_HALF_EVEN)
            for c, p in zip(cents, ps, strict=True)
        ),
        Decimal(0),
    )
    assert f.lines[0].weighted == Money.from_minor(int(expected), "USD")
    assert f.lines[0].amount == Money.from_minor(sum(cents), "USD")


def test_numpy_pandas_and_polars_columns():
    """numpy arrays, pandas Series (a categorical, arrow strings) and polars Series give the list result."""
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    amounts = [100_005, 5_000, 1_999, 700]
    ps = [0.4, 1.0, 0.5, 0.25]
    owners = ["ann", "bob", "ann", None]
    expected = weighted_forecast_columns(amounts, ps, currency="USD", by={"owner": owners})
    assert [ln.key for ln in expected.lines] == [("ann",), ("bob",), (None,)]
    frame = pd.DataFrame({"amount": amounts, "p": ps, "owner": owners})
    for owner in (frame["owner"], frame["owner"].astype("category"), frame["owner"].astype(object)):
        got = weighted_forecast_columns(frame["amount"], frame["p"], currency="USD", by={"owner": owner})
        assert got == expected
    arrays = weighted_forecast_columns(
        np.array(amounts, dtype=np.int32),
        np.array(ps),
        currency="USD",
        by={"owner": np.array(owners, dtype=object)},
    )
    assert arrays == expected
    pl = pytest.importorskip("polars")
    got = weighted_forecast_columns(
        pl.Series(amounts), pl.Series(ps), currency="USD", by={"owner": pl.Series(owners)}
    )
    assert got == expected


def test_missing_keys_are_none_whatever_marks_them():
    """None, NaN and pandas' NA in a key column are one group keyed None (weighted_forecast's missing key)."""
    pd = pytest.importorskip("pandas")
    owners = pd.Series(["ann", None, math.nan, pd.NA], dtype=object)
    f = both_paths([1, 2, 3, 4], [1, 1, 1, 1], currency="EUR", by={"owner": owners})
    assert [(ln.key, ln.deals) for ln in f.lines] == [(("ann",), 1), ((None,), 3)]


def test_integer_keys_and_many_groups():
    """Keys may be ints; 5,000 rows in 2,500 x 3 groups (past the dense code space) sum exactly."""
    n = 5_000
    amounts = [i * 7 for i in range(n)]
    f = both_paths(
        amounts,
        [0.5] * n,
        currency="USD",
        by={"customer": [i % 2_500 for i in range(n)], "k": [i % 3 for i in range(n)]},
    )
    assert sum(ln.deals for ln in f.lines) == n
    assert len(f.lines) == len({(i % 2_500, i % 3) for i in range(n)})
    assert sum(ln.amount.amount for ln in f.lines) == Money.from_minor(sum(amounts), "USD").amount


def test_errors_name_the_column_and_the_row():
    """Floats as money, a negative amount, a probability beyond 1, NaN, a bad currency, an unhashable key."""
    for check in (weighted_forecast_columns, _without_numpy(weighted_forecast_columns)):
        with raises_problems(("amounts_minor[1]", "type"), ("amounts_minor[2]", "range")):
            check([1, 2.5, -1], [0.5, 0.5, 0.5], currency="USD")
        with raises_problems(("probabilities[1]", "range"), ("probabilities[2]", "type")):
            check([1, 2, 3], [0.5, 1.5, math.nan], currency="USD")
        with raises_problems(("currency[1]", "currency")):
            check([1, 2], [1, 1], currency=["USD", "XYZ"])
        with raises_problems(("by['owner'][0]", "type")):
            check([1], [1], currency="USD", by={"owner": [["not", "hashable"]]})
        with raises_problems(("probabilities[0]", "type"), ("probabilities[1]", "precision")):
            check([1, 1], [True, 3.5e-158], currency="USD")


def _without_numpy(fn):
    def call(*args, **kwargs):
        with without_numpy():
            return fn(*args, **kwargs)

    return call


def test_bad_columns_are_refused_before_any_row():
    """Lengths that differ, an iterator, a table, a str, a bad currency code and a bad group name."""
    with raises_problems(("probabilities", "conflict")):
        weighted_forecast_columns([1, 2], [1], currency="USD")
    with raises_problems(("amounts_minor", "type")):
        weighted_forecast_columns(iter([1]), [1], currency="USD")  # type: ignore[arg-type]
    with raises_problems(("amounts_minor", "type"), ("currency", "format")):
        weighted_forecast_columns("12", [1], currency="usd")  # type: ignore[arg-type]
    with raises_problems(("by", "type")):
        weighted_forecast_columns([1], [1], currency="USD", by=[["owner"]])  # type: ignore[arg-type]
    with raises_problems(("by[''] (key)", "empty")):
        weighted_forecast_columns([1], [1], currency="USD", by={"": ["a"]})
    np = pytest.importorskip("numpy")
    with raises_problems(("amounts_minor", "type")):
        weighted_forecast_columns(np.ones((2, 2), dtype=np.int64), [1, 1], currency="USD")
    with raises_problems(("amounts_minor[0]", "type")):
        weighted_forecast_columns(np.array([1.0]), [1], currency="USD")


def test_the_callers_decimal_context_does_not_matter():
    """A one-digit context with every trap set changes nothing."""
    expected = weighted_forecast_columns([123_457, 99], ["0.123", "0.5"], currency="USD")
    with decimal.localcontext(decimal.Context(prec=1, traps=list(decimal.Context().flags))):
        assert weighted_forecast_columns([123_457, 99], ["0.123", "0.5"], currency="USD") == expected
    assert expected.total("USD") == Money.of("152.35", "USD")  # 15185.211 -> 15185; 49.5 -> 50 (even)


def test_the_result_is_a_weighted_forecast_report():
    """The column forecast is the object path's class: its repr, records and total."""
    f = weighted_forecast_columns([100_005], [0.4], currency="USD", by={"owner": ["ann"]})
    assert isinstance(f, WeightedForecast)
    assert f.to_records() == [
        {
            "owner": "ann",
            "deals": 1,
            "amount": Decimal("1000.05"),
            "amount_currency": "USD",
            "weighted": Decimal("400.02"),
            "weighted_currency": "USD",
        }
    ]


@settings(max_examples=60, deadline=None)
@given(
    products=st.lists(st.integers(0, 2**52 - 1), min_size=1, max_size=50),
    places=st.integers(1, 15),
    ties=st.booleans(),
)
def test_the_array_roundings_are_half_even(products, places, ties):
    """Both array roundings (int64, and floats below 2**52) equal Python's exact half-even, ties included."""
    np = pytest.importorskip("numpy")
    from funnelkit import _columns

    denominator = 10**places
    if ties:  # every product an exact tie: q + 1/2
        products = [(p // denominator) * denominator + denominator // 2 for p in products]
        products = [p for p in products if p < 2**52] or [denominator // 2]
    expected = [_columns.half_even_int(p, denominator) for p in products]
    assert _columns.half_even(np, np.array(products, dtype=np.int64), denominator).tolist() == expected
    floats = _columns.half_even_floats(np, np.array(products, dtype=np.float64), denominator)
    assert [int(x) for x in floats.tolist()] == expected


@pytest.mark.parametrize(
    ("cents", "probability"),
    [
        (987_654, "0.25"),  # products below 2**52: in floats
        (2**40 + 12_345, "0.123457"),  # up to 2**62: int64
        (2**60 + 5, "0.123456789"),  # beyond: Python ints
    ],
)
def test_each_arithmetic_gives_decimals_rounding(cents, probability):
    """Whichever arithmetic the sizes call for, a deal's weighted cents are Decimal's half-even rounding."""
    np = pytest.importorskip("numpy")
    amounts = np.array([cents, cents + 1, cents + 2], dtype=np.int64)
    f = weighted_forecast_columns(amounts, np.array([float(probability)] * 3), currency="USD")
    exact = sum(
        (Decimal(c) * Decimal(probability)).quantize(Decimal(1), rounding=decimal.ROUND_HALF_EVEN)
        for c in amounts.tolist()
    )
    assert f.lines[0].weighted == Money.from_minor(int(exact), "USD")
