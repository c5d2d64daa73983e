"""Everything the site shows, as plain data: the pages render it, `data.json` is it.

One function per page kind; each takes the repository's deals, their histories and scores and
returns dicts and lists of JSON values (dates as ISO text), so templates hold no logic beyond
layout and the data can be tested without rendering anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mapdown import __version__
from mapdown.ask import ask_json, build_ask
from mapdown.config import Config
from mapdown.history import DealHistory, Event, coverage, iter_weeks
from mapdown.model import Deal, Milestone
from mapdown.plan import must_be_true_by, step_state, walk_back, walk_plan
from mapdown.rules import RULES, is_team_name, missing_internal_steps, recorded_confirmation
from mapdown.score import Score, score_deal, weekly

WEEK_EVENT_KINDS = (
    "slipped",
    "pulled-in",
    "confirmed",
    "confirmation-changed",
    "confirmation-voided",
    "confirmation-removed",
    "done",
    "created",
    "removed",
    "owner-changed",
)


@dataclass
class DealInput:
    """What the site knows of one deal: the file as it is, its findings, its history."""

    deal: Deal
    path: str  # repository-relative path of the file
    findings: list[dict[str, Any]]  # check's diagnostics for the file, as JSON records
    history: DealHistory | None


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _covered(item: DealInput, n: int | None = None) -> Callable[[Milestone], bool]:
    return coverage(item.deal, item.history, n)


def _event_json(e: Event) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "milestone": e.milestone,
        "day": e.day.isoformat(),
        "commit": e.commit,
        "author": e.author,
        "key": e.key,
        "from": e.before,
        "to": e.after,
        "days": e.days,
    }


def milestone_rows(item: DealInput, as_of: dt.date) -> list[dict[str, Any]]:
    """The MAP's rows with who owns them, their confirmation (since when) and state."""
    deal, history = item.deal, item.history
    covered = _covered(item)
    rows = []
    for m in deal.milestones:
        owner = deal.person(m.owner)
        since = None
        events: list[Event] = []
        if history is not None:
            track = history.track(m.id)
            if track is not None and track.confirmed_at is not None and m.confirmed_by:
                since = history.states[track.confirmed_at].day.isoformat()
            events = [e for e in history.events if e.milestone == m.id]
        recorded = recorded_confirmation(deal, m)
        rows.append(
            {
                "id": m.id,
                "step": m.step,
                "track": m.track,
                "owner": m.owner,
                "owner_side": owner.side if owner else None,
                "owner_is_team": is_team_name(m.owner, ())
                or (owner is not None and _team(owner.name, item)),
                "start": _iso(m.start),
                "due": m.due.isoformat(),
                "exit": m.exit,
                "status": m.status,
                "evidence": m.evidence,
                "confirmed_by": m.confirmed_by,
                "confirmation": m.confirmation,
                "confirmed_since": since,
                "covered": covered(m),
                "state": step_state(m, as_of, covered(m), recorded),
                "after": list(m.after),
                "slips": [_event_json(e) for e in events if e.kind in ("slipped", "pulled-in")],
                "events": [_event_json(e) for e in events],
            }
        )
    return rows


def _team(name: str, item: DealInput) -> bool:
    return any(f["code"] == "MAP201" and f"`{name}`" in f["message"] for f in item.findings)


def people_rows(item: DealInput) -> dict[str, list[dict[str, Any]]]:
    deal = item.deal
    out: dict[str, list[dict[str, Any]]] = {"customer": [], "vendor": []}
    for p in deal.people:
        out[p.side].append(
            {
                "name": p.name,
                "role": p.role,
                "title": p.title,
                "email": p.email,
                "team_name": _team(p.name, item),
                "owns": sum(1 for m in deal.milestones if m.owner == p.name),
                "confirms": sum(1 for m in deal.milestones if m.confirmed_by == p.name),
            }
        )
    return out


def questions(item: DealInput, as_of: dt.date, score: Score, config: Config) -> dict[str, Any]:
    """The three questions of a deal review, answered from the data."""
    deal = item.deal
    walk = walk_back(deal, as_of, _covered(item))
    customer_owned = deal.has_customer_step
    return {
        "confirmation": {
            "rate": score.confirmation_rate,
            "window_dates": score.window_dates,
            "confirmed_dates": score.confirmed_dates,
            "window_days": config.confirmation_window_days,
            "unconfirmed": [
                {"milestone": d.milestone, "key": d.key, "date": d.day.isoformat()}
                for d in score.window
                if not d.confirmed
            ],
        },
        "internal_missing": [i.name for i in missing_internal_steps(deal, config)],
        "vendor_only": not customer_owned,
        "close": _iso(deal.close),
        "walk_back": [w.to_json() for w in walk],
    }


HOLDING = ("done", "confirmed")  # the states in which a step is as it should be


def week_questions(
    deal: Deal,
    day: dt.date,
    config: Config,
    history: DealHistory | None,
    rows: dict[Any, Any] | None = None,
) -> dict[str, Any]:
    """Questions 2 and 3 as the plan stood on `day` (question 1 is the week's score window).

    The walk back is kept short, as a week has many: how many steps before close and before
    go-live are in each state, and the steps that are not yet true or cannot hold their date.
    With `rows` (a dict the caller keeps for one deal's weeks), a step's row that an earlier
    week already had (the same step object, state and dates: nine rows in ten at 1,000 deals)
    is that earlier row itself, so a page can render it once (the site's `remember`).
    """
    n = history.upto(day) if history is not None else None
    covered = coverage(deal, history, n)

    counts: dict[str, dict[str, int]] = {"before_close": {}, "before_go_live": {}}
    open_steps = []
    # the walk back (plan.walk_back) without a WalkStep made for each step of each week
    for m, latest, _, _, recorded, before_close in walk_plan(deal):
        state = step_state(m, day, covered(m), recorded)
        side = counts["before_close" if before_close else "before_go_live"]
        side[state] = side.get(state, 0) + 1
        by = must_be_true_by(latest, before_close, deal.close)
        if state not in HOLDING or by < m.due:
            key = (id(m), state, by, before_close)
            known = rows.get(key) if rows is not None else None
            if known is None:
                row = {
                    "id": m.id,
                    "step": m.step,
                    "owner": m.owner,
                    "due": m.due.isoformat(),
                    "must_be_true_by": by.isoformat(),
                    "days_to_spare": (by - m.due).days,
                    "state": state,
                    "before_close": before_close,
                }
                if rows is not None:
                    rows[key] = (m, row)  # the step kept alive: its id stays its own
            else:
                row = known[1]
            open_steps.append(row)
    return {
        "internal_missing": [i.name for i in missing_internal_steps(deal, config)],
        "vendor_only": not deal.has_customer_step,
        "close": _iso(deal.close),
        "walk_counts": counts,
        "walk_open": open_steps,
    }


def countdown_weeks(
    item: DealInput, as_of: dt.date, config: Config, series: Sequence[Any]
) -> list[dict[str, Any]]:
    """The weekly countdown pages of a deal: what happened that week, and where to work next."""
    history = item.history
    deal = item.deal
    by_week = {w.week: w for w in series}
    weeks = []
    first = history.first_day if history and history.first_day else as_of
    previous: Any = None
    rows: dict[Any, Any] = {}  # the open steps' rows, shared by the weeks that have the same
    by_sunday: dict[dt.date, list[dict[str, Any]]] = {}  # each week's events, by its Sunday
    for e in history.events if history is not None else ():
        if e.day <= as_of and e.kind in WEEK_EVENT_KINDS:
            sunday = e.day + dt.timedelta(days=6 - e.day.weekday())
            by_sunday.setdefault(sunday, []).append(_event_json(e))
    for week, sunday in iter_weeks(min(first, as_of), min(as_of, deal.go_live)):
        monday = sunday - dt.timedelta(days=6)
        day = min(sunday, as_of)
        scored = by_week.get(week)
        state_deal = deal
        if history is not None:
            state_deal = history.deal_as_of(day) or deal
        events = by_sunday.get(sunday, [])
        s = (
            scored.score
            if scored
            else score_deal(
                state_deal, day, config, history, history.upto(day) if history else None
            )
        )
        asked = week_questions(state_deal, day, config, history, rows)
        # every step due this week, done or not; overdue: open and past its due date by the
        # day the week is judged on (its Sunday, or the as-of day in the current week)
        due = [m for m in state_deal.milestones if monday <= m.due <= sunday]
        overdue = [m for m in state_deal.milestones if m.is_open and m.due < day]
        weeks.append(
            {
                "week": week,
                "monday": monday.isoformat(),
                "sunday": sunday.isoformat(),
                "as_of": day.isoformat(),
                "weeks_to_go_live": weeks_until(deal.go_live, sunday),
                "days_to_go_live": (deal.go_live - day).days,
                "events": events,
                "due": [
                    {
                        "id": m.id,
                        "step": m.step,
                        "owner": m.owner,
                        "due": m.due.isoformat(),
                        "status": m.status,
                        "late": m.is_open and m.due < day,
                    }
                    for m in due
                ],
                "overdue": [
                    {
                        "id": m.id,
                        "step": m.step,
                        "owner": m.owner,
                        "due": m.due.isoformat(),
                        "days": (day - m.due).days,
                    }
                    for m in overdue
                ],
                "unconfirmed": [
                    {"milestone": d.milestone, "key": d.key, "date": d.day.isoformat()}
                    for d in s.window
                    if not d.confirmed
                ],
                "score": s.score,
                "confirmation_rate": s.confirmation_rate,
                "window_dates": s.window_dates,
                "confirmed_dates": s.confirmed_dates,
                **asked,
                "score_change": (s.score - previous.score) if previous else None,
                "rate_change": (
                    round(s.confirmation_rate - previous.confirmation_rate, 1)
                    if previous
                    and s.confirmation_rate is not None
                    and previous.confirmation_rate is not None
                    else None
                ),
            }
        )
        previous = s
    for i, w in enumerate(weeks):
        w["previous"] = weeks[i - 1]["week"] if i else None
        w["next"] = weeks[i + 1]["week"] if i + 1 < len(weeks) else None
    return weeks


def deal_data(item: DealInput, as_of: dt.date, config: Config) -> dict[str, Any]:
    """Everything the deal's pages (internal, weekly, share, calendar) show."""
    deal, history = item.deal, item.history
    score = score_deal(deal, as_of, config, history, None)
    series = weekly(history, as_of, config) if history is not None else []
    last = None
    if history is not None and history.states:
        s = history.states[-1]
        last = {
            "day": s.day.isoformat(),
            "commit": s.commit,
            "author": s.author,
            "subject": s.subject,
        }
    return {
        "id": deal.id,
        "title": deal.title,
        "customer": deal.customer,
        "path": item.path,
        "go_live": deal.go_live.isoformat(),
        "deadline": _iso(deal.deadline),
        "deadline_reason": deal.deadline_reason,
        "close": _iso(deal.close),
        "weeks_left": round((deal.go_live - as_of).days / 7, 1),
        "runway_days": (deal.deadline - deal.go_live).days if deal.deadline else None,
        "score": score.to_json(),
        "weeks": [
            {
                "week": w.week,
                "end": w.end.isoformat(),
                "score": w.score.score,
                "confirmation_rate": w.score.confirmation_rate,
                "parts": w.score.parts,
            }
            for w in series
        ],
        "people": people_rows(item),
        "milestones": milestone_rows(item, as_of),
        "findings": item.findings,
        "questions": questions(item, as_of, score, config),
        "ask": ask_json(build_ask(deal, as_of, config, _covered(item))),
        "notes": deal.body,
        "last_change": last,
        "countdown": countdown_weeks(item, as_of, config, series),
        "history": history is not None,
    }


AT_RISK_SCORE = 70
AT_RISK_RATE = 50.0


def deal_risk(deal: dict[str, Any]) -> list[str]:
    """Why a deal is at risk, in words (nothing: it is not)."""
    score = deal["score"]
    why = []
    if score["score"] < AT_RISK_SCORE:
        why.append(f"score under {AT_RISK_SCORE}")
    rate = score["confirmation_rate"]
    if rate is not None and rate < AT_RISK_RATE:
        why.append("under half of the next dates confirmed")
    if any(m["state"] == "late" for m in deal["milestones"]):
        why.append("a step is overdue")
    if score["slips_7d"]:
        why.append("slipped in the last 7 days")
    return why


def summary(deal: dict[str, Any]) -> dict[str, Any]:
    """What the pages across deals (dashboards, weekly reviews) and data.json's list of deals
    need of a deal; everything else is in the deal's own data.json."""
    out = {
        k: deal[k] for k in ("id", "title", "customer", "go_live", "close", "weeks_left", "score")
    }
    out["last_change"] = deal["last_change"]
    out["risk"] = deal_risk(deal)
    out["weeks"] = [
        {k: w[k] for k in ("week", "end", "score", "confirmation_rate")} for w in deal["weeks"]
    ]
    out["countdown"] = [_review_row(w) for w in deal["countdown"]]
    return out


def weeks_until(day: dt.date, sunday: dt.date) -> int:
    """How many weeks after the week ending `sunday` the week holding `day` is: 0 when `day` is
    in it, 1 for any day of the next week (Monday included), negative once it has passed."""
    return -((sunday - day).days // 7)


def _review_row(w: dict[str, Any]) -> dict[str, Any]:
    """A deal's countdown week as the week's review lists it."""
    kinds = [e["kind"] for e in w["events"]]
    return {
        "week": w["week"],
        "sunday": w["sunday"],
        "score": w["score"],
        "score_change": w["score_change"],
        "confirmation_rate": w["confirmation_rate"],
        "rate_change": w["rate_change"],
        "weeks_to_go_live": w["weeks_to_go_live"],
        "slipped": kinds.count("slipped"),
        "voided": kinds.count("confirmation-voided"),
        "confirmed": kinds.count("confirmed") + kinds.count("confirmation-changed"),
        "overdue": len(w["overdue"]),
        "unconfirmed": len(w["unconfirmed"]),
    }


def review_row(deal: dict[str, Any], week: dict[str, Any]) -> dict[str, Any]:
    """A deal's row in a week's forecast review, from its `summary` and a countdown week."""
    row = {"id": deal["id"], "title": deal["title"], "customer": deal["customer"], **week}
    del row["week"], row["sunday"]  # the rest in the week's order (44,000 rows at 1,000 deals)
    return row


def review_weeks(deals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The forecast review for every ISO week from each deal's `summary`: each deal's score and
    change, worst drops first."""
    weeks: dict[str, list[dict[str, Any]]] = {}
    ends: dict[str, str] = {}
    for d in deals:
        for w in d["countdown"]:
            ends[w["week"]] = w["sunday"]
            weeks.setdefault(w["week"], []).append(review_row(d, w))
    out = []
    for week in sorted(weeks):
        rows = sorted(
            weeks[week],
            key=lambda r: (
                r["score_change"] if r["score_change"] is not None else 0,
                r["score"],
                r["id"],
            ),
        )
        out.append({"week": week, "sunday": ends[week], "deals": rows})
    return out


def site_data(items: Iterable[DealInput], as_of: dt.date, config: Config) -> dict[str, Any]:
    """The whole site as data: data.json's summary (each deal's `deals/<id>/data.json` is its
    `deal_data`)."""
    return assemble([summary(deal_data(item, as_of, config)) for item in items], as_of, config)


def assemble(deals: list[dict[str, Any]], as_of: dt.date, config: Config) -> dict[str, Any]:
    """The whole site as data from each deal's `summary` (computed now, or cached)."""
    deals = sorted(deals, key=lambda d: (d["score"]["score"], d["id"]))  # at risk first
    return {
        "title": config.site_title,
        "base_url": config.base_url,
        "as_of": as_of.isoformat(),
        "generator": f"mapdown {__version__}",
        "deals": deals,
        "weeks": review_weeks(deals),
        "rules": [{"code": r.code, "name": r.name, "summary": r.summary} for r in RULES.values()],
    }
