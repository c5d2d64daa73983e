"""Diagnostics are data: a code, a place, a message and what to do; rendered as text, JSON or
GitHub workflow commands."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import click

from mapdown.records import quick_init

SEVERITIES = ("error", "warning")
GITHUB_CAP = 10  # GitHub shows at most 10 annotations of each kind per step


@quick_init
@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line and column in a file; `end_col` (exclusive) when the span is on one line."""

    line: int
    col: int
    end_col: int | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Diagnostic:
    path: str
    pos: Pos
    code: str
    severity: str
    message: str
    hint: str = ""
    source: str | None = None  # the offending line, for the text rendering

    @property
    def line(self) -> int:
        return self.pos.line

    @property
    def col(self) -> int:
        return self.pos.col

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.pos.line, self.pos.col, self.code)

    def to_json(self) -> dict[str, object]:
        from mapdown.rules import RULES

        rule = RULES.get(self.code)
        return {
            "path": self.path,
            "line": self.pos.line,
            "col": self.pos.col,
            "end_col": self.pos.end_col,
            "code": self.code,
            "name": rule.name if rule else None,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


def count(diags: Iterable[Diagnostic]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = warnings = 0
    for d in diags:
        if d.severity == "error":
            errors += 1
        else:
            warnings += 1
    return errors, warnings


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(diags: Sequence[Diagnostic], files: int, skipped: int = 0) -> str:
    errors, warnings = count(diags)
    head = f"Checked {_plural(files, 'file')}: "
    if not errors and not warnings:
        return head + "no problems."
    text = head + f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}."
    if skipped:
        text += (
            f" Findings were not checked in {_plural(skipped, 'file')} with errors;"
            " fix the errors first."
        )
    return text


def render_text(diags: Sequence[Diagnostic], color: bool = False) -> str:
    """`file:line:col: severity CODE message`, the line with a marker, then what to do."""
    out: list[str] = []
    for d in diags:
        sev = d.severity
        label = (
            click.style(sev, fg="red" if sev == "error" else "yellow", bold=True) if color else sev
        )
        out.append(f"{d.path}:{d.pos.line}:{d.pos.col}: {label} {d.code} {d.message}")
        if d.source is not None:
            number = str(d.pos.line)
            gutter = " " * len(number)
            source = d.source.rstrip("\r\n").expandtabs(1)
            width = max(1, (d.pos.end_col or len(source) + 1) - d.pos.col)
            if d.pos.end_col is None:
                width = max(1, len(source.rstrip()) - d.pos.col + 1)
            marker = " " * (d.pos.col - 1) + "^" * width
            if color:
                marker = click.style(marker, fg="red" if sev == "error" else "yellow")
            out.append(f" {number} | {source}")
            out.append(f" {gutter} | {marker}")
        if d.hint:
            out.append(f"   = help: {d.hint}")
    return "\n".join(out)


def render_json(diags: Sequence[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diags], indent=2, ensure_ascii=False)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diags: Sequence[Diagnostic], path_for: dict[str, str] | None = None) -> str:
    """Workflow commands, errors first; past GitHub's per-kind cap one notice counts the rest."""
    path_for = path_for or {}
    out: list[str] = []
    hidden: list[Diagnostic] = []
    for sev in SEVERITIES:
        of_kind = [d for d in diags if d.severity == sev]
        hidden.extend(of_kind[GITHUB_CAP:])
        for d in of_kind[:GITHUB_CAP]:
            props = (
                f"file={_escape_property(path_for.get(d.path, d.path))},"
                f"line={d.pos.line},col={d.pos.col}"
            )
            if d.pos.end_col:
                props += f",endColumn={d.pos.end_col}"
            props += f",title={_escape_property(d.code)}"
            message = d.message + (f" — {d.hint}" if d.hint else "")
            out.append(f"::{sev} {props}::{_escape_data(message)}")
    if hidden:
        errors, warnings = count(hidden)
        parts = [_plural(n, w) for n, w in ((errors, "error"), (warnings, "warning")) if n]
        out.append(
            "::notice title=mapdown::"
            + _escape_data(
                f"{' and '.join(parts)} more than GitHub shows as annotations;"
                " run `mapdown check` for the full list"
            )
        )
        # The rest still reach the log, as plain lines.
        out.extend(
            f"{d.path}:{d.pos.line}:{d.pos.col}: {d.severity} {d.code} {d.message}" for d in hidden
        )
    return "\n".join(out)
