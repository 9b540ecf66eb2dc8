"""Small pipelines for the forecast tests: stages a, b, c (20, 40, 70 %) or a, b (20, 50 %); won, lost."""

import datetime as dt

from funnelkit.stages import Pipeline, Stage

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PIPE = Pipeline(
    key="p",
    label="P",
    stages=[
        Stage(key="a", label="A", probability="0.2"),
        Stage(key="b", label="B", probability="0.4"),
        Stage(key="c", label="C", probability="0.7"),
        Stage(key="won", label="W", probability=1, outcome="won"),
        Stage(key="lost", label="L", probability=0, outcome="lost"),
    ],
)
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
