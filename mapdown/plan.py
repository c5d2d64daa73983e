"""The backward pass from the customer's go-live: the latest each step can finish and start."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mapdown.model import Deal, Milestone
from mapdown.records import quick_init
from mapdown.rules import recorded_confirmation


@quick_init
@dataclass(frozen=True)
class PlanStep:
    """What the backward pass needs of a step."""

    id: str
    track: str
    duration: int  # days from start to due (0 without a start)
    after: tuple[str, ...] = ()


def latest_finish(
    steps: Sequence[PlanStep],
    go_live: dt.date,
    close: dt.date | None = None,
    paper_by_close: bool = False,
) -> dict[str, dt.date]:
    """The latest day each step can finish without moving go-live (or close, for paper).

    A step's latest finish is the earliest latest start among the steps that list it in
    `after`; a step nothing depends on must finish by `close` when it is on the paper track and
    `close` is set, else by `go_live`. With `paper_by_close`, every paper step must also finish
    by `close` (for scheduling a new plan: the paper is signed by then). Steps in a cycle are
    ignored (MAP108 reports them).
    """
    dependents: dict[str, list[PlanStep]] = {s.id: [] for s in steps}
    for s in steps:
        for ref in s.after:
            if ref in dependents:
                dependents[ref].append(s)
    walk = _BackwardPass({s.id: s for s in steps}, dependents, go_live, close, paper_by_close)
    for s in steps:
        walk.resolve(s.id)
    return walk.finish


class _BackwardPass:
    """`latest_finish`'s state, resolved step by step. A class, not a closure that calls
    itself: such a closure is a reference cycle, which kept every step of every week's plan
    alive until the garbage collector's next pass (a quarter of a million objects in a cold
    build of 1,000 deals, and more than a second of the collector's time)."""

    def __init__(
        self,
        by_id: Mapping[str, PlanStep],
        dependents: Mapping[str, list[PlanStep]],
        go_live: dt.date,
        close: dt.date | None,
        paper_by_close: bool,
    ) -> None:
        self.by_id = by_id
        self.dependents = dependents
        self.go_live = go_live
        self.close = close
        self.paper_by_close = paper_by_close
        self.finish: dict[str, dt.date] = {}
        self.visiting: set[str] = set()

    def resolve(self, step_id: str) -> dt.date | None:
        finish = self.finish
        if step_id in finish:
            return finish[step_id]
        if step_id in self.visiting:
            return None
        self.visiting.add(step_id)
        step = self.by_id[step_id]
        close = self.close
        anchor = close if step.track == "paper" and close is not None else self.go_live
        candidates = []
        for d in self.dependents[step_id]:
            lf = self.resolve(d.id)
            if lf is not None:
                candidates.append(lf - dt.timedelta(days=d.duration))
        day = min(candidates) if candidates else anchor
        if self.paper_by_close and close is not None and step.track == "paper":
            day = min(day, close)
        self.visiting.discard(step_id)
        finish[step_id] = day
        return day


# ---------------------------------------------------------------- the walk back


STATES = ("done", "done-without-evidence", "late", "voided", "confirmed", "unconfirmed")


@quick_init
@dataclass(frozen=True)
class WalkStep:
    """One step of the walk back from go-live: what must be true by when, and is it."""

    id: str
    step: str
    track: str
    owner: str
    due: dt.date
    latest_finish: dt.date
    latest_start: dt.date
    slack_days: int  # latest finish − due; negative: the plan as written cannot hold go-live
    state: str  # one of STATES, as of the day judged
    critical: bool  # slack ≤ 0
    before_close: bool  # must be true before signature (due on or before close)
    must_be_true_by: dt.date  # the latest finish, and before signature no later than close

    def to_json(self) -> dict[str, Any]:
        """The step as plain data (`mapdown plan --format json`, the site's data.json)."""
        return {
            "id": self.id,
            "step": self.step,
            "track": self.track,
            "owner": self.owner,
            "due": self.due.isoformat(),
            "latest_finish": self.latest_finish.isoformat(),
            "latest_start": self.latest_start.isoformat(),
            "slack_days": self.slack_days,
            "state": self.state,
            "critical": self.critical,
            "before_close": self.before_close,
            "must_be_true_by": self.must_be_true_by.isoformat(),
        }


def step_state(milestone: Milestone, as_of: dt.date, covered: bool, recorded: bool) -> str:
    """A step's state as of a day: done (with evidence or not), late, voided, confirmed or not."""
    if milestone.status == "done":
        return "done" if milestone.evidence else "done-without-evidence"
    if milestone.due < as_of:
        return "late"
    if recorded and not covered:
        return "voided"
    return "confirmed" if covered else "unconfirmed"


def _shape(m: Milestone) -> tuple[str, str, int, tuple[str, ...]]:
    """What the backward pass needs of a step: its id, track, length and dependencies."""
    return (m.id, m.track, (m.due - m.start).days if m.start else 0, m.after)


def plan_steps(deal: Deal) -> list[PlanStep]:
    """What the backward pass needs of each of the deal's steps."""
    return [PlanStep(*_shape(m)) for m in deal.milestones]


PlanEntry = tuple[Milestone, dt.date, dt.date, int, bool, bool]


@functools.lru_cache(maxsize=4096)
def _finish_of(
    shape: tuple[tuple[str, str, int, tuple[str, ...]], ...],
    go_live: dt.date,
    close: dt.date | None,
) -> dict[str, dt.date]:
    """`latest_finish` of the steps whose (id, track, duration, after) are `shape`: a version
    that moves dates but keeps each step's length and order (most do) has the same backward
    pass as the one before. Read-only: the dict is shared."""
    return latest_finish([PlanStep(*step) for step in shape], go_live, close)


def walk_plan(deal: Deal) -> list[PlanEntry]:
    """What the walk back knows from the plan alone, whatever the day, in the walk's order
    (the day a step must be true by, latest first, then its due day): each step with its
    latest finish and start, its slack, whether the file records a confirmation, and whether
    it is due by close. Computed once per Deal object (a week without a new version shares
    one); do not change the list."""
    memo = deal.__dict__.get("_walk_plan")
    if memo is None:
        shape = tuple(_shape(m) for m in deal.milestones)
        finish = _finish_of(shape, deal.go_live, deal.close)
        memo = []
        for m, (_, _, duration, _) in zip(deal.milestones, shape, strict=True):
            lf = finish[m.id]
            memo.append(
                (
                    m,
                    lf,
                    lf - dt.timedelta(days=duration),
                    (lf - m.due).days,
                    recorded_confirmation(deal, m),
                    deal.close is not None and m.due <= deal.close,
                )
            )
        close = deal.close  # in the walk's order: by the day each must be true by, then due
        memo.sort(
            key=lambda e: (must_be_true_by(e[1], e[5], close), e[0].due, e[0].id), reverse=True
        )
        deal.__dict__["_walk_plan"] = memo  # a frozen dataclass keeps a __dict__
    return memo


def must_be_true_by(latest: dt.date, before_close: bool, close: dt.date | None) -> dt.date:
    """The day a step must be true by: its latest finish, and for a step due before signature
    no later than close (what the site's question 3 and `mapdown plan` show)."""
    return min(latest, close) if before_close and close is not None else latest


def walk_back(deal: Deal, as_of: dt.date, covered: Callable[[Milestone], bool]) -> list[WalkStep]:
    """Every step from go-live backward (in `walk_plan`'s order), with its slack and state."""
    return [
        WalkStep(
            m.id,
            m.step,
            m.track,
            m.owner,
            m.due,
            lf,
            ls,
            slack,
            step_state(m, as_of, covered(m), recorded),
            slack <= 0,
            before_close,
            must_be_true_by(lf, before_close, deal.close),
        )
        for m, lf, ls, slack, recorded, before_close in walk_plan(deal)
    ]


def breaking_chain(deal: Deal, step_id: str) -> list[str]:
    """From a step, the chain of dependents that sets its latest finish, up to the anchor.

    With negative slack this is the chain that breaks: the step is due after the latest day it
    can finish for everything after it to fit before go-live (or close).
    """
    steps = plan_steps(deal)
    finish = latest_finish(steps, deal.go_live, deal.close)
    chain = [step_id]
    seen = {step_id}
    while True:
        dependents = [s for s in steps if chain[-1] in s.after and s.id not in seen]
        if not dependents:
            return chain
        nxt = min(dependents, key=lambda s: (finish[s.id] - dt.timedelta(days=s.duration), s.id))
        chain.append(nxt.id)
        seen.add(nxt.id)


def plan_record(
    deal: Deal, as_of: dt.date, covered: Callable[[Milestone], bool]
) -> dict[str, object]:
    """`mapdown plan --format json`: the walk back, the critical chain and what breaks it."""
    walk = walk_back(deal, as_of, covered)
    critical = sorted((w for w in walk if w.critical), key=lambda w: (w.latest_finish, w.id))
    breaks = [
        {"step": w.id, "slack_days": w.slack_days, "chain": breaking_chain(deal, w.id)}
        for w in sorted(walk, key=lambda w: (w.slack_days, w.id))
        if w.slack_days < 0
    ]
    return {
        "deal": deal.id,
        "as_of": as_of.isoformat(),
        "go_live": deal.go_live.isoformat(),
        "close": deal.close.isoformat() if deal.close else None,
        "deadline": deal.deadline.isoformat() if deal.deadline else None,
        "runway_days": (deal.deadline - deal.go_live).days if deal.deadline else None,
        "holds": not breaks,
        "steps": [{**w.to_json(), "days_to_spare": (w.must_be_true_by - w.due).days} for w in walk],
        "critical_chain": [w.id for w in critical if w.due >= as_of or w.state == "late"],
        "breaks": breaks,
    }


_STATE_WORDS = {
    "done": "done, with evidence",
    "done-without-evidence": "done, but no evidence recorded",
    "late": "LATE",
    "voided": "date moved since the customer confirmed it",
    "confirmed": "confirmed by the customer, on time",
    "unconfirmed": "not confirmed by the customer",
}


def plan_text(record: dict[str, Any]) -> str:
    """The walk back as a sales leader asks for it: from go-live, then from close."""
    steps = record["steps"]
    out = [
        f"Walking back from go-live {record['go_live']}"
        + (
            f" ({record['runway_days']} days before the deadline {record['deadline']})"
            if record["runway_days"] is not None
            else ""
        )
        + f", as of {record['as_of']}:"
    ]

    def row(s: dict[str, Any]) -> str:
        spare = s["days_to_spare"]
        slack = f"{spare:+d} day{'s' * (abs(spare) != 1)} slack"
        mark = "  !" if s["slack_days"] < 0 else ("  *" if s["critical"] else "   ")
        return (
            f"{mark} by {s['must_be_true_by']}  {s['id']}: {s['step']} ({s['owner']}) — "
            f"due {s['due']}, {slack}; {_STATE_WORDS[s['state']]}"
        )

    out += [row(s) for s in steps if not s["before_close"]]
    if record["close"]:
        out.append(f"If signature is on {record['close']}, what must be true before it:")
        out += [row(s) for s in steps if s["before_close"]]
    out.append("")
    if record["breaks"]:
        out.append("The plan as written cannot hold go-live:")
        for b in record["breaks"]:
            out.append(
                f"  {b['step']} is {-b['slack_days']} days too late for the chain "
                + " → ".join(b["chain"])
            )
    else:
        out.append("The plan holds go-live as written.")
    if record["critical_chain"]:
        out.append("Critical chain (no slack): " + " → ".join(record["critical_chain"]))
    out.append("(* no slack, ! negative slack)")
    return "\n".join(out)
