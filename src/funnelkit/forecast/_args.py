"""
Argument checks shared by the forecast modules: exact numbers read without
building huge ones, iterables read with a bound, the caller's functions.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction

from .. import _checks as c
from ..errors import MAX_LISTED

#: Reading stops after this many bad items, so that an endless generator of
#: junk is refused at once instead of read forever.
MAX_PROBLEMS = MAX_LISTED

#: Exact numbers (probabilities, smoothing) have at most this many digits
#: and an exponent of at most this size: far beyond any meaningful value,
#: and '1e999999999' never becomes a number with a billion digits.
MAX_DIGITS = 60
MAX_EXPONENT = 60

_RATIO = re.compile(r"[+-]?[0-9]{1,60}/[0-9]{1,60}")


def exact(value: object) -> Fraction | None:
    """
    *value* as an exact ``Fraction``: an int (or numpy's), a ``Fraction``, a finite
    ``Decimal``, a finite float (read as its shortest repr, the number the
    user typed: ``0.1`` is 1/10), or a str in decimal (``"0.25"``, ``"1e-3"``) or ratio
    (``"1/4"``) notation; ``None`` for anything else, for a zero
    denominator, and for a number too long or too far from 1 to be
    meant (more than :data:`MAX_DIGITS` digits, an exponent beyond
    :data:`MAX_EXPONENT`).
    """
    if isinstance(value, bool):
        return None
    integer = c.as_int(value)  # an int, or numpy's
    if integer is not None:
        return Fraction(integer) if integer.bit_length() <= 4 * MAX_DIGITS else None
    if isinstance(value, Fraction):
        big = max(value.numerator.bit_length(), value.denominator.bit_length())
        return value if big <= 4 * MAX_DIGITS else None
    if isinstance(value, float):
        return exact(Decimal(float.__repr__(value))) if math.isfinite(value) else None  # numpy.float64 too
    if isinstance(value, str):
        if _RATIO.fullmatch(value):
            numerator, denominator = value.split("/")
            return Fraction(int(numerator), int(denominator)) if int(denominator) else None
        number = c.parse_decimal(value)
        return None if number is None else exact(number)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        _, digits, exponent = value.as_tuple()
        if len(digits) > MAX_DIGITS or not isinstance(exponent, int) or abs(exponent) > MAX_EXPONENT:
            return None
        return Fraction(value)
    return None


function_of_one = c.function_of_one
