"""`mapdown check`: exit codes, the three output formats, and mapdown.yaml."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import AS_OF, DATA, expectations, invoke, positions

CLEAN = DATA / "findings" / "clean.md"
ERROR = DATA / "errors" / "MAP106.md"  # owner `Vic Stoner` at 85:12
WARNINGS = DATA / "findings" / "MAP203.md"  # one MAP203 at 66:10


def put(repo: Path, fixture: Path, name: str) -> str:
    shutil.copyfile(fixture, repo / "deals" / name)
    return f"deals/{name}"


# ---------------------------------------------------------------- exit codes


def test_exit_0_with_no_problem(run, repo):
    put(repo, CLEAN, "clean.md")
    result = run("check", "--as-of", AS_OF)
    assert result.exit_code == 0
    assert result.output.strip() == "Checked 1 file: no problems."


def test_exit_0_with_warnings_only(run, repo):
    put(repo, WARNINGS, "warn.md")
    result = run("check", "--as-of", AS_OF)
    assert result.exit_code == 0
    assert "warning MAP203" in result.output
    assert result.output.rstrip().endswith("Checked 1 file: 0 errors, 1 warning.")


def test_exit_1_with_an_error(run, repo):
    put(repo, ERROR, "bad.md")
    put(repo, CLEAN, "clean.md")
    result = run("check", "--as-of", AS_OF)
    assert result.exit_code == 1
    assert "Checked 2 files: 1 error, 0 warnings." in result.output


def test_strict_fails_on_warnings(run, repo):
    put(repo, WARNINGS, "warn.md")
    result = run("check", "--as-of", AS_OF, "--strict", "--format", "json")
    assert result.exit_code == 1
    assert [(r["code"], r["severity"]) for r in result.json()] == [("MAP203", "error")]


def test_strict_passes_a_clean_deal(run, repo):
    put(repo, CLEAN, "clean.md")
    assert run("check", "--as-of", AS_OF, "--strict").exit_code == 0


def test_unknown_option_exits_2(run, repo):
    result = run("check", "--as-of", AS_OF, "--bogus")
    assert result.exit_code == 2
    assert "--bogus" in result.stderr


def test_unknown_format_exits_2(run):
    assert run("check", "--as-of", AS_OF, "--format", "xml").exit_code == 2


@pytest.mark.parametrize("day", ["2026-11-31", "26-11-2026", "2026-11-26T09:00", "tomorrow"])
def test_bad_as_of_exits_2(run, day):
    result = run("check", "--as-of", day)
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.stderr


def test_missing_path_exits_2(run, repo):
    put(repo, CLEAN, "clean.md")
    result = run("check", "--as-of", AS_OF, "deals/nope.md")
    assert result.exit_code == 2
    assert "deals/nope.md" in result.stderr
    assert result.output == ""


def test_missing_deals_folder_exits_2(run, repo):
    (repo / "deals").rmdir()
    result = run("check", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "deals/" in result.stderr


def test_default_path_is_the_repositorys_deals_folder_from_a_subfolder(repo):
    put(repo, ERROR, "bad.md")
    (repo / "notes").mkdir()
    result = invoke(["check", "--as-of", AS_OF, "--format", "json"], repo / "notes")
    assert result.exit_code == 1
    [record] = result.json()
    # outside the working folder a path is shown relative to it, as editors and shells expect
    assert record["path"] == "../deals/bad.md"


def test_folder_and_file_arguments(run, repo):
    put(repo, CLEAN, "clean.md")
    put(repo, WARNINGS, "warn.md")
    (repo / "deals" / "README.md").write_text("# Deals\n", encoding="utf-8")
    (repo / "deals" / ".drafts").mkdir()
    put(repo, ERROR, ".drafts/bad.md")
    result = run("check", "--as-of", AS_OF, "deals", "deals/warn.md")
    assert result.exit_code == 0  # README.md and hidden folders are skipped, files counted once
    assert "Checked 2 files: 0 errors, 1 warning." in result.output


# ---------------------------------------------------------------- text


def test_text_format(run, repo):
    put(repo, ERROR, "bad.md")
    result = run("check", "--as-of", AS_OF)
    lines = result.output.splitlines()
    assert lines[0] == "deals/bad.md:85:12: error MAP106 owner `Vic Stoner` is not in people"
    assert lines[1] == " 85 |     owner: Vic Stoner"
    assert lines[2] == "    |            " + "^" * len("Vic Stoner")
    assert re.fullmatch(r"   = help: .*add `Vic Stoner` to people.*", lines[3])
    assert lines[-1] == (
        "Checked 1 file: 1 error, 0 warnings. Findings were not checked in 1 file with errors;"
        " fix the errors first."
    )


def test_text_marker_sits_under_the_bad_part(run, repo):
    put(repo, DATA / "findings" / "MAP215.md", "dep.md")
    lines = run("check", "--as-of", AS_OF).output.splitlines()
    assert lines[0].startswith("deals/dep.md:80:30: warning MAP215 ")
    source = lines[1].split(" | ", 1)[1]
    marker = lines[2].split(" | ", 1)[1]
    start = marker.index("^")
    assert start == 29
    assert source[start : start + marker.count("^")] == "legal-review"


def test_text_marks_a_key_for_findings_about_a_list(run, repo):
    put(repo, DATA / "findings" / "MAP217.md", "small.md")
    lines = run("check", "--as-of", AS_OF).output.splitlines()
    assert lines[0].startswith("deals/small.md:28:1: warning MAP217 only 5 open steps")
    assert lines[1:3] == [" 28 | milestones:", "    | ^^^^^^^^^^"]


def test_text_without_a_source_line(run, repo):
    (repo / "deals" / "empty.md").write_bytes(b"")
    lines = run("check", "--as-of", AS_OF).output.splitlines()
    assert lines[0] == "deals/empty.md:1:1: error MAP100 the file is empty"
    assert lines[1].startswith("   = help: ")


def test_text_is_sorted_by_file_line_and_column(examples):
    result = invoke(["check", "--as-of", AS_OF], examples)
    heads = [
        (m[1], int(m[2]), int(m[3]))
        for m in re.finditer(r"^(\S+?):(\d+):(\d+): ", result.output, re.MULTILINE)
    ]
    assert len(heads) == 17
    assert heads == sorted(heads)


def test_no_color_escape_codes_when_not_a_terminal(examples):
    result = invoke(["check", "--as-of", AS_OF], examples)
    assert "\x1b[" not in result.output


# ---------------------------------------------------------------- json


def test_json_format(run, repo):
    put(repo, ERROR, "bad.md")
    put(repo, WARNINGS, "warn.md")
    result = run("check", "--as-of", AS_OF, "--format", "json")
    records = result.json()
    assert isinstance(records, list)
    for record in records:
        assert {"path", "line", "col", "code", "severity", "message"} <= set(record)
        assert record["line"] >= 1
        assert record["col"] >= 1
        assert record["severity"] in ("error", "warning")
    assert [(r["path"], r["line"], r["col"], r["code"], r["severity"]) for r in records] == [
        ("deals/bad.md", 85, 12, "MAP106", "error"),
        ("deals/warn.md", 66, 10, "MAP203", "warning"),
    ]


def test_json_is_an_empty_array_when_clean(run, repo):
    put(repo, CLEAN, "clean.md")
    result = run("check", "--as-of", AS_OF, "--format", "json")
    assert result.json() == []


def test_json_keeps_non_ascii(run, repo):
    put(repo, DATA / "errors" / "MAP106-nonascii.md", "zoe.md")
    result = run("check", "--as-of", AS_OF, "--format", "json")
    assert "李明" in result.output
    assert result.json()[0]["message"] == "review with `李明`: not in people"


# ---------------------------------------------------------------- github


def github(repo: Path, *paths: str, cwd: Path | None = None) -> list[str]:
    result = invoke(["check", "--as-of", AS_OF, "--format", "github", *paths], cwd or repo)
    return result.output.splitlines()


def test_github_format(repo):
    put(repo, ERROR, "bad.md")
    [line] = github(repo)
    assert line.startswith("::error file=deals/bad.md,line=85,col=12,")
    assert ",title=MAP106::owner `Vic Stoner` is not in people" in line


def test_github_errors_come_before_warnings(repo):
    put(repo, WARNINGS, "a-warn.md")
    put(repo, ERROR, "z-bad.md")
    lines = github(repo)
    assert [line.split(" ", 1)[0] for line in lines] == ["::error", "::warning"]
    assert "file=deals/z-bad.md" in lines[0]
    assert "file=deals/a-warn.md,line=66,col=10," in lines[1]


def test_github_file_is_relative_to_the_repository_root(repo):
    put(repo, ERROR, "bad.md")
    [line] = github(repo, "bad.md", cwd=repo / "deals")
    assert line.startswith("::error file=deals/bad.md,line=85,col=12,")


def test_github_escapes_data_and_properties(repo):
    text = CLEAN.read_text(encoding="utf-8")
    text = text.replace("    owner: Vic Stone", '    owner: "Vic\\r\\nStone 100%"')
    (repo / "deals" / "a,b:c%.md").write_text(text, encoding="utf-8")
    lines = github(repo)
    assert len(lines) == 2
    for line in lines:
        # the properties: `,` and `:` escaped besides `%`, `\r` and `\n`
        assert line.split(" ", 1)[1].startswith("file=deals/a%2Cb%3Ac%25.md,line=")
    name, owner = sorted(lines, key=lambda line: "MAP106" in line)
    assert "title=MAP105::" in name
    assert name.split("::")[2].startswith("the file name `a,b:c%25` is not a valid deal id")
    assert "title=MAP106::" in owner
    assert "owner `Vic%0D%0AStone 100%25` is not in people" in owner
    assert all("\r" not in line for line in lines)


def test_github_caps_each_kind_at_ten_with_one_notice(examples):
    lines = invoke(["check", "--as-of", AS_OF, "--format", "github"], examples).output
    lines = lines.splitlines()
    assert sum(line.startswith("::warning ") for line in lines) == 10
    notices = [line for line in lines if line.startswith("::notice")]
    assert len(notices) == 1
    assert "7 warnings more than GitHub shows" in notices[0]
    assert not any(line.startswith("::error") for line in lines)
    # the seven past the cap still reach the log, as plain lines
    assert sum(" warning MAP" in line and not line.startswith("::") for line in lines) == 7


def test_github_counts_errors_and_warnings_past_the_cap(examples):
    text = CLEAN.read_text(encoding="utf-8").replace("    owner: Ben Ode", "    owner: Nobody")
    text = text.replace("    with: Ana Silva", "    with: Nobody")
    for n in range(10):
        text = text.replace("reviews:\n", f"reviews:\n  - date: 2026-11-1{n}\n    with: N{n}\n")
    (examples / "deals" / "many-errors.md").write_text(text, encoding="utf-8")
    result = invoke(["check", "--as-of", AS_OF, "--format", "github"], examples)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    kinds = [line.split(" ", 1)[0] for line in lines if line.startswith("::")]
    assert kinds == ["::error"] * 10 + ["::warning"] * 10 + ["::notice"]
    # 13 errors (two owners, eleven reviews), 17 warnings: the rest reach the log as plain lines
    plain = re.findall(r"^deals/\S+:\d+:\d+: (error|warning) ", result.output, re.M)
    assert plain == ["error"] * 3 + ["warning"] * 7
    assert "3 errors and 7 warnings more than GitHub shows" in lines[20]


def test_github_prints_nothing_when_clean(repo):
    put(repo, CLEAN, "clean.md")
    assert github(repo) == []


# ---------------------------------------------------------------- mapdown.yaml


def test_bad_config_unknown_key_names_file_and_line(run, repo):
    (repo / "mapdown.yaml").write_text("timezone: UTC\nconfirmation_window: 14\n", encoding="utf-8")
    put(repo, CLEAN, "clean.md")
    result = run("check", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "mapdown.yaml:2:1" in result.stderr
    assert "confirmation_window" in result.stderr
    assert "did you mean `confirmation_window_days`" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_timezone(run, repo):
    (repo / "mapdown.yaml").write_text("timezone: Mars/Olympus_Mons\n", encoding="utf-8")
    result = run("check", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "mapdown.yaml:1:" in result.stderr
    assert "Mars/Olympus_Mons" in result.stderr


def test_bad_config_yaml_syntax(run, repo):
    (repo / "mapdown.yaml").write_text("timezone: UTC\nseverity: {MAP203: off\n", encoding="utf-8")
    result = run("check", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "mapdown.yaml:" in result.stderr
    assert "YAML" in result.stderr


@pytest.mark.parametrize(
    "body",
    [
        "severity: {MAP203: loud}\n",  # not a severity
        "severity: {MAP106: off}\n",  # errors cannot be turned off
        "confirmation_window_days: 0\n",
        "confirmation_window_days: thirty\n",
        "fiscal_year_start: 13\n",
        "plan_size_min: 40\n",  # larger than plan_size_max
        "team_words: legal\n",
    ],
)
def test_bad_config_values_exit_2(run, repo, body):
    (repo / "mapdown.yaml").write_text("timezone: UTC\n" + body, encoding="utf-8")
    result = run("check", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "mapdown.yaml" in result.stderr


def test_empty_config_is_the_defaults(run, repo):
    (repo / "mapdown.yaml").write_text("", encoding="utf-8")
    put(repo, WARNINGS, "warn.md")
    result = run("check", "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0
    assert positions(result.json()) == expectations(WARNINGS)


def test_config_option_reads_another_file(run, repo, tmp_path_factory):
    put(repo, DATA / "findings" / "MAP217.md", "small.md")
    settings = tmp_path_factory.mktemp("settings") / "team.yaml"
    settings.write_text("severity:\n  MAP217: off\n", encoding="utf-8")
    assert [r["code"] for r in run("check", "--as-of", AS_OF, "--format", "json").json()] == [
        "MAP217"
    ]
    result = run("check", "--as-of", AS_OF, "--format", "json", "--config", str(settings))
    assert result.exit_code == 0
    assert result.json() == []


def test_config_option_bad_file_names_it(run, repo, tmp_path_factory):
    settings = tmp_path_factory.mktemp("settings") / "team.yaml"
    settings.write_text("colour: blue\n", encoding="utf-8")
    result = run("check", "--as-of", AS_OF, "--config", str(settings))
    assert result.exit_code == 2
    assert f"{settings}:1:1" in result.stderr


def test_config_option_missing_file_exits_2(run):
    result = run("check", "--as-of", AS_OF, "--config", "nowhere.yaml")
    assert result.exit_code == 2
    assert "nowhere.yaml" in result.stderr


def test_severity_off_removes_a_finding(examples):
    before = invoke(["check", "--as-of", AS_OF, "--format", "json"], examples).json()
    assert "MAP211" in {r["code"] for r in before}
    (examples / "mapdown.yaml").write_text(
        "timezone: UTC\nseverity: {MAP211: off}\n", encoding="utf-8"
    )
    after = invoke(["check", "--as-of", AS_OF, "--format", "json"], examples).json()
    assert [r for r in before if r["code"] != "MAP211"] == after


def test_severity_off_map217(run, repo):
    put(repo, DATA / "findings" / "MAP217.md", "small.md")
    (repo / "mapdown.yaml").write_text("timezone: UTC\nseverity: {MAP217: off}\n", encoding="utf-8")
    result = run("check", "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0
    assert result.json() == []


def test_severity_error_makes_check_exit_1(run, repo):
    put(repo, WARNINGS, "warn.md")
    config = "timezone: UTC\nseverity: {MAP203: error}\n"
    (repo / "mapdown.yaml").write_text(config, encoding="utf-8")
    result = run("check", "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 1
    assert [(r["code"], r["severity"]) for r in result.json()] == [("MAP203", "error")]
    text = run("check", "--as-of", AS_OF)
    assert "deals/warn.md:66:10: error MAP203" in text.output


@pytest.mark.parametrize(("days", "found"), [(13, 0), (14, 1), (30, 1), (60, 6)])
def test_confirmation_window_days_changes_map203(run, repo, days, found):
    put(repo, WARNINGS, "warn.md")  # business-case due 2026-12-10, 14 days after as-of
    (repo / "mapdown.yaml").write_text(
        f"timezone: UTC\nconfirmation_window_days: {days}\n", encoding="utf-8"
    )
    records = run("check", "--as-of", AS_OF, "--format", "json").json()
    assert [r["code"] for r in records] == ["MAP203"] * found
    if found:
        assert f"in the next {days} days" in records[0]["message"]


def test_config_timezone_is_accepted(run, repo):
    (repo / "mapdown.yaml").write_text("timezone: Europe/Berlin\n", encoding="utf-8")
    put(repo, CLEAN, "clean.md")
    assert run("check", "--as-of", AS_OF).exit_code == 0


def test_many_files_are_checked_in_parallel_with_the_same_result(repo, monkeypatch):
    import mapdown.check

    for i in range(12):
        put(repo, WARNINGS, f"warn-{i:02d}.md")
    put(repo, ERROR, "bad.md")
    put(repo, WARNINGS, "bad-twin.md")
    (repo / "deals" / "sub").mkdir()
    put(repo, WARNINGS, "sub/warn-03.md")  # a second file with the id warn-03
    serial = invoke(["check", "--as-of", AS_OF, "--format", "json"], repo)
    monkeypatch.setattr(mapdown.check, "PARALLEL_FROM", 4)
    parallel = invoke(["check", "--as-of", AS_OF, "--format", "json"], repo)
    assert parallel.exit_code == serial.exit_code == 1
    assert parallel.output == serial.output
    codes = {r["code"] for r in parallel.json()}
    assert {"MAP105", "MAP106", "MAP203"} <= codes  # duplicate id, the error, the findings
