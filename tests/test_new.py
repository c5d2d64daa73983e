"""`mapdown new`: a deal file planned backward from go-live, with every customer-internal step."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from conftest import AS_OF, invoke

NEW = ["new", "acme", "--customer", "Acme: Retail", "--go-live", "2027-03-01"]
CLOSE = ["--close", "2027-01-20"]
GO_LIVE = dt.date(2027, 3, 1)
CLOSE_DAY = dt.date(2027, 1, 20)


def front(path) -> dict:
    _, text, _ = path.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(text)


@pytest.fixture
def created(run, repo):
    result = run(*NEW, *CLOSE)
    assert result.exit_code == 0, result.output + result.stderr
    assert "Created deals/acme.md" in result.output
    return repo / "deals" / "acme.md"


def test_new_creates_the_file(created):
    data = front(created)
    assert data["title"] == "Acme: Retail"
    assert data["customer"] == "Acme: Retail"
    assert data["go_live"] == GO_LIVE
    assert data["close"] == CLOSE_DAY


def test_new_deal_passes_check_with_team_owner_findings(run, created):
    result = run("check", "--as-of", AS_OF, "--format", "json", "deals/acme.md")
    assert result.exit_code == 0, result.output
    records = result.json()
    assert all(r["severity"] == "warning" for r in records)
    lines = created.read_text(encoding="utf-8").splitlines()
    flagged = {lines[r["line"] - 1].split("name: ")[1] for r in records if r["code"] == "MAP201"}
    assert flagged == {p["name"] for p in front(created)["people"]}
    assert all(name.startswith("TBD") for name in flagged)
    # the template itself is a complete, consistent plan: no gap but the names (and, for dates
    # in the next 30 days, the customer's confirmation)
    assert {r["code"] for r in records} <= {"MAP201", "MAP203"}


def test_new_deal_holds_every_customer_internal_step(created):
    data = front(created)
    customer = {p["name"] for p in data["people"] if p["side"] == "customer"}
    buyer = {p["name"] for p in data["people"] if p["role"] == "economic buyer"}
    steps = {m["id"]: m for m in data["milestones"]}
    text = {i: f"{m['step']} {m['exit']}".lower() for i, m in steps.items()}
    assert any("security" in t for t in text.values())
    assert any("legal" in t for t in text.values())
    assert any("procurement" in t or "vendor registration" in t for t in text.values())
    assert any("committee" in t for t in text.values())
    assert any("sign" in t and steps[i]["owner"] in buyer for i, t in text.items())
    assert {m["track"] for m in data["milestones"]} == {"technical", "business", "paper"}
    assert sum(m["owner"] in customer for m in data["milestones"]) >= 5


def test_new_deal_dates_are_planned_backward(created):
    data = front(created)
    steps = {m["id"]: m for m in data["milestones"]}
    for m in data["milestones"]:
        assert m["due"] < GO_LIVE, m["id"]
        assert m["start"] <= m["due"], m["id"]
        if m["track"] == "paper":
            assert m["due"] <= CLOSE_DAY, m["id"]
        for ref in m.get("after", []):
            assert steps[ref]["due"] <= m["start"], (ref, m["id"])


def test_new_without_close(run, repo):
    assert run(*NEW).exit_code == 0
    path = repo / "deals" / "acme.md"
    data = front(path)
    assert "close" not in data
    assert all(m["due"] < GO_LIVE for m in data["milestones"])
    result = run("check", "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0
    assert {r["code"] for r in result.json()} <= {"MAP201", "MAP203"}


def test_new_with_deadline(run, repo):
    assert run(*NEW, "--deadline", "2027-03-31").exit_code == 0
    data = front(repo / "deals" / "acme.md")
    assert data["deadline"] == dt.date(2027, 3, 31)
    assert data["deadline_reason"]


def test_new_refuses_to_overwrite(run, created):
    before = created.read_bytes()
    created.write_bytes(before + b"\nMy own notes.\n")
    mine = created.read_bytes()
    result = run(*NEW, *CLOSE)
    assert result.exit_code == 2
    assert "already exists" in result.stderr
    assert created.read_bytes() == mine
    assert sorted(p.name for p in created.parent.iterdir()) == ["acme.md"]  # no temp file left


@pytest.mark.parametrize("deal_id", ["Acme", "acme_retail", "ácme", "acme retail", "../acme"])
def test_new_refuses_a_bad_id(run, repo, deal_id):
    result = run("new", deal_id, "--customer", "Acme", "--go-live", "2027-03-01")
    assert result.exit_code == 2
    assert "deal id" in result.stderr
    assert list((repo / "deals").iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ["new", "acme", "--go-live", "2027-03-01"],  # no customer
        ["new", "acme", "--customer", "Acme"],  # no go-live
        ["new", "acme", "--customer", "Acme", "--go-live", "March 1"],
        ["new", "acme", "--customer", "  ", "--go-live", "2027-03-01"],
    ],
)
def test_new_usage_problems_exit_2(run, repo, args):
    assert run(*args).exit_code == 2
    assert list((repo / "deals").iterdir()) == []


def test_new_creates_the_deals_folder(repo):
    (repo / "deals").rmdir()
    result = invoke([*NEW, *CLOSE], repo)
    assert result.exit_code == 0
    assert (repo / "deals" / "acme.md").is_file()


def test_new_where_deals_is_a_file_says_so(repo):
    (repo / "deals").rmdir()
    (repo / "deals").write_text("not a folder\n", encoding="utf-8")
    result = invoke([*NEW, *CLOSE], repo)
    assert result.exit_code == 2, result.output + result.stderr
    assert "deals is a file, not a folder" in result.stderr
    assert (repo / "deals").read_text(encoding="utf-8") == "not a folder\n"


def test_new_warns_when_the_plan_cannot_fit_before_close(run, repo):
    # close 24 days away: validation and the security review alone take five weeks
    result = run(
        "new",
        "tight",
        "--customer",
        "Tight Co",
        "--go-live",
        "2027-01-15",
        "--close",
        "2026-12-20",
        "--as-of",
        AS_OF,
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "start before 2026-11-26" in result.stderr
    assert "technical-validation" in result.stderr
    assert (repo / "deals" / "tight.md").exists()


def test_new_does_not_warn_when_the_plan_fits(run):
    result = run(*NEW, *CLOSE, "--as-of", AS_OF)
    assert result.exit_code == 0
    assert "start before" not in result.stderr


def test_new_follows_the_configured_template_and_buffer(run, repo):
    (repo / "mapdown.yaml").write_text(
        "timezone: UTC\nnew_buffer_days: 10\nnew_steps:\n"
        "  - id: security-review\n    step: Security review completed\n    track: technical\n"
        "    owner_role: security owner\n    side: customer\n    days: 21\n"
        "    exit: Security assessment issued\n"
        "  - id: signature\n    step: Order form signed\n    track: paper\n"
        "    owner_role: economic buyer\n    side: customer\n    days: 3\n"
        "    exit: Countersigned order form\n    after: [security-review]\n",
        encoding="utf-8",
    )
    result = run(
        "new",
        "tpl",
        "--customer",
        "Tpl",
        "--go-live",
        "2027-04-01",
        "--close",
        "2027-03-01",
        "--as-of",
        AS_OF,
    )
    assert result.exit_code == 0, result.output + result.stderr
    data = front(repo / "deals" / "tpl.md")
    steps = {m["id"]: m for m in data["milestones"]}
    assert list(steps) == ["security-review", "signature"]
    # signature: latest finish = close 03-01, less the 10-day buffer; 3 days long
    assert (steps["signature"]["due"], steps["signature"]["start"]) == (
        dt.date(2027, 2, 19),
        dt.date(2027, 2, 16),
    )
    # security review: latest finish = signature's latest start (02-26), less 10 days
    assert (steps["security-review"]["due"], steps["security-review"]["start"]) == (
        dt.date(2027, 2, 16),
        dt.date(2027, 1, 26),
    )
    names = {p["name"] for p in data["people"]}
    assert {"TBD security owner", "TBD economic buyer", "TBD champion"} <= names
