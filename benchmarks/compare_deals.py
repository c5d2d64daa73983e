"""Two versions of mapdown, deal by deal in turn: does B compute and render a deal in less CPU?

    python benchmarks/compare_deals.py REV_A REV_B [REPO] [--deals 400] [--cpu 1]
                                       [--as-of 2026-11-02]

Where `compare.py` times whole cold builds (and needs many rounds to see a change of a few per
cent through this machine's drift), this script times the part of a build that is a deal:
checked, its history read, its data computed, its pages, calendar and data.json written, and
its dashboard row rendered (`Site._render_deal`, as a build's worker runs it). REV_A and REV_B
are checked out in worktrees of their own (as `compare.py` does); each runs in a process of
its own, both pinned to the same CPU, each first reading REPO's history (uncached) as a build
does. Then the two take each deal in turn, A then B, B then A for the next, and each reports
the CPU time (`time.process_time`) the deal took it. A drift of the machine's speed lasts
seconds, a deal some 50 ms: both versions see the same machine for each deal. Printed: the
mean per deal of each, and of B − A its mean and median (the mean counts the collector's
passes, which fall on one deal or another).

REPO defaults to the 1,000-deal, 40-revision repository `run.py` makes. Revisions before
581a7d2 rendered the dashboard rows with the dashboards, not with each deal: for them the
worker renders the row after the deal, so that both sides do the same work.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def worker(code: str, repo: str, as_of: str, cpu: int) -> None:
    """One side: `code`'s mapdown, ready to render the deals of `repo` one by one, on asking."""
    os.sched_setaffinity(0, {cpu})
    sys.path.insert(0, code)
    import jinja2

    from mapdown import site
    from mapdown.config import find_config, load_config
    from mapdown.history import read_history
    from mapdown.workers import batch_gc, settle

    if not site.__file__ or not site.__file__.startswith(code):
        sys.exit(f"mapdown came from {site.__file__}, not from {code}")
    root = Path(repo)
    day = dt.date.fromisoformat(as_of)
    config = load_config(find_config(root))
    with batch_gc():
        history = read_history(root, config.deals_dir, config.tz, use_cache=False, worktree=False)
        env = site.make_environment(root)
        # the theme of `code`, last in the choice as mapdown's own loader has it
        env.loader = jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(str(Path(code) / "site_templates"))]
        )
        render = site.Site(env, day, config, None, 2, None)
        parts = list(site.iter_deals(root, config, day, history, 2))
        settle()
        shm = Path("/dev/shm")
        out = Path(tempfile.mkdtemp(dir=shm if shm.is_dir() else None))  # the disk kept out
        try:
            write = site.Writer(out)
            print(len(parts), flush=True)
            for line in sys.stdin:
                part = parts[int(line)]
                start = time.process_time()
                made = render._render_deal(write, part)
                if len(made) == 2:  # an older mapdown: its row was rendered with the dashboards
                    render.dashboard_row(made[0])
                print(f"{time.process_time() - start:.6f}", flush=True)
        finally:
            shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    from compare import benchmark_repo, two_revisions, worktree

    parser = two_revisions(__doc__)
    parser.add_argument("--deals", type=int, default=400)
    parser.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)))
    args = parser.parse_args()
    repo = benchmark_repo(args.repo)
    trees = Path(tempfile.mkdtemp(prefix="mapdown-compare-deals-"))
    code = {"A": worktree(args.rev_a, trees / "a"), "B": worktree(args.rev_b, trees / "b")}
    sides = {
        who: subprocess.Popen(
            [sys.executable, __file__, "--worker", str(path), str(repo), args.as_of, str(args.cpu)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=trees,
        )
        for who, path in code.items()
    }
    try:
        assert all(p.stdin and p.stdout for p in sides.values())
        count = min(int(p.stdout.readline()) for p in sides.values())  # type: ignore[union-attr]
        n = min(count, args.deals)
        print(f"A = {args.rev_a}, B = {args.rev_b}: {n} deals of {repo}, in turn on CPU {args.cpu}")
        took: dict[str, list[float]] = {"A": [], "B": []}
        for i in range(n):
            for who in "AB" if i % 2 == 0 else "BA":
                side = sides[who]
                side.stdin.write(f"{i}\n")  # type: ignore[union-attr]
                side.stdin.flush()  # type: ignore[union-attr]
                took[who].append(float(side.stdout.readline()))  # type: ignore[union-attr]
            if (i + 1) % 100 == 0 or i + 1 == n:
                a, b = took["A"], took["B"]
                diffs = [y - x for x, y in zip(a, b, strict=True)]
                print(
                    f"  {i + 1} deals: A {1000 * statistics.mean(a):.2f} ms, "
                    f"B {1000 * statistics.mean(b):.2f} ms a deal; B - A: mean "
                    f"{1000 * statistics.mean(diffs):+.2f} ms "
                    f"({100 * statistics.mean(diffs) / statistics.mean(a):+.1f}%), median "
                    f"{1000 * statistics.median(diffs):+.2f} ms",
                    flush=True,
                )
    finally:
        for side in sides.values():
            if side.stdin:
                side.stdin.close()
            side.wait()
        for path in code.values():
            subprocess.run(
                ["git", "-C", str(HERE.parent), "worktree", "remove", "--force", str(path)],
                check=False,
            )
        shutil.rmtree(trees, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:5], int(sys.argv[5]))
    else:
        main()
