"""Error reproducers (MAP1xx) and bad input: each gives its code, file and line, exit 1.

Every file in tests/data/errors/ declares in `# expect:` comments exactly which errors it must
produce. Inputs that cannot hold a comment (empty, not UTF-8, no front matter, BOM, CRLF, huge,
symlinks) are generated here instead.
"""

from __future__ import annotations

import functools
import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import AS_OF, DATA, EXAMPLES, expectations, invoke, positions

ERRORS = sorted((DATA / "errors").glob("*.md"))
CLEAN = DATA / "findings" / "clean.md"


@pytest.mark.parametrize("fixture", ERRORS, ids=lambda p: p.name)
def test_error_reproducer(fixture, check_fixture):
    run, shown = check_fixture(fixture)
    assert run.exit_code == 1, run.output
    records = run.json()
    assert records, "an error reproducer must report something"
    assert {r["path"] for r in records} == {shown}
    # A file with errors gets no findings, so everything reported is an error.
    assert positions(records) == positions(records, "error")
    assert positions(records) == expectations(fixture)


def test_every_error_code_has_a_reproducer():
    codes = {f"MAP1{n:02d}" for n in range(10)}
    named = {p.name[:6] for p in ERRORS if p.name.startswith("MAP")}
    assert named == codes
    for fixture in ERRORS:
        if fixture.name.startswith("MAP"):
            declared = {code for code, _, _ in expectations(fixture)}
            assert fixture.name[:6] in declared, fixture.name


@pytest.mark.parametrize(
    "name",
    [
        "MAP100.md",  # YAML syntax error
        "MAP100-unterminated.md",
        "MAP100-list.md",
        "MAP100-tabs.md",
        "MAP100-duplicate-key.md",
        "MAP100-alias-bomb.md",
        "MAP104.md",  # Nov 10
        "MAP104-month13.md",
        "MAP104-datetime.md",
        "MAP106-nonascii.md",
        "Bad_Name.md",
    ],
)
def test_bad_input_cases_are_in_the_folder(name):
    assert (DATA / "errors" / name).is_file()


def test_yaml_error_is_reported_at_yamls_line_in_file_coordinates(check_fixture):
    fixture = DATA / "errors" / "MAP100.md"
    run, _ = check_fixture(fixture)
    [record] = run.json()
    line = fixture.read_text(encoding="utf-8").splitlines()[record["line"] - 1]
    assert line == "    exit: Kickoff: deck accepted by Ana"
    assert line[record["col"] - 1] == ":"  # the second colon, where YAML gives up
    assert "YAML" in record["message"]


def test_duplicate_key_points_at_the_second_key(check_fixture):
    run, _ = check_fixture(DATA / "errors" / "MAP100-duplicate-key.md")
    [record] = run.json()
    assert "duplicate key `due`" in record["message"]
    assert f"first on line {record['line'] - 1}" in record["message"]


def test_alias_bomb_finishes_quickly_with_one_error_at_the_first_alias(check_fixture):
    fixture = DATA / "errors" / "MAP100-alias-bomb.md"
    run, _ = check_fixture(fixture)
    [record] = run.json()
    assert record["code"] == "MAP100"
    assert "*a" in record["message"]
    line = fixture.read_text(encoding="utf-8").splitlines()[record["line"] - 1]
    assert line[record["col"] - 1 :].startswith("*a")


def test_nonascii_column_counts_characters_not_bytes(check_fixture):
    fixture = DATA / "errors" / "MAP106-nonascii.md"
    run, _ = check_fixture(fixture)
    [record] = run.json()
    line = fixture.read_text(encoding="utf-8").splitlines()[record["line"] - 1]
    assert line[record["col"] - 1 :].startswith("李明")
    assert len(line[: record["col"] - 1].encode("utf-8")) > record["col"] - 1


# ---------------------------------------------------------------- generated bad input


def check_bytes(repo: Path, name: str, data: bytes) -> tuple[int, list[dict], str]:
    """Write `data` to deals/<name>, check it as JSON and as text; never a traceback."""
    path = repo / "deals" / name
    path.write_bytes(data)
    shown = f"deals/{name}"
    run = invoke(["check", "--format", "json", "--as-of", AS_OF, shown], repo)
    text = invoke(["check", "--as-of", AS_OF, shown], repo)
    assert text.exit_code == run.exit_code
    return run.exit_code, run.json(), text.output


def only_error(records: list[dict], code: str, line: int, col: int | None = None) -> dict:
    [record] = records
    assert (record["code"], record["line"], record["severity"]) == (code, line, "error")
    if col is not None:
        assert record["col"] == col
    return record


def test_no_front_matter(repo):
    code, records, text = check_bytes(repo, "plain.md", b"# Acme\n\nJust notes, no plan.\n")
    assert code == 1
    only_error(records, "MAP100", 1, 1)
    assert "deals/plain.md:1:1: error MAP100" in text


def test_empty_file(repo):
    code, records, text = check_bytes(repo, "empty.md", b"")
    assert code == 1
    assert "empty" in only_error(records, "MAP100", 1, 1)["message"]
    assert "deals/empty.md:1:1: error MAP100" in text


def test_whitespace_only_file(repo):
    code, records, _ = check_bytes(repo, "blank.md", b"\n  \n\n")
    assert code == 1
    only_error(records, "MAP100", 1, 1)


def test_non_utf8_byte_is_reported_at_its_line(repo):
    data = CLEAN.read_bytes().replace(b"customer: Example Corp", b"customer: Caf\xe9 Corp")
    code, records, text = check_bytes(repo, "latin1.md", data)
    assert code == 1
    line = CLEAN.read_text(encoding="utf-8").splitlines().index("customer: Example Corp") + 1
    record = only_error(records, "MAP100", line, len("customer: Caf") + 1)
    assert "UTF-8" in record["message"]
    assert f"deals/latin1.md:{line}:" in text


def test_non_utf8_column_counts_characters_before_the_bad_byte(repo):
    data = "---\ntitle: Zoë Ångström ".encode() + b"\xff\n---\n"
    code, records, _ = check_bytes(repo, "mixed.md", data)
    assert code == 1
    only_error(records, "MAP100", 2, len("title: Zoë Ångström ") + 1)


def test_bom_parses_like_the_same_file_without_it(repo):
    code, records, _ = check_bytes(repo, "bom.md", b"\xef\xbb\xbf" + CLEAN.read_bytes())
    assert code == 0
    assert records == []


def test_bom_keeps_lines_and_columns(repo):
    source = DATA / "findings" / "MAP203.md"
    plain = positions(check_bytes(repo, "plain.md", source.read_bytes())[1])
    code, records, _ = check_bytes(repo, "bom.md", b"\xef\xbb\xbf" + source.read_bytes())
    assert code == 0
    assert positions(records) == plain == expectations(source)


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.md")), ids=lambda p: p.name)
def test_crlf_gives_the_same_findings_on_the_same_lines(repo, example):
    lf = example.read_bytes()
    assert b"\r" not in lf
    crlf = lf.replace(b"\n", b"\r\n")
    code_lf, records_lf, _ = check_bytes(repo, example.name, lf)
    code_crlf, records_crlf, _ = check_bytes(repo, example.name, crlf)
    assert code_lf == code_crlf == 0
    assert records_crlf == records_lf


def test_crlf_error_lines_match_lf(repo):
    source = DATA / "errors" / "MAP106.md"
    crlf = source.read_bytes().replace(b"\n", b"\r\n")
    code, records, text = check_bytes(repo, "crlf.md", crlf)
    assert code == 1
    assert positions(records) == expectations(source)
    assert "\r" not in text


def test_ten_megabyte_file_is_refused_at_line_1(repo):
    notes = ("Meeting notes, week after week. " * 32 + "\n").encode()
    data = CLEAN.read_bytes() + notes * (10 * (1 << 20) // len(notes) + 1)
    assert len(data) > 10 * (1 << 20)
    code, records, text = check_bytes(repo, "huge.md", data)
    assert code == 1
    assert "MiB" in only_error(records, "MAP100", 1, 1)["message"]
    assert "deals/huge.md:1:1: error MAP100" in text


def test_symlink_out_of_the_repository(repo, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "secret.md"
    outside.write_bytes(CLEAN.read_bytes())
    (repo / "deals" / "linked.md").symlink_to(outside)
    run = invoke(["check", "--format", "json", "--as-of", AS_OF], repo)
    assert run.exit_code == 1
    record = only_error(run.json(), "MAP100", 1, 1)
    assert record["path"] == "deals/linked.md"
    assert "outside the repository" in record["message"]


def test_symlink_inside_the_repository_is_read(repo):
    (repo / "shared").mkdir()
    (repo / "shared" / "plan.md").write_bytes(CLEAN.read_bytes())
    (repo / "deals" / "plan.md").symlink_to(repo / "shared" / "plan.md")
    run = invoke(["check", "--format", "json", "--as-of", AS_OF, "deals/plan.md"], repo)
    assert run.exit_code == 0
    assert run.json() == []


def test_dangling_symlink_is_an_error_not_a_crash(repo):
    (repo / "deals" / "gone.md").symlink_to(repo / "deals" / "nowhere.md")
    run = invoke(["check", "--format", "json", "--as-of", AS_OF, "deals/gone.md"], repo)
    assert run.exit_code == 1
    only_error(run.json(), "MAP100", 1, 1)


def test_non_ascii_names_are_valid(check_fixture):
    fixture = DATA / "findings" / "non-ascii.md"
    text = fixture.read_text(encoding="utf-8")
    assert "owner: Zoë Ångström" in text
    assert "owner: 李娜" in text
    run, _ = check_fixture(fixture)
    assert run.exit_code == 0
    assert run.json() == []


def test_nested_brackets_do_not_crash(repo):
    data = b"---\ntitle: " + b"[" * 50_000 + b"\n---\n"
    code, records, _ = check_bytes(repo, "deep.md", data)
    assert code == 1
    only_error(records, "MAP100", 2)


def test_compact_nested_sequences_do_not_crash(repo):
    data = b"---\ntitle: x\nnotes:\n" + b"- " * 50_000 + b"x\n---\n"
    code, records, _ = check_bytes(repo, "deep.md", data)
    assert code == 1
    assert "nested" in only_error(records, "MAP100", 4)["message"]


def test_deep_indentation_is_refused_before_composing(repo):
    data = b"---\ntitle: x\nnotes:\n" + b"".join(b" " * i + b"a:\n" for i in range(1, 1000))
    code, records, _ = check_bytes(repo, "deep.md", data + b"---\n")
    assert code == 1
    assert "nested" in only_error(records, "MAP100", 4 + 199)["message"]


def test_a_person_written_as_a_name_says_which_item_and_how_to_write_it(repo):
    data = (
        b"---\ntitle: x\ncustomer: y\ngo_live: 2027-01-01\n"
        b"people:\n  - name: Ana\n    side: customer\n  - Kyle Morgan\nmilestones: []\n---\n"
    )
    code, records, _ = check_bytes(repo, "people.md", data)
    assert code == 1
    record = only_error(records, "MAP103", 8, 5)
    assert record["message"] == (
        "item 2 of `people` should be a person (`key: value` lines), not text"
    )
    assert record["hint"] == (
        "write the person as `key: value` lines, e.g. `name: Kyle Morgan`, "
        "then `side:` below it, lined up with `name`"
    )


def test_a_list_of_steps_written_as_a_mapping_says_how_a_step_starts(repo):
    data = (
        b"---\ntitle: x\ncustomer: y\ngo_live: 2027-01-01\n"
        b"people:\n  - name: Ana\n    side: customer\nmilestones: {a: 1}\n---\n"
    )
    code, records, _ = check_bytes(repo, "steps.md", data)
    assert code == 1
    record = only_error(records, "MAP103", 8, 13)
    assert record["message"] == "`milestones` should be a list of milestone entries, not a mapping"
    assert "start each milestone with `- id: …`" in record["hint"]


def test_every_problem_in_a_file_is_reported_in_one_run(repo):
    text = CLEAN.read_text(encoding="utf-8")
    for old, new in [
        ("customer: Example Corp", "customer:"),
        ("    track: paper", "    track: legal"),
        ("    due: 2027-01-06", "    due: Nov 10"),
        ("    owner: Vic Stone", "    owner: Vic Stoner"),
    ]:
        text = text.replace(old, new, 1)
    code, records, _ = check_bytes(repo, "many.md", text.encode())
    assert code == 1
    assert sorted(r["code"] for r in records) == ["MAP101", "MAP103", "MAP104", "MAP106"]


# ---------------------------------------------------------------- through a real process

SUBPROCESS_CASES = [
    ("empty.md", b"", "MAP100", 1),
    ("latin1.md", b"---\ntitle: Caf\xe9\n---\n", "MAP100", 2),
    ("bomb.md", (DATA / "errors" / "MAP100-alias-bomb.md").read_bytes(), "MAP100", 8),
]


def limit_memory() -> None:
    """Cap the child at 512 MiB of address space: the bomb expanded would need gigabytes."""
    resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))


@pytest.mark.parametrize(("name", "data", "code", "line"), SUBPROCESS_CASES)
def test_no_traceback_from_a_real_process(repo, name, data, code, line):
    (repo / "deals" / name).write_bytes(data)
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("MAPDOWN_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "mapdown", "check", "--as-of", AS_OF, "--format", "json"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,  # a bound for a hang, not a timing: the check takes well under a second
        check=False,
        preexec_fn=limit_memory,
    )
    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr
    assert done.returncode == 1
    [record] = json.loads(done.stdout)
    assert (record["path"], record["code"], record["line"]) == (f"deals/{name}", code, line)


def run_mapdown(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m mapdown ARGS` in a process of its own (a bound for a hang, not a timing)."""
    return subprocess.run(
        [sys.executable, "-m", "mapdown", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
        check=False,
    )


def test_text_output_of_a_real_process_names_file_line_and_code(repo):
    (repo / "deals" / "plain.md").write_text("no front matter\n", encoding="utf-8")
    done = run_mapdown(repo, "check", "--as-of", AS_OF)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert re.search(r"^deals/plain\.md:1:1: error MAP100 ", done.stdout, re.MULTILINE)


def test_a_real_process_ends_at_once_with_its_output_whole_and_its_exit_code(tmp_path):
    """`python -m mapdown` ends without Python's teardown (`__main__.leave`): what it wrote
    must still all arrive through a pipe, and each outcome keep its exit code."""
    run = functools.partial(run_mapdown, tmp_path)
    rules = run("rules")
    assert rules.returncode == 0
    assert rules.stdout == invoke(["rules"], tmp_path).output  # the whole listing, flushed
    assert len(rules.stdout) > 2000
    assert run("rules", "MAP999").returncode == 2  # a usage problem
    unknown = run("no-such-command")
    assert unknown.returncode == 2
    assert "No such command" in unknown.stderr
    assert run("--version").stdout.startswith("mapdown, version ")
