"""`mapdown confirm`, `move` and `done`: edit one step of a deal file, and nothing else.

An edit rewrites or inserts only the `key: value` lines it must; every other byte of the file
(comments, key order, quoting, blank lines, line endings, a missing final newline, the notes
after the front matter) stays as it was. The lines are found from the parser's positions, the
result is parsed again and written only when it is valid and reads exactly as intended, and the
file is replaced atomically, never half-written.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import shlex
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import click

from mapdown.diagnostics import Diagnostic
from mapdown.errors import MapdownError
from mapdown.model import MILESTONE, Deal, Milestone
from mapdown.parse import MAX_BYTES, ParsedDeal, decode, parse_text
from mapdown.spec import Mark, did_you_mean

UTF8_BOM = b"\xef\xbb\xbf"
KEY_ORDER = tuple(f.name for f in MILESTONE.fields)  # the order a new key is placed in
NO_PROOF = "a milestone without its proof is a feeling with a date"

# ---------------------------------------------------------------- YAML scalars

# Characters that are not printable in YAML, or that YAML or Python's splitlines() take as a
# line break: a value holding one is written double-quoted with the character escaped.
_UNSAFE_CHAR = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
_NOT_FIRST = frozenset("-?:,[]{}#&*!|>'\"%@`~=<+.")  # indicators, and starts of numbers
_NOT_PLAIN_WORDS = frozenset({"y", "yes", "n", "no", "true", "false", "on", "off", "null"})


def is_plain_safe(text: str) -> bool:
    """True when `text` written as a plain (unquoted) block scalar reads back as that text.

    Conservative: anything that could be a number, date, bool or null, or that holds `: ` or ` #`,
    or starts with an indicator character, is quoted instead; quoting is never wrong.
    """
    if not text or text != text.strip() or _UNSAFE_CHAR.search(text):
        return False
    if text[0] in _NOT_FIRST or text[0].isdigit():
        return False
    if text.lower() in _NOT_PLAIN_WORDS:
        return False
    return ": " not in text and " #" not in text and not text.endswith(":")


def double_quoted(text: str) -> str:
    """`text` as a YAML double-quoted scalar on one line (JSON strings are valid YAML)."""
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNSAFE_CHAR.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def render(value: str | dt.date, style: str = "") -> str:
    """A value as a YAML scalar, keeping the quoting style (`"`, `'` or plain) of the old value."""
    if isinstance(value, dt.date):
        text = value.isoformat()
        return f"{style}{text}{style}" if style in ('"', "'") else text
    if style == "'" and not _UNSAFE_CHAR.search(value):
        return "'" + value.replace("'", "''") + "'"
    if style != '"' and is_plain_safe(value):
        return value
    return double_quoted(value)


# ---------------------------------------------------------------- reading


@dataclass
class Loaded:
    """A deal file as read: its bytes, its lines with their endings, and the parse."""

    path: Path  # the file written (a link resolved to its target)
    display: str
    raw: bytes
    lines: list[str]
    parsed: ParsedDeal
    deal: Deal

    def row(self, mark_line: int) -> int:
        """The 0-based index in `lines` of a 0-based line of the front matter."""
        return mark_line + self.parsed.located.offset

    def line_no(self, path: tuple[str | int, ...]) -> int:
        return self.parsed.located.key(path).line


def resolve_deal(deal: str, deals_dir: Path, cwd: Path) -> Path:
    """DEAL as a path to a `.md` file, or a deal id (a file name in the deals folder)."""
    given = Path(deal)
    as_path = given if given.is_absolute() else cwd / given
    looks_like_path = deal.endswith(".md") or "/" in deal or os.sep in deal
    if looks_like_path and as_path.is_file():
        return as_path
    deal_id = given.name.removesuffix(".md")
    found = _deal_files(deals_dir)
    if not (looks_like_path and given.parent != Path()):
        matches = [p for p in found if p.name == f"{deal_id}.md"]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            shown = ", ".join(str(p.relative_to(deals_dir)) for p in matches)
            raise MapdownError(f"deal `{deal_id}` is ambiguous ({shown}); pass the file's path")
    ids = sorted({p.name.removesuffix(".md") for p in found})
    hint = did_you_mean(deal_id, ids) or "there are no deals yet: `mapdown new` starts one"
    if looks_like_path and given.parent != Path():
        raise MapdownError(f"no such deal file: {deal}; {hint}")
    where = f"{deals_dir.name}/" if deals_dir.is_dir() else f"{deals_dir} (no such folder)"
    raise MapdownError(f"no deal `{deal_id}` in {where}; {hint}")


def _deal_files(deals_dir: Path) -> list[Path]:
    if not deals_dir.is_dir():
        return []
    return [
        p
        for p in sorted(deals_dir.rglob("*.md"))
        if p.name.lower() != "readme.md"
        and not any(part.startswith(".") for part in p.relative_to(deals_dir).parts)
    ]


def load(path: Path, display: str) -> Loaded:
    """Read and parse a deal file; refuses one that does not pass `check`'s error rules."""
    deal_id = path.name.removesuffix(".md")
    target = Path(os.path.realpath(path))  # write through a link, never over it
    try:
        if target.stat().st_size > MAX_BYTES:
            raise MapdownError(f"{display}: the file is larger than a MAP file can be")
        raw = target.read_bytes()
    except OSError as exc:
        raise MapdownError(f"{display}: cannot read the file: {exc.strerror}") from None
    sink: list[Diagnostic] = []
    text = decode(raw, display, sink)  # drops a BOM; it is put back from `raw` on writing
    if text is None:
        _refuse_invalid(display, sink)
    parsed = parse_text(text, display, deal_id, path)
    if parsed.diagnostics or parsed.deal is None:
        _refuse_invalid(display, parsed.diagnostics)
    return Loaded(target, display, raw, text.splitlines(keepends=True), parsed, parsed.deal)


def _refuse_invalid(display: str, diagnostics: list[Diagnostic]) -> NoReturn:
    first = min(diagnostics, key=Diagnostic.sort_key)
    more = len(diagnostics) - 1
    also = f" (and {more} more error{'s' * (more != 1)})" if more else ""
    raise MapdownError(
        f"{first.path}:{first.line}:{first.col}: {first.message}{also}. Fix the file first "
        f"(`mapdown check {display}` shows every error); nothing was changed"
    )


def find_step(loaded: Loaded, step_id: str) -> Milestone:
    for milestone in loaded.deal.milestones:
        if milestone.id == step_id:
            return milestone
    ids = [m.id for m in loaded.deal.milestones]
    line = loaded.line_no(("milestones",))
    raise MapdownError(
        f"{loaded.display}:{line}: deal `{loaded.deal.id}` has no step `{step_id}`; "
        + did_you_mean(step_id, ids)
    )


# ---------------------------------------------------------------- the line editor


def _split_ending(line: str) -> tuple[str, str]:
    content = line.rstrip("\r\n")
    if content != line:
        return content, line[len(content) :]
    # splitlines() also ends lines at \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029
    if line and line[-1] in "\v\f\x1c\x1d\x1e\x85\u2028\u2029":
        return line[:-1], line[-1]
    return line, ""


@dataclass
class StepEditor:
    """Sets keys of one milestone by rewriting or inserting whole lines of the file."""

    loaded: Loaded
    milestone: Milestone
    replace: dict[int, tuple[int, str]] = field(default_factory=dict)  # first row → (last, line)
    insert: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # row → lines before it
    changed: dict[str, Any] = field(default_factory=dict)  # key → value, for the verification
    _placed: dict[str, tuple[int, int]] = field(default_factory=dict)  # new key → (row, order)

    def __post_init__(self) -> None:
        mark = self._values().get(self.path)
        first = self.loaded.lines[self.loaded.row(mark[0])] if mark else ""
        if mark is None or first[mark[1] : mark[1] + 1] == "{":
            raise MapdownError(
                f"{self.loaded.display}:{self.step_line}: step `{self.milestone.id}` is written "
                "in flow style ({…}); write it one `key: value` per line to edit it with mapdown"
            )

    @property
    def path(self) -> tuple[str | int, ...]:
        return ("milestones", self.milestone.index)

    @property
    def step_line(self) -> int:
        """The line the step's mapping starts on (its `- ` line)."""
        return self.loaded.parsed.located.value(self.path).line

    def line_of(self, key: str) -> int:
        return self.loaded.line_no((*self.path, key))

    def _values(self) -> dict[Any, Mark]:
        return self.loaded.parsed.located.values

    def _keys(self) -> dict[Any, Mark]:
        return self.loaded.parsed.located.keys

    def has(self, key: str) -> bool:
        return (*self.path, key) in self._keys()

    def set(self, key: str, value: str | dt.date, before: str | None = None) -> None:
        """Give `key` the value: in place when the key is there, else on a new line."""
        self.changed[key] = value
        if self.has(key):
            self._replace(key, value)
        else:
            self._insert(key, value, before)

    def _last_row(self, mark: Mark) -> int:
        """The last line a value occupies (a block value ends where the next key starts)."""
        lines = self.loaded.lines
        start, end = self.loaded.row(mark[0]), min(self.loaded.row(mark[2]), len(lines) - 1)
        if end > start and not _split_ending(lines[end])[0][: mark[3]].strip():
            end -= 1
            while end > start and not lines[end].strip():
                end -= 1  # blank lines after a block value belong to no key: keep them
        return end

    def _replace(self, key: str, value: str | dt.date) -> None:
        lines = self.loaded.lines
        mark = self._values()[(*self.path, key)]
        first = self.loaded.row(mark[0])
        content, ending = _split_ending(lines[first])
        col = mark[1]
        if mark[:2] == mark[2:]:  # an empty value (`key:` with nothing, read as null)
            head, tail = content[:col], content[col:]
            if not head.endswith((" ", "\t")):
                head += " "
            if tail.startswith("#"):
                tail = " " + tail
            self.replace[first] = (first, head + render(value) + tail + ending)
            return
        style = content[col : col + 1]
        last = self._last_row(mark)
        last_content, last_ending = _split_ending(lines[last])
        tail = last_content[mark[3] :] if last == self.loaded.row(mark[2]) else ""
        new = content[:col] + render(value, style if style in "\"'" else "") + tail
        self.replace[first] = (last, new + last_ending)

    def _insert(self, key: str, value: str | dt.date, before: str | None) -> None:
        lines = self.loaded.lines
        keys = self._keys()
        indent = keys[(*self.path, "id")][1]
        if before is not None and self.has(before):
            mark = keys[(*self.path, before)]
            row = self.loaded.row(mark[0])
            if not lines[row][: mark[1]].strip():  # the key starts its line (not `- due:`)
                self._add(key, value, row, 0, indent, lines[row])
                return
        # after the last key that comes before it in the format's order, so a file that
        # follows the order keeps following it (`confirmed_by` after `evidence`, ...)
        earlier = KEY_ORDER[: KEY_ORDER.index(key)]
        spots = [
            (self._last_row(self._values()[(*self.path, k)]) + 1, 0) for k in earlier if self.has(k)
        ]
        spots += [(row, order + 1) for k, (row, order) in self._placed.items() if k in earlier]
        row, order = max(spots)
        self._add(key, value, row, order, indent, lines[row - 1])

    def _add(
        self, key: str, value: str | dt.date, row: int, order: int, indent: int, near: str
    ) -> None:
        ending = _split_ending(near)[1] or _file_ending(self.loaded.lines)
        self._placed[key] = (row, order)
        line = f"{' ' * indent}{key}: {render(value)}{ending}"
        self.insert.setdefault(row, []).append((order, line))

    def result(self) -> list[str]:
        lines = self.loaded.lines
        out: list[str] = []
        row = 0
        while row < len(lines):
            out.extend(line for _, line in sorted(self.insert.get(row, [])))
            if row in self.replace:
                last, new = self.replace[row]
                out.append(new)
                row = last + 1
            else:
                out.append(lines[row])
                row += 1
        out.extend(line for _, line in sorted(self.insert.get(len(lines), [])))
        return out


def _file_ending(lines: list[str]) -> str:
    return _split_ending(lines[0])[1] if lines else "\n"


# ---------------------------------------------------------------- verifying and writing


def verify(loaded: Loaded, editor: StepEditor, text: str) -> None:
    """Refuse unless the new text is valid and differs from the old only by the intended values."""
    display = loaded.display
    after = parse_text(text, display, loaded.deal.id, loaded.parsed.path)
    if after.diagnostics or after.data is None:
        first = min(after.diagnostics, key=Diagnostic.sort_key)
        raise MapdownError(
            f"{display}:{first.line}: the edit would make the file invalid: {first.message}; "
            "nothing was written"
        )
    expected = copy.deepcopy(loaded.parsed.data)
    assert expected is not None
    step = expected["milestones"][editor.milestone.index]
    for key, value in editor.changed.items():
        step[key] = value
    if after.data != expected:  # pragma: no cover - a layout the line editor does not handle
        raise MapdownError(
            f"{display}:{editor.step_line}: cannot edit step `{editor.milestone.id}` safely "
            "(the result would read differently than intended); edit it by hand. "
            "Nothing was written"
        )


def write_atomic(loaded: Loaded, new: bytes) -> None:
    """Replace the file with `new` in one step, if it still holds what was read."""
    path, display = loaded.path, loaded.display
    try:
        current = path.read_bytes()
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise MapdownError(f"{display}: cannot read the file again: {exc.strerror}") from None
    if not mode & stat.S_IWUSR:
        raise MapdownError(f"{display} is read-only; nothing was written")
    if current != loaded.raw:
        raise MapdownError(
            f"{display} changed on disk while mapdown was editing it; nothing was written. "
            "Run the command again"
        )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(new)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)  # atomic on POSIX: readers see the old file or the new
    except OSError as exc:
        raise MapdownError(f"{display}: cannot write the file: {exc.strerror}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse it; the rename is done
        pass
    finally:
        os.close(fd)


def save(loaded: Loaded, editor: StepEditor) -> None:
    text = "".join(editor.result())
    verify(loaded, editor, text)
    bom = UTF8_BOM if loaded.raw.startswith(UTF8_BOM) else b""
    write_atomic(loaded, bom + text.encode("utf-8"))


# ---------------------------------------------------------------- the commands


@dataclass
class Outcome:
    """What an edit did, to print: lines for stdout, notes for stderr."""

    changed: bool
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def echo(self) -> None:
        for line in self.lines:
            click.echo(line)
        for note in self.notes:
            click.echo(f"note: {note}", err=True)


def _text(value: str, option: str, where: str, why: str) -> str:
    text = value.strip()
    if not text:
        raise MapdownError(f"{where}: {option} is empty: {why}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MapdownError(f"{where}: {option} is not valid text (a lone surrogate)") from None
    return text


def _open(deal_file: Path, display: str, step_id: str) -> tuple[Loaded, StepEditor]:
    loaded = load(deal_file, display)
    return loaded, StepEditor(loaded, find_step(loaded, step_id))


def confirm(deal_file: Path, display: str, step_id: str, by: str, ref: str) -> Outcome:
    """Record that a customer-side person agreed to the step's dates, and where in writing."""
    loaded, editor = _open(deal_file, display, step_id)
    m = editor.milestone
    where = f"{display}:{editor.step_line}"
    name = by.strip()
    people = {p.name: (i, p) for i, p in enumerate(loaded.deal.people)}
    if name not in people:
        line = loaded.line_no(("people",))
        raise MapdownError(
            f"{display}:{line}: `{name}` is not in people ({_person_hint(name, list(people))}); "
            "the one who confirms is a customer-side person named in people"
        )
    index, person = people[name]
    if not person.is_customer:
        line = loaded.line_no(("people", index, "side"))
        raise MapdownError(
            f"{display}:{line}: `{name}` is on the {person.side} side; only the customer can "
            "confirm a date: name the customer-side person who agreed in writing"
        )
    text = _text(ref, "--ref", where, "say where the customer agreed (a link, or a dated quote)")
    if m.confirmed_by == name and m.confirmation == text:
        return Outcome(
            False,
            [
                f"{where}: `{m.id}` is already confirmed by {name} with this reference; "
                "nothing changed. To re-confirm new dates, record the new writing with --ref."
            ],
        )
    if m.confirmed_by != name:
        editor.set("confirmed_by", name)
    if m.confirmation != text:
        editor.set("confirmation", text)
    save(loaded, editor)
    dates = " to ".join(d.isoformat() for _, d in m.dates)
    return Outcome(True, [f"{where}: `{m.id}` ({dates}) confirmed by {name}: {text}"])


def _person_hint(name: str, names: list[str]) -> str:
    folded = [n for n in names if n.casefold() == name.casefold()]
    if folded:
        return f"did you mean `{folded[0]}`?"
    return did_you_mean(name, names) or "the deal names no people"


def move(
    deal_file: Path, display: str, step_id: str, due: dt.date, start: dt.date | None
) -> Outcome:
    """Change a step's dates in place; a standing confirmation is left, and so voided."""
    loaded, editor = _open(deal_file, display, step_id)
    m = editor.milestone
    where = f"{display}:{editor.step_line}"
    new_start = start if start is not None else m.start
    if new_start is not None and new_start > due:
        if start is None:
            line = editor.line_of("start")
            raise MapdownError(
                f"{display}:{line}: `{m.id}` starts {m.start}, after the new due {due}; "
                "pass --start too"
            )
        raise MapdownError(f"{where}: --start {start} is after --due {due}")
    moves = []
    if start is not None and start != m.start:
        editor.set("start", start, before="due")
        moves.append(("start", m.start, start))
    if due != m.due:
        editor.set("due", due)
        moves.append(("due", m.due, due))
    if not moves:
        dates = " to ".join(d.isoformat() for _, d in m.dates)
        return Outcome(False, [f"{where}: `{m.id}` is already {dates}; nothing changed"])
    save(loaded, editor)
    out = Outcome(True, [f"{where}: `{m.id}` " + "; ".join(_moved(*mv) for mv in moves)])
    if m.confirmed_by:
        command = shlex.join(["mapdown", "confirm", loaded.deal.id, m.id, "--by", m.confirmed_by])
        out.notes.append(
            f"the confirmation by {m.confirmed_by} was for the old "
            f"date{'s' * (m.start is not None or start is not None)}; "
            f"run `{command} --ref …` when the customer agrees to the new one"
        )
    return out


def _moved(key: str, old: dt.date | None, new: dt.date) -> str:
    if old is None:
        return f"{key} {new} (new)"
    days = (new - old).days
    word = "slipped" if days > 0 else "pulled in"
    return f"{key} {old} → {new} ({word} {abs(days)} day{'s' * (abs(days) != 1)})"


def done(deal_file: Path, display: str, step_id: str, evidence: str) -> Outcome:
    """Mark a step done, with where its exit artifact is."""
    loaded, editor = _open(deal_file, display, step_id)
    m = editor.milestone
    where = f"{display}:{editor.step_line}"
    text = _text(evidence, "--evidence", where, NO_PROOF)
    if m.status == "done" and m.evidence == text:
        return Outcome(
            False, [f"{where}: `{m.id}` is already done with this evidence; nothing changed"]
        )
    if m.status != "done":
        editor.set("status", "done")
    if m.evidence != text:
        editor.set("evidence", text)
    save(loaded, editor)
    return Outcome(True, [f"{where}: `{m.id}` done; evidence: {text}"])
