"""The deal model: typed, immutable records, and the declarations they are validated against.

The declarations below (`DEAL`, `PERSON`, `MILESTONE`, `REVIEW`) are the single source of the
format: the parser validates against them, `mapdown schema` prints them as JSON Schema.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from mapdown.records import quick_init
from mapdown.spec import Date, Field, ListOf, Record, Text

TRACKS = ("technical", "business", "paper")
SIDES = ("customer", "vendor")
STATUSES = ("planned", "in-progress", "done", "blocked")

PERSON = Record(
    "person",
    (
        Field("name", Text(), True, "A person's name. Unique within the deal."),
        Field("side", Text(SIDES), True, "`customer` or `vendor`."),
        Field("role", Text(), doc="Free text. Recognised roles: `champion`, `economic buyer`."),
        Field("title", Text(), doc="Job title."),
        Field("email", Text(), doc="Email address."),
    ),
    doc="Everyone who owns or confirms something, on both sides.",
    aliases={"company": "side", "owner": "name", "job_title": "title"},
    lead="name",
)

MILESTONE = Record(
    "milestone",
    (
        Field(
            "id",
            Text(),
            True,
            "Stable slug, unique within the deal; history follows a row by its id.",
        ),
        Field("step", Text(), True, "What happens, in words both sides use."),
        Field("track", Text(TRACKS), True, "`technical`, `business` or `paper`."),
        Field("owner", Text(), True, "The `name` of one person in `people`."),
        Field("start", Date(), doc="Date the step starts. Not after `due`."),
        Field("due", Date(), True, "Date the step ends."),
        Field("exit", Text(), True, "The artifact that will prove the step is done."),
        Field(
            "status",
            Text(STATUSES),
            doc="`planned` (default), `in-progress`, `done`, `blocked`.",
            default="planned",
        ),
        Field("evidence", Text(), doc="Where the exit artifact is; expected when done (MAP202)."),
        Field(
            "confirmed_by",
            Text(),
            doc="The `name` of a customer-side person who agreed to the dates in writing.",
        ),
        Field("confirmation", Text(), doc="Where that writing is: a link or a dated quote."),
        Field("after", ListOf(Text()), doc="Ids of steps that must finish before this starts."),
    ),
    doc="A row of the plan.",
    aliases={
        "due_date": "due",
        "end": "due",
        "deadline": "due",
        "date": "due",
        "start_date": "start",
        "begin": "start",
        "name": "step",
        "title": "step",
        "description": "step",
        "task": "step",
        "assignee": "owner",
        "responsible": "owner",
        "exit_criteria": "exit",
        "exit_evidence": "exit",
        "proof": "evidence",
        "confirmed": "confirmed_by",
        "confirmed_with": "confirmed_by",
        "depends_on": "after",
        "dependencies": "after",
        "requires": "after",
        "state": "status",
    },
    lead="step",
)

REVIEW = Record(
    "review",
    (
        Field("date", Date(), True, "When the review took place."),
        Field("with", Text(), True, "The `name` of the customer-side person reviewed with."),
        Field("note", Text(), doc="Free text."),
    ),
    doc="A weekly status review held with the customer.",
)

DEAL = Record(
    "deal",
    (
        Field("title", Text(), True, "Display name of the deal."),
        Field("customer", Text(), True, "The buying organisation."),
        Field("go_live", Date(), True, "The customer's production go-live; anchors the plan."),
        Field("deadline", Date(), doc="The customer's external deadline that drives go-live."),
        Field("deadline_reason", Text(), doc="Why the deadline exists, in the customer's terms."),
        Field("close", Date(), doc="Target signature date."),
        Field("people", ListOf(PERSON), True, "Everyone who owns or confirms something."),
        Field("milestones", ListOf(MILESTONE), True, "The rows of the plan."),
        Field("reviews", ListOf(REVIEW), doc="Weekly status reviews held with the customer."),
    ),
    doc="The front matter of a mapdown deal file (a Mutual Action Plan).",
    aliases={
        "golive": "go_live",
        "go-live": "go_live",
        "golive_date": "go_live",
        "go_live_date": "go_live",
        "close_date": "close",
        "steps": "milestones",
        "plan": "milestones",
        "contacts": "people",
        "stakeholders": "people",
        "name": "title",
        "account": "customer",
        "company": "customer",
    },
)


@quick_init
@dataclass(frozen=True, slots=True)
class Person:
    name: str
    side: str
    role: str | None = None
    title: str | None = None
    email: str | None = None

    @property
    def is_customer(self) -> bool:
        return self.side == "customer"

    def has_role(self, role: str) -> bool:
        """True when `role` is this person's role or one of several (`champion, presenter`)."""
        return role_matches(self.role, role)


@functools.lru_cache(maxsize=4096)
def role_matches(roles: str | None, role: str) -> bool:
    """True when `role` is `roles` or one of several written in it (`champion, presenter`)."""
    if not roles:
        return False
    wanted = _norm_role(role)
    text = " ".join(roles.lower().split())
    parts = text.replace("/", ",").replace(";", ",").replace(" and ", ",").split(",")
    return any(_norm_role(p) == wanted for p in parts)


@functools.lru_cache(maxsize=512)
def _norm_role(role: str) -> str:
    return " ".join(role.lower().replace("-", " ").replace("_", " ").split())


@quick_init
@dataclass(frozen=True, slots=True)
class Milestone:
    index: int  # position in the file's list, for locating it
    id: str
    step: str
    track: str
    owner: str
    due: dt.date
    exit: str
    start: dt.date | None = None
    status: str = "planned"
    evidence: str | None = None
    confirmed_by: str | None = None
    confirmation: str | None = None
    after: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.status != "done"

    @property
    def dates(self) -> tuple[tuple[str, dt.date], ...]:
        """The step's dates by key: (`start`, d) when set, then (`due`, d)."""
        if self.start is None:
            return (("due", self.due),)
        return (("start", self.start), ("due", self.due))


@quick_init
@dataclass(frozen=True, slots=True)
class Review:
    date: dt.date
    with_: str
    note: str | None = None


@quick_init
@dataclass(frozen=True)  # no slots: `_people` below is computed once and kept
class Deal:
    id: str
    title: str
    customer: str
    go_live: dt.date
    people: tuple[Person, ...]
    milestones: tuple[Milestone, ...]
    deadline: dt.date | None = None
    deadline_reason: str | None = None
    close: dt.date | None = None
    reviews: tuple[Review, ...] = ()
    body: str = ""

    def person(self, name: str | None) -> Person | None:
        return self._people.get(name) if name is not None else None

    @functools.cached_property
    def _people(self) -> dict[str, Person]:
        return {p.name: p for p in reversed(self.people)}  # the first of a name wins

    def milestone(self, milestone_id: str) -> Milestone | None:
        return next((m for m in self.milestones if m.id == milestone_id), None)

    def side_of(self, milestone: Milestone) -> str | None:
        """The side of a step is its owner's side."""
        owner = self.person(milestone.owner)
        return owner.side if owner else None

    @functools.cached_property
    def has_customer_step(self) -> bool:
        """Whether any step is owned by someone on the customer's side (else the plan is the
        seller's alone: MAP207)."""
        return any(self.side_of(m) == "customer" for m in self.milestones)

    @functools.cached_property
    def customer_people(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.is_customer)


def make_milestone(index: int, m: dict[str, Any]) -> Milestone:
    """The step at `index` from its validated plain data (`after` as a tuple)."""
    return Milestone(index=index, **{**m, "after": tuple(m.get("after") or ())})


def build_deal(
    deal_id: str,
    data: dict[str, Any],
    body: str,
    *,
    people: tuple[Person, ...] | None = None,
    milestones: tuple[Milestone, ...] | None = None,
) -> Deal:
    """A Deal from validated plain data (every required key present and valid); `people` and
    `milestones` when the caller has made them already (see `parse.deal_from_data`)."""
    if people is None:
        people = tuple(Person(**p) for p in data["people"])
    if milestones is None:
        milestones = tuple(make_milestone(i, m) for i, m in enumerate(data["milestones"]))
    reviews = tuple(
        Review(date=r["date"], with_=r["with"], note=r.get("note"))
        for r in data.get("reviews") or ()
    )
    return Deal(
        id=deal_id,
        title=data["title"],
        customer=data["customer"],
        go_live=data["go_live"],
        people=people,
        milestones=milestones,
        deadline=data.get("deadline"),
        deadline_reason=data.get("deadline_reason"),
        close=data.get("close"),
        reviews=reviews,
        body=body,
    )
