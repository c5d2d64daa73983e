"""The backward pass from the customer's go-live: the latest each step can finish and start."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


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
    by_id: Mapping[str, PlanStep] = {s.id: s for s in steps}
    finish: dict[str, dt.date] = {}
    visiting: set[str] = set()

    def resolve(step_id: str) -> dt.date | None:
        if step_id in finish:
            return finish[step_id]
        if step_id in visiting:
            return None
        visiting.add(step_id)
        step = by_id[step_id]
        anchor = close if step.track == "paper" and close is not None else go_live
        candidates = []
        for d in dependents[step_id]:
            lf = resolve(d.id)
            if lf is not None:
                candidates.append(lf - dt.timedelta(days=d.duration))
        day = min(candidates) if candidates else anchor
        if paper_by_close and close is not None and step.track == "paper":
            day = min(day, close)
        visiting.discard(step_id)
        finish[step_id] = day
        return day

    for s in steps:
        resolve(s.id)
    return finish
