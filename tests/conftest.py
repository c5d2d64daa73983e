"""Shared fixtures. Tests never read the wall clock: every command gets `--as-of`."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mapdown.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = ROOT / "deals"
AS_OF = "2026-11-26"


@dataclass
class Run:
    exit_code: int
    output: str  # stdout
    stderr: str
    exception: BaseException | None

    def json(self) -> object:
        return json.loads(self.output)


def invoke(args: list[str], cwd: Path) -> Run:
    """Run the CLI in-process from `cwd`; a traceback-worthy exception fails the test."""
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(cli, args, catch_exceptions=True)
    finally:
        os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"mapdown {' '.join(args)} raised") from result.exception
    return Run(result.exit_code, result.stdout, result.stderr, result.exception)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        default=False,
        help="Rewrite the expected output in tests/data/site-snapshot/ from this build.",
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty deals repository (a folder with mapdown.yaml and deals/)."""
    (tmp_path / "mapdown.yaml").write_text("timezone: UTC\n", encoding="utf-8")
    (tmp_path / "deals").mkdir()
    return tmp_path


@pytest.fixture
def run(repo: Path) -> Callable[..., Run]:
    """`run("check", "--as-of", AS_OF)` inside the `repo` fixture."""

    def _run(*args: str, cwd: Path | None = None) -> Run:
        return invoke(list(args), cwd or repo)

    return _run


@pytest.fixture
def examples(repo: Path) -> Path:
    """The repository's example deals copied into `repo`."""
    for path in EXAMPLES.glob("*.md"):
        shutil.copy(path, repo / "deals" / path.name)
    return repo


# ---------------------------------------------------------------- reproducer fixtures

_EXPECT = re.compile(r"^\s*#\s*expect:\s*(.+?)\s*$", re.MULTILINE)


def expectations(path: Path) -> Counter[tuple[str, int, int]]:
    """What a fixture declares it produces: its `# expect: CODE line:col` lines, with repeats.

    `# expect: none` declares a file with no diagnostic at all.
    """
    found: Counter[tuple[str, int, int]] = Counter()
    lines = _EXPECT.findall(path.read_text(encoding="utf-8"))
    assert lines, f"{path.name} declares no `# expect:` line"
    for spec in lines:
        if spec == "none":
            continue
        code, place = spec.split()
        line, col = place.split(":")
        found[(code, int(line), int(col))] += 1
    return found


def deal_name(fixture: Path) -> str:
    """The file name a fixture is checked under: `MAP104-month13.md` → `map104-month13.md`.

    Fixtures are named after their code, which is not a valid deal id; checked under their own
    name every one would also report MAP105 for the name. Other names (`Bad_Name.md`) are kept.
    """
    name = fixture.name
    return name.lower() if name.startswith("MAP") else name


def positions(records: list[dict[str, Any]], severity: str | None = None) -> Counter:
    """(code, line, col) of JSON records, with repeats, optionally of one severity."""
    return Counter(
        (r["code"], r["line"], r["col"])
        for r in records
        if severity is None or r["severity"] == severity
    )


@pytest.fixture
def check_fixture(repo: Path) -> Callable[..., tuple[Run, str]]:
    """Copy a fixture into `repo/deals/` under its deal name and check it as JSON.

    Returns the run and the path as the diagnostics show it.
    """

    def _check(fixture: Path, *extra: str) -> tuple[Run, str]:
        target = repo / "deals" / deal_name(fixture)
        shutil.copyfile(fixture, target)
        shown = f"deals/{target.name}"
        result = invoke(["check", "--format", "json", "--as-of", AS_OF, *extra, shown], repo)
        return result, shown

    return _check
