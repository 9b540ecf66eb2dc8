"""Small pipelines for the forecast tests: stages a, b, c (20, 40, 70 %) or a, b (20, 50 %); won, lost."""

import datetime as dt

from funnelkit import Money, Opportunity
from funnelkit.stages import Pipeline, Stage, StageChanged

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def three_stages(a="0.2", b="0.4", c="0.7"):
    """Pipeline p: open stages a, b and c at the probabilities given, then won and lost."""
    return Pipeline(
        key="p",
        label="P",
        stages=[
            Stage(key="a", label="A", probability=a),
            Stage(key="b", label="B", probability=b),
            Stage(key="c", label="C", probability=c),
            Stage(key="won", label="W", probability=1, outcome="won"),
            Stage(key="lost", label="L", probability=0, outcome="lost"),
        ],
    )


PIPE = three_stages()
TWO_STAGES = Pipeline(
    key="p",
    label="P",
    stages=[
        Stage(key="a", label="A", probability="0.2"),
        Stage(key="b", label="B", probability="0.5"),
        Stage(key="won", label="W", probability=1, outcome="won"),
        Stage(key="lost", label="L", probability=0, outcome="lost"),
    ],
)


def opp(oid, stage, amount, currency="USD"):
    """An opportunity of pipeline p in *stage*, created at T0 (lost for the price)."""
    status = {"won": "won", "lost": "lost"}.get(stage, "open")
    return Opportunity(
        id=oid, customer_id="c", owner="ann", pipeline="p", stage=stage, status=status,
        created_at=T0, stage_entered_at=T0, amount=Money.of(amount, currency),
        lost_reason="price" if status == "lost" else None,
    )  # fmt: skip


def move(oid, src, dst, days_in_stage, at_day, version, kind=None):  # noqa: PLR0917 - reads as a table row
    """A move of deal *oid* of pipeline p from *src* to *dst* on day *at_day* (a win, a loss or forward)."""
    kind = kind or {"won": "win", "lost": "lose"}.get(dst, "advance")
    return StageChanged(
        opportunity_id=oid, pipeline="p", kind=kind, from_stage=src, to_stage=dst, at=T0 + at_day * DAY,
        actor="ann", version=version, time_in_stage=days_in_stage * DAY,
        lost_reason="price" if kind == "lose" else None,
    )  # fmt: skip


def four_deals():
    """
    Four deals of TWO_STAGES worked by hand in the funnel tests: o1 won (a -> b -> won), o2 lost from
    b, o3 lost from a, o4 open in a; and their five moves.
    """
    opps = [opp("o1", "won", 100), opp("o2", "lost", 300), opp("o3", "lost", 200), opp("o4", "a", 50)]
    events = [
        move("o1", "a", "b", 2, 2, 1),
        move("o1", "b", "won", 3, 5, 2),
        move("o2", "a", "b", 4, 4, 1),
        move("o2", "b", "lost", 6, 10, 2),
        move("o3", "a", "lost", 1, 1, 1),
    ]
    return opps, events
