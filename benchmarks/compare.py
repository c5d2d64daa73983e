"""Two versions of mapdown, one cold build each in turn: is B faster than A, beyond the noise?

    python benchmarks/compare.py REV_A REV_B [REPO] [--rounds 3] [--as-of 2026-11-02]
                                 [--jobs N] [--out DIR]

REV_A and REV_B are revisions of this repository (a commit, a branch, HEAD~3); each is checked
out in a worktree of its own and run as `python -m mapdown build` with that worktree first on
PYTHONPATH. REPO is the deals repository to build (default: the 1,000-deal, 40-revision
repository `run.py` makes, benchmarks/out/d1000-r40-s7/repo). Every build is cold: its
`.mapdown-cache` and output folder are moved aside (and deleted after the run, untimed), and the
site is written under --out (default: /dev/shm when there is one, so that the disk's state does
not enter the figures).

Why this script: on this 2-core virtual machine the speed of the same build drifts by ±15%
from minute to minute, so two builds run one after the other differ by more than most
changes do. Here the builds are paired, each round running A, B, B, A (ABBA: a drift that
is steady over a round cancels out), and what is reported is each round's difference, B
minus A, with its median over the rounds, in wall time and in CPU time (user and system,
of the build and every process it started).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parent


def worktree(rev: str, into: Path) -> Path:
    """A detached worktree of this repository at `rev`, whose mapdown uses its own theme.

    The theme (site_templates/, beside the package) is the package `mapdown.site_templates`
    once installed. With this repository installed in editable mode, that name would be found
    in this checkout, whatever PYTHONPATH says: a link inside the worktree's package makes it
    the worktree's own, and the check below proves it."""
    subprocess.run(
        ["git", "-C", str(TOP), "worktree", "add", "--detach", "-q", str(into), rev], check=True
    )
    theme = into / "mapdown" / "site_templates"
    if not theme.exists():
        theme.symlink_to(Path("..") / "site_templates")
    found = subprocess.run(
        [sys.executable, "-c", "import mapdown.site_templates as t; print(*t.__path__)"],
        env={**os.environ, "PYTHONPATH": str(into)},
        cwd=into.parent,  # as the builds run: not from this checkout
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if Path(found).resolve() != (into / "site_templates").resolve():
        sys.exit(f"the worktree of {rev} would use the theme in {found}, not its own")
    return into


def set_aside(paths: list[Path]) -> None:
    """Move `paths` (the last build's cache and site) aside, beside each (one file system),
    to be deleted after the next build."""
    for path in paths:
        if path.exists():
            trash = path.parent.parent / ".compare-trash"
            trash.mkdir(exist_ok=True)
            path.rename(trash / f"{path.name}.{time.monotonic_ns()}")


def empty_trash(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path.parent.parent / ".compare-trash", ignore_errors=True)


def cold_build(
    code: Path, repo: Path, out: Path, as_of: str, jobs: int | None
) -> tuple[float, float]:
    """One cold build by the mapdown in `code`: its wall time and CPU time, in seconds."""
    aside = [repo / ".mapdown-cache", out]
    set_aside(aside)
    command = [sys.executable, "-m", "mapdown", "build", "--out", str(out), "--as-of", as_of]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"the build failed ({code.name}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    empty_trash(aside)  # untimed, before the next build
    return wall, cpu


def two_revisions(doc: str) -> argparse.ArgumentParser:
    """The arguments a comparison takes: two revisions, the repository and the as-of day."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("rev_a")
    parser.add_argument("rev_b")
    parser.add_argument("repo", nargs="?", default=str(HERE / "out" / "d1000-r40-s7" / "repo"))
    parser.add_argument("--as-of", default="2026-11-02")
    return parser


def benchmark_repo(path: str) -> Path:
    """`path` as a git repository, or exit saying how to make the benchmark's."""
    repo = Path(path).resolve()
    if not (repo / ".git").exists():
        sys.exit(f"{repo} is not a git repository: make it with `python benchmarks/run.py`")
    return repo


def main() -> None:
    parser = two_revisions(__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    repo = benchmark_repo(args.repo)
    shm = Path("/dev/shm")
    base = Path(args.out) if args.out else Path(tempfile.mkdtemp(dir=shm if shm.is_dir() else None))
    base.mkdir(parents=True, exist_ok=True)
    trees = Path(tempfile.mkdtemp(prefix="mapdown-compare-"))
    try:
        code = {
            "A": worktree(args.rev_a, trees / "a"),
            "B": worktree(args.rev_b, trees / "b"),
        }
        print(f"A = {args.rev_a}, B = {args.rev_b}; cold builds of {repo}, ABBA x {args.rounds}")
        diffs_wall, diffs_cpu = [], []
        for r in range(1, args.rounds + 1):
            got: dict[str, list[tuple[float, float]]] = {"A": [], "B": []}
            for who in "ABBA":
                wall, cpu = cold_build(code[who], repo, base / "site", args.as_of, args.jobs)
                got[who].append((wall, cpu))
                print(f"  round {r} {who}: {wall:6.2f} s wall, {cpu:6.2f} s CPU", flush=True)
            a_wall = statistics.mean(w for w, _ in got["A"])
            b_wall = statistics.mean(w for w, _ in got["B"])
            a_cpu = statistics.mean(c for _, c in got["A"])
            b_cpu = statistics.mean(c for _, c in got["B"])
            diffs_wall.append((b_wall - a_wall, a_wall))
            diffs_cpu.append((b_cpu - a_cpu, a_cpu))
            print(f"  round {r}: B - A = {b_wall - a_wall:+.2f} s wall, {b_cpu - a_cpu:+.2f} s CPU")
        for name, diffs in (("wall", diffs_wall), ("CPU", diffs_cpu)):
            d = [x for x, _ in diffs]
            rel = [100 * x / a for x, a in diffs]
            print(
                f"B - A, {name}: median {statistics.median(d):+.2f} s "
                f"({statistics.median(rel):+.1f}%), rounds {', '.join(f'{x:+.2f}' for x in d)}"
            )
    finally:
        for tree in ("a", "b"):
            if (trees / tree).exists():
                subprocess.run(
                    ["git", "-C", str(TOP), "worktree", "remove", "--force", str(trees / tree)],
                    check=False,
                )
        shutil.rmtree(trees, ignore_errors=True)
        if not args.out:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
