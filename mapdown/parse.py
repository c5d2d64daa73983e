"""Text → Deal, with the line and column of every value, and every MAP1xx error in the file.

Reading never raises on bad input: each problem becomes a Diagnostic and parsing goes on as far
as it can, so one run reports every problem in a file.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mapdown.diagnostics import Diagnostic, Pos
from mapdown.fastyaml import load_block_subset
from mapdown.model import (
    DEAL,
    SIDES,
    STATUSES,
    TRACKS,
    Deal,
    Milestone,
    Person,
    build_deal,
    make_milestone,
)
from mapdown.spec import (
    INVALID,
    PLAIN_TAG,
    SLUG,
    Located,
    Record,
    Walker,
    diagnostic_reporter,
    did_you_mean,
)

MAX_BYTES = 1 << 20  # 1 MiB: a plan a hundred times the size of a large real one
BOM = "\ufeff"
MAX_DEPTH = 200  # nesting levels; a MAP has four, and libyaml's composer overflows the C stack
# Without an alias (`*`), deep block indentation or many brackets the nesting stays far below
# MAX_DEPTH, so the event scan below runs only for files that show one of these.
_DEEP_LEAD = re.compile(r"^[ \t?:-]{50,}", re.MULTILINE)
_MAX_BRACKETS = 80

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
_TAGS = {
    yaml.ScalarNode: PLAIN_TAG,
    yaml.SequenceNode: "tag:yaml.org,2002:seq",
    yaml.MappingNode: "tag:yaml.org,2002:map",
}


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """libyaml's composer without PyYAML's YAML 1.1 resolver.

    The resolver runs a dozen regular expressions on every scalar, and its YAML 1.1 answers
    (`no` is false) are not the ones we want: the walker resolves plain scalars with YAML 1.2's
    core rules itself (`spec.scalar_kind`), so every implicit tag here is a constant.
    """

    def resolve(self, kind: type, value: object, implicit: object) -> str:
        return _TAGS[kind]


@dataclass
class Source:
    """A file's text split into front matter and body, with the line where each starts."""

    display: str  # the path as shown in diagnostics
    lines: list[str]  # the file's lines without line endings
    front: str = ""  # the YAML between the two `---` lines
    front_line: int = 2  # 1-based file line of the first front-matter line
    body: str = ""


@dataclass
class ParsedDeal:
    """The result of reading one file: the Deal when it is valid, and every diagnostic."""

    path: Path
    display: str
    deal_id: str
    deal: Deal | None = None
    data: dict[str, Any] | None = None
    located: Located = field(default_factory=Located)
    lines: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.deal is not None


def load_yaml_node(text: str) -> yaml.Node | None:
    """Compose (not construct) a YAML document: nodes keep their marks; aliases stay unexpanded."""
    return yaml.compose(text, Loader=_Loader)


def decode(raw: bytes, display: str, sink: list[Diagnostic]) -> str | None:
    """UTF-8 text (a BOM is dropped), or None with a MAP100 naming the line of the bad byte."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        # columns count characters, as everywhere else (the bytes before are valid UTF-8)
        col = len(raw[line_start : exc.start].decode("utf-8").removeprefix(BOM)) + 1
        sink.append(
            Diagnostic(
                display,
                Pos(line, col),
                "MAP100",
                "error",
                f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x} at line {line})",
                "save the file as UTF-8",
            )
        )
        return None
    return text.removeprefix(BOM)


def split_front_matter(text: str, display: str, sink: list[Diagnostic]) -> Source | None:
    """Front matter between a first line `---` and the next `---` line, and the body after it."""
    lines = text.splitlines()
    source = Source(display, lines)
    if not text.strip():
        sink.append(
            Diagnostic(
                display,
                Pos(1, 1),
                "MAP100",
                "error",
                "the file is empty",
                "start it with front matter: run `mapdown new` for a template",
            )
        )
        return None
    if lines[0].rstrip() != "---":
        sink.append(
            Diagnostic(
                display,
                Pos(1, 1),
                "MAP100",
                "error",
                "no front matter: a MAP file starts with a line `---`",
                "put the deal's YAML between two `---` lines at the top of the file",
                lines[0],
            )
        )
        return None
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "---"), None)
    if end is None:
        sink.append(
            Diagnostic(
                display,
                Pos(1, 1, 4),
                "MAP100",
                "error",
                "the front matter opened on line 1 is never closed",
                "add a line `---` after the last YAML line, before the notes",
                lines[0],
            )
        )
        return None
    source.front = "\n".join(lines[1:end]) + "\n"
    source.body = "\n".join(lines[end + 1 :]).strip("\n")
    return source


def _yaml_error(exc: yaml.YAMLError, source: Source, sink: list[Diagnostic]) -> None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = (mark.line + source.front_line) if mark else source.front_line
    col = (mark.column + 1) if mark else 1
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    hint = "fix the YAML at this line"
    if "nesting depth" in problem:  # PyYAML ≥ 6.0.4 stops deep nesting itself
        message = f"the front matter is nested more than {MAX_DEPTH} levels deep"
        hint = "a MAP nests at most four levels: deal, list, item, `after` list"
    text_line = source.lines[line - 1] if 0 < line <= len(source.lines) else ""
    if "\t" in text_line or "'\\t'" in problem:
        hint = "YAML indents with spaces, never tabs: replace the tab with spaces"
    elif "mapping values are not allowed" in problem:
        hint = 'a text with ": " in it needs quotes: key: "text: more text"'
    sink.append(
        Diagnostic(
            source.display,
            Pos(line, col),
            "MAP100",
            "error",
            message,
            hint,
            text_line if mark else None,
        )
    )


def parse_text(text: str, display: str, deal_id: str, path: Path | None = None) -> ParsedDeal:
    """Parse a deal from text (already decoded)."""
    result = ParsedDeal(path or Path(display), display, deal_id)
    sink = result.diagnostics
    source = split_front_matter(text, display, sink)
    if source is None:
        return result
    result.lines = source.lines
    if _has_surrogates(source.front):
        sink.append(
            Diagnostic(
                display,
                Pos(source.front_line, 1),
                "MAP100",
                "error",
                "the front matter holds text that is not valid Unicode (a lone surrogate)",
                "save the file as UTF-8",
            )
        )
        return result
    if not _screen(source, sink):
        return result
    try:
        node = load_yaml_node(source.front)
    except yaml.YAMLError as exc:
        _yaml_error(exc, source, sink)
        return result
    except RecursionError:
        sink.append(
            Diagnostic(
                display,
                Pos(source.front_line, 1),
                "MAP100",
                "error",
                "the front matter is nested too deeply to be a MAP",
                "a MAP nests at most three levels: deal, list, item",
            )
        )
        return result
    report = diagnostic_reporter(sink, display, source.lines)
    if node is None or not isinstance(node, yaml.MappingNode):
        what = (
            "empty"
            if node is None
            else ("a list" if isinstance(node, yaml.SequenceNode) else "a single value")
        )
        line = source.front_line + (node.start_mark.line if node is not None else 0)
        report(
            "MAP100",
            Pos(line, 1),
            f"the front matter is {what}, not a mapping of keys",
            "write `key: value` lines: title, customer, go_live, people, milestones",
        )
        return result
    walker = Walker(report, line_offset=source.front_line - 1)
    data = walker.walk(node, DEAL)
    result.located = walker.located
    if not SLUG.match(deal_id):
        report(
            "MAP105",
            Pos(1, 1),
            f"the file name `{deal_id}` is not a valid deal id",
            "rename the file to lowercase letters, digits and dashes, e.g. `harbor-federal.md`",
        )
    check_references(data, walker.located, report)
    if not sink and isinstance(data, dict):
        result.data = data
        result.deal = build_deal(deal_id, data, source.body)
    return result


def _has_surrogates(text: str) -> bool:
    """True for a str that cannot be encoded (only possible when not decoded from a file)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _screen(source: Source, sink: list[Diagnostic]) -> bool:
    """Refuse aliases and runaway nesting before composing, from the event stream.

    Composing keeps an alias as the anchored node, so the alias's own place is lost and a later
    report would point at the anchor; libyaml's composer also recurses in C and crashes the
    process on a few thousand nested brackets. The parser's events have neither problem.
    """
    front = source.front
    if (
        "*" not in front
        and front.count("[") + front.count("{") <= _MAX_BRACKETS
        and not _DEEP_LEAD.search(front)
    ):
        return True
    depth = 0
    first: yaml.AliasEvent | None = None
    aliases = 0
    try:
        for event in yaml.parse(front, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    sink.append(
                        Diagnostic(
                            source.display,
                            Pos(mark.line + source.front_line, mark.column + 1),
                            "MAP100",
                            "error",
                            f"the front matter is nested more than {MAX_DEPTH} levels deep",
                            "a MAP nests at most four levels: deal, list, item, `after` list",
                            _line(source, mark.line + source.front_line),
                        )
                    )
                    return False
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                first = first or event
    except yaml.YAMLError:
        return True  # composing reports the syntax error, at the same place
    if first is None:
        return True
    mark = first.start_mark
    line = mark.line + source.front_line
    more = f" (and {aliases - 1} more)" if aliases > 1 else ""
    sink.append(
        Diagnostic(
            source.display,
            Pos(line, mark.column + 1, mark.column + 2 + len(first.anchor or "")),
            "MAP100",
            "error",
            f"YAML alias `*{first.anchor}` reuses a value from elsewhere in the file{more}",
            "write the value out in full: each fact on its own line",
            _line(source, line),
        )
    )
    return False


def nested_too_deep(front: str) -> bool:
    """True when composing `front` could overflow libyaml's C stack (see `_screen`)."""
    if front.count("[") + front.count("{") <= _MAX_BRACKETS and not _DEEP_LEAD.search(front):
        return False
    depth = 0
    try:
        for event in yaml.parse(front, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    return True
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return False  # composing reports it
    return False


def _line(source: Source, line: int) -> str | None:
    return source.lines[line - 1] if 0 < line <= len(source.lines) else None


def read_file(path: Path, display: str, root: Path | None = None) -> ParsedDeal:
    """Read and parse one deal file; never raises for bad content."""
    deal_id = path.name[: -len(".md")] if path.name.endswith(".md") else path.stem
    result = ParsedDeal(path, display, deal_id)
    sink = result.diagnostics
    if root is not None and _escapes(path, root):
        target = os.path.realpath(path)
        sink.append(
            Diagnostic(
                display,
                Pos(1, 1),
                "MAP100",
                "error",
                f"the file is a link to {target}, outside the repository",
                "copy the deal into the repository instead of linking to it",
            )
        )
        return result
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            sink.append(
                Diagnostic(
                    display,
                    Pos(1, 1),
                    "MAP100",
                    "error",
                    f"the file is {size / (1 << 20):.1f} MiB; a MAP file is at "
                    f"most {MAX_BYTES >> 20} MiB",
                    "keep the plan in the front matter and move long notes "
                    "or attachments elsewhere, with a link",
                )
            )
            return result
        raw = path.read_bytes()
    except OSError as exc:
        sink.append(
            Diagnostic(
                display,
                Pos(1, 1),
                "MAP100",
                "error",
                f"cannot read the file: {exc.strerror}",
                "check the path",
            )
        )
        return result
    text = decode(raw, display, sink)
    if text is None:
        return result
    return parse_text(text, display, deal_id, path)


def _escapes(path: Path, root: Path) -> bool:
    """True when the path resolves (through links) to somewhere outside `root`."""
    real = Path(os.path.realpath(path))
    return not real.is_relative_to(_real(root))


@functools.lru_cache(maxsize=8)
def _real(root: Path) -> Path:
    return Path(os.path.realpath(root))


# ---------------------------------------------------------------- cross-references (MAP105–109)


def _items(data: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _text(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) else None


def check_references(data: Any, located: Located, report: Any) -> None:
    """MAP105–MAP109 on whatever parts of the data are valid."""
    people = _items(data, "people")
    milestones = _items(data, "milestones")
    side: dict[str, str | None] = {}
    for i, person in people:
        name = _text(person, "name")
        if name is None:
            continue
        if name in side:
            report(
                "MAP105",
                located.value(("people", i, "name")),
                f"two people are named `{name}`",
                "names are unique: tell them apart, e.g. with a middle initial",
            )
        else:
            side[name] = _text(person, "side")
    names = list(side)

    ids: dict[str, int] = {}
    for i, m in milestones:
        mid = _text(m, "id")
        if mid is None:
            continue
        where = located.value(("milestones", i, "id"))
        if not SLUG.match(mid):
            report(
                "MAP105",
                where,
                f"milestone id `{mid}` is not a slug",
                "use lowercase letters, digits and dashes, e.g. `security-review`",
            )
        if mid in ids:
            report(
                "MAP105",
                where,
                f"two milestones have the id `{mid}`",
                "give each step its own id; history follows a row by its id",
            )
        else:
            ids[mid] = i

    for i, m in milestones:
        owner = _text(m, "owner")
        if owner is not None and owner not in side:
            report(
                "MAP106",
                located.value(("milestones", i, "owner")),
                f"owner `{owner}` is not in people",
                _add_or(owner, names),
            )
        by = _text(m, "confirmed_by")
        if by is not None:
            where = located.value(("milestones", i, "confirmed_by"))
            if by not in side:
                report("MAP106", where, f"confirmed_by `{by}` is not in people", _add_or(by, names))
            elif side[by] == "vendor":
                report(
                    "MAP107",
                    where,
                    f"confirmed_by `{by}` is on the vendor side; only the customer can "
                    "confirm a date",
                    "name the customer person who agreed in writing",
                )
        after = m.get("after")
        if isinstance(after, list):
            for j, ref in enumerate(after):
                if isinstance(ref, str) and ref not in ids:
                    report(
                        "MAP106",
                        located.value(("milestones", i, "after", j)),
                        f"after `{ref}`: no step has this id",
                        did_you_mean(ref, list(ids)),
                    )
        start, due = m.get("start"), m.get("due")
        if start not in (None, INVALID) and due not in (None, INVALID) and start > due:
            report(
                "MAP109",
                located.value(("milestones", i, "start")),
                f"start {start} is after due {due}",
                "move the start to on or before the due date, or correct the due date",
            )

    for i, review in _items(data, "reviews"):
        who = _text(review, "with")
        if who is not None and who not in side:
            report(
                "MAP106",
                located.value(("reviews", i, "with")),
                f"review with `{who}`: not in people",
                _add_or(who, names),
            )
        elif who is not None and side[who] == "vendor":
            report(
                "MAP107",
                located.value(("reviews", i, "with")),
                f"review with `{who}`, who is on the vendor side; a review is held with the "
                "customer",
                "name the customer person the review was held with",
            )

    for cycle in find_cycles(milestones, ids):
        i, j = cycle[0]
        path = " → ".join(_text(milestones_by_index(milestones, k), "id") or "?" for k, _ in cycle)
        first = _text(milestones_by_index(milestones, i), "id")
        report(
            "MAP108",
            located.value(("milestones", i, "after", j)),
            f"`after` forms a cycle: {path} → {first}",
            "a step cannot wait for itself: remove one `after` entry of the cycle",
        )


def _add_or(name: str, names: Sequence[str]) -> str:
    hint = did_you_mean(name, names)
    return (hint + " " if hint.startswith("did") else "") + (
        f"add `{name}` to people with their side, or name someone who is listed"
    )


def milestones_by_index(milestones: list[tuple[int, dict[str, Any]]], index: int) -> dict[str, Any]:
    return next(m for i, m in milestones if i == index)


def find_cycles(
    milestones: list[tuple[int, dict[str, Any]]], ids: dict[str, int]
) -> list[list[tuple[int, int]]]:
    """Each dependency cycle once, as (milestone index, after-entry index) edges in order."""
    edges: dict[int, list[tuple[int, int]]] = {}
    for i, m in milestones:
        after = m.get("after")
        if isinstance(after, list):
            edges[i] = [
                (j, ids[ref]) for j, ref in enumerate(after) if isinstance(ref, str) and ref in ids
            ]
    state: Counter[int] = Counter()  # 0 new, 1 on the current path, 2 finished
    cycles: list[list[tuple[int, int]]] = []
    for root, _ in milestones:  # iterative depth-first search: no recursion limit to hit
        if state[root]:
            continue
        state[root] = 1
        nodes, entered = [root], []  # entered[k]: the edge that led to nodes[k + 1]
        pending = [iter(edges.get(root, ()))]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                state[nodes.pop()] = 2
                pending.pop()
                if entered:
                    entered.pop()
                continue
            j, target = step
            node = nodes[-1]
            if state[target] == 1:
                k = nodes.index(target)
                cycles.append([*entered[k:], (node, j)])
            elif state[target] == 0:
                state[target] = 1
                nodes.append(target)
                entered.append((node, j))
                pending.append(iter(edges.get(target, ())))
    return cycles


def validate_record(
    node: yaml.Node, spec: Record, display: str, lines: list[str], line_offset: int
) -> tuple[Any, Located, list[Diagnostic]]:
    """Validate any YAML node against a Record (used for mapdown.yaml)."""
    sink: list[Diagnostic] = []
    walker = Walker(diagnostic_reporter(sink, display, lines), line_offset)
    data = walker.walk(node, spec)
    return data, walker.located, sink


# ---------------------------------------------------------------- past versions, quickly


class QuickParseError(ValueError):
    """A past version that cannot be read as a MAP (it is skipped for history, and reported)."""


_NODE_BUDGET = 100_000  # far above any real plan; stops alias bombs in old versions
_DATE_KEYS = {"go_live", "deadline", "close"}
_MILESTONE_DATES = ("start", "due")


def _plain(node: yaml.Node, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise QuickParseError("the front matter is too large or uses aliases")
    if isinstance(node, yaml.MappingNode):
        return {k.value: _plain(v, budget) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
    if isinstance(node, yaml.SequenceNode):
        return [_plain(v, budget) for v in node.value]
    value = node.value
    if not node.style and (value in ("", "~", "null", "Null", "NULL")):
        return None
    return value.strip()


def _date_text(value: Any, where: str) -> str:
    if isinstance(value, str) and len(value) == 10:
        try:
            dt.date.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise QuickParseError(f"{where} is not an ISO date")


def _clean(
    item: Any, where: str, required: tuple[str, ...], dates: tuple[str, ...] = ()
) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise QuickParseError(f"{where} is not a mapping")
    out = {k: v for k, v in item.items() if v is not None and v != ""}
    for key in required:
        if key not in out:
            raise QuickParseError(f"{where} has no `{key}`")
    for key in dates:
        if key in out:
            out[key] = _date_text(out[key], f"{where} `{key}`")
    return out


def _compose_past(front: str) -> yaml.Node:
    if nested_too_deep(front):
        raise QuickParseError(f"the front matter is nested more than {MAX_DEPTH} levels deep")
    try:
        node = load_yaml_node(front)
    except (yaml.YAMLError, RecursionError) as exc:
        problem = str(getattr(exc, "problem", exc))
        if "nesting depth" in problem:  # PyYAML ≥ 6.0.4 stops deep nesting itself
            problem = f"the front matter is nested more than {MAX_DEPTH} levels deep"
            raise QuickParseError(problem) from exc
        raise QuickParseError(f"YAML syntax error: {problem}") from exc
    if not isinstance(node, yaml.MappingNode):
        raise QuickParseError("the front matter is not a mapping")
    return node


def quick_data(
    text: str, line_cache: dict[str, Any] | None = None, item_cache: dict[Any, Any] | None = None
) -> dict[str, Any]:
    """A past version's front matter as plain JSON-safe data (dates as ISO text).

    Faster than `parse_text` (no positions, no messages) and lenient where history can afford to
    be (unknown keys are ignored); what it cannot read raises QuickParseError.

    `line_cache` and `item_cache` are dicts the caller keeps across calls (for example while
    reading every version of a repository's deal files); they only save time. With
    `item_cache`, a person, step or review read before (the same keys and values in the same
    order) is not checked again: its earlier result, the same object, is used. Results may so
    share their inner dicts and lists: treat them as read-only.
    """
    text = text.removeprefix(BOM)
    if not text.startswith("---"):
        raise QuickParseError("no front matter")
    first = text.find("\n") + 1
    end = text.find("\n---", first - 1)
    while end != -1 and text[end + 4 : end + 5] not in ("", "\n", "\r", " ", "\t"):
        end = text.find("\n---", end + 1)
    if first == 0 or end == -1:
        raise QuickParseError("the front matter is never closed")
    front = text[first : end + 1]
    # Deal files are written in a small block-style subset of YAML; a strict line parser reads
    # that subset several times faster than libyaml and gives the same result, or None for
    # anything outside it (then libyaml reads it).
    memo = item_cache if item_cache is not None else {}
    # With the caches, a text in the usual layout is read piece by piece (each top-level line,
    # each list item), every piece read once for all the versions that share it.
    pieces = _pieces(front, line_cache, memo) if item_cache is not None else None
    if pieces is not None:
        plain, lists = pieces
    else:
        lists = {}
        plain = load_block_subset(front, cache=line_cache)
        if plain is None:
            plain = _plain(_compose_past(front), [_NODE_BUDGET])
    if not isinstance(plain, dict):
        raise QuickParseError("the front matter is not a mapping")
    data = _clean(
        plain,
        "the deal",
        ("title", "customer", "go_live", "people", "milestones"),
        tuple(_DATE_KEYS),
    )
    if not isinstance(data["people"], list) or not isinstance(data["milestones"], list):
        raise QuickParseError("people and milestones must be lists")
    people = _read_items(memo, "p", data["people"], lists.get("people"), _quick_person)
    milestones = _read_items(
        memo, "m", data["milestones"], lists.get("milestones"), _quick_milestone
    )
    if any(p["side"] not in SIDES for p in people):
        raise QuickParseError("a person has an unknown side")
    reviews = _read_items(memo, "r", data.get("reviews") or [], lists.get("reviews"), _quick_review)
    out = {
        k: data[k]
        for k in ("title", "customer", "go_live", "deadline", "deadline_reason", "close")
        if k in data
    }
    out["people"] = people
    out["milestones"] = milestones
    out["reviews"] = reviews
    if len({m["id"] for m in milestones}) != len(milestones):
        raise QuickParseError("two milestones share an id")
    return out


# The usual layout of a front matter: top-level `key: value` lines, and `key:` lines followed by
# list items `  - key: value` whose further lines are `    key: value`.
_PIECE = re.compile(r"\n(?=  - |[^ \n])")  # where a top-level line or a list item starts
_OPENS = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*:[ ]*")  # `key:` and nothing else
_FLAT_ITEM = re.compile(r"  - [^\n]*(?:\n    [A-Za-z_][^\n]*)*")


def _pieces(
    front: str, line_cache: dict[str, Any] | None, memo: dict[Any, Any]
) -> tuple[dict[str, Any], dict[str, list[list[Any]]]] | None:
    """`load_block_subset(front)` put together from its pieces, each read once (`memo`), and
    each list's items as their entries in `memo`; None when the text is not in the usual
    layout.

    Each piece is read alone by `load_block_subset`; in this layout the block-subset parser
    reads a piece the same wherever it stands (an item's lines are all inside the item, at the
    same columns, two levels deep), and accepts the whole text when it accepts every piece. A
    piece whose reading is known is not read again, and its reading is shared. An item's entry
    is [its reading, what it was checked as, the result] (see `_read_items`).
    """
    if not front.endswith("\n") or "\r" in front:
        return None
    top: dict[str, Any] = {}
    lists: dict[str, list[list[Any]]] = {}
    key: str | None = None  # the `key:` whose items follow
    items: list[Any] = []
    entries: list[list[Any]] = []
    for piece in _PIECE.split(front[:-1]):
        known = memo.get(piece)
        if piece.startswith("  - "):
            if key is None:
                return None  # items after a value, or before any key
            if known is None:
                if _FLAT_ITEM.fullmatch(piece) is None:
                    return None
                read = load_block_subset(piece + "\n", cache=line_cache)
                if type(read) is not list or len(read) != 1:
                    return None
                known = memo[piece] = [read[0], None, None]
            items.append(known[0])
            entries.append(known)
            continue
        if known is None:
            if "\n" in piece or piece[:1] in ("", " "):
                return None  # a top-level line followed by anything but list items, or none
            read = load_block_subset(piece + "\n", cache=line_cache)
            if type(read) is not dict or len(read) != 1:
                return None
            [(name, value)] = read.items()
            opens = value is None and _OPENS.fullmatch(piece) is not None
            known = memo[piece] = (name, value, opens)
        if key is not None and items:
            top[key], lists[key] = items, entries
        name, value, opens = known
        top[name] = value  # a repeated key: the later value, in the first one's place
        lists.pop(name, None)
        key = name if opens else None
        items, entries = [], []
    if key is not None and items:
        top[key], lists[key] = items, entries
    return top, lists


def _read_items(
    memo: dict[Any, Any],
    kind: str,
    values: list[Any],
    entries: list[list[Any]] | None,
    read: Callable[[Any, int], dict[str, Any]],
) -> list[dict[str, Any]]:
    """`read(value, i)` for each item, remembered in the item's entry (`_pieces`) when there
    is one, else by its content (`_memo`)."""
    if entries is None:
        return [_memo(memo, kind, value, i, read) for i, value in enumerate(values)]
    out = []
    for i, entry in enumerate(entries):
        if entry[1] != kind:  # the item is read once as a person, step or review
            entry[2] = read(values[i], i)
            entry[1] = kind
        out.append(entry[2])
    return out


def _memo(
    memo: dict[Any, Any],
    kind: str,
    item: Any,
    i: int,
    read: Callable[[Any, int], dict[str, Any]],
) -> dict[str, Any]:
    """`read(item, i)`, remembered in `memo` under the item's content (successes only: an
    error's message names the item's position)."""
    if type(item) is not dict:
        return read(item, i)
    try:
        key: Any = (kind, *item.items())
        hit = memo.get(key)
    except TypeError:  # a list value (`after: [a, b]`): as a tuple, lists being the only
        try:  # sequences the parsers give
            key = (kind, *((k, tuple(v) if type(v) is list else v) for k, v in item.items()))
            hit = memo.get(key)
        except TypeError:  # a nested mapping or list: not remembered
            return read(item, i)
    if hit is None:
        hit = memo[key] = read(item, i)
    return hit


def _quick_person(p: Any, i: int) -> dict[str, Any]:
    p = _clean(p, f"person {i + 1}", ("name", "side"))
    return {k: v for k, v in p.items() if k in _PERSON_KEYS}


def _quick_milestone(m: Any, i: int) -> dict[str, Any]:
    m = _clean(
        m,
        f"milestone {i + 1}",
        ("id", "step", "track", "owner", "due", "exit"),
        _MILESTONE_DATES,
    )
    if m["track"] not in TRACKS or m.get("status", "planned") not in STATUSES:
        raise QuickParseError(f"milestone {i + 1} has an unknown track or status")
    after = m.get("after", [])
    m["after"] = after if isinstance(after, list) else [after]
    return {k: v for k, v in m.items() if k in _MILESTONE_KEYS}


def _quick_review(r: Any, i: int) -> dict[str, Any]:
    r = _clean(r, f"review {i + 1}", ("date", "with"), ("date",))
    return {k: v for k, v in r.items() if k in ("date", "with", "note")}


_PERSON_KEYS = ("name", "side", "role", "title", "email")
_MILESTONE_KEYS = (
    "id",
    "step",
    "track",
    "owner",
    "start",
    "due",
    "exit",
    "status",
    "evidence",
    "confirmed_by",
    "confirmation",
    "after",
)


def deal_from_data(
    deal_id: str,
    data: dict[str, Any],
    body: str = "",
    memo: dict[tuple[int, int], tuple[Any, Any]] | None = None,
) -> Deal:
    """A Deal from `quick_data` output (or its JSON round trip).

    With `memo` (one per deal history), a step or person that is the same object as in a
    version read before is the same Milestone or Person again: `quick_data` shares the items
    that did not change between versions, so a deal's 40 versions make each step once, not 40
    times (both are frozen values: sharing one is the same as making it again).
    """

    def day(value: Any) -> dt.date | None:
        return dt.date.fromisoformat(value) if isinstance(value, str) else value

    typed = dict(data)
    for key in _DATE_KEYS:
        if key in typed:
            typed[key] = day(typed[key])

    def milestone(i: int, m: dict[str, Any]) -> Milestone:
        return make_milestone(i, {**m, **{k: day(m[k]) for k in _MILESTONE_DATES if k in m}})

    milestones = _shared(memo, data["milestones"], milestone)
    people = _shared(memo, data["people"], lambda _, p: Person(**p))
    typed["reviews"] = [{**r, "date": day(r["date"])} for r in data.get("reviews") or ()]
    return build_deal(deal_id, typed, body, people=people, milestones=milestones)


def _shared(
    memo: dict[tuple[int, int], tuple[Any, Any]] | None,
    items: list[dict[str, Any]],
    make: Callable[[int, dict[str, Any]], Any],
) -> tuple[Any, ...]:
    """Each item made by `make(i, item)`, or taken from `memo` when this very item object
    (kept there, so its id is not reused) was made before at the same place."""
    if memo is None:
        return tuple(make(i, item) for i, item in enumerate(items))
    out = []
    for i, item in enumerate(items):
        key = (id(item), i)
        hit = memo.get(key)
        if hit is None or hit[0] is not item:
            hit = memo[key] = (item, make(i, item))
        out.append(hit[1])
    return tuple(out)


def plain_data(deal: Deal) -> dict[str, Any]:
    """The JSON-safe plain data of a Deal (the inverse of `deal_from_data`)."""

    def iso(d: dt.date | None) -> str | None:
        return d.isoformat() if d else None

    out: dict[str, Any] = {
        "title": deal.title,
        "customer": deal.customer,
        "go_live": iso(deal.go_live),
    }
    for key in ("deadline", "close"):
        if getattr(deal, key):
            out[key] = iso(getattr(deal, key))
    if deal.deadline_reason:
        out["deadline_reason"] = deal.deadline_reason
    out["people"] = [
        {k: getattr(p, k) for k in _PERSON_KEYS if getattr(p, k) is not None} for p in deal.people
    ]
    out["milestones"] = [
        {
            k: (iso(v) if k in _MILESTONE_DATES else list(v) if k == "after" else v)
            for k in _MILESTONE_KEYS
            if (v := getattr(m, k)) is not None
        }
        for m in deal.milestones
    ]
    out["reviews"] = [
        {"date": iso(r.date), "with": r.with_, **({"note": r.note} if r.note else {})}
        for r in deal.reviews
    ]
    return out
