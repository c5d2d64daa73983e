"""User-facing errors: each prints one clean line (no traceback) and sets the exit code."""

from __future__ import annotations

import click


class MapdownError(click.ClickException):
    """A problem with the user's data or repository: exit 1."""

    exit_code = 1


class UsageProblem(click.ClickException):
    """A problem with how the command was called or configured: exit 2."""

    exit_code = 2


class ConfigError(UsageProblem):
    """`mapdown.yaml` is not valid: exit 2, with file and line."""
