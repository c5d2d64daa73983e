"""`mapdown demo`: a git repository of the example deals with ten weeks of backdated history.

The history tells the stories the format is built for (FORMAT.md, "What git history adds"):

- Harbor Federal (the flagship): the plan is drafted on 22 September and the champion confirms her
  rows within days, but the sourcing lead will not commit dates for two weeks. On 8 October the
  economic buyer names him as the accountable sourcing owner, and on 14 October every open date is
  confirmed in three commits. In November the MSA redlines run late: on 16 November `msa-final`
  moves 9 days later with its confirmation left as it was (voided), and on 20 November counsel's
  new email re-confirms it (covered again).
- Northwind Logistics (healthy): every date is confirmed within days of being set; one date is
  moved and re-confirmed in the same commit; the file is renamed from `deals/northwind.md`.
- Acme Retail (a wish with columns): written by the seller alone on 30 October with "sounds good"
  from a call recorded as the confirmation. Every week or two the near dates slip later, each slip
  voiding what the call "confirmed", while the close date stays three days before quarter end.
  The confirmation rate, as of each Sunday, falls week by week: 100 %, 50 %, 13 %, 0 %. The deal
  desk finally strikes the call-based confirmations. Two of its commits live on a branch
  `acme-update`, merged with --no-ff.

The final tree equals the example deals in `deals/` (packaged in `mapdown/demo_deals/`). The story
is data (`demo_commits()`, a list of `DemoCommit`) and `commit_states()` replays any such list, so
tests build smaller fixture repositories with the same generator.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from mapdown.errors import MapdownError, UsageProblem

DEMO_DEALS = ("harbor-federal.md", "northwind-logistics.md", "acme-wish.md")  # final names
CONFIG_TEXT = "timezone: UTC\n"
GITIGNORE_TEXT = ".mapdown-cache/\n_site/\n"
DEFAULT_BRANCH = "main"


@dataclass(frozen=True)
class DemoCommit:
    """One commit of a story.

    `when` is an ISO datetime with an offset (author and committer date). `files` maps a
    repository-relative path to its new full content, or to None to delete it. `renames` (old →
    new) are done with `git mv` before the files are written. The commit is made on `branch`,
    created from the current HEAD when it does not exist yet. With `merge`, the commit merges that
    branch into `branch` with --no-ff (and may also write files).
    """

    when: str
    author: str
    email: str
    message: str
    files: dict[str, str | None] = field(default_factory=dict)
    renames: dict[str, str] = field(default_factory=dict)
    branch: str = DEFAULT_BRANCH
    merge: str | None = None

    @property
    def moment(self) -> dt.datetime:
        return _moment(self.when)


def _moment(when: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(when)
    if moment.tzinfo is None:
        raise ValueError(f"commit time {when!r} has no UTC offset; write e.g. +00:00")
    return moment


# ------------------------------------------------------------------------------ git plumbing


class _Git:
    """Runs git in one repository with a fixed, config-free environment (no user or system
    config, no inherited GIT_* variables), so the result is the same on a laptop and in CI."""

    def __init__(self, repo: Path, home: Path) -> None:
        self.repo = repo
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",
            LC_ALL="C",
            TZ="UTC",
        )
        self.env = env

    def __call__(
        self,
        *args: str,
        when: str | None = None,
        who: tuple[str, str] = ("mapdown demo", "demo@mapdown.invalid"),
    ) -> str:
        env = self.env
        if when is not None:
            env = {**env, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        command = [
            "git",
            "-c",
            f"user.name={who[0]}",
            "-c",
            f"user.email={who[1]}",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
            "-c",
            f"init.defaultBranch={DEFAULT_BRANCH}",
            "-c",
            "core.autocrlf=false",
            "-c",
            "gc.auto=0",
            *args,
        ]
        try:
            done = subprocess.run(
                command, cwd=self.repo, env=env, capture_output=True, text=True, check=False
            )
        except FileNotFoundError:
            raise MapdownError("git is not installed; the demo needs git on PATH") from None
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip()
            raise MapdownError(f"`git {' '.join(args)}` failed in {self.repo}: {detail}")
        return done.stdout


def init_repo(target: Path) -> Path:
    """`git init` at `target` (created if missing) on branch `main`, with no user config."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mapdown-git-home-") as home:
        _Git(target, Path(home))("init", "-q")
    return target


def commit_states(repo: Path, states: Sequence[DemoCommit]) -> None:
    """Replay `states` as commits in the git repository `repo`, each with its fixed dates and
    author. The working tree is overwritten where the states say so; two git processes per
    commit (add, commit), plus one per branch switch, rename or merge."""
    for state in states:  # a time without an offset fails before anything is written
        _moment(state.when)
    with tempfile.TemporaryDirectory(prefix="mapdown-git-home-") as home:
        git = _Git(repo, Path(home))
        current = git("symbolic-ref", "--short", "HEAD").strip()
        branches = set(git("for-each-ref", "--format=%(refname:short)", "refs/heads/").split())
        for state in states:
            who = (state.author, state.email)
            if state.branch != current:
                if state.branch in branches:
                    git("checkout", "-q", state.branch)
                elif current in branches:
                    git("checkout", "-q", "-b", state.branch)
                else:  # nothing committed yet: just point the unborn HEAD elsewhere
                    git("symbolic-ref", "HEAD", f"refs/heads/{state.branch}")
                current = state.branch
            if state.merge is not None:
                git("merge", "-q", "--no-ff", "--no-commit", state.merge, when=state.when, who=who)
            for old, new in state.renames.items():
                (repo / new).parent.mkdir(parents=True, exist_ok=True)
                git("mv", old, new)
            for rel, content in state.files.items():
                path = repo / rel
                if content is None:
                    path.unlink(missing_ok=True)
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(content.encode("utf-8"))
            git("add", "-A")
            git("commit", "-q", "-m", state.message, when=state.when, who=who)
            branches.add(current)


def build_demo_repo(target: Path) -> Path:
    """Create the demo repository at `target` (which must not exist or be an empty folder)."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageProblem(
            f"{target} already exists and is not an empty folder; choose a new folder for the demo"
        )
    if shutil.which("git") is None:
        raise MapdownError("git is not installed; the demo needs git on PATH")
    init_repo(target)
    commit_states(target, demo_commits())
    return target


def final_deal_text(name: str) -> str:
    """The packaged example deal `name` (e.g. `harbor-federal.md`): the demo's final state."""
    raw = resources.files("mapdown.demo_deals").joinpath(name).read_bytes()
    return raw.decode("utf-8")


# ------------------------------------------------------------------------------ deal documents

STEP_KEYS = (
    "id",
    "step",
    "track",
    "owner",
    "start",
    "due",
    "after",
    "exit",
    "status",
    "evidence",
    "confirmed_by",
    "confirmation",
)
PERSON_KEYS = ("name", "side", "role", "title", "email")
REVIEW_KEYS = ("date", "with", "note")
_QUOTED_WHEN_COMMA = ("evidence", "confirmation")


def _scalar(key: str, value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    text = str(value)
    plain_ok = (
        text
        and text[0] not in "-?:,[]{}#&*!|>'\"%@`"
        and ": " not in text
        and " #" not in text
        and not text.endswith(":")
    )
    if plain_ok and not (key in _QUOTED_WHEN_COMMA and "," in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _block(items: Iterable[dict[str, Any]], keys: tuple[str, ...]) -> list[str]:
    lines = []
    for item in items:
        unknown = set(item) - set(keys)
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)} in {item}")
        present = [k for k in keys if item.get(k) is not None]
        for i, key in enumerate(present):
            lead = "  - " if i == 0 else "    "
            lines.append(f"{lead}{key}: {_scalar(key, item[key])}")
    return lines


@dataclass
class DealDoc:
    """A deal file as data, rendered in the layout of the example deals (one fact per line, keys
    in a fixed order). Mutate it between commits; `render()` gives the file's text."""

    path: str
    header: dict[str, str]  # key → the raw text after `key: ` (comments included)
    people: list[dict[str, Any]]
    milestones: list[dict[str, Any]]
    notes: str  # everything after the closing `---` line
    reviews: list[dict[str, Any]] = field(default_factory=list)

    def render(self) -> str:
        lines = ["---"]
        lines += [f"{key}: {raw}" for key, raw in self.header.items()]
        lines.append("people:")
        lines += _block(self.people, PERSON_KEYS)
        lines.append("milestones:")
        lines += _block(self.milestones, STEP_KEYS)
        if self.reviews:
            lines.append("reviews:")
            lines += _block(self.reviews, REVIEW_KEYS)
        lines.append("---")
        return "\n".join(lines) + "\n" + self.notes

    def copy(self) -> DealDoc:
        return copy.deepcopy(self)

    def _index(self, step_id: str) -> int:
        for i, m in enumerate(self.milestones):
            if m["id"] == step_id:
                return i
        raise KeyError(step_id)

    def set(self, step_id: str, **fields: Any) -> None:
        """Change a step's fields; a value of None removes the key."""
        row = self.milestones[self._index(step_id)]
        for key, value in fields.items():
            if key not in STEP_KEYS:
                raise ValueError(f"unknown milestone key {key!r}")
            if value is None:
                row.pop(key, None)
            else:
                row[key] = value

    def add_step(self, row: dict[str, Any], *, follows: str | None = None) -> None:
        """Insert a step after the step `follows` (default: at the end)."""
        at = len(self.milestones) if follows is None else self._index(follows) + 1
        self.milestones.insert(at, dict(row))

    def add_person(self, person: dict[str, Any], *, follows: str | None = None) -> None:
        names = [p["name"] for p in self.people]
        at = len(self.people) if follows is None else names.index(follows) + 1
        self.people.insert(at, dict(person))

    def set_person(self, name: str, **fields: Any) -> None:
        person = next(p for p in self.people if p["name"] == name)
        for key, value in fields.items():
            if value is None:
                person.pop(key, None)
            else:
                person[key] = value

    def drop_person(self, name: str) -> None:
        self.people = [p for p in self.people if p["name"] != name]

    def add_review(self, date: str, with_: str, note: str) -> None:
        self.reviews.append({"date": date, "with": with_, "note": note})


def _notes_of(text: str) -> str:
    """The notes of a deal file: everything after the closing `---` line."""
    _, _, rest = text.partition("\n---\n")
    return rest


# ------------------------------------------------------------------------------ the stories

VENDOR_DOMAIN = "vendor.example"
SAM = ("Sam Carter", f"sam.carter@{VENDOR_DOMAIN}")  # account executive, Harbor Federal
NINA = ("Nina Patel", f"nina.patel@{VENDOR_DOMAIN}")  # solutions engineer, Harbor Federal
JORDAN = ("Jordan Reyes", f"jordan.reyes@{VENDOR_DOMAIN}")  # account executive, Northwind
MEI = ("Mei Lin", f"mei.lin@{VENDOR_DOMAIN}")  # solutions engineer, Northwind
KYLE = ("Kyle Morgan", f"kyle.morgan@{VENDOR_DOMAIN}")  # account executive, Acme
REBECCA = ("Rebecca Lane", f"rebecca.lane@{VENDOR_DOMAIN}")  # sales leader (VP Sales)
OMAR = ("Omar Haddad", f"omar.haddad@{VENDOR_DOMAIN}")  # deal desk

HARBOR_PATH = "deals/harbor-federal.md"
NORTHWIND_OLD_PATH = "deals/northwind.md"
NORTHWIND_PATH = "deals/northwind-logistics.md"
ACME_PATH = "deals/acme-wish.md"
ACME_BRANCH = "acme-update"


class _Story:
    def __init__(self) -> None:
        self.commits: list[DemoCommit] = []

    def commit(
        self,
        when: str,
        who: tuple[str, str],
        message: str,
        *docs: DealDoc,
        files: dict[str, str | None] | None = None,
        renames: dict[str, str] | None = None,
        branch: str = DEFAULT_BRANCH,
        merge: str | None = None,
    ) -> None:
        out: dict[str, str | None] = {doc.path: doc.render() for doc in docs}
        out.update(files or {})
        day, _, clock = when.partition(" ")
        self.commits.append(
            DemoCommit(
                when=f"{day}T{clock}:00+00:00",
                author=who[0],
                email=who[1],
                message=message,
                files=out,
                renames=dict(renames or {}),
                branch=branch,
                merge=merge,
            )
        )


def _person(name: str, side: str, role: str | None = None, title: str | None = None) -> dict:
    return {"name": name, "side": side, "role": role, "title": title}


def _harbor_start() -> DealDoc:
    return DealDoc(
        path=HARBOR_PATH,
        header={
            "title": "Harbor Federal — model-risk platform",
            "customer": "Harbor Federal Bank",
            "go_live": "2027-02-02          # the customer's production go-live (required)",
            "deadline": "2027-03-31         # the customer's external deadline, if any",
            "deadline_reason": "Regulator's model-risk deadline",
            "close": "2026-12-01            # target signature date",
        },
        people=[
            _person("Dana Whitfield", "customer", "champion", "VP Model Risk"),
            _person("Priya Raman", "customer", "economic buyer", "Chief Risk Officer"),
            _person("Tom Becker", "customer", "sourcing lead"),
            _person("Lena Ortiz", "customer", "security owner", "Head of Third-Party Security"),
            _person("Marcus Hale", "customer", "counsel", "Senior Counsel, Technology Contracts"),
            _person(
                "Grace Okafor", "customer", "data protection officer", "Data Protection Officer"
            ),
            _person("Third-party risk team", "customer"),
            _person("Sam Carter", "vendor", "account executive"),
            _person("Nina Patel", "vendor", "solutions engineer"),
        ],
        milestones=[
            {
                "id": "security-questionnaire",
                "step": "Security questionnaire answered",
                "track": "technical",
                "owner": "Nina Patel",
                "start": "2026-10-15",
                "due": "2026-10-30",
                "exit": "Completed security questionnaire returned to Lena",
            },
            {
                "id": "mrm-docs",
                "step": "Model-risk documentation submitted",
                "track": "technical",
                "owner": "Sam Carter",
                "start": "2026-10-20",
                "due": "2026-11-03",
                "exit": "MRM intake acknowledges a complete documentation package",
            },
            {
                "id": "risk-committee",
                "step": "Risk-committee readout",
                "track": "business",
                "owner": "Dana Whitfield",
                "due": "2026-11-10",
                "after": ["mrm-docs"],
                "exit": "Committee minutes record approval to proceed",
            },
            {
                "id": "security-review",
                "step": "Information-security review completed",
                "track": "technical",
                "owner": "Lena Ortiz",
                "start": "2026-11-02",
                "due": "2026-11-10",
                "after": ["security-questionnaire"],
                "exit": "InfoSec sign-off memo with no open high-risk items",
            },
            {
                "id": "dpa-review",
                "step": "Data-protection review and DPA agreed",
                "track": "paper",
                "owner": "Grace Okafor",
                "start": "2026-10-26",
                "due": "2026-11-12",
                "exit": "DPA initialled by the DPO and privacy impact assessment filed",
            },
            {
                "id": "tpra",
                "step": "Third-party risk assessment issued",
                "track": "technical",
                "owner": "Third-party risk team",
                "due": "2026-11-14",
                "after": ["security-review", "dpa-review"],
                "exit": "TPRA report issued with no open high findings",
            },
            {
                "id": "msa-redlines",
                "step": "MSA redlines returned",
                "track": "paper",
                "owner": "Marcus Hale",
                "due": "2026-11-16",
                "exit": "Redlined MSA received from Harbor counsel",
            },
            {
                "id": "spend-approval",
                "step": "Spend approval signed by the economic buyer",
                "track": "business",
                "owner": "Priya Raman",
                "due": "2026-11-24",
                "after": ["risk-committee"],
                "exit": "Signed capital approval form with a budget line",
            },
            {
                "id": "vendor-registration",
                "step": "Vendor registration in Harbor's supplier portal",
                "track": "paper",
                "owner": "Tom Becker",
                "start": "2026-11-09",
                "due": "2026-11-20",
                "exit": "Supplier number issued in the sourcing portal",
            },
            {
                "id": "msa-final",
                "step": "Legal review closed and final MSA terms agreed",
                "track": "paper",
                "owner": "Marcus Hale",
                "start": "2026-11-16",
                "due": "2026-11-21",
                "after": ["msa-redlines"],
                "exit": "Execution copy of the MSA approved by Harbor counsel",
            },
            {
                "id": "po",
                "step": "Order form and PO executed",
                "track": "paper",
                "owner": "Priya Raman",
                "due": "2026-12-01",
                "after": [
                    "risk-committee",
                    "tpra",
                    "msa-redlines",
                    "spend-approval",
                    "vendor-registration",
                    "msa-final",
                ],
                "exit": "Countersigned order form and PO number",
            },
            {
                "id": "kickoff",
                "step": "Implementation kickoff",
                "track": "technical",
                "owner": "Sam Carter",
                "due": "2026-12-08",
                "after": ["po"],
                "exit": "Kickoff deck and project plan accepted by Dana",
            },
            {
                "id": "uat",
                "step": "User acceptance testing",
                "track": "technical",
                "owner": "Dana Whitfield",
                "start": "2027-01-04",
                "due": "2027-01-22",
                "after": ["kickoff"],
                "exit": "UAT sign-off sheet with every priority-1 test case passed",
            },
            {
                "id": "go-live-signoff",
                "step": "Go-live readiness sign-off",
                "track": "business",
                "owner": "Dana Whitfield",
                "due": "2027-01-29",
                "after": ["uat"],
                "exit": "Signed go-live readiness checklist from model risk and IT",
            },
        ],
        notes=HARBOR_NOTES_DRAFT,
    )


HARBOR_NOTES_DRAFT = """
## Notes

### How the plan got its dates

First draft sent to Dana on 22 September, built backward from the 2 February go-live she
chose to leave seven weeks of room before the regulator's 31 March model-risk deadline.
Every owner has been asked to confirm their dates by email.
"""

HARBOR_NOTES_DANA = (
    HARBOR_NOTES_DRAFT
    + """
- 25 September: Dana accepted the shape of the plan and confirmed her two dates.
- Sourcing has not answered. Tom Becker will neither agree to the supplier-onboarding and
  contract dates nor propose others.
"""
)

HARBOR_NOTES_REVIEW = (
    HARBOR_NOTES_DANA
    + """
### Deal review, 30 September

Sourcing still will not commit dates. Either the case is weak or our contact can't get it
approved: find out which before the next review. Sam to ask Dana directly.
"""
)

HARBOR_NOTES_ESCALATED = (
    HARBOR_NOTES_REVIEW
    + """
### 6 October

Two weeks without a date from sourcing. Dana says it is neither: the case is strong and she
has the authority. Sourcing has one person covering every technology purchase this quarter
and nobody is accountable for ours. Dana is taking it to Priya Raman.
"""
)

HARBOR_NOTES_OWNER = (
    HARBOR_NOTES_ESCALATED
    + """
### 8 October

Priya Raman named Tom Becker as our sourcing owner, with this purchase on his list for the
quarter. Tom will send dates this week.
"""
)

HARBOR_NOTES_CONFIRMED = (
    HARBOR_NOTES_OWNER
    + """
### 14 October

Within a week of Priya's decision Tom, Lena, Grace, Priya and Dana had each confirmed their
dates by email. Marcus will not give a date for the redlines until he has read our paper.
"""
)

HARBOR_NOTES_SLIP = (
    HARBOR_NOTES_CONFIRMED
    + """
### 16 November

The redlines due today will not come: MSA v3 is still with Marcus. He now expects to return
them by the 21st, so final terms move to 23 to 30 November. Marcus confirmed the old week on
20 October; the new dates are his estimate on a call and are not yet in writing.
"""
)


def _northwind_start() -> DealDoc:
    return DealDoc(
        path=NORTHWIND_OLD_PATH,
        header={
            "title": "Northwind — fleet telemetry platform",
            "customer": "Northwind Logistics",
            "go_live": "2027-03-15",
            "deadline": "2027-03-31",
            "deadline_reason": (
                "The incumbent telematics contract ends on 31 March and will not be renewed"
            ),
            "close": "2027-01-20",
        },
        people=[
            _person("Ingrid Halvorsen", "customer", "champion", "Director of Fleet Operations"),
            _person("Olivia Brandt", "customer", "economic buyer", "Chief Operating Officer"),
            _person("Rachel Stein", "customer", "counsel", "Associate General Counsel"),
            _person("Hannah Cole", "customer", "IT lead", "Head of Enterprise Applications"),
            _person("Jordan Reyes", "vendor", "account executive"),
            _person("Mei Lin", "vendor", "solutions engineer"),
        ],
        milestones=[
            {
                "id": "pilot",
                "step": "Pilot on 40 trucks at the Memphis depot",
                "track": "technical",
                "owner": "Ingrid Halvorsen",
                "start": "2026-10-05",
                "due": "2026-11-06",
                "exit": "Pilot results report signed off by fleet operations",
            },
            {
                "id": "integration-design",
                "step": "Integration design with the dispatch system agreed",
                "track": "technical",
                "owner": "Mei Lin",
                "start": "2026-11-09",
                "due": "2026-11-13",
                "after": ["pilot"],
                "exit": "Integration design document approved by Hannah",
            },
            {
                "id": "business-case",
                "step": "Business case with pilot savings accepted by finance",
                "track": "business",
                "owner": "Ingrid Halvorsen",
                "start": "2026-11-09",
                "due": "2026-11-20",
                "after": ["pilot"],
                "exit": "Business case signed off by the finance business partner",
            },
            {
                "id": "security-review",
                "step": "Security review of the telemetry platform",
                "track": "technical",
                "owner": "Hannah Cole",
                "start": "2026-11-16",
                "due": "2026-12-11",
                "exit": "Security assessment issued with no open high findings",
            },
            {
                "id": "legal-review",
                "step": "Legal review of MSA and DPA with redlines returned",
                "track": "paper",
                "owner": "Rachel Stein",
                "start": "2026-12-01",
                "due": "2026-12-16",
                "exit": "Redlined MSA and DPA returned by Northwind counsel",
            },
            {
                "id": "legal-final",
                "step": "Final contract terms agreed by counsel",
                "track": "paper",
                "owner": "Rachel Stein",
                "start": "2027-01-04",
                "due": "2027-01-08",
                "after": ["legal-review"],
                "exit": "Execution copies of the MSA and DPA approved by counsel",
            },
            {
                "id": "order-form",
                "step": "Order form signed by the economic buyer",
                "track": "paper",
                "owner": "Olivia Brandt",
                "due": "2027-01-20",
                "after": ["legal-final"],
                "exit": "Order form countersigned by Olivia Brandt and PO number issued",
            },
            {
                "id": "kickoff",
                "step": "Implementation kickoff",
                "track": "technical",
                "owner": "Jordan Reyes",
                "due": "2027-01-27",
                "after": ["order-form"],
                "exit": "Project plan and rollout schedule accepted by Ingrid",
            },
            {
                "id": "integration-build",
                "step": "Dispatch-system integration built and tested",
                "track": "technical",
                "owner": "Hannah Cole",
                "start": "2027-01-28",
                "due": "2027-02-26",
                "after": ["kickoff", "security-review", "integration-design"],
                "exit": "Integration test report with every priority-1 case passed",
            },
            {
                "id": "rollout-readiness",
                "step": "Fleet rollout readiness sign-off",
                "track": "business",
                "owner": "Ingrid Halvorsen",
                "due": "2027-03-08",
                "after": ["integration-build"],
                "exit": "Signed readiness checklist covering depots, drivers and support",
            },
        ],
        notes=NORTHWIND_NOTES_DRAFT,
    )


NORTHWIND_WHY = """
## Notes

### Why Northwind is buying, and why by March

Northwind's contract with its current telematics provider ends on 31 March and will not be
renewed. Ingrid wants every depot on the new platform by mid-March, two weeks before the old
contract ends. All of the dates in the plan come from that date.
"""

NORTHWIND_NOTES_DRAFT = (
    NORTHWIND_WHY
    + """
### Open questions

- First draft sent to Ingrid on 23 September; she is reviewing it with procurement.
- Nobody at Northwind owns the security review yet; Hannah holds it until InfoSec names someone.
"""
)

NORTHWIND_NOTES_ROWS = (
    NORTHWIND_WHY
    + """
### Open questions

- Ingrid and Diego added the registration and committee rows themselves when they reviewed
  the first draft.
- Nobody at Northwind owns the security review yet; Hannah holds it until InfoSec names someone.
"""
)

NORTHWIND_NOTES_KENJI = (
    NORTHWIND_WHY
    + """
### Open questions

- Ingrid and Diego added the registration and committee rows themselves when they reviewed
  the first draft.
- Kenji Watanabe now owns the security review and confirmed 16 November to 11 December.
- Kickoff, the integration build and the rollout sign-off are not confirmed yet; all three
  are more than 30 days out.
"""
)


def _acme_start() -> DealDoc:
    call = "Call 2026-10-30 with Jason — 'sounds good'"
    return DealDoc(
        path=ACME_PATH,
        header={
            "title": "Acme Retail — store analytics",
            "customer": "Acme Retail Group",
            "go_live": "2027-01-15",
            "close": "2026-12-28",
        },
        people=[
            _person("Kyle Morgan", "vendor", "account executive"),
            _person("Beth Ramirez", "vendor", "sales engineer"),
            _person("Jason Pike", "customer", "champion", "Director of Store Systems"),
            _person("Legal", "customer"),
        ],
        milestones=[
            {
                "id": "discovery",
                "step": "Discovery workshop",
                "track": "business",
                "owner": "Kyle Morgan",
                "due": "2026-11-03",
                "exit": "Discovery notes sent to Jason",
                "confirmed_by": "Jason Pike",
                "confirmation": call,
            },
            {
                "id": "demo",
                "step": "Product demo for the store-operations team",
                "track": "technical",
                "owner": "Beth Ramirez",
                "due": "2026-11-10",
                "exit": "Demo recording shared with attendees",
                "confirmed_by": "Jason Pike",
                "confirmation": call,
            },
            {
                "id": "success-criteria",
                "step": "Pilot success criteria agreed",
                "track": "business",
                "owner": "Jason Pike",
                "due": "2026-11-13",
                "exit": "Written success criteria for the proof of concept",
                "confirmed_by": "Jason Pike",
                "confirmation": call,
            },
            {
                "id": "poc",
                "step": "Proof of concept in two stores",
                "track": "technical",
                "owner": "Beth Ramirez",
                "start": "2026-11-16",
                "due": "2026-11-27",
                "exit": "Proof-of-concept results deck",
                "confirmed_by": "Jason Pike",
                "confirmation": call,
            },
            {
                "id": "proposal",
                "step": "Proposal and pricing sent",
                "track": "business",
                "owner": "Kyle Morgan",
                "due": "2026-11-20",
                "exit": "Proposal PDF emailed to Jason",
                "confirmed_by": "Jason Pike",
                "confirmation": call,
            },
            {
                "id": "leadership-pitch",
                "step": "Champion presents the proposal to leadership",
                "track": "business",
                "owner": "Jason Pike",
                "due": "2026-12-01",
                "exit": "Leadership go-ahead",
                "confirmed_by": "Jason Pike",
                "confirmation": call,
            },
            {
                "id": "contract-sent",
                "step": "Contract sent to Acme",
                "track": "paper",
                "owner": "Kyle Morgan",
                "due": "2026-12-07",
                "exit": "Contract emailed to Jason and Legal",
            },
            {
                "id": "legal",
                "step": "Legal reviews the contract",
                "track": "paper",
                "owner": "Legal",
                "start": "2026-12-08",
                "due": "2026-12-14",
                "exit": "Contract comments returned",
            },
            {
                "id": "signature",
                "step": "Contract signed",
                "track": "paper",
                "owner": "Jason Pike",
                "due": "2026-12-28",
                "exit": "Signed contract",
            },
            {
                "id": "kickoff",
                "step": "Implementation kickoff",
                "track": "technical",
                "owner": "Beth Ramirez",
                "due": "2027-01-04",
                "exit": "Kickoff meeting held",
            },
            {
                "id": "rollout",
                "step": "Configuration and store rollout",
                "track": "technical",
                "owner": "Beth Ramirez",
                "start": "2027-01-05",
                "due": "2027-01-14",
                "exit": "Dashboards live in the pilot stores",
            },
        ],
        notes=ACME_NOTES_DRAFT,
    )


ACME_NOTES_DRAFT = """
## Notes

Walked Jason through the plan on our call on 30 October. He said "sounds good", so the
rows up to his leadership pitch are marked as confirmed by him. Signature on 28 December.
"""

ACME_NOTES_MOVED = (
    ACME_NOTES_DRAFT
    + """
- 3 November: Jason moved the discovery workshop to the 6th; demo and success criteria
  follow a week later.
"""
)

ACME_NOTES_SLIPPING = (
    ACME_NOTES_MOVED
    + """- 10 November: the stores want the success criteria before the proof of concept, so it
  and the proposal move a week. Signature still on 28 December.
"""
)

ACME_NOTES_SQUEEZED = (
    ACME_NOTES_SLIPPING
    + """- 19 November: no success criteria yet. Proof of concept now 30 November to 11 December;
  proposal, leadership pitch, contract and legal review each a week later. Signature still
  on 28 December.
"""
)


def demo_commits() -> list[DemoCommit]:
    """The demo's whole history, oldest first (every deal state is a valid MAP as of its
    commit's day)."""
    s = _Story()
    h = _harbor_start()
    n = _northwind_start()
    a = _acme_start()

    # W38 — the deal room is set up.
    s.commit(
        "2026-09-14 09:05",
        OMAR,
        "Deal room: mapdown settings (weeks cut in UTC) and ignore rules",
        files={"mapdown.yaml": CONFIG_TEXT, ".gitignore": GITIGNORE_TEXT},
    )

    # W39 — two first drafts; Dana confirms her rows within days.
    s.commit("2026-09-22 14:20", SAM, "Harbor: first MAP draft, planned back from 2 Feb go-live", h)
    s.commit(
        "2026-09-23 10:15", JORDAN, "Northwind: first MAP draft, planned back from 15 March", n
    )
    h.set(
        "mrm-docs",
        confirmed_by="Dana Whitfield",
        confirmation="Email 2026-09-25, Re: MAP draft — 'Nov 3 for the pack works'",
    )
    h.set(
        "risk-committee",
        confirmed_by="Dana Whitfield",
        confirmation="Email 2026-09-25, Re: MAP draft — 'committee on the 10th'",
    )
    h.notes = HARBOR_NOTES_DANA
    s.commit("2026-09-25 11:05", SAM, "Harbor: Dana confirms MRM pack and risk-committee dates", h)

    # W40 — sourcing stays silent; Northwind's pilot and procurement rows are confirmed.
    n.set(
        "pilot",
        confirmed_by="Ingrid Halvorsen",
        confirmation="Email 2026-09-29, Re: pilot plan — 'Oct 5 to Nov 6 confirmed'",
    )
    s.commit("2026-09-29 16:40", JORDAN, "Northwind: Ingrid confirms the pilot, Oct 5 to Nov 6", n)
    h.notes = HARBOR_NOTES_REVIEW
    s.commit(
        "2026-09-30 17:10",
        REBECCA,
        "Harbor: deal-review note: sourcing won't commit dates; weak case or no authority?",
        h,
    )
    h.set(
        "security-questionnaire",
        exit="Completed questionnaire and SOC 2 report uploaded to Harbor's vendor-risk portal",
    )
    s.commit(
        "2026-10-01 10:30",
        NINA,
        "Harbor: questionnaire exit is the portal upload with our SOC 2 report",
        h,
    )
    n.add_person(
        _person(
            "Diego Alvarez", "customer", "procurement lead", "Senior Buyer, Indirect Procurement"
        ),
        follows="Rachel Stein",
    )
    diego_early = "Email 2026-10-02, Re: MAP draft — 'added our supplier steps, dates work for us'"
    n.add_step(
        {
            "id": "vendor-registration",
            "step": "Vendor registration in Northwind's procurement system",
            "track": "paper",
            "owner": "Diego Alvarez",
            "start": "2026-11-30",
            "due": "2026-12-09",
            "exit": "Supplier ID issued and bank details verified",
            "confirmed_by": "Diego Alvarez",
            "confirmation": diego_early,
        },
        follows="security-review",
    )
    n.add_step(
        {
            "id": "commercial-terms",
            "step": "Commercial terms agreed with procurement",
            "track": "paper",
            "owner": "Diego Alvarez",
            "start": "2026-12-10",
            "due": "2026-12-18",
            "after": ["vendor-registration"],
            "exit": "Pricing schedule initialled by procurement",
            "confirmed_by": "Diego Alvarez",
            "confirmation": diego_early,
        },
        follows="legal-review",
    )
    n.add_step(
        {
            "id": "capital-committee",
            "step": "Capital approval committee",
            "track": "business",
            "owner": "Ingrid Halvorsen",
            "due": "2027-01-12",
            "after": ["business-case", "security-review", "commercial-terms"],
            "exit": "Committee minutes record the approved capital request",
        },
        follows="legal-final",
    )
    n.set("legal-final", after=["legal-review", "commercial-terms"])
    n.set("order-form", after=["capital-committee", "legal-final"])
    n.notes = NORTHWIND_NOTES_ROWS
    s.commit(
        "2026-10-02 11:20",
        JORDAN,
        "Northwind: supplier registration, commercial terms and capital committee rows "
        "from Diego's and Ingrid's review",
        n,
    )

    # W41 — the escalation: Priya names Tom Becker the sourcing owner.
    h.notes = HARBOR_NOTES_ESCALATED
    s.commit(
        "2026-10-06 15:45",
        SAM,
        "Harbor: two weeks without sourcing dates; Dana takes it to Priya",
        h,
    )
    n.set("pilot", status="in-progress")
    s.commit("2026-10-06 16:30", MEI, "Northwind: pilot live on 40 trucks in Memphis", n)
    h.set_person("Tom Becker", title="Sourcing Manager, Technology")
    h.notes = HARBOR_NOTES_OWNER
    s.commit("2026-10-08 16:20", SAM, "Harbor: Priya names Tom Becker our sourcing owner", h)
    n.set(
        "integration-design",
        confirmed_by="Hannah Cole",
        confirmation="Email 2026-10-09, Re: November slots — 'design week of Nov 9 is fine'",
    )
    n.set(
        "business-case",
        confirmed_by="Ingrid Halvorsen",
        confirmation="Email 2026-10-09, Re: November slots — 'finance can review Nov 9 to 20'",
    )
    n.set(
        "security-review",
        confirmed_by="Hannah Cole",
        confirmation="Email 2026-10-09, Re: November slots — 'InfoSec can run it Nov 16 to Dec 11'",
    )
    s.commit(
        "2026-10-09 14:00",
        JORDAN,
        "Northwind: Hannah confirms design week and InfoSec slot; Ingrid the business case",
        n,
    )

    # W42 — within a week of the escalation every open date is confirmed (three commits).
    h.set(
        "security-questionnaire",
        confirmed_by="Lena Ortiz",
        confirmation="Email 2026-10-14, Re: MAP dates — 'questionnaire by Oct 30 is fine'",
    )
    h.set(
        "security-review",
        confirmed_by="Lena Ortiz",
        confirmation="Email 2026-10-14, Re: MAP dates — 'review week of Nov 2'",
    )
    h.set(
        "dpa-review",
        confirmed_by="Grace Okafor",
        confirmation="Email 2026-10-14, Re: MAP dates — 'DPA by Nov 12 is realistic'",
    )
    s.commit("2026-10-14 10:05", SAM, "Harbor: Lena and Grace confirm security and DPA dates", h)
    h.set("mrm-docs", confirmation="Email 2026-10-14, Re: MAP dates — 'works on our side'")
    h.set("risk-committee", confirmation="Email 2026-10-14, Re: MAP dates")
    s.commit(
        "2026-10-14 13:40",
        SAM,
        "Harbor: Dana reconfirms MRM and committee dates in the MAP thread",
        h,
    )
    h.set(
        "vendor-registration",
        start="2026-11-16",
        due="2026-11-27",
        confirmed_by="Tom Becker",
        confirmation="Email 2026-10-14, Re: MAP dates — 'supplier registration Nov 16 to 27'",
    )
    h.set(
        "spend-approval",
        confirmed_by="Priya Raman",
        confirmation=(
            "Email 2026-10-14, Re: approval path — 'I'll sign once the committee has minuted it'"
        ),
    )
    h.set(
        "po",
        confirmed_by="Priya Raman",
        confirmation="Email 2026-10-14, Re: approval path — 'then the PO on December 1'",
    )
    h.notes = HARBOR_NOTES_CONFIRMED
    s.commit(
        "2026-10-14 17:25",
        SAM,
        "Harbor: Tom confirms supplier registration Nov 16-27; Priya confirms approval and PO",
        h,
    )
    h.set("security-questionnaire", status="in-progress")
    s.commit("2026-10-15 09:10", NINA, "Harbor: security questionnaire started", h)

    # W43 — counsel confirms the final-terms week; Northwind's file is renamed.
    h.set(
        "msa-final",
        confirmed_by="Marcus Hale",
        confirmation="Email 2026-10-20, Re: MSA timeline — 'final terms the week of the 16th'",
    )
    h.set("mrm-docs", status="in-progress")
    s.commit(
        "2026-10-20 11:30",
        SAM,
        "Harbor: Marcus confirms final MSA terms Nov 16-21; MRM pack in progress",
        h,
    )
    n.header["title"] = "Northwind Logistics — fleet telemetry platform"
    n.path = NORTHWIND_PATH
    s.commit(
        "2026-10-21 09:50",
        JORDAN,
        "Northwind: rename the deal file to northwind-logistics (the CRM id)",
        n,
        renames={NORTHWIND_OLD_PATH: NORTHWIND_PATH},
    )

    # W44 — work under way; Acme's plan is written in one afternoon.
    h.set("dpa-review", status="in-progress")
    s.commit("2026-10-26 14:10", SAM, "Harbor: DPA review under way with Grace", h)
    rachel = "https://mail.example/northwind/thread/legal-review-dates"
    n.set("legal-review", confirmed_by="Rachel Stein", confirmation=rachel)
    n.set("legal-final", confirmed_by="Rachel Stein", confirmation=rachel)
    s.commit(
        "2026-10-28 15:10",
        JORDAN,
        "Northwind: Rachel confirms legal review Dec 1-16 and final terms Jan 4-8",
        n,
    )
    s.commit("2026-10-30 17:50", KYLE, "Acme: MAP for the store-analytics deal, close Dec 28", a)
    h.set(
        "security-questionnaire",
        status="done",
        evidence="https://files.example/harbor/security-questionnaire-v2.xlsx",
    )
    s.commit(
        "2026-10-30 18:05", NINA, "Harbor: questionnaire and SOC 2 report uploaded to the portal", h
    )

    # W45 — Acme's first slip; Harbor's TPRA gets a named owner.
    h.set("security-review", status="in-progress")
    s.commit("2026-11-02 10:00", SAM, "Harbor: InfoSec review started (Lena)", h)
    a.set("discovery", due="2026-11-06")
    a.set("demo", due="2026-11-13")
    a.set("success-criteria", due="2026-11-20")
    a.notes = ACME_NOTES_MOVED
    s.commit(
        "2026-11-03 16:25",
        KYLE,
        "Acme: discovery workshop moved to Nov 6; demo and success criteria a week later",
        a,
    )
    h.set("mrm-docs", status="done", evidence="https://files.example/harbor/mrm-intake-receipt.pdf")
    s.commit("2026-11-03 17:05", SAM, "Harbor: MRM documentation package acknowledged", h)
    n.set(
        "integration-design",
        due="2026-11-20",
        confirmation="Email 2026-11-04, Re: design review — 'the week of the 16th works'",
    )
    s.commit(
        "2026-11-04 16:30",
        JORDAN,
        "Northwind: design review moves to the week of the 16th, confirmed by Hannah",
        n,
    )
    h.set("tpra", owner="Lena Ortiz")
    h.drop_person("Third-party risk team")
    h.add_review("2026-11-05", "Dana Whitfield", "Weekly countdown review; TPRA owner named")
    s.commit("2026-11-05 15:30", SAM, "Harbor: TPRA owner named (Lena Ortiz)", h)
    n.set(
        "business-case",
        confirmed_by="Olivia Brandt",
        confirmation="Email 2026-11-05, Re: next steps — 'get me the case by the 20th'",
    )
    s.commit("2026-11-05 17:45", JORDAN, "Northwind: Olivia wants the business case by the 20th", n)
    a.set("discovery", status="done")
    s.commit("2026-11-06 17:30", KYLE, "Acme: discovery workshop done", a)
    n.set(
        "pilot",
        status="done",
        evidence="https://files.example/northwind/pilot-results-memphis.pdf",
    )
    s.commit(
        "2026-11-06 18:10", MEI, "Northwind: pilot done, results signed off by fleet operations", n
    )

    # W46 — a branch for Acme's next slip; Harbor's committee and InfoSec gates close.
    n.set("integration-design", status="in-progress")
    n.set("business-case", status="in-progress")
    s.commit("2026-11-09 09:40", MEI, "Northwind: design and business-case work started", n)
    a.set("success-criteria", status="in-progress")
    a.set("poc", start="2026-11-23", due="2026-12-04")
    a.set("proposal", due="2026-11-25")
    a.notes = ACME_NOTES_SLIPPING
    s.commit(
        "2026-11-10 11:15",
        KYLE,
        "Acme: POC and proposal pushed a week; success criteria under way",
        a,
        branch=ACME_BRANCH,
    )
    h.set(
        "risk-committee",
        status="done",
        evidence="https://files.example/harbor/risk-committee-minutes-2026-11-10.pdf",
    )
    h.set(
        "security-review",
        status="done",
        evidence="Harbor InfoSec ticket SEC-8812, closed 2026-11-10 with sign-off memo attached",
    )
    s.commit(
        "2026-11-10 18:10", SAM, "Harbor: risk committee approved; InfoSec sign-off received", h
    )
    h.set(
        "dpa-review",
        status="done",
        evidence="https://files.example/harbor/dpa-initialled-2026-11-12.pdf",
    )
    h.add_review(
        "2026-11-12",
        "Dana Whitfield",
        "Committee approved on the 10th; DPA initialled; Tom reconfirmed the registration window",
    )
    s.commit("2026-11-12 16:50", SAM, "Harbor: DPA initialled; weekly review with Dana", h)
    n.add_person(
        _person("Kenji Watanabe", "customer", "security owner", "Information Security Manager"),
        follows="Olivia Brandt",
    )
    n.set(
        "security-review",
        owner="Kenji Watanabe",
        confirmed_by="Kenji Watanabe",
        confirmation="Email 2026-11-12, Re: vendor security review — 'we will finish by Dec 11'",
    )
    n.add_review(
        "2026-11-12",
        "Ingrid Halvorsen",
        "Pilot savings reviewed; Kenji named as security owner and confirmed his dates",
    )
    n.notes = NORTHWIND_NOTES_KENJI
    s.commit(
        "2026-11-12 17:05",
        JORDAN,
        "Northwind: Kenji Watanabe owns the security review, confirms Nov 16 to Dec 11",
        n,
    )
    a.set(
        "demo", status="done", evidence="https://files.example/acme/demo-recording-2026-11-13.mp4"
    )
    s.commit("2026-11-13 15:05", KYLE, "Acme: demo done, recording shared", a, branch=ACME_BRANCH)
    h.set(
        "tpra",
        status="done",
        evidence="TPRA report TPRA-2026-0417, issued 2026-11-13, two low findings, none high",
    )
    s.commit("2026-11-13 16:10", SAM, "Harbor: TPRA issued, two low findings, none high", h)
    s.commit(
        "2026-11-13 16:40",
        REBECCA,
        f"Merge branch '{ACME_BRANCH}': Acme POC and proposal moved a week, demo done",
        merge=ACME_BRANCH,
    )

    # W47 — Harbor's MSA slips (voiding Marcus's confirmation) and is re-confirmed in writing.
    h.set("msa-redlines", due="2026-11-21")
    h.set("msa-final", start="2026-11-23", due="2026-11-30")  # confirmation left: voided
    h.set("vendor-registration", status="in-progress")
    h.notes = HARBOR_NOTES_SLIP
    s.commit(
        "2026-11-16 10:20",
        SAM,
        "Harbor: MSA redlines slip to Nov 21; final terms move to Nov 23-30",
        h,
    )
    n.set("security-review", status="in-progress")
    s.commit("2026-11-16 11:00", MEI, "Northwind: security review under way (Kenji)", n)
    h.add_person(
        _person("Raj Menon", "customer", "model validation lead", "Director, Model Validation"),
        follows="Grace Okafor",
    )
    h.add_person(
        _person("Ellen Vasquez", "customer", "IT lead", "Infrastructure and Change Manager"),
        follows="Raj Menon",
    )
    h.add_step(
        {
            "id": "environment",
            "step": "Non-production environment provisioned",
            "track": "technical",
            "owner": "Ellen Vasquez",
            "start": "2026-12-09",
            "due": "2026-12-18",
            "after": ["kickoff"],
            "exit": (
                "Change ticket closed and vendor engineers able to log in to the UAT environment"
            ),
        },
        follows="kickoff",
    )
    h.add_step(
        {
            "id": "model-validation",
            "step": "Independent model validation of the platform",
            "track": "technical",
            "owner": "Raj Menon",
            "start": "2026-12-21",
            "due": "2027-01-15",
            "after": ["environment"],
            "exit": "Validation report issued with the platform rated fit for use",
        },
        follows="environment",
    )
    h.add_step(
        {
            "id": "cutover-readiness",
            "step": "Production cut-over readiness review",
            "track": "technical",
            "owner": "Ellen Vasquez",
            "due": "2027-01-27",
            "after": ["uat", "model-validation"],
            "exit": "Change-advisory board approves the production cut-over plan",
        },
        follows="uat",
    )
    h.set("uat", after=["environment"])
    h.set("go-live-signoff", after=["cutover-readiness"])
    h.set(
        "kickoff",
        confirmed_by="Dana Whitfield",
        confirmation="Email 2026-11-18, Re: kickoff — 'the 8th is booked, room 4B'",
    )
    h.set(
        "uat",
        confirmed_by="Dana Whitfield",
        confirmation="Email 2026-11-18, Re: kickoff — 'my team is blocked out Jan 4 to 22 for UAT'",
    )
    s.commit(
        "2026-11-18 17:00",
        SAM,
        "Harbor: Dana confirms kickoff and UAT; environment, validation and cut-over rows added",
        h,
    )
    n.set(
        "capital-committee",
        confirmed_by="Olivia Brandt",
        confirmation="Email 2026-11-18, Re: committee slot — 'you're on the January 12 agenda'",
    )
    n.set(
        "order-form",
        confirmed_by="Olivia Brandt",
        confirmation="Email 2026-11-18, Re: committee slot — 'I can sign the week after'",
    )
    s.commit(
        "2026-11-18 17:30",
        JORDAN,
        "Northwind: Olivia confirms the Jan 12 committee slot and signature the week after",
        n,
    )
    h.set("po", confirmation="Email 2026-11-19, Re: signature — 'December 1 holds'")
    h.add_review(
        "2026-11-19",
        "Dana Whitfield",
        "Redlines due tomorrow; model-validation slot still not booked, Dana to chase Raj",
    )
    s.commit(
        "2026-11-19 16:15", SAM, "Harbor: Priya confirms December 1 for signature; weekly review", h
    )
    n.set(
        "integration-design",
        status="done",
        evidence=(
            "Design doc v1.2, approved by Hannah Cole in Confluence page NW-ARCH-118 on 2026-11-19"
        ),
    )
    n.add_review(
        "2026-11-19",
        "Ingrid Halvorsen",
        "Design approved; committee slot on January 12 confirmed by Olivia",
    )
    s.commit(
        "2026-11-19 17:30", JORDAN, "Northwind: integration design approved; review with Ingrid", n
    )
    a.set("poc", start="2026-11-30", due="2026-12-11")
    a.set("proposal", due="2026-12-02")
    a.set("leadership-pitch", due="2026-12-09")
    a.set("contract-sent", due="2026-12-14")
    a.set("legal", start="2026-12-15", due="2026-12-21")
    a.notes = ACME_NOTES_SQUEEZED
    s.commit(
        "2026-11-19 17:40",
        KYLE,
        "Acme: POC to Nov 30-Dec 11; proposal, pitch, contract and legal a week later",
        a,
    )
    h.set(
        "msa-redlines", status="done", evidence="Redlined MSA v3, email from Marcus Hale 2026-11-20"
    )
    h.set(
        "msa-final",
        confirmation="Email 2026-11-20, Re: MSA v3 — 'final language by Monday 30th'",
    )
    s.commit(
        "2026-11-20 15:40",
        SAM,
        "Harbor: MSA v3 redlines back; Marcus confirms final language by Nov 30",
        h,
    )
    n.set(
        "business-case",
        status="done",
        evidence="https://files.example/northwind/business-case-signed.pdf",
    )
    n.set(
        "vendor-registration",
        confirmation=(
            "Email 2026-11-20, Re: onboarding — 'I'll open the request on the 30th, "
            "allow seven working days'"
        ),
    )
    n.set(
        "commercial-terms",
        confirmation=(
            "Email 2026-11-20, Re: onboarding — 'pricing sign-off the week after, by the 18th'"
        ),
    )
    s.commit(
        "2026-11-20 16:00",
        JORDAN,
        "Northwind: business case signed off; Diego reconfirms registration and pricing dates",
        n,
    )

    # W48 — the state of the example deals.
    h.set("msa-final", status="in-progress")
    s.commit("2026-11-23 10:30", SAM, "Harbor: final MSA review under way with Marcus", h)
    h.set(
        "spend-approval",
        status="done",
        evidence="Harbor capital approval form CAF-2026-311, signed by Priya Raman 2026-11-24",
    )
    h.set(
        "environment",
        confirmed_by="Ellen Vasquez",
        confirmation="Email 2026-11-24, Re: UAT environment — 'slot reserved Dec 9 to 18'",
    )
    h.notes = _notes_of(final_deal_text("harbor-federal.md"))
    s.commit(
        "2026-11-24 17:45",
        SAM,
        "Harbor: spend approval signed; Ellen confirms the UAT environment slot; status notes",
        h,
    )
    n.add_review(
        "2026-11-24",
        "Diego Alvarez",
        "Walked through supplier onboarding; no surprises in the registration checklist",
    )
    n.notes = _notes_of(final_deal_text("northwind-logistics.md"))
    s.commit("2026-11-24 18:00", JORDAN, "Northwind: supplier onboarding walkthrough with Diego", n)
    for step_id in ("discovery", "demo", "success-criteria", "poc", "proposal"):
        a.set(step_id, confirmed_by=None, confirmation=None)
    a.set("leadership-pitch", confirmation=None)
    a.notes = _notes_of(final_deal_text("acme-wish.md"))
    s.commit(
        "2026-11-24 18:20",
        OMAR,
        "Acme: deal-desk review: a call is not a written confirmation; notes on the gaps",
        a,
    )
    return s.commits


def final_docs() -> dict[str, str]:
    """The deal files as the story leaves them (path → text), for tests to compare."""
    state: dict[str, str] = {}
    for commit in demo_commits():
        for old, new in commit.renames.items():
            state[new] = state.pop(old)
        for path, content in commit.files.items():
            if content is None:
                state.pop(path, None)
            else:
                state[path] = content
    return state
