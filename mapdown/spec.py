"""A small declarative schema over YAML nodes.

One declaration of each record (deal, person, milestone, review, config) gives three things that
therefore cannot drift: the validator that walks composed YAML nodes and reports every problem with
its line and column, the plain Python values handed to the model, and the JSON Schema.

We walk nodes rather than constructed objects because the node keeps where each value sits, a
duplicate key is still visible (a constructed dict has already dropped one), and an alias is the
same node object seen twice, so it can be refused before anything is expanded.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from mapdown.diagnostics import Diagnostic, Pos

Path_ = tuple[str | int, ...]

# YAML 1.2 core schema resolution of plain scalars (libyaml resolves with YAML 1.1 rules, where
# `no` is false and `010` is octal; we want the rules a reader of the file expects).
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
PLAIN_TAG = "tag:mapdown,2026:plain"  # what our loader gives a scalar with no tag of its own
_STR_TAG = "tag:yaml.org,2002:str"
_STD_TAGS = {PLAIN_TAG} | frozenset(
    f"tag:yaml.org,2002:{t}"
    for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)
_MAYBE_NOT_TEXT = frozenset("0123456789+-.~nNtTfF")  # first letters of non-text plain scalars
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[Tt ]|\s+)\d{1,2}:\d{2}")
_LOOSE_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def scalar_kind(node: yaml.ScalarNode) -> str:
    """The YAML 1.2 core type of a scalar: text, null, bool, int or float."""
    if node.style or node.tag == _STR_TAG:  # quoted, block or `!!str` scalars are text
        return "text"
    value = node.value
    if not value:
        return "null"
    first = value[0]
    if first not in _MAYBE_NOT_TEXT:  # most text: no regex at all
        return "text"
    if first in "~nN":
        return "null" if _NULL.match(value) else "text"
    if first in "tTfF":
        return "bool" if _BOOL.match(value) else "text"
    if _INT.match(value):  # digits, signs and dots: a date is text after two misses
        return "int"
    if _FLOAT.match(value):
        return "float"
    return "text"


_KIND_WORDS = {
    "text": "text",
    "null": "nothing",
    "bool": "true/false",
    "int": "a number",
    "float": "a number",
    "list": "a list",
    "mapping": "a mapping",
}


def node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    if isinstance(node, yaml.SequenceNode):
        return "list"
    return scalar_kind(node)  # type: ignore[arg-type]


class _Invalid:
    """Marks a value that failed validation; it is left out of the plain data."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


# ---------------------------------------------------------------- the declarations


@dataclass(frozen=True)
class Spec:
    """Base of every value type."""

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Spec):
    words: tuple[str, ...] = ()

    def json_schema(self) -> dict[str, Any]:
        if self.words:
            return {"type": "string", "enum": list(self.words)}
        return {"type": "string", "minLength": 1}

    def describe(self) -> str:
        return " | ".join(f"`{w}`" for w in self.words) if self.words else "text"


@dataclass(frozen=True)
class Date(Spec):
    def json_schema(self) -> dict[str, Any]:
        # A YAML loader may hand a validator either the string or a date object; `pattern`
        # checks the string and the `not` excludes every other JSON type, so both pass and
        # numbers, booleans and lists do not.
        return {
            "pattern": r"^\d{4}-\d{2}-\d{2}$",
            "format": "date",
            "not": {"type": ["number", "boolean", "array", "object", "null"]},
        }

    def describe(self) -> str:
        return "date (YYYY-MM-DD)"


@dataclass(frozen=True)
class Int(Spec):
    minimum: int | None = None
    maximum: int | None = None

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out

    def describe(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"whole number {self.minimum}–{self.maximum}"
        return "whole number"


@dataclass(frozen=True)
class Number(Spec):
    minimum: float = 0

    def json_schema(self) -> dict[str, Any]:
        return {"type": "number", "minimum": self.minimum}

    def describe(self) -> str:
        return "number"


@dataclass(frozen=True)
class ListOf(Spec):
    item: Spec

    def json_schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.json_schema()}

    def describe(self) -> str:
        return f"list of {self.item.describe()}"


@dataclass(frozen=True)
class MapOf(Spec):
    """A mapping with free keys (optionally from a fixed set) and one value type."""

    value: Spec
    keys: tuple[str, ...] = ()
    key_pattern: str | None = None

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "object", "additionalProperties": self.value.json_schema()}
        if self.keys:
            out["propertyNames"] = {"enum": list(self.keys)}
        elif self.key_pattern:
            out["propertyNames"] = {"pattern": self.key_pattern}
        return out

    def describe(self) -> str:
        return f"mapping of {self.value.describe()}"


@dataclass(frozen=True)
class Field:
    """One key of a record."""

    name: str
    spec: Spec
    required: bool = False
    doc: str = ""
    default: Any = None


@dataclass(frozen=True)
class Record(Spec):
    """A mapping with known keys; anything else is an unknown key."""

    title: str
    fields: tuple[Field, ...]
    doc: str = ""
    aliases: Mapping[str, str] = field(default_factory=dict)  # common misspellings → key
    lead: str | None = None  # the key a lone value most likely meant (`- Kyle` under people)

    def field(self, name: str) -> Field | None:
        return self._by_name.get(name)

    @functools.cached_property
    def _by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    def json_schema(self) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for f in self.fields:
            sub = dict(f.spec.json_schema())
            if f.doc:
                sub["description"] = f.doc
            if not f.required:
                sub = {"anyOf": [sub, {"type": "null"}], "description": f.doc}
            props[f.name] = sub
        out: dict[str, Any] = {
            "type": "object",
            "title": self.title,
            "properties": props,
            "required": [f.name for f in self.fields if f.required],
            "additionalProperties": False,
        }
        if self.doc:
            out["description"] = self.doc
        return out

    def describe(self) -> str:
        return self.title


# ---------------------------------------------------------------- the walker


def _keys(names: list[str]) -> str:
    return ", ".join(f"`{k}:`" for k in names)


Mark = tuple[int, int, int, int]  # 0-based start line, start column, end line, end column


def mark_of(node: yaml.Node) -> Mark:
    start, end = node.start_mark, node.end_mark
    return (start.line, start.column, end.line, end.column)


@dataclass
class Located:
    """Where every value and key of a document sits, by path (`("milestones", 2, "due")`).

    Marks are kept as tuples of ints, not nodes or Pos objects: thousands of them per file stay
    alive for the whole run, and tuples of ints are invisible to the garbage collector.
    """

    offset: int = 0  # file line of the document's first line, less one
    values: dict[Path_, Mark] = field(default_factory=dict)
    keys: dict[Path_, Mark] = field(default_factory=dict)

    def value(self, path: Path_) -> Pos:
        """The position of a value, else of its key, else of the nearest located parent."""
        while path:
            mark = self.values.get(path) or self.keys.get(path)
            if mark is not None:
                return to_pos(mark, self.offset)
            path = path[:-1]
        root = self.values.get(())
        return to_pos(root, self.offset) if root is not None else Pos(1, 1)

    def key(self, path: Path_) -> Pos:
        mark = self.keys.get(path)
        return to_pos(mark, self.offset) if mark is not None else self.value(path)


def to_pos(mark: Mark, line_offset: int) -> Pos:
    line, col, end_line, end_col = mark
    same_line = end_line == line and end_col > col
    return Pos(line + 1 + line_offset, col + 1, end_col + 1 if same_line else None)


def pos_of(node: yaml.Node, line_offset: int) -> Pos:
    return to_pos(mark_of(node), line_offset)


Reporter = Callable[[str, Pos, str, str], None]


class Walker:
    """Validates a node tree against a Spec, collecting problems instead of stopping."""

    def __init__(self, report: Reporter, line_offset: int = 0) -> None:
        self.report = report
        self.offset = line_offset
        self.located = Located()
        self.located.offset = line_offset
        self._seen: set[int] = set()

    def _report(self, code: str, where: yaml.Node | Pos, message: str, hint: str) -> None:
        pos = where if isinstance(where, Pos) else pos_of(where, self.offset)
        self.report(code, pos, message, hint)

    def walk(self, node: yaml.Node, spec: Spec, path: Path_ = ()) -> Any:
        pos = node  # turned into a position only if there is something to report
        self.located.values[path] = mark_of(node)
        if id(node) in self._seen:
            self._report(
                "MAP100",
                pos,
                "YAML alias (*name) reuses a value from elsewhere in the file",
                "write the value out in full: each fact on its own line",
            )
            return INVALID
        self._seen.add(id(node))
        if isinstance(node, yaml.ScalarNode) and node.tag not in _STD_TAGS:
            self._report("MAP103", pos, f"YAML tag `{node.tag}` is not supported", "remove the tag")
            return INVALID
        if isinstance(spec, Record):
            return self._record(node, spec, path, pos)
        if isinstance(spec, ListOf):
            return self._list(node, spec, path, pos)
        if isinstance(spec, MapOf):
            return self._map(node, spec, path, pos)
        return self._scalar(node, spec, path, pos)

    def _name(self, path: Path_) -> str:
        parts = [str(p) for p in path if isinstance(p, str)]
        return parts[-1] if parts else "value"

    def _wrong_type(self, node: yaml.Node, spec: Spec, path: Path_, pos: yaml.Node) -> _Invalid:
        got = _KIND_WORDS[node_kind(node)]
        if isinstance(spec, Record):
            return self._not_a_record(node, spec, path, pos, got)
        if isinstance(spec, ListOf) and isinstance(spec.item, Record):
            return self._not_a_list_of_records(spec.item, path, pos, got)
        hint = f"write {spec.describe()}"
        if isinstance(spec, Text) and isinstance(node, yaml.ScalarNode):
            hint = f'put the value in quotes: "{node.value}"'
        elif isinstance(spec, ListOf) and isinstance(node, yaml.ScalarNode):
            hint = f"write a list, e.g. `{self._name(path)}: [{node.value}]`"
        self._report(
            "MAP103", pos, f"`{self._name(path)}` should be {spec.describe()}, not {got}", hint
        )
        return INVALID

    def _not_a_record(
        self, node: yaml.Node, spec: Record, path: Path_, pos: yaml.Node, got: str
    ) -> _Invalid:
        """A person, step or review written as something else: which item, and how to write it
        (`- Kyle Morgan` under `people:` should be `- name: Kyle Morgan` and `side: …`)."""
        where = f"`{self._name(path)}`"
        if path and isinstance(path[-1], int):
            where = f"item {path[-1] + 1} of {where}"
        required = [f.name for f in spec.fields if f.required]
        hint = f"write the {spec.title} as `key: value` lines"
        if spec.lead and isinstance(node, yaml.ScalarNode) and node.value:
            others = [k for k in required if k != spec.lead]
            hint += f", e.g. `{spec.lead}: {node.value}`"
            if others:
                hint += f", then {_keys(others)} below it, lined up with `{spec.lead}`"
        elif required:
            hint += f"; {_keys(required)} are required"
        elif len(spec.fields) <= 6:
            hint += f"; its keys: {_keys([f.name for f in spec.fields])}"
        message = f"{where} should be a {spec.title} (`key: value` lines), not {got}"
        self._report("MAP103", pos, message, hint)
        return INVALID

    def _not_a_list_of_records(
        self, spec: Record, path: Path_, pos: yaml.Node, got: str
    ) -> _Invalid:
        name = self._name(path)
        first = next((f.name for f in spec.fields if f.required), "key")
        self._report(
            "MAP103",
            pos,
            f"`{name}` should be a list of {spec.title} entries, not {got}",
            f"under `{name}:`, start each {spec.title} with `- {first}: …` on a line of its "
            "own and line its other keys up below it",
        )
        return INVALID

    def _mapping_items(
        self, node: yaml.MappingNode, path: Path_
    ) -> Iterator[tuple[str, yaml.Node, yaml.Node]]:
        """Key/value pairs of a mapping; duplicate and non-text keys are reported and skipped."""
        first: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            kpos = key_node
            if not isinstance(key_node, yaml.ScalarNode) or scalar_kind(key_node) == "null":
                self._report("MAP103", kpos, "a key must be a plain word", "write `key: value`")
                continue
            key = key_node.value
            if key == "<<":
                self._report(
                    "MAP100",
                    kpos,
                    "YAML merge keys (<<) are not supported",
                    "write the keys out in full",
                )
                continue
            if key in first:
                self._report(
                    "MAP100",
                    kpos,
                    f"duplicate key `{key}` "
                    f"(first on line {pos_of(first[key], self.offset).line}); "
                    "YAML would keep only the last value and silently drop the other",
                    "keep one of the two lines",
                )
                continue
            first[key] = kpos
            self.located.keys[(*path, key)] = mark_of(key_node)
            yield key, value_node, kpos

    def _record(self, node: yaml.Node, spec: Record, path: Path_, pos: yaml.Node) -> Any:
        if not isinstance(node, yaml.MappingNode):
            if isinstance(node, yaml.ScalarNode) and scalar_kind(node) == "null":
                self._report(
                    "MAP101", pos, f"`{self._name(path)}` is empty", f"fill in {spec.title}"
                )
                return INVALID
            return self._wrong_type(node, spec, path, pos)
        out: dict[str, Any] = {}
        for key, value_node, kpos in self._mapping_items(node, path):
            f = spec.field(key)
            if f is None:
                self._report(
                    "MAP102", kpos, f"unknown key `{key}` in {spec.title}", _did_you_mean(key, spec)
                )
                continue
            if isinstance(value_node, yaml.ScalarNode) and scalar_kind(value_node) == "null":
                self.located.values[(*path, key)] = mark_of(value_node)
                if f.required:
                    self._report("MAP101", kpos, f"`{key}` is empty", f"give {key} a value")
                    out[key] = INVALID
                continue  # an empty optional key is the same as no key
            out[key] = self.walk(value_node, f.spec, (*path, key))
        for f in spec.fields:
            if f.required and f.name not in out:
                self._report(
                    "MAP101",
                    pos,
                    f"{spec.title} is missing the required key `{f.name}`",
                    f"add `{f.name}:` ({f.doc or f.spec.describe()})",
                )
        return out

    def _list(self, node: yaml.Node, spec: ListOf, path: Path_, pos: yaml.Node) -> Any:
        if not isinstance(node, yaml.SequenceNode):
            return self._wrong_type(node, spec, path, pos)
        return [self.walk(item, spec.item, (*path, i)) for i, item in enumerate(node.value)]

    def _map(self, node: yaml.Node, spec: MapOf, path: Path_, pos: yaml.Node) -> Any:
        if not isinstance(node, yaml.MappingNode):
            return self._wrong_type(node, spec, path, pos)
        out: dict[str, Any] = {}
        for key, value_node, kpos in self._mapping_items(node, path):
            if spec.keys and key not in spec.keys:
                close = difflib.get_close_matches(key, spec.keys, n=1)
                hint = f"did you mean `{close[0]}`?" if close else "known: " + ", ".join(spec.keys)
                self._report("MAP102", kpos, f"unknown key `{key}`", hint)
                continue
            if spec.key_pattern and not re.match(spec.key_pattern, key):
                self._report("MAP102", kpos, f"unknown key `{key}`", "check the spelling")
                continue
            out[key] = self.walk(value_node, spec.value, (*path, key))
        return out

    def _scalar(self, node: yaml.Node, spec: Spec, path: Path_, pos: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return self._wrong_type(node, spec, path, pos)
        kind = scalar_kind(node)
        value: str = node.value
        if isinstance(spec, Date):
            if kind not in ("text", "int"):
                return self._wrong_type(node, spec, path, pos)
            return parse_date(value, self._name(path), pos, self._report)
        if isinstance(spec, Text):
            if kind != "text":
                return self._wrong_type(node, spec, path, pos)
            value = value.strip()
            if not value:
                self._report("MAP101", pos, f"`{self._name(path)}` is empty", "give it a value")
                return INVALID
            if spec.words and value not in spec.words:
                close = difflib.get_close_matches(value.lower(), spec.words, n=1)
                hint = f"did you mean `{close[0]}`? " if close else ""
                self._report(
                    "MAP103",
                    pos,
                    f"`{self._name(path)}` is `{value}`, not one of {spec.describe()}",
                    hint + "use one of: " + ", ".join(spec.words),
                )
                return INVALID
            return value
        if isinstance(spec, Int):
            if kind != "int" or not _INT.match(value) or not value.lstrip("+-").isdigit():
                return self._wrong_type(node, spec, path, pos)
            number = int(value)
            lo, hi = spec.minimum, spec.maximum
            if (lo is not None and number < lo) or (hi is not None and number > hi):
                self._report(
                    "MAP103",
                    pos,
                    f"`{self._name(path)}` is {number}, outside {spec.describe()}",
                    f"use {spec.describe()}",
                )
                return INVALID
            return number
        if isinstance(spec, Number):
            if kind not in ("int", "float"):
                return self._wrong_type(node, spec, path, pos)
            number = float(value)
            if number != number or number in (float("inf"), float("-inf")):
                self._report("MAP103", pos, f"`{self._name(path)}` must be a finite number", "")
                return INVALID
            if number < spec.minimum:
                self._report(
                    "MAP103", pos, f"`{self._name(path)}` must be at least {spec.minimum}", ""
                )
                return INVALID
            return number
        raise TypeError(spec)  # pragma: no cover - every spec type is handled above


def parse_date(value: str, name: str, pos: Any, report: Callable[..., None]) -> Any:
    """An ISO calendar date, or INVALID with a MAP104 that says what is wrong."""
    text = value.strip()
    if _ISO_DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError as exc:
            report(
                "MAP104",
                pos,
                f"`{name}: {text}` is not a real date ({exc})",
                "check the month and day",
            )
            return INVALID
    if _DATETIME.match(text):
        problem = f"`{name}: {text}` is a date and time"
        hint = f"write the date only: {text[:10]}"
    elif _LOOSE_DATE.match(text):
        y, m, d = text.split("-")
        problem = f"`{name}: {text}` is not an ISO date"
        hint = f"pad month and day with zeros: {y}-{int(m):02d}-{int(d):02d}"
    else:
        problem = f"`{name}: {text}` is not an ISO date"
        hint = "write the date as YYYY-MM-DD, e.g. 2026-11-10"
    report("MAP104", pos, problem, hint)
    return INVALID


def _did_you_mean(key: str, spec: Record) -> str:
    names = [f.name for f in spec.fields]
    if key in spec.aliases:
        return f"did you mean `{spec.aliases[key]}`?"
    close = difflib.get_close_matches(key.lower(), names, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    return "known keys here: " + ", ".join(names)


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """A "did you mean" sentence for a reference, or the list of choices when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    if not choices:
        return ""
    shown = ", ".join(f"`{c}`" for c in list(choices)[:8])
    return "known: " + shown + (", …" if len(choices) > 8 else "")


def diagnostic_reporter(sink: list[Diagnostic], path: str, lines: Sequence[str]) -> Reporter:
    """A Reporter that appends error Diagnostics for `path` to `sink`."""

    def report(code: str, pos: Pos, message: str, hint: str) -> None:
        source = lines[pos.line - 1] if 0 < pos.line <= len(lines) else None
        sink.append(Diagnostic(path, pos, code, "error", message, hint, source))

    return report
