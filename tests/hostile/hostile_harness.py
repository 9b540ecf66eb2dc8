"""
Finds every public callable of funnelkit, builds one working call of each, and runs hostile
variants of that call in a forked child under a time and a memory cap.
"""

import contextlib
import decimal
import enum
import importlib
import inspect
import json
import os
import re
import resource
import select
import signal
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import attrs
import hostile_values as hv
import hostile_world as world
from hypothesis.strategies import SearchStrategy

import funnelkit
from funnelkit.errors import CODES, FunnelkitError, ValidationError

MODULES = (
    "funnelkit",
    "funnelkit.stages",
    "funnelkit.segments",
    "funnelkit.assignment",
    "funnelkit.forecast",
    "funnelkit.simulation",
    "funnelkit.strategies",
    "funnelkit.errors",
    "funnelkit.documents",
    "funnelkit.tables",
    "funnelkit.duplicates",
    "funnelkit.discipline",
    "funnelkit.scoring",
)
#: Base classes and protocols: their methods are covered through the concrete classes.
ABSTRACT = {"Clock", "Requirement", "Policy", "Report"}
#: Seconds of CPU a single case may use (CPU, not wall clock: a loaded machine does not fail a case),
#: and memory (bytes) a child may add to what it starts with.  A case that stops using the CPU and
#: does not return is killed after HUNG_SECONDS of wall clock.
CASE_SECONDS = 6.0
HUNG_SECONDS = 4 * CASE_SECONDS + 5
MEMORY_BYTES = 2 << 30
#: A funnelkit error's message may be no longer than this, whatever the input.
MAX_MESSAGE = 10_000
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


@dataclass(frozen=True)
class Target:
    """One public callable: a function, a constructor, a method or a property."""

    name: str  # qualified: funnelkit.stages.Pipeline.allows
    owner: type | None  # the class, for constructors, methods and properties
    attr: str | None  # the method or property name; None for functions and constructors
    kind: str  # "function", "constructor", "method", "classmethod", "property"


def _own(raw: object) -> bool:
    fn = raw.fget if isinstance(raw, property) else getattr(raw, "__func__", raw)
    return (getattr(fn, "__module__", "") or "").startswith("funnelkit")


def targets() -> list[Target]:
    """Every public callable: each name in each __all__, and the public members of public classes."""
    found: dict[str, Target] = {}
    seen_classes: set[type] = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            qual = f"{module_name}.{name}"
            if inspect.isclass(obj):
                if issubclass(obj, BaseException | enum.Enum) or obj in seen_classes:
                    continue
                seen_classes.add(obj)
                if name not in ABSTRACT:
                    found[qual] = Target(qual, obj, None, "constructor")
                for attr in dir(obj):
                    if attr.startswith("_") or name in ABSTRACT:
                        continue
                    raw = inspect.getattr_static(obj, attr)
                    if not _own(raw):
                        continue
                    if isinstance(raw, property):
                        kind = "property"
                    elif isinstance(raw, classmethod | staticmethod):
                        kind = "classmethod"
                    elif callable(raw):
                        kind = "method"
                    else:
                        continue
                    found[f"{qual}.{attr}"] = Target(f"{qual}.{attr}", obj, attr, kind)
            elif inspect.isfunction(obj):
                found[qual] = Target(qual, None, None, "function")
    return sorted(found.values(), key=lambda t: t.name)


# --- one working call of each -------------------------------------------------------------


def _harvest(value: object, into: dict[type, object], depth: int = 0) -> None:
    """Record the first instance of each funnelkit class found in *value* and inside it."""
    if depth > 6:
        return
    cls = type(value)
    if cls.__module__.startswith("funnelkit") and not issubclass(cls, enum.Enum):
        into.setdefault(cls, value)
        if attrs.has(cls):
            for a in attrs.fields(cls):
                _harvest(getattr(value, a.name), into, depth + 1)
    elif isinstance(value, tuple | list | frozenset | set):
        for item in list(value)[:5]:
            _harvest(item, into, depth + 1)
    elif isinstance(value, dict) or hasattr(value, "items"):
        with contextlib.suppress(Exception):
            for k, v in list(value.items())[:5]:
                _harvest(k, into, depth + 1)
                _harvest(v, into, depth + 1)


def _function(target: Target) -> Callable[..., object]:
    module, _, name = target.name.rpartition(".")
    if target.owner is None:
        return getattr(importlib.import_module(module), name)
    return target.owner


def function_of(target: Target) -> object:
    """The function, method or class behind *target*, for its docstring."""
    if target.attr is None:
        return _function(target)
    return inspect.getattr_static(target.owner, target.attr)


class NoSample(Exception):
    """A parameter that neither the world nor the callable's overrides give a value for."""


@dataclass
class Call:
    """A working call: the function (bound where a method), and its keyword and positional arguments."""

    target: Target
    fn: Callable[..., object]
    args: dict[str, object]
    positional: list[str] = field(default_factory=list)  # names passed positionally, in order
    varargs: str | None = None

    def run(self, replace: tuple[str, object] | None = None) -> object:
        values = dict(self.args)
        if replace is not None:
            values[replace[0]] = replace[1]
        pos = [values.pop(n) for n in self.positional]
        if self.varargs is not None:
            if replace is not None and replace[0] == self.varargs:
                pos.append(values.pop(self.varargs))  # the hostile value as one more positional argument
            else:
                pos.extend(values.pop(self.varargs))
        result = self.fn(*pos, **values)
        if self.target.kind == "property":
            return result
        if isinstance(result, SearchStrategy):
            with warnings.catch_warnings():  # .example() is meant for the console; here it is the point
                warnings.simplefilter("ignore")
                return result.example()
        if isinstance(result, Iterator):
            return list(result)
        return result


class World:
    """Samples of every public class, and one working call of every public callable."""

    def __init__(self) -> None:
        self.instances: dict[type, object] = {}
        for value in vars(world).values():
            _harvest(value, self.instances)
        self.targets = targets()
        self.calls: dict[str, Call] = {}
        self.missing: dict[str, str] = {}
        # Functions first: their results give instances of the report classes.
        for target in self.targets:
            if target.kind == "function":
                self._prepare(target)
        for target in self.targets:
            if target.kind == "constructor":
                self._prepare(target)
        for target in self.targets:
            if target.kind not in {"function", "constructor"}:
                self._prepare(target)

    def _value(self, target: Target, name: str, param: inspect.Parameter) -> object:
        overrides = world.BY_CALLABLE.get(target.name, {})
        if name in overrides:
            return overrides[name]
        instance = self.instances.get(target.owner) if target.owner else None
        if name == "other" and instance is not None:
            return instance
        if name == "data" and instance is not None and hasattr(instance, "to_dict"):
            return instance.to_dict()
        if name in world.BY_NAME and world.BY_NAME[name] is not None:
            return world.BY_NAME[name]
        if param.default is not inspect.Parameter.empty:
            return param.default
        if name in world.BY_NAME:
            return None
        msg = f"no sample value for parameter {name!r} of {target.name}"
        raise NoSample(msg)

    def _prepare(self, target: Target) -> None:
        try:
            call = self._build(target)
            result = call.run()
        except NoSample as e:
            self.missing[target.name] = str(e)
            return
        except Exception as e:  # noqa: BLE001 - reported as a missing sample
            self.missing[target.name] = f"the sample call fails: {type(e).__name__}: {str(e)[:300]}"
            return
        self.calls[target.name] = call
        _harvest(result, self.instances)

    def _build(self, target: Target) -> Call:
        if target.kind == "constructor":
            instance = self.instances.get(target.owner)
            if instance is not None and attrs.has(target.owner):
                args = {a.alias: getattr(instance, a.name) for a in attrs.fields(target.owner) if a.init}
                return Call(target, target.owner, args)
            return self._from_signature(target, target.owner)
        if target.kind == "function":
            return self._from_signature(target, _function(target))
        instance = world.BY_SELF.get(target.name, self.instances.get(target.owner))
        if target.kind == "classmethod":
            return self._from_signature(target, getattr(target.owner, target.attr))
        if instance is None:
            msg = f"no sample instance of {target.owner.__name__} for {target.name}"
            raise NoSample(msg)
        if target.kind == "property":
            return Call(target, lambda: getattr(instance, target.attr), {})
        return self._from_signature(target, getattr(instance, target.attr))

    def _from_signature(self, target: Target, fn: Callable[..., object]) -> Call:
        sig = inspect.signature(fn)
        args: dict[str, object] = {}
        positional: list[str] = []
        varargs = None
        for name, param in sig.parameters.items():
            if param.kind is inspect.Parameter.VAR_POSITIONAL:
                args[name] = tuple(self._value(target, name, param))
                varargs = name
                continue
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                continue
            args[name] = self._value(target, name, param)
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                positional.append(name)
        return Call(target, fn, args, positional, varargs)


# --- judging one case --------------------------------------------------------------------


def judge(call: Call, param: str, exc: BaseException | None) -> str | None:
    """None when the outcome is acceptable, else what is wrong with it."""
    if exc is None:
        return None
    if isinstance(exc, hv.CallerError):
        return None  # the caller's own callable failed, and its error came through untouched
    if not isinstance(exc, FunnelkitError):
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return (
            f"{type(exc).__name__}: {str(exc)[:150]} (at {os.path.basename(where.filename)}:{where.lineno})"
        )
    text = str(exc)
    if len(text) > MAX_MESSAGE:
        return f"{type(exc).__name__} message of {len(text):,} characters"
    if isinstance(exc, ValidationError):
        uncoded = [p for p in exc.problems if p.code not in CODES]
        if uncoded:
            return f"{type(exc).__name__} problem without a known code: {uncoded[0]!r:.150}"
    if isinstance(exc, ValidationError) and call.target.kind not in {"property"}:
        names = {param, *_ALIASES.get(param, ())}
        paths = [p.path for p in exc.problems]
        if not any(re.match(rf"(\w+\.)*({'|'.join(map(re.escape, names))})\b", p) for p in paths) and not any(
            n in text for n in names
        ):
            return f"{type(exc).__name__} does not name {param!r}: {text[:150]}"
    return None


#: Parameters whose problems are reported under another name (the item's own field).
_ALIASES = {
    "data": ("",),
    "obj": ("",),
    "varargs": (),
    "parts": ("parts",),
    "opp": ("opportunity", "opp"),
    "ctx": ("opportunity", "activities", "key_persons", "now"),
}


# --- running cases in a child ------------------------------------------------------------


class Timeout(BaseException):
    """Raised in the child when a case runs past its time."""


def _alarm(_signum: int, _frame: object) -> None:
    raise Timeout


@dataclass(frozen=True)
class Case:
    """One hostile variant of a working call."""

    param: str
    label: str
    make: Callable[[], object]


#: The long profile (nox -s fuzz) adds this many random values per parameter.
GENERATED = int(os.environ.get("FUNNELKIT_HOSTILE_GENERATED", "0"))


def cases(call: Call) -> list[Case]:
    """Every hostile variant of *call*: each parameter in turn, with each value aimed at its kind."""
    out = []
    for param, base in call.args.items():
        table = {**hv.for_parameter(param), **hv.derived_for(param, base)}
        if GENERATED:
            table.update(hv.generated(f"{call.target.name}.{param}", 0, GENERATED))
        for label, make in table.items():
            out.append(Case(param, label, make))
    return out


def _vm_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _child(call: Call, todo: list[Case], write_fd: int) -> None:
    limit = _vm_bytes() + MEMORY_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGPROF, _alarm)
    out = os.fdopen(write_fd, "w", buffering=1)
    for i, case in enumerate(todo):
        out.write(json.dumps({"start": i}) + "\n")
        verdict = None
        try:
            value = case.make()
            signal.setitimer(signal.ITIMER_PROF, CASE_SECONDS)
            try:
                call.run((case.param, value))
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
        except Timeout:
            verdict = f"ran past {CASE_SECONDS} s"
        except MemoryError:
            verdict = f"MemoryError: needed more than {MEMORY_BYTES >> 30} GiB"
        except RecursionError as e:
            verdict = judge(call, case.param, e)
        except Exception as e:  # noqa: BLE001 - every exception is judged
            verdict = judge(call, case.param, e)
        out.write(json.dumps({"done": i, "verdict": verdict}) + "\n")
    out.close()


def run_cases(call: Call, todo: list[Case]) -> list[tuple[Case, str]]:
    """Run *todo* against *call* in forked children; return the cases that failed and why."""
    failures: list[tuple[Case, str]] = []
    start = 0
    while start < len(todo):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.close(read_fd)
            code = 0
            try:
                _child(call, todo[start:], write_fd)
            except BaseException:  # noqa: BLE001
                code = 1
            os._exit(code)
        os.close(write_fd)
        current = None
        buffer = b""
        last = time.monotonic()
        finished = start
        with os.fdopen(read_fd, "rb", buffering=0) as pipe:
            while True:
                ready, _, _ = select.select([pipe], [], [], 1.0)
                if ready:
                    chunk = pipe.read(65536)
                    if not chunk:
                        break
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        msg = json.loads(line)
                        if "start" in msg:
                            current = start + msg["start"]
                            last = time.monotonic()
                        else:
                            finished = start + msg["done"] + 1
                            if msg["verdict"]:
                                failures.append((todo[start + msg["done"]], msg["verdict"]))
                            current = None
                elif current is not None and time.monotonic() - last > HUNG_SECONDS:
                    os.kill(pid, signal.SIGKILL)
                    failures.append((todo[current], f"hung past {HUNG_SECONDS:.0f} s (killed)"))
                    finished = current + 1
                    break
        _, status = os.waitpid(pid, 0)
        if current is not None and finished <= current:
            # the child died inside a case without reporting it
            failures.append((todo[current], f"the child died (status {status})"))
            finished = current + 1
        start = max(finished, start + 1) if finished == start else finished
    return failures


# --- decimal contexts ---------------------------------------------------------------------


def fingerprint(value: object) -> str:
    """What a result looks like, without memory addresses."""
    with contextlib.suppress(Exception):
        value = funnelkit.to_dict(value)
    return _ADDRESS.sub("", repr(value))


def outcome(call: Call) -> str:
    """The result of *call*, or the type and message of its error, as text."""
    try:
        return fingerprint(call.run())
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"


def in_context(call: Call, context: decimal.Context) -> str:
    with decimal.localcontext(context):
        return outcome(call)
