"""`mapdown build`: the static site, rendered from `site_data` and written atomically.

The pages are rendered into a new folder beside the output and swapped in only when complete,
so a failed build leaves the previous site as it was. A folder this module did not write (it has
no marker file) is never replaced, and every output path is made from a validated slug. The
output depends only on the repository and the as-of day: no wall clock, sorted iteration,
`SOURCE_DATE_EPOCH` for the calendar's time stamps.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import functools
import hashlib
import io
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from html.entities import codepoint2name
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    nodes,
    select_autoescape,
)
from jinja2.compiler import CodeGenerator, Frame
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup, escape

try:  # markupsafe's own C escaping, without the Markup object made around each result
    from markupsafe import _escape_inner
except ImportError:  # pragma: no cover - an older or pure-Python markupsafe

    def _escape_inner(s: str, /) -> str:
        return str(escape(s))


from mapdown import __version__, ics, jsontext, workers
from mapdown.cache import Cache
from mapdown.config import Config
from mapdown.errors import MapdownError, UsageProblem
from mapdown.history import RepoHistory
from mapdown.sitedata import HOLDING, DealInput, deal_data, deal_risk, review_row, summary

MARKER = ".mapdown-site"
MANIFEST = ".mapdown-manifest.json"  # which data, templates and code made each deal's pages
MARKER_TEXT = (
    "This folder was written by `mapdown build`. Every build replaces it whole: keep nothing\n"
    "else here.\n"
)
TEMPLATES_DIR = "site_templates"  # in a deals repository: templates that override the theme

SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
WEEK = re.compile(r"\d{4}-W\d{2}")
CODE = re.compile(r"MAP\d{3}")
WEB_URL = re.compile(r"https?://[^\s<>\"']+")

TRACKS = ("technical", "business", "paper")
PROGRESS_OVER = 20  # deals; fewer build in a moment and need no progress bar
LAZY_FROM = 64  # computed deals from which each is checked by the process that computes it
THEME_FILES = ("style.css", "favicon.svg")  # copied into every site, not rendered
PARALLEL_FILES = 8  # pages across deals (weekly reviews) per process worth a fork

# A deal is at risk when any of these hold; the dashboard lists those deals first and says why.

STATE_LABELS = {
    "done": "done, with evidence",
    "done-without-evidence": "done, no evidence",
    "late": "late",
    "voided": "confirmation voided",
    "confirmed": "confirmed",
    "unconfirmed": "unconfirmed",
}
STATE_MARKS = {
    "done": "✓",
    "done-without-evidence": "✓?",
    "late": "!",
    "voided": "⊘",
    "confirmed": "●",
    "unconfirmed": "○",
}
STATUS_LABELS = {
    "planned": "planned",
    "in-progress": "in progress",
    "done": "done",
    "blocked": "blocked",
}


@dataclass(frozen=True)
class Sort:
    """One order of the dashboard: its page and how rows compare."""

    key: str
    label: str
    page: str
    order: Callable[[dict[str, Any]], Any]


def _rate_key(row: dict[str, Any]) -> tuple[Any, ...]:
    rate = row["deal"]["score"]["confirmation_rate"]
    return (rate is None, rate if rate is not None else 0.0, row["deal"]["id"])


SORTS = (
    Sort(
        "risk",
        "at risk first",
        "index.html",
        lambda r: (not r["at_risk"], r["deal"]["score"]["score"], r["deal"]["id"]),
    ),
    Sort(
        "customer",
        "customer, A to Z",
        "sort/customer.html",
        lambda r: (
            r["deal"]["customer"].casefold(),
            r["deal"]["title"].casefold(),
            r["deal"]["id"],
        ),
    ),
    Sort(
        "go-live",
        "go-live, soonest first",
        "sort/go-live.html",
        lambda r: (r["deal"]["go_live"], r["deal"]["id"]),
    ),
    Sort(
        "close",
        "close, soonest first",
        "sort/close.html",
        lambda r: (r["deal"]["close"] is None, r["deal"]["close"] or "", r["deal"]["id"]),
    ),
    Sort(
        "score",
        "score, highest first",
        "sort/score.html",
        lambda r: (-r["deal"]["score"]["score"], r["deal"]["id"]),
    ),
    Sort("confirmation", "confirmation rate, lowest first", "sort/confirmation.html", _rate_key),
)
# the folder depths of the sorted dashboards: a row is rendered once for each
DASHBOARD_ROOTS = tuple(sorted({"../" * s.page.count("/") for s in SORTS}))


@dataclass(frozen=True)
class BuildResult:
    out: Path
    pages: int  # HTML pages
    files: int  # every file written, the marker included
    deals: int


# ---------------------------------------------------------------- the output folder


def check_output(out: Path, root: Path, deals_dir: Path) -> Path:
    """The output folder, resolved; refuses one the build must never replace (exit 2)."""
    target = out.expanduser().resolve()
    root, deals = root.resolve(), deals_dir.resolve()
    shown = str(out)
    if root.is_relative_to(target):
        raise UsageProblem(
            f"refusing to build into {shown}: it contains the repository ({root}); "
            "choose a folder of its own, such as _site"
        )
    if deals.is_relative_to(target) or target.is_relative_to(deals):
        raise UsageProblem(
            f"refusing to build into {shown}: it is or holds the deals folder ({deals}); "
            "choose a folder of its own, such as _site"
        )
    if target.is_relative_to(root / ".git"):
        raise UsageProblem(f"refusing to build into {shown}: it is inside the repository's .git")
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise UsageProblem(f"refusing to build into {shown}: it is not a folder")
        if not (target / MARKER).is_file() and any(target.iterdir()):
            raise UsageProblem(
                f"refusing to build into {shown}: it is not empty and was not written by "
                f"`mapdown build` (it has no {MARKER} file), so replacing it could delete "
                "your files; choose another folder or empty this one"
            )
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_WRITE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


class Writer:
    """Writes files under a folder, each path checked to stay inside it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self._root = str(self.folder) + os.sep  # joined to by plain strings: 47,000 files
        self.files = 0
        self.pages = 0
        self._made: set[str] = set()  # folders made so far
        self._lock = threading.Lock()  # the counts, kept by the threads that link too
        self._pool: Any = None
        self._pending: list[Any] = []
        self._processes: list[Any] = []  # `cp -al` at work: (process, origin, into, names, …)

    def inside(self, rel: str) -> str:
        """`rel` made plain, if it names something inside the folder. The folder is new and
        holds no symbolic link (none is ever written or linked into it), so a lexical check
        keeps every path inside."""
        clean = posixpath.normpath(rel)
        if clean in (".", "") or clean.startswith(("/", "../")) or clean == ".." or "\0" in rel:
            raise MapdownError(f"internal error: the page path {rel!r} leaves the site folder")
        return clean

    def target(self, rel: str) -> Path:
        """Where the file `rel` goes, its folder made."""
        return Path(self._target(rel))

    def _target(self, rel: str) -> str:
        clean = self.inside(rel)
        folder = posixpath.dirname(clean)
        if folder and folder not in self._made:
            Path(self._root + folder).mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
        return self._root + clean

    def __call__(self, rel: str, content: str | bytes | Iterable[str]) -> None:
        if isinstance(content, str):
            content = content.encode("utf-8")
        elif not isinstance(content, bytes):
            content = "".join(content).encode("utf-8")
        # os.open and os.write: the site is tens of thousands of small files, and a Path's
        # write_bytes takes twice the time in Python around the same system calls
        fd = os.open(self._target(rel), _WRITE_FLAGS, 0o666)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        self.count(rel)

    def count(self, rel: str) -> None:
        with self._lock:
            self.files += 1
            if rel.endswith(".html"):
                self.pages += 1

    def link_file(self, source: Path, rel: str) -> None:
        """`source` (a file of the previous site) under `rel`, as a hard link or a copy."""
        target = self.target(rel)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        self.count(rel)

    def link_tree(self, source: Path, rel: str) -> None:
        """The files of `source` (a folder of the previous site) under `rel`, as hard links
        (copies where the file system has none): the old site is removed after the swap.
        Symbolic links are neither followed nor copied."""
        base = self.folder / self.inside(rel)
        base.mkdir(parents=True, exist_ok=True)
        linked = 0
        pages = 0
        stack = [(str(source), base)]
        while stack:
            folder, into = stack.pop()
            with os.scandir(folder) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    if entry.is_symlink():
                        continue
                    if entry.is_dir():
                        (into / entry.name).mkdir(exist_ok=True)
                        stack.append((entry.path, into / entry.name))
                        continue
                    try:
                        os.link(entry.path, into / entry.name)
                    except OSError:
                        shutil.copyfile(entry.path, into / entry.name)
                    linked += 1
                    pages += entry.name.endswith(".html")
        with self._lock:
            self.files += linked
            self.pages += pages

    def link_trees(self, trees: Sequence[tuple[Path, str]]) -> None:
        """`link_tree` for each (source, rel), while the build goes on; `wait` for them.

        Where GNU `cp` is found, the folders that share a parent are linked by one
        `cp -al` (C, no interpreter in the loop) in a process of its own; else, or if it
        fails, by `link_tree` in two threads (a link is a system call, made without the
        interpreter's lock)."""
        if not trees:
            return
        groups: dict[tuple[Path, str], list[str]] = {}
        for source, rel in trees:
            clean = self.inside(rel)
            groups.setdefault((source.parent, posixpath.dirname(clean)), []).append(source.name)
        for (origin, into), names in groups.items():
            if not self._cp_al(origin, into, names):
                self._threaded([(origin / name, posixpath.join(into, name)) for name in names])

    def _cp_al(self, origin: Path, into: str, names: list[str]) -> bool:
        """Start `cp -al` of the folders `names` of `origin` into `into`; False if it cannot."""
        cp = shutil.which("cp")
        if cp is None or not sys.platform.startswith("linux"):
            return False
        target = self.folder / into if into else self.folder
        target.mkdir(parents=True, exist_ok=True)
        files, pages = 0, 0
        for name in names:  # what will be linked, counted from the names alone
            if (origin / name).is_symlink():
                return False  # never followed: linked by link_tree, which skips it
            for _, _, found in os.walk(origin / name):
                files += len(found)
                pages += sum(1 for f in found if f.endswith(".html"))
        try:
            process = subprocess.Popen(
                [cp, "-al", "--no-dereference", "-t", str(target), "--", *names],
                cwd=origin,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return False
        self._processes.append((process, origin, into, names, files, pages))
        return True

    def _threaded(self, trees: Sequence[tuple[Path, str]]) -> None:
        import concurrent.futures

        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(2, "mapdown-link")
        step = max(1, len(trees) // 8)
        for i in range(0, len(trees), step):
            chunk = trees[i : i + step]
            self._pending.append(self._pool.submit(self._link_all, chunk))

    def _link_all(self, trees: Sequence[tuple[Path, str]]) -> None:
        for source, rel in trees:
            self.link_tree(source, rel)

    def busy(self) -> bool:
        """Whether links are being made (by threads, or `cp -al`) while pages are written."""
        return bool(self._processes or self._pending or self._pool is not None)

    def wait(self, quiet: bool = False) -> None:
        """Until every `link_trees` is done; the first failure raised (unless `quiet`)."""
        processes, self._processes = self._processes, []
        for process, origin, into, names, files, pages in processes:
            if process.wait() == 0:
                with self._lock:
                    self.files += files
                    self.pages += pages
                continue
            for name in names:  # what a failed `cp` left, linked again one by one
                shutil.rmtree(self.folder / into / name, ignore_errors=True)
            if not quiet:
                self._threaded([(origin / name, posixpath.join(into, name)) for name in names])
        pending, self._pending = self._pending, []
        try:
            for future in pending:
                error = future.exception()
                if error is not None and not quiet:
                    raise error
        finally:
            for future in pending:
                future.cancel()
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


def read_manifest(site: Path, part: str = "deals") -> dict[str, str]:
    """Deal id → the key its pages in `site` were made from (`part` "deals"), or page path →
    the key of what it was rendered from ("pages"); nothing if unreadable."""
    try:
        if not (site / MARKER).is_file():
            return {}
        data = json.loads((site / MANIFEST).read_text(encoding="utf-8"))
        made = data[part]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not isinstance(made, dict):
        return {}
    return {k: v for k, v in made.items() if isinstance(k, str) and isinstance(v, str)}


def preload(history: Any) -> list[str]:
    """Read every version of a deal's history into memory (`extra`), so that a forked worker
    never touches the git reader or the cache it shares with its parent; the versions read."""
    added: list[str] = []
    if history.loader is None:
        return added
    for state in history.states:
        blob = state.blob
        if blob is None or state.error is not None or blob in history.extra:
            continue
        data = history.loader(blob)
        if "error" not in data:
            history.extra[blob] = data
            added.append(blob)
    return added


def release(part: DealPart, preloaded: Iterable[str] = ()) -> None:
    """Let go of what a deal's pages were made from, once they are written: its past versions
    (read into memory, and each made a Deal) would otherwise stay for the whole build."""
    item, part.item = part.item, None
    history = item.history if item is not None else None
    if history is not None:
        for blob in preloaded:
            history.extra.pop(blob, None)
        history.forget_deals()  # its memo of past versions as Deals
        if part.forget is not None:
            part.forget(history)
    for name in ("data", "text"):
        part.__dict__.pop(name, None)


def _digest(value: Any) -> str:
    """A name for plain data (its JSON)."""
    return hashlib.sha1(jsontext.digest_bytes(value), usedforsecurity=False).hexdigest()


def _config_name(config: Config) -> str:
    from mapdown.report import config_fingerprint

    return config_fingerprint(config)


def site_json(data: dict[str, Any]) -> str:
    """data.json: the site's summary of every deal (each pointing to its own data.json, which
    holds everything its pages show), the weeks (each pointing to its forecast review,
    `weeks/<week>.json`) and the rules."""
    deals = [
        {**{k: v for k, v in d.items() if k != "countdown"}, "data": f"deals/{d['id']}/data.json"}
        for d in data["deals"]
    ]
    weeks = [
        {
            "week": w["week"],
            "sunday": w["sunday"],
            "deals": len(w["deals"]),
            "data": f"weeks/{w['week']}.json",
        }
        for w in data["weeks"]
    ]
    return jsontext.dumps({**data, "deals": deals, "weeks": weeks}, sort_keys=True)


def remove_tree(folder: Path) -> None:
    """Delete a folder the build made (the previous site, once replaced): with `rm -rf` where
    there is one (tens of thousands of files go several times faster), else shutil."""
    rm = shutil.which("rm") if os.name == "posix" else None
    if rm is not None:
        with suppress(OSError):
            subprocess.run([rm, "-rf", "--", str(folder)], check=False, stdin=subprocess.DEVNULL)
    shutil.rmtree(folder, ignore_errors=True)  # whatever is left (nothing, usually)


DELETE_LATER_OVER = 2000  # files: a replaced site this large is deleted in the background


def remove_later(folder: Path) -> bool:
    """Start deleting `folder` in a process of its own that outlives this one (`rm -rf`, as
    a grandchild: no process is left for this one to wait for); False if it cannot."""
    sh, rm = shutil.which("sh"), shutil.which("rm")
    if os.name != "posix" or sh is None or rm is None:
        return False
    try:
        subprocess.run(
            [sh, "-c", '"$1" -rf -- "$2" >/dev/null 2>&1 &', "sh", rm, str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # an interrupt of this build does not stop the deletion
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def _ours(backup: Path) -> bool:
    """Whether `backup` (named like a replaced site's folder) is one this build can delete:
    empty, or holding only a site `mapdown build` wrote."""
    if backup.is_symlink() or not backup.is_dir():
        return False
    inside = [p.name for p in backup.iterdir()]
    site = backup / "site"
    return not inside or (
        inside == ["site"] and not site.is_symlink() and (site / MARKER).is_file()
    )


def sweep_replaced(out: Path) -> None:
    """Replaced sites beside `out` that an earlier build left (it stopped, or its background
    deletion did): deleted in the background too. Folders the build did not write are kept."""
    prefix = f".{out.name}.old-"
    for backup in sorted(p for p in out.parent.iterdir() if p.name.startswith(prefix)):
        if _ours(backup) and not remove_later(backup):
            remove_tree(backup)


_AT_FDCWD = -100  # renameat2's "relative to the current folder"
_RENAME_EXCHANGE = 2


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux's `renameat2` with RENAME_EXCHANGE), so that whoever
    reads `b` meanwhile (a web server, `mapdown serve`) always finds a whole site there; False
    where the system or the file system cannot, and nothing was moved."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = (
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    )
    renameat2.restype = ctypes.c_int
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return done == 0


def write_atomically(out: Path, render: Callable[[Writer], None]) -> Writer:
    """Render into a new folder beside `out`, then swap it in; on any failure `out` is kept.

    `out` must have passed `check_output`. The new folder is a sibling, on the same file
    system: the two are exchanged in one step where the system can (`exchange`), else by two
    renames (between which there is no site at `out`). The old site then lives in a backup
    folder, and is deleted (in the background, when it is large: see `remove_later`).
    """
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    sweep_replaced(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=parent))
    try:
        (tmp / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
        writer = Writer(tmp)
        writer.files += 1
        try:
            render(writer)
        except BaseException:
            writer.wait(quiet=True)  # no thread may still be writing into it when it goes
            raise
        writer.wait()
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; a site is meant to be read
        if out.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            if exchange(tmp, out):  # `tmp` holds the old site now
                tmp.replace(backup / "site")
            else:
                out.replace(backup / "site")
                try:
                    tmp.replace(out)
                except BaseException:
                    (backup / "site").replace(out)
                    raise
            # a large site is deleted in the background: the new one is in place already
            if writer.files <= DELETE_LATER_OVER or not remove_later(backup):
                remove_tree(backup)
        else:
            tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return writer


# ---------------------------------------------------------------- the data


def _valid(pattern: re.Pattern[str], text: Any, what: str) -> str:
    if not isinstance(text, str) or not pattern.fullmatch(text):
        raise MapdownError(f"cannot make a page for the {what} {text!r}: it is not a slug")
    return text


def deal_files(root: Path, config: Config) -> list[Path]:
    from mapdown.check import discover

    deals_dir = root / config.deals_dir
    if not deals_dir.is_dir():
        raise UsageProblem(
            f"no {config.deals_dir}/ folder in {root}; run `mapdown new` to start one"
        )
    return discover([deals_dir])


def gather(
    root: Path,
    config: Config,
    as_of: dt.date,
    repo: RepoHistory | None,
    files: Sequence[Path] | None = None,
) -> list[DealInput]:
    """Every deal (or those of `files`) with its findings and history, as `check` judges it;
    raises MapdownError, with `check`'s messages, when a deal has errors."""
    from mapdown.check import check_files, end_of_day
    from mapdown.diagnostics import count, render_text, summary

    if files is None:
        files = deal_files(root, config)
    history = repo if repo is not None and repo.available else None
    result = check_files(files, config, as_of, root, root, history, keep=True)
    errors, _ = count(result.diagnostics)
    if errors:
        failing = [d for d in result.diagnostics if d.severity == "error"]
        raise MapdownError(
            render_text(failing)
            + "\n\n"
            + summary(result.diagnostics, result.files, result.files_with_errors)
            + "\nthe site was not built: fix the errors above (the previous site is untouched)"
        )
    by_path: dict[str, list[dict[str, Any]]] = {}  # each file's diagnostics, in one pass
    for d in result.diagnostics:
        by_path.setdefault(d.path, []).append(d.to_json())
    items = []
    for parsed in sorted(result.parsed, key=lambda p: p.display):
        assert parsed.deal is not None
        deal = parsed.deal
        _valid(SLUG, deal.id, "deal id")
        for m in deal.milestones:
            _valid(SLUG, m.id, f"step id in {parsed.display}")
        h = history.for_path(parsed.path) if history is not None else None
        if h is not None:
            h = h.with_current(deal, end_of_day(as_of, config), as_of)
        items.append(DealInput(deal, parsed.display, by_path.get(parsed.display, []), h))
    return items


SITE_DATA_VERSION = 3  # bump when what a deal's pages show changes for the same inputs


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A name for mapdown's own code: a cached page or deal is never reused across changes."""
    digest = hashlib.sha1(f"{__version__}".encode(), usedforsecurity=False)
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class DealPart:
    """One deal as the site shows it: what the pages across deals need of it (`slim`), the key
    that names everything it was made from, and its whole JSON (`deals/<id>/data.json`).

    A deal whose data must be computed carries its `item` (its file, findings and history) and
    `compute`, which makes its data; its text is that data as JSON, and its `slim` is known once
    its data is; `keep` stores both in the cache. A cached deal has its summary and `text`,
    read from the cache only when its pages are rendered again.
    """

    def __init__(
        self,
        id: str,
        slim: dict[str, Any] | None,
        key: str,
        text: Callable[[], bytes] | None = None,
        item: DealInput | None = None,
        keep: Callable[[DealPart], None] | None = None,
        forget: Callable[[Any], None] | None = None,
        rows: Any = None,
        compute: Callable[[DealInput], dict[str, Any]] | None = None,
        make_item: Callable[[], DealInput] | None = None,
        prefetch: Callable[[], None] | None = None,
    ) -> None:
        self.id = id
        self._slim = slim
        self._rows = rows  # `rows`, as cached with the summary (checked before use)
        self.key = key
        self._text = text
        self._compute = compute
        self.item = item
        self._make_item = make_item  # checks the deal and reads its history, when it is computed
        self.prefetch = prefetch  # has git start reading its history's versions
        self.keep = keep
        self.forget = forget  # lets go of a deal history's parsed versions
        self.row_html: dict[str, str] | None = None  # its dashboard row, once rendered

    @property
    def computed(self) -> bool:
        """Whether its data is to be computed (else it comes from the cache)."""
        return self.item is not None or self._make_item is not None

    def ensure_item(self) -> DealInput:
        """Its file checked and its history read, now if not done before (in the process that
        computes it): raises MapdownError, with `check`'s messages, when the deal has errors."""
        if self.item is None:
            if self._make_item is None:
                raise MapdownError(f"internal error: the deal {self.id} has no input to compute")
            self.item, self._make_item = self._make_item(), None
        return self.item

    @functools.cached_property
    def text(self) -> bytes:
        """Its data.json: compact JSON, UTF-8 encoded, as the site and the cache keep it."""
        if self._text is None:
            return compact_json(self.data)
        return self._text()

    @property
    def slim(self) -> dict[str, Any]:
        if self._slim is None:
            self._slim = summary(self.data)
        return self._slim

    @property
    def rows(self) -> dict[str, str]:
        """A name for each of its weekly review rows, by week: a week's review is made again
        only when a name among its rows changed."""
        slim = self.slim
        cached = self._rows
        if not (
            isinstance(cached, dict)
            and sorted(cached) == sorted(w["week"] for w in slim["countdown"])
            and all(type(v) is str for v in cached.values())
        ):
            self._rows = {
                w["week"]: _digest([w["sunday"], review_row(slim, w)]) for w in slim["countdown"]
            }
        return self._rows

    @functools.cached_property
    def data(self) -> dict[str, Any]:
        """All of it, as plain JSON values (lists, not tuples): computed, or read from its text."""
        if self._compute is not None:
            data = self._compute(self.ensure_item())
        else:
            data = jsontext.loads(self.text)
        _valid(SLUG, data["id"], "deal id")
        for m in data["milestones"]:
            _valid(SLUG, m["id"], f"step id in {data['path']}")
        return data


def compact_json(data: dict[str, Any]) -> bytes:
    """JSON as the site writes it: compact, UTF-8 encoded, by orjson (`mapdown.jsontext`).
    Keys keep their order, so a deal's data read back from its JSON is the data it was
    written from, in the same order, and its pages are the same whichever the build used."""
    return jsontext.dumpb(data)


def iter_deals(
    root: Path,
    config: Config,
    as_of: dt.date,
    repo: RepoHistory | None,
    jobs: int = 2,
) -> Iterator[DealPart]:
    """Every deal's data, by id: computed for the deals whose inputs changed, read from the
    cache for the others (their file, history, as-of day, settings and mapdown's code are in
    the key; a deal is stored only once it was checked and had no error).

    Below LAZY_FROM deals to compute (or in one process), every deal is checked and its
    history read before the first deal is given, and deals with errors raise MapdownError
    then. From LAZY_FROM on, with workers, each deal is checked and its timeline made by the
    process that computes it (`DealPart.ensure_item`): the checking is shared by the processes
    like the rest, and nothing is made in one process to be read back in another. A deal
    with errors then fails the build when it is reached, and `build_site` checks every deal
    again for `check`'s messages. A deal's data is computed when its pages are rendered and
    let go after, so the whole site's data is never held at once. A cached deal's summary is
    read at once; its whole JSON only if its pages must be rendered again.
    """
    from mapdown.check import display_path
    from mapdown.gitio import blob_hash
    from mapdown.report import config_fingerprint

    files = deal_files(root, config)
    history = repo if repo is not None and repo.available else None
    cache = history.cache if history is not None else None
    if cache is not None and not cache.enabled:
        cache = None
    salt = f"{SITE_DATA_VERSION}|{code_fingerprint()}|{as_of}|{config_fingerprint(config)}"
    keys: dict[Path, str] = {}
    tracked: dict[Path, str] = {}  # repository-relative paths of the files git knows
    for path in files:
        hist = "none"
        if history is not None:
            try:
                top_rel = Path(os.path.abspath(path)).relative_to(history.root).as_posix()  # noqa: PTH100
                hist = history.deals.key(top_rel)
                tracked[path] = top_rel
            except (KeyError, ValueError):
                hist = "untracked"
        blob = blob_hash(path.read_bytes())
        partial = bool(history and history.partial)
        name = f"{salt}|{display_path(path, root)}|{blob}|{hist}|{partial}"
        keys[path] = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()
    ids = [p.name.removesuffix(".md") for p in files]
    unique = len(set(ids)) == len(ids)  # else every file is checked, to report the duplicates
    hits = cache.get_many("site_deals", keys.values()) if cache is not None and unique else {}
    cached = {p for p in files if _usable_slim(hits.get(keys[p]))}
    to_compute = [p for p in files if p not in cached]
    lazy = (
        history is not None
        and jobs > 1
        and workers.can_fork()
        and unique
        and len(to_compute) >= LAZY_FROM
        and all(SLUG.fullmatch(i) for i in ids)
    )
    by_path: dict[Path, DealInput] = {}
    if not lazy:
        if history is not None:  # the timelines to make: in two processes when there are many
            history.map_deals(
                [tracked[p] for p in to_compute if p in tracked],
                functools.partial(_make_timeline, history),
                min_fork=None if jobs > 1 else sys.maxsize,
            )
        items = gather(root, config, as_of, repo, to_compute)
        computed = {display_path(p, root): p for p in to_compute}
        by_path = {computed[item.path]: item for item in items}
        del items  # each deal's parse and history is let go once its pages are written

    def item_of(path: Path) -> DealInput:
        return by_path.pop(path, None) or gather(root, config, as_of, repo, [path])[0]

    def cached_text(path: Path) -> bytes:
        text = cache.get_bytes("site_deals", keys[path] + TEXT_KEY) if cache is not None else None
        if text is not None:
            return text
        return compact_json(deal_data(item_of(path), as_of, config))  # a damaged entry: made again

    def keep(part: DealPart) -> None:
        if cache is not None:
            cache.put("site_deals", part.key, {"slim": part.slim, "rows": part.rows})
            cache.put_text("site_deals", part.key + TEXT_KEY, part.text)

    compute = functools.partial(deal_data, as_of=as_of, config=config)
    forget = history.forget if history is not None else None
    for path in sorted(files, key=lambda p: (p.name.removesuffix(".md"), str(p))):
        if path in cached:
            slimmed = hits[keys[path]]["slim"]
            did = _valid(SLUG, slimmed["id"], "deal id")
            text = functools.partial(cached_text, path)
            yield DealPart(did, slimmed, keys[path], text, rows=hits[keys[path]].get("rows"))
            continue
        if lazy:  # checked, its history read and its data computed by whichever process takes it
            did = _valid(SLUG, path.name.removesuffix(".md"), "deal id")
            make = functools.partial(item_of, path)
            ahead = functools.partial(history.prefetch, tracked[path]) if path in tracked else None
            yield DealPart(
                did,
                None,
                keys[path],
                keep=keep,
                forget=forget,
                compute=compute,
                make_item=make,
                prefetch=ahead,
            )
            continue
        item = item_of(path)
        did = _valid(SLUG, item.deal.id, "deal id")
        yield DealPart(did, None, keys[path], None, item, keep, forget, compute=compute)


def _make_timeline(history: RepoHistory, rel: str) -> None:
    """Make (and cache) a deal's timeline; nothing to send back, the cache entry comes back."""
    history.deals.get(rel)


TEXT_KEY = ":text"  # a deal's whole JSON is kept apart from its summary, read only when needed
ROW_KEY = ":row"  # a deal's dashboard row, as HTML for each folder depth


def _usable_slim(hit: Any) -> bool:
    return (
        isinstance(hit, dict)
        and isinstance(hit.get("slim"), dict)
        and isinstance(hit["slim"].get("id"), str)
    )


def _answers(write: Writer, answers: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The forked workers' answers, their files and pages counted in `write`; the first
    worker's error raised."""
    payloads = []
    for status, payload in answers:
        if status != "ok":
            raise MapdownError(payload)
        write.files += payload["files"]
        write.pages += payload["pages"]
        payloads.append(payload)
    return payloads


class Claims:
    """The next of `total` deals for a process to render, shared by the processes forked after
    it is made (a counter in shared memory, under a lock): each deal is taken once, and a
    process that is ahead takes more. None once all are taken."""

    def __init__(self, total: int) -> None:
        import multiprocessing

        self.total = total
        self._next = multiprocessing.get_context("fork").Value("q", 0)

    def __call__(self) -> int | None:
        with self._next.get_lock():
            i = self._next.value
            if i >= self.total:
                return None
            self._next.value = i + 1
        return i

    def ahead(self, batch: Sequence[DealPart]) -> Iterator[int]:
        """The deals this process takes, each claimed one deal ahead of its turn so that git
        reads its versions (`DealPart.prefetch`) while the one before it is worked on."""
        i = self()
        if i is not None and batch[i].prefetch is not None:
            batch[i].prefetch()
        while i is not None:
            j = self()
            if j is not None and batch[j].prefetch is not None:
                batch[j].prefetch()
            yield i
            i = j

    @contextmanager
    def stopping(self) -> Iterator[None]:
        """Work on a deal; if it fails, no process takes another (the build has failed)."""
        try:
            yield
        except BaseException:
            with self._next.get_lock():
                self._next.value = self.total
            raise


class Progress:
    """Counts the deals rendered, by this process (a call) and by its forked workers (a byte
    each on a pipe), for a progress bar's `update`; does nothing without one."""

    def __init__(self, update: Callable[[int], None] | None) -> None:
        self.update = update
        self._read: int | None = None
        self._send: int | None = None

    def __call__(self) -> None:
        if self.update is not None:
            self.update(1)
            self._drain(block=False)

    def pipe(self) -> int | None:
        """The end a worker writes its ticks to (None: nobody is counting)."""
        if self.update is None:
            return None
        self._read, self._send = os.pipe()
        os.set_blocking(self._read, False)
        return self._send

    def forked(self) -> None:
        """Every worker is forked: only they hold the pipe's end now, so it ends with them."""
        if self._send is not None:
            os.close(self._send)
            self._send = None

    def wait(self) -> None:
        """Count every worker's ticks until the last one has closed the pipe."""
        self._drain(block=True)

    def _drain(self, block: bool) -> None:
        if self._read is None or self.update is None:
            return
        os.set_blocking(self._read, block)
        while True:
            try:
                got = os.read(self._read, 4096)
            except BlockingIOError:
                return
            if not got:
                os.close(self._read)
                self._read = None
                return
            self.update(len(got))

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in (self._read, self._send):
            if fd is not None:
                with suppress(OSError):
                    os.close(fd)
        self._read = self._send = None


def show_progress() -> bool:
    return sys.stderr.isatty()


# ---------------------------------------------------------------- formatting


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


@functools.lru_cache(maxsize=4096)
def fmt_day(value: Any) -> str:
    """`2026-12-01` → `Tue 1 Dec 2026`; anything else as given (— for nothing)."""
    day = _date(value)
    if day is None:
        return "—" if value in (None, "") else str(value)
    return f"{day:%a}\u00a0{day.day}\u00a0{day:%b} {day.year}"  # wraps only before the year


def fmt_pct(rate: Any) -> str:
    return "—" if rate is None else f"{rate:.0f}%"


def fmt_signed(value: Any, unit: str = "") -> str:
    """`+3`, `−2`, `±0` (a true minus sign); — for nothing."""
    if value is None:
        return "—"
    if value == 0:
        return f"±0{unit}"
    number = f"{abs(value):.0f}" if isinstance(value, int) else f"{abs(value):g}"
    return f"{'+' if value > 0 else '−'}{number}{unit}"


# Small pieces of HTML the pages use hundreds of times: Python, as Jinja macros are slow.


def html_ascii(html: str) -> str:
    """`html` with each character beyond ASCII written as a character reference (`&middot;`,
    `&#9675;`): the same page to a browser.

    The theme's own text (its templates' literal text, the helpers below, the weekly pages
    written in Python) goes through this, so that a page whose data is ASCII is ASCII through
    and through. Python keeps such a string one byte a character: a weekly page is joined from
    its pieces and encoded to UTF-8 in 3 µs, where one `→` or `○` makes every character of it
    two bytes wide and the same takes 23 µs (45,000 weekly pages at 1,000 deals).
    """
    if html.isascii():
        return html
    return _NOT_ASCII.sub(_char_ref, html)


_NOT_ASCII = re.compile("[^\x00-\x7f]")


def _char_ref(match: re.Match[str]) -> str:
    code = ord(match.group())
    name = codepoint2name.get(code)
    return f"&{name};" if name else f"&#{code};"


class AsciiText(Extension):
    """Jinja: the literal text of the theme's HTML templates written by `html_ascii`, as they
    are read. Only text: what `{{ … }}` writes is the data's. A repository's own templates
    (under `own_templates`, the environment's) are left as written: one may hold a `<style>`
    or a `<script>`, where a reference is not read as the character it names."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        own = getattr(self.environment, "own_templates", None)
        filename = str(Path(stream.filename).resolve()) if stream.filename else ""
        if not (stream.name or "").endswith((".html", ".htm")) or (
            own and filename.startswith(own)
        ):
            yield from stream
            return
        for token in stream:
            if token.type == "data" and not token.value.isascii():
                token = Token(token.lineno, "data", html_ascii(token.value))
            yield token


@functools.lru_cache(maxsize=4096)
def html_day(value: Any) -> Markup:
    """A date as `<time>`; — for nothing."""
    if not value:
        return Markup("&mdash;")
    if _date(value) is None:
        return escape(value)
    day = html_ascii(fmt_day(value))
    return Markup(f'<time datetime="{value}">{day}</time>')  # an ISO date: safe


@functools.lru_cache(maxsize=4096)
def html_day_text(value: Any) -> Markup:
    """`fmt_day` in a page (the `day` filter), in ASCII."""
    return Markup(html_ascii(escape(fmt_day(value))))


@functools.lru_cache(maxsize=256)
def html_pct(rate: Any) -> Markup:
    """`fmt_pct` in a page (the `pct` filter), in ASCII."""
    return Markup(html_ascii(escape(fmt_pct(rate))))


@functools.lru_cache(maxsize=4096)
def html_signed(value: Any, unit: str = "") -> Markup:
    """`fmt_signed` in a page (the `signed` filter), in ASCII."""
    return Markup(html_ascii(escape(fmt_signed(value, unit))))


@functools.lru_cache(maxsize=64)
def html_state(state: str) -> Markup:
    """A step's state: a mark (hidden from screen readers) and the word, never colour alone."""
    mark, label = STATE_MARKS.get(state, "?"), STATE_LABELS.get(state, state)
    return Markup(
        f'<span class="state state-{escape(state)}"><span class="mark" aria-hidden="true">'
        f"{html_ascii(mark)}</span>&nbsp;{html_ascii(escape(label))}</span>"
    )


@functools.lru_cache(maxsize=4096)
def html_change(value: Any, unit: str = "") -> Markup:
    """A week-on-week change, signed; the class says up, down or flat."""
    if value is None:
        return Markup('<span class="change none">&mdash;</span>')
    kind = "up" if value > 0 else "down" if value < 0 else "flat"
    return Markup(f'<span class="change {kind}">{html_signed(value, unit)}</span>')


@functools.lru_cache(maxsize=4096)
def html_rate(rate: Any, confirmed: int, total: int) -> Markup:
    """`86% (6 of 7)`, or — when no date falls in the window."""
    if rate is None:
        return Markup('&mdash; <span class="muted">(no dates in the window)</span>')
    return Markup(f'{html_pct(rate)} <span class="muted">({int(confirmed)} of {int(total)})</span>')


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def countdown(weeks: int) -> str:
    """A week's countdown in a table cell, from whole weeks between go-live and its Sunday:
    `T-minus 3 weeks`, `Go-live this week`, or `Past go-live` (the weekly page says more)."""
    if weeks < 0:
        return "Past go-live"
    return f"T-minus {plural(weeks, 'week')}" if weeks else "Go-live this week"


def kind_count(events: Iterable[Mapping[str, Any]], kind: str) -> int:
    """How many of `events` are of `kind` (a week's slips, on each row of a deal's weeks: the
    filters `selectattr(…)|list|length` took a sixth of the deal page's time)."""
    return sum(1 for e in events if e["kind"] == kind)


def web_url(text: Any) -> bool:
    """Only plain http(s) addresses become links; anything else is shown as text."""
    return isinstance(text, str) and WEB_URL.fullmatch(text.strip()) is not None


@functools.lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("js-default")  # raw HTML off; validateLink refuses javascript: and co.


def render_markdown(text: str, top: int = 2) -> Markup:
    """Markdown as HTML, headings shifted so the highest one is `h{top}`."""
    md = _markdown()
    env: dict[str, Any] = {}
    tokens = md.parse(text or "", env)
    levels = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
    if levels:
        shift = top - min(levels)
        for t in tokens:
            if t.type in ("heading_open", "heading_close"):
                t.tag = f"h{min(6, max(1, int(t.tag[1]) + shift))}"
    html = md.renderer.render(tokens, md.options, env)  # markdown-it escaped the text
    # A code block may scroll sideways: keyboard users can reach it (every `<pre>` here is
    # markdown-it's own; one in the text is `&lt;pre&gt;`).
    return Markup(html.replace("<pre>", '<pre tabindex="0">'))


@functools.lru_cache(maxsize=8192)
def render_inline(text: str | None) -> Markup:
    """One line of Markdown (code spans in messages), HTML escaped."""
    return Markup(html_ascii(_markdown().renderInline(text or "")))  # markdown-it escaped it


def notes_start_with_heading(text: str) -> bool:
    tokens = _markdown().parse(text or "")
    return bool(tokens) and tokens[0].type == "heading_open"


def dtstamp(as_of: dt.date) -> dt.datetime:
    """The calendar's time stamp: `SOURCE_DATE_EPOCH`, else the start of the as-of day (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    return dt.datetime.combine(as_of, dt.time(0), dt.UTC)


def normalise_base_url(url: str | None) -> str | None:
    """An absolute http(s) address ending in `/`, or None; anything else is a usage problem."""
    if url is None or url == "":
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in url for c in " <>\"'"):
        raise UsageProblem(f"--base-url {url!r} is not an http(s) address such as https://x.org/")
    return url if url.endswith("/") else url + "/"


# ---------------------------------------------------------------- the pages


def template_loader(root: Path) -> BaseLoader:
    """The repository's own `site_templates/` first, then the theme shipped with mapdown."""
    loaders: list[BaseLoader] = []
    own = root / TEMPLATES_DIR
    if own.is_dir():
        loaders.append(FileSystemLoader(str(own)))
    try:
        loaders.append(PackageLoader("mapdown.site_templates", ""))
    except (ModuleNotFoundError, ValueError):
        # a source checkout on sys.path ahead of the installed package: the theme beside it
        loaders.append(
            FileSystemLoader(str(Path(__file__).resolve().parent.parent / TEMPLATES_DIR))
        )
    return ChoiceLoader(loaders)


_DICT_NAMES = frozenset(dir(dict))
_SCALARS = frozenset((int, float, bool, type(None)))  # keyed with their type: True is not 1
_REMEMBERED: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def remember(f: Callable[..., Any], *args: Any) -> Any:
    """`f(*args)`, given again without calling `f` when called before with the same `f` and
    the same arguments: the same text, number or None, or the very same object (a dict or
    list of the site's data, never changed once made). For a macro whose output depends on
    its arguments alone, as the theme's do: a deal's weekly pages list the same rows again
    and again, and a row shared by the weeks (`sitedata.week_questions`) is rendered once.
    What is remembered holds `f` and its arguments, so an id in a key is never reused while
    the key is there; at 4,096 entries all are forgotten."""
    key = (
        id(f),
        *[a if type(a) is str else (type(a), a) if type(a) in _SCALARS else id(a) for a in args],
    )
    known = _REMEMBERED.get(key)
    if known is None:
        if len(_REMEMBERED) >= 4096:
            _REMEMBERED.clear()
        known = _REMEMBERED[key] = (f, args, f(*args))
    return known[2]


HELPERS: dict[str, Callable[..., Any]] = {  # the pages' own functions: plain, no context
    "day": html_day,
    "state": html_state,
    "change": html_change,
    "rate": html_rate,
    "plural": plural,
    "countdown": countdown,
    "kind_count": kind_count,
    "web_url": web_url,
    "remember": remember,
}


# the helpers' ids: a template calls them (and macros) at once, see SiteCodeGenerator
_PLAIN = frozenset(id(f) for f in HELPERS.values())


def _output_escape(value: Any) -> str:
    """What `{{ value }}` writes into a page: the same text as markupsafe's `escape`, as a plain
    string. Jinja only ever joins what this returns into the page or a macro's output (which it
    marks safe itself), so the `Markup` that `escape` builds around each value (in Python, a
    sixth of a weekly page's time) is never needed there."""
    if type(value) is str:
        return _escape_inner(value)
    html = getattr(value, "__html__", None)
    if html is not None:
        return str(html())
    return _escape_inner(str(value))


def output_text(value: Any) -> str:
    """What `{{ value }}` writes into a page, as the site's compiler writes it inline
    (`SiteCodeGenerator`): a string escaped, `Markup` as it is, an int as its digits, anything
    else by `_output_escape`. For pages written in Python (`mapdown.weekpage`)."""
    kind = type(value)
    if kind is str:
        return _escape_inner(value)
    if kind is Markup:
        return value
    if kind is int:
        return str(value)
    return _output_escape(value)


class SiteCodeGenerator(CodeGenerator):
    """Jinja's compiler, writing the three things a page does most as plain Python, with the
    same results as Jinja's own code (the site's snapshot is byte-identical either way):

    - `a.b`, when `b` is not a dict method: `a["b"]` when `a` is a dict holding `b`, else
      `environment.getattr` as Jinja writes it (see SiteEnvironment.getattr);
    - `f(…)`: called at once when `f` is a macro or one of HELPERS (none takes a context),
      else `context.call` as Jinja writes it, which first looks for a context, an
      environment or an evaluation context to pass, with attribute look-ups that fail;
    - `{{ x }}`: markupsafe's C escaping when `x` is a string; `x` itself when it is already
      `Markup` (what the helpers and macros return: the page only joins its text); `str(x)`
      for an int (digits and a sign: nothing to escape); else `_output_escape`.

    Each short way names the value it tests with an assignment expression (`_md_v :=`): an
    inner one is evaluated, and done with, before the outer one is assigned.
    """

    def visit_Getattr(self, node: nodes.Getattr, frame: Frame) -> None:
        if self.environment.is_async or node.attr in _DICT_NAMES:
            super().visit_Getattr(node, frame)
            return
        name = repr(node.attr)
        self.write("(_md_v[" + name + "] if type(_md_v := ")
        self.visit(node.node, frame)
        self.write(f") is dict and {name} in _md_v else environment.getattr(_md_v, {name}))")

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        if self.environment.is_async or forward_caller:
            super().visit_Call(node, frame, forward_caller=forward_caller)
            return
        direct = self._captured(lambda: self.signature(node, frame))
        if "\n" in direct:  # not an expression on one line: Jinja's own way
            super().visit_Call(node, frame, forward_caller=forward_caller)
            return
        self.write("(_md_f(" + direct.removeprefix(", ") + ") if type(_md_f := ")
        self.visit(node.node, frame)
        self.write(") is Macro or id(_md_f) in _md_plain else context.call(_md_f")
        loop_kwargs = {"_loop_vars": "_loop_vars"} if frame.loop_frame else {}
        block_kwargs = {"_block_vars": "_block_vars"} if frame.block_frame else {}
        self.signature(node, frame, {**loop_kwargs, **block_kwargs} or None)
        self.write("))")

    def _captured(self, write: Callable[[], None]) -> str:
        """What `write()` writes, kept out of the template's code."""
        stream, self.stream = self.stream, io.StringIO()
        try:
            write()
            return self.stream.getvalue()
        finally:
            self.stream = stream

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape or finalize.src is not None:
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("(_md_escape_str(_md_o) if (_md_t := type(_md_o := ")

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape or finalize.src is not None:
            super()._output_child_post(node, frame, finalize)
            return
        self.write(
            ")) is str else _md_o if _md_t is Markup"
            " else str(_md_o) if _md_t is int else escape(_md_o))"
        )


class SiteTemplate(Template):
    """A compiled template whose output escaping is `_output_escape`. Jinja's generated code
    calls `escape` only around what a `{{ … }}` outputs; filters (`|e`), `~` and macros keep
    markupsafe's own. It also holds what SiteCodeGenerator's code refers to."""

    @classmethod
    def _from_namespace(cls, environment: Any, namespace: Any, globals: Any) -> Any:
        namespace["escape"] = _output_escape
        namespace["_md_escape_str"] = _escape_inner
        namespace["_md_plain"] = _PLAIN
        return super()._from_namespace(environment, namespace, globals)


class SiteEnvironment(Environment):
    """Jinja's environment, with two short ways through what the pages do most:

    - `a.b` where `a` is a plain dict, as the site's data is: `a["b"]` at once, where Jinja
      would first try (and fail at) the attribute. The result is the same as Jinja's rule
      (attribute first): a dict's only attributes are its methods, which still win. A third of
      the time rendering a page went to that failed try.
    - a template's globals as one dict, not a chain of two: `{% import %}` compares their names
      with the page's at every page.
    """

    template_class = SiteTemplate
    code_generator_class = SiteCodeGenerator
    own_templates: str | None = None  # the repository's own templates' folder (AsciiText)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_NAMES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


def theme_unchanged(env: Environment, names: Iterable[str]) -> bool:
    """Whether each template of `names` that `env` renders is the theme's own, word for word:
    none is overridden by the repository's `site_templates/` (or each override is a copy)."""
    loader = env.loader
    if not isinstance(loader, ChoiceLoader) or not loader.loaders:
        return False
    theme = loader.loaders[-1]  # template_loader puts the theme shipped with mapdown last
    try:
        return all(
            loader.get_source(env, name)[0] == theme.get_source(env, name)[0] for name in names
        )
    except TemplateNotFound:
        return False


def make_environment(root: Path) -> Environment:
    env = SiteEnvironment(
        loader=template_loader(root),
        autoescape=select_autoescape(["html", "htm", "xml", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # one environment per build: no file's time checked at every page
        extensions=[AsciiText],
    )
    env.own_templates = str((root / TEMPLATES_DIR).resolve()) + os.sep
    env.filters.update(
        day=html_day_text,
        pct=html_pct,
        signed=html_signed,
        markdown=render_markdown,
        inline=render_inline,
    )
    env.globals.update(
        **HELPERS,
        state_labels=STATE_LABELS,
        state_marks=STATE_MARKS,
        status_labels=STATUS_LABELS,
        tracks=TRACKS,
        version=__version__,
    )
    return env


EVENT_GROUPS = (
    ("slipped", "Slipped", ("slipped",)),
    ("pulled-in", "Pulled in", ("pulled-in",)),
    ("confirmed", "Confirmed in writing", ("confirmed", "confirmation-changed")),
    ("voided", "Lost their confirmation", ("confirmation-voided", "confirmation-removed")),
    ("done", "Done, with evidence", ("done",)),
    ("other", "Other changes", ("created", "removed", "owner-changed")),
)


def group_events(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A week's events by what they mean, in a fixed order; done without evidence is `other`."""
    groups = []
    for key, label, kinds in EVENT_GROUPS:
        chosen = [e for e in events if e["kind"] in kinds]
        if key == "done":
            chosen = [e for e in chosen if e["to"]]
        if key == "other":
            chosen += [e for e in events if e["kind"] == "done" and not e["to"]]
            chosen.sort(key=lambda e: (e["day"], e["kind"], e["milestone"] or ""))
        groups.append({"key": key, "label": label, "events": chosen})
    return groups


def walk_summary(walk: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Question 3 split at close: the steps before signature, then the rest before go-live.

    Each step gets `by`, the day it must be true by, and `slack`, the days from its due to it.
    """
    steps = []
    for w in walk:
        by = w["must_be_true_by"]
        slack = (dt.date.fromisoformat(by) - dt.date.fromisoformat(w["due"])).days
        steps.append({**w, "by": by, "slack": slack})
    before = [w for w in steps if w["before_close"]]
    rest = [w for w in steps if not w["before_close"]]

    def holding(group: Sequence[dict[str, Any]]) -> bool:
        return all(w["state"] in HOLDING for w in group)

    return {
        "before_close": before,
        "before_go_live": rest,
        "close_counts": state_counts(before),
        "go_live_counts": state_counts(rest),
        "close_holds": holding(before),
        "go_live_holds": holding(rest),
        "critical": [w for w in steps if w["slack"] < 0],
    }


def holds(counts: dict[str, int]) -> bool:
    """Whether there are steps, counted by state, and each is done (with evidence) or
    confirmed."""
    return bool(counts) and all(s in HOLDING for s, n in counts.items() if n)


def week_answers(
    weeks: Sequence[dict[str, Any]],
) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """Each week with its answers to questions 2 and 3, as the weekly page shows them: one
    object for all the weeks whose answer is the same, so that the page renders it once
    (`remember`). Question 2 is the same all along in most deals; question 3 in about a third
    of the weeks, whose open steps are the same rows (`sitedata.week_questions`)."""
    seen: dict[Any, dict[str, Any]] = {}
    for w in weeks:
        missing, vendor_only = w["internal_missing"], w["vendor_only"]
        q2 = seen.setdefault(
            ("q2", tuple(missing), vendor_only),
            {"internal_missing": missing, "vendor_only": vendor_only},
        )
        counts = w["walk_counts"]
        close_counts = state_counts(counts["before_close"])
        go_live_counts = state_counts(counts["before_go_live"])
        close_holds = holds(counts["before_close"])
        rows = w["walk_open"]
        key = ("q3", w["close"], *close_counts, None, *go_live_counts, close_holds, *map(id, rows))
        q3 = seen.get(key)
        if q3 is None:
            q3 = seen[key] = {
                "close": w["close"],
                "walk_open": rows,  # the rows' ids are in the key: kept alive with it
                "close_counts": close_counts,
                "go_live_counts": go_live_counts,
                "close_holds": close_holds,
            }
        yield w, q2, q3


def state_counts(steps: Sequence[dict[str, Any]] | dict[str, int]) -> list[tuple[str, int]]:
    """(label, how many) per state in a fixed order, from steps or from counts by state."""
    if isinstance(steps, dict):
        counts = steps
    else:
        counts = {}
        for w in steps:
            counts[w["state"]] = counts.get(w["state"], 0) + 1
    return [(STATE_LABELS[s], counts[s]) for s in STATE_LABELS if counts.get(s)]


class Site:
    """Renders every page of the site from `site_data`'s parts, one deal at a time."""

    def __init__(
        self,
        env: Environment,
        as_of: dt.date,
        config: Config,
        base_url: str | None,
        jobs: int = 1,
        cache: Cache | None = None,
        show: bool = False,
    ) -> None:
        self.env = env
        self.show = show
        self.jobs = max(1, jobs)
        self.cache = cache if cache is not None and cache.enabled else None
        # what a forked worker calls first: a cache connection of its own (build_site sets
        # RepoHistory.in_child, which also gives it a git reader of its own)
        self.in_child: Callable[[], None] | None = self.cache.in_child if self.cache else None
        self.checked_late = False  # some deal was checked only when it was computed
        self.as_of = as_of
        self.config = config
        self.base_url = base_url
        self.common = {
            "site": {
                "title": config.site_title,
                "as_of": as_of.isoformat(),
                "generator": f"mapdown {__version__}",
            },
            "window_days": config.confirmation_window_days,
        }
        # the weekly pages written by `weekpage` rather than by Jinja: the same bytes, when the
        # templates they are made from are the theme's own
        from mapdown import weekpage

        self.python_weeks = theme_unchanged(env, weekpage.THEME_FILES)
        self.python_reviews = theme_unchanged(env, weekpage.REVIEW_THEME_FILES)
        self._previous: Path | None = None  # the site being replaced, set by `render`
        self._old_pages: dict[str, str] = {}
        self._pages: dict[str, str] = {}
        self._salt = ""

    # -- rendering

    def page(self, write: Writer, path: str, template: str, **context: Any) -> None:
        write(path, self.page_html(path, template, **context))

    def page_html(self, path: str, template: str, **context: Any) -> str:
        """The page `path`: its links relative to its folder, its canonical address if any."""
        root, canonical = self.where(path)
        return self.render_template(
            template, path, root=root, path=path, canonical=canonical, **context
        )

    def where(self, path: str) -> tuple[str, str | None]:
        """The page `path`'s way back to the site's root, and its canonical address if any."""
        canonical = self.base_url + path.removesuffix("index.html") if self.base_url else None
        return "../" * path.count("/"), canonical

    def render_template(self, template: str, what: str, **context: Any) -> str:
        """`template` rendered with the common context; a template's error as MapdownError."""
        try:
            return self.env.get_template(template).render(**self.common, **context)
        except TemplateSyntaxError as exc:
            raise MapdownError(
                f"{exc.filename or exc.name}:{exc.lineno}: template error: {exc.message}"
            ) from exc
        except TemplateError as exc:
            raise MapdownError(f"{template}: cannot render {what}: {exc}") from exc

    def chart(self, name: str, *args: Any, **kwargs: Any) -> Markup:
        from mapdown import charts

        svg = getattr(charts, name)(*args, **kwargs)  # the charts escape user text
        if not svg.isascii():  # numeric references: SVG knows no named ones (see html_ascii)
            svg = svg.encode("ascii", "xmlcharrefreplace").decode("ascii")
        return Markup(svg)

    def render(
        self,
        write: Writer,
        parts: Iterable[DealPart],
        previous: Path | None = None,
    ) -> int:
        """Every page, deal by deal, then the pages across deals and data.json; how many deals.

        A deal's pages are taken from the `previous` site (hard links, or copies) when its
        manifest says they were made from the same data, templates and code; so is a page
        across deals (a dashboard, a weekly review, a rule page) made from the same rows.
        """
        from mapdown.sitedata import assemble

        for name in THEME_FILES:  # the theme's own files, as the repository overrides them
            write(name, self.theme_file(name))
        templates = self.fingerprint()
        made = read_manifest(previous) if previous is not None else {}
        self._previous = previous
        self._old_pages = read_manifest(previous, "pages") if previous is not None else {}
        self._pages = {}
        self._salt = _digest(
            {
                "code": code_fingerprint(),
                "templates": templates,
                "common": self.common,
                "base_url": self.base_url,
                "config": _config_name(self.config),
            }
        )
        deals: list[dict[str, Any]] = []
        digests: dict[str, dict[str, str]] = {}  # each deal's review rows, named by week
        keys: dict[str, str] = {}
        computed: list[DealPart] = []
        unchanged: list[tuple[Path, str]] = []

        rendered: dict[str, dict[str, str]] = {}  # dashboard rows made with their deals

        def take(done: Iterable[DealPart]) -> None:
            for part in done:
                deals.append(part.slim)
                digests[part.id] = part.rows
                if part.row_html is not None:
                    rendered[part.id] = part.row_html

        for part in parts:
            did = _valid(SLUG, part.id, "deal id")
            keys[did] = hashlib.sha1(
                f"{part.key}|{templates}".encode(), usedforsecurity=False
            ).hexdigest()
            old = previous / "deals" / did if previous is not None else None
            if part.computed:  # computed, then rendered: all at once, in parallel
                computed.append(part)
                continue
            if old is not None and made.get(did) == keys[did] and old.is_dir():
                unchanged.append((old, f"deals/{did}"))  # linked once no more forks are made
            else:
                self.write_deal(write, part)
            take([part])
        take(self.compute_pages(write, computed))
        if self.cache is not None and computed:
            self.cache.flush_later()  # the deals' entries, while the pages across deals are made
        write.link_trees(unchanged)  # in threads, while the pages across deals are made
        data = assemble(deals, self.as_of, self.config)
        listed = _digest(sorted(keys.items()))  # the deals and what each was made from
        made_from = {s.key: _digest([listed, s.key]) for s in SORTS}
        stale = any(not self._reusable(s.page, made_from[s.key]) for s in SORTS)
        rows = self.dashboard_rows(data["deals"], keys, rendered) if stale else []
        for sort in SORTS:
            self.reuse_or_page(
                write,
                sort.page,
                made_from[sort.key],
                "dashboard.html",
                lambda sort=sort: {
                    "rows": sorted(rows, key=sort.order),
                    "sort": sort,
                    "sorts": SORTS,
                },
            )
        self.review_pages(write, data["weeks"], digests)
        self.rule_pages(write)
        write("data.json", site_json(data))
        manifest = {
            "generator": self.common["site"]["generator"],
            "deals": dict(sorted(keys.items())),
            "pages": dict(sorted(self._pages.items())),
        }
        write(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        return len(deals)

    def write_deal(self, write: Writer, part: DealPart) -> dict[str, Any]:
        """The deal's pages and its data.json; its summary."""
        self.deal_pages(write, part.data)
        write(f"deals/{part.id}/data.json", part.text)
        return part.slim

    def compute_pages(self, write: Writer, batch: list[DealPart]) -> list[DealPart]:
        """Compute and render the deals of `batch`, shared between this process and workers
        forked once for all of them (each deal's pages are its own files); the deals, their
        summaries known and each kept in the cache.

        One fork, not one per group of deals: after a fork, the first write to any page of
        memory copies it, in the worker and here, so every fork made again the copying of the
        whole history this process holds (at 1,000 deals, a quarter of the build's CPU time
        was the kernel's)."""
        if not batch:
            return []
        jobs = min(self.jobs, len(batch)) if workers.can_fork() else 1
        with self.progress(len(batch)) as tick:
            if jobs <= 1:
                for part in batch:
                    self._render_deal(write, part)
                    tick()
                return batch
            preloaded = {}
            for part in batch:  # what a worker must not read itself: git and the cache are ours
                if part.item is not None and part.item.history is not None:
                    preloaded[part.id] = preload(part.item.history)
            self.checked_late = any(part.item is None for part in batch)
            claim = Claims(len(batch))  # each process takes the next deal not yet taken
            ticks = tick.pipe()  # each worker says when it has done a deal
            forked = [
                workers.fork(functools.partial(self._work, write, batch, claim, ticks))
                for _ in range(jobs - 1)
            ]
            tick.forked()
            answers = []
            try:
                for i in claim.ahead(batch):
                    part = batch[i]
                    with claim.stopping():
                        self._render_deal(write, part, preloaded.get(part.id, ()))
                    tick()
                tick.wait()
            finally:  # every worker is waited for, even when this share failed
                answers = [workers.collect(worker) for worker in forked]
        for payload in _answers(write, answers):
            if self.cache is not None:
                self.cache.add_pending(payload["entries"])
            for i, slimmed, rows, row_html in payload["deals"]:
                part = batch[i]
                part._slim, part._rows, part.row_html = slimmed, rows, row_html
                release(part, preloaded.get(part.id, ()))
        return batch

    def _render_deal(
        self, write: Writer, part: DealPart, preloaded: Iterable[str] = ()
    ) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
        """A computed deal's pages and data.json written, the deal kept in the cache, and what
        it was made from let go; its summary, review-row names and dashboard row. The row is
        rendered here, by whichever process renders the deal, and not with the dashboards,
        which one process makes once every deal is done."""
        self.write_deal(write, part)
        if part.keep is not None:
            part.keep(part)
        part.row_html = {r: str(h) for r, h in self.dashboard_row(part.slim)["html"].items()}
        made = part.slim, part.rows, part.row_html
        release(part, preloaded)
        return made

    def _work(
        self, write: Writer, batch: list[DealPart], claim: Claims, ticks: int | None
    ) -> dict[str, Any]:
        """A forked worker: the deals of `batch` it claims, rendered, each kept in a cache of
        its own that its parent writes; their places in `batch` and summaries, the cache
        entries and the counts."""
        if self.in_child is not None:
            self.in_child()
        files, pages = write.files, write.pages
        done = []
        for i in claim.ahead(batch):
            part = batch[i]
            if part.item is not None and part.item.history is not None:
                part.item.history.loader = None  # everything it needs was read before the fork
            with claim.stopping():
                done.append([i, *self._render_deal(write, part)])
            if ticks is not None:
                os.write(ticks, b".")
        if ticks is not None:
            os.close(ticks)  # before the answer: the parent reads every tick until the end
        return {
            "files": write.files - files,
            "pages": write.pages - pages,
            "deals": done,
            "entries": self.cache.take_pending() if self.cache is not None else {},
        }

    @contextmanager
    def progress(self, total: int) -> Iterator[Progress]:
        """A progress bar over the deals rendered, by this process and its workers."""
        if self.show and total > PROGRESS_OVER:
            bar = click.progressbar(length=total, label="Building the site", file=sys.stderr)
            with bar, Progress(bar.update) as tick:
                yield tick
        else:
            with Progress(None) as tick:
                yield tick

    def _reusable(self, path: str, key: str) -> bool:
        return (
            self._previous is not None
            and self._old_pages.get(path) == _digest([self._salt, key])
            and (self._previous / path).is_file()
        )

    def reuse_or_page(
        self,
        write: Writer,
        path: str,
        key: str,
        template: str,
        context: Callable[[], dict[str, Any]],
    ) -> None:
        """A page across deals: linked from the previous site when it was made from the same
        rows (`key`), templates, settings and code; else rendered from `context()`."""
        self.reuse_or_write(write, path, key, lambda: self.page_html(path, template, **context()))

    def reuse_or_write(
        self, write: Writer, path: str, key: str, content: Callable[[], str | bytes]
    ) -> None:
        """A file across deals: linked from the previous site when it was made from the same
        `key`, templates, settings and code; else written from `content()`."""
        if not self.reuse(write, path, key):
            write(path, content())

    def reuse(self, write: Writer, path: str, key: str) -> bool:
        """The file `path`, made from `key`, entered in the manifest; linked from the previous
        site if it was made from the same (True), else it is to be written (False)."""
        assert self._previous is not None or not self._old_pages
        self._pages[path] = _digest([self._salt, key])
        if self._reusable(path, key):
            assert self._previous is not None
            write.link_file(self._previous / path, path)
            return True
        return False

    def write_all(
        self, write: Writer, files: Sequence[tuple[str, Callable[[], str | bytes]]]
    ) -> None:
        """Each (path, content) written: shared with forked workers when there are many and
        no linking is going on (a fork must not copy a thread at work)."""
        jobs = min(self.jobs, len(files) // PARALLEL_FILES) if workers.can_fork() else 1
        if jobs <= 1 or write.busy():
            for path, content in files:
                write(path, content())
            return
        forked = [
            workers.fork(functools.partial(self._write_share, write, files[j::jobs]))
            for j in range(1, jobs)
        ]
        answers = []
        try:
            for path, content in files[0::jobs]:
                write(path, content())
        finally:  # every worker is waited for, even when this share failed
            answers = [workers.collect(worker) for worker in forked]
        _answers(write, answers)

    def _write_share(
        self, write: Writer, files: Sequence[tuple[str, Callable[[], str | bytes]]]
    ) -> dict[str, int]:
        before = write.files, write.pages
        for path, content in files:
            write(path, content())
        return {"files": write.files - before[0], "pages": write.pages - before[1]}

    def fingerprint(self) -> str:
        """A name for the templates as this repository sees them (its own, then the theme's)."""
        loader = self.env.loader
        assert loader is not None
        digest = hashlib.sha1(usedforsecurity=False)
        for name in sorted(loader.list_templates()):
            if "__" in name or not name.endswith((".html", ".css", ".xml", ".txt", ".svg")):
                continue  # the package's __init__.py and its byte code are not templates
            try:
                source, _, _ = loader.get_source(self.env, name)
            except (TemplateError, UnicodeDecodeError, OSError):
                continue
            digest.update(f"{name}\0{source}\0".encode())
        return digest.hexdigest()

    def theme_file(self, name: str) -> str:
        """A file of the theme copied as it is (the stylesheet, the icon): the repository's own
        `site_templates/<name>` if it has one."""
        loader = self.env.loader
        assert loader is not None
        source, _, _ = loader.get_source(self.env, name)
        return source

    def dashboard_rows(
        self,
        deals: list[dict[str, Any]],
        keys: dict[str, str],
        rendered: dict[str, dict[str, str]] | None = None,
    ) -> list[dict[str, Any]]:
        """Every deal's dashboard row: `rendered` with the deal's pages in this build, else
        as cached, else rendered now. A row's HTML is kept in the cache under a key naming
        the deal's data and templates (`keys`) and everything else a page is made from, so a
        one-deal change renders one row."""
        rendered = rendered or {}
        names = {d["id"]: _digest([self._salt, keys[d["id"]]]) + ROW_KEY for d in deals}
        wanted = [names[d["id"]] for d in deals if d["id"] not in rendered]
        saved = self.cache.get_many("site_deals", wanted) if self.cache else {}
        rows = []
        for deal in deals:
            made = rendered.get(deal["id"])
            if made is not None:
                if self.cache is not None:
                    self.cache.put("site_deals", names[deal["id"]], made)
                rows.append(self.dashboard_row(deal, made))
                continue
            html = saved.get(names[deal["id"]])
            if isinstance(html, dict) and all(type(html.get(r)) is str for r in DASHBOARD_ROOTS):
                rows.append(self.dashboard_row(deal, html))  # rendered and escaped before
                continue
            row = self.dashboard_row(deal)
            if self.cache is not None:
                self.cache.put("site_deals", names[deal["id"]], {**row["html"]})
            rows.append(row)
        return rows

    def dashboard_row(
        self, deal: dict[str, Any], html: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """A deal's dashboard row: its HTML (`html`, as cached, or rendered once for each
        folder depth of the dashboards, `index.html` and `sort/*.html`, not once per
        dashboard) and what the sorts need."""
        why = deal["risk"]
        row: dict[str, Any] = {"deal": deal, "at_risk": bool(why), "why": why}
        if html is not None:
            row["html"] = {r: Markup(html[r]) for r in DASHBOARD_ROOTS}
            return row
        scores = [w["score"] for w in deal["weeks"]]
        row["sparkline"] = self.chart(
            "sparkline",
            scores or [deal["score"]["score"]],
            label=f"Weekly score of {deal['title']}",
            id_prefix=f"spark-{deal['id']}",
        )
        row["html"] = {
            root: Markup(
                self.render_template(
                    "dashboard_row.html", f"the dashboard row of {deal['id']}", root=root, row=row
                )
            )
            for root in DASHBOARD_ROOTS
        }
        return row

    def deal_pages(self, write: Writer, deal: dict[str, Any]) -> None:
        did = _valid(SLUG, deal["id"], "deal id")
        base = f"deals/{did}/"
        steps = {m["id"]: m for m in deal["milestones"]}
        by_track = [(t, [m for m in deal["milestones"] if m["track"] == t]) for t in TRACKS]
        weeks = deal["countdown"]
        for w in weeks:
            _valid(WEEK, w["week"], "week")
        ics_url = (self.base_url + f"{base}{did}.ics") if self.base_url else None
        notes = deal["notes"] or ""
        self.page(
            write,
            base + "index.html",
            "deal.html",
            deal=deal,
            steps=steps,
            by_track=by_track,
            walk=walk_summary(deal["questions"]["walk_back"]),
            risk=deal_risk(deal),
            notes_html=render_markdown(notes) if notes.strip() else None,
            notes_heading=not notes_start_with_heading(notes),
            weeks=list(reversed(weeks)),
            ics_url=ics_url,
            slipped=[m for m in deal["milestones"] if m["slips"]],
            findings=sorted(
                deal["findings"],
                key=lambda f: (f["severity"] != "error", f["code"], f["line"], f["col"]),
            ),
            timeline=self.chart(
                "backward_timeline", deal, as_of=self.as_of.isoformat(), id_prefix=f"timeline-{did}"
            ),
            history_chart=self.chart("weekly_history", deal["weeks"], id_prefix=f"history-{did}")
            if deal["weeks"]
            else None,
            parts_chart=self.chart("parts_bars", deal["score"]["parts"], id_prefix=f"parts-{did}"),
            data_url="data.json",
        )
        self.week_pages(write, base, deal, steps)
        self.page(
            write,
            base + "share.html",
            "share.html",
            deal=deal,
            by_track=by_track,
            ask=deal["ask"],
        )
        write(f"{base}{did}.ics", self.calendar(deal))

    def week_pages(
        self, write: Writer, base: str, deal: dict[str, Any], steps: dict[str, dict[str, Any]]
    ) -> None:
        """The deal's countdown page for each week (under `base`, its folder), by `weekpage`
        when the theme's templates are the ones in use (the same bytes in under half the
        time), else by Jinja."""
        from mapdown import weekpage

        if self.python_weeks:
            question_two = self.env.get_template("_macros.html").module.question_two  # type: ignore[attr-defined]

            def page(path: str, **context: Any) -> str:
                root, canonical = self.where(path)
                return weekpage.week_page(
                    self.common,
                    root=root,
                    canonical=canonical,
                    question_two=question_two,
                    **context,
                )
        else:

            def page(path: str, **context: Any) -> str:
                return self.page_html(path, "deal_week.html", **context)

        weeks = deal["countdown"]
        for i, (w, q2, q3) in enumerate(week_answers(weeks)):
            path = f"{base}weeks/{w['week']}.html"
            html = page(
                path,
                deal=deal,
                w=w,
                steps=steps,
                groups=group_events(w["events"]),
                q2=q2,
                q3=q3,
                latest=i == len(weeks) - 1,
                data_url="../data.json",
            )
            write(path, html)

    def calendar(self, deal: dict[str, Any]) -> bytes:
        """The plan as all-day events, one per step, with UIDs that survive every rebuild."""
        text = ics.escape_text
        stamp = ics.utc_value(dtstamp(self.as_of))
        events = []
        for m in deal["milestones"]:
            due = dt.date.fromisoformat(m["due"])
            start = dt.date.fromisoformat(m["start"]) if m["start"] else due
            side = deal["customer"] if m["owner_side"] == "customer" else "vendor"
            lines = [f"Owner: {m['owner']} ({side})", f"Exit: {m['exit']}"]
            if m["covered"] and m["confirmed_by"]:
                lines.append(f"Confirmed by {m['confirmed_by']}: {m['confirmation']}")
            else:
                lines.append("Dates not yet confirmed by the customer")
            lines.append(f"Status: {STATUS_LABELS.get(m['status'], m['status'])}")
            event = {
                "UID": text(f"{deal['id']}.{m['id']}@mapdown"),
                "DTSTAMP": stamp,
                "DTSTART;VALUE=DATE": ics.date_value(start),
                "DTEND;VALUE=DATE": ics.date_value(due + dt.timedelta(days=1)),
                "SUMMARY": text(m["step"]),
                "DESCRIPTION": text("\n".join(lines)),
                "TRANSP": "TRANSPARENT",
            }
            if self.base_url:
                event["URL"] = f"{self.base_url}deals/{deal['id']}/share.html"
            events.append(event)
        head = {
            "PRODID": text(f"-//mapdown//mapdown {__version__}//EN"),
            "VERSION": "2.0",
            "CALSCALE": "GREGORIAN",
            "METHOD": "PUBLISH",
            "X-WR-CALNAME": text(f"{deal['title']}: mutual action plan"),
        }
        return ics.calendar(head, events)

    def review_pages(
        self, write: Writer, weeks: list[dict[str, Any]], digests: dict[str, dict[str, str]]
    ) -> None:
        """Each week's forecast review (its page and its data, `weeks/<week>.json`), made
        again only when one of its rows changed (`digests`: each deal's rows, named by week),
        and the index of the weeks."""
        for w in weeks:
            _valid(WEEK, w["week"], "week")
        todo: list[tuple[str, Callable[[], str | bytes]]] = []  # the weeks whose rows changed
        for i, w in enumerate(weeks):
            around = {
                "w": w,
                "previous": weeks[i - 1]["week"] if i else None,
                "next": weeks[i + 1]["week"] if i + 1 < len(weeks) else None,
            }
            names = "\n".join(f"{r['id']} {digests[r['id']][w['week']]}" for r in w["deals"])
            key = _digest([around["previous"], around["next"], w["week"], w["sunday"], names])
            page, data = f"weeks/{w['week']}.html", f"weeks/{w['week']}.json"
            if not self.reuse(write, page, key):
                html = functools.partial(self.review_html, page, **around)
                todo.append((page, html))
            if not self.reuse(write, data, key):
                todo.append((data, functools.partial(compact_json, w)))
        self.write_all(write, todo)
        summary = [
            {
                "week": w["week"],
                "sunday": w["sunday"],
                "deals": len(w["deals"]),
                "drops": sum(1 for r in w["deals"] if (r["score_change"] or 0) < 0),
                "slipped": sum(r["slipped"] for r in w["deals"]),
                "voided": sum(r["voided"] for r in w["deals"]),
                "worst": w["deals"][0] if w["deals"] else None,
            }
            for w in reversed(weeks)
        ]
        self.reuse_or_page(
            write,
            "weeks/index.html",
            _digest(summary),
            "review_index.html",
            lambda: {"weeks": summary},
        )

    def review_html(self, path: str, **context: Any) -> str:
        """A week's forecast review: by `weekpage` when the theme's templates for it are the
        ones in use (the same bytes, 1,000 rows in a third of the time), else by Jinja."""
        if not self.python_reviews:
            return self.page_html(path, "review_week.html", **context)
        from mapdown import weekpage

        root, canonical = self.where(path)
        return weekpage.review_page(self.common, root=root, canonical=canonical, **context)

    def rule_pages(self, write: Writer) -> None:
        from mapdown.rules import RULES

        rules = [RULES[code] for code in sorted(RULES)]
        for rule in rules:  # made from mapdown's code alone (in every page's key)
            code = _valid(CODE, rule.code, "rule code")
            self.reuse_or_page(
                write,
                f"rules/{code}.html",
                "",
                "rule.html",
                lambda rule=rule: {"rule": rule, "body": render_markdown(rule.page(), top=1)},
            )
        self.reuse_or_page(
            write, "rules/index.html", "", "rules_index.html", lambda: {"rules": rules}
        )


# ---------------------------------------------------------------- building


def preflight(
    root: Path, config: Config, out: Path, base_url: str | None
) -> tuple[Path, str | None]:
    """The output folder and base URL, checked before any work (UsageProblem if wrong)."""
    target = check_output(out, root, root / config.deals_dir)
    return target, normalise_base_url(base_url if base_url is not None else config.base_url)


def build_site(
    root: Path,
    config: Config,
    as_of: dt.date,
    out: Path,
    *,
    repo: RepoHistory | None,
    base_url: str | None = None,
    show: bool = False,
    jobs: int | None = None,
) -> BuildResult:
    """Check every deal, gather its data and history, render the site and swap it in.

    `repo` is the repository's deal history (None, or one that is not available, outside
    git). Raises MapdownError (a deal has errors: the same messages as `check`) or
    UsageProblem (an output folder that must not be replaced); the previous site is then
    untouched. `jobs` processes compute and render the deals whose data changed (default:
    one per usable CPU).
    """
    root = root.resolve()
    target, base = preflight(root, config, out, base_url)
    config = replace(config, base_url=base)
    cache = repo.cache if repo is not None and repo.available else None
    site = Site(
        make_environment(root), as_of, config, base, jobs or workers.usable_cpus(), cache, show
    )
    if repo is not None and repo.available:
        site.in_child = repo.in_child
    previous = target if (target / MARKER).is_file() else None
    deals = 0

    def render(write: Writer) -> None:
        nonlocal deals
        parts = iter_deals(root, config, as_of, repo, site.jobs)
        try:
            deals = site.render(write, parts, previous)
        except MapdownError:
            if site.checked_late:  # each deal was checked by the process that computed it:
                gather(root, config, as_of, repo)  # all of them now, for `check`'s messages
            raise

    writer = write_atomically(target, render)
    return BuildResult(target, writer.pages, writer.files, deals)


# ---------------------------------------------------------------- serving


def watched(root: Path, config: Config) -> list[tuple[str, int, int]]:
    """What a rebuild depends on: every file under deals/ and site_templates/, and the config."""
    found = []
    for folder in (root / config.deals_dir, root / TEMPLATES_DIR):
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    st = path.stat()
                    found.append((str(path), st.st_mtime_ns, st.st_size))
    for path in (root / "mapdown.yaml", *([config.path] if config.path else [])):
        if path.is_file():
            st = path.stat()
            found.append((str(path), st.st_mtime_ns, st.st_size))
    return found


def serve_site(
    build: Callable[[], BuildResult],
    out: Path,
    snapshot: Callable[[], Any],
    *,
    port: int = 8000,
    interval: float = 1.0,
    stop: threading.Event | None = None,
    ready: Callable[[str], None] | None = None,
    echo: Callable[[str], None] = click.echo,
) -> None:
    """Serve `out` on 127.0.0.1 and rebuild whenever `snapshot()` changes, until `stop`.

    The first build must succeed; a later failed build prints its errors and the last good
    site keeps being served (the build never touches it when it fails).
    """
    import functools
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request drowns the rebuild messages

    handler = functools.partial(Handler, directory=str(out))
    try:  # the port first: a port in use is said before a long build, not after it
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
        raise UsageProblem(
            f"port {port} on 127.0.0.1 {why}: choose another with --port, or --port 0 for any "
            "free one"
        ) from None
    try:
        result = build()
    except BaseException:
        server.server_close()
        raise
    seen = snapshot()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    echo(f"Built {result.pages} pages into {result.out}.")
    echo(f"Serving {url} (Ctrl-C to stop); rebuilding when a deal or template changes.")
    if ready is not None:
        ready(url)
    stop = stop or threading.Event()
    try:
        while not stop.wait(interval):
            now = snapshot()
            if now == seen:
                continue
            seen = now
            try:
                result = build()
            except click.ClickException as exc:
                echo(f"Rebuild failed; still serving the last good site.\n{exc.format_message()}")
            else:
                echo(f"Rebuilt {result.pages} pages.")
    except KeyboardInterrupt:
        echo("Stopped.")
    finally:
        server.shutdown()
        server.server_close()
