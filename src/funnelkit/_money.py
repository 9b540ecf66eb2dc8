"""
Money: a ``Decimal`` amount in one ISO 4217 currency.
"""

from __future__ import annotations

import decimal
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Final

import attrs

from ._checks import a_type, as_int, bad, parse_decimal, show, to_int, wrong_type
from .errors import CurrencyMismatchError, Problem, ValidationError

# ISO 4217 minor units (the number of digits after the decimal point) of the
# active currencies.  Every currency not listed with 0, 3 or 4 uses 2.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL "
    "BSD BTN BWP BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP "
    "ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS "
    "INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD "
    "MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN "
    "PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD "
    "SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES "
    "WST XCD XCG YER ZAR ZMW ZWG"
)

_CODE = re.compile(r"[A-Z]{3}")
_lock = threading.Lock()
_minor_units: Mapping[str, int] = MappingProxyType(
    {
        code: units
        for group, units in ((_ZERO, 0), (_TWO, 2), (_THREE, 3), (_FOUR, 4))
        for code in group.split()
    }
)

#: Amounts have at most this many digits before the decimal point ...
MAX_INTEGER_DIGITS: Final = 30
#: ... and at most this many after it.  Products and quotients are rounded
#: (half-even) to this many places: far below any currency's minor unit.
MAX_DECIMAL_PLACES: Final = 20
_PLACES: Final = Decimal(1).scaleb(-MAX_DECIMAL_PLACES)
# The largest count of minor units, by the number of minor units (register_currency allows 0-18).
_MINOR_LIMITS: Final = tuple(10 ** (MAX_INTEGER_DIGITS + units) for units in range(19))

# Money arithmetic runs in its own context, whatever the caller's decimal
# context is: wide enough that sums and products of valid values are exact
# before the single rounding to MAX_DECIMAL_PLACES.
_CONTEXT: Final = decimal.Context(
    prec=4 * (MAX_INTEGER_DIGITS + MAX_DECIMAL_PLACES),
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

# Ratios shown as decimals: the usual 28 significant digits.
_RATIO_CONTEXT: Final = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)


def decimal_of(value: Fraction) -> Decimal:
    """
    *value* as a ``Decimal`` of 28 significant digits, rounded half-even in
    funnelkit's own context, whatever the caller's.
    """
    return _RATIO_CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))


ROUNDING_MODES: Final = frozenset(
    {
        decimal.ROUND_HALF_EVEN,
        decimal.ROUND_HALF_UP,
        decimal.ROUND_HALF_DOWN,
        decimal.ROUND_UP,
        decimal.ROUND_DOWN,
        decimal.ROUND_CEILING,
        decimal.ROUND_FLOOR,
        decimal.ROUND_05UP,
    }
)


def currency_problem(code: object) -> Problem | None:
    """
    ``None`` if *code* is a known currency, else what is wrong with it.
    """
    if not isinstance(code, str):
        return wrong_type(code, "an ISO 4217 code such as 'USD'")
    if code in _minor_units:
        return None
    if not _CODE.fullmatch(code):
        return bad("format", f"{show(code)} is not an ISO 4217 code (three upper-case letters, e.g. 'USD')")
    return bad(
        "currency",
        f"{show(code)} is not a known currency; register it first with "
        f"funnelkit.register_currency({code!r}, minor_units=...)",
    )


def register_currency(code: str, *, minor_units: int) -> None:
    """
    Make the currency *code* known, with *minor_units* digits after the point.

    Registering a code again with the same minor units does nothing; with
    different minor units it is refused, so that no amount changes meaning
    while a program runs.  The table is process-wide: register at start-up.

    >>> register_currency("XBT", minor_units=8)
    >>> currency_minor_units("XBT")
    8

    Cost: O(c) for c known currencies (the table is copied).
    """
    global _minor_units  # noqa: PLW0603 - copy-on-write table, swapped under a lock
    problems = []
    minor_units = to_int(minor_units)
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        problems.append(
            bad("format", f"{show(code)} is not three upper-case letters, e.g. 'XBT'").prefixed("code")
        )
    if isinstance(minor_units, bool) or not isinstance(minor_units, int):
        problems.append(wrong_type(minor_units, "an int in [0, 18]").prefixed("minor_units"))
    elif not 0 <= minor_units <= 18:
        problems.append(bad("range", f"{show(minor_units)} is outside [0, 18]").prefixed("minor_units"))
    if problems:
        raise ValidationError(problems)
    with _lock:
        known = _minor_units.get(code)
        if known == minor_units:
            return
        if known is not None:
            msg = (
                f"{code!r} is already registered with {known} minor units; "
                f"refusing to change it to {minor_units}"
            )
            raise ValidationError.single("minor_units", msg, code="conflict")
        _minor_units = MappingProxyType({**_minor_units, code: minor_units})


def currency_minor_units(code: str) -> int:
    """
    The number of digits after the decimal point in *code* (``JPY`` → 0).

    >>> currency_minor_units("JPY"), currency_minor_units("USD"), currency_minor_units("KWD")
    (0, 2, 3)

    Cost: O(1).
    """
    units = _minor_units.get(code) if isinstance(code, str) else None
    if units is None:
        raise ValidationError([(currency_problem(code) or bad("currency", "")).prefixed("currency")])
    return units


def known_currencies() -> frozenset[str]:
    """
    Every currency code funnelkit knows right now.

    Cost: O(c) for c known currencies.
    """
    return frozenset(_minor_units)


def to_amount(value: Decimal | int | str) -> Decimal:
    """
    Convert an int or str to ``Decimal``; leave anything else for the check.
    """
    if isinstance(value, Decimal | bool):
        return value  # type: ignore[return-value]
    integer = as_int(value)  # an int, or numpy's
    if integer is not None:
        return Decimal(integer)
    if isinstance(value, str):
        number = parse_decimal(value)
        return value if number is None else number  # type: ignore[return-value]
    return value  # type: ignore[return-value]  # not an amount: the check reports it


def amount_problem(value: object) -> Problem | None:
    """
    ``None`` if *value* is an acceptable amount, else what is wrong with it.
    """
    if isinstance(value, float):
        return bad(
            "type",
            f"{value!r} is a float; money refuses floats because they are inexact: "
            "pass a str, int or Decimal, e.g. Money.of('12.30', 'USD')",
        )
    if isinstance(value, str):
        return bad("format", f"{show(value)} is not a decimal number in plain digits, such as '12.30'")
    if not isinstance(value, Decimal):
        return wrong_type(value, "a Decimal, int or str")
    if not value.is_finite():
        return bad("range", f"{show(value)} is not a finite number")
    return _range_problem(value)


def _range_problem(value: Decimal) -> Problem | None:
    if value and value.adjusted() >= MAX_INTEGER_DIGITS:
        return bad(
            "limit", f"{show(value)} has more than {MAX_INTEGER_DIGITS} digits before the decimal point"
        )
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMAL_PLACES:
        return bad("precision", f"{show(value)} has more than {MAX_DECIMAL_PLACES} decimal places")
    return None


@attrs.frozen(kw_only=True, eq=True, order=False, repr=False)
class Money:
    """
    An exact amount of money in one currency.

    Build it from a ``str``, ``int`` or ``Decimal``, never a float:

    >>> price = Money.of("12.30", "USD")
    >>> price
    Money('12.30', 'USD')
    >>> print(price * 3)
    36.90 USD
    >>> (price / 3).round()
    Money('4.10', 'USD')

    Amounts in two currencies never meet silently:

    >>> price + Money.of(5, "EUR")
    Traceback (most recent call last):
    ...
    funnelkit.errors.CurrencyMismatchError: cannot add USD and EUR: amounts are in different currencies; ...

    Equality never raises (``Money.of(1, "USD") != Money.of(1, "EUR")``), so
    amounts can live in sets and dicts; ordering two currencies does raise.
    Arithmetic is exact: it runs in a private ``decimal`` context wide enough
    for any two valid amounts, whatever the caller's context says.
    """

    amount: Decimal = attrs.field(converter=to_amount)
    currency: str

    def __attrs_post_init__(self) -> None:
        problems = []
        problem = amount_problem(self.amount)
        if problem is not None:
            problems.append(problem.prefixed("amount"))
        problem = currency_problem(self.currency)
        if problem is not None:
            problems.append(problem.prefixed("currency"))
        if problems:
            raise ValidationError(problems)

    # --- construction -----------------------------------------------------

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """
        ``Money.of("12.30", "USD")``: the positional short form.

        Cost: O(digits of the amount).
        """
        return cls(amount=amount, currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """
        Nothing, in *currency*.

        Cost: O(1).
        """
        return cls(amount=Decimal(0), currency=currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        """
        Build from an integer count of minor units (cents): ``1230`` USD → 12.30.

        >>> Money.from_minor(1230, "USD")
        Money('12.30', 'USD')

        Cost: O(1).
        """
        minor = to_int(minor)
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise ValidationError.single(
                "minor", f"{show(minor)} is {a_type(minor)}; expected an int", code="type"
            )
        units = currency_minor_units(currency)
        limit = _MINOR_LIMITS[units]
        if not -limit < minor < limit:
            msg = (
                f"{show(minor)} minor units of {currency} has more than {MAX_INTEGER_DIGITS} "
                "digits before the decimal point"
            )
            raise ValidationError.single("minor", msg, code="limit")
        return cls(amount=Decimal(minor).scaleb(-units, context=_CONTEXT), currency=currency)

    @classmethod
    def total(cls, amounts: Iterable[Money], *, currency: str) -> Money:
        """
        The sum of *amounts*, all in *currency*; zero when there are none.

        >>> Money.total([Money.of("1.10", "EUR"), Money.of(2, "EUR")], currency="EUR")
        Money('3.10', 'EUR')

        Cost: O(n) for n amounts.
        """
        acc = cls.zero(currency).amount
        if not isinstance(amounts, Iterable) or isinstance(amounts, str | bytes | Mapping):
            msg = f"{show(amounts)} is {a_type(amounts)}; expected an iterable of Money"
            raise ValidationError.single("amounts", msg, code="type")
        for i, m in enumerate(amounts):
            if not isinstance(m, Money):
                raise ValidationError.single(
                    f"amounts[{i}]", f"{show(m)} is {a_type(m)}; expected Money", code="type"
                )
            if m.currency != currency:
                raise CurrencyMismatchError("add", currency, m.currency, path=f"amounts[{i}].currency")
            acc = _add(acc, m.amount)
        return _make(_in_range(acc), currency)

    # --- views ------------------------------------------------------------

    @property
    def minor_units(self) -> int:
        """
        Digits after the decimal point in this currency.
        """
        return _minor_units[self.currency]

    def round(self, rounding: str = decimal.ROUND_HALF_EVEN) -> Money:
        """
        Round to the currency's minor unit.

        *rounding* is one of the :mod:`decimal` rounding modes; the default,
        ``ROUND_HALF_EVEN`` (banker's rounding), does not drift up over many
        sums.  Use ``decimal.ROUND_HALF_UP`` for the school rule.

        >>> Money.of("0.125", "USD").round()
        Money('0.12', 'USD')
        >>> import decimal
        >>> Money.of("0.125", "USD").round(decimal.ROUND_HALF_UP)
        Money('0.13', 'USD')
        >>> Money.of("1234.5", "JPY").round()
        Money('1234', 'JPY')

        Cost: O(1).
        """
        if not isinstance(rounding, str) or rounding not in ROUNDING_MODES:
            allowed = ", ".join(sorted(ROUNDING_MODES))
            raise ValidationError.single(
                "rounding", f"{show(rounding)} is not a rounding mode; allowed: {allowed}", code="choice"
            )
        exp = Decimal(1).scaleb(-_minor_units[self.currency])
        return _make(_in_range(self.amount.quantize(exp, rounding=rounding, context=_CONTEXT)), self.currency)

    def to_minor(self) -> int:
        """
        The amount as an integer count of minor units; it must already be
        rounded (see :meth:`round`), so that nothing is lost silently.

        >>> Money.of("12.30", "USD").to_minor()
        1230

        Cost: O(1).
        """
        scaled = self.amount.scaleb(self.minor_units, context=_CONTEXT)
        if scaled != scaled.to_integral_value():
            msg = f"{self.amount} {self.currency} is finer than the minor unit; call .round() first"
            raise ValidationError.single("amount", msg, code="precision")
        return int(scaled)

    def is_zero(self) -> bool:
        """
        Whether the amount is zero (in any currency).  Cost: O(1).
        """
        return not self.amount

    def __bool__(self) -> bool:
        return bool(self.amount)

    def allocate(self, weights: Sequence[Decimal | int]) -> tuple[Money, ...]:
        """
        Split into parts proportional to *weights* that add up exactly to
        this amount, in whole minor units (largest-remainder method, ties to
        the earlier part).

        >>> Money.of("100.00", "USD").allocate([1, 1, 1])
        (Money('33.34', 'USD'), Money('33.33', 'USD'), Money('33.33', 'USD'))

        Cost: O(n log n) for n weights.
        """
        if not isinstance(weights, list | tuple):
            raise ValidationError.single(
                "weights",
                f"{show(weights)} is {a_type(weights)}; expected a list or tuple of weights",
                code="type",
            )
        total_minor = self.to_minor()
        problems = []
        if not weights:
            problems.append(
                Problem(path="weights", code="empty", message="[] is empty; give at least one weight")
            )
        numbers = []
        for i, w in enumerate(weights):
            number, problem = _number(w)
            if problem is not None:
                problems.append(problem.prefixed(f"weights[{i}]"))
            elif number < 0:
                msg = f"{show(number)} is negative; weights must be >= 0"
                problems.append(Problem(path=f"weights[{i}]", code="range", message=msg))
            numbers.append(number)
        if not problems and not any(numbers):
            msg = "all weights are zero; at least one must be positive"
            problems.append(Problem(path="weights", code="range", message=msg))
        if problems:
            raise ValidationError(problems)
        wsum = Decimal(0)
        for w in numbers:
            wsum = _CONTEXT.add(wsum, w)
        sign = -1 if total_minor < 0 else 1
        whole = abs(total_minor)
        exact = [_CONTEXT.divide(_CONTEXT.multiply(Decimal(whole), w), wsum) for w in numbers]
        floors = [int(x.to_integral_value(rounding=decimal.ROUND_FLOOR)) for x in exact]
        left = whole - sum(floors)
        order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
        for i in order[:left]:
            floors[i] += 1
        return tuple(Money.from_minor(sign * n, self.currency) for n in floors)

    # --- arithmetic -------------------------------------------------------

    def _same(self, other: Money, operation: str) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(operation, self.currency, other.currency)

    # Sums and differences of valid amounts keep at most MAX_DECIMAL_PLACES,
    # so only the integer digits need checking (_in_range).

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise CurrencyMismatchError("add", self.currency, other.currency)
        return _make(_in_range(_add(self.amount, other.amount)), self.currency)

    def __radd__(self, other: int) -> Money:
        # sum(amounts) starts from the int 0, and returns 0 for no amounts:
        # point to the spelling that keeps the currency.
        if type(other) is not int or other != 0:
            return NotImplemented
        msg = (
            f"sum() starts from 0, which has no currency; use Money.total(amounts, "
            f"currency={self.currency!r}) or sum(amounts, Money.zero({self.currency!r}))"
        )
        raise ValidationError.single("start", msg, code="type")

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise CurrencyMismatchError("subtract", self.currency, other.currency)
        return _make(_in_range(_subtract(self.amount, other.amount)), self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        number, problem = _number(factor)
        if problem is not None:
            if not isinstance(factor, float | Decimal | int) and as_int(factor) is None:
                return NotImplemented
            raise ValidationError([problem.prefixed("factor")])
        return _make(_in_range(_places(_CONTEXT.multiply(self.amount, number))), self.currency)

    __rmul__ = __mul__

    def __truediv__(self, divisor: Decimal | int) -> Money:
        number, problem = _number(divisor)
        if problem is not None:
            if not isinstance(divisor, float | Decimal | int) and as_int(divisor) is None:
                return NotImplemented
            raise ValidationError([problem.prefixed("divisor")])
        if not number:
            raise ValidationError.single("divisor", "0 would divide by zero", code="range")
        return _make(_in_range(_places(_CONTEXT.divide(self.amount, number))), self.currency)

    def ratio(self, other: Money) -> Fraction:
        """
        ``self / other``, exact, as a ``Fraction`` (both in one currency), the
        type of every ratio funnelkit computes.

        >>> Money.of(30, "USD").ratio(Money.of(120, "USD"))
        Fraction(1, 4)

        Cost: O(1).
        """
        if not isinstance(other, Money):
            raise ValidationError.single(
                "other", f"{show(other)} is {a_type(other)}; expected Money", code="type"
            )
        self._same(other, "divide")
        if not other.amount:
            raise ValidationError.single("other", f"{other!r} is zero; cannot divide by it", code="range")
        return Fraction(self.amount) / Fraction(other.amount)

    def __neg__(self) -> Money:
        return _make(self.amount.copy_negate(), self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return _make(self.amount.copy_abs(), self.currency)

    # --- ordering ---------------------------------------------------------

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "compare")
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "compare")
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "compare")
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "compare")
        return self.amount >= other.amount

    # --- display ----------------------------------------------------------

    def __repr__(self) -> str:
        return f"Money({format(self.amount, 'f')!r}, {self.currency!r})"

    def __str__(self) -> str:
        return f"{format(self.amount, 'f')} {self.currency}"


def _places(value: Decimal) -> Decimal:
    """
    Round a computed amount to MAX_DECIMAL_PLACES, keeping shorter ones as they are.
    """
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMAL_PLACES:
        return value.quantize(_PLACES, context=_CONTEXT)
    return value


_FACTOR_DIGITS: Final = MAX_INTEGER_DIGITS + MAX_DECIMAL_PLACES


def _number(value: object) -> tuple[Decimal, Problem | None]:
    """
    *value* as a factor or weight for money: a finite int or Decimal of at
    most 50 significant digits, between 1e-50 and 1e50 in size (so that every
    product and quotient stays exact before its one rounding).  Returns the
    number and ``None``, or zero and what is wrong.
    """
    integer = as_int(value)  # an int, or numpy's
    if integer is not None:
        value = Decimal(integer)
    if isinstance(value, Decimal) and value.is_finite():
        if len(value.as_tuple().digits) > _FACTOR_DIGITS or (
            value and abs(value.adjusted()) > _FACTOR_DIGITS
        ):
            msg = (
                f"{show(value)} is out of range: at most {_FACTOR_DIGITS} digits, within 1e±{_FACTOR_DIGITS}"
            )
            return Decimal(0), bad("limit", msg)
        return value, None
    if isinstance(value, float):
        return Decimal(0), bad("type", f"{value!r} is a float; money refuses floats: pass a Decimal or int")
    return Decimal(0), wrong_type(value, "a finite Decimal or an int")


_add = _CONTEXT.add
_subtract = _CONTEXT.subtract
_new = object.__new__
_set_amount = Money.__dict__["amount"].__set__  # the slot descriptors, which bypass
_set_currency = Money.__dict__["currency"].__set__  # the frozen __setattr__


def _make(amount: Decimal, currency: str) -> Money:
    """
    Build a Money from trusted parts, skipping validation (hot paths).
    """
    m = _new(Money)
    _set_amount(m, amount)
    _set_currency(m, currency)
    return m


def _in_range(amount: Decimal) -> Decimal:
    """
    *amount* if it has at most MAX_INTEGER_DIGITS before the point, else raise.
    """
    if amount.adjusted() >= MAX_INTEGER_DIGITS:
        msg = f"{amount} has more than {MAX_INTEGER_DIGITS} digits before the decimal point"
        raise ValidationError.single("amount", msg, code="limit")
    return amount
