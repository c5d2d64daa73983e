"""Entry point: runs the CLI so that no traceback ever reaches a user."""

from __future__ import annotations

import os
import sys

import click


def main() -> None:
    from mapdown.cli import cli

    try:
        cli.main(prog_name="mapdown", standalone_mode=True)
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


if __name__ == "__main__":
    main()
