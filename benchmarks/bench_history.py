"""How long `mapdown score` takes on a large history (issue target, 1,000 deals × 40 revisions:
cold under 20 s, warm under 3 s, peak memory under 500 MB).

    python benchmarks/bench_history.py [--deals 1000] [--revisions 40] [--repo PATH] [--repeat 3]

Builds the synthetic repository with `make_repo.py` (or reuses --repo), then times the real
command in a fresh process each run: cold (no cache), warm (cache, nothing changed), and after
one new commit that changes one deal. Prints the median and range, and each run's peak memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_repo import build  # noqa: E402

AS_OF = "2026-11-02"
# Runs a command and prints its peak resident memory (KiB): the launcher's only child is it.
MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)


def run(repo: Path, *args: str) -> tuple[float, int]:
    """(seconds, peak KiB) of one `mapdown` run in `repo`."""
    command = [sys.executable, "-c", MEASURE, sys.executable, "-m", "mapdown", *args]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    peak, code = done.stdout.split()
    if code not in ("0", "1"):
        sys.exit(f"mapdown {' '.join(args)} failed with {code}:\n{done.stderr}")
    return seconds, int(peak)


def clear_cache(repo: Path) -> None:
    cache = repo / ".mapdown-cache"
    if cache.exists():
        for path in sorted(cache.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        cache.rmdir()


def commit_one_change(repo: Path, n: int) -> None:
    """A new commit that moves one date of one deal, as a seller's pull request would."""
    deal = sorted((repo / "deals").glob("*.md"))[n % 7]
    text = deal.read_text(encoding="utf-8")
    deal.write_text(
        text.replace("Synthetic deal", f"Synthetic deal (edit {n})", 1), encoding="utf-8"
    )
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": f"2026-11-01T10:{n:02d}:00+00:00",
        "GIT_COMMITTER_DATE": f"2026-11-01T10:{n:02d}:00+00:00",
    }
    git = [
        "git",
        "-c",
        "user.name=Bench",
        "-c",
        "user.email=bench@example.com",
        "-c",
        "commit.gpgsign=false",
    ]
    subprocess.run([*git, "commit", "-q", "-am", f"edit {n}"], cwd=repo, env=env, check=True)


def report(name: str, samples: list[tuple[float, int]]) -> None:
    times = [s for s, _ in samples]
    peak = max(p for _, p in samples) / 1024
    print(
        f"  {name:<28} median {statistics.median(times):6.2f} s  "
        f"(min {min(times):.2f}, max {max(times):.2f}, n={len(times)})  peak {peak:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--revisions", type=int, default=40)
    parser.add_argument("--repo", type=Path, help="reuse a repository made by make_repo.py")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = args.repo
        if repo is None:
            repo = Path(tmp) / "repo"
            start = time.perf_counter()
            build(repo, args.deals, args.revisions, seed=7)
            print(
                f"built {args.deals} deals × {args.revisions} revisions in "
                f"{time.perf_counter() - start:.0f} s"
            )
        score = ("score", "--as-of", AS_OF, "--format", "json")
        print(f"mapdown score on {repo.name}: {args.deals} deals × {args.revisions} revisions")
        cold = []
        for _ in range(args.repeat):
            clear_cache(repo)
            cold.append(run(repo, *score))
        report("cold (no cache)", cold)
        report("warm (nothing changed)", [run(repo, *score) for _ in range(args.repeat)])
        after = []
        for n in range(args.repeat):
            commit_one_change(repo, n)
            after.append(run(repo, *score))
        report("after a one-deal commit", after)


if __name__ == "__main__":
    main()
