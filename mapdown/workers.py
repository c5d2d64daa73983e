"""Forked workers: a function run in a child process, its answer sent back over a pipe.

Reading the history and building the site both split their work per deal between this process
and a forked copy of it (`RepoHistory.map_deals`, `Site.compute_pages`). The child inherits
everything already read, so nothing is sent to it; it sends back plain data (dicts, lists,
strings, numbers) with `marshal`, which is fast and cannot run code. A child never returns
into the caller's code: it exits as soon as its answer is written, and frees nothing (every
resource it holds is its parent's).
"""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click


@dataclass
class Worker:
    pid: int
    read: int  # the pipe its answer comes back on


def can_fork() -> bool:
    return hasattr(os, "fork")


def fork(work: Callable[[], Any]) -> Worker:
    """Run `work()` in a forked child; `collect` gives its answer."""
    for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
        stream.flush()
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
