"""
Columns: one value per row, from a sequence, a numpy array or a pandas (or
polars) ``Series``; the shared reading of the functions that take ready
columns (:func:`~funnelkit.forecast.weighted_forecast_columns`,
:func:`~funnelkit.segments.abc_columns`).

numpy and pandas are optional extras: they are imported here lazily, only
when installed, and never at funnelkit's import time.  Every function that
reads columns has an exact pure-Python path (the oracle of its property
tests) and, with numpy, a vectorised one that gives the same result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from . import _checks as c
from . import _optional
from ._money import _CONTEXT
from .errors import Problem, ValidationError


class Column(Protocol):
    """
    One value per row: a ``list`` or ``tuple``, a numpy array, a pandas or
    polars ``Series`` -- anything with a length whose items are the rows.
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: Any, /) -> Any: ...


def module(name: str) -> Any:
    """The optional module *name* when it is installed (see ``_optional``); ``None`` otherwise."""
    return _optional.module(name)


_WHAT = "a column (a list, tuple, numpy array or pandas Series)"


def read(value: object, path: str, np: Any, *, keep_pandas: bool = False) -> Any:
    """
    *value* as a column: a 1-D numpy array when numpy is in use (*np*) and
    the value is array-like (a numpy array, a pandas or polars ``Series``),
    else the sequence itself (an array-like as the list of its items); with
    *keep_pandas*, a pandas ``Series`` as it is (pandas groups its own
    columns fastest).  A str, a mapping, a set (no order), an iterator (no
    length) and a table (two dimensions) are refused at *path*.
    """
    if isinstance(value, str | bytes | bytearray | Mapping | set | frozenset):
        raise c.at(path, c.wrong_type(value, _WHAT))
    kind = type(value)
    array_like = hasattr(kind, "to_numpy") or hasattr(kind, "__array__")
    if array_like:
        try:
            dims = getattr(value, "ndim", 1)
        except Exception:  # noqa: BLE001 - another library's object with a broken shape: not a column
            dims = None
        if dims != 1:
            msg = f"{c.show(value)} has {c.show(dims)} dimensions; expected one column"
            raise ValidationError.single(path, msg, code="type")
    if keep_pandas and array_like and kind.__module__.startswith("pandas"):
        return value
    if isinstance(value, Sequence) and not (np is not None and array_like):
        return value
    column = None
    if array_like:
        try:
            column = _converted(value, np)
        except Exception:  # noqa: BLE001 - another library's object that does not convert: not a column
            column = None
    if column is None:
        raise c.at(path, c.wrong_type(value, _WHAT))
    return column


def _converted(value: Any, np: Any) -> Any:
    """An array-like as a 1-D numpy array (with numpy) or the list of its items; ``None`` when neither."""
    if np is not None:
        array = value.to_numpy() if hasattr(type(value), "to_numpy") else np.asarray(value)
        return array if array.ndim == 1 else None
    items = value.tolist() if callable(getattr(value, "tolist", None)) else None
    return items if isinstance(items, list) else None


def rows(columns: Mapping[str, Any]) -> int:
    """
    The number of rows of *columns* (path -> column), all of the same length;
    else a ``conflict`` problem for each column that differs from the first.
    """
    lengths = {path: len(col) for path, col in columns.items()}
    first, n = next(iter(lengths.items()))
    problems = [
        Problem(path=path, code="conflict", message=f"has {size:,} rows; {first} has {n:,}")
        for path, size in lengths.items()
        if size != n
    ]
    if problems:
        raise ValidationError(problems)
    return n


def as_list(column: Any) -> list[Any]:
    """*column* as a list of Python values (a numpy array's items as Python numbers and strs)."""
    tolist = getattr(column, "tolist", None)
    if callable(tolist) and not isinstance(column, list):
        return list(tolist())
    return list(column)


def int64(np: Any, column: Any) -> Any:
    """
    *column* as a numpy int64 array when every item is an integer that fits
    (an integer array, or a list of ints); ``None`` otherwise (the caller's
    exact path then reads it item by item).
    """
    if not isinstance(column, np.ndarray):
        if not all(type(x) is int for x in column):
            return None
        try:
            return np.array(column, dtype=np.int64)
        except OverflowError:
            return None
    if column.dtype.kind == "i":
        return column.astype(np.int64, copy=False)
    if column.dtype.kind == "u" and (len(column) == 0 or int(column.max()) < 1 << 63):
        return column.astype(np.int64)
    return None


def float64(np: Any, column: Any) -> Any:
    """
    *column* as a numpy float64 array when it is a float array or a list of
    floats; ``None`` otherwise.
    """
    if not isinstance(column, np.ndarray):
        if not all(type(x) is float for x in column):
            return None
        return np.array(column, dtype=np.float64)
    if column.dtype.kind == "f":
        return column.astype(np.float64, copy=False)
    return None


#: The most decimal places a float column is read with on the fast path: a
#: multiple of 10**-15 below 1 is a float's shortest repr exactly when its
#: float rounds back to it (ulp(1) = 2**-52 < 10**-15).
FLOAT_PLACES = 15


def decimal_floats(np: Any, column: Any, *, limit: float = 1.0) -> tuple[Any, int] | None:
    """
    The decimals that the floats of *column* (each ``0 <= x <= limit``, no
    NaN) are written as, by their shortest repr as :func:`~funnelkit._checks.to_decimal`
    reads a float: ``(numerators, places)``, a float64 array of whole numbers
    below 2**52 and the common number of decimal places, so that item i is
    ``numerators[i] / 10**places``.  ``None`` when some float needs more than
    :data:`FLOAT_PLACES` places, or when ``limit * 10**places`` reaches 2**52
    (a decimal of that many digits is no longer the only one its float
    rounds back to).

    The places are guessed from the first thousand floats, then checked on
    all of them (one pass when the guess holds, one more per extra place).
    """
    guess = _places(np, column[:1_000], limit, 0)
    return None if guess is None else _places(np, column, limit, guess[1])


def _places(np: Any, column: Any, limit: float, start: int) -> tuple[Any, int] | None:
    """
    The numerators at the fewest places from *start* on that write every
    float of *column* exactly; ``None`` past the limit.
    """
    for places in range(start, FLOAT_PLACES + 1):
        scale = 10.0**places  # exact up to 10**22
        if limit * scale >= 2.0**52:
            return None
        numerators = column * scale
        np.rint(numerators, out=numerators)
        if np.array_equal(numerators / scale, column):  # exact integers divided: correctly rounded
            return numerators, places
    return None


def exact_decimals(np: Any, column: Any) -> tuple[Any, int]:
    """
    The decimals of a float column (see :func:`decimal_floats`) read one
    distinct float at a time, as :func:`~funnelkit._checks.to_decimal` reads
    each: ``(numerators as Python ints in an object array, places)``.
    """
    distinct, inverse = np.unique(column, return_inverse=True)
    decimals = [c.to_decimal(float(x)) for x in distinct.tolist()]
    places = max(0, *(-exponent(d) for d in decimals))
    numerators = np.array([int(d.scaleb(places, _CONTEXT)) for d in decimals], dtype=object)
    return numerators[inverse], places


def exponent(value: Decimal) -> int:
    """The exponent of a finite Decimal."""
    e = value.as_tuple().exponent
    return e if isinstance(e, int) else 0


def half_even(np: Any, products: Any, denominator: int) -> Any:
    """
    ``products / denominator`` rounded half-even to integers (an int64
    array, exact, below 2**62 in size; it is overwritten): the rounding of
    ``Decimal.quantize`` with ``ROUND_HALF_EVEN``.  Half up first, then a
    tie that went up to an odd number comes back down.  In place where it
    can: fresh arrays cost more than arithmetic.
    """
    if denominator == 1:
        return products
    products += denominator // 2  # the denominator is a power of 10: even
    quotients = products // denominator  # by a scalar: numpy's fast division
    scratch = quotients * denominator
    products -= scratch  # the remainder of the half-up division
    tie = products == 0
    np.bitwise_and(quotients, 1, out=scratch)
    tie &= scratch == 1
    quotients -= tie
    return quotients


def half_even_floats(np: Any, products: Any, denominator: int) -> Any:
    """
    ``products / denominator`` rounded half-even (a float64 array of whole
    numbers below 2**52; it is overwritten).  Exact: below 2**53 an integer
    divided by a power of 10 lands within 2**-53 of its quotient, nearer than
    any non-tie is to a half, and a tie is a float exactly, which ``rint``
    rounds half to even.
    """
    products /= denominator
    return np.rint(products, out=products)


def half_even_int(product: int, denominator: int) -> int:
    """``product / denominator`` rounded half-even to an integer (Python ints)."""
    quotient, remainder = divmod(product, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient & 1):
        quotient += 1
    return quotient


#: Sums of integers as floats are exact below this.
_EXACT_FLOAT = 1 << 53
_LIMB = 21


def group_sums(np: Any, codes: Any, values: Any, groups: int, *, largest: int | None = None) -> list[int]:
    """
    The exact sum of *values* (an int64 array, or a float64 one of whole
    numbers; none larger than *largest* in size, when given) per group code
    (0 <= code < *groups*), as Python ints: by ``bincount`` in floats, split
    into 21-bit limbs when a float sum could be inexact.
    """
    if len(values) == 0:
        return [0] * groups
    if largest is None:
        largest = max(abs(int(values.min())), abs(int(values.max())))
    if largest * len(values) < _EXACT_FLOAT:
        weights = values if values.dtype == np.float64 else values.astype(np.float64)
        return [int(x) for x in np.bincount(codes, weights=weights, minlength=groups).tolist()]
    rest = values.astype(np.int64)  # whole floats past 2**53 have no fraction to lose
    total = [0] * groups
    mask = (1 << _LIMB) - 1
    for shift in range(0, 64, _LIMB):
        limb = rest & mask if shift + _LIMB < 64 else rest  # the last limb keeps the sign
        sums = np.bincount(codes, weights=limb.astype(np.float64), minlength=groups)
        for g, x in enumerate(sums.tolist()):
            total[g] += int(x) << shift
        rest = rest >> _LIMB
    return total


def missing(value: object) -> bool:
    """Whether *value* marks a missing cell: None, NaN, pandas' NA or NaT."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def key_of(value: object) -> object:
    """A cell as a group key: a missing cell is None, another library's int or bool is Python's."""
    return None if missing(value) else c.plain(value)


def factorize(np: Any, column: Any) -> tuple[Any, list[object]] | None:
    """
    The group code of every row of *column* (an int64 array) and the key of
    each code: by pandas when it is installed (hashing; a categorical
    ``Series`` by its codes), else by numpy's sort for an int or str array;
    ``None`` when neither applies (the caller then groups row by row).
    Missing cells share one code, whose key is ``None``.
    """
    if isinstance(column, np.ndarray) and column.dtype.kind in "iu" and len(column):
        low, high = int(column.min()), int(column.max())
        if low >= 0 and high < 4 * len(column) + 1024:  # small counts (codes, ids): each its own code
            return column.astype(np.int64, copy=False), list(range(high + 1))
    pandas = module("pandas")
    try:
        if pandas is not None:
            if isinstance(column, pandas.Series) and isinstance(column.dtype, pandas.CategoricalDtype):
                codes = column.cat.codes.to_numpy().astype(np.int64)
                uniques = column.cat.categories
            else:
                codes, uniques = pandas.factorize(column)  # a missing cell: -1
                codes = codes.astype(np.int64, copy=False)
            keys = [key_of(k) for k in uniques.tolist()]
            if len(codes) and int(codes.min()) < 0:
                codes = np.where(codes < 0, len(keys), codes)
                keys.append(None)
            return codes, keys
        if isinstance(column, np.ndarray) and column.dtype.kind in "iuU":
            uniques, codes = np.unique(column, return_inverse=True)
            return codes.astype(np.int64, copy=False), [key_of(k) for k in uniques.tolist()]
    except (TypeError, ValueError):  # unhashable or unorderable cells: grouped row by row
        return None
    return None
