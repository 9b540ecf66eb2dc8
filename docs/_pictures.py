"""
Every SVG picture funnelkit draws, for the "Pictures" page of the site.

``PICTURES`` is the one list: a title, the method that draws the picture (the page links
to its reference), and a callable that returns the SVG text, drawn from one fixed sample
(a seeded simulated company, the same on every build).  Adding a picture is one line.
The mkdocs hook in ``_hooks.py`` writes each picture to ``pictures/<name>.svg`` and fills
``pictures.md`` with them; ``tests/test_docs_site.py`` checks that each is well-formed SVG.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import NamedTuple

from funnelkit import Money, Opportunity
from funnelkit.forecast import (
    Backtest,
    FunnelReport,
    KaplanMeier,
    RevenueDistribution,
    ShapeReport,
    WinCount,
    backtest,
    diagnose,
    funnel,
    kaplan_meier,
    simulate_revenue,
    win_count,
)
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


def _open_deals(deals: tuple[Opportunity, ...]) -> list[tuple[Money, str]]:
    """Each open deal with an amount, and its stage's probability."""
    return [
        (o.amount, str(pipeline().stage(o.stage).probability))
        for o in deals
        if o.status.value == "open" and o.amount is not None
    ]


def time_to_close() -> KaplanMeier:
    """Days from creation to the last close of every deal; deals still open are censored at the end."""
    end = max(e.at for e in company().events)
    closes = {
        e.opportunity_id: e.at
        for e in sorted(company().events, key=lambda e: e.at)
        if e.to_stage in ("won", "lost")
    }
    return kaplan_meier(
        (closes.get(o.id, end) - o.created_at, o.status.value != "open") for o in company().opportunities
    )


def deals_won() -> WinCount:
    """How many of today's open deals will be won, each at its stage's probability."""
    return win_count(p for _, p in _open_deals(company().opportunities))


def revenue() -> RevenueDistribution:
    """The revenue today's open deals bring in, simulated 5,000 times (seed 3)."""
    return simulate_revenue(_open_deals(company().opportunities), trials=5_000, rng=3)


def _quantiles(deals: tuple[Opportunity, ...]) -> dict[float, Money]:
    """p10, p50 and p90 of the revenue of the deals open at a cut-off (1,000 trials, seed 3)."""
    open_deals = _open_deals(deals) or [(Money.of(0, "CNY"), "0")]
    d = simulate_revenue(open_deals, trials=1_000, rng=3)
    return {0.1: d.p10, 0.5: d.p50, 0.9: d.p90}


def backtested() -> Backtest:
    """Every two weeks from February to May: revenue quantiles against what was won in the next 30 days."""
    first = dt.datetime(2026, 2, 2, tzinfo=dt.UTC)
    starts = [first + k * dt.timedelta(weeks=2) for k in range(9)]
    cutoffs = [(start, start + dt.timedelta(days=30)) for start in starts]
    return backtest(
        company().opportunities, company().events, cutoffs=cutoffs, forecast=_quantiles, currency="CNY"
    )


PICTURES: tuple[Picture, ...] = (
    Picture("Funnel", "funnelkit.forecast.FunnelReport.to_svg", lambda: history().to_svg()),
    Picture("Funnel shape", "funnelkit.forecast.ShapeReport.to_svg", lambda: shape().to_svg()),
    Picture("Time to close", "funnelkit.forecast.KaplanMeier.to_svg", lambda: time_to_close().to_svg()),
    Picture("Deals won", "funnelkit.forecast.WinCount.to_svg", lambda: deals_won().to_svg()),
    Picture("Revenue", "funnelkit.forecast.RevenueDistribution.to_svg", lambda: revenue().to_svg()),
    Picture("Backtest", "funnelkit.forecast.Backtest.to_svg", lambda: backtested().to_svg()),
)
