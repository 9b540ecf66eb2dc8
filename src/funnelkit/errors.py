"""
Every exception funnelkit raises on purpose.

All of them derive from :class:`FunnelkitError`, so a host can catch the whole
family in one ``except`` clause.  Errors about bad input also derive from
:class:`ValueError`, so code that already guards against ``ValueError`` keeps
working.

Each :class:`Problem` of a :class:`ValidationError` says where it is
(``path``), what kind of problem it is (``code``, a word from :data:`CODES`)
and what was found and what is allowed (``message``, for people).  Programs
branch on the code, never on the message, whose wording may improve:

>>> from funnelkit import Money
>>> from funnelkit.errors import ValidationError
>>> try:
...     Money.of(0.1, "USD")
... except ValidationError as e:
...     print(e.problems[0].path, "|", e.problems[0].code, "|", e.problems[0].message)
amount | type | 0.1 is a float; money refuses floats because they are inexact: ...

The errors that are not about one value carry the code of their kind in
``code`` too: ``"currency"`` for :class:`CurrencyMismatchError`, ``"state"``
for :class:`TransitionNotAllowed`, :class:`MilestoneNotMet` and
:class:`AssignmentError`, ``"conflict"`` for :class:`ConcurrencyConflict` and
:class:`ClaimConflict`.

The codes form a closed vocabulary: adding one is a new feature, listed in
the changelog.  A message says which value was wrong and what is allowed; the
code says which of these kinds of problem it is:

| code | meaning |
| --- | --- |
| `missing` | a required field, argument or part is absent |
| `unknown_field` | a key that is not a field of the value being read |
| `type` | a value of the wrong type |
| `empty` | empty or blank where something is needed |
| `format` | text that does not parse: a number, datetime, duration, id, currency or zone name |
| `timezone` | a naive datetime, or a local time that its zone skips or does not use |
| `choice` | not one of the allowed values: an enum value, a tag, a kind, a name |
| `range` | a number, time or duration outside its allowed bounds |
| `limit` | beyond one of funnelkit's documented size limits (the MAX_* constants) |
| `precision` | more decimal places than allowed |
| `order` | times or items out of order |
| `duplicate` | an id, key or item that appears more than once |
| `reference` | names something that does not exist: a stage, a rep, a customer |
| `currency` | an unknown currency, or amounts in different currencies |
| `conflict` | values that contradict each other |
| `graph` | moves that cannot work: a stage out of reach, a dead end, a move out of a won stage |
| `state` | not allowed in the current state: a closed deal, a move the pipeline lacks |
| `callable` | a function that cannot be called as documented, or that returned something unusable |
| `nested` | nested too deeply to read or write |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import ClassVar

import attrs

#: The longest message (or path) a problem keeps, and the most problems an error's text lists.
MAX_MESSAGE: int = 1_000
MAX_PATH: int = 300
MAX_LISTED: int = 50


#: Every code a :class:`Problem` can carry, with its meaning.  Read-only.
CODES: Mapping[str, str] = MappingProxyType(
    {
        "missing": "a required field, argument or part is absent",
        "unknown_field": "a key that is not a field of the value being read",
        "type": "a value of the wrong type",
        "empty": "empty or blank where something is needed",
        "format": "text that does not parse: a number, datetime, duration, id, currency or zone name",
        "timezone": "a naive datetime, or a local time that its zone skips or does not use",
        "choice": "not one of the allowed values: an enum value, a tag, a kind, a name",
        "range": "a number, time or duration outside its allowed bounds",
        "limit": "beyond one of funnelkit's documented size limits (the MAX_* constants)",
        "precision": "more decimal places than allowed",
        "order": "times or items out of order",
        "duplicate": "an id, key or item that appears more than once",
        "reference": "names something that does not exist: a stage, a rep, a customer",
        "currency": "an unknown currency, or amounts in different currencies",
        "conflict": "values that contradict each other",
        "graph": "moves that cannot work: a stage out of reach, a dead end, a move out of a won stage",
        "state": "not allowed in the current state: a closed deal, a move the pipeline lacks",
        "callable": "a function that cannot be called as documented, or that returned something unusable",
        "nested": "nested too deeply to read or write",
    }
)


def _shorten(text: str, limit: int) -> str:
    """
    *text*, cut to *limit* characters with a note of how long it was: a
    message or path can quote input, and input can be huge.
    """
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}... ({len(text):,} characters in all)"


def _bounded_path(value: str) -> str:
    return _shorten(value, MAX_PATH) if isinstance(value, str) else value


def _bounded_message(value: str) -> str:
    return _shorten(value, MAX_MESSAGE) if isinstance(value, str) else value


class FunnelkitError(Exception):
    """
    Base class of every error that funnelkit raises on purpose.

    Its text is bounded: a message that quotes a huge input is cut short.
    """

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            args = (_shorten(args[0], MAX_LISTED * MAX_MESSAGE), *args[1:])
        super().__init__(*args)


def _shown(value: object) -> str:
    """
    A short ``repr`` of *value* that cannot fail (``_checks.show`` imports this module).
    """
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken or huge value must not hide the real problem
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= 80 else text[:77] + "..."


def _known_code(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or value not in CODES:
        msg = f"{_shown(value)} is not a problem code; allowed: {', '.join(CODES)}"
        raise ValidationError.single("code", msg, code="choice")


def _text(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        kind = type(value).__name__
        msg = f"{_shown(value)} is {'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}; expected a str"
        raise ValidationError.single(attribute.name, msg, code="type")


@attrs.frozen(kw_only=True)
class Problem:
    """
    One thing wrong with an input: where it is, what kind of problem it is,
    and what is wrong.

    *path* locates the value inside the input (``"amount.currency"``,
    ``"opportunities[3].stage"``), or is empty when the problem concerns the
    input as a whole.  *code* is one of :data:`CODES` (``"type"``,
    ``"range"``, ...): match on it.  *message* says, for a person, what was
    found and what is allowed.
    """

    path: str = attrs.field(converter=_bounded_path, validator=_text)
    code: str = attrs.field(validator=_known_code)
    message: str = attrs.field(converter=_bounded_message, validator=_text)

    def prefixed(self, prefix: str) -> Problem:
        """
        Return the same problem located under *prefix*.

        An index prefix such as ``"[3]"`` is joined without a dot.

        Cost: O(length of the path).
        """
        if not isinstance(prefix, str):
            msg = f"the prefix must be a str, not {type(prefix).__name__}"
            raise ValidationError.single("prefix", msg, code="type")
        if not prefix:
            return self
        if not self.path:
            return Problem(path=prefix, code=self.code, message=self.message)
        sep = "" if self.path.startswith("[") else "."
        return Problem(path=f"{prefix}{sep}{self.path}", code=self.code, message=self.message)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ValidationError(FunnelkitError, ValueError):
    """
    Input that funnelkit refuses.

    Carries **every** problem found, not just the first, in :attr:`problems`;
    the message lists them one per line.
    """

    problems: tuple[Problem, ...]

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        if not self.problems:
            msg = "ValidationError needs at least one problem"
            raise ValueError(msg)
        if len(self.problems) == 1:
            text = str(self.problems[0])
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems[:MAX_LISTED])
            more = len(self.problems) - MAX_LISTED
            if more > 0:
                lines += f"\n  - ... and {more:,} more (all are in .problems)"
            text = f"{len(self.problems)} problems:\n{lines}"
        super().__init__(text)

    def __reduce__(self) -> tuple[type[ValidationError], tuple[tuple[Problem, ...]]]:
        return (type(self), (self.problems,))

    @classmethod
    def single(cls, path: str, message: str, *, code: str) -> ValidationError:
        """
        Build an error that carries exactly one problem.
        """
        return cls([Problem(path=path, code=code, message=message)])

    def prefixed(self, prefix: str) -> ValidationError:
        """
        Return the same error with every problem located under *prefix*.
        """
        return type(self)(p.prefixed(prefix) for p in self.problems)


class CurrencyMismatchError(FunnelkitError, ValueError):
    """
    Arithmetic or ordering between amounts in two different currencies.

    funnelkit never sums two currencies silently; convert one of them first.
    """

    code: ClassVar[str] = "currency"

    def __init__(self, operation: str, left: str, right: str, *, path: str = "") -> None:
        self.operation = operation
        self.left = left
        self.right = right
        #: Where the second amount is, when it came from a collection: ``"deals[3].amount"``.
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(
            f"{where}cannot {operation} {left} and {right}: amounts are in different "
            "currencies; convert one of them first"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.operation, self.left, self.right), {"path": self.path}))


class PipelineDefinitionError(ValidationError):
    """
    A pipeline definition that cannot work; lists every problem found.
    """


class TransitionNotAllowed(FunnelkitError):
    """
    A stage change that the pipeline does not allow.

    *allowed* lists the stages the opportunity may move to from where it is.
    """

    code: ClassVar[str] = "state"

    def __init__(self, *, pipeline: str, from_stage: str, to_stage: str, allowed: tuple[str, ...]) -> None:
        self.pipeline = pipeline
        self.from_stage = from_stage
        self.to_stage = to_stage
        self.allowed = allowed
        self._kwargs = {
            "pipeline": pipeline,
            "from_stage": from_stage,
            "to_stage": to_stage,
            "allowed": allowed,
        }
        targets = ", ".join(repr(a) for a in allowed) if allowed else "nowhere"
        super().__init__(
            f"pipeline {pipeline!r} does not allow {from_stage!r} -> {to_stage!r}; "
            f"from {from_stage!r} it allows: {targets}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (), self._kwargs))


class MilestoneNotMet(FunnelkitError):
    """
    A stage change refused because the current stage's milestones are not met.

    *report* is the :class:`~funnelkit.stages.Readiness` that says which
    requirement failed and why; pass an ``Override`` to move anyway.
    """

    code: ClassVar[str] = "state"

    def __init__(self, report: object, *, to_stage: str, unmet: tuple[str, ...]) -> None:
        self.report = report
        self.to_stage = to_stage
        self.unmet = unmet
        super().__init__(f"cannot move to {to_stage!r} yet; not met: " + "; ".join(unmet))

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.report,), {"to_stage": self.to_stage, "unmet": self.unmet}))


class ConcurrencyConflict(FunnelkitError):
    """
    The opportunity changed since the caller read it (optimistic concurrency).
    """

    code: ClassVar[str] = "conflict"

    def __init__(self, *, opportunity_id: str, expected_version: int, actual_version: int) -> None:
        self.opportunity_id = opportunity_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        self._kwargs = {
            "opportunity_id": opportunity_id,
            "expected_version": expected_version,
            "actual_version": actual_version,
        }
        super().__init__(
            f"opportunity {opportunity_id!r} is at version {_number(actual_version)}, not the expected "
            f"{_number(expected_version)}: someone else changed it; reload and try again"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (), self._kwargs))


class AssignmentError(FunnelkitError):
    """
    A lead, claim or offer operation that the assignment rules refuse.
    """

    code: ClassVar[str] = "state"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message,))


class ClaimConflict(AssignmentError):
    """
    A customer or lead that another rep holds: *holder* has it until
    *expires_at* (``None`` when the hold does not expire, as a claimed offer).
    """

    code: ClassVar[str] = "conflict"

    def __init__(
        self, *, key: str, holder: str, expires_at: object, requested_by: str, what: str = "customer"
    ) -> None:
        self.key = key
        self.holder = holder
        self.expires_at = expires_at
        self.requested_by = requested_by
        self.what = what
        until = "" if expires_at is None else f" until {_instant(expires_at)}"
        message = f"{what} {key!r} is held by {holder!r}{until}; {requested_by!r} cannot take it"
        self._kwargs = {
            "key": key,
            "holder": holder,
            "expires_at": expires_at,
            "requested_by": requested_by,
            "what": what,
        }
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (), self._kwargs))


class MissingDependencyError(FunnelkitError, ImportError):
    """
    A call needs an optional extra that is not installed (``to_frame()``
    needs pandas); the message says what to install.
    """


def _number(value: object) -> str:
    """
    An int as text, or its size when it is too long to print.
    """
    if isinstance(value, int) and value.bit_length() > 256:
        return f"<int of about {value.bit_length() * 30103 // 100000 + 1} digits>"
    return str(value)


def _instant(value: object) -> str:
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) else str(value)


def _rebuild(
    cls: type[FunnelkitError], args: tuple[object, ...], kwargs: dict[str, object]
) -> FunnelkitError:
    """
    Unpickle an error whose constructor takes keyword arguments.
    """
    return cls(*args, **kwargs)


class FunnelkitWarning(UserWarning):
    """
    Base class of funnelkit's warnings.
    """


class PipelineWarning(FunnelkitWarning):
    """
    A pipeline that works but is probably not what was meant.
    """


__all__ = [
    "CODES",
    "AssignmentError",
    "ClaimConflict",
    "ConcurrencyConflict",
    "CurrencyMismatchError",
    "FunnelkitError",
    "FunnelkitWarning",
    "MilestoneNotMet",
    "MissingDependencyError",
    "PipelineDefinitionError",
    "PipelineWarning",
    "Problem",
    "TransitionNotAllowed",
    "ValidationError",
]
