"""Tests for Stage and Pipeline: definition checks, moves, dicts."""

import datetime as dt
import inspect
import re
import sys
import warnings
from decimal import Decimal

import attrs
import pytest

from _problems import problems_of, raises_problems
from funnelkit import from_dict, to_dict
from funnelkit.errors import PipelineDefinitionError, PipelineWarning, ValidationError
from funnelkit.stages import (
    ActivityCount,
    ForecastCategory,
    MoveKind,
    Pipeline,
    Predicate,
    Requirement,
    Stage,
    StageOutcome,
    default_pipeline,
)


def stage(key, probability, outcome="open", **kw):
    return Stage(key=key, label=key.title(), probability=probability, outcome=outcome, **kw)


def simple(**kw):
    """a -> b -> c -> won, any open stage -> lost."""
    stages = kw.pop(
        "stages",
        [
            stage("a", "0.1"),
            stage("b", "0.3"),
            stage("c", "0.6"),
            stage("won", 1, "won"),
            stage("lost", 0, "lost"),
        ],
    )
    return Pipeline(key="p", label="P", stages=stages, **kw)


class TestStage:
    def test_defaults_follow_the_outcome(self):
        """Forecast category defaults: open -> pipeline, won -> closed, lost -> omitted."""
        assert stage("a", "0.1").category is ForecastCategory.PIPELINE
        assert stage("w", 1, "won").category is ForecastCategory.CLOSED
        assert stage("l", 0, "lost").category is ForecastCategory.OMITTED

    def test_probability_from_float_is_exact(self):
        """0.3 is Decimal('0.3')."""
        assert str(stage("a", 0.3).probability) == "0.3"

    @pytest.mark.parametrize(
        ("kwargs", "path", "code"),
        [
            ({"probability": 1.5}, "probability", "range"),
            ({"probability": "0.9", "outcome": "won"}, "probability", "conflict"),
            ({"probability": "0.1", "outcome": "lost"}, "probability", "conflict"),
            (
                {"probability": 1, "outcome": "won", "category": "commit"},
                "category",
                "conflict",
            ),
            ({"probability": "0.5", "category": "closed"}, "category", "conflict"),
            (
                {"probability": 0, "outcome": "lost", "stall_after_days": 3},
                "stall_after_days",
                "conflict",
            ),
            ({"probability": "0.5", "stall_after_days": 0}, "stall_after_days", "range"),
            ({"probability": "0.5", "outcome": "maybe"}, "outcome", "choice"),
            (
                {"probability": "0.5", "requirements": ["visit"]},
                "requirements[0]",
                "type",
            ),
            (
                {"probability": 1, "outcome": "won", "requirements": [ActivityCount(kinds="visit")]},
                "requirements",
                "conflict",
            ),
        ],
    )
    def test_bad_stage(self, kwargs, path, code):
        """Each bad stage field is named with the kind of problem."""
        with pytest.raises(ValidationError) as exc:
            Stage(key="s", label="S", **kwargs)
        assert (path, code) in problems_of(exc)


class TestDefinitionChecks:
    def test_every_problem_at_once(self):
        """Duplicates, missing won/lost and an open first stage are all reported together."""
        with raises_problems(
            ("stages[2].key", "duplicate"),
            ("stages", "missing"),
            ("stages[0]", "graph"),
            error=PipelineDefinitionError,
        ):
            simple(stages=[stage("x", 0, "lost"), stage("a", "0.1"), stage("a", "0.2")])

    def test_is_a_validation_error(self):
        """PipelineDefinitionError is a ValidationError (and a ValueError)."""
        assert issubclass(PipelineDefinitionError, ValidationError)
        assert issubclass(PipelineDefinitionError, ValueError)

    def test_unreachable_and_dead_end_stages(self):
        """A stage nothing leads to, and an open stage that cannot lead to a win, are named."""
        stages = [stage("a", "0.1"), stage("b", "0.5"), stage("won", 1, "won"), stage("lost", 0, "lost")]
        transitions = [("a", "won"), ("a", "lost"), ("b", "lost")]
        with raises_problems(("stages[1]", "graph"), ("stages[1]", "graph"), error=PipelineDefinitionError):
            simple(stages=stages, transitions=transitions)

    def test_malformed_stages_and_pairs_are_each_named(self):
        """Every item that is not a Stage, and every pair that is not two stage keys, is named by index."""
        with raises_problems(("stages[0]", "type"), ("stages[1]", "type"), error=PipelineDefinitionError):
            Pipeline(key="p", label="P", stages=[5, "x"])
        with raises_problems(
            ("transitions[1]", "type"), ("transitions[2]", "type"), error=PipelineDefinitionError
        ):
            simple(transitions=[("a", "b"), ("a",), ("a", 5)])
        with raises_problems(("transitions", "type"), error=PipelineDefinitionError):
            simple(transitions=5)

    def test_explicit_transitions_are_checked(self):
        """Unknown stages, self-loops, duplicates, moves out of won and flags with transitions."""
        bad = [("a", "zz"), ("a", "a"), ("a", "b"), ("a", "b"), ("won", "a"), ("lost", "won")]
        with raises_problems(
            ("allow_skip", "conflict"),
            ("transitions[0]", "reference"),
            ("transitions[1]", "graph"),
            ("transitions[3]", "duplicate"),
            ("transitions[4]", "graph"),
            ("transitions[5]", "graph"),
            ("stages[2]", "graph"),
            ("stages[3]", "graph"),
            ("stages[4]", "graph"),
            ("stages[0]", "graph"),
            ("stages[1]", "graph"),
            ("stages[2]", "graph"),
            error=PipelineDefinitionError,
        ):
            simple(transitions=bad, allow_skip=True)

    def test_falling_probability_is_an_error_by_default(self):
        """0.3 then 0.2 along the forward path is refused, with the advice to set 'warn'."""
        stages = [stage("a", "0.3"), stage("b", "0.2"), stage("won", 1, "won"), stage("lost", 0, "lost")]
        with raises_problems(("stages", "order"), error=PipelineDefinitionError):
            simple(stages=stages)

    def test_falling_probability_can_warn_or_be_ignored(self):
        """probability_check='warn' warns; 'off' is silent."""
        stages = [stage("a", "0.3"), stage("b", "0.2"), stage("won", 1, "won"), stage("lost", 0, "lost")]
        with pytest.warns(PipelineWarning, match="probabilities fall"):
            simple(stages=stages, probability_check="warn")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            simple(stages=stages, probability_check="off")

    def test_the_warning_points_at_the_callers_line(self):
        """Built directly, read from a dict or evolved, the warning names the caller's file and line."""
        if "mutmut" in sys.modules:  # mutation testing puts its trampolines between this file and funnelkit
            pytest.skip("the caller's frame is mutmut's trampoline under mutation testing")
        stages = [stage("a", "0.3"), stage("b", "0.2"), stage("won", 1, "won"), stage("lost", 0, "lost")]
        quiet = simple(stages=stages, probability_check="off")
        data = {**quiet.to_dict(), "probability_check": "warn"}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            line = inspect.currentframe().f_lineno
            Pipeline(key="p", label="P", stages=stages, probability_check="warn")  # line + 1
            Pipeline.from_dict(data)  # line + 2
            attrs.evolve(quiet, probability_check="warn")  # line + 3
            simple(stages=stages, probability_check="warn")  # in simple(), above
        assert [(w.category, w.filename) for w in caught] == [(PipelineWarning, __file__)] * 4
        assert [w.lineno for w in caught[:3]] == [line + 1, line + 2, line + 3]
        body, first = inspect.getsourcelines(simple)
        assert first < caught[3].lineno < first + len(body)  # the Pipeline(...) call inside simple()

    def test_warn_mode_is_silent_when_probabilities_rise(self):
        """probability_check='warn' says nothing about a pipeline whose probabilities do not fall."""
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert simple(probability_check="warn").probability_check.value == "warn"

    def test_bad_flags_and_names(self):
        """Field-level problems of the pipeline itself are PipelineDefinitionErrors too."""
        with raises_problems(
            ("key", "empty"), ("stages", "empty"), ("allow_skip", "type"), error=PipelineDefinitionError
        ):
            Pipeline(key="", label="P", stages=[], allow_skip="yes")  # type: ignore[arg-type]


class TestMoves:
    def test_default_moves(self):
        """Forward one step, any open stage to lost, won and lost final."""
        p = simple()
        assert p.moves_from("a") == ("b", "lost")
        assert p.moves_from("c") == ("won", "lost")
        assert p.moves_from("won") == ()
        assert p.moves_from("lost") == ()
        assert p.next_stage("a") == "b"
        assert p.next_stage("c") == "won"
        assert p.next_stage("won") is None

    def test_flags(self):
        """Skip, backward and reopen open up exactly those moves."""
        p = simple(allow_skip=True, allow_backward=True, allow_reopen=True)
        assert p.moves_from("b") == ("a", "c", "won", "lost")
        assert p.moves_from("lost") == ("a", "b", "c")
        assert p.plan("b", "a").kind is MoveKind.BACK
        assert p.plan("lost", "b").kind is MoveKind.REOPEN
        assert p.plan("a", "won").kind is MoveKind.WIN

    def test_skip_collects_the_skipped_requirements(self):
        """Skipping a stage requires its exit requirements too (no milestone is bypassed by a jump)."""
        r_a, r_b = ActivityCount(kinds="visit"), ActivityCount(kinds="call")
        stages = [
            stage("a", "0.1", requirements=[r_a]),
            stage("b", "0.3", requirements=[r_b]),
            stage("c", "0.6"),
            stage("won", 1, "won"),
            stage("lost", 0, "lost"),
        ]
        p = simple(stages=stages, allow_skip=True)
        assert p.plan("a", "b").requirements == (r_a,)
        assert p.plan("a", "c").requirements == (r_a, r_b)
        assert p.plan("a", "lost").requirements == ()

    def test_explicit_transitions_are_exact(self):
        """Listed transitions are all that is allowed."""
        p = simple(transitions=[("a", "c"), ("c", "won"), ("c", "lost"), ("a", "b"), ("b", "c")])
        assert p.moves_from("a") == ("b", "c")
        assert not p.allows("a", "lost")

    def test_unknown_stage_is_a_clear_error(self):
        """Asking about a stage the pipeline lacks names the stages it has."""
        with raises_problems(("key", "reference")):
            simple().moves_from("zz")


class TestDicts:
    def test_default_pipeline_round_trips(self):
        """to_dict / from_dict give back an equal pipeline, through JSON-safe data."""
        p = default_pipeline()
        assert Pipeline.from_dict(p.to_dict()) == p
        assert from_dict(Pipeline, to_dict(p)) == p

    def test_custom_predicates_by_name(self):
        """A Predicate is written by name and read back from the predicates mapping."""
        big = Predicate(name="big_deal", description="deal over 1M", test=lambda ctx: True)
        p = simple(
            stages=[stage("a", "0.1", requirements=[big]), stage("won", 1, "won"), stage("lost", 0, "lost")]
        )
        data = p.to_dict()
        assert data["stages"][0]["requirements"] == [{"type": "predicate", "name": "big_deal"}]
        assert Pipeline.from_dict(data, predicates={"big_deal": big}) == p
        with raises_problems(("stages[0].requirements[0].name", "reference"), error=PipelineDefinitionError):
            Pipeline.from_dict(data)

    def test_every_problem_with_its_path(self):
        """Bad stages, bad requirements and unknown keys are all listed with paths."""
        data = default_pipeline().to_dict()
        data["stages"][0]["probability"] = "1.5"
        data["stages"][1]["requirements"] = [
            {"type": "fields", "fields": ["amount", "colour"]},
            {"type": "nope"},
        ]
        data["stages"][2]["requirements"][0]["kinds"] = ["fax"]
        data["colour"] = "red"
        with raises_problems(
            ("colour", "unknown_field"),
            ("stages[0].probability", "range"),
            ("stages[1].requirements[0].fields[1]", "choice"),
            ("stages[1].requirements[1].type", "choice"),
            ("stages[2].requirements[0].kinds[0]", "choice"),
            error=PipelineDefinitionError,
        ):
            Pipeline.from_dict(data)

    def test_not_a_dict(self):
        """A non-mapping is refused at the root."""
        with raises_problems(("", "type"), error=PipelineDefinitionError):
            Pipeline.from_dict([])


def test_stage_lookup_and_views():
    """stage(), first, open/won/lost views and membership."""
    p = default_pipeline()
    assert p.first.key == "contact"
    assert [s.key for s in p.won_stages] == ["won"]
    assert [s.key for s in p.lost_stages] == ["lost"]
    assert len(p.open_stages) == 7
    assert "negotiation" in p
    assert p.stage("won").outcome is StageOutcome.WON


def test_min_dwell_serialises_as_iso():
    """A minimum dwell travels as an ISO 8601 duration."""
    s = stage("a", "0.1", min_dwell=dt.timedelta(days=2))
    assert s.to_dict()["min_dwell"] == "P2D"


def test_requirements_on_a_won_stage_from_a_dict():
    """A won stage with (valid) requirements is a PipelineDefinitionError naming the stage."""
    data = default_pipeline().to_dict()
    data["stages"][7]["requirements"] = [{"type": "no_open_gaps"}]
    with raises_problems(("stages[7].requirements", "conflict"), error=PipelineDefinitionError):
        Pipeline.from_dict(data)


def test_probability_problems_come_with_the_others():
    """A falling probability is reported together with a duplicate key."""
    stages = [stage("a", "0.5"), stage("a", "0.3"), stage("won", 1, "won"), stage("lost", 0, "lost")]
    with raises_problems(("stages[1].key", "duplicate"), ("stages", "order"), error=PipelineDefinitionError):
        simple(stages=stages)


def test_lost_stage_category_must_be_omitted():
    """A lost stage counts in no forecast."""
    with raises_problems(("category", "conflict")):
        stage("l", 0, "lost", category="commit")


def test_predicates_mapping_is_checked():
    """The predicates argument must map names to Predicates of that name."""
    big = Predicate(name="big", description="big", test=lambda ctx: True)
    data = {"type": "predicate", "name": "big"}
    from funnelkit.stages._requirements import requirement_from_dict

    with raises_problems(("predicates", "type")):
        requirement_from_dict(data, predicates=["big"])  # type: ignore[arg-type]
    with raises_problems(("name", "conflict")):
        requirement_from_dict(data, predicates={"big": attrs.evolve(big, name="other")})
    assert requirement_from_dict(data, predicates={"big": big}) is big


def test_default_pipeline_docstring_names_every_milestone():
    """The documented milestones (in bold in the docstring) are exactly the requirements it has."""
    documented = {
        " ".join(m.split()) for m in re.findall(r"\*\*(.+?)\*\*", default_pipeline.__doc__ or "", re.DOTALL)
    }
    actual = {r.name for s in default_pipeline().stages for r in s.requirements}
    assert documented == actual


def test_default_pipeline_is_the_documented_process():
    """
    The default pipeline word for word: DOMAIN.md's chosen probabilities (10/30/40/50/60/75/90 %, 30/60/90
    from source 004), the stall thresholds and lost reasons, and each stage's exit requirements.
    """
    p = default_pipeline()
    assert (p.key, p.label, p.allow_skip, p.allow_backward, p.allow_reopen, p.transitions) == (
        "default",
        "Eight-step sales process",
        False,
        False,
        True,
        None,
    )
    assert p.lost_reasons == (
        "price", "competitor", "no_budget", "no_decision", "timing", "requirements_not_met",
        "relationship", "other",
    )  # fmt: skip
    assert p.probability_check.value == "error"
    favourable = ["champion", "supporter"]
    expected = [
        ("contact", "Establish contact", "0.10", "open", "pipeline", 14,
         "Find the opportunity and the people behind it.",
         [{"type": "activities", "kinds": ["visit"], "at_least": 1, "filled": ["purpose", "needs_found"]},
          {"type": "key_person", "role": "decision_maker"}]),
        ("needs_confirmed", "Needs confirmed", "0.30", "open", "pipeline", 21,
         "The customer's needs are understood and confirmed.",
         [{"type": "fields", "fields": ["amount", "expected_close", "competitors"]}]),
        ("proposal", "Proposal and support", "0.40", "open", "pipeline", 30,
         "Propose a solution and win the customer's support.",
         [{"type": "activities", "kinds": ["demo", "meeting", "trial"], "at_least": 1,
           "filled": ["feedback"]},
          {"type": "key_person", "role": "recommender", "stances": favourable},
          {"type": "evidence", "key": "project_approved"}]),
        ("approved", "Project approved", "0.50", "open", "pipeline", 30,
         "The customer approved the project (立项).", [{"type": "evidence", "key": "shortlisted"}]),
        ("shortlisted", "Shortlisted", "0.60", "open", "pipeline", 21,
         "We are on the customer's shortlist (入围).",
         [{"type": "evidence", "key": "selected"},
          {"type": "key_person", "role": "decision_maker", "stances": favourable}]),
        ("selected", "Selected", "0.75", "open", "pipeline", 14, "The customer chose us (选中).",
         [{"type": "no_open_gaps"}]),
        ("negotiation", "Negotiation", "0.90", "open", "pipeline", 21, "Commercial terms and contract.",
         [{"type": "evidence", "key": "contract_signed"}]),
        ("won", "Won", "1", "won", "closed", None, None, []),
        ("lost", "Lost", "0", "lost", "omitted", None, None, []),
    ]  # fmt: skip
    actual = [
        (
            s.key,
            s.label,
            str(s.probability),
            s.outcome.value,
            s.category.value,
            s.stall_after_days,
            s.description,
            list(s.requirements),
        )
        for s in p.stages
    ]
    # the requirements as the compact documents a person writes, defaults left out
    expected = [(*row[:-1], [from_dict(Requirement, doc) for doc in row[-1]]) for row in expected]
    assert actual == expected
    assert all(s.min_dwell is None for s in p.stages)
    assert default_pipeline() == p  # a fresh, equal value on every call


def test_routes_read_from_a_document_are_checked_and_frozen():
    """Routes naming a stage they do not hold are refused at that table and key; read ones are frozen."""
    routes = default_pipeline().routes
    data = to_dict(routes)
    data["next"]["contact"] = "nowhere"
    with raises_problems(("next['contact']", "reference")):
        from_dict(type(routes), data)
    back = from_dict(type(routes), to_dict(routes))
    assert back == routes
    with pytest.raises(TypeError):
        back.next["contact"] = "won"  # type: ignore[index]


def test_routes_plans_are_safe_to_work_out_from_many_threads():
    """Threads asking for plans of a fresh 150-stage pipeline at once all get the one right plan."""
    import sys
    import threading

    stages = [Stage(key=f"s{i}", label=f"S{i}", probability=Decimal(i) / 200) for i in range(150)]
    stages += [Stage(key="won", label="Won", probability=1, outcome="won"),
               Stage(key="lost", label="Lost", probability=0, outcome="lost")]  # fmt: skip
    results, errors = [], []
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(5):
            routes = Pipeline(key="p", label="P", stages=stages, allow_skip=True).routes

            def ask(routes=routes):
                try:
                    results.append(routes.plan("s0", "s149"))
                except Exception as e:  # noqa: BLE001 - collected and asserted below
                    errors.append(e)

            threads = [threading.Thread(target=ask) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == []
    assert len({(p.kind, len(p.requirements)) for p in results}) == 1
