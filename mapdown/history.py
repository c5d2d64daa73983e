"""Git history → every version of every deal file → a timeline per step.

The rules (FORMAT.md, "What git history adds"):

- The history is the first-parent history of the built revision; each state is timed by its
  commit's committer date. Where a committer date is earlier than the state before it (clock
  skew, a rebase), the state is timed as the one before it: time never runs backward along the
  history, so "as of a day" always means a prefix of it.
- A dirty working tree is one more state, timed now.
- A step's dates are `start` and `due`; they changed in every state where either differs from
  the state before. A step is confirmed at the latest state in which its (`confirmed_by`,
  `confirmation`) pair took its current value. The confirmation covers the dates only if no date
  change came after it; a change in the same state is covered.
- A row is followed by its `id`; a file by git's rename detection. A file deleted and later added
  again at the same path continues the same history (its steps are removed, then created again).
- A version that cannot be read is skipped and reported; it never stops the run.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from mapdown.cache import CACHE_DIR, ParseCache
from mapdown.errors import MapdownError
from mapdown.gitio import BlobReader, Commit, blob_hash, has_commits, is_shallow, open_repo
from mapdown.gitio import read_log as git_log
from mapdown.model import Deal, Milestone
from mapdown.parse import QuickParseError, deal_from_data, quick_data
from mapdown.rules import recorded_confirmation

SHALLOW_HELP = (
    "this is a shallow clone, so the history of the deals is incomplete and confirmations "
    "cannot be judged. In GitHub Actions use `actions/checkout` with `fetch-depth: 0`; "
    "locally run `git fetch --unshallow`. Or pass --allow-shallow to accept partial results."
)


@dataclass(frozen=True, slots=True)
class State:
    """One version of a deal file."""

    index: int
    commit: str | None  # None for the working tree
    time: int  # effective time, seconds since the epoch (never before the previous state's)
    day: dt.date  # that time's calendar day in the configured time zone
    author: str
    subject: str
    path: str  # repository-relative path of the file in this version
    deal: Deal | None  # None when the file was deleted, or the version does not parse
    error: str | None = None  # why the version does not parse

    @property
    def short(self) -> str:
        return self.commit[:7] if self.commit else "working tree"


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to a step (or to the deal, with `milestone` None)."""

    kind: str
    milestone: str | None
    state: int  # index of the state it happened in
    commit: str | None
    time: int
    day: dt.date
    author: str
    key: str | None = None  # start or due, for date moves
    before: Any = None
    after: Any = None
    days: int | None = None  # how far a date moved (later is positive)

    def to_json(self, tz: zoneinfo.ZoneInfo) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "at": dt.datetime.fromtimestamp(self.time, tz).isoformat(),
            "day": self.day.isoformat(),
            "commit": self.commit,
            "author": self.author,
        }
        if self.key:
            out["key"] = self.key
        if self.before is not None or self.after is not None or self.kind in _VALUE_KINDS:
            out["from"] = _jsonable(self.before)
            out["to"] = _jsonable(self.after)
        if self.days is not None:
            out["days"] = self.days
        return out


_VALUE_KINDS = {
    "slipped",
    "pulled-in",
    "confirmed",
    "confirmation-changed",
    "confirmation-removed",
    "confirmation-voided",
    "status",
    "done",
    "owner-changed",
    "go-live-moved",
    "close-moved",
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class StepTrack:
    """Per step, as of a state: since when its dates and its confirmation stand."""

    dates_at: int  # index of the state where its dates were last set or changed
    confirmed_at: int | None  # index of the state where its confirmation pair took its value


@dataclass
class DealHistory:
    """Every version of one deal file, and what happened to each step."""

    deal_id: str
    path: str
    states: list[State] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    # tracks[i][milestone id]: the StepTrack as of state i (None for unreadable versions)
    tracks: list[dict[str, StepTrack] | None] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    partial: bool = False

    @property
    def first_day(self) -> dt.date | None:
        return self.states[0].day if self.states else None

    def upto(self, day: dt.date) -> int:
        """How many states were there by the end of `day`."""
        n = 0
        for state in self.states:
            if state.day > day:
                break
            n += 1
        return n

    def state_as_of(self, day: dt.date) -> State | None:
        """The last readable version as of `day` (None if the deal did not exist yet)."""
        for state in reversed(self.states[: self.upto(day)]):
            if state.error is None:
                return state if state.deal is not None else None
        return None

    def covered(self, milestone: Milestone, deal: Deal, n: int | None = None) -> bool:
        """Whether the step's confirmation covers its dates, judged on the first `n` states."""
        if not recorded_confirmation(deal, milestone):
            return False
        track = self.track(milestone.id, n)
        if track is None:  # no history for this step: what the file records covers
            return True
        return track.confirmed_at is not None and track.confirmed_at >= track.dates_at

    def track(self, milestone_id: str, n: int | None = None) -> StepTrack | None:
        upto = len(self.tracks) if n is None else n
        for i in range(upto - 1, -1, -1):
            tracks = self.tracks[i]
            if tracks is not None:
                return tracks.get(milestone_id)
        return None

    def events_for(self, milestone_id: str | None, n: int | None = None) -> list[Event]:
        upto = len(self.states) if n is None else n
        return [e for e in self.events if e.milestone == milestone_id and e.state < upto]

    def with_current(self, deal: Deal, time: int, day: dt.date, path: str) -> DealHistory:
        """This history with `deal` (the file being checked) as its final state, if different."""
        last = next((s for s in reversed(self.states) if s.error is None), None)
        if last is not None and last.deal is not None and _same(last.deal, deal):
            return self
        if self.states:  # never before the last state
            time, day = max(time, self.states[-1].time), max(day, self.states[-1].day)
        state = State(len(self.states), None, time, day, "", "current file", path, deal)
        return build_timeline(
            self.deal_id, self.path, [*self.states, state], self.problems, self.partial
        )


def _same(a: Deal, b: Deal) -> bool:
    return replace(a, body="", id="") == replace(b, body="", id="")


def _values(m: Milestone) -> tuple[Any, ...]:
    return (m.start, m.due, m.confirmed_by, m.confirmation, m.status, m.evidence, m.owner)


def build_timeline(
    deal_id: str,
    path: str,
    states: list[State],
    problems: Sequence[str] = (),
    partial: bool = False,
) -> DealHistory:
    """Events and per-state step tracks from a deal's states, oldest first."""
    history = DealHistory(deal_id, path, states, problems=list(problems), partial=partial)
    previous: Deal | None = None
    current: dict[str, StepTrack] = {}
    for state in states:
        if state.error is not None:
            history.tracks.append(None)
            continue
        deal = state.deal
        steps = {m.id: m for m in deal.milestones} if deal else {}
        before = {m.id: m for m in previous.milestones} if previous else {}
        new: dict[str, StepTrack] = {}

        def emit(kind: str, mid: str | None, at: State = state, **kw: Any) -> None:
            history.events.append(
                Event(kind, mid, at.index, at.commit, at.time, at.day, at.author, **kw)
            )

        if deal is not None and previous is None:
            emit("deal-added", None)
        if deal is not None and previous is not None:
            for key, kind in (("go_live", "go-live-moved"), ("close", "close-moved")):
                a, b = getattr(previous, key), getattr(deal, key)
                if a != b:
                    emit(
                        kind,
                        None,
                        key=key,
                        before=a,
                        after=b,
                        days=(b - a).days if a and b else None,
                    )
        if deal is None and previous is not None:
            emit("deal-removed", None)
        for mid, m in steps.items():
            old = before.get(mid)
            pair = (m.confirmed_by, m.confirmation)
            if old is None:
                emit("created", mid, after=m.due)
                has_pair = m.confirmed_by is not None or m.confirmation is not None
                new[mid] = StepTrack(state.index, state.index if has_pair else None)
                if has_pair:
                    emit("confirmed", mid, after=pair)
                continue
            track = current[mid]
            dates_at, confirmed_at = track.dates_at, track.confirmed_at
            old_pair = (old.confirmed_by, old.confirmation)
            was_covering = (
                confirmed_at is not None and confirmed_at >= dates_at and old_pair != (None, None)
            )
            moved = False
            for key in ("start", "due"):
                a, b = getattr(old, key), getattr(m, key)
                if a != b:
                    moved = True
                    days = (b - a).days if a and b else None
                    kind = (
                        "slipped"
                        if days is not None and days > 0
                        else ("pulled-in" if days is not None and days < 0 else "date-set")
                    )
                    emit(kind, mid, key=key, before=a, after=b, days=days)
            if moved:
                dates_at = state.index
            if pair != old_pair:
                if pair == (None, None):
                    emit("confirmation-removed", mid, before=old_pair)
                    confirmed_at = None
                else:
                    emit(
                        "confirmed" if old_pair == (None, None) else "confirmation-changed",
                        mid,
                        before=old_pair if old_pair != (None, None) else None,
                        after=pair,
                    )
                    confirmed_at = state.index
            elif moved and was_covering:
                moves = [
                    e
                    for e in history.events
                    if e.state == state.index and e.milestone == mid and e.key
                ]
                first = moves[0]
                emit(
                    "confirmation-voided",
                    mid,
                    key=first.key,
                    before=first.before,
                    after=first.after,
                    days=first.days,
                )
            if m.status != old.status:
                emit(
                    "done" if m.status == "done" else "status",
                    mid,
                    before=old.status,
                    after=m.status if m.status != "done" else m.evidence,
                )
            if m.owner != old.owner:
                emit("owner-changed", mid, before=old.owner, after=m.owner)
            new[mid] = StepTrack(dates_at, confirmed_at)
        for mid in before:
            if mid not in steps:
                emit("removed", mid)
        current = new
        history.tracks.append(dict(new))
        previous = deal
    return history


# ---------------------------------------------------------------- reading a repository


@dataclass
class RepoHistory:
    """The history of every deal file in a repository (None-like when there is no git)."""

    root: Path
    available: bool  # False outside git, or for a repository without commits
    partial: bool = False  # a shallow clone read with --allow-shallow
    deals: dict[str, DealHistory] = field(default_factory=dict)  # by current path
    notice: str | None = None  # what to tell the user once

    def for_path(self, path: Path) -> DealHistory | None:
        try:
            # abspath, not resolve: a linked file is judged where it is listed, not followed
            rel = PurePosixPath(Path(os.path.abspath(path)).relative_to(self.root)).as_posix()  # noqa: PTH100
        except ValueError:
            return None
        return self.deals.get(rel)


def _now() -> int:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return int(epoch)
    return int(dt.datetime.now(dt.UTC).timestamp())


def _is_deal(path: str, folder: str) -> bool:
    return (
        path.startswith(folder + "/")
        and path.endswith(".md")
        and PurePosixPath(path).name.lower() != "readme.md"
    )


def read_history(
    root: Path,
    deals_dir: str,
    tz: zoneinfo.ZoneInfo,
    rev: str = "HEAD",
    allow_shallow: bool = False,
    use_cache: bool = True,
    worktree: bool = True,
) -> RepoHistory:
    """Read every deal's history in one `git log` pass and one batch blob reader."""
    repo = open_repo(root)
    if repo is None:
        return RepoHistory(
            root,
            False,
            notice=(
                "not a git repository: judging the files as they are, without history "
                "(confirmations are taken as recorded; MAP205, MAP213 and MAP214 need history)"
            ),
        )
    top = Path(repo.working_tree_dir or root).resolve()
    deals_path = Path(os.path.abspath(root / deals_dir))  # noqa: PTH100
    folder = PurePosixPath(deals_path.relative_to(top)).as_posix()
    partial = False
    if is_shallow(repo):
        if not allow_shallow:
            raise MapdownError(SHALLOW_HELP)
        partial = True
    if not has_commits(repo, rev):
        if rev != "HEAD":
            raise MapdownError(f"no commit `{rev}` in this repository")
        entries = []
    else:
        entries = git_log(repo, rev, folder)

    # Follow each file through renames: lineage id → [(commit, path, blob)].
    lineage_of: dict[str, int] = {}
    ended: dict[str, int] = {}
    lineages: dict[int, list[tuple[Commit | None, str, str | None]]] = {}
    for entry in entries:
        for change in entry.changes:
            if change.status in "RC" and change.old_path is not None:
                if change.status == "R" and change.old_path in lineage_of:
                    key = lineage_of.pop(change.old_path)
                else:
                    key = ended.pop(change.path, None) or len(lineages) + 1
                if not _is_deal(change.path, folder):
                    continue
            elif not _is_deal(change.path, folder):
                continue
            elif change.status == "D":
                key = lineage_of.pop(change.path, None) or len(lineages) + 1
                ended[change.path] = key
            elif change.path in lineage_of:
                key = lineage_of[change.path]
            else:
                key = ended.pop(change.path, None) or len(lineages) + 1
            if change.status != "D":
                lineage_of[change.path] = key
            lineages.setdefault(key, []).append((entry.commit, change.path, change.blob))

    # The working tree as one more state, timed now.
    current_files = (
        {
            PurePosixPath(p.relative_to(top)).as_posix(): p
            for p in sorted((top / folder).rglob("*.md"))
            if _is_deal(PurePosixPath(p.relative_to(top)).as_posix(), folder)
        }
        if worktree and (top / folder).is_dir()
        else {}
    )
    texts: dict[str, str] = {}
    if worktree:
        for rel, path in current_files.items():
            try:
                raw = path.read_bytes()
            except OSError:
                continue
            blob = blob_hash(raw)
            key = lineage_of.get(rel)
            last = lineages[key][-1][2] if key is not None else None
            if blob != last:
                if key is None:
                    key = ended.pop(rel, None) or len(lineages) + 1
                    lineage_of[rel] = key
                lineages.setdefault(key, []).append((None, rel, blob))
                texts[blob] = raw.decode("utf-8", "replace")
        for rel, key in list(lineage_of.items()):
            if rel not in current_files and lineages[key][-1][2] is not None:
                lineages[key].append((None, rel, None))  # deleted in the working tree

    result = RepoHistory(top, True, partial=partial)
    if partial:
        result.notice = "shallow clone: history is partial, results are marked as such"
    cache = ParseCache(top / CACHE_DIR if use_cache else None)
    reader = BlobReader(repo) if entries else None
    now = _now()
    try:
        for rel, key in lineage_of.items():
            versions = lineages[key]
            result.deals[rel] = _deal_history(rel, versions, texts, reader, cache, tz, now, partial)
    finally:
        if reader is not None:
            reader.close()
        cache.close()
    return result


def _deal_history(
    rel: str,
    versions: list[tuple[Commit | None, str, str | None]],
    texts: dict[str, str],
    reader: BlobReader | None,
    cache: ParseCache,
    tz: zoneinfo.ZoneInfo,
    now: int,
    partial: bool,
) -> DealHistory:
    deal_id = PurePosixPath(rel).name.removesuffix(".md")
    blobs = {b for _, _, b in versions if b is not None}
    parsed: dict[str, Any] = cache.get_many(b for b in blobs if b not in texts)
    built: dict[str, Deal] = {}
    for blob, data in list(parsed.items()):
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            continue
        try:
            built[blob] = deal_from_data(deal_id, data)
        except (KeyError, TypeError, ValueError, AttributeError):
            del parsed[blob]  # a damaged cache entry: read and parse the version again
    missing = [b for b in blobs if b not in parsed and b not in texts]
    if missing and reader is not None:
        for blob, raw in reader.read(missing):
            if raw is not None:
                texts[blob] = raw.decode("utf-8", "replace")
    for blob in blobs:
        if blob in parsed:
            continue
        text = texts.get(blob)
        if text is None:
            parsed[blob] = {"error": "the version is not in this clone"}
            continue
        try:
            parsed[blob] = quick_data(text)
        except QuickParseError as exc:
            parsed[blob] = {"error": str(exc)}
        cache.put(blob, parsed[blob])
    states: list[State] = []
    unreadable: list[tuple[str, dt.date, str]] = []
    last_time = 0
    for i, (commit, path, blob) in enumerate(versions):
        time = max(commit.time if commit else now, last_time)
        last_time = time
        day = dt.datetime.fromtimestamp(time, tz).date()
        deal: Deal | None = None
        error = None
        if blob is not None:
            data = parsed[blob]
            if "error" in data:
                error = data["error"]
                unreadable.append((commit.sha[:7] if commit else "the working tree", day, error))
            else:
                try:
                    deal = built.get(blob) or deal_from_data(deal_id, data)
                except (KeyError, TypeError, ValueError) as exc:  # pragma: no cover - a bug
                    error = f"unreadable: {exc}"
        states.append(
            State(
                i,
                commit.sha if commit else None,
                time,
                day,
                commit.author if commit else "",
                commit.subject if commit else "uncommitted changes",
                path,
                deal,
                error,
            )
        )
    problems = []
    if unreadable:  # one line per deal, however many versions
        where, day, error = unreadable[0]
        count = len(unreadable)
        problems.append(
            f"{rel}: {count} past version{'s' * (count != 1)} could not be read and "
            f"{'are' if count != 1 else 'is'} skipped for history (first: {where} on {day}: "
            f"{error})"
        )
    return build_timeline(deal_id, rel, states, problems, partial)


def iter_weeks(first: dt.date, last: dt.date) -> Iterator[tuple[str, dt.date]]:
    """(`2026-W45`, Sunday) for every ISO week from the week of `first` to that of `last`."""
    monday = first - dt.timedelta(days=first.weekday())
    while monday <= last:
        sunday = monday + dt.timedelta(days=6)
        year, week, _ = monday.isocalendar()
        yield f"{year}-W{week:02d}", sunday
        monday += dt.timedelta(days=7)
