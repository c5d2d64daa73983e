"""Where a computed deal's time goes in `mapdown build`: its data, each template, its files.

    python benchmarks/bench_deal.py [REPO] [--deals 100] [--as-of 2026-11-02] [--repeat 3]
                                    [--out DIR]

REPO is a deals repository with history (default: the 100-deal, 40-revision repository
`run.py` builds, benchmarks/out/d100-r40-s7/repo; `python benchmarks/run.py --deals 100
--repeat 1 --only floor` makes it in a minute, and it is reused from then on). Its
first `--deals` deals are read and prepared as a build prepares them (history read, every
version a deal needs loaded), then each is computed and rendered in this one process, as a
build's worker does, writing into `--out` (default: a new folder under /dev/shm when there is
one, so that the disk's state does not enter the figures). Each part is timed in CPU time
(`time.process_time`), and the whole pass is repeated `--repeat` times from scratch (every
memo dropped); the table shows, per deal, the fastest pass of each part and of the whole:
this machine's timing varies by ±20% from minute to minute, and the fastest pass is the
least disturbed one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import itertools
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from mapdown import plan, rules, site  # noqa: E402
from mapdown.config import find_config, load_config  # noqa: E402
from mapdown.history import read_history  # noqa: E402

try:
    from mapdown.workers import batch_gc, settle
except ImportError:  # an older mapdown, timed for comparison
    from contextlib import nullcontext as batch_gc

    def settle() -> None:
        pass


try:
    from mapdown import weekpage

    week_page = weekpage.week_page
except ImportError:  # an older mapdown: every weekly page by Jinja
    week_page = None

WEEK_PAGES = "the weekly pages (weekpage, without writing)"
MEMOS = ("_walk_plan", "_static_findings", "_missing_internal", "_covered")
# the memos kept across deals (each only where this mapdown has it)
CACHES: list[Any] = [
    getattr(module, name)
    for module, name in ((plan, "_finish_of"), (rules, "_missing_for"), (rules, "_row_is"))
    if hasattr(module, name)
]


def forget(parts: list[site.DealPart]) -> None:
    """Every memo a deal's computation leaves, dropped, and every past version parsed again:
    each pass starts where a build's worker starts."""
    for cache in CACHES:
        cache.cache_clear()
    for part in parts:
        part.__dict__.pop("data", None)
        part.__dict__.pop("text", None)
        assert part.item is not None
        for name in MEMOS:
            part.item.deal.__dict__.pop(name, None)
        if part.item.history is not None:
            history = part.item.history
            history.forget_deals() if hasattr(history, "forget_deals") else history._deals.clear()


def timed(clock: dict[str, float], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            clock[name] += time.process_time() - start

    return run


def one_pass(
    parts: list[site.DealPart], render: site.Site, out: Path
) -> tuple[dict[str, float], float]:
    clock: dict[str, float] = defaultdict(float)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    write = site.Writer(out)
    write_file = site.Writer.__call__
    page_html = render.page_html
    site.Writer.__call__ = timed(clock, "writing its files", write_file)  # type: ignore[method-assign]
    try:

        def page(path: str, template: str, **context: Any) -> str:
            start = time.process_time()
            try:
                return page_html(path, template, **context)
            finally:
                clock[f"template {template}"] += time.process_time() - start

        render.page_html = page  # type: ignore[method-assign]
        render.calendar = timed(clock, "its calendar", render.calendar)  # type: ignore[method-assign]
        render.chart = timed(clock, "its charts", render.chart)  # type: ignore[method-assign]
        if week_page is not None:  # the weekly pages written in Python, where this mapdown can
            weekpage.week_page = timed(clock, WEEK_PAGES, week_page)
        begin = time.process_time()
        for part in parts:
            start = time.process_time()
            part.data  # noqa: B018 - computed here, timed apart
            clock["its data (scores, countdown weeks, questions)"] += time.process_time() - start
            start = time.process_time()
            part.text  # noqa: B018
            clock["its JSON"] += time.process_time() - start
            render.write_deal(write, part)
        total = time.process_time() - begin
    finally:
        site.Writer.__call__ = write_file  # type: ignore[method-assign]
        del render.page_html, render.calendar, render.chart
        if week_page is not None:
            weekpage.week_page = week_page
    return clock, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", default=str(HERE / "out" / "d100-r40-s7" / "repo"))
    parser.add_argument("--deals", type=int, default=100)
    parser.add_argument("--as-of", default="2026-11-02")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    root = Path(args.repo).resolve()
    if not (root / ".git").exists():
        sys.exit(
            f"{root} is not a git repository: make it with "
            "`python benchmarks/run.py --deals 100 --repeat 1 --only floor`"
        )
    shm = Path("/dev/shm")
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(dir=shm if shm.is_dir() else None))
    as_of = dt.date.fromisoformat(args.as_of)
    config = load_config(find_config(root))
    with batch_gc():
        repo = read_history(root, config.deals_dir, config.tz, use_cache=False, worktree=False)
        render = site.Site(site.make_environment(root), as_of, config, None, 1, None)
        parts = list(itertools.islice(site.iter_deals(root, config, as_of, repo, 1), args.deals))
        for part in parts:
            assert part.item is not None
            if part.item.history is not None:
                site.preload(part.item.history)
        settle()
        best: dict[str, float] = {}
        best_total = float("inf")
        for _ in range(args.repeat):
            forget(parts)
            clock, total = one_pass(parts, render, out)
            for name, seconds in clock.items():
                best[name] = min(best.get(name, seconds), seconds)
            best_total = min(best_total, total)
    shutil.rmtree(out, ignore_errors=True)
    n = len(parts)
    weeks = sum(len(part.data["countdown"]) for part in parts)
    print(f"{n} deals ({weeks} weekly pages) of {root}, fastest of {args.repeat} passes")
    print()
    print("| part of a computed deal | CPU per deal |")
    print("|---|--:|")
    for name, seconds in sorted(best.items(), key=lambda item: -item[1]):
        print(f"| {name} | {1000 * seconds / n:.2f} ms |")
    print(f"| **the whole deal** | **{1000 * best_total / n:.2f} ms** |")
    week = best.get("template deal_week.html", best.get(WEEK_PAGES))
    if week is not None and weeks:
        print(f"\nA weekly countdown page: {1000 * week / weeks:.3f} ms of CPU.")


if __name__ == "__main__":
    main()
