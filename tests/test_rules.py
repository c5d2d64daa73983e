"""Findings (MAP2xx) that need no history: one valid reproducer per code, the examples, edges.

Every file in tests/data/findings/ is a valid deal that declares in `# expect:` comments the
exact findings it produces as of 2026-11-26 (`# expect: none` for the clean deal).
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import AS_OF, DATA, EXAMPLES, expectations, invoke, positions

from mapdown.config import DEFAULT_TEAM_WORDS
from mapdown.rules import FINDINGS, RULES, is_team_name

FINDING_FILES = sorted((DATA / "findings").glob("*.md"))
CLEAN = DATA / "findings" / "clean.md"
NO_HISTORY_CODES = [c for c, r in RULES.items() if not r.is_error and not r.needs_history]


@pytest.mark.parametrize("fixture", FINDING_FILES, ids=lambda p: p.name)
def test_finding_reproducer(fixture, check_fixture):
    run, shown = check_fixture(fixture)
    assert run.exit_code == 0, run.output
    records = run.json()
    assert {r["path"] for r in records} <= {shown}
    assert positions(records, "error") == Counter()
    assert positions(records) == expectations(fixture)


def test_every_finding_without_history_has_a_reproducer():
    assert NO_HISTORY_CODES == [
        "MAP201", "MAP202", "MAP203", "MAP204", "MAP206", "MAP207", "MAP208", "MAP209",
        "MAP210", "MAP211", "MAP212", "MAP215", "MAP216", "MAP217",
    ]  # fmt: skip
    for code in NO_HISTORY_CODES:
        fixture = DATA / "findings" / f"{code}.md"
        assert code in {c for c, _, _ in expectations(fixture)}, code
    assert expectations(CLEAN) == Counter()


def test_every_code_has_a_rule_and_every_finding_a_function():
    assert len(RULES) == 27
    assert set(FINDINGS) == {c for c in RULES if c >= "MAP200"}


# ---------------------------------------------------------------- the example deals

# Reviewed one by one against RULES.md as of 2026-11-26 (window 2026-11-27 .. 2026-12-26).
EXAMPLE_FINDINGS = {
    "acme-wish.md": [
        ("MAP211", 5, 8),  # close 3 days before the quarter end, 0 of 9 steps confirmed
        ("MAP206", 6, 1),  # only Jason Pike and "Legal" own or confirm customer steps
        ("MAP216", 6, 1),  # no economic buyer (the champion is there)
        ("MAP201", 17, 11),  # "Legal"
        ("MAP208", 19, 1),  # security review
        ("MAP208", 19, 1),  # procurement or vendor registration
        ("MAP208", 19, 1),  # approval committee
        ("MAP208", 19, 1),  # signature by the economic buyer (Jason is the champion)
        ("MAP202", 26, 13),  # discovery done with no evidence
        ("MAP212", 39, 10),  # success-criteria due 2026-11-20, still in progress
        ("MAP203", 47, 10),  # poc 11-30 .. 12-11
        ("MAP203", 53, 10),  # proposal 12-02
        ("MAP203", 59, 10),  # leadership-pitch 12-09: confirmed_by without writing
        ("MAP204", 61, 19),  # ... which is also MAP204
        ("MAP203", 66, 10),  # contract-sent 12-14
        ("MAP203", 73, 10),  # legal 12-15 .. 12-21
    ],
    "harbor-federal.md": [
        ("MAP203", 185, 12),  # model-validation starts 12-21, not confirmed
    ],
    "northwind-logistics.md": [],
}


def test_examples_are_the_three_expected_files():
    assert sorted(p.name for p in EXAMPLES.glob("*.md")) == sorted(EXAMPLE_FINDINGS)


def test_examples_pass_with_exactly_their_findings(examples):
    run = invoke(["check", "--as-of", AS_OF, "--format", "json"], examples)
    assert run.exit_code == 0
    records = run.json()
    assert all(r["severity"] == "warning" for r in records)
    for name, expected in EXAMPLE_FINDINGS.items():
        got = positions([r for r in records if r["path"] == f"deals/{name}"])
        assert got == Counter(expected), name
    assert {r["path"] for r in records} <= {f"deals/{n}" for n in EXAMPLE_FINDINGS}


def test_example_messages_name_what_to_do(examples):
    run = invoke(["check", "--as-of", AS_OF, "--format", "json", "deals/acme-wish.md"], examples)
    by_code: dict[str, list[dict]] = {}
    for r in run.json():
        by_code.setdefault(r["code"], []).append(r)
    assert "`Legal`" in by_code["MAP201"][0]["message"]
    assert {m["message"].split("customer's ")[1].split(":")[0] for m in by_code["MAP208"]} == {
        "security review",
        "procurement or vendor registration",
        "approval committee",
        "signature by the economic buyer",
    }
    assert "2026-12-31" in by_code["MAP211"][0]["message"]
    assert "6 days overdue" in by_code["MAP212"][0]["message"]
    assert all(r["hint"] for r in run.json())


# ---------------------------------------------------------------- edges of the rules


def variant(repo: Path, edits: list[tuple[str, str]], name: str = "deal.md") -> list[dict]:
    """Check clean.md with each `old` replaced by `new` (each must occur once); JSON records."""
    text = CLEAN.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (repo / "deals" / name).write_text(text, encoding="utf-8")
    run = invoke(["check", "--format", "json", "--as-of", AS_OF, f"deals/{name}"], repo)
    assert run.exit_code == 0, run.output
    return run.json()


def codes(records: list[dict]) -> list[str]:
    return sorted(r["code"] for r in records)


BUSINESS_CASE_DUE = "    due: 2027-01-04"


@pytest.mark.parametrize(
    ("due", "flagged"),
    [
        ("2026-11-26", False),  # today is not in the window (and not overdue)
        ("2026-11-27", True),  # T+1
        ("2026-12-26", True),  # T+30
        ("2026-12-27", False),  # T+31
    ],
)
def test_map203_window_is_the_next_30_days(repo, due, flagged):
    records = variant(repo, [(BUSINESS_CASE_DUE, f"    due: {due}")])
    assert codes(records) == (["MAP203"] if flagged else [])


def test_map203_start_in_window_is_flagged_at_start(repo):
    records = variant(repo, [(BUSINESS_CASE_DUE, "    start: 2026-12-20\n    due: 2027-01-04")])
    [record] = records
    assert record["code"] == "MAP203"
    assert "start 2026-12-20" in record["message"]
    text = (repo / "deals" / "deal.md").read_text(encoding="utf-8").splitlines()
    assert text[record["line"] - 1].strip() == "start: 2026-12-20"


def test_map203_done_step_is_never_unconfirmed(repo):
    records = variant(
        repo,
        [
            (
                BUSINESS_CASE_DUE,
                "    due: 2026-12-01\n    status: done\n    evidence: https://x.example/case",
            )
        ],
    )
    assert records == []


def test_map203_vendor_confirmer_never_covers(repo):
    # confirmed_by a vendor person is an error (MAP107), so the file is not valid at all
    text = CLEAN.read_text(encoding="utf-8").replace(
        BUSINESS_CASE_DUE,
        "    due: 2026-12-01\n    confirmed_by: Vic Stone\n    confirmation: call",
    )
    (repo / "deals" / "deal.md").write_text(text, encoding="utf-8")
    run = invoke(["check", "--format", "json", "--as-of", AS_OF, "deals/deal.md"], repo)
    assert run.exit_code == 1
    assert codes(run.json()) == ["MAP107"]


def test_map203_window_follows_as_of(repo):
    (repo / "deals" / "deal.md").write_bytes(CLEAN.read_bytes())
    later = invoke(["check", "--format", "json", "--as-of", "2026-12-20", "deals/deal.md"], repo)
    # as of 12-20 the window is 12-21 .. 01-19: five January dues enter it unconfirmed (the
    # kickoff, due 01-22, does not), and the confirmed security review (due 12-11) is overdue
    assert later.exit_code == 0
    assert Counter(codes(later.json())) == Counter({"MAP203": 5, "MAP212": 1})


@pytest.mark.parametrize(
    ("due", "overdue"),
    [("2026-11-25", True), ("2026-11-26", False)],
)
def test_map212_overdue_starts_the_day_after_due(repo, due, overdue):
    records = variant(repo, [(BUSINESS_CASE_DUE, f"    due: {due}")])
    assert codes(records) == (["MAP212"] if overdue else [])


@pytest.mark.parametrize(
    ("close", "anchored"),
    [
        ("2027-03-24", False),  # 7 days before the quarter end: not in the last 7 days
        ("2027-03-25", True),
        ("2027-03-31", True),  # on the quarter end itself
        ("2027-04-01", False),  # first day of the next quarter
    ],
)
def test_map211_last_days_of_the_quarter(repo, close, anchored):
    records = variant(
        repo,
        [
            ("go_live: 2027-03-01", "go_live: 2027-04-15"),
            ("deadline: 2027-03-31", "deadline: 2027-04-30"),
            ("close: 2027-01-15", f"close: {close}"),
        ],
    )
    assert codes(records) == (["MAP211"] if anchored else [])


def test_map211_not_reported_when_most_steps_before_close_are_confirmed(repo):
    confirm = '    confirmed_by: {0}\n    confirmation: "Email 2026-11-20 from {0}"\n'
    edits = [
        ("go_live: 2027-03-01", "go_live: 2027-04-15"),
        ("deadline: 2027-03-31", "deadline: 2027-04-30"),
        ("close: 2027-01-15", "close: 2027-03-26"),
        (
            "    exit: Redlined MSA returned by counsel\n",
            "    exit: Redlined MSA returned by counsel\n" + confirm.format("Dev Rao"),
        ),
        (
            "    exit: Supplier number issued\n",
            "    exit: Supplier number issued\n" + confirm.format("Eli Park"),
        ),
    ]
    # 4 of the 8 steps due before close are confirmed: half is not "under half"
    assert variant(repo, edits) == []


def test_map211_fiscal_year_moves_the_quarter_end(repo):
    (repo / "mapdown.yaml").write_text("timezone: UTC\nfiscal_year_start: 2\n", encoding="utf-8")
    # with a February fiscal year the quarter ends on 31 January: close 2027-01-28 hugs it
    records = variant(repo, [("close: 2027-01-15", "close: 2027-01-28")])
    assert codes(records) == ["MAP211"]
    assert "2027-01-31" in records[0]["message"]


def test_map217_bounds_are_inclusive(repo):
    open_steps = "".join(
        f"  - id: extra-{i}\n    step: Extra step {i}\n    track: technical\n"
        f"    owner: Vic Stone\n    due: 2027-02-01\n    exit: Done\n"
        for i in range(23)
    )
    # clean.md has 7 open steps; 7 + 23 = 30 is allowed, 31 is not
    thirty = variant(repo, [("reviews:\n", open_steps + "reviews:\n")], "thirty.md")
    assert thirty == []
    more = open_steps + open_steps.replace("extra-0\n", "extra-x\n", 1).split("  - id: extra-1")[0]
    records = variant(repo, [("reviews:\n", more + "reviews:\n")], "thirty-one.md")
    assert codes(records) == ["MAP217"]
    assert "31 open steps" in records[0]["message"]


def test_map206_one_person_owning_every_customer_step(repo):
    confirm = '    confirmed_by: {0}\n    confirmation: "Email 2026-11-20 from {0}"\n'
    edits = [
        ("    owner: Cara Lund", "    owner: Ana Silva"),
        ("    owner: Dev Rao", "    owner: Ana Silva"),
        ("    owner: Eli Park", "    owner: Ana Silva"),
        ("    owner: Ben Ode\n    due: 2027-01-08", "    owner: Ana Silva\n    due: 2027-01-08"),
        ("    owner: Ben Ode\n    due: 2027-01-15", "    owner: Ana Silva\n    due: 2027-01-15"),
        (
            "    exit: Redlined MSA returned by counsel\n",
            "    exit: Redlined MSA returned by counsel\n" + confirm.format("Dev Rao"),
        ),
        (
            "    exit: Supplier number issued\n",
            "    exit: Supplier number issued\n" + confirm.format("Eli Park"),
        ),
    ]
    records = variant(repo, edits)
    # Ana, Cara, Dev and Eli own or confirm (4, enough), but Ana owns every customer step;
    # the signature row is no longer owned by the economic buyer
    assert codes(records) == ["MAP206", "MAP208"]
    [threading] = [r for r in records if r["code"] == "MAP206"]
    assert "Ana Silva owns every customer-side step" in threading["message"]


def test_map206_minimum_is_configurable(repo):
    (repo / "mapdown.yaml").write_text("timezone: UTC\nmin_customer_people: 6\n", encoding="utf-8")
    records = variant(repo, [])
    assert codes(records) == ["MAP206"]
    assert "expected at least 6" in records[0]["message"]


def test_map215_uses_the_start_of_the_dependent_step(repo):
    records = variant(
        repo,
        [("    due: 2027-01-22\n", "    start: 2027-01-14\n    due: 2027-01-22\n")],
    )
    [record] = records  # kickoff starts 01-14 but waits for the signature due 01-15
    assert record["code"] == "MAP215"
    assert "starts 2027-01-14" in record["message"]


def test_map215_same_day_is_not_a_conflict(repo):
    records = variant(
        repo,
        [("    due: 2027-01-22\n", "    start: 2027-01-15\n    due: 2027-01-22\n")],
    )
    assert records == []


def test_map216_roles_are_matched_loosely(repo):
    records = variant(
        repo,
        [
            ("    role: champion", "    role: Champion, presenter"),
            ("    role: economic buyer", "    role: Economic-Buyer"),
        ],
    )
    assert records == []


def test_map216_vendor_roles_do_not_count(repo):
    records = variant(repo, [("    role: account executive", "    role: champion")])
    assert records == []
    records = variant(
        repo,
        [
            ("    role: champion", "    role: director"),
            ("    role: account executive", "    role: champion"),
        ],
        "vendor-champion.md",
    )
    assert codes(records) == ["MAP216"]


@pytest.mark.parametrize(
    ("name", "team"),
    [
        ("Legal", True),
        ("Procurement", True),
        ("IT", True),
        ("Security team", True),
        ("Customer", True),
        ("TBD", True),
        ("TBD champion", True),
        ("???", True),
        ("Dana Whitfield", False),
        ("Brittany Lee", False),  # "it" inside a word is not the word IT
        ("Zoë Ångström", False),
        ("李娜", False),
    ],
)
def test_team_names(name, team):
    assert is_team_name(name, DEFAULT_TEAM_WORDS) is team


def test_team_words_are_configurable(repo):
    (repo / "mapdown.yaml").write_text("timezone: UTC\nteam_words: [silva]\n", encoding="utf-8")
    records = variant(repo, [])
    assert codes(records) == ["MAP201"]
    assert "Ana Silva" in records[0]["message"]


def test_map208_step_owned_by_vendor_does_not_count(repo):
    records = variant(repo, [("    owner: Cara Lund", "    owner: Vic Stone")])
    assert codes(records) == ["MAP208"]
    assert "security review" in records[0]["message"]


def test_map208_internal_steps_are_configurable(repo):
    (repo / "mapdown.yaml").write_text(
        "timezone: UTC\ninternal_steps:\n  - name: board vote\n    keywords: [board]\n",
        encoding="utf-8",
    )
    records = variant(repo, [])
    assert codes(records) == ["MAP208"]
    assert "board vote" in records[0]["message"]


def test_history_findings_are_not_reported_without_history(examples):
    run = invoke(["check", "--as-of", AS_OF, "--format", "json"], examples)
    assert not {r["code"] for r in run.json()} & {"MAP205", "MAP213", "MAP214"}


def test_findings_are_not_run_on_a_file_with_errors(repo):
    shutil.copyfile(DATA / "findings" / "MAP212.md", repo / "deals" / "deal.md")
    text = (repo / "deals" / "deal.md").read_text(encoding="utf-8")
    (repo / "deals" / "deal.md").write_text(text.replace("title:", "titel:"), encoding="utf-8")
    run = invoke(["check", "--as-of", AS_OF, "--format", "json", "deals/deal.md"], repo)
    assert run.exit_code == 1
    assert codes(run.json()) == ["MAP101", "MAP102"]
    text_run = invoke(["check", "--as-of", AS_OF, "deals/deal.md"], repo)
    assert "Findings were not checked in 1 file with errors" in text_run.output
