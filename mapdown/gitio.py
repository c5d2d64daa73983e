"""Git access: the repository, one `git log` pass over the deals folder, one batch blob reader.

History is read with exactly two long-lived git processes whatever the size of the repository:
`git log --first-parent --raw` lists every change to a deal file, and one `git cat-file --batch`
returns every blob asked of it. Requests to the batch reader are written from a thread while the
answers are read, so the pipe never waits on a round trip per object.
"""

from __future__ import annotations

import hashlib
import queue
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git

from mapdown.errors import MapdownError


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    time: int  # committer time, seconds since the epoch
    author: str
    subject: str


@dataclass(frozen=True, slots=True)
class Change:
    """One raw diff entry: a deal file added, modified, deleted or renamed in a commit."""

    status: str  # A, M, D, R, C, T
    path: str  # the path after the change
    old_path: str | None  # the path before a rename or copy
    blob: str | None  # the new blob, None when deleted


@dataclass
class LogEntry:
    commit: Commit
    changes: list[Change] = field(default_factory=list)


ZERO = "0" * 40


def open_repo(start: Path) -> git.Repo | None:
    """The git repository containing `start`, or None outside one."""
    try:
        return git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    except git.GitCommandNotFound as exc:  # pragma: no cover - depends on the machine
        raise MapdownError("git is not installed; install git or run outside a repository") from exc


def is_shallow(repo: git.Repo) -> bool:
    return (Path(repo.git_dir) / "shallow").exists()


def resolve(repo: git.Repo, rev: str) -> str | None:
    """The commit id `rev` names, or None (no commits yet, or no such revision)."""
    try:
        return repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}")
    except git.GitCommandError:
        return None


def _git(repo: git.Repo, *args: str) -> bytes:
    done = subprocess.run(
        [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", *args],
        cwd=repo.working_tree_dir or repo.git_dir,
        capture_output=True,
        check=False,
    )
    if done.returncode:
        raise MapdownError(f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def continues(repo: git.Repo, base: str, head: str) -> bool:
    """Whether `base` is on the first-parent chain of `head` (so the log of head extends it)."""
    try:
        out = _git(repo, "rev-list", "--first-parent", "--parents", f"{base}..{head}")
    except MapdownError:  # `base` is not in this repository (a cache from another clone)
        return False
    lines = out.split(b"\n")
    last = [line for line in lines if line.strip()]
    if not last:
        return False
    return last[-1].split()[1:2] == [base.encode()]


# The one history pass: the first-parent log with each commit's raw diff (see `read_log`)
LOG_OPTIONS = (
    "log",
    "-z",
    "--raw",
    "--no-abbrev",
    "--no-renames",  # renames are found afterwards, in the few commits that can hold one
    "--first-parent",
    "--diff-merges=first-parent",
    "--format=%x01%H%x00%ct%x00%an%x00%s%x00",
)


def read_log(
    repo: git.Repo,
    rev: str,
    folder: str,
    since: str | None = None,
    each: Callable[[LogEntry], None] | None = None,
    written: threading.Event | None = None,
) -> list[LogEntry]:
    """Every first-parent commit of `rev` (after `since`) that changed `folder`, oldest first.

    Merges are diffed against their first parent, so a merged branch's changes appear once, at
    the merge. Renames are detected (`-M`) so a file keeps its history under its new name: the
    log itself is read without them, and only the commits that both delete and add a file are
    diffed again with `-M` (`with_renames`). Detecting renames in every commit of the log made
    git spend a quarter more time on it, for the handful of commits that have one.
    The output is read as git writes it: `each` sees every entry (newest first) as soon as it
    is complete, so the caller can work on it while git walks the rest of the history.
    `written` is set as soon as git has written the whole log (the entries may still be
    waiting to be read): then there is a core free again.
    """
    span = f"{since}..{rev}" if since else rev
    command = [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", *LOG_OPTIONS, span, "--", folder]
    proc = subprocess.Popen(
        command,
        cwd=repo.working_tree_dir or repo.git_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def pump() -> None:  # keeps git from ever waiting on a full pipe
        assert proc.stdout is not None
        for chunk in iter(lambda: proc.stdout.read(1 << 16), b""):  # type: ignore[union-attr]
            chunks.put(chunk)
        if written is not None:
            written.set()
        chunks.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    entries: list[LogEntry] = []
    pending = b""
    while (chunk := chunks.get()) is not None:
        *complete, pending = (pending + chunk).split(b"\x01")
        for part in complete:
            if part:
                entries.append(_entry(part))
                if each is not None:
                    each(entries[-1])
    if pending.strip():
        entries.append(_entry(pending))
        if each is not None:
            each(entries[-1])
    reader.join()
    assert proc.stderr is not None
    error = proc.stderr.read()
    if proc.wait():
        raise MapdownError(f"git log failed: {error.decode(errors='replace').strip()}")
    entries.reverse()
    with_renames(repo, entries, folder)
    return entries


def with_renames(repo: git.Repo, entries: Sequence[LogEntry], folder: str) -> None:
    """The changes of each entry that deletes a file and adds another, diffed again against
    the commit's first parent with rename detection (as `git log -M` would have shown them)."""
    git_exe = git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git"
    for entry in entries:
        statuses = {c.status for c in entry.changes}
        if "D" not in statuses or "A" not in statuses:
            continue
        sha = entry.commit.sha
        command = [git_exe, "diff-tree", "-z", "-r", "--raw", "--no-abbrev", "-M"]
        proc = subprocess.run(
            [*command, f"{sha}^1", sha, "--", folder],
            cwd=repo.working_tree_dir or repo.git_dir,
            capture_output=True,
            check=False,
        )
        if proc.returncode:
            error = proc.stderr.decode(errors="replace").strip()
            raise MapdownError(f"git diff-tree failed for {sha}: {error}")
        entry.changes = _changes(proc.stdout.decode("utf-8", "surrogateescape").split("\x00"))


def _entry(raw: bytes) -> LogEntry:
    """One commit of the log: its header, then its raw diff entries."""
    sha, ctime, author, subject, rest = raw.decode("utf-8", "surrogateescape").split("\x00", 4)
    entry = LogEntry(Commit(sha, int(ctime), author, subject))
    entry.changes = _changes(rest.lstrip("\x00\n").split("\x00"))
    return entry


def _changes(tokens: list[str]) -> list[Change]:
    """The changes of a raw diff written with -z, split at its NULs."""
    changes = []
    i = 0
    while i < len(tokens):
        meta = tokens[i]
        if not meta.startswith(":"):
            i += 1
            continue
        fields = meta[1:].split()
        new_blob, status = fields[3], fields[4][0]
        if status in "RC":
            old, new = tokens[i + 1], tokens[i + 2]
            i += 3
        else:
            old, new = None, tokens[i + 1]
            i += 2
        changes.append(Change(status, new, old, None if new_blob == ZERO else new_blob))
    return changes


def log_to_json(entries: list[LogEntry]) -> list[Any]:
    return [
        [
            e.commit.sha,
            e.commit.time,
            e.commit.author,
            e.commit.subject,
            [[c.status, c.path, c.old_path, c.blob] for c in e.changes],
        ]
        for e in entries
    ]


def log_from_json(data: list[Any]) -> list[LogEntry]:
    return [
        LogEntry(Commit(sha, time, author, subject), [Change(*c) for c in changes])
        for sha, time, author, subject, changes in data
    ]


def blob_hash(data: bytes) -> str:
    """The id git gives a blob with this content (to see whether a file changed, with no git)."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data, usedforsecurity=False).hexdigest()


class BlobReader:
    """One persistent `git cat-file --batch`; `read(shas)` yields (sha, bytes) in order."""

    def __init__(self, repo: git.Repo) -> None:
        self._proc = subprocess.Popen(
            [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", "cat-file", "--batch"],
            cwd=repo.working_tree_dir or repo.git_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def read(self, shas: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        wanted = list(shas)
        if not wanted:
            return
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None

        def feed() -> None:
            assert proc.stdin is not None
            proc.stdin.write("".join(f"{sha}\n" for sha in wanted).encode())
            proc.stdin.flush()

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        out = proc.stdout
        for sha in wanted:
            header = out.readline().split()
            if len(header) < 3 or header[1] != b"blob":
                yield sha, None  # missing (a shallow clone) or not a blob
                continue
            data = out.read(int(header[2]))
            out.read(1)  # the newline after each object
            yield sha, data
        writer.join()

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
