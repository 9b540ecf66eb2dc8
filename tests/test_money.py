"""Tests for Money, the currency table and rounding."""

import decimal
import threading
from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import (
    CurrencyMismatchError,
    Money,
    currency_minor_units,
    known_currencies,
    register_currency,
)
from funnelkit.strategies import money


def usd(amount):
    return Money.of(amount, "USD")


class TestConstruction:
    @pytest.mark.parametrize(
        ("amount", "expected"),
        [
            ("12.30", Decimal("12.30")),
            (12, Decimal(12)),
            (Decimal("0.5"), Decimal("0.5")),
            ("-1e3", Decimal(-1000)),
        ],
    )
    def test_accepts_str_int_decimal(self, amount, expected):
        """str, int and Decimal amounts are taken exactly as written."""
        m = Money.of(amount, "USD")
        assert m.amount == expected
        assert m.currency == "USD"

    def test_keeps_written_precision(self):
        """'12.30' keeps its trailing zero: the amount is exactly what was given."""
        assert str(Money.of("12.30", "USD").amount) == "12.30"

    def test_refuses_float_with_advice(self):
        """A float amount is refused (the message, pinned in test_error_codes, says what to pass)."""
        with raises_problems(("amount", "type")):
            Money.of(0.1, "USD")

    @pytest.mark.parametrize(
        ("amount", "code"),
        [
            (True, "type"),
            (None, "type"),
            ("twelve", "format"),
            (" 7 ", "format"),
            ("1_000", "format"),
            ("\u0661\u0662", "format"),
            ("NaN", "format"),
            (Decimal("0E-2000000"), "precision"),
            (Decimal("NaN"), "range"),
            (Decimal("Infinity"), "range"),
            (Decimal("1E+30"), "limit"),
            (Decimal("1E-21"), "precision"),
        ],
    )
    def test_refuses_bad_amounts(self, amount, code):
        """Every bad amount is refused at ``amount``, with the kind of problem."""
        with raises_problems(("amount", code)):
            Money(amount=amount, currency="USD")

    @pytest.mark.parametrize(
        ("currency", "code"),
        [("usd", "format"), ("US", "format"), ("ABC", "currency"), (840, "type")],
    )
    def test_refuses_bad_currencies(self, currency, code):
        """Lower-case, malformed, unknown and non-string codes are refused."""
        with raises_problems(("currency", code)):
            Money.of(1, currency)

    def test_reports_amount_and_currency_together(self):
        """Both bad fields are reported in one error."""
        with raises_problems(("amount", "type"), ("currency", "format")):
            Money.of(1.5, "usd")

    def test_is_immutable_and_hashable(self):
        """Money is a frozen value usable as a dict key; equal amounts hash alike."""
        m = usd("1.0")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            m.amount = Decimal(2)  # type: ignore[misc]
        assert {usd("1.0"): "x"}[usd("1.00")] == "x"

    def test_repr_and_str(self):
        """repr is evaluable-looking, str is for people."""
        assert repr(usd("12.30")) == "Money('12.30', 'USD')"
        assert str(usd("12.30")) == "12.30 USD"

    def test_zero_and_bool(self):
        """Zero is falsy like any number, and is_zero says so explicitly."""
        z = Money.zero("EUR")
        assert not z
        assert z.is_zero()
        assert Money.of("0.01", "EUR")


class TestCurrencyTable:
    @pytest.mark.parametrize(
        ("code", "units"),
        [("JPY", 0), ("KRW", 0), ("USD", 2), ("EUR", 2), ("CNY", 2), ("KWD", 3), ("BHD", 3), ("CLF", 4)],
    )
    def test_minor_units_follow_iso_4217(self, code, units):
        """Minor units as published in ISO 4217 (list one, 'minor unit' column)."""
        assert currency_minor_units(code) == units

    def test_unknown_code(self):
        """Asking for an unknown currency names it."""
        with raises_problems(("currency", "currency")):
            currency_minor_units("QQQ")

    def test_register_new_currency(self):
        """A registered currency can be used and rounds to its own minor unit."""
        register_currency("XTA", minor_units=8)
        assert "XTA" in known_currencies()
        assert Money.of("1.123456789", "XTA").round() == Money.of("1.12345679", "XTA")

    def test_register_is_idempotent(self):
        """Registering the same code with the same minor units again is fine."""
        register_currency("XTB", minor_units=1)
        register_currency("XTB", minor_units=1)
        assert currency_minor_units("XTB") == 1

    def test_register_refuses_redefinition(self):
        """A known code cannot change its minor units while the program runs."""
        with raises_problems(("minor_units", "conflict")):
            register_currency("USD", minor_units=3)
        assert currency_minor_units("USD") == 2

    def test_register_validates_arguments(self):
        """Bad code and bad minor units are both reported."""
        with raises_problems(("code", "format"), ("minor_units", "range")):
            register_currency("xx", minor_units=-1)

    def test_register_from_threads(self):
        """Concurrent registrations of distinct codes all land."""
        codes = [f"XU{chr(65 + i)}" for i in range(20)]
        threads = [
            threading.Thread(target=register_currency, args=(c,), kwargs={"minor_units": 2}) for c in codes
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert set(codes) <= known_currencies()


class TestArithmetic:
    def test_add_and_subtract(self):
        """Sums and differences are exact."""
        assert usd("0.10") + usd("0.20") == usd("0.30")
        assert usd("1.00") - usd("0.01") == usd("0.99")

    @pytest.mark.parametrize(
        ("op", "verb"),
        [
            (lambda a, b: a + b, "add"),
            (lambda a, b: a - b, "subtract"),
            (lambda a, b: a < b, "compare"),
            (lambda a, b: a >= b, "compare"),
            (lambda a, b: a.ratio(b), "divide"),
        ],
    )
    def test_two_currencies_never_mix(self, op, verb):
        """Arithmetic and ordering across currencies raise CurrencyMismatchError."""
        with pytest.raises(CurrencyMismatchError) as exc:
            op(usd(1), Money.of(1, "EUR"))
        assert (exc.value.operation, exc.value.left, exc.value.right) == (verb, "USD", "EUR")

    def test_equality_across_currencies_is_false_not_an_error(self):
        """== never raises, so Money works in sets and dicts."""
        assert usd(1) != Money.of(1, "EUR")
        assert len({usd(1), Money.of(1, "EUR")}) == 2

    def test_ordering(self):
        """Ordering within one currency works and sorts."""
        assert sorted([usd(3), usd(1), usd(2)]) == [usd(1), usd(2), usd(3)]
        assert usd(1) <= usd(1) < usd(2)
        assert usd(2) > usd(1)

    def test_multiply_by_int_and_decimal(self):
        """Products with ints and Decimals, on either side."""
        assert usd("12.30") * 3 == usd("36.90")
        assert Decimal("0.3") * usd(100) == usd(30)

    def test_multiply_by_float_refused(self):
        """A float factor is refused like a float amount."""
        with raises_problems(("factor", "type")):
            usd(100) * 0.3  # type: ignore[operator]

    def test_divide(self):
        """Division keeps 20 places; rounding is explicit."""
        third = usd(10) / 3
        assert third.amount == Decimal("3.33333333333333333333")
        assert third.round() == usd("3.33")

    def test_divide_by_zero(self):
        """Dividing by zero is a ValidationError, not a decimal trap."""
        with raises_problems(("divisor", "range")):
            usd(1) / 0

    def test_ratio(self):
        """ratio gives a plain Decimal; a zero denominator is refused."""
        assert usd(30).ratio(usd(120)) == Decimal("0.25")
        with raises_problems(("other", "range")):
            usd(1).ratio(usd(0))

    def test_negation_and_abs(self):
        """Unary operators keep the currency."""
        assert -usd(5) == usd(-5)
        assert abs(usd(-5)) == usd(5)
        assert +usd(5) == usd(5)

    def test_caller_decimal_context_does_not_leak_in(self):
        """A low-precision caller context rounds nothing: every operation uses money's own context."""
        big = Money.of("1" * 29 + "." + "1" * 20, "USD")
        with decimal.localcontext(prec=3):
            assert (usd("12345.67") + usd("0.01")).amount == Decimal("12345.68")
            assert (usd("12345.67") - usd("0.01")).amount == Decimal("12345.66")
            assert (-big).amount == big.amount.copy_negate()
            assert abs(-big) == big
            assert (usd("12345.67") * 3).amount == Decimal("37037.01")
            assert (usd("12345.67") / 1).amount == Decimal("12345.67")
            assert Money.from_minor(123456789, "USD").amount == Decimal("1234567.89")
            assert usd("12345.675").round() == usd("12345.68")
            parts = usd("100.00").allocate([Decimal(".333"), Decimal(".333"), Decimal(".335")])
            assert Money.total(parts, currency="USD") == usd("100.00")
            assert Money.total([usd("12345.67"), usd("0.01")], currency="USD").amount == Decimal("12345.68")

    @pytest.mark.parametrize(
        ("op", "path"),
        [
            (lambda: usd(10) * Decimal("9E+999999"), "factor"),
            (lambda: usd(10) / Decimal("1E-999999"), "divisor"),
            (lambda: Money.of("9" * 30 + ".995", "USD").round(), "amount"),
            (lambda: Money.from_minor(10**32, "USD"), "minor"),
        ],
    )
    def test_out_of_range_is_a_validation_error(self, op, path):
        """Results past the amount range are refused with a ValidationError, never a decimal trap."""
        with raises_problems((path, "limit")):
            op()

    def test_non_numbers_are_type_errors(self):
        """Multiplying by a str or adding an int is Python's TypeError, as for any number."""
        with pytest.raises(TypeError):
            usd(1) * "3"  # type: ignore[operator]
        with pytest.raises(TypeError):
            usd(1) + 1  # type: ignore[operator]

    def test_plain_notation_everywhere(self):
        """repr and str never show exponents: 1E+5 dollars reads as 100000."""
        assert repr(Money.of(Decimal("1E+5"), "USD")) == "Money('100000', 'USD')"
        assert str(Money.of(Decimal("0E-20"), "USD")) == "0.00000000000000000000 USD"

    def test_ratio_is_exact(self):
        """A ratio of amounts is an exact Fraction, like every ratio funnelkit computes."""
        assert usd(1).ratio(usd(3)) == Fraction(1, 3)
        assert usd("0.10").ratio(usd("0.30")) == Fraction(1, 3)

    def test_overflow_is_an_error(self):
        """A sum past the amount range is refused, not rounded."""
        big = Money.of("9" * 30, "USD")
        with raises_problems(("amount", "limit")):
            big + usd(1)

    def test_builtin_sum_points_to_total(self):
        """sum() without a start value is refused with the two spellings that work."""
        with raises_problems(("start", "type")):
            sum([usd(1), usd(2)])
        assert sum([usd(1), usd(2)], Money.zero("USD")) == usd(3)

    def test_total(self):
        """total sums one currency and is zero for nothing."""
        assert Money.total([usd("1.10"), usd(2)], currency="USD") == usd("3.10")
        assert Money.total([], currency="USD") == Money.zero("USD")
        with pytest.raises(CurrencyMismatchError):
            Money.total([usd(1), Money.of(1, "EUR")], currency="USD")
        with raises_problems(("amounts[1]", "type")):
            Money.total([usd(1), 5], currency="USD")  # type: ignore[list-item]

    @given(st.lists(money(currency="USD", max_minor=10**8), max_size=20))
    def test_total_equals_integer_sum_of_cents(self, amounts):
        """Conservation: the total is exactly the sum of the cents."""
        assert Money.total(amounts, currency="USD").to_minor() == sum(m.to_minor() for m in amounts)

    @given(money(currency="EUR"), money(currency="EUR"), money(currency="EUR"))
    def test_addition_is_exact(self, a, b, c):
        """Addition is associative and undone by subtraction: no rounding ever."""
        assert (a + b) + c == a + (b + c)
        assert (a + b) - b == a


class TestRounding:
    @pytest.mark.parametrize(
        ("amount", "currency", "expected"),
        [
            ("0.125", "USD", "0.12"),  # tie to even
            ("0.135", "USD", "0.14"),  # tie to even
            ("-0.125", "USD", "-0.12"),
            ("2.5", "JPY", "2"),
            ("3.5", "JPY", "4"),
            ("1.0005", "KWD", "1.000"),
            ("1.0015", "KWD", "1.002"),
        ],
    )
    def test_half_even_by_default(self, amount, currency, expected):
        """Default rounding is half-even (banker's rounding, IEEE 754 roundTiesToEven)."""
        assert Money.of(amount, currency).round() == Money.of(expected, currency)
        assert str(Money.of(amount, currency).round().amount) == expected

    def test_other_modes(self):
        """The mode is a parameter: half-up, down and up behave as in the decimal docs."""
        m = usd("0.125")
        assert m.round(decimal.ROUND_HALF_UP) == usd("0.13")
        assert m.round(decimal.ROUND_DOWN) == usd("0.12")
        assert usd("0.121").round(decimal.ROUND_UP) == usd("0.13")

    def test_unknown_mode(self):
        """A made-up rounding mode is refused with the allowed list."""
        with raises_problems(("rounding", "choice")):
            usd(1).round("ROUND_NEAREST")

    @given(money(currency="USD"))
    def test_round_is_idempotent_on_whole_cents(self, m):
        """Amounts already in whole cents are unchanged by rounding."""
        assert m.round() == m


class TestMinorUnits:
    @given(st.integers(-(10**15), 10**15), st.sampled_from(["JPY", "USD", "KWD", "CLF"]))
    def test_round_trip(self, n, code):
        """from_minor and to_minor are inverse."""
        assert Money.from_minor(n, code).to_minor() == n

    def test_to_minor_refuses_fractions_of_a_cent(self):
        """to_minor will not drop a fraction of a cent silently."""
        with raises_problems(("amount", "precision")):
            usd("0.125").to_minor()

    def test_from_minor_refuses_non_int(self):
        """from_minor takes an int count."""
        with raises_problems(("minor", "type")):
            Money.from_minor("12", "USD")  # type: ignore[arg-type]


class TestAllocate:
    def test_hundred_in_three(self):
        """100.00 split three ways: the extra cent goes to the first part."""
        assert usd("100.00").allocate([1, 1, 1]) == (usd("33.34"), usd("33.33"), usd("33.33"))

    def test_weighted(self):
        """Largest remainder: 0.05 split 3:7 gives 0.02 and 0.03 (0.015 and 0.035 exact)."""
        assert usd("0.05").allocate([3, 7]) == (usd("0.02"), usd("0.03"))

    def test_negative_amount(self):
        """A negative amount splits into negative parts that still add up."""
        parts = usd("-1.00").allocate([1, 2])
        assert Money.total(parts, currency="USD") == usd("-1.00")

    @pytest.mark.parametrize(
        ("weights", "problem"),
        [
            ([], ("weights", "empty")),
            ([0, 0], ("weights", "range")),
            ([1, -1], ("weights[1]", "range")),
            ([1, 0.5], ("weights[1]", "type")),
            ([Decimal("9E+999999")], ("weights[0]", "limit")),
        ],
    )
    def test_bad_weights(self, weights, problem):
        """Bad weights are refused with their position."""
        with raises_problems(problem):
            usd(1).allocate(weights)

    @given(
        money(currency="USD", max_minor=10**10),
        st.lists(st.integers(0, 1000), min_size=1, max_size=10).filter(any),
    )
    def test_conservation(self, m, weights):
        """No cent appears or disappears, and each part is within a cent of its exact share."""
        parts = m.allocate(weights)
        assert len(parts) == len(weights)
        assert sum(p.to_minor() for p in parts) == m.to_minor()
        total_w = sum(weights)
        for p, w in zip(parts, weights, strict=True):
            exact = Decimal(m.to_minor()) * w / total_w
            assert abs(Decimal(p.to_minor()) - exact) < 1


class TestSecondaryEntryPoints:
    """The helpers around Money check their arguments like the constructor does, naming each one."""

    @pytest.mark.parametrize(
        ("call", "problem"),
        [
            (lambda: Money.total(None, currency="USD"), ("amounts", "type")),
            (lambda: Money.total("abc", currency="USD"), ("amounts", "type")),
            (lambda: Money.total([usd(1), 5], currency="USD"), ("amounts[1]", "type")),
            (lambda: usd(1).allocate(None), ("weights", "type")),
            (lambda: usd(1).allocate(x for x in [1, 2]), ("weights", "type")),
            (lambda: usd(1).ratio(None), ("other", "type")),
            (lambda: usd(1).round([]), ("rounding", "choice")),
            (lambda: Money.from_minor(10**5000, "USD"), ("minor", "limit")),
            (lambda: Money.from_minor(1, []), ("currency", "type")),
            (lambda: currency_minor_units({}), ("currency", "type")),
        ],
    )
    def test_bad_arguments_are_named(self, call, problem):
        """Each bad argument is a ValidationError at its own path, never a TypeError."""
        with raises_problems(problem):
            call()

    def test_a_total_in_two_currencies_says_which_item(self):
        """The mismatch names the amount's index and field, and stays a CurrencyMismatchError."""
        with pytest.raises(CurrencyMismatchError) as exc:
            Money.total([usd(1), usd(2), Money.of(3, "EUR")], currency="USD")
        assert exc.value.path == "amounts[2].currency"
        assert str(exc.value) == (
            "amounts[2].currency: cannot add USD and EUR: amounts are in different currencies; "
            "convert one of them first"
        )

    def test_from_minor_at_the_limit(self):
        """30 digits before the point at most: 10**32 - 1 cents is fine, 10**32 is not."""
        assert Money.from_minor(10**32 - 1, "USD").amount.adjusted() == 29
        with raises_problems(("minor", "limit")):
            Money.from_minor(10**32, "USD")
