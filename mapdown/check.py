"""`mapdown check`: find the deal files, parse them, run the findings, collect diagnostics."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import multiprocessing
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mapdown.config import CONFIG_NAME, Config
from mapdown.diagnostics import Diagnostic, Pos
from mapdown.errors import UsageProblem
from mapdown.history import DealHistory, RepoHistory, coverage
from mapdown.parse import ParsedDeal, read_file
from mapdown.rules import Context, run_findings


def find_root(start: Path) -> Path:
    """The deals repository: the nearest folder up from `start` with `.git` or `mapdown.yaml`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists() or (folder / CONFIG_NAME).is_file():
            return folder
    return start


def display_path(path: Path, cwd: Path) -> str:
    """The path as the user should see it: relative to the working folder, with `..` when
    outside it (as editors and shells take a file's path)."""
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
    covered = coverage(deal, history)
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


PARALLEL_FROM = 200  # files; below this a second process costs more than it saves


@dataclass
class Checked:
    """One file's result: its diagnostics, and the parse when the caller needs more."""

    deal_id: str
    display: str
    ok: bool
    diagnostics: list[Diagnostic]
    parsed: ParsedDeal | None = None
    findings_done: bool = False


@dataclass(frozen=True)
class _Job:
    path: Path
    display: str
    root: Path
    config: Config | None  # set: run the findings here too (no history to judge with)
    as_of: dt.date | None


def _check_one(job: _Job) -> Checked:
    parsed = read_file(job.path, job.display, job.root)
    out = Checked(parsed.deal_id, parsed.display, parsed.ok, list(parsed.diagnostics), parsed)
    if job.config is not None and job.as_of is not None and parsed.ok:
        out.diagnostics += deal_findings(parsed, job.config, job.as_of)
        out.findings_done = True
        out.parsed = None  # only the diagnostics travel back: small, and nothing to collect
    return out


def check_all(jobs: list[_Job]) -> Iterator[Checked]:
    """Every file checked, in order; many files in parallel, one process per core.

    Parsing is most of a check's work and independent per file. With history, the findings
    stay in this process: they read the history, whose git reader and cache are not shared.
    """
    workers = min(os.cpu_count() or 1, 4)
    if len(jobs) < PARALLEL_FROM or workers < 2:
        yield from map(_check_one, jobs)
        return
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        yield from pool.map(_check_one, jobs, chunksize=max(16, len(jobs) // (workers * 8)))


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
    here = repo_history is not None or keep  # findings need this process's history or parse
    jobs = [
        _Job(path, display_path(path, cwd), root, None if here else config, None if here else as_of)
        for path in files
    ]
    for job, checked in zip(jobs, check_all(jobs), strict=True):
        result.files += 1
        if checked.deal_id in first_of:  # the id is the file name: two folders can repeat it
            checked.ok = False
            checked.diagnostics = [
                d for d in checked.diagnostics if d.severity == "error" and d.code < "MAP200"
            ]
            checked.diagnostics.append(
                Diagnostic(
                    checked.display,
                    Pos(1, 1),
                    "MAP105",
                    "error",
                    f"the deal id `{checked.deal_id}` is also {first_of[checked.deal_id]}",
                    "rename one of the files: a deal's id is its file name and must be unique",
                )
            )
            if checked.parsed is not None:
                checked.parsed.deal = None
        else:
            first_of[checked.deal_id] = checked.display
        result.diagnostics.extend(checked.diagnostics)
        if not checked.ok:
            result.files_with_errors += 1
        elif not checked.findings_done:
            parsed = checked.parsed
            assert parsed is not None and parsed.deal is not None
            history = repo_history.for_path(job.path) if repo_history else None
            if history is not None:
                history = history.with_current(parsed.deal, end_of_day(as_of, config), as_of)
            result.diagnostics.extend(deal_findings(parsed, config, as_of, history))
        if keep and checked.parsed is not None:
            result.parsed.append(checked.parsed)
    result.diagnostics.sort(key=Diagnostic.sort_key)
    return result


def apply_strict(diags: list[Diagnostic], strict: bool) -> list[Diagnostic]:
    """Under --strict every warning counts as an error."""
    if not strict:
        return diags
    from dataclasses import replace

    return [replace(d, severity="error") if d.severity == "warning" else d for d in diags]
