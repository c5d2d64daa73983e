"""What changed between two revisions, for reviewers: slips, confirmations gained and voided,
owners changed, steps added or removed, and what it does to the score.

The changes come from the same rules as the history (history.apply_state): a diff is one more
step of a deal's timeline, from its state at BASE to its state at HEAD, judged against what was
confirmed at BASE.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import git

from mapdown.config import Config
from mapdown.errors import MapdownError, UsageProblem
from mapdown.gitio import open_repo, resolve
from mapdown.history import DealHistory, RepoHistory, State, apply_state, read_history
from mapdown.parse import parse_text
from mapdown.score import score_deal

# Worst news first: the order a reviewer should read them in.
KINDS = (
    "confirmation-voided",
    "slipped",
    "confirmation-removed",
    "deal-removed",
    "step-removed",
    "go-live-moved",
    "close-moved",
    "owner-changed",
    "score",
    "confirmation-rate",
    "pulled-in",
    "date-set",
    "step-added",
    "deal-added",
    "confirmed",
    "done",
)
_RENAMED = {"created": "step-added", "removed": "step-removed", "confirmation-changed": "confirmed"}
_ANNOTATE = {"slipped", "confirmation-voided"}


@dataclass
class Change:
    deal: str
    milestone: str | None
    kind: str
    before: Any = None
    after: Any = None
    days: int | None = None
    key: str | None = None
    path: str | None = None  # the file in HEAD (or BASE, for a removed deal)
    line: int | None = None  # where the change sits in that file
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "deal": self.deal,
            "milestone": self.milestone,
            "kind": self.kind,
            "from": self.before,
            "to": self.after,
            "days": self.days,
            "key": self.key,
            "path": self.path,
            "line": self.line,
            "detail": self.detail,
        }


@dataclass
class DiffResult:
    base: str
    head: str  # a commit id, or "working tree"
    head_commit: str | None
    changes: list[Change] = field(default_factory=list)


def default_base(repo: git.Repo) -> str:
    """The merge base of HEAD with the default branch (origin's HEAD, else main or master)."""
    candidates = []
    with contextlib.suppress(git.GitCommandError):
        candidates.append(repo.git.symbolic_ref("--quiet", "refs/remotes/origin/HEAD"))
    candidates += ["origin/main", "origin/master", "main", "master"]
    for name in candidates:
        if resolve(repo, name):
            try:
                return repo.git.merge_base(name, "HEAD")
            except git.GitCommandError:
                continue
    raise UsageProblem("cannot find the default branch to compare with; give BASE explicitly")


def _data_at_end(history: DealHistory) -> tuple[dict[str, Any] | None, State | None]:
    for state in reversed(history.states):
        if state.error is None:
            return history.data_at(state), state
    return None, None


def _match(base: RepoHistory, head: RepoHistory) -> list[tuple[str | None, str | None]]:
    """Pairs of (base path, head path) for every deal; a renamed file is one pair."""
    pairs: list[tuple[str | None, str | None]] = []
    base_paths = set(base.deals)
    for rel in sorted(head.deals):
        if rel in base_paths:
            pairs.append((rel, rel))
            base_paths.discard(rel)
            continue
        earlier = {s.path for s in head.deals[rel].states} & base_paths
        match = min(earlier) if earlier else None
        if match:
            base_paths.discard(match)
        pairs.append((match, rel))
    pairs += [(rel, None) for rel in sorted(base_paths)]
    return pairs


def compute_diff(
    root: Path,
    deals_dir: str,
    config: Config,
    as_of: dt.date,
    base: str | None,
    head: str | None,
    use_cache: bool = True,
    allow_shallow: bool = False,
) -> DiffResult:
    """Every change between BASE and HEAD (the working tree when HEAD is None)."""
    repo = open_repo(root)
    if repo is None:
        raise MapdownError("`mapdown diff` needs a git repository")
    base_rev = base or default_base(repo)
    base_sha = resolve(repo, base_rev)
    if base_sha is None:
        raise UsageProblem(f"no revision `{base_rev}` in this repository")
    head_sha = resolve(repo, head) if head else None
    if head and head_sha is None:
        raise UsageProblem(f"no revision `{head}` in this repository")
    tz = config.tz
    with (
        read_history(
            root,
            deals_dir,
            tz,
            rev=base_sha,
            allow_shallow=allow_shallow,
            use_cache=use_cache,
            worktree=False,
        ) as before,
        read_history(
            root,
            deals_dir,
            tz,
            rev=head_sha or "HEAD",
            allow_shallow=allow_shallow,
            use_cache=use_cache,
            worktree=head is None,
        ) as after,
    ):
        result = DiffResult(base_sha, head_sha or "working tree", head_sha)
        for base_path, head_path in _match(before, after):
            result.changes += _deal_changes(before, after, base_path, head_path, config, as_of)
    result.changes.sort(
        key=lambda c: (
            KINDS.index(c.kind) if c.kind in KINDS else 99,
            c.deal,
            c.milestone or "",
            c.key or "",
        )
    )
    return result


def _deal_changes(
    before: RepoHistory,
    after: RepoHistory,
    base_path: str | None,
    head_path: str | None,
    config: Config,
    as_of: dt.date,
) -> list[Change]:
    old_history = before.deals[base_path] if base_path else None
    new_history = after.deals[head_path] if head_path else None
    old, _ = _data_at_end(old_history) if old_history else (None, None)
    new, new_state = _data_at_end(new_history) if new_history else (None, None)
    deal_id = PurePosixPath(head_path or base_path or "").name.removesuffix(".md")
    if old is None and new is None:
        return []
    # One more step of the timeline, judged against what stood confirmed at BASE.
    scratch = DealHistory(deal_id, head_path or base_path or "")
    marker = State(1, None, 0, dt.date.min, "", "", head_path or "", "head" if new else None)
    standing = old_history.standing() if old_history else {}
    standing = {
        mid: (0 if d >= 0 else d, None if c is None else (0 if c >= d else -1))
        for mid, (d, c) in standing.items()
    }  # re-indexed: BASE is state 0
    apply_state(scratch, marker, new, old, standing)
    text = after.text(new_state.blob) if new_state and new_state.blob else None
    located = parse_text(text, head_path or "", deal_id).located if text else None
    steps = {m["id"]: i for i, m in enumerate(new["milestones"])} if new else {}
    changes = []
    for e in scratch.events:
        kind = _RENAMED.get(e.kind, e.kind)
        if kind == "status":
            continue  # in-progress and blocked are not news for a reviewer
        line = None
        if located is not None and e.milestone in steps:
            where: tuple[Any, ...] = ("milestones", steps[e.milestone])
            if e.key:
                where += (e.key,)
            elif kind in ("confirmed",):
                where += ("confirmation",)
            elif kind == "done":
                where += ("status",)
            elif kind == "owner-changed":
                where += ("owner",)
            line = located.value(where).line
        elif located is not None and e.key in ("go_live", "close"):
            line = located.value((e.key,)).line
        detail = ""
        if kind == "done":
            detail = "with evidence" if e.after else "without evidence"
        changes.append(
            Change(
                deal_id,
                e.milestone,
                kind,
                e.before,
                e.after,
                e.days,
                e.key,
                head_path or base_path,
                line,
                detail,
            )
        )
    if old is not None and new is not None:
        changes += _score_changes(deal_id, old_history, new_history, head_path, config, as_of)
    return changes


def _score_changes(
    deal_id: str,
    old_history: DealHistory | None,
    new_history: DealHistory | None,
    path: str | None,
    config: Config,
    as_of: dt.date,
) -> list[Change]:
    scores = []
    for history in (old_history, new_history):
        assert history is not None
        deal = history.deal_at(_data_at_end(history)[1])
        if deal is None:
            return []
        scores.append(score_deal(deal, as_of, config, history))
    old, new = scores
    out = []
    if old.score != new.score:
        out.append(
            Change(deal_id, None, "score", old.score, new.score, new.score - old.score, path=path)
        )
    if old.confirmation_rate != new.confirmation_rate:
        out.append(
            Change(
                deal_id,
                None,
                "confirmation-rate",
                old.confirmation_rate,
                new.confirmation_rate,
                path=path,
            )
        )
    return out


# ---------------------------------------------------------------- renderings


def _describe(c: Change) -> str:
    what = f"`{c.milestone}`" if c.milestone else "the deal"
    if c.kind in ("slipped", "pulled-in", "date-set"):
        verb = {"slipped": "slipped", "pulled-in": "pulled in", "date-set": "date set"}[c.kind]
        days = f" by {abs(c.days)} day{'s' * (abs(c.days) != 1)}" if c.days else ""
        return f"{what} {c.key} {verb}{days}: {c.before or '—'} → {c.after or '—'}"
    if c.kind == "confirmation-voided":
        return (
            f"{what}: {c.key} moved {c.before} → {c.after} under a standing confirmation; "
            "the customer agreed to the old date"
        )
    if c.kind == "confirmed":
        by = c.after[0] if isinstance(c.after, list) else c.after
        return f"{what} confirmed by {by}" + (" (new writing)" if c.before else "")
    if c.kind == "confirmation-removed":
        return f"{what}: confirmation removed"
    if c.kind == "done":
        return f"{what} done {c.detail}" + (f" ({c.after})" if c.after else "")
    if c.kind == "owner-changed":
        return f"{what} owner {c.before} → {c.after}"
    if c.kind in ("step-added", "step-removed"):
        return f"{what} {'added' if c.kind == 'step-added' else 'removed'}"
    if c.kind in ("deal-added", "deal-removed"):
        return f"deal {'added' if c.kind == 'deal-added' else 'removed'}"
    if c.kind in ("go-live-moved", "close-moved"):
        days = f" ({c.days:+d} days)" if c.days is not None else ""
        return f"{c.key.replace('_', '-') if c.key else ''} moved {c.before} → {c.after}{days}"
    if c.kind == "score":
        return f"score {c.before} → {c.after} ({c.days:+d})"
    if c.kind == "confirmation-rate":
        show = [("—" if v is None else f"{v:.0f}%") for v in (c.before, c.after)]
        return f"confirmation rate (next 30 days) {show[0]} → {show[1]}"
    return f"{what} {c.kind}"


def render_text(result: DiffResult) -> str:
    if not result.changes:
        return "No changes to the deals."
    out = []
    for deal in sorted({c.deal for c in result.changes}):
        out.append(f"{deal}:")
        for c in (c for c in result.changes if c.deal == deal):
            where = f"  [{c.path}:{c.line}]" if c.line else ""
            out.append(f"  {_describe(c)}{where}")
    return "\n".join(out)


def _link(c: Change, result: DiffResult) -> str:
    if not c.path:
        return ""
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    repository = os.environ.get("GITHUB_REPOSITORY")
    anchor = f"#L{c.line}" if c.line else ""
    if repository and result.head_commit:
        return f"{server}/{repository}/blob/{result.head_commit}/{c.path}{anchor}"
    return f"{c.path}{anchor}"


def render_markdown(result: DiffResult) -> str:
    """A pull-request comment: the worst news first, grouped by deal, each change linked."""
    if not result.changes:
        return "## MAP changes\n\nNo changes to the deals.\n"
    count = {k: sum(1 for c in result.changes if c.kind == k) for k in KINDS}
    headline = []
    if count["confirmation-voided"]:
        headline.append(
            f"**{count['confirmation-voided']} confirmation"
            f"{'s' * (count['confirmation-voided'] != 1)} voided**"
        )
    if count["slipped"]:
        worst = max(c.days or 0 for c in result.changes if c.kind == "slipped")
        headline.append(
            f"**{count['slipped']} slip{'s' * (count['slipped'] != 1)}** (up to {worst} days)"
        )
    drops = [c for c in result.changes if c.kind == "score" and (c.days or 0) < 0]
    headline += [f"score of `{c.deal}` {c.before} → {c.after}" for c in drops]
    if not headline:
        headline.append("no slips or voided confirmations")
    lines = ["## MAP changes", "", "; ".join(headline) + ".", ""]
    order = sorted(
        {c.deal for c in result.changes},
        key=lambda d: min(
            KINDS.index(c.kind) for c in result.changes if c.deal == d and c.kind in KINDS
        ),
    )
    for deal in order:
        lines.append(f"### {deal}")
        lines.append("")
        for c in (c for c in result.changes if c.deal == deal):
            link = _link(c, result)
            mark = "⚠️ " if c.kind in _ANNOTATE else ""
            text = _describe(c).replace("|", "\\|")
            lines.append(
                f"- {mark}{text}" + (f" ([line {c.line}]({link}))" if c.line and link else "")
            )
        lines.append("")
    lines.append(
        f"<sub>mapdown diff {result.base[:7]}..{(result.head_commit or 'working tree')[:7]}</sub>"
    )
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def render_github(result: DiffResult) -> str:
    """A warning on the changed line of each slip and voided confirmation."""
    out = []
    for c in result.changes:
        if c.kind in _ANNOTATE and c.path and c.line:
            title = "confirmation voided" if c.kind == "confirmation-voided" else "slipped"
            path = _escape(c.path).replace(":", "%3A").replace(",", "%2C")
            out.append(
                f"::warning file={path},line={c.line},title={title}::{_escape(_describe(c))}"
            )
    return "\n".join(out)
