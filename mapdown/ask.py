"""`mapdown ask`: the message a seller sends the champion, and the share page's ask.

It holds only what goes to the customer: the plan's dates the customer has not confirmed, the
steps past their date, and the internal steps the plan is missing, with the single ask. No
notes, scores or findings. `mapdown ask` renders it as a message; the site keeps it in the
deal's data (`ask_json`), and the share page shows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mapdown.config import Config
from mapdown.model import Deal, Milestone
from mapdown.rules import missing_internal_steps

ASK = "Can you confirm these dates work on your side — and add the internal steps I'm missing?"


@dataclass(frozen=True)
class AskDate:
    day: dt.date
    key: str  # start or due
    milestone: Milestone
    owner: str


@dataclass
class Ask:
    deal: Deal
    as_of: dt.date
    window_days: int
    soon: list[AskDate] = field(default_factory=list)  # in the next N days
    later: list[AskDate] = field(default_factory=list)
    past: list[Milestone] = field(default_factory=list)  # open, due on or before the as-of day
    missing: list[str] = field(default_factory=list)  # customer-internal steps with no row
    vendor_only: bool = False  # no step is the customer's
    champion: str | None = None


def build_ask(
    deal: Deal, as_of: dt.date, config: Config, covered: Callable[[Milestone], bool]
) -> Ask:
    """The unconfirmed dates of open steps (next N days first: the confirmation window, as the
    rate counts it), the open steps due by the as-of day (they need a new date, not a
    confirmation), and the missing internal steps."""
    last = as_of + dt.timedelta(days=config.confirmation_window_days)
    ask = Ask(deal, as_of, config.confirmation_window_days)
    for m in deal.milestones:
        if not m.is_open or covered(m):
            continue
        for key, day in m.dates:
            if day <= as_of:
                continue  # a past date needs a new date, not a confirmation
            (ask.soon if day <= last else ask.later).append(AskDate(day, key, m, m.owner))
    ask.soon.sort(key=lambda d: (d.day, d.milestone.id, d.key))
    ask.later.sort(key=lambda d: (d.day, d.milestone.id, d.key))
    ask.past = sorted(
        (m for m in deal.milestones if m.is_open and m.due <= as_of), key=lambda m: (m.due, m.id)
    )
    ask.missing = [item.name for item in missing_internal_steps(deal, config)]
    ask.vendor_only = not deal.has_customer_step
    champion = next((p for p in deal.customer_people if p.has_role("champion")), None)
    ask.champion = champion.name if champion else None
    return ask


def ask_json(ask: Ask) -> dict[str, Any]:
    """The ask as the site keeps it in a deal's data (and the share page shows it)."""

    def date(d: AskDate) -> dict[str, Any]:
        return {
            "date": d.day.isoformat(),
            "key": d.key,
            "id": d.milestone.id,
            "step": d.milestone.step,
            "owner": d.owner,
        }

    return {
        "question": ASK,
        "window_days": ask.window_days,
        "soon": [date(d) for d in ask.soon],
        "later": [date(d) for d in ask.later],
        "past": [
            {"id": m.id, "step": m.step, "owner": m.owner, "due": m.due.isoformat()}
            for m in ask.past
        ],
        "missing": list(ask.missing),
        "vendor_only": ask.vendor_only,
        "champion": ask.champion,
    }


def day_text(day: dt.date) -> str:
    """`Fri 4 Dec 2026`: as the site writes a day, with no zero before a one-digit day."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def _date_line(d: AskDate) -> str:
    what = "starts" if d.key == "start" else "due"
    return f"{day_text(d.day)} — {d.milestone.step} ({what}; owner: {d.owner})"


def render(ask: Ask, markdown: bool = False) -> str:
    """The message, as plain text or Markdown, ready to paste into an email."""
    deal = ask.deal
    bullet = "- "
    first = ask.champion.split()[0] if ask.champion else None
    head = (lambda s: f"**{s}**") if markdown else (lambda s: s)
    out = [f"Hi {first}," if first else "Hello,", ""]
    out.append(
        f"Here is our plan for {deal.title}, planned back from your go-live on "
        f"{deal.go_live.day} {deal.go_live:%B %Y}."
    )
    if not ask.soon and not ask.later and not ask.past and not ask.missing and not ask.vendor_only:
        out += [
            "",
            "Every date in it is confirmed and I see your internal steps — thank you. "
            "I'll keep it current each week.",
        ]
        return "\n".join(out) + "\n"
    out += ["", head(ASK), ""]
    if ask.soon:
        out.append(head(f"Dates in the next {ask.window_days} days to confirm:"))
        out += [bullet + _date_line(d) for d in ask.soon]
        out.append("")
    if ask.later:
        out.append(head("Later dates to confirm:"))
        out += [bullet + _date_line(d) for d in ask.later]
        out.append("")
    if ask.past:
        out.append(head("Steps due by today and not done: when can they happen now?"))
        out += [bullet + f"{day_text(m.due)} — {m.step} (owner: {m.owner})" for m in ask.past]
        out.append("")
    if ask.vendor_only:
        out.append(head("Steps on your side:"))
        out.append(
            bullet + "every step in the plan so far is ours: which steps on your side belong "
            "here, who owns each, and when do they happen?"
        )
        out.append("")
    if ask.missing:
        out.append(head("Internal steps on your side I don't see yet:"))
        out += [
            bullet + f"your {name}: who owns it, and when does it happen?" for name in ask.missing
        ]
        out.append("")
    out.append(
        'A reply with "confirmed", or with the dates and names that are right, is all '
        "I need; I'll record it in the plan."
    )
    return "\n".join(out) + "\n"
