"""Git access: the repository, one `git log` pass over the deals folder, one batch blob reader.

History is read with exactly two long-lived git processes whatever the size of the repository:
`git log --first-parent --raw` lists every change to a deal file, and one `git cat-file --batch`
returns every blob asked of it. Requests to the batch reader are written whole before their
answers are read (a long one from a thread), so the pipe never waits on a round trip per
object, and a build asks for the next deal's versions ahead (`BlobReader.ask`).
"""

from __future__ import annotations

import hashlib
import queue
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git

from mapdown import headstart, workers
from mapdown.errors import MapdownError
from mapdown.records import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    time: int  # committer time, seconds since the epoch
    author: str
    subject: str


@quick_init
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
    parent: str | None = None  # the first parent, as the log names it (not cached)


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


def _argv(args: Iterable[str]) -> list[str]:
    """The command line of `git args`, with the git GitPython is set to run."""
    return [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", *args]


def _top(repo: git.Repo) -> str:
    """Where git runs for `repo`: its working tree, or its git folder when it has none."""
    return str(repo.working_tree_dir or repo.git_dir)


def _spawn(
    repo: git.Repo, args: Iterable[str], stdin: int | None = None, stderr: int | None = None
) -> subprocess.Popen[bytes]:
    """`git args` started in `repo`, its output on a pipe (and its input, its errors: given
    as for `subprocess.Popen`)."""
    return subprocess.Popen(
        _argv(args), cwd=_top(repo), stdin=stdin, stdout=subprocess.PIPE, stderr=stderr
    )


def _git(repo: git.Repo, *args: str, feed: bytes | None = None) -> bytes:
    """git's output for `args` (with `feed` on its input), or MapdownError with its message."""
    done = subprocess.run(
        _argv(args),
        cwd=_top(repo),
        input=feed,
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
    "--format=%x01%H%x00%ct%x00%an%x00%s%x00%P%x00",
)


SPLIT_FROM = 4096  # first-parent commits from which a whole log is read in two halves at once
NARROW_FROM = 256  # files outside the deals folder from which the log is narrowed to it


def narrowed(repo: git.Repo, rev: str, folder: str) -> bool:
    """Whether `git log` is narrowed to `folder` by a pathspec (else every commit's whole diff
    is read, and the changes outside the folder dropped here).

    A pathspec costs git a match of every entry of every tree it diffs: at 1,000 deals × 40
    revisions, the log took 6.2–8.4 s of git's CPU with `-- deals` and 3.9–4.6 s without.
    Without one, though, git diffs whatever else a commit changed, so a deals folder inside a
    larger repository (more files outside it than `NARROW_FROM` and than in it, at `rev`)
    keeps the pathspec."""
    try:
        listed = _git(repo, "ls-tree", "-r", "-z", "--name-only", rev)
    except MapdownError:
        return True  # the log itself reports the error
    names = [n for n in listed.decode("utf-8", "surrogateescape").split("\0") if n]
    inside = sum(1 for name in names if in_folder(name, folder))
    return len(names) - inside > max(inside, NARROW_FROM)


def in_folder(path: str, folder: str) -> bool:
    """Whether `path` (from the repository's top) is inside `folder`, as the pathspec `folder`
    has it: `deals/a.md` is inside `deals`, `dealsx/a.md` is not."""
    return path.startswith(folder) and path[len(folder) : len(folder) + 1] == "/"


def read_log(
    repo: git.Repo,
    rev: str,
    folder: str,
    since: str | None = None,
    each: Callable[[LogEntry], None] | None = None,
    written: threading.Event | None = None,
    split_from: int = SPLIT_FROM,
) -> list[LogEntry]:
    """Every first-parent commit of `rev` (after `since`) that changed `folder`, oldest first.

    Merges are diffed against their first parent, so a merged branch's changes appear once, at
    the merge. Renames are detected (`-M`) so a file keeps its history under its new name: the
    log itself is read without them, and only the commits that both delete and add a file are
    diffed again with `-M` (`Renames`, as the log is read). Detecting renames in every commit
    of the log made git spend a quarter more time on it, for the handful of commits that have
    one. The output is read as git writes it: `each` sees every entry (newest first within each
    half, below; a rename still as a deletion and an addition) as soon as it is complete, so
    the caller can work on it while git walks the rest of the history. `written` is set as
    soon as git has written the whole log (the entries may still be waiting to be read): then
    there is a core free again.

    A whole history of `split_from` first-parent commits or more, with two cores to run on, is
    read by two `git log` processes at once, one from `rev` down to the middle commit of its
    first-parent chain, the other from there to the root: git walks and diffs each commit
    alone, so the halves together are the whole log, and git's part of a cold build (one core
    for the whole walk) takes half the time.
    """
    spans = [[f"{since}..{rev}"]] if since else _halves(repo, rev, split_from)
    # a few new commits on a cached log: narrowed, without a look at the tree first
    narrow = bool(since) or narrowed(repo, rev, folder)
    left = [len(spans)]
    lock = threading.Lock()

    def one_written() -> None:
        with lock:
            left[0] -= 1
            if left[0] == 0 and written is not None:
                written.set()

    logs = [_LogProcess(repo, span, folder, one_written, narrow) for span in spans]
    renames = Renames(repo, folder)
    entries: list[LogEntry] = []
    try:
        for log in logs:  # the newest commits first
            log.read(entries, each, renames.offer)
        renames.finish()
    finally:
        for log in logs:
            log.stop()
        renames.stop()
    entries.reverse()
    return entries


def _halves(repo: git.Repo, rev: str, split_from: int) -> list[list[str]]:
    """`rev`'s history as one span, or as two (newest first) when it is long enough to read
    in two halves at once."""
    if workers.usable_cpus() < 2:
        return [[rev]]
    shas = headstart.take(rev)  # the walk `build` began before its imports, if it did
    if shas is None:
        try:
            shas = _git(repo, "rev-list", "--first-parent", rev).split()
        except MapdownError:
            return [[rev]]  # the log itself reports the error
    if len(shas) < max(split_from, 2):
        return [[rev]]
    middle = shas[len(shas) // 2].decode()
    return [[rev, f"^{middle}"], [middle]]


class _LogProcess:
    """One `git log` of a span, its output read by a thread as git writes it (so git never
    waits on a full pipe), its entries parsed as they are asked for. Narrowed to `folder` by
    a pathspec, or not: then only the changes inside the folder are kept, and only the
    commits that have one (as the pathspec would have it)."""

    def __init__(
        self,
        repo: git.Repo,
        span: list[str],
        folder: str,
        done: Callable[[], None],
        narrow: bool,
    ) -> None:
        paths = ["--", folder] if narrow else []
        self.folder = None if narrow else folder  # the folder whose changes are kept here
        self.proc = _spawn(repo, [*LOG_OPTIONS, *span, *paths], stderr=subprocess.PIPE)
        self.chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.reader = threading.Thread(target=self._pump, args=(done,), daemon=True)
        self.reader.start()

    def _pump(self, done: Callable[[], None]) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        for chunk in iter(lambda: stdout.read(1 << 16), b""):
            self.chunks.put(chunk)
        done()
        self.chunks.put(None)

    def read(
        self,
        entries: list[LogEntry],
        each: Callable[[LogEntry], None] | None,
        offer: Callable[[LogEntry], None],
    ) -> None:
        """Its entries, newest first, appended to `entries` (each given to `offer`, then to
        `each`, as it is)."""
        folder = self.folder

        def add(part: bytes) -> None:
            entry = _entry(part)
            if folder is not None:
                entry.changes = [c for c in entry.changes if in_folder(c.path, folder)]
                if not entry.changes:
                    return  # a commit that changed nothing in the folder
            entries.append(entry)
            offer(entry)
            if each is not None:
                each(entry)

        pending = b""
        while (chunk := self.chunks.get()) is not None:
            *complete, pending = (pending + chunk).split(b"\x01")
            for part in complete:
                if part:
                    add(part)
        if pending.strip():
            add(pending)
        self.reader.join()
        assert self.proc.stderr is not None
        error = self.proc.stderr.read()
        if self.proc.wait():
            raise MapdownError(f"git log failed: {error.decode(errors='replace').strip()}")

    def stop(self) -> None:
        """Its process ended and waited for (when a read failed, or another half's did)."""
        _end(self.proc, self.reader)


def _end(proc: subprocess.Popen[bytes], reader: threading.Thread | None) -> None:
    """A git process ended (killed if still at work) and waited for, the thread reading its
    output joined (its output ends once git is gone), and its pipes closed."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if reader is not None:
        reader.join()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


class Renames:
    """The changes of each entry that deletes a file and adds another, diffed again against
    the commit's first parent with rename detection (as `git log -M` would have shown them).

    One `git diff-tree --stdin -M` for all of them, started at the first such entry and given
    each as the log is read, so that git finds the renames while the log is still walked: run
    after the log, it took 0.6 s at 1,000 deals (314 such commits) with nothing else at work.
    Each line it is given is a commit and its first parent, as the log names them."""

    def __init__(self, repo: git.Repo, folder: str) -> None:
        self.repo, self.folder = repo, folder
        self.todo: dict[str, LogEntry] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.reader: threading.Thread | None = None
        self.output: list[bytes] = []

    def offer(self, entry: LogEntry) -> None:
        statuses = {c.status for c in entry.changes}
        if not ("D" in statuses and "A" in statuses and entry.parent):
            return
        if self.proc is None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        self.todo[entry.commit.sha] = entry
        self.proc.stdin.write(f"{entry.commit.sha} {entry.parent}\n".encode())
        self.proc.stdin.flush()

    def _start(self) -> None:
        diff = ("diff-tree", "--stdin", "-z", "-r", "--raw", "--no-abbrev", "-M", "--")
        self.proc = _spawn(
            self.repo, [*diff, self.folder], stdin=subprocess.PIPE, stderr=subprocess.PIPE
        )
        stdout = self.proc.stdout
        assert stdout is not None
        self.reader = threading.Thread(
            target=lambda: self.output.extend(iter(lambda: stdout.read(1 << 16), b"")),
            daemon=True,
        )
        self.reader.start()

    def finish(self) -> None:
        """Every entry offered that holds a rename, its changes replaced by the renames."""
        if self.proc is None:
            return
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.proc.stdin.close()
        assert self.reader is not None
        self.reader.join()
        error = self.proc.stderr.read()
        if self.proc.wait():
            message = error.decode(errors="replace").strip()
            raise MapdownError(f"git diff-tree failed: {message}")
        text = b"".join(self.output).decode("utf-8", "surrogateescape")
        tokens = text.split("\x00")
        # each commit's diff follows its id (none when it changed nothing under the folder); the
        # ids stand where a change would start, so a path is never taken for one
        changes: dict[str, list[str]] = {sha: [] for sha in self.todo}
        current: list[str] | None = None
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token.startswith(":") and current is not None:
                size = 3 if token.split()[4][0] in "RC" else 2  # its fields, then one or two paths
                current.extend(tokens[i : i + size])
                i += size
                continue
            if token in changes:
                current = changes[token]
            i += 1
        for sha, entry in self.todo.items():
            entry.changes = _changes(changes[sha])

    def stop(self) -> None:
        """Its process ended and waited for (when the log failed, or it did)."""
        if self.proc is not None:
            _end(self.proc, self.reader)


def _entry(raw: bytes) -> LogEntry:
    """One commit of the log: its header, then its raw diff entries."""
    text = raw.decode("utf-8", "surrogateescape")
    sha, ctime, author, subject, parents, rest = text.split("\x00", 5)
    entry = LogEntry(Commit(sha, int(ctime), author, subject), parent=parents.split(" ")[0] or None)
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


PIPE_SAFE = 4096  # bytes a pipe holds on any system mapdown runs on (Linux: 4 KiB at least)
WIDE_PIPE = 1 << 20  # the answers to a request sent ahead: a deal's versions, and room to spare


def _widen(pipe: Any) -> bool:
    """Make the pipe hold WIDE_PIPE bytes (Linux, F_SETPIPE_SZ; at most its pipe-max-size,
    1 MiB by default); whether it now does."""
    try:
        import fcntl

        size = fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, WIDE_PIPE)
    except (ImportError, AttributeError, OSError, ValueError):
        return False
    return bool(size >= WIDE_PIPE)


class BlobReader:
    """One persistent `git cat-file --batch`; `read(shas)` yields (sha, bytes) for each sha.

    `ask(shas)` sends a request whose answers `read` takes later: git reads and writes those
    objects while the caller does other work (the next deal's versions, while this one is
    computed), into a pipe made large enough to hold them, so neither side waits on the other
    object by object."""

    def __init__(self, repo: git.Repo) -> None:
        self._proc = _spawn(repo, ["cat-file", "--batch"], stdin=subprocess.PIPE)
        self._asked: deque[str] = deque()  # sent by `ask`, answers not read yet, in order
        self._ready: dict[str, bytes | None] = {}  # answers read, not yet taken by `read`
        self._roomy = _widen(self._proc.stdout)

    def ask(self, shas: Iterable[str]) -> bool:
        """Send a request for these blobs now, to be read by a later `read`; False (nothing
        sent) when the request would not fit in the pipe at once or answers might not."""
        wanted = list(dict.fromkeys(shas))
        request = "".join(f"{sha}\n" for sha in wanted).encode()
        if not wanted or len(request) > PIPE_SAFE or not self._roomy:
            return False
        assert self._proc.stdin is not None
        self._proc.stdin.write(request)
        self._proc.stdin.flush()
        self._asked.extend(wanted)
        return True

    def read(self, shas: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        wanted = list(shas)
        if not wanted:
            return
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        if self._asked:  # answers asked for ahead: read up to the last one wanted now
            wanted_set = set(wanted)
            last = max((i for i, sha in enumerate(self._asked) if sha in wanted_set), default=-1)
            for _ in range(last + 1):
                sha = self._asked.popleft()
                self._ready[sha] = self._answer()
        if self._ready:
            rest = [sha for sha in wanted if sha not in self._ready]
            for sha in wanted:
                if sha in self._ready:
                    yield sha, self._ready.pop(sha)
            wanted = rest
            if not wanted:
                return
        while self._asked:  # a request made now: the answers still waiting come first
            sha = self._asked.popleft()
            self._ready[sha] = self._answer()

        request = "".join(f"{sha}\n" for sha in wanted).encode()

        def feed() -> None:
            assert proc.stdin is not None
            proc.stdin.write(request)
            proc.stdin.flush()

        # A request that fits in the pipe (a deal's versions, usually) is written at once: git
        # may stop reading it while its answers wait to be read, but the pipe holds all of it.
        # A longer one is written from a thread while the answers are read.
        writer = threading.Thread(target=feed, daemon=True) if len(request) > PIPE_SAFE else None
        if writer is not None:
            writer.start()
        else:
            feed()
        for sha in wanted:
            yield sha, self._answer()
        if writer is not None:
            writer.join()

    def _answer(self) -> bytes | None:
        """The next object git writes: a blob's bytes, or None (missing, or not a blob)."""
        out = self._proc.stdout
        assert out is not None
        header = out.readline().split()
        if len(header) < 3:
            return None  # missing (a shallow clone)
        data = out.read(int(header[2]))
        out.read(1)  # the newline after each object
        return data if header[1] == b"blob" else None

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
