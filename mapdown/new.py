"""`mapdown new`: a deal file that starts with every customer-internal step, planned backward."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapdown.config import Config
from mapdown.errors import UsageProblem
from mapdown.plan import PlanStep, latest_finish
from mapdown.spec import SLUG


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
    owner: str  # the placeholder person's name
    duration: int
    exit: str
    after: tuple[str, ...] = ()


def template(steps: Sequence[dict[str, Any]]) -> tuple[list[TemplatePerson], list[TemplateStep]]:
    """People (one placeholder per owner role) and steps from the configured template."""
    people: dict[str, TemplatePerson] = {}
    out = []
    for s in steps:
        name = f"TBD {s['owner_role']}"
        people.setdefault(name, TemplatePerson(name, s["side"], s["owner_role"]))
        out.append(
            TemplateStep(
                s["id"],
                s["step"],
                s["track"],
                name,
                s["days"],
                s["exit"],
                tuple(s.get("after") or ()),
            )
        )
    for role in ("champion", "economic buyer"):  # every plan names these two (MAP216)
        people.setdefault(f"TBD {role}", TemplatePerson(f"TBD {role}", "customer", role))
    return list(people.values()), out


def schedule(
    go_live: dt.date, close: dt.date | None, steps: Sequence[TemplateStep], buffer_days: int
) -> dict[str, tuple[dt.date, dt.date]]:
    """(start, due) per template step: as late as the chain allows, less the buffer."""
    plan = [PlanStep(s.id, s.track, s.duration, s.after) for s in steps]
    finish = latest_finish(plan, go_live, close, paper_by_close=True)
    pull = dt.timedelta(days=buffer_days)
    out = {}
    for s in steps:
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
    config: Config,
) -> str:
    people, steps = template(config.new_steps)
    dates = schedule(go_live, close, steps, config.new_buffer_days)
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
    for p in people:
        out += [f"  - name: {p.name}", f"    side: {p.side}", f"    role: {p.role}"]
    out.append("# Planned backward from go-live. Send these dates to the champion to confirm in")
    out.append("# writing, then record confirmed_by and confirmation on each step.")
    out.append("milestones:")
    for s in steps:
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
    config: Config | None = None,
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
    try:
        deals_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UsageProblem(
            f"{deals_dir} is a file, not a folder: move it aside, or set `deals_dir` in "
            "mapdown.yaml to the folder the deals go in"
        ) from None
    text = render(deal_id, customer.strip(), go_live, close, deadline, title, config or Config())
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
