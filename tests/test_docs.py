"""`mapdown rules`, the rule pages, and the docs generated from them."""

from __future__ import annotations

import re

import pytest
from conftest import AS_OF, ROOT, invoke

from mapdown.rules import RULES

HEADINGS = ["## What it checks", "## Why it matters", "## Example", "## How to fix"]
CODES = [f"MAP1{n:02d}" for n in range(10)] + [f"MAP2{n:02d}" for n in range(1, 18)]


def rules(tmp_path, *args: str):
    return invoke(["rules", *args], tmp_path)


def test_there_are_27_codes():
    assert len(CODES) == 27
    assert list(RULES) == CODES


def test_rules_lists_every_code_and_name(tmp_path):
    result = rules(tmp_path)
    assert result.exit_code == 0
    listed = re.findall(r"^(MAP\d{3})\s+(\S+)\s+(error|finding)\s", result.output, re.MULTILINE)
    assert [code for code, _, _ in listed] == CODES
    assert {code: name for code, name, _ in listed} == {c: r.name for c, r in RULES.items()}
    assert all((kind == "error") == (code < "MAP200") for code, _, kind in listed)
    assert ("MAP206", "single-threaded", "finding") in listed
    for code in ("MAP205", "MAP213", "MAP214"):
        assert re.search(rf"^{code} .*\(from git history\)$", result.output, re.MULTILINE)


@pytest.mark.parametrize("query", ["MAP206", "map206", "206", "single-threaded"])
def test_rules_code_prints_the_page(tmp_path, query):
    result = rules(tmp_path, query)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "# MAP206 single-threaded"
    assert [line for line in lines if line.startswith("## ")] == HEADINGS


@pytest.mark.parametrize("code", CODES)
def test_every_rule_page_has_the_four_sections(tmp_path, code):
    result = rules(tmp_path, code)
    assert result.exit_code == 0
    page = result.output
    assert page.splitlines()[0] == f"# {code} {RULES[code].name}"
    assert [line for line in page.splitlines() if line.startswith("## ")] == HEADINGS
    for heading, following in zip(HEADINGS, [*HEADINGS[1:], None], strict=True):
        section = page.split(heading, 1)[1]
        section = section.split(following, 1)[0] if following else section
        assert section.strip(), f"{code}: {heading} is empty"
    example = page.split("## Example", 1)[1].split("## How to fix", 1)[0]
    assert "```" in example, f"{code}: the example shows no file"


@pytest.mark.parametrize("query", ["MAP999", "MAP300", "nonsense", ""])
def test_rules_unknown_code_exits_2(tmp_path, query):
    result = rules(tmp_path, query)
    assert result.exit_code == 2
    assert "mapdown rules" in result.stderr


def test_docs_rules_md_is_generated_from_the_pages(tmp_path):
    generated = rules(tmp_path, "--markdown")
    assert generated.exit_code == 0
    on_disk = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert on_disk == generated.output, "run `mapdown rules --markdown > docs/rules.md`"


def test_docs_rules_md_holds_every_page(tmp_path):
    text = rules(tmp_path, "--markdown").output
    for code, rule in RULES.items():
        assert f"\n## {code} {rule.name}\n" in text
        assert f"(#{code.lower()}-{rule.name})" in text  # the table links to the page
    assert text.count("\n### What it checks\n") == 27


def test_format_doc_example_passes_check(repo):
    text = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    example = text.split("```markdown\n", 1)[1].split("\n```\n", 1)[0]
    (repo / "deals" / "harbor-federal.md").write_text(example + "\n", encoding="utf-8")
    result = invoke(["check", "--as-of", AS_OF, "--format", "json"], repo)
    assert result.exit_code == 0, result.output
    assert all(r["severity"] == "warning" for r in result.json())


def test_configuration_page_names_every_setting():
    from mapdown.config import CONFIG

    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for f in CONFIG.fields:
        assert f"`{f.name}`" in page, f.name


def test_scoring_page_names_every_part_with_its_default_weight():
    from mapdown.score import DEFAULT_WEIGHTS

    page = (ROOT / "docs" / "scoring.md").read_text(encoding="utf-8")
    for part, weight in DEFAULT_WEIGHTS.items():
        assert f"| `{part}` | {weight:g} |" in page, part
