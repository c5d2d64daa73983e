"""`mapdown.yaml`: typed settings with defaults, validated like deals (file, line, what to do)."""

from __future__ import annotations

import os
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mapdown.diagnostics import Diagnostic, Pos, render_text
from mapdown.errors import ConfigError
from mapdown.spec import Field, Int, ListOf, MapOf, Number, Record, Text

CONFIG_NAME = "mapdown.yaml"

DEFAULT_TEAM_WORDS = (
    # functions named instead of a person
    "legal",
    "procurement",
    "purchasing",
    "sourcing",
    "it",
    "security",
    "infosec",
    "finance",
    "compliance",
    "risk",
    "customer",
    "client",
    "vendor",
    "engineering",
    "operations",
    "ops",
    "management",
    "leadership",
    "executive",
    "executives",
    "exec",
    "hr",
    "architecture",
    "accounting",
    "audit",
    # words that mark a group
    "team",
    "teams",
    "department",
    "dept",
    "group",
    "office",
    "committee",
    "board",
    "desk",
    "staff",
    "function",
    # placeholders
    "tbd",
    "tba",
    "tbc",
    "unknown",
    "someone",
    "somebody",
    "todo",
    "n/a",
    "na",
)

# The customer-internal steps every MAP is expected to show as rows (MAP208). A row counts when
# its step, id or exit text matches one of the keywords (whole words, any case) and a customer
# person owns it (with `role` set: a person with that role).
DEFAULT_INTERNAL_STEPS: tuple[dict[str, Any], ...] = (
    {
        "name": "security review",
        "keywords": [
            "security",
            "infosec",
            "tpra",
            "third-party risk",
            "third party risk",
            "risk assessment",
            "vendor risk",
            "soc 2",
            "soc2",
            "penetration test",
            "pen test",
            "security questionnaire",
        ],
    },
    {
        "name": "legal review",
        "keywords": [
            "legal",
            "msa",
            "redline",
            "redlines",
            "contract review",
            "counsel",
            "dpa",
            "data processing agreement",
            "terms and conditions",
        ],
    },
    {
        "name": "procurement or vendor registration",
        "keywords": [
            "procurement",
            "vendor registration",
            "supplier registration",
            "vendor onboarding",
            "supplier onboarding",
            "supplier portal",
            "sourcing",
            "purchase order",
            "po",
            "purchasing",
            "vendor setup",
        ],
    },
    {
        "name": "approval committee",
        "keywords": [
            "committee",
            "board",
            "council",
            "steering",
            "steerco",
            "capital approval",
            "investment approval",
        ],
    },
    {
        "name": "signature by the economic buyer",
        "keywords": [
            "sign",
            "signs",
            "signed",
            "signature",
            "countersign",
            "countersigned",
            "execute",
            "executed",
            "execution",
            "order form",
        ],
        "role": "economic buyer",
    },
)

# The steps `mapdown new` starts a plan with: every customer-internal step of the checklist
# across the three tracks, with typical durations (days from start to due) and dependencies.
# Owners are placeholders named after their role ("TBD counsel") until a person is named.
DEFAULT_NEW_STEPS: tuple[dict[str, Any], ...] = (
    {
        "id": "technical-validation",
        "step": "Technical validation completed",
        "track": "technical",
        "owner_role": "champion",
        "side": "customer",
        "days": 14,
        "exit": "Validation results accepted by the champion in writing",
    },
    {
        "id": "security-review",
        "step": "Security review completed",
        "track": "technical",
        "owner_role": "security owner",
        "side": "customer",
        "days": 21,
        "exit": "Security assessment issued with no open high findings",
        "after": ["technical-validation"],
    },
    {
        "id": "business-case",
        "step": "Business case agreed with the champion",
        "track": "business",
        "owner_role": "champion",
        "side": "customer",
        "days": 10,
        "exit": "Business case document signed off by the champion",
    },
    {
        "id": "approval-committee",
        "step": "Approval committee decision",
        "track": "business",
        "owner_role": "economic buyer",
        "side": "customer",
        "days": 7,
        "exit": "Committee minutes record approval to proceed",
        "after": ["business-case"],
    },
    {
        "id": "legal-review",
        "step": "Legal review: MSA redlines returned",
        "track": "paper",
        "owner_role": "counsel",
        "side": "customer",
        "days": 21,
        "exit": "Redlined MSA returned by counsel",
    },
    {
        "id": "vendor-registration",
        "step": "Procurement: vendor registration completed",
        "track": "paper",
        "owner_role": "sourcing lead",
        "side": "customer",
        "days": 14,
        "exit": "Vendor number issued in the customer's supplier system",
    },
    {
        "id": "signature",
        "step": "Order form signed by the economic buyer",
        "track": "paper",
        "owner_role": "economic buyer",
        "side": "customer",
        "days": 3,
        "exit": "Countersigned order form and PO number",
        "after": ["security-review", "approval-committee", "legal-review", "vendor-registration"],
    },
    {
        "id": "kickoff",
        "step": "Implementation kickoff",
        "track": "technical",
        "owner_role": "account executive",
        "side": "vendor",
        "days": 5,
        "exit": "Kickoff deck and project plan accepted by the champion",
        "after": ["signature"],
    },
    {
        "id": "implementation",
        "step": "Implementation and user acceptance testing",
        "track": "technical",
        "owner_role": "account executive",
        "side": "vendor",
        "days": 35,
        "exit": "UAT sign-off by the champion",
        "after": ["kickoff"],
    },
    {
        "id": "go-live-readiness",
        "step": "Go-live readiness sign-off",
        "track": "technical",
        "owner_role": "champion",
        "side": "customer",
        "days": 3,
        "exit": "Signed go-live readiness checklist",
        "after": ["implementation"],
    },
)

SEVERITY_LEVELS = ("error", "warning", "off")
FINDING_CODES = tuple(f"MAP2{n:02d}" for n in range(1, 18))  # asserted against rules.RULES
SCORE_PARTS = ("confirmation", "owners", "evidence", "internal_steps", "threading", "on_time")

INTERNAL_STEP = Record(
    "internal step",
    (
        Field("name", Text(), True, "What the step is, as the finding names it."),
        Field(
            "keywords",
            ListOf(Text()),
            True,
            "Words that mark a row as this step (whole words, any case).",
        ),
        Field("role", Text(), doc="When set, the row's owner must have this role."),
    ),
)

NEW_STEP = Record(
    "template step",
    (
        Field("id", Text(), True, "The step's id (a slug)."),
        Field("step", Text(), True, "What happens."),
        Field("track", Text(("technical", "business", "paper")), True, "The track."),
        Field("owner_role", Text(), True, "The owner's role; the plan names `TBD <role>`."),
        Field("side", Text(("customer", "vendor")), True, "The owner's side."),
        Field("days", Int(0, 365), True, "Typical duration: days from start to due."),
        Field("exit", Text(), True, "The artifact that proves the step done."),
        Field("after", ListOf(Text()), doc="Ids of template steps that come first."),
    ),
)

SITE = Record(
    "site",
    (
        Field("title", Text(), doc="The dashboard's title.", default="Deal plans"),
        Field("base_url", Text(), doc="Where the site is published, for absolute links."),
    ),
)

CONFIG = Record(
    "mapdown.yaml",
    (
        Field(
            "timezone",
            Text(),
            doc="IANA time zone that days and ISO weeks are cut in.",
            default="UTC",
        ),
        Field(
            "fiscal_year_start",
            Int(1, 12),
            doc="Month (1–12) the vendor's fiscal year starts; quarters follow.",
            default=1,
        ),
        Field(
            "confirmation_window_days",
            Int(1, 365),
            doc="Days ahead counted by the confirmation rate and MAP203.",
            default=30,
        ),
        Field(
            "team_words",
            ListOf(Text()),
            doc="Words that mark a team, function or placeholder rather than a person (MAP201).",
            default=DEFAULT_TEAM_WORDS,
        ),
        Field(
            "internal_steps",
            ListOf(INTERNAL_STEP),
            doc="Customer-internal steps expected in every MAP (MAP208).",
            default=DEFAULT_INTERNAL_STEPS,
        ),
        Field(
            "min_customer_people",
            Int(1, 50),
            doc="Distinct customer people expected as owners or confirmers (MAP206).",
            default=4,
        ),
        Field(
            "quarter_end_days",
            Int(0, 92),
            doc="Days before the fiscal quarter end that make a close quarter-anchored (MAP211).",
            default=7,
        ),
        Field(
            "quiet_days",
            Int(1, 365),
            doc="Days without a confirmation or review before MAP213.",
            default=14,
        ),
        Field("slip_days", Int(1, 365), doc="How far back MAP214 looks for slips.", default=7),
        Field("plan_size_min", Int(0, 1000), doc="Fewest open steps (MAP217).", default=6),
        Field("plan_size_max", Int(1, 1000), doc="Most open steps (MAP217).", default=30),
        Field(
            "severity",
            MapOf(Text(SEVERITY_LEVELS), keys=FINDING_CODES),
            doc="Severity per finding code: `error`, `warning` or `off`.",
            default={},
        ),
        Field(
            "score_weights",
            MapOf(Number(), keys=SCORE_PARTS),
            doc="Weights of the health score's parts.",
            default={},
        ),
        Field("deals_dir", Text(), doc="Folder holding the deal files.", default="deals"),
        Field(
            "new_steps",
            ListOf(NEW_STEP),
            doc="The steps `mapdown new` plans backward from go-live.",
            default=DEFAULT_NEW_STEPS,
        ),
        Field(
            "new_buffer_days",
            Int(0, 90),
            doc="Days `mapdown new` pulls every date earlier than the latest the chain allows.",
            default=7,
        ),
        Field("site", SITE, doc="The published dashboard."),
    ),
    doc="Settings of a mapdown deals repository. Every key is optional.",
    aliases={
        "tz": "timezone",
        "time_zone": "timezone",
        "window": "confirmation_window_days",
        "fiscal_year": "fiscal_year_start",
        "severities": "severity",
        "weights": "score_weights",
    },
)


@dataclass(frozen=True)
class InternalStep:
    name: str
    keywords: tuple[str, ...]
    role: str | None = None


@dataclass(frozen=True)
class Config:
    timezone: str = "UTC"
    fiscal_year_start: int = 1
    confirmation_window_days: int = 30
    team_words: tuple[str, ...] = DEFAULT_TEAM_WORDS
    internal_steps: tuple[InternalStep, ...] = tuple(
        InternalStep(s["name"], tuple(s["keywords"]), s.get("role")) for s in DEFAULT_INTERNAL_STEPS
    )
    min_customer_people: int = 4
    quarter_end_days: int = 7
    quiet_days: int = 14
    slip_days: int = 7
    plan_size_min: int = 6
    plan_size_max: int = 30
    severity: dict[str, str] = field(default_factory=dict)
    score_weights: dict[str, float] = field(default_factory=dict)
    deals_dir: str = "deals"
    new_steps: tuple[dict[str, Any], ...] = DEFAULT_NEW_STEPS
    new_buffer_days: int = 7
    site_title: str = "Deal plans"
    base_url: str | None = None
    path: Path | None = None  # where it was read from

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


def load_config(path: Path | None) -> Config:
    """The config at `path`, or the defaults when `path` is None. Raises ConfigError."""
    if path is None:
        return Config()
    display = os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{display}: cannot read the config: {exc}") from exc
    lines = text.splitlines()
    from mapdown.parse import MAX_DEPTH, load_yaml_node, nested_too_deep, validate_record

    if nested_too_deep(text):  # libyaml would overflow the C stack
        raise ConfigError(f"{display}: the config is nested more than {MAX_DEPTH} levels deep")
    try:
        node = load_yaml_node(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = Pos(mark.line + 1, mark.column + 1) if mark else Pos(1, 1)
        problem = Diagnostic(
            display,
            pos,
            "MAP100",
            "error",
            f"YAML syntax error: {getattr(exc, 'problem', exc)}",
            "fix the YAML at this line (indent with spaces, quote text with `: `)",
            lines[pos.line - 1] if 0 < pos.line <= len(lines) else None,
        )
        raise ConfigError("invalid config:\n" + render_text([problem])) from exc
    if node is None:
        return Config(path=path)
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(
            f"{display}:1: the config must be a mapping of settings "
            "(`timezone: Europe/Berlin`, …), see docs/configuration.md"
        )
    data, located, problems = validate_record(node, CONFIG, display, lines, 0)

    def problem(key: str, message: str, hint: str) -> None:
        pos = located.value((key,))
        problems.append(
            Diagnostic(
                display,
                pos,
                "MAP103",
                "error",
                message,
                hint,
                lines[pos.line - 1] if 0 < pos.line <= len(lines) else None,
            )
        )

    if isinstance(data, dict) and isinstance(data.get("timezone"), str):
        try:
            zoneinfo.ZoneInfo(data["timezone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problem(
                "timezone",
                f"unknown time zone `{data['timezone']}`",
                "use an IANA name such as Europe/Berlin or America/New_York",
            )
    if isinstance(data, dict) and data.get("plan_size_min", 6) > data.get("plan_size_max", 30):
        problem(
            "plan_size_min",
            "plan_size_min is larger than plan_size_max",
            "make plan_size_min the smaller of the two",
        )
    if problems:
        raise ConfigError("invalid config:\n" + render_text(problems))
    assert isinstance(data, dict)
    site = data.pop("site", {}) or {}
    steps = data.pop("internal_steps", None)
    kwargs: dict[str, Any] = dict(data)
    if "team_words" in kwargs:
        kwargs["team_words"] = tuple(w.lower() for w in kwargs["team_words"])
    if "new_steps" in kwargs:
        kwargs["new_steps"] = tuple(kwargs["new_steps"])
    if steps is not None:
        kwargs["internal_steps"] = tuple(
            InternalStep(s["name"], tuple(s["keywords"]), s.get("role")) for s in steps
        )
    return Config(
        **kwargs,
        site_title=site.get("title", "Deal plans"),
        base_url=site.get("base_url"),
        path=path,
    )


def find_config(root: Path) -> Path | None:
    candidate = root / CONFIG_NAME
    return candidate if candidate.is_file() else None
