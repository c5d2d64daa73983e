"""`mapdown diff`: what a reviewer sees between two revisions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import invoke
from gitrepo import GitRepo

BASE = (Path(__file__).parent / "data" / "history" / "base.md").read_text(encoding="utf-8")
CONFIRM = (
    "    exit: Security assessment issued with no open high findings\n"
    "    confirmed_by: Cara Lund\n"
    '    confirmation: "Email 2026-11-02, Re: security dates"\n'
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    assert shutil.which("git"), "git is required for the diff tests"
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796000000")  # 2026-11-29: "now" is pinned
    repo = GitRepo.init(tmp_path / "repo", home)
    confirmed = BASE.replace(
        "    exit: Security assessment issued with no open high findings\n", CONFIRM
    )
    repo.write("deals/acme.md", confirmed)
    repo.commit("Acme: security dates confirmed by Cara", "2026-11-02T10:00:00+00:00")
    return repo


def diff(repo: GitRepo, *args: str) -> object:
    run = invoke(["diff", *args, "--as-of", "2026-11-05"], repo.root)
    assert run.exit_code == 0, run.output + run.stderr
    return run


def slip_security_review(repo: GitRepo, when: str = "2026-11-04T09:00:00+00:00") -> str:
    text = repo.read("deals/acme.md").replace("    due: 2026-11-27\n", "    due: 2026-12-06\n")
    repo.write("deals/acme.md", text)
    return repo.commit("Acme: security review slips nine days", when)


def test_a_slip_under_a_confirmation_is_reported_with_days_and_voiding(repo):
    base = repo.head()
    head = slip_security_review(repo)
    records = diff(repo, base, head, "--format", "json").json()
    kinds = {(r["milestone"], r["kind"]) for r in records}
    assert ("security-review", "slipped") in kinds
    assert ("security-review", "confirmation-voided") in kinds
    slip = next(r for r in records if r["kind"] == "slipped")
    assert (slip["from"], slip["to"], slip["days"], slip["key"]) == (
        "2026-11-27",
        "2026-12-06",
        9,
        "due",
    )
    lines = repo.read("deals/acme.md").splitlines()
    assert lines[slip["line"] - 1] == "    due: 2026-12-06"
    assert records[0]["kind"] == "confirmation-voided"  # the worst news first
    rate = next(r for r in records if r["kind"] == "confirmation-rate")
    assert rate["from"] > rate["to"]


def test_reconfirming_in_the_same_commit_is_not_voiding(repo):
    base = repo.head()
    text = repo.read("deals/acme.md").replace("    due: 2026-11-27\n", "    due: 2026-12-06\n")
    text = text.replace("Email 2026-11-02, Re: security dates", "Email 2026-11-04, Re: new date")
    repo.write("deals/acme.md", text)
    head = repo.commit("Acme: new security date, confirmed", "2026-11-04T09:00:00+00:00")
    kinds = [r["kind"] for r in diff(repo, base, head, "--format", "json").json()]
    assert "slipped" in kinds and "confirmed" in kinds
    assert "confirmation-voided" not in kinds


def test_markdown_leads_with_the_worst_news_and_links_lines(repo):
    base = repo.head()
    head = slip_security_review(repo)
    text = diff(repo, base, head, "--format", "markdown").output
    assert text.startswith("## MAP changes")
    headline = text.splitlines()[2]
    assert "1 confirmation voided" in headline and "1 slip" in headline
    assert "### acme" in text
    line = next(
        i + 1
        for i, s in enumerate(repo.read("deals/acme.md").splitlines())
        if s == "    due: 2026-12-06"
    )
    assert f"(deals/acme.md#L{line})" in text


def test_github_format_annotates_the_changed_line(repo):
    base = repo.head()
    head = slip_security_review(repo)
    out = diff(repo, base, head, "--format", "github").output.splitlines()
    line = next(
        i + 1
        for i, s in enumerate(repo.read("deals/acme.md").splitlines())
        if s == "    due: 2026-12-06"
    )
    assert f"::warning file=deals/acme.md,line={line},title=slipped::" in "\n".join(out)
    assert any("title=confirmation voided" in o for o in out)
    assert all(o.startswith("::warning ") for o in out)


def test_steps_owners_done_and_deal_level_changes(repo):
    base = repo.head()
    text = repo.read("deals/acme.md")
    text = text.replace("    owner: Eli Park\n", "    owner: Ben Ode\n")  # vendor-registration
    text = text.replace(
        "    exit: Pilot results report\n",
        "    exit: Pilot results report\n    status: done\n"
        "    evidence: https://files.example/pilot.pdf\n",
    )
    text = text.replace("go_live: 2027-03-01", "go_live: 2027-03-15")
    start = text.index("  - id: kickoff")
    text = text[:start] + text[text.index("---\n", start) :]  # kickoff removed
    repo.write("deals/acme.md", text)
    repo.write("deals/beta.md", BASE.replace("Acme Freight", "Beta Ltd"))
    head = repo.commit("Many changes", "2026-11-04T09:00:00+00:00")
    records = diff(repo, base, head, "--format", "json").json()
    got = {(r["deal"], r["milestone"], r["kind"]) for r in records}
    assert ("acme", "vendor-registration", "owner-changed") in got
    assert ("acme", "pilot", "done") in got
    assert ("acme", "kickoff", "step-removed") in got
    assert ("acme", None, "go-live-moved") in got
    assert ("beta", None, "deal-added") in got
    moved = next(r for r in records if r["kind"] == "go-live-moved")
    assert moved["days"] == 14
    done = next(r for r in records if r["kind"] == "done")
    assert done["detail"] == "with evidence"


def test_default_base_is_the_merge_base_and_default_head_the_working_tree(repo):
    repo.branch("slip")
    slip_security_review(repo)
    # an uncommitted change on top: the working tree is HEAD by default
    text = repo.read("deals/acme.md").replace("    due: 2026-12-09\n", "    due: 2026-12-02\n")
    repo.write("deals/acme.md", text)
    records = diff(repo, "--format", "json").json()
    kinds = {(r["milestone"], r["kind"]) for r in records}
    assert ("security-review", "slipped") in kinds  # committed on the branch
    assert ("vendor-registration", "pulled-in") in kinds  # in the working tree


def test_no_change_says_so(repo):
    out = diff(repo, "HEAD", "HEAD").output
    assert out.strip() == "No changes to the deals."


def test_unknown_revision_is_a_usage_error(repo):
    run = invoke(["diff", "no-such-rev", "HEAD"], repo.root)
    assert run.exit_code == 2
    assert "no-such-rev" in run.output + run.stderr


def test_a_commit_moving_start_and_due_is_one_slip_of_the_due_date(repo):
    text = repo.read("deals/acme.md")
    text = text.replace("    start: 2026-11-09\n", "    start: 2026-11-16\n")
    text = text.replace("    due: 2026-11-27\n", "    due: 2026-12-08\n")
    repo.write("deals/acme.md", text)
    repo.commit("Acme: security review moves a week and a half", "2026-11-04T09:00:00+00:00")
    run = invoke(["check", "--as-of", "2026-11-05", "--format", "json"], repo.root)
    [slip] = [r for r in run.json() if r["code"] == "MAP214"]
    assert "slipped 11 days" in slip["message"]  # the due date's move, not 7 + 11
    assert "1 time in all" in slip["message"]
