"""
Tagged families (requirements, policies, events: one ``"type"`` key names
the class) and the fields a document of a value holds.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterator
from typing import Any

import attrs

from .errors import ValidationError

#: The key that names a tagged value's class in its document.
TAG: str = "type"


# --- tagged families ---------------------------------------------------------


def _tag_of(cls: object) -> str:
    """
    The tag of a tagged class (its ``type_name``), or ``""``.
    """
    tag = getattr(cls, "type_name", "")
    return tag if isinstance(tag, str) else ""


def _is_family(t: Any) -> bool:
    """
    Whether *t* is the base of a tagged family (``Requirement``, ``Policy``):
    a class with a ``type_name`` that is not itself a value.
    """
    return isinstance(t, type) and not attrs.has(t) and isinstance(getattr(t, "type_name", None), str)


def _members(base: type) -> Iterator[type]:
    """
    Every attrs class below *base* that has a tag, the caller's own included.
    """
    seen: set[type] = set()
    todo = [base]
    while todo:
        cls = todo.pop()
        subclasses: list[type] = cls.__subclasses__()
        for sub in subclasses:
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
                if attrs.has(sub) and _tag_of(sub):
                    yield sub


def _tag_table(classes: typing.Iterable[type]) -> dict[str, type]:
    table: dict[str, type] = {}
    for cls in classes:
        tag = _tag_of(cls)
        other = table.setdefault(tag, cls)
        if other is not cls and not issubclass(cls, other) and not issubclass(other, cls):
            msg = f"the tag {tag!r} names both {other.__qualname__} and {cls.__qualname__}; give each its own"
            raise ValidationError.single(TAG, msg, code="duplicate")
    return table


# --- which fields a document holds ---------------------------------------------


@functools.cache
def _document_fields(cls: type) -> tuple[tuple[str, str], ...]:
    """
    ``(key, attribute)`` for each field a document of attrs class *cls* holds:
    the fields it is built from (``init``) and compared by (``eq``), and any
    other field it cannot be built without.  Caches and references that a
    value keeps beside its data (optional, not compared) are left out.
    """
    return tuple(
        (f.alias or f.name, f.name)
        for f in attrs.fields(cls)
        if f.init and (f.eq or f.default is attrs.NOTHING)
    )
