"""Every code mapdown reports, and one small function per MAP2xx finding, registered by code.

The rule pages (what it checks, why it matters, an example, how to fix) live beside this module
in `ruledocs/CODE.md`; `mapdown rules` and `docs/rules.md` are both made from them.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from mapdown.config import Config, InternalStep
from mapdown.dates import quarter_end
from mapdown.model import TRACKS, Deal, Milestone, role_matches
from mapdown.records import quick_init
from mapdown.spec import Located, Path_


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    summary: str
    needs_history: bool = False

    @property
    def is_error(self) -> bool:
        return self.code < "MAP200"

    def page(self) -> str:
        """The rule's page, in Markdown."""
        return (
            resources.files("mapdown.ruledocs")
            .joinpath(f"{self.code}.md")
            .read_text(encoding="utf-8")
        )


_RULES = (
    Rule("MAP100", "unreadable-file", "The file cannot be read as a MAP."),
    Rule("MAP101", "missing-key", "A required key is missing or empty."),
    Rule("MAP102", "unknown-key", "A key is unknown."),
    Rule("MAP103", "wrong-type", "A value has the wrong type or is not an allowed word."),
    Rule("MAP104", "invalid-date", "A date is not a valid ISO date."),
    Rule("MAP105", "duplicate-or-bad-id", "A duplicate id or name, or an id that is not a slug."),
    Rule("MAP106", "unknown-reference", "A name or id refers to nobody or nothing in the deal."),
    Rule("MAP107", "vendor-confirmer", "`confirmed_by` names a vendor-side person."),
    Rule("MAP108", "dependency-cycle", "`after` forms a cycle."),
    Rule("MAP109", "start-after-due", "`start` is after `due`."),
    Rule("MAP201", "team-owner", "A person's name is a team, function or placeholder."),
    Rule("MAP202", "done-without-evidence", "A step is done with no evidence."),
    Rule("MAP203", "unconfirmed-date", "An open step has an unconfirmed date in the window."),
    Rule("MAP204", "confirmed-without-writing", "`confirmed_by` without `confirmation`."),
    Rule("MAP205", "confirmation-voided", "A date changed after it was confirmed.", True),
    Rule("MAP206", "single-threaded", "Too few customer people carry the plan."),
    Rule("MAP207", "vendor-only", "No step is owned by the customer."),
    Rule("MAP208", "assumed-internal-step", "A customer-internal step has no row."),
    Rule("MAP209", "empty-track", "A track has no step."),
    Rule("MAP210", "after-go-live", "A step is due after go-live, or go-live after the deadline."),
    Rule("MAP211", "quarter-anchored", "The close date hugs the vendor's quarter end."),
    Rule("MAP212", "overdue", "An open step is past its due date."),
    Rule("MAP213", "customer-quiet", "No confirmation or review with the customer lately.", True),
    Rule("MAP214", "slipped", "A date moved later in the last days.", True),
    Rule("MAP215", "dependency-conflict", "A prerequisite is due after its dependent starts."),
    Rule("MAP216", "no-economic-buyer", "No economic buyer or no champion on the customer side."),
    Rule("MAP217", "plan-size", "Too few or too many open steps."),
)
RULES: dict[str, Rule] = {r.code: r for r in _RULES}


def find_rule(text: str) -> Rule | None:
    """A rule by code (`MAP206`, `206`) or name (`single-threaded`)."""
    key = text.strip()
    if key.isdigit():
        key = f"MAP{key}"
    return RULES.get(key.upper()) or next((r for r in _RULES if r.name == key.lower()), None)


# ---------------------------------------------------------------- the findings


@quick_init
@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    path: Path_  # where in the document, e.g. ("milestones", 3, "due")
    message: str
    hint: str = ""
    at_key: bool = False  # point at the key rather than its value


@dataclass
class Context:
    """What a finding function may look at."""

    deal: Deal
    located: Located
    config: Config
    as_of: dt.date
    # whether a step's recorded confirmation covers its current dates as of `as_of`
    covered: Callable[[Milestone], bool]
    history: Any = None  # the deal's DealHistory when the repository has history
    history_n: int | None = None  # judge on the first n states of it (None: all)
    _events: list[Any] | None = None
    _missing: list[InternalStep] | None = None
    _window: tuple[dt.date, dt.date] | None = None

    @property
    def missing_internal(self) -> list[InternalStep]:
        """The checklist's customer-internal steps this deal has no row for (computed once)."""
        if self._missing is None:
            self._missing = missing_internal_steps(self.deal, self.config)
        return self._missing

    def history_events(self) -> list[Any]:
        """The history's events up to the states judged on (none without history)."""
        if self.history is None:
            return []
        if self._events is None:
            self._events = self.history.events_upto(self.history_n)
        return self._events

    @property
    def window(self) -> tuple[dt.date, dt.date]:
        """The confirmation window: the days T+1 .. T+N (worked out once)."""
        if self._window is None:
            self._window = (
                self.as_of + dt.timedelta(days=1),
                self.as_of + dt.timedelta(days=self.config.confirmation_window_days),
            )
        return self._window


FindingFn = Callable[[Context], Iterator[Finding]]
FINDINGS: dict[str, FindingFn] = {}


def finding(code: str) -> Callable[[FindingFn], FindingFn]:
    def register(fn: FindingFn) -> FindingFn:
        FINDINGS[code] = fn
        return fn

    return register


def recorded_confirmation(deal: Deal, m: Milestone) -> bool:
    """The file names a customer who confirmed and where the writing is."""
    person = deal.person(m.confirmed_by)
    return bool(person and person.is_customer and m.confirmation)


_WORD = re.compile(r"[\w/?]+", re.UNICODE)


@functools.lru_cache(maxsize=4096)
def is_team_name(name: str, words: tuple[str, ...]) -> bool:
    """A name is a team when any of its words is a team word, or it has no letter at all."""
    if not any(ch.isalpha() for ch in name):
        return True
    lowered = name.lower()
    tokens = set(_WORD.findall(lowered))
    return lowered.strip() in words or any(t in words for t in tokens)


@finding("MAP201")
def team_owner(ctx: Context) -> Iterator[Finding]:
    for i, person in enumerate(ctx.deal.people):
        if is_team_name(person.name, ctx.config.team_words):
            owns = sum(1 for m in ctx.deal.milestones if m.owner == person.name)
            yield Finding(
                "MAP201",
                ("people", i, "name"),
                f"`{person.name}` is a team, function or placeholder, not a person"
                + (f" (owns {owns} step{'s' * (owns != 1)})" if owns else ""),
                "name the one person who will do it, e.g. the attorney rather than `Legal`",
            )


@finding("MAP202")
def done_without_evidence(ctx: Context) -> Iterator[Finding]:
    for m in ctx.deal.milestones:
        if m.status == "done" and not m.evidence:
            yield Finding(
                "MAP202",
                ("milestones", m.index, "status"),
                f"`{m.id}` is done with no evidence",
                f"add `evidence:` with where the exit artifact is ({m.exit})",
            )


@finding("MAP203")
def unconfirmed_date(ctx: Context) -> Iterator[Finding]:
    first, last = ctx.window
    for m in ctx.deal.milestones:
        if not m.is_open:
            continue
        dates = [(key, day) for key, day in m.dates if first <= day <= last]
        if not dates or ctx.covered(m):
            continue
        key = "due" if any(k == "due" for k, _ in dates) else "start"
        shown = " and ".join(f"{k} {d}" for k, d in dates)
        if m.confirmed_by is None:
            who = ""
        elif not recorded_confirmation(ctx.deal, m):
            who = " (no written confirmation is recorded)"
        else:
            who = " (its confirmation was given for other dates)"
        yield Finding(
            "MAP203",
            ("milestones", m.index, key),
            f"`{m.id}` has an unconfirmed date in the next "
            f"{ctx.config.confirmation_window_days} days: {shown}{who}",
            "ask the customer to confirm this date in writing, then record `confirmed_by` "
            "and `confirmation`",
        )


@finding("MAP204")
def confirmed_without_writing(ctx: Context) -> Iterator[Finding]:
    for m in ctx.deal.milestones:
        if m.confirmed_by and not m.confirmation:
            yield Finding(
                "MAP204",
                ("milestones", m.index, "confirmed_by"),
                f"`{m.id}` is confirmed by {m.confirmed_by} with no record of the writing",
                "add `confirmation:` with a link or a dated quote of the email; silence is not "
                "agreement",
            )
        elif m.confirmation and not m.confirmed_by:
            yield Finding(
                "MAP204",
                ("milestones", m.index, "confirmation"),
                f"`{m.id}` records a confirmation but not who gave it",
                "add `confirmed_by:` with the customer person who wrote it",
            )


@finding("MAP205")
def confirmation_voided(ctx: Context) -> Iterator[Finding]:
    if ctx.history is None:
        return
    for m in ctx.deal.milestones:
        if not m.is_open or not recorded_confirmation(ctx.deal, m):
            continue
        track = ctx.history.track(m.id, ctx.history_n)
        if track is None or track.confirmed_at is None or track.dates_at <= track.confirmed_at:
            continue
        moves = [
            e
            for e in ctx.history_events()
            if e.milestone == m.id
            and e.key
            and e.state > track.confirmed_at
            and e.kind != "confirmation-voided"
        ]
        if not moves:
            continue
        move = moves[0]
        shown = f"{move.key} moved from {move.before} to {move.after}"
        yield Finding(
            "MAP205",
            ("milestones", m.index, moves[-1].key or "due"),
            f"`{m.id}`: {shown} on {move.day} ({(move.commit or 'working tree')[:7]}) after "
            f"{m.confirmed_by} confirmed it; the confirmation was for the old date",
            "get the new date confirmed in writing and record the new `confirmation`",
        )


@finding("MAP206")
def single_threaded(ctx: Context) -> Iterator[Finding]:
    deal = ctx.deal
    customer = {p.name for p in deal.customer_people}
    owned = [m for m in deal.milestones if m.owner in customer]
    owners = {m.owner for m in owned}
    involved = owners | {m.confirmed_by for m in deal.milestones if m.confirmed_by in customer}
    problems = []
    if len(owned) >= 2 and len(owners) == 1:
        problems.append(f"{next(iter(owners))} owns every customer-side step ({len(owned)})")
    need = ctx.config.min_customer_people
    if len(involved) < need:
        names = ", ".join(sorted(involved)) or "nobody"
        problems.append(
            f"only {len(involved)} customer {'person owns' if len(involved) == 1 else 'people own'}"
            f" or confirm steps ({names}); expected at least {need}"
        )
    if problems:
        yield Finding(
            "MAP206",
            ("people",),
            "single-threaded: " + "; ".join(problems),
            "give the security, legal, sourcing and signature steps their own customer owners",
            at_key=True,
        )


@finding("MAP207")
def vendor_only(ctx: Context) -> Iterator[Finding]:
    if ctx.deal.milestones and not ctx.deal.has_customer_step:
        yield Finding(
            "MAP207",
            ("milestones",),
            "no step is owned by the customer: this is the vendor's project plan, not a mutual one",
            "add the customer's own steps (reviews, committees, procurement) with customer owners",
            at_key=True,
        )


@functools.lru_cache(maxsize=64)
def _internal_pattern(item: InternalStep) -> re.Pattern[str]:
    words = sorted((re.escape(k.lower()) for k in item.keywords), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)")


def _customer_rows(deal: Deal) -> tuple[tuple[str, str, str, str | None], ...]:
    """Each customer-owned row as (its words, its owner's role)."""
    rows = []
    for m in deal.milestones:
        owner = deal.person(m.owner)
        if owner is not None and owner.is_customer:
            rows.append((m.step, m.id, m.exit, owner.role))
    return tuple(rows)


@functools.lru_cache(maxsize=4096)
def _missing_for(
    items: tuple[InternalStep, ...], rows: tuple[tuple[str, str, str, str | None], ...]
) -> tuple[int, ...]:
    """Which of the checklist's `items` (their places) no customer-owned row is: a row is an
    item when its words name it and, when the item names a role, its owner has that role.
    Most versions of a deal repeat the customer's rows of the one before: answered once."""
    texts = [
        (f"{step} {mid.replace('-', ' ')} {exit}".lower(), role) for step, mid, exit, role in rows
    ]
    return tuple(
        i
        for i, item in enumerate(items)
        if not any(
            (not item.role or role_matches(role, item.role))
            and _internal_pattern(item).search(text) is not None
            for text, role in texts
        )
    )


def missing_internal_steps(deal: Deal, config: Config) -> list[InternalStep]:
    """The checklist's steps `deal` has no row for (computed once per deal and checklist)."""
    memo = deal.__dict__.get("_missing_internal")
    if memo is None or memo[0] is not config.internal_steps:
        items = config.internal_steps
        found = [items[i] for i in _missing_for(items, _customer_rows(deal))]
        memo = (config.internal_steps, found)
        deal.__dict__["_missing_internal"] = memo  # a frozen dataclass keeps a __dict__
    return list(memo[1])


@finding("MAP208")
def assumed_internal_step(ctx: Context) -> Iterator[Finding]:
    for item in ctx.missing_internal:
        owner = (
            f" owned by the customer's {item.role}" if item.role else " owned by a customer person"
        )
        yield Finding(
            "MAP208",
            ("milestones",),
            f"no row for the customer's {item.name}: it is assumed, not seen",
            f"ask the champion how their {item.name} works and add it as a step{owner}",
            at_key=True,
        )


@finding("MAP209")
def empty_track(ctx: Context) -> Iterator[Finding]:
    present = {m.track for m in ctx.deal.milestones}
    for track in TRACKS:
        if track not in present:
            yield Finding(
                "MAP209",
                ("milestones",),
                f"the {track} track has no step",
                f"add the {track} steps that must happen before go-live",
                at_key=True,
            )


@finding("MAP210")
def after_go_live(ctx: Context) -> Iterator[Finding]:
    deal = ctx.deal
    for m in deal.milestones:
        if m.due > deal.go_live:
            yield Finding(
                "MAP210",
                ("milestones", m.index, "due"),
                f"`{m.id}` is due {m.due}, after go-live {deal.go_live}",
                "plan backward: finish it before go-live, or move go-live with the customer",
            )
    if deal.deadline and deal.go_live > deal.deadline:
        yield Finding(
            "MAP210",
            ("go_live",),
            f"go-live {deal.go_live} is after the customer's deadline {deal.deadline}",
            "bring go-live before the deadline, with runway",
        )


@finding("MAP211")
def quarter_anchored(ctx: Context) -> Iterator[Finding]:
    close = ctx.deal.close
    if close is None:
        return
    end = quarter_end(close, ctx.config.fiscal_year_start)
    days = (end - close).days
    if days >= ctx.config.quarter_end_days:
        return
    before = [m for m in ctx.deal.milestones if m.due <= close]
    confirmed = sum(1 for m in before if ctx.covered(m))
    if before and confirmed * 2 >= len(before):
        return
    yield Finding(
        "MAP211",
        ("close",),
        f"close {close} is {days} day{'s' * (days != 1)} before the vendor's quarter end {end}"
        f" and only {confirmed} of {len(before)} steps before it are confirmed",
        "plan from the customer's go-live and get the dates before close confirmed",
    )


def overdue_steps(deal: Deal, as_of: dt.date) -> list[Milestone]:
    """The open steps past their due date on `as_of` (MAP212)."""
    return [m for m in deal.milestones if m.is_open and m.due < as_of]


@finding("MAP212")
def overdue(ctx: Context) -> Iterator[Finding]:
    for m in overdue_steps(ctx.deal, ctx.as_of):
        days = (ctx.as_of - m.due).days
        yield Finding(
            "MAP212",
            ("milestones", m.index, "due"),
            f"`{m.id}` is {days} day{'s' * (days != 1)} overdue (due {m.due})",
            "mark it done with evidence, or agree a new date with the customer",
        )


@finding("MAP213")
def customer_quiet(ctx: Context) -> Iterator[Finding]:
    if ctx.history is None:
        return
    deal = ctx.deal
    customer = {p.name for p in deal.customer_people}
    contacts = [r.date for r in deal.reviews if r.with_ in customer and r.date <= ctx.as_of]
    contacts += [
        e.day
        for e in ctx.history_events()
        if e.kind in ("confirmed", "confirmation-changed") and e.after and e.after[0] in customer
    ]
    events = ctx.history_events()
    if contacts:
        last, what = max(contacts), "the last confirmation or review with the customer"
    elif events:
        last, what = events[0].day, "the plan was started"
    else:
        return
    quiet = (ctx.as_of - last).days
    if quiet >= ctx.config.quiet_days:
        yield Finding(
            "MAP213",
            ("reviews",) if "reviews" in _keys(ctx) else ("milestones",),
            f"the customer has been quiet for {quiet} days: {what} was on {last}",
            "hold the weekly review with the champion and get this week's dates confirmed",
            at_key=True,
        )


def _keys(ctx: Context) -> set[str]:
    return {path[0] for path in ctx.located.keys if len(path) == 1 and isinstance(path[0], str)}


@finding("MAP214")
def slipped(ctx: Context) -> Iterator[Finding]:
    if ctx.history is None:
        return
    since = ctx.as_of - dt.timedelta(days=ctx.config.slip_days)
    # one slip per commit: the due date's move, or the start's when only the start moved
    by_step: dict[str, dict[int, Any]] = {}
    for e in ctx.history_events():
        if e.kind == "slipped" and e.milestone:
            per_state = by_step.setdefault(e.milestone, {})
            if e.state not in per_state or e.key == "due":
                per_state[e.state] = e
    for m in ctx.deal.milestones:
        if m.id not in by_step:
            continue
        slips = list(by_step[m.id].values())
        recent = [e for e in slips if since < e.day <= ctx.as_of]
        if not recent:
            continue
        days = sum(e.days or 0 for e in recent)
        last = recent[-1]
        times = len(slips)
        yield Finding(
            "MAP214",
            ("milestones", m.index, last.key or "due"),
            f"`{m.id}` slipped {days} day{'s' * (days != 1)} in the last "
            f"{ctx.config.slip_days} days ({last.key} {last.before} → {last.after}); "
            f"it has slipped {times} time{'s' * (times != 1)} in all",
            "find out what moved it and whether the customer agrees to the new date",
        )


@finding("MAP215")
def dependency_conflict(ctx: Context) -> Iterator[Finding]:
    deal = ctx.deal
    for m in deal.milestones:
        begins = m.start or m.due
        for j, ref in enumerate(m.after):
            before = deal.milestone(ref)
            if before is not None and before.due > begins:
                yield Finding(
                    "MAP215",
                    ("milestones", m.index, "after", j),
                    f"`{m.id}` {'starts' if m.start else 'is due'} {begins} but waits for "
                    f"`{ref}`, due {before.due}",
                    f"move `{m.id}` later or `{ref}` earlier",
                )


@finding("MAP216")
def no_economic_buyer(ctx: Context) -> Iterator[Finding]:
    for role in ("economic buyer", "champion"):
        if not any(p.has_role(role) for p in ctx.deal.customer_people):
            yield Finding(
                "MAP216",
                ("people",),
                f"no customer person has the role `{role}`",
                f"find out who the {role} is and add them with `role: {role}`",
                at_key=True,
            )


@finding("MAP217")
def plan_size(ctx: Context) -> Iterator[Finding]:
    n = sum(1 for m in ctx.deal.milestones if m.is_open)
    lo, hi = ctx.config.plan_size_min, ctx.config.plan_size_max
    if n < lo:
        yield Finding(
            "MAP217",
            ("milestones",),
            f"only {n} open steps (fewer than {lo})",
            "a plan this thin hides the customer's steps: add them",
            at_key=True,
        )
    elif n > hi:
        yield Finding(
            "MAP217",
            ("milestones",),
            f"{n} open steps (more than {hi})",
            "group small tasks into steps with one exit artifact each",
            at_key=True,
        )


# The findings that look only at the deal and the settings, not at the day, the confirmations'
# coverage or the history: a deal (immutable) judged on many days is judged on these once.
STATIC = frozenset(
    {
        "MAP201",
        "MAP202",
        "MAP204",
        "MAP206",
        "MAP207",
        "MAP208",
        "MAP209",
        "MAP210",
        "MAP215",
        "MAP216",
        "MAP217",
    }
)


def _static_finding(ctx: Context, code: str) -> list[Finding]:
    """The STATIC finding `code` of `ctx.deal` under `ctx.config`, computed once per deal
    object (and only when asked for)."""
    memo = ctx.deal.__dict__.get("_static_findings")
    if memo is None or memo[0] is not ctx.config:
        memo = (ctx.config, {})
        ctx.deal.__dict__["_static_findings"] = memo  # a frozen dataclass keeps a __dict__
    found: dict[str, list[Finding]] = memo[1]
    if code not in found:
        found[code] = list(FINDINGS[code](ctx))
    return found[code]


def enabled(config: Config, code: str) -> bool:
    """Whether the finding `code` is run under `config` (its severity is not `off`)."""
    return config.severity.get(code) != "off"


def run_findings(ctx: Context, only: Collection[str] | None = None) -> Iterator[Finding]:
    """Every registered finding whose severity is not `off`, in code order; with `only`, just
    those codes."""
    for code in sorted(FINDINGS) if only is None else sorted(set(only) & FINDINGS.keys()):
        if not enabled(ctx.config, code):
            continue
        if code in STATIC:
            yield from _static_finding(ctx, code)
        else:
            yield from FINDINGS[code](ctx)
