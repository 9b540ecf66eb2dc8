"""Development sessions: nox -s tests lint mypy examples docs bench."""

import pathlib

import nox

nox.options.sessions = ["tests", "lint", "mypy", "examples", "docs", "notebook"]
nox.options.reuse_existing_virtualenvs = True

ROOT = pathlib.Path(__file__).parent


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: tests/, and the doctests in src/ and docs/."""
    session.install("-e", ".[tests]")
    session.run("pytest", "-n", "auto", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def mypy(session: nox.Session) -> None:
    """mypy --strict on the package and on the typing test file."""
    session.install("-e", ".[typing]")
    session.run("mypy", "--strict", "src", "tests/typing_api.py")


@nox.session
def examples(session: nox.Session) -> None:
    """Run every example script."""
    session.install("-e", ".")
    for path in sorted((ROOT / "examples").glob("*.py")):
        session.run("python", str(path))


@nox.session
def docs(session: nox.Session) -> None:
    """Run every code sample in docs/, build the site with warnings as errors, check its HTML."""
    session.install("-e", ".[tests,docs]")
    session.run("pytest", "docs", *session.posargs)
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"))
    session.run("python", str(ROOT / "docs" / "check_site.py"), str(ROOT / "site"))


@nox.session
def notebook(session: nox.Session) -> None:
    """Execute the example notebook."""
    session.install("-e", ".[notebook]")
    session.run("pytest", "--nbmake", "examples", "-p", "no:doctest")


@nox.session
def bench(session: nox.Session) -> None:
    """Ratio benchmarks against same-process baselines; not part of tests."""
    session.install("-e", ".[dev]")
    for path in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run("python", str(path), *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """A full simulated year (50 reps, 20,000 leads): throughput and peak memory."""
    session.install("-e", ".")
    session.run("python", str(ROOT / "benchmarks" / "soak.py"), *session.posargs)


@nox.session
def service(session: nox.Session) -> None:
    """
    The reference service under load and faults (examples/service): SQLite, then PostgreSQL where
    it is installed; invariants checked from the database, the page checked in headless Chromium.
    Not part of the suite.  Pass options through: nox -s service -- --quick (or --deals N).
    """
    session.install("-e", ".[service]")
    session.run("python", str(ROOT / "examples" / "service" / "loadtest.py"), *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """
    The long hostile profile: the introspective battery with 30 more random values per parameter,
    then coverage-guided fuzzing of the entry points that read outside data (atheris), for a set time.
    """
    session.install("-e", ".[tests]", "atheris")
    session.run("pytest", "-p", "no:doctest", "tests/hostile", env={"FUNNELKIT_HOSTILE_GENERATED": "30"})
    seconds = session.posargs[0] if session.posargs else "300"
    session.run(
        "python", "-W", "ignore", str(ROOT / "fuzz" / "entry_points.py"), f"-max_total_time={seconds}"
    )


@nox.session
def mutate(session: nox.Session) -> None:
    """Mutation testing with mutmut (configured in pyproject.toml); then `mutmut results`."""
    session.install("-e", ".[tests]", "mutmut")
    session.run("mutmut", "run", "--max-children", "2")
    session.run("mutmut", "export-cicd-stats", success_codes=[0, 1])
