"""`mapdown check`: find the deal files, parse them, run the findings, collect diagnostics."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mapdown.config import CONFIG_NAME, Config
from mapdown.diagnostics import Diagnostic, Pos
from mapdown.errors import UsageProblem
from mapdown.history import DealHistory, RepoHistory
from mapdown.model import Milestone
from mapdown.parse import ParsedDeal, read_file
from mapdown.rules import Context, recorded_confirmation, run_findings


def find_root(start: Path) -> Path:
    """The deals repository: the nearest folder up from `start` with `.git` or `mapdown.yaml`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists() or (folder / CONFIG_NAME).is_file():
            return folder
    return start


def display_path(path: Path, cwd: Path) -> str:
    """The path as the user should see it: relative to the working folder when inside it."""
    absolute = path if path.is_absolute() else cwd / path
    try:
        return os.path.relpath(absolute, cwd)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)


def discover(paths: Sequence[Path]) -> list[Path]:
    """Deal files: `*.md` files given, and those under folders given (README.md excepted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*.md"))
                if p.name.lower() != "readme.md"
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            raise UsageProblem(f"no such file or folder: {path}")
    seen: set[Path] = set()
    unique = []
    for p in found:
        key = p.absolute()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


@dataclass
class CheckResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0
    files_with_errors: int = 0
    parsed: list[ParsedDeal] = field(default_factory=list)  # only when asked to keep them


def severity_for(code: str, config: Config) -> str:
    if code < "MAP200":
        return "error"
    return config.severity.get(code, "warning")


def deal_findings(
    parsed: ParsedDeal,
    config: Config,
    as_of: dt.date,
    history: DealHistory | None = None,
) -> list[Diagnostic]:
    """The MAP2xx findings of one valid deal as Diagnostics, judged with its history if any."""
    assert parsed.deal is not None
    deal = parsed.deal

    def covered(m: Milestone) -> bool:
        if history is None:
            return recorded_confirmation(deal, m)
        return history.covered(m, deal)

    ctx = Context(
        deal=deal,
        located=parsed.located,
        config=config,
        as_of=as_of,
        covered=covered,
        history=history,
    )
    out = []
    for f in run_findings(ctx):
        pos = parsed.located.key(f.path) if f.at_key else parsed.located.value(f.path)
        source = parsed.lines[pos.line - 1] if 0 < pos.line <= len(parsed.lines) else None
        out.append(
            Diagnostic(
                parsed.display, pos, f.code, severity_for(f.code, config), f.message, f.hint, source
            )
        )
    return out


def end_of_day(day: dt.date, config: Config) -> int:
    """The last second of `day` in the configured time zone, as seconds since the epoch."""
    return int(dt.datetime.combine(day, dt.time(23, 59, 59), config.tz).timestamp())


def check_files(
    files: Iterable[Path],
    config: Config,
    as_of: dt.date,
    root: Path,
    cwd: Path,
    repo_history: RepoHistory | None = None,
    keep: bool = False,
) -> CheckResult:
    """Parse every file and run the findings on each valid one.

    With `repo_history`, each file is judged as the latest state of its history: its
    confirmations are covering only if no date moved after them.
    Parsed deals are kept only with `keep`: holding thousands of them alive makes every
    garbage collection walk them all, which cost a third of the time of a large check.
    """
    result = CheckResult()
    first_of: dict[str, str] = {}  # deal id → the file that has it
    for path in files:
        parsed = read_file(path, display_path(path, cwd), root)
        result.files += 1
        if parsed.deal_id in first_of:  # the id is the file name: two folders can repeat it
            parsed.deal = None
            parsed.diagnostics.append(
                Diagnostic(
                    parsed.display,
                    Pos(1, 1),
                    "MAP105",
                    "error",
                    f"the deal id `{parsed.deal_id}` is also {first_of[parsed.deal_id]}",
                    "rename one of the files: a deal's id is its file name and must be unique",
                )
            )
        else:
            first_of[parsed.deal_id] = parsed.display
        result.diagnostics.extend(parsed.diagnostics)
        if parsed.ok:
            assert parsed.deal is not None
            history = repo_history.for_path(path) if repo_history else None
            if history is not None:
                history = history.with_current(parsed.deal, end_of_day(as_of, config), as_of)
            result.diagnostics.extend(deal_findings(parsed, config, as_of, history))
        else:
            result.files_with_errors += 1
        if keep:
            result.parsed.append(parsed)
    result.diagnostics.sort(key=Diagnostic.sort_key)
    return result


def apply_strict(diags: list[Diagnostic], strict: bool) -> list[Diagnostic]:
    """Under --strict every warning counts as an error."""
    if not strict:
        return diags
    from dataclasses import replace

    return [replace(d, severity="error") if d.severity == "warning" else d for d in diags]
