"""`mapdown new`: a deal file that starts with every customer-internal step, planned backward."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mapdown.errors import UsageProblem
from mapdown.plan import PlanStep, latest_finish
from mapdown.spec import SLUG

BUFFER_DAYS = 7  # every date is pulled this much earlier than the latest the chain allows


@dataclass(frozen=True)
class TemplatePerson:
    name: str
    side: str
    role: str


@dataclass(frozen=True)
class TemplateStep:
    id: str
    step: str
    track: str
    owner: str
    duration: int
    exit: str
    after: tuple[str, ...] = ()


PEOPLE = (
    TemplatePerson("TBD champion", "customer", "champion"),
    TemplatePerson("TBD economic buyer", "customer", "economic buyer"),
    TemplatePerson("TBD security owner", "customer", "security owner"),
    TemplatePerson("TBD counsel", "customer", "counsel"),
    TemplatePerson("TBD sourcing lead", "customer", "sourcing lead"),
    TemplatePerson("TBD account executive", "vendor", "account executive"),
)

STEPS = (
    TemplateStep(
        "technical-validation",
        "Technical validation completed",
        "technical",
        "TBD champion",
        14,
        "Validation results accepted by the champion in writing",
    ),
    TemplateStep(
        "security-review",
        "Security review completed",
        "technical",
        "TBD security owner",
        21,
        "Security assessment issued with no open high findings",
        ("technical-validation",),
    ),
    TemplateStep(
        "business-case",
        "Business case agreed with the champion",
        "business",
        "TBD champion",
        10,
        "Business case document signed off by the champion",
    ),
    TemplateStep(
        "approval-committee",
        "Approval committee decision",
        "business",
        "TBD economic buyer",
        7,
        "Committee minutes record approval to proceed",
        ("business-case",),
    ),
    TemplateStep(
        "legal-review",
        "Legal review: MSA redlines returned",
        "paper",
        "TBD counsel",
        21,
        "Redlined MSA returned by counsel",
    ),
    TemplateStep(
        "vendor-registration",
        "Procurement: vendor registration completed",
        "paper",
        "TBD sourcing lead",
        14,
        "Vendor number issued in the customer's supplier system",
    ),
    TemplateStep(
        "signature",
        "Order form signed by the economic buyer",
        "paper",
        "TBD economic buyer",
        3,
        "Countersigned order form and PO number",
        ("security-review", "approval-committee", "legal-review", "vendor-registration"),
    ),
    TemplateStep(
        "kickoff",
        "Implementation kickoff",
        "technical",
        "TBD account executive",
        5,
        "Kickoff deck and project plan accepted by the champion",
        ("signature",),
    ),
    TemplateStep(
        "implementation",
        "Implementation and user acceptance testing",
        "technical",
        "TBD account executive",
        35,
        "UAT sign-off by the champion",
        ("kickoff",),
    ),
    TemplateStep(
        "go-live-readiness",
        "Go-live readiness sign-off",
        "technical",
        "TBD champion",
        3,
        "Signed go-live readiness checklist",
        ("implementation",),
    ),
)


def schedule(
    go_live: dt.date, close: dt.date | None, buffer_days: int = BUFFER_DAYS
) -> dict[str, tuple[dt.date, dt.date]]:
    """(start, due) per template step: as late as the chain allows, less the buffer."""
    plan = [PlanStep(s.id, s.track, s.duration, s.after) for s in STEPS]
    finish = latest_finish(plan, go_live, close, paper_by_close=True)
    pull = dt.timedelta(days=buffer_days)
    out = {}
    for s in STEPS:
        due = finish[s.id] - pull
        out[s.id] = (due - dt.timedelta(days=s.duration), due)
    return out


def _q(text: str) -> str:
    """A YAML double-quoted scalar (a JSON string is one)."""
    return json.dumps(text, ensure_ascii=False)


def render(
    deal_id: str,
    customer: str,
    go_live: dt.date,
    close: dt.date | None,
    deadline: dt.date | None,
    title: str | None,
) -> str:
    dates = schedule(go_live, close)
    out = [
        "---",
        f"title: {_q(title or customer)}",
        f"customer: {_q(customer)}",
        f"go_live: {go_live}  # the customer's production go-live: the anchor of the plan",
    ]
    if deadline:
        out.append(f"deadline: {deadline}")
        out.append('deadline_reason: "TBD: why the customer must be live by then"')
    if close:
        out.append(f"close: {close}")
    out.append("# Replace every TBD with the one person who owns it; `mapdown check` flags them.")
    out.append("people:")
    for p in PEOPLE:
        out += [f"  - name: {p.name}", f"    side: {p.side}", f"    role: {p.role}"]
    out.append("# Planned backward from go-live. Send these dates to the champion to confirm in")
    out.append("# writing, then record confirmed_by and confirmation on each step.")
    out.append("milestones:")
    for s in STEPS:
        start, due = dates[s.id]
        out += [
            f"  - id: {s.id}",
            f"    step: {_q(s.step)}",
            f"    track: {s.track}",
            f"    owner: {s.owner}",
            f"    start: {start}",
            f"    due: {due}",
            f"    exit: {_q(s.exit)}",
        ]
        if s.after:
            out.append(f"    after: [{', '.join(s.after)}]")
    out += [
        "---",
        "",
        "## Notes",
        "",
        "Why this deal, why now, and what the customer's go-live date depends on.",
        "",
    ]
    return "\n".join(out)


def create_deal(
    deals_dir: Path,
    deal_id: str,
    *,
    customer: str,
    go_live: dt.date,
    close: dt.date | None = None,
    deadline: dt.date | None = None,
    title: str | None = None,
) -> Path:
    """Write deals/<id>.md; refuses to overwrite, and never leaves a half-written file."""
    if not SLUG.match(deal_id):
        raise UsageProblem(
            f"`{deal_id}` is not a deal id: use lowercase letters, digits and "
            "dashes, e.g. harbor-federal"
        )
    if not customer.strip():
        raise UsageProblem("--customer is empty")
    target = deals_dir / f"{deal_id}.md"
    if target.exists() or target.is_symlink():
        raise UsageProblem(f"{target} already exists; mapdown new never overwrites a deal")
    deals_dir.mkdir(parents=True, exist_ok=True)
    text = render(deal_id, customer.strip(), go_live, close, deadline, title)
    fd, tmp = tempfile.mkstemp(dir=deals_dir, prefix=f".{deal_id}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes the file private; a deal is not
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        try:
            os.link(tmp, target)  # atomic, and fails if the target appeared meanwhile
        except FileExistsError:
            raise UsageProblem(
                f"{target} already exists; mapdown new never overwrites a deal"
            ) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target
