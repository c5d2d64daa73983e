"""A synthetic deals repository for benchmarks, made with `git fast-import`.

    python benchmarks/make_repo.py OUT [--deals 1000] [--revisions 40] [--seed 7]

N deals × R revisions, seeded and deterministic. Each deal starts as a realistic plan (six
people, ten steps across the three tracks) and each later revision makes one edit a seller
makes: a slip, a pull-in, a confirmation recorded, a date moved under a confirmation (voiding
it), a re-confirmation, a step done with evidence, a step added. Some deals are renamed once,
and side branches are merged with --no-ff. Commits are spread over ten months, one committer
date per commit, in increasing order.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
SPAN_DAYS = 300
CUSTOMER_ROLES = ("champion", "economic buyer", "security owner", "counsel", "sourcing lead")
FIRST = (
    "Dana",
    "Priya",
    "Tom",
    "Lena",
    "Marcus",
    "Grace",
    "Raj",
    "Ellen",
    "Kenji",
    "Olivia",
    "Diego",
    "Rachel",
    "Nina",
    "Sam",
    "Ava",
    "Noah",
)
LAST = (
    "Whitfield",
    "Raman",
    "Becker",
    "Ortiz",
    "Hale",
    "Okafor",
    "Menon",
    "Vasquez",
    "Watanabe",
    "Brandt",
    "Alvarez",
    "Stein",
    "Patel",
    "Carter",
    "Moreau",
    "Lindqvist",
)
STEPS = (
    (
        "security-review",
        "Security review completed",
        "technical",
        2,
        "Security assessment issued with no open high findings",
    ),
    (
        "technical-validation",
        "Technical validation",
        "technical",
        0,
        "Validation results accepted in writing",
    ),
    ("business-case", "Business case agreed", "business", 0, "Business case signed off"),
    (
        "approval-committee",
        "Approval committee decision",
        "business",
        1,
        "Committee minutes record approval",
    ),
    (
        "legal-review",
        "Legal review: MSA redlines returned",
        "paper",
        3,
        "Redlined MSA returned by counsel",
    ),
    ("vendor-registration", "Procurement: vendor registration", "paper", 4, "Vendor number issued"),
    (
        "signature",
        "Order form signed by the economic buyer",
        "paper",
        1,
        "Countersigned order form and PO number",
    ),
    ("kickoff", "Implementation kickoff", "technical", 5, "Kickoff deck accepted"),
    ("implementation", "Implementation and UAT", "technical", 5, "UAT sign-off"),
    (
        "go-live-readiness",
        "Go-live readiness sign-off",
        "technical",
        0,
        "Signed readiness checklist",
    ),
)


@dataclass
class Step:
    id: str
    step: str
    track: str
    owner: str
    start: dt.date
    due: dt.date
    exit: str
    status: str = "planned"
    evidence: str | None = None
    confirmed_by: str | None = None
    confirmation: str | None = None
    after: list[str] = field(default_factory=list)


@dataclass
class DealState:
    id: str
    path: str
    customer: str
    go_live: dt.date
    close: dt.date
    people: list[tuple[str, str, str]]  # name, side, role
    steps: list[Step]
    confirmations: int = 0

    def render(self) -> str:
        out = [
            "---",
            f"title: {self.customer} platform",
            f"customer: {self.customer}",
            f"go_live: {self.go_live}",
            f"close: {self.close}",
            "people:",
        ]
        for name, side, role in self.people:
            out += [f"  - name: {name}", f"    side: {side}", f"    role: {role}"]
        out.append("milestones:")
        for s in self.steps:
            out += [
                f"  - id: {s.id}",
                f"    step: {json.dumps(s.step)}",
                f"    track: {s.track}",
                f"    owner: {s.owner}",
                f"    start: {s.start}",
                f"    due: {s.due}",
                f"    exit: {json.dumps(s.exit)}",
            ]
            if s.status != "planned":
                out.append(f"    status: {s.status}")
            if s.evidence:
                out.append(f"    evidence: {s.evidence}")
            if s.confirmed_by:
                out.append(f"    confirmed_by: {s.confirmed_by}")
                out.append(f'    confirmation: "{s.confirmation}"')
            if s.after:
                out.append(f"    after: [{', '.join(s.after)}]")
        out += ["---", "", "## Notes", "", f"Synthetic deal {self.id}.", ""]
        return "\n".join(out)


def deal_path(index: int, per_folder: int = 0) -> str:
    """A deal's file: directly in deals/, or in a subfolder of `per_folder` deals."""
    name = f"deal-{index:05d}.md"
    return f"deals/{name}" if per_folder <= 0 else f"deals/g{index // per_folder:03d}/{name}"


def new_deal(rng: random.Random, index: int, day: dt.date, per_folder: int = 0) -> DealState:
    names = rng.sample([f"{first} {last}" for first in FIRST for last in LAST], 7)
    people = [(names[i], "customer", CUSTOMER_ROLES[i]) for i in range(5)]
    people += [(names[5], "vendor", "account executive"), (names[6], "vendor", "engineer")]
    go_live = (START + dt.timedelta(days=SPAN_DAYS + rng.randint(30, 150))).date()
    close = go_live - dt.timedelta(days=rng.randint(50, 80))
    steps = []
    previous: str | None = None
    for i, (sid, text, track, owner, exit_) in enumerate(STEPS):
        due = day + dt.timedelta(days=14 + i * (go_live - day).days // 12)
        after = [previous] if previous and track == "technical" and i > 6 else []
        steps.append(
            Step(
                sid,
                text,
                track,
                people[owner][0],
                due - dt.timedelta(days=7),
                due,
                exit_,
                after=after,
            )
        )
        previous = sid
    return DealState(
        f"deal-{index:05d}",
        deal_path(index, per_folder),
        f"Customer {index:05d} Holdings",
        go_live,
        close,
        people,
        steps,
    )


def edit(rng: random.Random, deal: DealState, day: dt.date) -> str:
    """One seller's edit; returns the commit message."""
    open_steps = [s for s in deal.steps if s.status != "done"]
    if not open_steps:
        return "notes"
    s = rng.choice(open_steps)
    customers = [p[0] for p in deal.people if p[1] == "customer"]
    roll = rng.random()
    if roll < 0.30:
        days = rng.randint(2, 14)
        s.due += dt.timedelta(days=days)
        return f"{s.id} slipped {days} days"
    if roll < 0.40:
        days = rng.randint(1, 5)
        s.due -= dt.timedelta(days=days)
        s.start = min(s.start, s.due)
        return f"{s.id} pulled in {days} days"
    if roll < 0.70:
        deal.confirmations += 1
        s.confirmed_by = rng.choice(customers)
        s.confirmation = f"Email {day}, Re: MAP dates #{deal.confirmations}"
        return f"{s.id} confirmed"
    if roll < 0.85:
        s.status = "done"
        s.evidence = f"https://files.example/{deal.id}/{s.id}.pdf"
        return f"{s.id} done"
    if roll < 0.92:
        s.status = "in-progress"
        return f"{s.id} started"
    n = len(deal.steps) + 1
    due = s.due - dt.timedelta(days=3)
    deal.steps.append(
        Step(
            f"extra-{n}",
            f"Extra step {n}",
            rng.choice(("technical", "business", "paper")),
            rng.choice(customers),
            due - dt.timedelta(days=5),
            due,
            "Artifact issued",
        )
    )
    return f"extra-{n} added"


def build(out: Path, deals: int, revisions: int, seed: int, per_folder: int = 0) -> int:
    """The repository; `per_folder` > 0 puts the deals in subfolders of that many deals each
    (the same edits: only the paths differ)."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=False)
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True)
    total = deals * revisions
    step_seconds = SPAN_DAYS * 86400 / total
    states: dict[int, DealState] = {}
    plan = [i for i in range(deals) for _ in range(revisions)]
    rng.shuffle(plan)
    # every deal is created before its first edit: move each first occurrence into place
    seen: set[int] = set()
    stream: list[bytes] = []
    mark = 0
    main_tip: int | None = None
    side: list[tuple[int, DealState, str]] = []

    def commit(
        ref: str,
        when: dt.datetime,
        message: str,
        files: list[tuple[str, str]],
        parents: list[int],
        rename: tuple[str, str] | None = None,
    ) -> int:
        nonlocal mark
        mark += 1
        epoch = int(when.timestamp())
        head = [
            f"commit {ref}",
            f"mark :{mark}",
            f"author Sam Carter <sam@example.com> {epoch} +0000",
            f"committer Sam Carter <sam@example.com> {epoch} +0000",
        ]
        msg = message.encode()
        stream.append(("\n".join(head) + f"\ndata {len(msg)}\n").encode() + msg + b"\n")
        if parents:
            stream.append(f"from :{parents[0]}\n".encode())
            for p in parents[1:]:
                stream.append(f"merge :{p}\n".encode())
        if rename:
            stream.append(f'R "{rename[0]}" "{rename[1]}"\n'.encode())
        for path, text in files:
            data = text.encode()
            stream.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        stream.append(b"\n")
        return mark

    on_main: set[str] = set()  # paths the main branch's tree has
    for n, index in enumerate(plan):
        when = START + dt.timedelta(seconds=n * step_seconds)
        day = when.date()
        rename = None
        if index not in seen:
            seen.add(index)
            states[index] = new_deal(rng, index, day, per_folder)
            message = f"{states[index].id}: new plan"
        else:
            deal = states[index]
            message = f"{deal.id}: {edit(rng, deal, day)}"
            if (
                rng.random() < 0.01
                and not deal.path.endswith("-renamed.md")
                and deal.path in on_main  # git can only rename what the branch has
            ):
                new_path = deal.path.replace(".md", "-renamed.md")
                rename = (deal.path, new_path)
                deal.path = new_path
        deal = states[index]
        to_side = rng.random() < 0.02  # drawn every time: the same seed gives the same repo
        if to_side and main_tip is not None and rename is None:
            side.append((index, deal, message))  # lands on a side branch, merged later
            continue
        files = [(deal.path, deal.render())]
        if rename is not None:
            on_main.discard(rename[0])
        on_main.add(deal.path)
        if side and rng.random() < 0.3:
            branch_tip = main_tip
            for _, sdeal, smessage in side:
                # fast-import takes a merge's tree from its first parent and its own files:
                # what only the side branch wrote is not on the main branch
                branch_tip = commit(
                    "refs/heads/side",
                    when,
                    smessage,
                    [(sdeal.path, sdeal.render())],
                    [branch_tip] if branch_tip else [],
                )
            side.clear()
            main_tip = commit(
                "refs/heads/main",
                when,
                "Merge branch 'side'",
                files,
                [main_tip, branch_tip] if main_tip else [branch_tip],
                rename,
            )
            continue
        main_tip = commit(
            "refs/heads/main", when, message, files, [main_tip] if main_tip else [], rename
        )
    if side:
        when = START + dt.timedelta(days=SPAN_DAYS)
        for _, sdeal, smessage in side:
            main_tip = commit(
                "refs/heads/main",
                when,
                smessage,
                [(sdeal.path, sdeal.render())],
                [main_tip] if main_tip else [],
            )
    subprocess.run(
        ["git", "fast-import", "--quiet", "--date-format=raw"],
        cwd=out,
        input=b"".join(stream),
        check=True,
    )
    (out / "mapdown.yaml").write_text("timezone: UTC\n", encoding="utf-8")
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=out, check=True)
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@example.com",
            "add",
            "mapdown.yaml",
        ],
        cwd=out,
        check=True,
    )
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@example.com",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "-m",
            "config",
        ],
        cwd=out,
        check=True,
        env={
            **os.environ,
            "GIT_AUTHOR_DATE": "2026-11-01T00:00:00+00:00",
            "GIT_COMMITTER_DATE": "2026-11-01T00:00:00+00:00",
        },
    )
    return mark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--revisions", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--per-folder", type=int, default=0, help="deals per subfolder of deals/ (0: none)"
    )
    args = parser.parse_args()
    if args.out.exists():
        sys.exit(f"{args.out} exists; choose a new folder")
    commits = build(args.out, args.deals, args.revisions, args.seed, args.per_folder)
    print(f"{args.out}: {args.deals} deals × {args.revisions} revisions, {commits} commits")


if __name__ == "__main__":
    main()
