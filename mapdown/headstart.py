"""A head start for git in `mapdown build`: the walk of HEAD's first-parent chain, which a
cold history is cut in two halves from (`gitio.read_log`), begun before the slow imports.

A cold build first walks the whole chain (`git rev-list`, half a second at 40,000 commits)
to find the middle commit, and only then starts the two halves of the log. That walk needs
nothing but the repository, so `build` starts it first thing, and git walks on one core while
Python loads mapdown, GitPython and the templates' libraries on the other. This module imports
nothing slow for that reason (`workers` imports click, which the command line has loaded).

Only an optimisation: the walk is used only if it is of the very commit the log reads (its
first line is that commit: a commit names its whole ancestry), else it is made again there.
It is not started when the repository has a cache (the log is then read from the cache and
needs no halves), nor with one CPU (no halves then either).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import IO

from mapdown import workers

CACHE_DIR = ".mapdown-cache"  # mapdown.cache.CACHE_DIR, named here to keep this import light


class HeadStart:
    """`git rev-list --first-parent HEAD` at work in `top`, its output going to a file."""

    def __init__(self, top: Path) -> None:
        # a file, not a pipe: git writes it all (1.6 MB at 40,000 commits) with no reader
        self._out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by take/close
        git = os.environ.get("GIT_PYTHON_GIT_EXECUTABLE") or "git"
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [git, "rev-list", "--first-parent", "HEAD"],
                cwd=top,
                stdin=subprocess.DEVNULL,
                stdout=self._out,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self._out.close()
            raise

    def take(self, head: str) -> list[bytes] | None:
        """The first-parent chain of `head`, newest first, once git is done; None if the walk
        failed or was of another commit."""
        if self._proc is None:
            return None
        code = self._proc.wait()
        self._proc = None
        self._out.seek(0)
        shas = self._out.read().split()
        self._out.close()
        if code or not shas or shas[0] != head.encode():
            return None
        return shas

    def close(self) -> None:
        """Ends the walk if nobody took it (the log came from the cache)."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._proc = None
        self._out.close()


_started: HeadStart | None = None


def begin(cwd: Path, no_cache: bool) -> HeadStart | None:
    """Start the walk for the repository around `cwd`, unless it has a cache (and `no_cache`
    is not given) or this process may run on one CPU only; the walk, for `close`."""
    global _started
    if workers.usable_cpus() < 2:
        return None
    start = cwd.resolve()
    top = next((f for f in (start, *start.parents) if (f / ".git").exists()), None)
    if top is None or (not no_cache and (top / CACHE_DIR).exists()):
        return None
    try:
        _started = HeadStart(top)
    except OSError:  # no git to run: the log will say so
        return None
    return _started


def take(head: str) -> list[bytes] | None:
    """The walk begun for `head`'s repository, if one was (each walk is taken once)."""
    global _started
    started, _started = _started, None
    return started.take(head) if started is not None else None


def close(started: HeadStart | None) -> None:
    global _started
    if started is not None:
        started.close()
        if _started is started:
            _started = None
