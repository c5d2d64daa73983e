"""Forked workers: a function run in a child process, its answer sent back over a pipe.

Reading the history and building the site both split their work per deal between this process
and a forked copy of it (`RepoHistory.map_deals`, `Site.compute_pages`). The child inherits
everything already read, so nothing is sent to it; it sends back plain data (dicts, lists,
strings, numbers) with `marshal`, which is fast and cannot run code. A child never returns
into the caller's code: it exits as soon as its answer is written, and frees nothing (every
resource it holds is its parent's).
"""

from __future__ import annotations

import gc
import marshal
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click


@dataclass
class Worker:
    pid: int
    read: int  # the pipe its answer comes back on


def can_fork() -> bool:
    return hasattr(os, "fork")


# New container objects between two young collections (Python: 700). A build makes next to no
# reference cycles (tests/test_plan.py and test_charts.py hold the two that were per week and
# per deal), so a collection finds nothing to free and only walks what is young: at 200,000,
# 0.55 s of each process's CPU in a cold build of 1,000 deals; at 2,000,000, 0.01 s.
BATCH_GC_THRESHOLD = 2_000_000
_batches = 0  # how many batch_gc() blocks are open


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@contextmanager
def batch_gc() -> Iterator[None]:
    """Python's cycle collector set for one large batch of work, such as a build.

    A build keeps its history (hundreds of megabytes of small objects) for its whole run and
    makes and drops millions more. With Python's settings the collector ran thousands of
    times and walked that whole history at each full collection: 8 s of CPU in a cold build
    of 1,000 deals. Inside this block, young collections come after BATCH_GC_THRESHOLD new
    objects, not 700, and `settle()` (called once the history is read, and by `fork` before
    each child) moves everything made so far out of the collector's sight. On the way out
    the settings are restored and the settled objects are handed back to the collector, so a
    long-running process (`mapdown serve`) collects each build's cycles after it.
    """
    global _batches
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], BATCH_GC_THRESHOLD), old[1], old[2])
    _batches += 1
    try:
        yield
    finally:
        _batches -= 1
        gc.set_threshold(*old)
        if not _batches:
            gc.unfreeze()


def settle() -> None:
    """Inside `batch_gc`: everything alive now is kept out of later collections (gc.freeze).
    Before a fork this also keeps the child's collector from writing to the pages it shares
    with its parent, each of which would then be copied."""
    if _batches:
        gc.freeze()


def fork(work: Callable[[], Any]) -> Worker:
    """Run `work()` in a forked child; `collect` gives its answer."""
    for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
        stream.flush()
    settle()
    read, send = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read)
            try:
                answer: tuple[str, Any] = ("ok", work())
            except click.ClickException as exc:  # a message for the user, as it stands
                answer = ("error", exc.format_message())
            except BaseException as exc:
                answer = ("error", f"internal error in a worker process: {exc!r}")
            payload = marshal.dumps(answer)
            with os.fdopen(send, "wb") as out:
                out.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(send)
    return Worker(pid, read)


def collect(worker: Worker) -> tuple[str, Any]:
    """The worker's answer, once it has exited: ("ok", value), or ("error", message) when its
    work raised or it stopped without answering."""
    with os.fdopen(worker.read, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(worker.pid, 0)
    try:
        kind, value = marshal.loads(payload)
        if kind not in ("ok", "error"):
            raise ValueError(kind)
    except (EOFError, ValueError, TypeError):
        return "error", f"a worker process stopped without an answer (status {status})"
    return kind, value
