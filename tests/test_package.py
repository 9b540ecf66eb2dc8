"""Tests of the package as a whole: public surface, purity, and the project's promises."""

import ast
import pathlib
import re
import subprocess
import sys

import funnelkit
from funnelkit import errors

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "funnelkit"


def test_all_is_sorted_and_complete():
    """__all__ is sorted, names only what exists, and exports every public name."""
    assert funnelkit.__all__ == sorted(funnelkit.__all__)
    for name in funnelkit.__all__:
        assert hasattr(funnelkit, name), name
    public = {n for n in vars(funnelkit) if not n.startswith("_") and n != "annotations"}
    modules = {n for n in public if type(getattr(funnelkit, n)).__name__ == "module"}
    assert public - modules == set(funnelkit.__all__) - {"__version__"}


def test_version_is_pep_440():
    """__version__ is a PEP 440 version string."""
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", funnelkit.__version__)


def test_every_error_derives_from_the_base():
    """One except clause catches every funnelkit error; one filter every warning."""
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, Warning):
            assert issubclass(obj, errors.FunnelkitWarning), name
        elif isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, errors.FunnelkitError), name


def test_core_import_needs_no_heavy_or_test_packages():
    """Importing funnelkit pulls in neither hypothesis nor numpy nor pandas."""
    code = "import sys, funnelkit; print([m for m in ('hypothesis', 'numpy', 'pandas') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "today"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("pendulum", "now"),
    ("pendulum", "today"),
    ("os", "getenv"),
    ("random", "random"),
    ("random", "randint"),
    ("random", "choice"),
    ("random", "shuffle"),
    ("random", "seed"),
}
FORBIDDEN_NAMES = {"open", "input", "print"}
FORBIDDEN_MODULES = {"socket", "urllib", "http", "requests", "sqlite3", "subprocess", "os"}


def test_source_does_no_io_and_reads_no_clock():
    """src/ never opens files, reads the clock, the environment or global randomness."""
    offences = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name) and f.id in FORBIDDEN_NAMES:
                    offences.append(f"{path.name}:{node.lineno} {f.id}()")
                if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name | ast.Attribute):
                    owner = f.value.id if isinstance(f.value, ast.Name) else f.value.attr
                    if (owner, f.attr) in FORBIDDEN_CALLS:
                        offences.append(f"{path.name}:{node.lineno} {owner}.{f.attr}()")
                if isinstance(f, ast.Attribute) and f.attr == "environ":
                    offences.append(f"{path.name}:{node.lineno} environ")
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                offences += [
                    f"{path.name}:{node.lineno} import {n}"
                    for n in names
                    if n.split(".")[0] in FORBIDDEN_MODULES
                ]
    assert offences == []


def readme_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", text, re.DOTALL)
    assert block, "README.md must open with a code block of set-up commands"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_opens_with_two_commands():
    """README's first block has exactly two commands: the example and the tests."""
    commands = readme_commands()
    assert len(commands) == 2
    assert "examples/quickstart.py" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    """.ci/run runs, verbatim, the test command that README gives."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands()[1] in ci


def test_package_ships_py_typed():
    """The package is marked as typed (PEP 561)."""
    assert (SRC / "py.typed").is_file()
