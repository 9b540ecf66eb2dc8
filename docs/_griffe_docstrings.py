"""
A griffe extension that prepares funnelkit's docstrings for the reference site.

funnelkit's docstrings are written for ``help()`` and for doctest: reST roles
(``:func:`assign```), bare ``>>>`` examples, ``#:`` comments above constants and
attrs classes whose ``__init__`` attrs writes at run time.  The sources stay that
way; this extension rewrites griffe's copy of each docstring while the site is built:

- ``>>>`` examples become fenced ``pycon`` blocks, and a reST ``::`` literal block a
  fenced ``python`` block, instead of the nested blockquotes Markdown makes of them;
- ``:func:`` / ``:class:`` / ``:meth:`` / ... roles become autorefs links to the object's
  page when funnelkit documents it there, and inline code otherwise (a private helper, or
  an object outside funnelkit);
- a ``#:`` comment above a constant, a field or an enum member becomes its description;
- an attrs class gets the ``__init__`` that attrs generates (so its signature shows the
  fields with their types and defaults) and a table of its public fields; an enum gets a
  table of its members.

mkdocs.yml loads it by path; it imports ``griffe`` and ``attrs`` (the ``docs`` extra).
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
from griffe import (
    Alias,
    Attribute,
    Class,
    Docstring,
    Extension,
    Function,
    GriffeLoader,
    Module,
    Object,
    Parameter,
    ParameterKind,
    Parameters,
    get_logger,
)

_logger = get_logger("funnelkit.docs")

#: A reST cross-reference role, with an optional explicit title: :func:`title <target>`.
ROLE = re.compile(r":(?:py:)?(func|class|meth|attr|mod|data|exc|obj|const):`([^`]+)`")
_TITLED = re.compile(r"^(.*?)\s*<([^<>]+)>$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_DOCTEST_FLAG = re.compile(r"\s*#\s*doctest:.*$")
_DOCS = Path(__file__).parent


# --- text rewrites: pure functions of the docstring's lines ---------------------------------


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _fenced(indent: str, language: str, body: list[str], out: list[str]) -> None:
    if out and out[-1].strip():
        out.append("")
    out.append(f"{indent}```{language}")
    out.extend(f"{indent}{line}" if line else "" for line in body)
    out.append(f"{indent}```")


def fence_examples(text: str) -> str:
    """
    Fence each doctest example (a ``>>>`` line and everything up to the next blank line)
    as ``pycon``, dropping ``# doctest:`` flags as Sphinx does; fence each reST literal
    block (an indented block after a paragraph ending in ``::``) as ``python``.
    Text already inside a fence is left alone.

    >>> fence_examples("Add:\\n\\n>>> 1 + 1  # doctest: +ELLIPSIS\\n2\\n\\nDone.").split("\\n")
    ['Add:', '', '```pycon', '>>> 1 + 1', '2', '```', '', 'Done.']
    >>> fence_examples("Like this::\\n\\n    x = 1\\n\\nDone.").split("\\n")
    ['Like this:', '', '```python', 'x = 1', '```', '', 'Done.']
    """
    lines = text.split("\n")
    out: list[str] = []
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and stripped.startswith(">>>"):
            indent = _indent_of(line)
            body = []
            while i < len(lines) and lines[i].strip():
                example = lines[i].removeprefix(indent).rstrip()
                if example.startswith((">>>", "...")):
                    example = _DOCTEST_FLAG.sub("", example)
                body.append(example)
                i += 1
            _fenced(indent, "pycon", body, out)
            continue
        elif not fenced and line.rstrip().endswith("::"):
            indent = _indent_of(line)
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            block_indent = _indent_of(lines[j]) if j < len(lines) else ""
            if j < len(lines) and len(block_indent) > len(indent):
                head = line.rstrip()[:-2].rstrip()
                out.append(f"{head}:" if head.strip() else "")
                body = []
                while j < len(lines) and (not lines[j].strip() or lines[j].startswith(block_indent)):
                    body.append(lines[j].removeprefix(block_indent).rstrip())
                    j += 1
                while body and not body[-1]:
                    body.pop()
                _fenced(indent, "python", body, out)
                out.append("")
                i = j
                continue
        out.append(line)
        i += 1
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


# --- cross-references ------------------------------------------------------------------------


def _walk(obj: Object) -> Iterator[Object]:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)  # type: ignore[arg-type]


def _final(obj: Object | Alias) -> Object | None:
    try:
        return obj.final_target if isinstance(obj, Alias) else obj
    except Exception:  # noqa: BLE001 - an alias to something griffe did not load
        return None


def _documented(obj: Object) -> bool:
    return bool(obj.docstring and obj.docstring.value.strip())


def documented_modules(docs: Path = _DOCS) -> set[str]:
    """The modules the site renders: every ``::: module`` line in the pages under *docs*."""
    return {
        match.group(1)
        for page in docs.rglob("*.md")
        for match in re.finditer(r"^:::\s+(\S+)", page.read_text(encoding="utf-8"), re.MULTILINE)
    }


def public_paths(pkg: Module, modules: set[str]) -> dict[str, str]:
    """
    Where each object the site documents has its heading: canonical path -> the path of
    that heading (``funnelkit.forecast._funnel.FunnelReport`` ->
    ``funnelkit.forecast.FunnelReport``).  The site documents, in each of *modules*, the
    public members defined there or listed in ``__all__``, and their public members,
    when they have a docstring.
    """
    found: dict[str, str] = {}

    def add_members(owner: Object, path: str) -> None:
        for name, member in owner.members.items():
            target = _final(member)
            if target is None or name.startswith("_") or member.is_alias or not _documented(target):
                continue
            found.setdefault(target.canonical_path, f"{path}.{name}")
            if target.is_class:
                add_members(target, f"{path}.{name}")

    for module in _walk(pkg):
        if not module.is_module or module.path not in modules:
            continue
        found.setdefault(module.path, module.path)
        for name, member in module.members.items():
            if name.startswith("_") or (member.is_alias and not member.is_exported):
                continue
            target = _final(member)
            if target is None or target.is_module or not _documented(target):
                continue
            path = f"{module.path}.{name}"
            found.setdefault(target.canonical_path, path)
            if target.is_class:
                add_members(target, path)
    return found


def _lookup(root: Module, path: str) -> Object | None:
    try:
        return _final(root.modules_collection[path])
    except Exception:  # noqa: BLE001 - griffe raises KeyError or a resolution error
        return None


def resolve(context: Object, target: str) -> Object | None:
    """
    The object *target* names in the docstring of *context*: a dotted path from the
    package root, or a name looked up as Python would (the object, its class, its module,
    the module's imports), with a dotted tail (``Pipeline.from_dict``).
    """
    target = target.lstrip(".").removesuffix("()")
    head, _, tail = target.partition(".")
    package = context.package
    if head == package.name:
        return _lookup(package, target)
    try:
        start = context.resolve(head)
    except Exception:  # noqa: BLE001 - NameResolutionError, or an alias griffe cannot follow
        scope: Object | None = context
        while scope is not None and not scope.is_class:
            scope = scope.parent
        inherited = scope.all_members.get(head) if isinstance(scope, Class) else None
        if inherited is None:
            return _lookup(package, f"{context.module.path}.{target}")
        start = inherited.path
    return _lookup(package, f"{start}.{tail}" if tail else start)


def link_roles(text: str, context: Object, public: dict[str, str]) -> str:
    """
    Replace each role in *text* with an autorefs link to the documented object, or with
    inline code when the site does not document it.  ``~`` shows the last name only;
    functions and methods are shown with ``()``, as Sphinx does.
    """

    def replace(match: re.Match[str]) -> str:
        kind, content = match.groups()
        titled = _TITLED.match(content)
        title, target = (titled.group(1), titled.group(2)) if titled else (None, content)
        target = target.strip()
        if title is None:
            shown = target.lstrip("~.")
            if target.startswith("~"):
                shown = shown.rsplit(".", 1)[-1]
            if kind in {"func", "meth"} and not shown.endswith(")"):
                shown += "()"
            title = f"`{shown}`"
        found = resolve(context, target.lstrip("~"))
        path = public.get(found.canonical_path) if found is not None else None
        if path is None:
            if found is not None and not found.name.startswith("_"):
                _logger.debug("%s: %s is not documented on the site", context.path, target)
            return title
        return f"[{title}][{path}]"

    return ROLE.sub(replace, text)


# --- fields, constants and enum members ------------------------------------------------------


def comment_above(obj: Object) -> str:
    """The ``#:`` comment lines right above *obj*'s definition, joined; "" if none."""
    if obj.lineno is None:
        return ""
    try:
        lines = obj.lines_collection[obj.filepath]  # type: ignore[index]
    except Exception:  # noqa: BLE001 - no source (a compiled or inspected module)
        return ""
    found: list[str] = []
    i = obj.lineno - 2
    while i >= 0 and lines[i].strip().startswith("#:"):
        found.insert(0, lines[i].strip()[2:].strip())
        i -= 1
    return " ".join(found)


def _import(path: str) -> Any:
    try:
        return importlib.import_module(path)
    except Exception:  # noqa: BLE001 - the docs describe what they can import
        return None


def _runtime(cls: Class) -> Any:
    try:
        value: Any = importlib.import_module(cls.module.path)
        for part in cls.path.removeprefix(cls.module.path + ".").split("."):
            value = getattr(value, part)
    except Exception:  # noqa: BLE001 - the docs describe what they can import
        return None
    return value


def _shown_default(default: object) -> str:
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        factory = default.factory  # type: ignore[attr-defined]
        name = getattr(factory, "__name__", "")
        return f"{name}()" if name and not name.startswith(("_", "<")) else "..."
    if isinstance(default, enum.Enum):
        return f"{type(default).__name__}.{default.name}"
    return repr(default)


def _table_row(name: str, description: str) -> str:
    return f":ivar {name}: {description}".rstrip()


def describe_attrs_class(cls: Class, runtime: type, docstring: Docstring) -> None:
    """
    Give *cls* the ``__init__`` attrs generated (keyword-only where attrs made it so, with
    the defaults) and append one ``:ivar:`` line per public field to its docstring, which
    the Sphinx parser turns into a table with the field's annotation as its type.
    """
    fields = attrs.fields(runtime)
    if "__init__" not in cls.members:
        parameters = [Parameter("self", kind=ParameterKind.positional_or_keyword)]
        for field in fields:
            if not field.init or (field.alias.startswith("_") and field.default is not attrs.NOTHING):
                continue
            try:
                annotation = cls[field.name].annotation
            except Exception:  # noqa: BLE001 - a field griffe did not see
                annotation = None
            kind = ParameterKind.keyword_only if field.kw_only else ParameterKind.positional_or_keyword
            default = None if field.default is attrs.NOTHING else _shown_default(field.default)
            parameters.append(Parameter(field.alias, annotation=annotation, kind=kind, default=default))
        parameters.sort(key=lambda p: p.kind is ParameterKind.keyword_only)
        init = Function(
            "__init__", lineno=0, endlineno=0, parent=cls, parameters=Parameters(*parameters), returns="None"
        )
        cls.set_member("__init__", init)
    rows = []
    for field in fields:
        if field.name.startswith("_"):
            continue
        member = cls.members.get(field.name)
        description = ""
        if isinstance(member, Attribute):
            description = comment_above(member) or (member.docstring.value if member.docstring else "")
        rows.append(_table_row(field.name, " ".join(description.split())))
    if rows:
        docstring.value = "\n".join([docstring.value, "", *rows])


def describe_enum(cls: Class, runtime: type[enum.Enum], docstring: Docstring) -> None:
    """Append one ``:cvar:`` line per member: its value and its ``#:`` comment."""
    rows = []
    for member in runtime:
        source = cls.members.get(member.name)
        comment = comment_above(source) if isinstance(source, Object) else ""
        rows.append(f":cvar {member.name}: ``{member.value!r}``" + (f": {comment}" if comment else ""))
    docstring.value = "\n".join([docstring.value, "", *rows])


class FunnelkitDocstrings(Extension):
    """Prepare funnelkit's docstrings for the site once the whole package is loaded."""

    def on_package(self, *, pkg: Module, loader: GriffeLoader, **kwargs: Any) -> None:  # noqa: ARG002
        if pkg.name != "funnelkit" or pkg.extra["funnelkit_docs"].get("prepared"):
            return
        pkg.extra["funnelkit_docs"]["prepared"] = True
        style = pkg.docstring.parser if pkg.docstring else None
        options = pkg.docstring.parser_options if pkg.docstring else None

        def docstring_of(obj: Object) -> Docstring:
            if obj.docstring is None:
                obj.docstring = Docstring("", parent=obj, parser=style, parser_options=options)
            return obj.docstring

        objects = list(_walk(pkg))
        for module in objects:
            if isinstance(module, Module) and module.docstring is not None:
                runtime_doc = getattr(_import(module.path), "__doc__", None)
                if runtime_doc and inspect.cleandoc(runtime_doc) != module.docstring.value:
                    # The module completes its docstring at import (a table built from data):
                    # show what help() shows.
                    module.docstring.value = inspect.cleandoc(runtime_doc)
        tabled: set[str] = set()
        for obj in objects:
            if not isinstance(obj, Class) or obj.name.startswith("_"):
                continue
            runtime = _runtime(obj)
            if isinstance(runtime, type) and attrs.has(runtime):
                describe_attrs_class(obj, runtime, docstring_of(obj))
                tabled.update(f"{obj.path}.{field.name}" for field in attrs.fields(runtime))
            elif isinstance(runtime, type) and issubclass(runtime, enum.Enum):
                describe_enum(obj, runtime, docstring_of(obj))
                tabled.update(f"{obj.path}.{member.name}" for member in runtime)
        for obj in objects:
            if isinstance(obj, Attribute) and obj.docstring is None and obj.path not in tabled:
                comment = comment_above(obj)
                if comment:
                    docstring_of(obj).value = comment
        public = public_paths(pkg, documented_modules())
        for obj in objects:
            if obj.docstring is not None and obj.docstring.value:
                text = fence_examples(obj.docstring.value)
                obj.docstring.value = link_roles(text, obj, public)
