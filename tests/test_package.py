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
    ("pendulum", "now"),
    ("pendulum", "today"),
    ("pendulum", "yesterday"),
    ("pendulum", "tomorrow"),
    # the global random state (a random.Random instance passed in is fine)
    ("random", "random"),
    ("random", "randint"),
    ("random", "randrange"),
    ("random", "choice"),
    ("random", "choices"),
    ("random", "sample"),
    ("random", "shuffle"),
    ("random", "uniform"),
    ("random", "gauss"),
    ("random", "seed"),
}
FORBIDDEN_NAMES = {"open", "input", "print", "exec", "eval", "breakpoint"}
# Modules whose mere import means I/O, a clock or global randomness.
FORBIDDEN_MODULES = {
    "os", "io", "sys", "socket", "urllib", "http", "requests", "sqlite3", "subprocess",
    "shutil", "pathlib", "tempfile", "time", "secrets", "uuid", "logging", "threading_local",
}  # fmt: skip


def offences_in(root):
    """Every forbidden call, attribute or import under *root*."""
    found = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name) and f.id in FORBIDDEN_NAMES:
                    found.append(f"{where} {f.id}()")
                if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name | ast.Attribute):
                    owner = f.value.id if isinstance(f.value, ast.Name) else f.value.attr
                    if (owner, f.attr) in FORBIDDEN_CALLS:
                        found.append(f"{where} {owner}.{f.attr}()")
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "urandom"}:
                found.append(f"{where} .{node.attr}")
            if isinstance(node, ast.Import):
                found += [
                    f"{where} import {a.name}"
                    for a in node.names
                    if a.name.split(".")[0] in FORBIDDEN_MODULES
                ]
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{where} from {node.module} import ...")
            if isinstance(node, ast.ImportFrom) and node.module == "random":
                found += [f"{where} from random import {a.name}" for a in node.names if a.name != "Random"]
    return sorted(found, key=lambda text: (text.split(":")[0], int(text.split(":")[1].split()[0])))


#: The three execs: the stage engine's compiled moves, the records' compiled constructors and the
#: column reader's tests made of the same checks, written from constants and field names (see
#: stages/_compiled.py, _records.py, _tables.py and their tests), as attrs does.
ALLOWED = {"_compiled.py exec()", "_records.py exec()", "_tables.py exec()"}


def test_source_does_no_io_and_reads_no_clock():
    """src/ opens no files, reads no clock, environment or global randomness, imports no I/O module."""
    found = offences_in(SRC)
    assert [f for f in found if f"{f.split(':')[0]} {f.split()[-1]}" not in ALLOWED] == []
    assert len(found) == len(ALLOWED)  # each allowed offence occurs once


def test_the_purity_check_catches_offences(tmp_path):
    """The no-I/O scan really finds offences (it is not vacuous)."""
    (tmp_path / "bad.py").write_text(
        "from random import choice\nfrom time import time\nimport datetime\nx = datetime.datetime.now()\n"
        "import os\ny = os.environ\nopen('f')\nimport random\nz = random.random()\nr = random.Random(1)\n",
        encoding="utf-8",
    )
    assert offences_in(tmp_path) == [
        "bad.py:1 from random import choice",
        "bad.py:2 from time import ...",
        "bad.py:4 datetime.now()",
        "bad.py:5 import os",
        "bad.py:6 .environ",
        "bad.py:7 open()",
        "bad.py:9 random.random()",
    ]


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


def test_errors_survive_pickling():
    """Errors cross process boundaries (multiprocessing, task queues) intact."""
    import pickle

    from funnelkit.errors import (
        AssignmentError,
        ClaimConflict,
        ConcurrencyConflict,
        CurrencyMismatchError,
        Problem,
        TransitionNotAllowed,
        ValidationError,
    )

    cases = [
        ValidationError(
            [Problem(path="a", code="type", message="bad"), Problem(path="b", code="range", message="worse")]
        ),
        CurrencyMismatchError("add", "USD", "EUR"),
        TransitionNotAllowed(pipeline="p", from_stage="a", to_stage="c", allowed=("b",)),
        ConcurrencyConflict(opportunity_id="o", expected_version=1, actual_version=2),
        AssignmentError("rep 'f' is inactive"),
        ClaimConflict(key="acme", holder="ann", expires_at=None, requested_by="bob"),
    ]
    for error in cases:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error)
        assert str(back) == str(error)
        assert vars(back) == vars(error)
