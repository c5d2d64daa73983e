"""`mapdown schema`: a draft 2020-12 JSON Schema a standard validator can use on the same files."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from conftest import DATA, EXAMPLES, invoke
from jsonschema import Draft202012Validator, FormatChecker

FINDINGS = sorted((DATA / "findings").glob("*.md"))


def front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    _, front, _ = text.split("---\n", 2)
    return yaml.safe_load(front)


def as_strings(data: dict) -> dict:
    """What a JSON pipeline sees: the dates as ISO text."""
    return json.loads(json.dumps(data, default=str))


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    result = invoke(["schema"], tmp_path_factory.mktemp("schema"))
    assert result.exit_code == 0
    return json.loads(result.output)


@pytest.fixture(scope="module")
def validator(schema) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FormatChecker())


def test_schema_is_a_valid_draft_2020_12_schema(schema):
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_config_schema_is_valid_too(tmp_path):
    result = invoke(["schema", "--config-schema"], tmp_path)
    assert result.exit_code == 0
    config = json.loads(result.output)
    Draft202012Validator.check_schema(config)
    Draft202012Validator(config).validate({"timezone": "UTC", "severity": {"MAP217": "off"}})
    assert not Draft202012Validator(config).is_valid({"severity": {"MAP106": "off"}})


def test_schema_covers_every_key_of_the_format(schema):
    assert set(schema["properties"]) == {
        "title", "customer", "go_live", "deadline", "deadline_reason", "close",
        "people", "milestones", "reviews",
    }  # fmt: skip
    assert set(schema["required"]) == {"title", "customer", "go_live", "people", "milestones"}
    milestone = schema["properties"]["milestones"]["items"]
    assert set(milestone["required"]) == {"id", "step", "track", "owner", "due", "exit"}
    assert milestone["additionalProperties"] is False


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.md")), ids=lambda p: p.name)
def test_examples_validate_as_loaded_with_date_objects(validator, example):
    data = front_matter(example)
    assert any(not isinstance(v, str) for v in (data["go_live"], data["milestones"][0]["due"]))
    validator.validate(data)


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.md")), ids=lambda p: p.name)
def test_examples_validate_with_dates_as_strings(validator, example):
    data = as_strings(front_matter(example))
    assert isinstance(data["go_live"], str)
    validator.validate(data)


@pytest.mark.parametrize("fixture", FINDINGS, ids=lambda p: p.name)
def test_every_valid_fixture_validates(validator, fixture):
    validator.validate(front_matter(fixture))
    validator.validate(as_strings(front_matter(fixture)))


def harbor() -> dict:
    return as_strings(front_matter(EXAMPLES / "harbor-federal.md"))


def broken(change) -> dict:
    data = copy.deepcopy(harbor())
    change(data)
    return data


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(due_date="2027-01-01"),  # unknown deal key
        lambda d: d["milestones"][0].update(due_date="2027-01-01"),  # unknown milestone key
        lambda d: d["milestones"][0].update(track="legal"),  # bad track
        lambda d: d["milestones"][0].update(status="finished"),
        lambda d: d["people"][0].update(side="partner"),
        lambda d: d.pop("go_live"),
        lambda d: d["milestones"][0].pop("exit"),
        lambda d: d["milestones"][0].update(due="Nov 10"),
        lambda d: d["milestones"][0].update(due="2026-13-01"),  # the format checker's work
        lambda d: d["milestones"][0].update(due=20261110),
        lambda d: d["milestones"][0].update(after="kickoff"),
        lambda d: d.update(title=""),
        lambda d: d.update(people={}),
    ],
    ids=[
        "unknown-key",
        "unknown-milestone-key",
        "bad-track",
        "bad-status",
        "bad-side",
        "no-go-live",
        "no-exit",
        "nov-10",
        "month-13",
        "number-date",
        "after-not-a-list",
        "empty-title",
        "people-not-a-list",
    ],
)
def test_invalid_front_matter_fails(validator, change):
    assert validator.is_valid(harbor())
    assert not validator.is_valid(broken(change))


def test_unknown_key_and_bad_track_fail_with_date_objects(validator):
    data = front_matter(EXAMPLES / "northwind-logistics.md")
    data["milestones"][1]["track"] = "legal"
    assert not validator.is_valid(data)
    data = front_matter(EXAMPLES / "northwind-logistics.md")
    data["colour"] = "blue"
    assert not validator.is_valid(data)
