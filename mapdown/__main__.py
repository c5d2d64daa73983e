"""Entry point: runs the CLI so that no traceback ever reaches a user."""

from __future__ import annotations

import contextlib
import os
import sys

import click


def main() -> None:
    from mapdown.cli import cli

    try:
        try:
            cli.main(prog_name="mapdown", standalone_mode=True)
        except SystemExit as done:  # how click ends every command, whatever its outcome
            leave(done.code)
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for MAPDOWN_DEBUG
        if os.environ.get("MAPDOWN_DEBUG"):
            raise
        click.echo(
            f"mapdown: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in mapdown. Run again with MAPDOWN_DEBUG=1 for the details "
            "and report it.",
            err=True,
        )
        sys.exit(3)


def leave(code: object) -> None:
    """End the process at once with `code` (as `sys.exit` reads it), its output flushed.

    Python's own exit frees every object one by one: after a build of 1,000 deals, a second
    spent on the history and caches the process is about to give back whole. Nothing is left
    to do at exit: the commands close their files, caches and git readers themselves, and
    their helper processes are waited for (or, like the deletion of a replaced site, meant to
    outlive the command)."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
