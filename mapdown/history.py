"""Git history → every version of every deal file → a timeline per step.

The rules (FORMAT.md, "What git history adds"):

- The history is the first-parent history of the built revision; each state is timed by its
  commit's committer date. Where a committer date is earlier than the state before it (clock
  skew, a rebase), the state is timed as the one before it: time never runs backward along the
  history, so "as of a day" always means a prefix of it.
- A dirty working tree is one more state, timed now. `score --as-of D` judges on the states whose
  day is on or before D, so for a past day the working tree is left out; `check` judges the file
  as it is, as the last state of its history.
- A step's dates are `start` and `due`; they changed in every state where either differs from
  the state before. A step is confirmed at the latest state in which its (`confirmed_by`,
  `confirmation`) pair took its current value. The confirmation covers the dates only if no date
  change came after it; a change in the same state is covered.
- A row is followed by its `id`; a file by git's rename detection. A file deleted and later added
  again at the same path continues the same history (its steps are removed, then created again).
- A version that cannot be read is skipped and reported; it never stops the run.

Work is proportional to what changed: the log, each deal's timeline and each parsed version are
cached by the commit or blob ids that name them (see cache.py).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import json
import operator
import os
import threading
import weakref
import zoneinfo
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import git

from mapdown import jsontext, workers
from mapdown.cache import CACHE_DIR, Cache
from mapdown.dates import now
from mapdown.errors import MapdownError
from mapdown.gitio import (
    BlobReader,
    Commit,
    LogEntry,
    blob_hash,
    continues,
    in_folder,
    is_shallow,
    log_from_json,
    log_to_json,
    open_repo,
    read_log,
    resolve,
)
from mapdown.model import Deal, Milestone
from mapdown.parse import QuickParseError, deal_from_data, plain_data, quick_data
from mapdown.records import quick_init
from mapdown.rules import recorded_confirmation

TIMELINE_VERSION = 1  # bump when the events or tracks computed from the same versions change
MIN_FORK = 64  # deals to work on before a second process is worth its start

SHALLOW_HELP = (
    "this is a shallow clone, so the history of the deals is incomplete and confirmations "
    "cannot be judged. In GitHub Actions use `actions/checkout` with `fetch-depth: 0`; "
    "locally run `git fetch --unshallow`. Or pass --allow-shallow to accept partial results."
)


@quick_init
@dataclass(frozen=True, slots=True)
class State:
    """One version of a deal file."""

    index: int
    commit: str | None  # None for the working tree (or the file being checked)
    time: int  # effective time, seconds since the epoch (never before the previous state's)
    day: dt.date  # that time's calendar day in the configured time zone
    author: str
    subject: str
    path: str  # repository-relative path of the file in this version
    blob: str | None  # None when the file was deleted in this version
    error: str | None = None  # why the version cannot be read

    @property
    def short(self) -> str:
        return self.commit[:7] if self.commit else "working tree"


@quick_init
@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to a step (or to the deal, with `milestone` None).

    `before` and `after` are plain JSON values: dates as ISO text, a confirmation as
    [confirmed_by, confirmation].
    """

    kind: str
    milestone: str | None
    state: int  # index of the state it happened in
    commit: str | None
    time: int
    day: dt.date
    author: str
    key: str | None = None  # start or due (or go_live, close) for date moves
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
        if self.kind in _VALUE_KINDS:
            out["from"] = self.before
            out["to"] = self.after
        if self.days is not None:
            out["days"] = self.days
        return out

    def packed(self) -> list[Any]:
        return [
            self.kind,
            self.milestone,
            self.state,
            self.commit,
            self.time,
            self.day.isoformat(),
            self.author,
            self.key,
            self.before,
            self.after,
            self.days,
        ]

    @classmethod
    def unpacked(cls, row: list[Any]) -> Event:
        kind, mid, state, commit, time, day, author, key, before, after, days = row
        return cls(
            kind,
            mid,
            state,
            commit,
            time,
            dt.date.fromisoformat(day),
            author,
            key,
            before,
            after,
            days,
        )


_VALUE_KINDS = {
    "created",
    "slipped",
    "pulled-in",
    "date-set",
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


@quick_init
@dataclass(frozen=True, slots=True)
class StepTrack:
    """Since when a step's dates and its confirmation stand (indexes of states)."""

    dates_at: int
    confirmed_at: int | None


# (state index, dates_at, confirmed_at); dates_at == -1 marks the step as absent from then on
Checkpoint = tuple[int, int, int | None]
Loader = Callable[[str], dict[str, Any]]


@dataclass
class DealHistory:
    """Every version of one deal file, and what happened to each step."""

    deal_id: str
    path: str
    states: list[State] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    tracks: dict[str, list[Checkpoint]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    partial: bool = False
    loader: Loader | None = None  # blob id → parsed data, for versions asked for later
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # data not in git
    _deals: dict[int, Deal | None] = field(default_factory=dict)
    _made: dict[tuple[int, int], tuple[Any, Any]] = field(default_factory=dict)  # deal_from_data
    _days: list[dt.date] | None = None
    _track_keys: dict[str, list[int]] = field(default_factory=dict)  # each track's state indexes
    _event_states: list[int] | None = None  # each event's state (events are in state order)
    _events_upto: dict[int, list[Event]] = field(default_factory=dict)

    # -- the states

    @property
    def first_day(self) -> dt.date | None:
        return self.states[0].day if self.states else None

    def upto(self, day: dt.date) -> int:
        """How many states there were by the end of `day`."""
        days = self._days
        if days is None or len(days) != len(self.states):
            days = self._days = [s.day for s in self.states]
        return bisect.bisect_right(days, day)

    def state_as_of(self, day: dt.date) -> State | None:
        """The last readable version as of `day`; None if the deal did not exist then."""
        for state in reversed(self.states[: self.upto(day)]):
            if state.error is None:
                return state if state.blob is not None else None
        return None

    def data_at(self, state: State) -> dict[str, Any] | None:
        if state.blob is None or state.error is not None:
            return None
        if state.blob in self.extra:
            return self.extra[state.blob]
        if self.loader is None:
            return None
        data = self.loader(state.blob)
        return None if "error" in data else data

    def deal_at(self, state: State | None) -> Deal | None:
        if state is None:
            return None
        if state.index not in self._deals:
            data = self.data_at(state)
            deal = deal_from_data(self.deal_id, data, memo=self._made) if data else None
            self._deals[state.index] = deal
        return self._deals[state.index]

    def forget_deals(self) -> None:
        """Let go of the versions made Deals (and of the steps and people they share)."""
        self._deals.clear()
        self._made.clear()

    def deal_as_of(self, day: dt.date) -> Deal | None:
        return self.deal_at(self.state_as_of(day))

    # -- the steps

    def track(self, milestone_id: str, n: int | None = None) -> StepTrack | None:
        """The step's track as of the first `n` states (all by default)."""
        points = self.tracks.get(milestone_id)
        if not points:
            return None
        upto = len(self.states) if n is None else n
        keys = self._track_keys.get(milestone_id)
        if keys is None or len(keys) != len(points):
            keys = self._track_keys[milestone_id] = [p[0] for p in points]
        i = bisect.bisect_left(keys, upto) - 1
        if i < 0 or points[i][1] < 0:
            return None
        return StepTrack(points[i][1], points[i][2])

    def covered(self, milestone: Milestone, deal: Deal, n: int | None = None) -> bool:
        """Whether the step's confirmation covers its dates, judged on the first `n` states."""
        if not recorded_confirmation(deal, milestone):
            return False
        track = self.track(milestone.id, n)
        if track is None:  # no history for this step: what the file records covers
            return True
        return track.confirmed_at is not None and track.confirmed_at >= track.dates_at

    def standing(self) -> dict[str, tuple[int, int | None]]:
        """Each present step's (dates_at, confirmed_at) after the last state."""
        return {
            mid: (points[-1][1], points[-1][2])
            for mid, points in self.tracks.items()
            if points[-1][1] >= 0
        }

    def events_upto(self, n: int | None = None) -> list[Event]:
        """The events of the first `n` states (all by default). Many weeks ask for the same
        states: the list is made once for each `n` and shared, so it must not be changed."""
        upto = len(self.states) if n is None else n
        states = self._event_states
        if states is None or len(states) != len(self.events):
            states = self._event_states = [e.state for e in self.events]
            self._events_upto.clear()
        out = self._events_upto.get(upto)
        if out is None:
            out = self._events_upto[upto] = self.events[: bisect.bisect_left(states, upto)]
        return out

    # -- the file being checked

    def with_current(self, deal: Deal, time: int, day: dt.date) -> DealHistory:
        """This history with `deal` (the file as it is now) as its last state, if it differs."""
        last = next((s for s in reversed(self.states) if s.error is None), None)
        current = plain_data(deal)
        previous = self.data_at(last) if last is not None else None
        if previous is not None and _canonical(previous) == _canonical(current):
            return self
        if self.states:  # never before the last state
            time, day = max(time, self.states[-1].time), max(day, self.states[-1].day)
        key = (
            "current:"
            + hashlib.sha1(
                json.dumps(current, sort_keys=True).encode(), usedforsecurity=False
            ).hexdigest()
        )
        state = State(len(self.states), None, time, day, "", "the file as it is", self.path, key)
        out = DealHistory(
            self.deal_id,
            self.path,
            [*self.states, state],
            list(self.events),
            {k: list(v) for k, v in self.tracks.items()},
            list(self.problems),
            self.partial,
            self.loader,
            {**self.extra, key: current},
        )
        apply_state(out, state, current, previous, self.standing())
        return out


def coverage(
    deal: Deal, history: DealHistory | None, n: int | None = None
) -> Callable[[Milestone], bool]:
    """Whether a step's confirmation covers its dates: judged on the first `n` states of the
    deal's history when there is one, else what the file records covers."""
    if history is None:
        return lambda m: recorded_confirmation(deal, m)
    # asked for each step by the score, its window and the walk back, for each week: answered
    # once per step, history and number of states, kept on the deal (immutable). The history
    # is held weakly: it holds the deal, and a cycle would keep both until a full collection.
    memo = deal.__dict__.get("_covered")
    if memo is None or memo[0]() is not history:
        memo = deal.__dict__["_covered"] = (weakref.ref(history), {})
    answers: dict[tuple[int | None, int], bool] = memo[1]

    def covered(m: Milestone) -> bool:
        key = (n, m.index)
        answer = answers.get(key)
        if answer is None:
            answer = answers[key] = history.covered(m, deal, n)
        return answer

    return covered


def _milestone_key(m: dict[str, Any]) -> tuple[Any, ...]:
    return (
        m.get("start"),
        m.get("due"),
        m.get("confirmed_by"),
        m.get("confirmation"),
        m.get("status") or "planned",
        m.get("evidence"),
        m.get("owner"),
    )


def _canonical(data: dict[str, Any]) -> tuple[Any, ...]:
    """What the timeline compares: the same for the same plan, whatever the text's layout."""
    return (
        data.get("go_live"),
        data.get("close"),
        tuple((m["id"], _milestone_key(m)) for m in data["milestones"]),
    )


def _days(a: str | None, b: str | None) -> int | None:
    if a is None or b is None:
        return None
    return (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days


def apply_state(
    history: DealHistory,
    state: State,
    data: dict[str, Any] | None,
    previous: dict[str, Any] | None,
    standing: dict[str, tuple[int, int | None]],
) -> dict[str, tuple[int, int | None]]:
    """Add one state's events and checkpoints; returns the tracks standing after it."""

    def emit(kind: str, mid: str | None, **kw: Any) -> None:
        history.events.append(
            Event(kind, mid, state.index, state.commit, state.time, state.day, state.author, **kw)
        )

    if data is not None and previous is not None and data["milestones"] == previous["milestones"]:
        # no step changed (the common case: a version changes one step, or none): only the
        # deal's own dates can have moved
        for key, kind in (("go_live", "go-live-moved"), ("close", "close-moved")):
            a, b = previous.get(key), data.get(key)
            if a != b:
                emit(kind, None, key=key, before=a, after=b, days=_days(a, b))
        return standing
    steps = {m["id"]: m for m in data["milestones"]} if data else {}
    before = {m["id"]: m for m in previous["milestones"]} if previous else {}
    if data is not None and previous is None:
        emit("deal-added", None)
    if data is None and previous is not None:
        emit("deal-removed", None)
    if data is not None and previous is not None:
        for key, kind in (("go_live", "go-live-moved"), ("close", "close-moved")):
            a, b = previous.get(key), data.get(key)
            if a != b:
                emit(kind, None, key=key, before=a, after=b, days=_days(a, b))
    new: dict[str, tuple[int, int | None]] = {}
    for mid, m in steps.items():
        old = before.get(mid)
        if old == m:  # unchanged (versions read in one run share their unchanged steps)
            new[mid] = standing[mid]
            continue
        pair = [m.get("confirmed_by"), m.get("confirmation")]
        has_pair = pair != [None, None]
        if old is None:
            emit("created", mid, before=None, after=m.get("due"))
            new[mid] = (state.index, state.index if has_pair else None)
            if has_pair:
                emit("confirmed", mid, before=None, after=pair)
        else:
            dates_at, confirmed_at = standing[mid]
            old_pair = [old.get("confirmed_by"), old.get("confirmation")]
            was_covering = (
                old_pair != [None, None] and confirmed_at is not None and confirmed_at >= dates_at
            )
            moves = []
            for key in ("start", "due"):
                a, b = old.get(key), m.get(key)
                if a != b:
                    days = _days(a, b)
                    kind = "date-set" if days is None else "slipped" if days > 0 else "pulled-in"
                    emit(kind, mid, key=key, before=a, after=b, days=days)
                    moves.append((key, a, b, days))
            if moves:
                dates_at = state.index
            if pair != old_pair:
                if not has_pair:
                    emit("confirmation-removed", mid, before=old_pair, after=None)
                    confirmed_at = None
                else:
                    kind = "confirmed" if old_pair == [None, None] else "confirmation-changed"
                    emit(kind, mid, before=old_pair if kind != "confirmed" else None, after=pair)
                    confirmed_at = state.index
            elif moves and was_covering:
                key, a, b, days = moves[0]
                emit("confirmation-voided", mid, key=key, before=a, after=b, days=days)
            status, old_status = m.get("status") or "planned", old.get("status") or "planned"
            if status != old_status:
                if status == "done":
                    emit("done", mid, before=old_status, after=m.get("evidence"))
                else:
                    emit("status", mid, before=old_status, after=status)
            if m.get("owner") != old.get("owner"):
                emit("owner-changed", mid, before=old.get("owner"), after=m.get("owner"))
            new[mid] = (dates_at, confirmed_at)
        if standing.get(mid) != new[mid] or old is None:
            history.tracks.setdefault(mid, []).append((state.index, *new[mid]))
    for mid in before:
        if mid not in steps:
            emit("removed", mid)
            history.tracks.setdefault(mid, []).append((state.index, -1, None))
    return new


def build_timeline(
    history: DealHistory, data_of: Callable[[State], dict[str, Any] | None]
) -> DealHistory:
    """Fill `history.events` and `history.tracks` from its states, oldest first."""
    previous: dict[str, Any] | None = None
    standing: dict[str, tuple[int, int | None]] = {}
    for state in history.states:
        if state.error is not None:
            continue
        data = data_of(state) if state.blob is not None else None
        standing = apply_state(history, state, data, previous, standing)
        previous = data
    return history


# ---------------------------------------------------------------- reading a repository


def _usable(data: Any) -> bool:
    """Whether a cached entry has the shape `quick_data` gives (a damaged one is parsed again)."""
    if not isinstance(data, dict):
        return False
    if "error" in data:
        return isinstance(data["error"], str)
    return all(isinstance(data.get(k), str) for k in ("title", "customer", "go_live")) and all(
        isinstance(data.get(k), list) and all(isinstance(x, dict) for x in data[k])
        for k in ("people", "milestones")
    )


class BlobStore:
    """Parsed versions by blob id: from the cache, else read once from git and parsed.

    Every version read is kept for the run (its people, steps and reviews shared with the
    versions that have the same ones, so a version costs about 1.5 KB). The cache keeps a
    deal's versions together, in one entry named by their blob ids (`group_key`), written when
    the deal's timeline is made: similar versions compressed together cost a fraction of
    each compressed alone, to write and to store.
    """

    def __init__(self, repo: git.Repo | None, cache: Cache, texts: dict[str, str]) -> None:
        self._repo = repo
        self._cache = cache
        self._texts = texts  # versions not in git (the working tree)
        self._reader: BlobReader | None = None
        self._parsed: dict[str, dict[str, Any]] = {}
        self._cached_groups: set[str] = set()  # groups whose entry is in the cache
        # the last groups read from the cache: blob → its version's JSON text
        self._open: OrderedDict[str, dict[str, str]] = OrderedDict()
        # Successive versions of a deal share almost every line, and most people and steps;
        # the parsers remember each distinct line's and item's reading. Bounded, so memory
        # stays flat.
        self._lines: dict[str, Any] = {}
        self._items: dict[Any, Any] = {}

    def get_many(self, blobs: Sequence[str], group: str | None = None) -> dict[str, dict[str, Any]]:
        """The parsed versions; `group` names the deal's cache entry they may be found in."""
        parsed = self._parsed
        found: dict[str, dict[str, Any]] = {}
        missing = []
        for blob in blobs:
            data = parsed.get(blob)
            if data is None:
                missing.append(blob)
            else:
                found[blob] = data
        if not missing:
            return found
        if group is not None:
            found.update(self.from_cache(missing, group))
            missing = [b for b in missing if b not in found]
        texts = {b: self._texts[b] for b in missing if b in self._texts}
        from_git = [b for b in missing if b not in texts]
        if from_git and self._repo is not None:
            if self._reader is None:
                self._reader = BlobReader(self._repo)
            for blob, raw in self._reader.read(from_git):
                if raw is not None:
                    texts[blob] = raw.decode("utf-8", "replace")
        for blob in missing:
            text = texts.get(blob)
            if text is None:
                found[blob] = {"error": "the version is not in this clone"}
                continue
            if len(self._lines) > 200_000:
                self._lines.clear()
            if len(self._items) > 100_000:
                self._items.clear()
            try:
                data = quick_data(text, self._lines, self._items)
            except QuickParseError as exc:
                data = {"error": str(exc)}
            found[blob] = parsed[blob] = data
        return found

    def ask(self, blobs: Sequence[str], group: str | None = None) -> None:
        """Have git start on those of these versions that `get_many` would read from it, to
        be read there later (another deal is worked on meanwhile)."""
        missing = [b for b in blobs if b not in self._parsed and b not in self._texts]
        if missing and group is not None and self._cache.enabled:
            lines = self._group(group)
            missing = [b for b in missing if b not in lines]
        if missing and self._repo is not None:
            if self._reader is None:
                self._reader = BlobReader(self._repo)
            self._reader.ask(missing)

    def get(self, blob: str, group: str | None = None) -> dict[str, Any]:
        return self.get_many([blob], group)[blob]

    def from_cache(self, blobs: Iterable[str], group: str) -> dict[str, dict[str, Any]]:
        """Those of the versions that the deal's cache entry `group` holds (now kept)."""
        lines = self._group(group)
        found = {}
        for blob in blobs:
            if blob in lines:
                try:
                    data = jsontext.loads(lines[blob])
                except ValueError:
                    continue
                if _usable(data):  # else parsed again
                    found[blob] = self._parsed[blob] = data
        return found

    def _group(self, group: str) -> dict[str, str]:
        """A deal's versions in the cache, as JSON texts by blob id ({} if none)."""
        lines = self._open.get(group)
        if lines is not None:
            self._open.move_to_end(group)
            return lines
        lines = {}
        text = self._cache.get_text("versions", group)
        if text is not None:
            head, *rest = text.split("\n")
            try:
                blobs = jsontext.loads(head)
            except ValueError:
                blobs = None
            if isinstance(blobs, list) and len(blobs) == len(rest):
                lines = {b: line for b, line in zip(blobs, rest, strict=True) if type(b) is str}
                self._cached_groups.add(group)
        self._open[group] = lines
        while len(self._open) > 4:
            self._open.popitem(last=False)
        return lines

    def save_group(self, group: str, blobs: Iterable[str | None]) -> None:
        """Write a deal's parsed versions to the cache as one entry, unless it is there."""
        if group in self._cached_groups or not self._cache.enabled:
            return
        parsed = self._parsed
        chosen = [b for b in dict.fromkeys(blobs) if b is not None and b in parsed]
        lines = [jsontext.dumps(chosen), *(jsontext.dumps(parsed[b]) for b in chosen)]
        self._cache.put_text("versions", group, "\n".join(lines))
        self._cached_groups.add(group)

    def forget(self, blobs: Iterable[str | None]) -> None:
        """Let go of these versions (the caller is done with them): asked for again, they are
        read again (from the cache, or git)."""
        for blob in blobs:
            if blob is not None:
                self._parsed.pop(blob, None)

    def in_child(self) -> None:
        """Call in a forked process: it reads git through a reader of its own."""
        self._reader = None  # the parent's pipes stay the parent's: not closed, not used

    def prefetcher(
        self, folder: str, batch: int = 1024, until: threading.Event | None = None
    ) -> Callable[[LogEntry | None], None]:
        """A log callback that parses (and keeps) the deal versions it sees, in batches; call
        it with None at the end for the last batch. Once `until` is set it parses no more: the
        rest are parsed when asked for (by then, possibly in two processes)."""
        seen: set[str] = set()
        pending: list[tuple[str, str]] = []  # (path, blob), in the log's order

        def take(entry: LogEntry | None) -> None:
            if until is not None and until.is_set():
                pending.clear()
                return
            if entry is not None:
                for change in entry.changes:
                    blob = change.blob
                    if blob and blob not in seen and _is_deal(change.path, folder):
                        seen.add(blob)
                        pending.append((change.path, blob))
            if pending and (entry is None or len(pending) >= batch):
                # a deal's versions one after the other: each shares most of its lines and
                # steps with the one before, still in the processor's caches
                pending.sort(key=operator.itemgetter(0))
                self.get_many([blob for _, blob in pending])
                pending.clear()

        return take

    def text(self, blob: str) -> str | None:
        """A version's text (for positions in it), from the working tree or git."""
        if blob in self._texts:
            return self._texts[blob]
        if self._repo is None:
            return None
        if self._reader is None:
            self._reader = BlobReader(self._repo)
        for _, raw in self._reader.read([blob]):
            return raw.decode("utf-8", "replace") if raw is not None else None
        return None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


@dataclass
class RepoHistory:
    """The history of every deal file in a repository."""

    root: Path
    available: bool  # False outside git
    partial: bool = False  # a shallow clone read with --allow-shallow
    deals: Histories = field(default_factory=lambda: Histories({}, _no_history))
    cache: Cache | None = None
    notice: str | None = None  # what to tell the user once
    _store: BlobStore | None = None
    _versions: dict[str, list[Version]] = field(default_factory=dict)
    _groups: dict[str, str] = field(default_factory=dict)  # path → its versions' cache entry

    def for_path(self, path: Path) -> DealHistory | None:
        # abspath, not resolve: a linked file is judged where it is listed, not followed
        absolute = Path(os.path.abspath(path))  # noqa: PTH100
        try:
            rel = PurePosixPath(absolute.relative_to(self.root)).as_posix()
        except ValueError:
            return None
        return self.deals.get(rel)

    def text(self, blob: str) -> str | None:
        return self._store.text(blob) if self._store is not None else None

    def forget(self, history: DealHistory) -> None:
        """Let go of a deal's parsed versions once the caller is done with it (a build works
        deal by deal: kept, every version of every deal would stay for the whole run)."""
        if self._store is not None:
            self._store.forget(s.blob for s in history.states)

    def prefetch(self, path: str) -> None:
        """Have git start reading the versions of the deal at `path` (repository-relative) that
        its timeline will need, while something else is done; nothing if it is cached."""
        if self._store is None or path not in self._versions:
            return
        if self.cache is not None and self.cache.has_many("timelines", [self.deals.key(path)]):
            return
        blobs = [blob for _, _, blob in self._versions[path] if blob is not None]
        self._store.ask(sorted(set(blobs)), self._groups[path])

    def map_deals(
        self, paths: Sequence[str], work: Callable[[str], Any], min_fork: int | None = None
    ) -> dict[str, Any]:
        """`work(path)` for each deal path; with many, half of them in a forked process.

        Each deal's work is its own (its history, its score), so where it runs changes no
        result; a worker's results and cache entries come back to this process (marshal over
        a pipe: plain data only), which writes the cache. `work` must return plain data
        (dicts, lists, strings, numbers). If the worker fails, its share is done here.
        """
        least = MIN_FORK if min_fork is None else min_fork
        if len(paths) < max(least, 2) or not workers.can_fork() or workers.usable_cpus() < 2:
            self._load(paths)
            return {path: work(path) for path in paths}
        ours, theirs = list(paths[0::2]), list(paths[1::2])
        worker = workers.fork(functools.partial(_worker, self, theirs, work))
        try:
            self._load(ours)
            results = {path: work(path) for path in ours}
        finally:
            kind, answer = workers.collect(worker)
        ok = kind == "ok" and isinstance(answer, tuple) and len(answer) == 2
        theirs_done, entries = answer if ok else ({}, {})
        if not isinstance(theirs_done, dict) or not isinstance(entries, dict):
            theirs_done, entries = {}, {}
        if self.cache is not None:
            self.cache.add_pending(entries)
        for path in theirs:  # what the worker did not do (it failed) is done here
            results[path] = theirs_done[path] if path in theirs_done else work(path)
        return {path: results[path] for path in paths}

    def _load(self, paths: Sequence[str]) -> None:
        """Read the versions of these deals whose timelines are not cached: from the cache, the
        rest from git in one batch."""
        if self._store is None or self.cache is None:
            return
        keys = {path: self.deals.key(path) for path in paths if path in self._versions}
        cached = self.cache.has_many("timelines", keys.values())
        wanted = []
        for path, key in keys.items():
            if key not in cached:
                blobs = [blob for _, _, blob in self._versions[path] if blob is not None]
                if self.cache.enabled:
                    self._store.from_cache(blobs, self._groups[path])
                wanted += blobs
        self._store.get_many(list(dict.fromkeys(wanted)))

    def in_child(self) -> None:
        """Call in a forked process: a cache connection and a git reader of its own (the
        cache entries it makes are its parent's to write: `cache.take_pending`)."""
        if self.cache is not None:
            self.cache.in_child()
        if self._store is not None:
            self._store.in_child()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> RepoHistory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _worker(
    repo: RepoHistory, paths: list[str], work: Callable[[str], Any]
) -> tuple[dict[str, Any], dict[str, dict[str, bytes]]]:
    """In a forked process: `work` on each path; the results, and the cache entries made
    meanwhile (the parent writes them)."""
    repo.in_child()
    repo._load(paths)
    results = {path: work(path) for path in paths}
    return results, repo.cache.take_pending() if repo.cache is not None else {}


def _no_history(path: str) -> DealHistory:
    raise KeyError(path)


def _is_deal(path: str, folder: str) -> bool:
    return (
        in_folder(path, folder)
        and path.endswith(".md")
        and path.rpartition("/")[2].lower() != "readme.md"
    )


LOG_PARTS = 16  # a cached log is kept in at most this many parts, then in one again


def _cached_log(cache: Cache, folder: str) -> tuple[str | None, list[LogEntry], list[str]]:
    """The cached log of `folder`: the commit it ends at, its entries, and the names of the
    parts it is kept in (each build that finds new commits adds one part: the old ones are not
    written again). (None, [], []) when there is none, or it is damaged."""
    cached = cache.get("logs", folder)
    try:
        base = cached["head"]
        if len(base) not in (40, 64) or not set(base) <= set("0123456789abcdef"):
            raise ValueError(base)  # never handed to git as an option
        names = cached["parts"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise TypeError(names)
        found = cache.get_many("logs", names)
        known = [e for name in names for e in log_from_json(found[name]["entries"])]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None, [], []  # none, or a damaged entry: the whole log is read again
    return base, known, names


def _log(
    repo: git.Repo, cache: Cache, folder: str, head: str | None, store: BlobStore
) -> list[LogEntry]:
    """The first-parent log of `head` for `folder`, extending the cached log when it can.

    While git writes the log, the versions it names are parsed (into the cache), so parsing
    runs on one core while git walks the history on the other.
    """
    if head is None:
        return []
    base, known, names = _cached_log(cache, folder)
    if base == head:
        return known
    # Versions are parsed while git writes the log; those left when it is done are parsed
    # when their deal is read (see `RepoHistory.map_deals`).
    written = threading.Event()
    prefetch = store.prefetcher(folder, until=written)
    if base is not None and continues(repo, base, head):
        new = read_log(repo, head, folder, since=base, each=prefetch, written=written)
        entries = known + new
        if len(names) >= LOG_PARTS:
            new, names = entries, []
    else:
        entries = new = read_log(repo, head, folder, each=prefetch, written=written)
        names = []
    part = f"{folder}\0{head}"
    cache.put("logs", part, {"entries": log_to_json(new)})
    cache.put("logs", folder, {"head": head, "parts": [*names, part]})
    return entries


Version = tuple[Commit | None, str, str | None]  # commit (None: working tree), path, blob


def _lineages(
    entries: list[LogEntry], folder: str
) -> tuple[dict[str, int], dict[int, list[Version]], dict[str, int]]:
    """Follow each deal file through renames: its current path → lineage → versions."""
    lineage_of: dict[str, int] = {}
    ended: dict[str, int] = {}  # deleted paths, so a re-added file continues its history
    lineages: dict[int, list[Version]] = {}
    for entry in entries:
        for change in entry.changes:
            if not _is_deal(change.path, folder):
                if change.status == "R" and change.old_path in lineage_of:
                    ended[change.old_path] = lineage_of.pop(change.old_path)
                continue
            if change.status == "R" and change.old_path in lineage_of:
                key = lineage_of.pop(change.old_path)
            elif change.status == "D":
                key = lineage_of.pop(change.path, None) or len(lineages) + 1
                ended[change.path] = key
            else:
                key = (
                    lineage_of.get(change.path)
                    or ended.pop(change.path, None)
                    or (len(lineages) + 1)
                )
            if change.status != "D":
                lineage_of[change.path] = key
            lineages.setdefault(key, []).append((entry.commit, change.path, change.blob))
    return lineage_of, lineages, ended


def read_history(
    root: Path,
    deals_dir: str,
    tz: zoneinfo.ZoneInfo,
    rev: str = "HEAD",
    allow_shallow: bool = False,
    use_cache: bool = True,
    worktree: bool = True,
) -> RepoHistory:
    """Every deal's history: one `git log` pass (or none, from the cache), one blob reader."""
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
    partial = is_shallow(repo)
    if partial and not allow_shallow:
        raise MapdownError(SHALLOW_HELP)
    head = resolve(repo, rev)
    if head is None and rev != "HEAD":
        raise MapdownError(f"no commit `{rev}` in this repository")
    cache = Cache(top / CACHE_DIR if use_cache else None)
    texts: dict[str, str] = {}  # versions not in git: the working tree's
    store = BlobStore(repo, cache, texts)
    entries = _log(repo, cache, folder, head, store)
    lineage_of, lineages, ended = _lineages(entries, folder)

    if worktree and (top / folder).is_dir():  # the working tree: one more state, timed now
        on_disk = {}
        for path in sorted((top / folder).rglob("*.md")):
            rel = PurePosixPath(path.relative_to(top)).as_posix()
            if _is_deal(rel, folder):
                on_disk[rel] = path
        for rel, path in on_disk.items():
            try:
                raw = path.read_bytes()
            except OSError:
                continue
            blob = blob_hash(raw)
            key = lineage_of.get(rel)
            if key is not None and lineages[key][-1][2] == blob:
                continue
            if key is None:
                key = ended.pop(rel, None) or len(lineages) + 1
                lineage_of[rel] = key
            lineages.setdefault(key, []).append((None, rel, blob))
            texts[blob] = raw.decode("utf-8", "replace")
        for rel, key in lineage_of.items():
            if rel not in on_disk and lineages[key][-1][2] is not None:
                lineages[key].append((None, rel, None))  # deleted in the working tree

    result = RepoHistory(top, True, partial=partial)
    if partial:
        result.notice = "shallow clone: history is partial, and results are marked as such"
    result._store, result.cache = store, cache
    moment = now()
    versions = result._versions = {rel: lineages[key] for rel, key in lineage_of.items()}
    keys = {rel: _timeline_key(tz, v, moment) for rel, v in versions.items()}
    groups = result._groups = {rel: group_key(v) for rel, v in versions.items()}

    def make(rel: str) -> DealHistory:
        group = groups[rel]
        history = DealHistory(
            PurePosixPath(rel).name.removesuffix(".md"),
            rel,
            _states(versions[rel], tz, moment),
            partial=partial,
            loader=lambda blob: store.get(blob, group),
        )
        key = keys[rel]
        hit = cache.get("timelines", key)
        if hit is not None:
            try:
                _from_cache(history, hit)
            except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                hit = None  # a damaged entry: computed again
                history.events, history.tracks, history.problems = [], {}, []
                history.states = _states(versions[rel], tz, moment)
        if hit is None:
            _compute(history, store, group)
            cache.put("timelines", key, _to_cache(history))
            store.save_group(group, (blob for _, _, blob in versions[rel]))
        return history

    result.deals = Histories(keys, make)
    return result


class Histories(Mapping[str, DealHistory]):
    """Deal histories by current path, each read only when asked for.

    `key(path)` names a deal's whole history (its versions, their commits and blobs) without
    reading it, so results computed from a history can be cached under it.
    """

    def __init__(self, keys: dict[str, str], make: Callable[[str], DealHistory]) -> None:
        self._keys = keys
        self._make = make
        self._made: dict[str, DealHistory] = {}

    def key(self, path: str) -> str:
        return self._keys[path]

    def __getitem__(self, path: str) -> DealHistory:
        if path not in self._made:
            if path not in self._keys:
                raise KeyError(path)
            self._made[path] = self._make(path)
        return self._made[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def _states(versions: list[Version], tz: zoneinfo.ZoneInfo, moment: int) -> list[State]:
    states = []
    last = 0
    for i, (commit, path, blob) in enumerate(versions):
        time = max(commit.time if commit else moment, last)
        last = time
        day = dt.datetime.fromtimestamp(time, tz).date()
        if commit is None:
            states.append(State(i, None, time, day, "", "uncommitted changes", path, blob))
        else:
            states.append(
                State(i, commit.sha, time, day, commit.author, commit.subject, path, blob)
            )
    return states


def _timeline_key(tz: zoneinfo.ZoneInfo, versions: list[Version], moment: int) -> str:
    """A name for a deal's history: its versions (commit, blob, path) and the time zone."""
    digest = hashlib.sha1(f"{TIMELINE_VERSION}|{tz.key}".encode(), usedforsecurity=False)
    for commit, path, blob in versions:
        digest.update(f"|{commit.sha if commit else moment}:{blob}:{path}".encode())
    return digest.hexdigest()


def group_key(versions: list[Version]) -> str:
    """A name for a deal's versions in the cache: their blob ids."""
    blobs = dict.fromkeys(blob for _, _, blob in versions if blob is not None)
    return hashlib.sha1("\n".join(blobs).encode(), usedforsecurity=False).hexdigest()


def _compute(history: DealHistory, store: BlobStore, group: str | None = None) -> None:
    blobs = sorted({s.blob for s in history.states if s.blob is not None})
    data = store.get_many(blobs, group)
    errors = {}
    for i, state in enumerate(history.states):
        if state.blob is not None and "error" in data[state.blob]:
            errors[i] = data[state.blob]["error"]
            history.states[i] = _with_error(state, errors[i])
    build_timeline(history, lambda s: data.get(s.blob) if s.blob else None)
    _note_errors(history, errors)


def _with_error(state: State, error: str) -> State:
    return State(
        state.index,
        state.commit,
        state.time,
        state.day,
        state.author,
        state.subject,
        state.path,
        state.blob,
        error,
    )


def _note_errors(history: DealHistory, errors: dict[int, str]) -> None:
    """One note for the committed versions that cannot be read. The working tree's own version
    is left out: `check` and `build` report the file itself, and `score` says it is unread."""
    errors = {i: e for i, e in errors.items() if history.states[i].commit is not None}
    if not errors:
        return
    first = history.states[min(errors)]
    count = len(errors)
    history.problems.append(
        f"{history.path}: {count} past version{'s' * (count != 1)} could not be read and "
        f"{'are' if count != 1 else 'is'} skipped for history (first: {first.short} on "
        f"{first.day}: {errors[min(errors)]})"
    )


def _to_cache(history: DealHistory) -> dict[str, Any]:
    return {
        "events": [e.packed() for e in history.events],
        "tracks": history.tracks,
        "errors": {str(s.index): s.error for s in history.states if s.error is not None},
    }


def _from_cache(history: DealHistory, hit: dict[str, Any]) -> None:
    history.events = [Event.unpacked(row) for row in hit["events"]]
    history.tracks = {
        mid: [tuple(p) for p in points]  # type: ignore[misc]
        for mid, points in hit["tracks"].items()
    }
    errors = {int(i): message for i, message in hit["errors"].items()}
    for i, message in errors.items():
        history.states[i] = _with_error(history.states[i], message)
    _note_errors(history, errors)


def iter_weeks(first: dt.date, last: dt.date) -> Iterator[tuple[str, dt.date]]:
    """(`2026-W45`, Sunday) for every ISO week from the week of `first` to that of `last`."""
    monday = first - dt.timedelta(days=first.weekday())
    while monday <= last:
        label, sunday, monday = _week_from(monday)
        yield label, sunday


@functools.lru_cache(maxsize=1024)
def _week_from(monday: dt.date) -> tuple[str, dt.date, dt.date]:
    """The week starting on `monday`: its name, its Sunday and the next Monday (a build walks
    every deal's weeks twice, 88,000 at 1,000 deals, through a few dozen distinct weeks)."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}", monday + dt.timedelta(days=6), monday + dt.timedelta(days=7)
