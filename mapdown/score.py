"""The confirmation rate, the health score and its parts, and the weekly series.

Every number here can be recomputed by hand from the repository: docs/scoring.md gives the
formulas, and `mapdown score --format json` shows each part.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mapdown.config import SCORE_PARTS, Config
from mapdown.history import coverage
from mapdown.model import Deal, Milestone
from mapdown.records import quick_init
from mapdown.rules import (
    RULES,
    Context,
    Finding,
    enabled,
    is_team_name,
    overdue_steps,
    run_findings,
)
from mapdown.spec import Located

if TYPE_CHECKING:
    from mapdown.history import DealHistory

DEFAULT_WEIGHTS: dict[str, float] = {
    "confirmation": 40,
    "owners": 10,
    "evidence": 10,
    "internal_steps": 15,
    "threading": 10,
    "on_time": 15,
}
assert set(DEFAULT_WEIGHTS) == set(SCORE_PARTS)
ON_TIME_SLIP_DAYS = 28  # a step that slipped within this many days is not "on time"

# Which findings matter most, for "worst findings" (most urgent first).
WORST_ORDER = (
    "MAP205",
    "MAP212",
    "MAP203",
    "MAP213",
    "MAP214",
    "MAP207",
    "MAP208",
    "MAP206",
    "MAP216",
    "MAP211",
    "MAP201",
    "MAP202",
    "MAP204",
    "MAP215",
    "MAP210",
    "MAP209",
    "MAP217",
)


@quick_init
@dataclass(frozen=True)
class WindowDate:
    milestone: str
    key: str  # start or due
    day: dt.date
    confirmed: bool


@dataclass
class Score:
    """A deal's score as of one day, with everything that went into it."""

    as_of: dt.date
    score: int
    parts: dict[str, int]
    window: list[WindowDate]
    findings: list[Finding] = field(default_factory=list)
    slips: int = 0  # dates moved later in the last 7 days

    @property
    def window_dates(self) -> int:
        return len(self.window)

    @property
    def confirmed_dates(self) -> int:
        return sum(1 for d in self.window if d.confirmed)

    @property
    def confirmation_rate(self) -> float | None:
        """Percent of window dates confirmed, or None when no date falls in the window."""
        if not self.window:
            return None
        return round(100 * self.confirmed_dates / len(self.window), 1)

    def to_json(self) -> dict[str, Any]:
        """The score as plain data: the same fields in `mapdown score` and in data.json."""
        return {
            "score": self.score,
            "confirmation_rate": self.confirmation_rate,
            "window_dates": self.window_dates,
            "confirmed_dates": self.confirmed_dates,
            "unconfirmed": [
                {"milestone": d.milestone, "key": d.key, "date": d.day.isoformat()}
                for d in self.window
                if not d.confirmed
            ],
            "slips_7d": self.slips,
            "parts": self.parts,
            "worst_findings": [
                {"code": f.code, "name": RULES[f.code].name, "message": f.message}
                for f in self.worst()
            ],
        }

    def worst(self, limit: int = 3) -> list[Finding]:
        rank = {code: i for i, code in enumerate(WORST_ORDER)}
        return sorted(self.findings, key=lambda f: rank.get(f.code, 99))[:limit]


def window_dates(
    deal: Deal, as_of: dt.date, days: int, covered: Callable[[Milestone], bool]
) -> list[WindowDate]:
    """Every start and due of every step not done that falls in T+1 .. T+days."""
    first, last = as_of + dt.timedelta(days=1), as_of + dt.timedelta(days=days)
    out = []
    for m in deal.milestones:
        if not m.is_open:
            continue
        in_window = [(key, day) for key, day in m.dates if first <= day <= last]
        if in_window:
            ok = covered(m)
            out.extend(WindowDate(m.id, key, day, ok) for key, day in in_window)
    return out


def _parts(
    ctx: Context, window: list[WindowDate], late: Collection[int], gaps: int
) -> dict[str, int]:
    """The parts, from the window, the indexes of the overdue steps (MAP212) and the number
    of missing customer roles (MAP216)."""
    parts: dict[str, int] = {}
    if window:
        parts["confirmation"] = round(100 * sum(d.confirmed for d in window) / len(window))
    parts.update(_plan_parts(ctx, gaps))
    open_steps = [m for m in ctx.deal.milestones if m.is_open]
    slipped = _recently_slipped(ctx)
    on_time = [m for m in open_steps if m.index not in late and m.id not in slipped]
    parts["on_time"] = round(100 * len(on_time) / len(open_steps)) if open_steps else 100
    return parts


def _plan_parts(ctx: Context, gaps: int) -> dict[str, int]:
    """The parts the plan alone decides, whatever the day (owners, evidence, internal steps,
    threading): worked out once per deal version, settings and MAP216 count, and shared by
    the weeks that judge the same version. Read-only."""
    memo = ctx.deal.__dict__.get("_plan_parts")
    if memo is not None and memo[0] is ctx.config and memo[1] == gaps:
        return memo[2]
    deal, config = ctx.deal, ctx.config
    steps = deal.milestones
    parts: dict[str, int] = {}
    named = sum(1 for m in steps if not is_team_name(m.owner, config.team_words))
    parts["owners"] = round(100 * named / len(steps)) if steps else 0
    done = [m for m in steps if m.status == "done"]
    parts["evidence"] = round(100 * sum(1 for m in done if m.evidence) / len(done)) if done else 100
    items = config.internal_steps
    customer_owned = deal.has_customer_step
    present = len(items) - len(ctx.missing_internal)
    parts["internal_steps"] = (
        (round(100 * present / len(items)) if items else 100) if customer_owned else 0
    )
    customer = {p.name for p in deal.customer_people}
    involved = {m.owner for m in steps if m.owner in customer} | {
        m.confirmed_by for m in steps if m.confirmed_by in customer
    }
    threading = 100 * min(1.0, len(involved) / config.min_customer_people)
    threading -= 25 * gaps
    owned = [m for m in steps if m.owner in customer]
    if len(owned) >= 2 and len({m.owner for m in owned}) == 1:
        threading = min(threading, 50)
    parts["threading"] = max(0, round(threading))
    deal.__dict__["_plan_parts"] = (config, gaps, parts)  # a frozen dataclass keeps a __dict__
    return parts


def _recently_slipped(ctx: Context) -> set[str]:
    """Steps with a date moved later in the last ON_TIME_SLIP_DAYS days."""
    since = ctx.as_of - dt.timedelta(days=ON_TIME_SLIP_DAYS)
    return {
        e.milestone
        for e in ctx.history_events()
        if e.kind == "slipped" and since < e.day <= ctx.as_of and e.milestone
    }


def weighted(parts: dict[str, int], weights: dict[str, float]) -> int:
    """The weighted mean of the parts that are defined (the confirmation part may not be)."""
    total = sum(weights.get(name, 0) for name in parts)
    if total <= 0:
        return 0
    return round(sum(value * weights.get(name, 0) for name, value in parts.items()) / total)


def score_deal(
    deal: Deal,
    as_of: dt.date,
    config: Config,
    history: DealHistory | None = None,
    n: int | None = None,
    located: Located | None = None,
) -> Score:
    """The deal's score as of `as_of`, judging confirmations on the first `n` history states.
    The parts read two findings: the overdue steps (MAP212, on time) and the missing customer
    roles (MAP216, threading)."""
    ctx = _context(deal, as_of, config, history, n, located)
    findings = list(run_findings(ctx))
    late = {f.path[1] for f in findings if f.code == "MAP212"}
    gaps = sum(1 for f in findings if f.code == "MAP216")
    return _scored(ctx, findings, late, gaps)


def _context(
    deal: Deal,
    as_of: dt.date,
    config: Config,
    history: DealHistory | None,
    n: int | None,
    located: Located | None = None,
) -> Context:
    return Context(
        deal=deal,
        located=located or Located(),
        config=config,
        as_of=as_of,
        covered=coverage(deal, history, n),
        history=history,
        history_n=n,
    )


def _scored(ctx: Context, findings: list[Finding], late: Collection[int], gaps: int) -> Score:
    """The score of `ctx`, given its findings and what the parts read of them."""
    config, as_of = ctx.config, ctx.as_of
    window = window_dates(ctx.deal, as_of, config.confirmation_window_days, ctx.covered)
    parts = _parts(ctx, window, late, gaps)
    weights = {**DEFAULT_WEIGHTS, **config.score_weights}
    since = as_of - dt.timedelta(days=7)
    slips = sum(1 for e in ctx.history_events() if e.kind == "slipped" and since < e.day <= as_of)
    return Score(as_of, weighted(parts, weights), parts, window, findings, slips)


def week_score(
    deal: Deal, as_of: dt.date, config: Config, history: DealHistory | None, n: int | None
) -> Score:
    """`score_deal`'s score, without its findings (a past week shows its score, not them):
    what the parts read of MAP212 and MAP216 is worked out directly, with no Finding made.
    The same score each week as `score_deal` (tests/test_demo_rates.py holds them equal)."""
    ctx = _context(deal, as_of, config, history, n)
    late: set[int] = set()
    if enabled(config, "MAP212"):
        late = {m.index for m in overdue_steps(deal, as_of)}
    gaps = sum(1 for _ in run_findings(ctx, ("MAP216",)))
    return _scored(ctx, [], late, gaps)


@dataclass
class WeekScore:
    week: str
    end: dt.date  # the Sunday that ends the week
    as_of: dt.date  # the day it was judged (the Sunday, or the as-of day in the current week)
    score: Score  # without findings (`week_score`): a past week shows its score, not them


def weekly(history: DealHistory, as_of: dt.date, config: Config) -> list[WeekScore]:
    """The score of every ISO week from the deal's first version to go-live or `as_of`."""
    from mapdown.history import iter_weeks

    first = history.first_day
    latest = history.deal_as_of(as_of)
    if first is None or latest is None:
        return []
    last = min(as_of, latest.go_live)
    out = []
    for week, sunday in iter_weeks(first, last):
        day = min(sunday, as_of)
        deal = history.deal_as_of(day)
        if deal is None:
            continue
        n = history.upto(day)
        score = week_score(deal, day, config, history, n)
        out.append(WeekScore(week, sunday, day, score))
    return out
