"""
Every SVG picture funnelkit draws, for the "Pictures" page of the site.

``PICTURES`` is the one list: a title, the method that draws the picture (the page links
to its reference), and a callable that returns the SVG text, drawn from one fixed sample
(a seeded simulated company, the same on every build).  Adding a picture is one line.
The mkdocs hook in ``_hooks.py`` writes each picture to ``pictures/<name>.svg`` and fills
``pictures.md`` with them; ``tests/test_docs_site.py`` checks that each is well-formed SVG.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

from funnelkit.forecast import FunnelReport, ShapeReport, diagnose, funnel
from funnelkit.simulation import SimulationResult, simulate
from funnelkit.stages import Pipeline, default_pipeline

#: The sample every picture is drawn from, as the page shows it.
SAMPLE = "simulate(reps=6, leads=300, days=180, seed=3)"


class Picture(NamedTuple):
    title: str
    #: The dotted path of the method that draws it, for a link to the reference.
    method: str
    draw: Callable[[], str]

    @property
    def name(self) -> str:
        """The file name of the picture: its title in lower case, words joined by ``-``."""
        return "-".join("".join(ch if ch.isalnum() else " " for ch in self.title.lower()).split())


@functools.cache
def company() -> SimulationResult:
    """The sample company: six reps over half a year (about a second to play)."""
    return simulate(reps=6, leads=300, days=180, seed=3)


@functools.cache
def pipeline() -> Pipeline:
    return default_pipeline()


@functools.cache
def history() -> FunnelReport:
    """The funnel of every deal the sample company worked."""
    return funnel(company().opportunities, company().events, pipeline())


def shape() -> ShapeReport:
    """Today's open deals against the shape the history predicts."""
    return diagnose(company().opportunities, pipeline(), history=history())


PICTURES: tuple[Picture, ...] = (
    Picture("Funnel", "funnelkit.forecast.FunnelReport.to_svg", lambda: history().to_svg()),
    Picture("Funnel shape", "funnelkit.forecast.ShapeReport.to_svg", lambda: shape().to_svg()),
)
