"""Random books for the win/loss, generation and cohort tests: deals of pipeline p and their moves."""

import datetime as dt

from hypothesis import strategies as st
from three_stages import PIPE, T0

from funnelkit import Money, Opportunity
from funnelkit.stages import StageChanged

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
ORDER = ("a", "b", "c", "won", "lost")
OWNERS = ("ann", "bob", "cy")
RIVALS = ("Rival", "Other", "Third")
REASONS = ("price", "timing", "no budget")
CUSTOMERS = ("c0", "c1", "c2", "c3")


@st.composite
def deal_and_moves(draw: st.DrawFn, i: int) -> tuple[Opportunity, list[StageChanged]]:
    """Deal *i* of PIPE with a random path (forward, skip, back, win, lose, reopen) and its moves."""
    oid = f"d{i}"
    created = T0 + draw(st.integers(0, 4 * 200)) * 6 * HOUR  # 200 days on a six-hour grid: ties are common
    stage, at, events = draw(st.sampled_from(ORDER[:3])), created, []
    for version in range(1, draw(st.integers(0, 4)) + 1):
        to = draw(st.sampled_from([s for s in ORDER if s != stage]))
        if stage in ("won", "lost"):
            to = draw(st.sampled_from(ORDER[:3]))
            kind = "reopen"
        else:
            kind = {"won": "win", "lost": "lose"}.get(to) or (
                "advance" if ORDER.index(to) > ORDER.index(stage) else "back"
            )
        stay = draw(st.integers(0, 20)) * DAY
        at += stay
        events.append(
            StageChanged(
                opportunity_id=oid, pipeline="p", kind=kind, from_stage=stage, to_stage=to, at=at,
                actor="ann", version=version, time_in_stage=stay,
                lost_reason=draw(st.sampled_from(REASONS)) if kind == "lose" else None,
            )
        )  # fmt: skip
        stage = to
    status = stage if stage in ("won", "lost") else "open"
    amount = draw(
        st.none()
        | st.builds(Money.from_minor, st.integers(0, 10**7), st.sampled_from(["USD", "USD", "EUR", "JPY"]))
    )
    deal = Opportunity(
        id=oid, customer_id=draw(st.sampled_from(CUSTOMERS)), owner=draw(st.sampled_from(OWNERS)),
        pipeline="p", stage=stage, status=status, created_at=created, stage_entered_at=at, amount=amount,
        competitors=draw(st.lists(st.sampled_from(RIVALS), max_size=3, unique=True)),
        lost_reason=draw(st.sampled_from(REASONS)) if status == "lost" else None, version=len(events),
    )  # fmt: skip
    return deal, events


@st.composite
def books(draw: st.DrawFn, most: int = 12) -> tuple[list[Opportunity], list[StageChanged]]:
    """Up to *most* deals and all their moves."""
    deals, events = [], []
    for i in range(draw(st.integers(0, most))):
        deal, moves = draw(deal_and_moves(i))
        deals.append(deal)
        events += moves
    return deals, events


def totals(amounts) -> dict[str, object]:
    """Amounts summed per currency, as a plain dict."""
    out: dict[str, object] = {}
    for m in amounts:
        out[m.currency] = out.get(m.currency, 0) + m.amount
    return out


__all__ = ["DAY", "HOUR", "OWNERS", "PIPE", "REASONS", "RIVALS", "T0", "books", "totals"]
