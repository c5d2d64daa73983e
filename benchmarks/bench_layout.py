"""What bounds the history pass as deals grow: the layout of the deals folder, not mapdown.

    python benchmarks/bench_layout.py [--deals 1000,5000] [--revisions 40] [--per-folder 100]
                                      [--repeat 3] [--workdir DIR]

For each size, two repositories that differ only in layout, made with `git fast-import`:
every deal file directly in `deals/` (flat), or in subfolders of `--per-folder` deals each
(`deals/g000/…`, as a team or a quarter would group them; mapdown reads deals in subfolders
too). Each commit changes one deal (deals in turn, `--revisions` commits per deal), as a seller's
pull request does. Then, on each, mapdown's own `git log` command over `deals/` (the one
`mapdown.gitio.read_log` runs, output thrown away) is timed `--repeat` times in a fresh process.

`git log --raw` compares each commit's tree with its parent's. In a flat folder the `deals/`
tree has one entry per deal and every commit changes it, so git reads and compares a tree that
grows with the deals at every commit, and commits grow with the deals too: the pass grows with
the square of the deals. In subfolders a commit changes one small subfolder and the short list
of subfolders, and the pass grows close to linearly (the list of subfolders still grows with
the deals). The figures print as a table.
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mapdown.gitio import LOG_OPTIONS  # mapdown's log command, minus the range and folder

START = 1767225600  # 2026-01-01T00:00:00Z: commits are an hour apart from here
DEAL = """---
title: Customer {n:05d} platform
customer: Customer {n:05d} Holdings
go_live: 2027-03-01
people:
  - name: Ana Silva
    side: customer
    role: champion
milestones:
  - id: security-review
    step: Security review
    owner: Ana Silva
    due: 2026-12-04
---
Notes.
"""


def path_of(n: int, per_folder: int) -> str:
    name = f"deal-{n:05d}.md"
    return f"deals/{name}" if per_folder <= 0 else f"deals/g{n // per_folder:03d}/{name}"


def stream(deals: int, revisions: int, per_folder: int) -> bytes:
    """A fast-import stream: every deal added, then one commit per change of one deal."""
    out: list[str] = []
    texts = {n: DEAL.format(n=n) for n in range(deals)}

    def commit(i: int, message: str, files: dict[int, str]) -> None:
        when = START + i * 3600
        out.append("commit refs/heads/main\n")
        out.append(f"committer Bench <bench@example.com> {when} +0000\n")
        data = message.encode()
        out.append(f"data {len(data)}\n{message}\n")
        for n, text in files.items():
            body = text.encode()
            out.append(f"M 100644 inline {path_of(n, per_folder)}\ndata {len(body)}\n{text}\n")

    commit(0, "all deals", texts)
    i = 1
    for r in range(revisions - 1):
        for n in range(deals):
            texts[n] += f"- revision {r}\n"
            commit(i, f"deal-{n:05d}: revision {r}", {n: texts[n]})
            i += 1
    return "".join(out).encode()


def make(folder: Path, deals: int, revisions: int, per_folder: int) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(folder)], check=True)
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=folder,
        input=stream(deals, revisions, per_folder),
        check=True,
    )
    subprocess.run(["git", "repack", "-adq"], cwd=folder, check=True)  # as a clone has it


def time_log(folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["git", *LOG_OPTIONS, "HEAD", "--", "deals"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", default="1000,5000")
    parser.add_argument("--revisions", type=int, default=40)
    parser.add_argument("--per-folder", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    sizes = [int(d) for d in args.deals.split(",")]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mapdown-layout-"))
    results: dict[str, list[float]] = {}
    for deals in sizes:
        for layout, per in (("flat", 0), (f"{args.per_folder} per folder", args.per_folder)):
            folder = work / f"d{deals}-{'flat' if per == 0 else f'p{per}'}"
            print(f"[{deals} deals, {layout}] making the repository…", file=sys.stderr)
            make(folder, deals, args.revisions, per)
            runs = [time_log(folder) for _ in range(args.repeat)]
            results[f"{deals}|{layout}"] = runs
            print(
                f"[{deals} deals, {layout}] git log: " + ", ".join(f"{r:.2f} s" for r in runs),
                file=sys.stderr,
            )
    layouts = ["flat", f"{args.per_folder} per folder"]
    print(f"\n`git log` over deals/, {args.revisions} revisions per deal, median of {args.repeat}")
    print("(range), this machine; growth scaled to a 10× step in deals (×10 is linear):\n")
    head = " | ".join(f"{d:,} deals" for d in sizes)
    print(f"| layout | {head} | growth |")
    print("|---|" + "--:|" * len(sizes) + "---|")
    for layout in layouts:
        cells, medians = [], []
        for deals in sizes:
            runs = results[f"{deals}|{layout}"]
            medians.append(statistics.median(runs))
            cells.append(f"{medians[-1]:.2f} s ({min(runs):.2f}–{max(runs):.2f})")
        growth = ""
        if len(sizes) > 1 and medians[0] > 0:
            exponent = math.log(medians[-1] / medians[0]) / math.log(sizes[-1] / sizes[0])
            growth = f"×{10**exponent:.1f} per 10× (exponent {exponent:.2f})"
        print(f"| {layout} | " + " | ".join(cells) + f" | {growth} |")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
