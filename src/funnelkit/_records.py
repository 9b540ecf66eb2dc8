"""
Records: the attrs classes that a move of the stage engine builds, stored as
tuples.

The stage engine returns a new immutable opportunity and a new event on every
move.  Filling an attrs slots class from Python costs one descriptor call per
field (17 for an opportunity, 13 for an event); a tuple is filled by one C call.
:func:`record` turns an ``@attrs.frozen`` class into a tuple subclass with the
same fields, checks, defaults, converters, methods, ``repr``, equality and
hash, that attrs and cattrs still recognise (``attrs.fields``, ``attrs.has``,
``attrs.evolve`` and ``attrs.asdict`` work as before).  Nothing else about it is
a tuple: it does not iterate, index, measure, add or order, as an attrs value
does not.

The constructor is compiled from the fields: values of the exact types that
pass their checks' fast tests (see ``_checks.FastTest``), as given or after
the converters, and the cross-field rules, make the tuple at once; anything
else goes through the attrs class itself, so the conversions, checks and
messages are attrs' own.  Code that has checked the values itself (the stage
engine's moves) builds the tuple with :data:`new_record`, in field order.
"""

from __future__ import annotations

import datetime as dt
import inspect
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar, cast

import attrs

from . import _checks as c

try:  # the C accessor namedtuple uses; a property reading the tuple's item otherwise
    from collections import _tuplegetter  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - other Pythons

    def _tuplegetter(index: int, doc: str | None) -> property:
        return property(lambda self: tuple.__getitem__(self, index), doc=doc)  # not the refusing one


T = TypeVar("T")

#: ``tuple.__new__`` as builders of records call it: (the record class, its field values in order).
new_record: Callable[..., Any] = tuple.__new__
_tuple_eq = tuple.__eq__
_tuple_ne = tuple.__ne__
_tuple_hash = tuple.__hash__
_tuple_items = tuple.__getitem__
_ALL = slice(None)
_MISSING = object()
#: The types a compiled constructor puts through the converters itself: values, not iterators.
_PLAIN = frozenset({str, int, bool, float, Decimal, list, tuple, set, frozenset, dt.datetime, dt.date,
                    dt.timedelta, type(None)})  # fmt: skip

#: What attrs generated for the slots class that the record does its own way.
_NOT_COPIED = frozenset({
    "__slots__", "__weakref__", "__dict__", "__init__", "__getstate__", "__setstate__",
    "__eq__", "__ne__", "__hash__", "__lt__", "__le__", "__gt__", "__ge__",
})  # fmt: skip


def _rebuild(cls: type[T], values: tuple[Any, ...]) -> T:
    """
    A record from the field values a pickle or a copy holds.
    """
    return cast("T", new_record(cls, values))


def _not_a_tuple(name: str) -> Callable[..., Any]:
    def refuse(self: object, *args: object) -> Any:  # noqa: ARG001 - the tuple method's signature
        msg = f"{type(self).__name__!r} object does not support {name}; it is a value, not a sequence"
        raise TypeError(msg)

    refuse.__name__ = name
    return refuse


def _compiled_new(cls: type, fields: Any, checked_new: Callable[..., Any]) -> Callable[..., Any] | None:
    """
    A constructor that builds the record directly when every argument, as
    given or else through its field's converter, is of its field's exact
    type and passes its check's fast test (see ``_checks.FastTest``), and the
    class's cross-field rules hold; otherwise it hands the arguments as given
    to *checked_new* (attrs' converters and checks, which give the errors).
    ``None`` when a field has no fast test, or a converter that may change a
    value that passes it.
    """
    names: dict[str, Any] = {
        "_fk_missing": _MISSING, "_fk_new": new_record, "_fk_checked": checked_new, "_fk_plain": _PLAIN,
    }  # fmt: skip

    def const(value: object) -> str:
        key = f"_fk_c{len(names)}"
        names[key] = value
        return key

    for f in fields:
        if (
            c.fast_test(f.metadata.get("funnelkit_check")) is None
            or (f.converter is not None and not c.keeps(f.converter))
            or f.validator is not None
            or isinstance(f.default, attrs.Factory)  # type: ignore[arg-type]
            or not f.alias.isidentifier()
            or f.alias.startswith("_fk_")
        ):
            return None
    relations = getattr(cls, "_relations", None)
    if relations is not None:
        names["_fk_relations"] = relations

    def attempt(indent: str, converted: bool) -> list[str]:
        """Build and return the record if every value (converted or as given) passes its test."""
        tests, values = [], []
        for f in fields:
            v = f"_fk_{f.alias}" if converted and f.converter is not None else f.alias
            test = c.fast_test(f.metadata["funnelkit_check"])(v, const)  # type: ignore[misc]
            tests.append(
                f"({v} is not _fk_missing and {test})" if f.default is attrs.NOTHING else f"({test})"
            )
            values.append(v)
        lines = [f"{indent}if (", *(f"{indent}    {'and ' if i else ''}{t}" for i, t in enumerate(tests))]
        lines += [f"{indent}):", f"{indent}    new = _fk_new(cls, ({', '.join(values)},))"]
        if relations is None:
            return [*lines, f"{indent}    return new"]
        return [*lines, f"{indent}    if not _fk_relations(new):", f"{indent}        return new"]

    src = [f"def __new__(cls, /, *, {', '.join(f'{f.alias}=_fk_missing' for f in fields)}):"]
    for f in fields:
        if f.default is not attrs.NOTHING:
            src += [f"    if {f.alias} is _fk_missing:", f"        {f.alias} = {const(f.default)}"]
    src += attempt("    ", converted=False)

    # Then through the converters, as attrs would convert them (a list for a tuple, a str for an
    # enum), but only values of plain types: a converter may consume a one-shot iterator (a
    # generator), and attrs' path must see it whole.
    def safe(f: Any) -> str:
        kept = c.kept_type(f.converter)
        also = "" if kept is None else f" or type({f.alias}) is {const(kept)}"
        return f"({f.alias} is _fk_missing or type({f.alias}) in _fk_plain{also})"

    plain = " and ".join(safe(f) for f in fields if f.converter is not None)
    given = ", ".join(f"{f.alias}={f.alias}" for f in fields)
    checked = "_fk_checked(cls, **{k: v for k, v in dict(" + given + ").items() if v is not _fk_missing})"
    src += [f"    if not ({plain or 'False'}):", f"        return {checked}"]
    src.append("    try:")
    for f in fields:
        if f.converter is not None:
            convert = f"{const(f.converter)}({f.alias})"
            kept = c.kept_type(f.converter)
            if kept is not None:  # a value of that type is returned as it is: no call
                convert = f"{f.alias} if type({f.alias}) is {const(kept)} else {convert}"
            src.append(f"        _fk_{f.alias} = {f.alias} if {f.alias} is _fk_missing else {convert}")
    src.append("    except Exception:  # the checked path meets it again and reports it as attrs does")
    src.append("        pass")
    src.append("    else:")
    src += attempt("        ", converted=True)
    src.append(f"    return {checked}")
    compiled = compile("\n".join(src), f"<funnelkit compiled constructor of {cls.__name__}>", "exec")
    exec(compiled, names)  # noqa: S102 - source built here from field names and constants
    return names["__new__"]  # type: ignore[no-any-return]


def _unordered(self: object, other: object) -> Any:  # noqa: ARG001 - an operator's signature
    return NotImplemented


def record(cls: type[T]) -> type[T]:
    """
    The tuple-backed twin of the ``@attrs.frozen`` class *cls*, under the same
    name: same fields, checks, methods and documents.
    """
    fields = attrs.fields(cast("type[attrs.AttrsInstance]", cls))
    if any(not f.eq or not f.init for f in fields):  # pragma: no cover - a guard for the next record
        msg = f"{cls.__name__}: a record needs every field in __init__ and in equality"
        raise TypeError(msg)
    names = tuple(f.name for f in fields)
    read_all = operator.attrgetter(*names)
    ns: dict[str, Any] = {k: v for k, v in cls.__dict__.items() if k not in _NOT_COPIED and k not in names}
    for i, f in enumerate(fields):
        ns[f.name] = _tuplegetter(i, f"The {f.name!r} field.")

    def checked_new(kind: type[T], /, **kwargs: Any) -> T:
        checked = cls(**kwargs)  # attrs' converters, defaults and checks
        return cast("T", new_record(kind, read_all(checked)))

    __new__ = _compiled_new(cls, fields, checked_new) or checked_new

    # Only a record of the same class is equal; a tuple is answered here (False), or its own
    # __eq__ would compare the items.
    def __eq__(self: tuple[Any, ...], other: object) -> bool:  # noqa: N807
        if other.__class__ is self.__class__:
            return _tuple_eq(self, other)
        return False if isinstance(other, tuple) else NotImplemented

    def __ne__(self: tuple[Any, ...], other: object) -> bool:  # noqa: N807
        if other.__class__ is self.__class__:
            return _tuple_ne(self, other)
        return True if isinstance(other, tuple) else NotImplemented

    def __reduce__(self: tuple[Any, ...]) -> tuple[Any, ...]:  # noqa: N807
        return _rebuild, (self.__class__, _tuple_items(self, _ALL))

    __new__.__doc__ = cls.__init__.__doc__
    ns.update(
        __slots__=(),
        __new__=__new__,
        __eq__=__eq__,
        __ne__=__ne__,
        __hash__=_tuple_hash,
        __reduce__=__reduce__,
        __lt__=_unordered,
        __le__=_unordered,
        __gt__=_unordered,
        __ge__=_unordered,
        __bool__=lambda self: True,  # noqa: ARG005 - an attrs value is always true
        __attrs_checked_class__=cls,
    )
    for name in ("__iter__", "__len__", "__getitem__", "__contains__", "__add__", "__mul__", "__rmul__"):
        ns[name] = _not_a_tuple(name)
    twin = type(cls.__name__, (tuple, *cls.__bases__), ns)
    twin.__qualname__ = cls.__qualname__
    twin.__module__ = cls.__module__
    twin.__signature__ = inspect.signature(cls)  # type: ignore[attr-defined]  # the fields, not the compiled **
    return twin
