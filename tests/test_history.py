"""The git-history part of mapdown: timelines, the confirmation rate as of a day, MAP205/213/214,
and the edge cases of issue 3 (shallow clones, no git, renames, merges, clock skew, ...).

Every fixture repository is built commit by commit with fixed dates (tests/gitrepo.py) from the
base deal in tests/data/history/base.md, edited line by line. Every command gets `--as-of`, and
SOURCE_DATE_EPOCH pins "now" (the time of a dirty working tree).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git
import pytest
import zstandard
from conftest import DATA, Run, invoke
from gitrepo import GitRepo

BASE = (DATA / "history" / "base.md").read_text(encoding="utf-8")
NOW = "2027-01-31T12:00:00+00:00"  # "now" for every test unless it says otherwise


def epoch(when: str) -> str:
    return str(int(dt.datetime.fromisoformat(when).timestamp()))


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session", autouse=True)
def git_installed() -> str:
    """The history tests need git: without it they fail, they are never skipped."""
    exe = shutil.which("git")
    assert exe, "git is not installed: the history tests need it"
    return exe


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolate git from the machine (no system or user config) and pin "now"."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CEILING_DIRECTORIES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch(NOW))
    return home


@pytest.fixture
def gitrepo(tmp_path: Path, home: Path) -> GitRepo:
    """A new git repository with mapdown.yaml (time zone UTC) and an empty deals/ folder."""
    return GitRepo.init(tmp_path / "repo", home)


# ---------------------------------------------------------------- editing the deal text


def _block(lines: list[str], mid: str) -> tuple[int, int]:
    """[start, end) of the lines of milestone `mid`."""
    start = lines.index(f"  - id: {mid}")
    end = start + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    return start, end


def set_key(text: str, mid: str, key: str, value: str) -> str:
    """Set `key: value` in milestone `mid` (replacing the line, or adding it at the end)."""
    lines = text.split("\n")
    start, end = _block(lines, mid)
    for i in range(start + 1, end):
        if lines[i].startswith(f"    {key}:"):
            lines[i] = f"    {key}: {value}"
            return "\n".join(lines)
    lines.insert(end, f"    {key}: {value}")
    return "\n".join(lines)


def drop_key(text: str, mid: str, key: str) -> str:
    lines = text.split("\n")
    start, end = _block(lines, mid)
    kept = [line for line in lines[start:end] if not line.startswith(f"    {key}:")]
    assert len(kept) == end - start - 1, f"{mid} has no {key}"
    return "\n".join(lines[:start] + kept + lines[end:])


def drop_step(text: str, mid: str) -> str:
    lines = text.split("\n")
    start, end = _block(lines, mid)
    return "\n".join(lines[:start] + lines[end:])


def confirm(text: str, mid: str, who: str, writing: str) -> str:
    text = set_key(text, mid, "confirmed_by", who)
    return set_key(text, mid, "confirmation", f'"{writing}"')


def unconfirm(text: str, mid: str) -> str:
    return drop_key(drop_key(text, mid, "confirmed_by"), mid, "confirmation")


def add_review(text: str, day: str, who: str) -> str:
    """Add a review (the `reviews` list is the last key of the front matter)."""
    head, sep, tail = text.partition("\n---\n")
    assert sep, "no end of front matter"
    if "\nreviews:" not in head:
        head += "\nreviews:"
    head += f"\n  - date: {day}\n    with: {who}"
    return head + sep + tail


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} is not in the text exactly once"
    return text.replace(old, new)


def line_of(text: str, mid: str, key: str) -> int:
    """The 1-based line number of `key` in milestone `mid`."""
    lines = text.split("\n")
    start, end = _block(lines, mid)
    for i in range(start, end):
        if lines[i].lstrip(" -").startswith(f"{key}:"):
            return i + 1
    raise AssertionError(f"{mid} has no {key}")


# ---------------------------------------------------------------- running mapdown


def md(repo: GitRepo | Path, *args: str) -> Run:
    return invoke(list(args), repo.root if isinstance(repo, GitRepo) else repo)


def ok_json(repo: GitRepo | Path, *args: str) -> Any:
    result = md(repo, *args, "--format", "json")
    assert result.exit_code == 0, result.output + result.stderr
    return result.json()


def scores(repo: GitRepo | Path, as_of: str, *extra: str) -> dict[str, dict[str, Any]]:
    """`score --as-of D --format json`, by deal id."""
    records = ok_json(repo, "score", "--as-of", as_of, *extra)
    assert isinstance(records, list)
    return {r["id"]: r for r in records}


def rate(record: dict[str, Any]) -> tuple[int, int, float | None]:
    return record["window_dates"], record["confirmed_dates"], record["confirmation_rate"]


def history(repo: GitRepo, deal: str, as_of: str) -> dict[str, Any]:
    return ok_json(repo, "history", deal, "--as-of", as_of)


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events]


def check_json(repo: GitRepo | Path, as_of: str, *extra: str) -> list[dict[str, Any]]:
    result = md(repo, "check", "--as-of", as_of, "--format", "json", *extra)
    assert result.exit_code == 0, result.output + result.stderr
    return result.json()


def codes(diags: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    return [d for d in diags if d["code"] == code]


def at(day: str) -> str:
    """The `at` of an event committed at noon UTC of `day` (the helper's default time)."""
    return f"{day}T12:00:00+00:00"


def subset(event: dict[str, Any], **expected: Any) -> None:
    for key, value in expected.items():
        assert key in event, f"{key} missing from {event}"
        assert event[key] == value, f"{key}: {event[key]!r} != {value!r} in {event}"


# ---------------------------------------------------------------- 1. the timeline


def test_timeline_records_every_kind_of_event(gitrepo: GitRepo) -> None:
    deal = "deals/acme.md"
    text = BASE
    gitrepo.write(deal, text)
    c1 = gitrepo.commit("Acme plan", "2026-10-01")
    text = set_key(text, "security-review", "due", "2026-12-02")
    text = set_key(text, "legal-review", "due", "2026-12-01")
    gitrepo.write(deal, text)
    c2 = gitrepo.commit("Move security later, legal earlier", "2026-10-05", author="Sam Lee")
    text = confirm(text, "security-review", "Cara Lund", "Email 2026-10-08, Re: security dates")
    gitrepo.write(deal, text)
    c3 = gitrepo.commit("Cara confirms", "2026-10-08")
    text = confirm(text, "security-review", "Cara Lund", "Email 2026-10-12, Re: security v2")
    gitrepo.write(deal, text)
    c4 = gitrepo.commit("Cara confirms again", "2026-10-12")
    text = set_key(text, "security-review", "due", "2026-12-07")
    gitrepo.write(deal, text)
    c5 = gitrepo.commit("Security slips again, confirmation left as it was", "2026-10-15")
    text = unconfirm(text, "security-review")
    gitrepo.write(deal, text)
    c6 = gitrepo.commit("Drop the stale confirmation", "2026-10-19")
    evidence = "https://files.example/acme/pilot-report.pdf"
    text = set_key(text, "pilot", "status", "done")
    text = set_key(text, "pilot", "evidence", evidence)
    text = set_key(text, "kickoff", "owner", "Ana Silva")
    gitrepo.write(deal, text)
    c7 = gitrepo.commit("Pilot done; Ana owns kickoff", "2026-10-22")
    text = drop_step(text, "vendor-registration")
    text = replace_once(text, "legal-review, vendor-registration,", "legal-review,")
    gitrepo.write(deal, text)
    c8 = gitrepo.commit("No vendor registration needed", "2026-10-26")

    record = history(gitrepo, "acme", "2026-10-31")
    ms = record["milestones"]
    assert isinstance(ms, dict)
    assert set(ms) == {
        "pilot",
        "security-review",
        "legal-review",
        "vendor-registration",
        "approval-committee",
        "signature",
        "kickoff",
    }
    for events in ms.values():
        subset(events[0], kind="created", commit=c1, at=at("2026-10-01"))

    sec = ms["security-review"]
    assert kinds(sec) == [
        "created",
        "slipped",
        "confirmed",
        "confirmation-changed",
        "slipped",
        "confirmation-voided",
        "confirmation-removed",
    ]
    subset(sec[0], to="2026-11-27")
    subset(
        sec[1],
        key="due",
        commit=c2,
        author="Sam Lee",
        at=at("2026-10-05"),
        day="2026-10-05",
        days=5,
        to="2026-12-02",
    )
    assert sec[1]["from"] == "2026-11-27"
    subset(
        sec[2],
        commit=c3,
        at=at("2026-10-08"),
        to=["Cara Lund", "Email 2026-10-08, Re: security dates"],
    )
    assert sec[2]["from"] is None
    subset(
        sec[3],
        commit=c4,
        to=["Cara Lund", "Email 2026-10-12, Re: security v2"],
    )
    assert sec[3]["from"] == ["Cara Lund", "Email 2026-10-08, Re: security dates"]
    subset(sec[4], commit=c5, key="due", to="2026-12-07", days=5)
    assert sec[4]["from"] == "2026-12-02"
    # the date moved later with the pair unchanged: the confirmation is voided in that commit
    subset(sec[5], commit=c5, at=at("2026-10-15"), key="due", to="2026-12-07", days=5)
    assert sec[5]["from"] == "2026-12-02"
    subset(sec[6], commit=c6, to=None)
    assert sec[6]["from"] == ["Cara Lund", "Email 2026-10-12, Re: security v2"]

    legal = ms["legal-review"]
    assert kinds(legal) == ["created", "pulled-in"]
    subset(legal[1], commit=c2, key="due", to="2026-12-01", days=-3, author="Sam Lee")
    assert legal[1]["from"] == "2026-12-04"

    pilot = ms["pilot"]
    assert kinds(pilot) == ["created", "done"]
    subset(pilot[1], commit=c7, at=at("2026-10-22"), to=evidence)
    assert pilot[1]["from"] == "planned"

    kickoff = ms["kickoff"]
    assert kinds(kickoff) == ["created", "owner-changed"]
    subset(kickoff[1], commit=c7, to="Ana Silva")
    assert kickoff[1]["from"] == "Vic Stone"

    vendor = ms["vendor-registration"]
    assert kinds(vendor) == ["created", "removed"]
    subset(vendor[1], commit=c8, at=at("2026-10-26"))

    for mid in ("approval-committee", "signature"):
        assert kinds(ms[mid]) == ["created"]


# ---------------------------------------------------------------- 2. the confirmation rate


def test_confirmation_rate_matches_hand_computation(
    gitrepo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RULES.md by hand: as of T the window is T+1..T+30; every start and due of every step not
    done counts; a date is confirmed only if the step's (confirmed_by, confirmation) pair was set
    at or after its last date change, judged from the commits up to T."""
    deal = "deals/acme.md"
    text = BASE
    gitrepo.write(deal, text)
    gitrepo.commit("Acme plan", "2026-10-01")
    text = confirm(text, "security-review", "Cara Lund", "Email 2026-10-06, Re: security dates")
    text = confirm(text, "legal-review", "Dev Rao", "Email 2026-10-06, Re: legal dates")
    gitrepo.write(deal, text)
    gitrepo.commit("Cara and Dev confirm", "2026-10-06")
    # legal moved, confirmation left as it was: not covered any more
    text = set_key(text, "legal-review", "due", "2026-12-01")
    # security moved and re-confirmed in the same commit: covered
    text = set_key(text, "security-review", "due", "2026-12-02")
    text = confirm(text, "security-review", "Cara Lund", "Email 2026-10-14, Re: new security date")
    text = confirm(text, "vendor-registration", "Eli Park", "Email 2026-10-14, Re: supplier portal")
    gitrepo.write(deal, text)
    gitrepo.commit("Dates move", "2026-10-14")
    text = confirm(text, "approval-committee", "Ben Ode", "Email 2026-10-28, Re: committee")
    text = set_key(text, "pilot", "status", "done")
    text = set_key(text, "pilot", "evidence", "https://files.example/acme/pilot.pdf")
    gitrepo.write(deal, text)
    gitrepo.write("deals/beta.md", BASE.replace("title: Acme Freight", "title: Beta Rail"))
    gitrepo.commit("Pilot done, committee confirmed; Beta starts", "2026-10-28")
    text = confirm(text, "legal-review", "Dev Rao", "Email 2026-11-10, Re: Dec 1 works")
    text = set_key(text, "vendor-registration", "due", "2026-12-18")
    gitrepo.write(deal, text)
    gitrepo.commit("Legal re-confirmed; registration slips", "2026-11-10")

    # D1 = 2026-10-16, window 10-17..11-15, state of 10-14:
    #   pilot due 11-13 (open, never confirmed) no; security start 11-09 yes (moved and
    #   re-confirmed in the same commit). Everything else is outside the window.
    #   The commits of 10-28 (pilot done, beta) and 11-10 are ignored.
    d1 = scores(gitrepo, "2026-10-16")
    assert set(d1) == {"acme"}
    assert rate(d1["acme"]) == (2, 1, 50.0)
    assert d1["acme"]["unconfirmed"] == [{"milestone": "pilot", "key": "due", "date": "2026-11-13"}]

    # D2 = 2026-11-05, window 11-06..12-05, state of 10-28:
    #   pilot is done (its due 11-13 does not count); security start 11-09 yes, due 12-02 yes;
    #   legal due 12-01 no (moved on 10-14 after the 10-06 confirmation; the re-confirmation of
    #   11-10 is after D2). vendor 12-09 and approval 12-16 are outside.
    d2 = scores(gitrepo, "2026-11-05")
    assert set(d2) == {"acme", "beta"}
    assert rate(d2["acme"]) == (3, 2, 66.7)
    assert d2["acme"]["unconfirmed"] == [
        {"milestone": "legal-review", "key": "due", "date": "2026-12-01"}
    ]
    # beta: pilot due 11-13, security 11-09 and 11-27, legal 12-04; nothing confirmed
    assert rate(d2["beta"]) == (4, 0, 0.0)

    # D3 = 2026-11-20, window 11-21..12-20, state of 11-10:
    #   security due 12-02 yes; legal 12-01 yes (re-confirmed 11-10); vendor 12-18 no (moved
    #   11-10, confirmation of 10-14 left as it was); approval 12-16 yes.
    d3 = scores(gitrepo, "2026-11-20")
    assert rate(d3["acme"]) == (4, 3, 75.0)
    assert d3["acme"]["unconfirmed"] == [
        {"milestone": "vendor-registration", "key": "due", "date": "2026-12-18"}
    ]
    assert rate(d3["beta"]) == (4, 0, 0.0)

    # The weekly series gives the same rate for the week containing D, judged on its Sunday.
    weeks = {w["end"]: w for w in history(gitrepo, "acme", "2026-11-30")["weeks"]}
    expected_sundays = {
        # Sunday: (week, hand-computed rate on that Sunday)
        "2026-10-18": ("2026-W42", (2, 1, 50.0)),  # window 10-19..11-17: pilot no, security yes
        "2026-11-08": ("2026-W45", (3, 2, 66.7)),  # window 11-09..12-08: sec 11-09, 12-02; legal
        "2026-11-22": ("2026-W47", (4, 3, 75.0)),  # window 11-23..12-22: as D3
    }
    for d in ("2026-10-16", "2026-11-05", "2026-11-20"):
        day = dt.date.fromisoformat(d)
        sunday = (day + dt.timedelta(days=6 - day.weekday())).isoformat()
        week_name, by_hand = expected_sundays[sunday]
        week = weeks[sunday]
        assert week["week"] == week_name
        assert week["as_of"] == sunday
        on_sunday = scores(gitrepo, sunday)["acme"]
        assert rate(on_sunday) == by_hand
        assert (
            week["window_dates"],
            week["confirmed_dates"],
            week["confirmation_rate"],
        ) == rate(on_sunday)
        assert week["score"] == on_sunday["score"]

    # A dirty working tree is one more state, timed now (pinned to 2026-11-25): it counts as of
    # that day and is ignored for every earlier day.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch("2026-11-25T09:00:00+00:00"))
    text = confirm(text, "vendor-registration", "Eli Park", "Email 2026-11-24, Re: Dec 18 works")
    gitrepo.write(deal, text)
    # window 11-25..12-24: security 12-02 yes, legal 12-01 yes, vendor 12-18 no, approval 12-16
    assert rate(scores(gitrepo, "2026-11-24")["acme"]) == (4, 3, 75.0)
    # window 11-26..12-25: the same dates; vendor 12-18 re-confirmed in the working tree
    assert rate(scores(gitrepo, "2026-11-25")["acme"]) == (4, 4, 100.0)
    assert rate(scores(gitrepo, "2026-11-20")["acme"]) == (4, 3, 75.0)


# ---------------------------------------------------------------- 3. history findings


def test_map205_and_map214_on_the_moved_due_line(gitrepo: GitRepo) -> None:
    deal = "deals/acme.md"
    text = confirm(BASE, "security-review", "Cara Lund", "Email 2026-11-02, Re: security dates")
    gitrepo.write(deal, text)
    gitrepo.commit("Acme plan, security confirmed", "2026-11-02")
    text = set_key(text, "security-review", "due", "2026-12-04")
    gitrepo.write(deal, text)
    slip = gitrepo.commit("Security slips a week", "2026-11-20")
    due_line = line_of(text, "security-review", "due")

    diags = check_json(gitrepo, "2026-11-23")
    voided = codes(diags, "MAP205")
    assert [(d["path"], d["line"]) for d in voided] == [("deals/acme.md", due_line)]
    assert "2026-11-27" in voided[0]["message"]
    assert "2026-12-04" in voided[0]["message"]
    assert slip[:7] in voided[0]["message"]
    slipped = codes(diags, "MAP214")
    assert [(d["path"], d["line"]) for d in slipped] == [("deals/acme.md", due_line)]
    assert "7 days" in slipped[0]["message"]
    assert "security-review" in slipped[0]["message"]
    # the moved date is no longer covered, so it is an unconfirmed date in the window
    assert any("security-review" in d["message"] for d in codes(diags, "MAP203"))

    # six days after the slip it is still recent
    assert codes(check_json(gitrepo, "2026-11-26"), "MAP214")
    # eight days after, the slip is older than 7 days: no MAP214, the voided confirmation stays
    later = check_json(gitrepo, "2026-11-28")
    assert codes(later, "MAP214") == []
    assert [d["line"] for d in codes(later, "MAP205")] == [due_line]


def test_map213_customer_quiet(gitrepo: GitRepo) -> None:
    deal = "deals/acme.md"
    text = confirm(BASE, "security-review", "Cara Lund", "Email 2026-10-01, Re: security dates")
    gitrepo.write(deal, text)
    gitrepo.commit("Acme plan, security confirmed", "2026-10-01")

    # the last confirmation was 13 days ago: not quiet yet; 14 days: quiet
    assert codes(check_json(gitrepo, "2026-10-14"), "MAP213") == []
    quiet = codes(check_json(gitrepo, "2026-10-15"), "MAP213")
    assert len(quiet) == 1
    assert "14 days" in quiet[0]["message"]
    assert "2026-10-01" in quiet[0]["message"]

    # a commit is not the customer speaking: editing the plan does not end the quiet
    text = set_key(text, "legal-review", "due", "2026-12-08")
    gitrepo.write(deal, text)
    gitrepo.commit("Legal slips", "2026-10-20")
    still = codes(check_json(gitrepo, "2026-10-25"), "MAP213")
    assert len(still) == 1
    assert "24 days" in still[0]["message"]

    # a review with the champion three days ago: not quiet
    text = add_review(text, "2026-10-22", "Ana Silva")
    gitrepo.write(deal, text)
    gitrepo.commit("Weekly review with Ana", "2026-10-22")
    assert codes(check_json(gitrepo, "2026-10-25"), "MAP213") == []


# ---------------------------------------------------------------- 4. a shallow clone


def test_shallow_clone_fails_with_guidance_unless_allowed(gitrepo: GitRepo, tmp_path: Path) -> None:
    deal = "deals/acme.md"
    text = BASE
    gitrepo.write(deal, text)
    gitrepo.commit("Acme plan", "2026-10-01")
    text = confirm(text, "security-review", "Cara Lund", "Email 2026-10-05, Re: security dates")
    gitrepo.write(deal, text)
    gitrepo.commit("Cara confirms", "2026-10-05")
    text = set_key(text, "legal-review", "due", "2026-12-08")
    gitrepo.write(deal, text)
    gitrepo.commit("Legal slips", "2026-10-09")

    clone = gitrepo.clone(tmp_path / "clone", "--depth", "1")
    assert (clone.root / ".git" / "shallow").exists()

    for command in ("check", "score"):
        result = md(clone, command, "--as-of", "2026-10-20")
        assert result.exit_code == 1, (command, result.output, result.stderr)
        said = result.output + result.stderr
        assert "fetch-depth: 0" in said
        assert "git fetch --unshallow" in said

    allowed = md(clone, "check", "--as-of", "2026-10-20", "--allow-shallow")
    assert allowed.exit_code == 0, allowed.output + allowed.stderr
    records = ok_json(clone, "score", "--as-of", "2026-10-20", "--allow-shallow")
    assert [r["id"] for r in records] == ["acme"]
    assert all(r["partial"] is True for r in records)
    assert (
        ok_json(clone, "history", "acme", "--as-of", "2026-10-20", "--allow-shallow")["partial"]
        is True
    )
    # the full repository is not partial
    assert scores(gitrepo, "2026-10-20")["acme"]["partial"] is False


# ---------------------------------------------------------------- 5. no git at all


def test_outside_git_everything_works_with_one_warning(repo: Path, home: Path) -> None:
    assert not (repo / ".git").exists()
    text = confirm(BASE, "security-review", "Cara Lund", "Email 2026-10-05, Re: security dates")
    (repo / "deals" / "acme.md").write_text(text, encoding="utf-8")

    checked = md(repo, "check", "--as-of", "2026-10-20")
    assert checked.exit_code == 0, checked.output + checked.stderr
    lines = [line for line in checked.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, checked.stderr
    assert "not a git repository" in lines[0]
    assert "not a git repository" not in checked.output

    result = md(repo, "score", "--as-of", "2026-10-20", "--format", "json")
    assert result.exit_code == 0, result.output + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "not a git repository" in lines[0]
    records = {r["id"]: r for r in result.json()}
    assert set(records) == {"acme"}
    assert records["acme"]["history"] is False
    # without history what the file records covers: window 10-21..11-19 holds pilot due 11-13
    # (unconfirmed) and security start 11-09 (confirmed in the file)
    assert rate(records["acme"]) == (2, 1, 50.0)


# ---------------------------------------------------------------- 6. a renamed file


@pytest.mark.parametrize("narrow", [True, False])
@pytest.mark.parametrize("halves", [1, 2])
def test_log_finds_the_renames_git_log_m_finds(
    gitrepo: GitRepo, monkeypatch: pytest.MonkeyPatch, halves: int, narrow: bool
) -> None:
    """The log is read without rename detection and the commits that delete and add a file
    are diffed again with -M: the changes must be those `git log -M -- deals` shows, commit
    by commit. Read in two halves at once (as a long history is), the log is the same; and
    read without the pathspec (the changes outside the folder dropped by mapdown), too."""
    import mapdown.gitio
    import mapdown.workers
    from mapdown.gitio import LOG_OPTIONS, _entry, _halves, read_log

    monkeypatch.setattr(mapdown.workers, "usable_cpus", lambda: 2)
    monkeypatch.setattr(mapdown.gitio, "narrowed", lambda repo, rev, folder: narrow)
    split_from = 2 if halves == 2 else 10**6

    other = BASE.replace("Acme Freight", "Borealis Mining")  # a different deal, not a rename
    gitrepo.write("deals/acme.md", BASE)
    gitrepo.write("deals/bore.md", other)
    gitrepo.commit("Two deals", "2026-10-01")
    # a rename with an edit, and in the same commit one deal deleted and an unrelated one added
    gitrepo.mv("deals/acme.md", "deals/acme-freight.md")
    gitrepo.write("deals/acme-freight.md", BASE.replace("routing platform", "routing suite"))
    gitrepo.rm("deals/bore.md")
    gitrepo.write("deals/zeta.md", "---\ntitle: unrelated\n---\nnothing alike\n" * 3)
    gitrepo.commit("Rename Acme, drop Borealis, add Zeta", "2026-10-08")
    # changes outside the folder: alone, beside a deal's, and in a folder whose name starts
    # with the folder's
    gitrepo.write("README.md", "Our deals\n")
    gitrepo.write("dealsx/acme.md", BASE)
    gitrepo.commit("Nothing in deals/", "2026-10-08")
    gitrepo.write("README.md", "Our deals, edited\n")
    gitrepo.write("deals/zeta.md", "---\ntitle: unrelated, first edit\n---\n")
    gitrepo.commit("Zeta and the README", "2026-10-08")
    # a rename made on a branch, merged: diffed against the first parent, at the merge
    gitrepo.branch("tidy")
    gitrepo.mv("deals/acme-freight.md", "deals/acme-freight-eu.md")
    gitrepo.commit("Rename on a branch", "2026-10-09")
    gitrepo.checkout("main")
    gitrepo.write("deals/zeta.md", "---\ntitle: unrelated, edited\n---\n")
    gitrepo.commit("Edit Zeta", "2026-10-10")
    gitrepo.merge("tidy", "Merge tidy", "2026-10-11")

    repo = git.Repo(gitrepo.root)
    assert len(_halves(repo, "HEAD", split_from)) == halves
    got = read_log(repo, "HEAD", "deals", split_from=split_from)
    options = [o if o != "--no-renames" else "-M" for o in LOG_OPTIONS]
    raw = gitrepo.git(*options, "HEAD", "--", "deals").encode("utf-8", "surrogateescape")
    expected = [_entry(part) for part in raw.split(b"\x01") if part.strip()][::-1]
    assert [(e.commit.sha, e.changes) for e in got] == [(e.commit.sha, e.changes) for e in expected]
    statuses = [sorted(c.status for c in e.changes) for e in got]
    assert statuses == [["A", "A"], ["A", "D", "R"], ["M"], ["M"], ["R"]]
    assert all(c.path.startswith("deals/") for e in got for c in e.changes)


def test_the_walk_begun_before_the_imports_is_the_one_the_halves_are_cut_from(
    gitrepo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`build` starts git's walk of the first-parent chain first thing (mapdown.headstart):
    the log's halves are cut from it without walking again, a walk of another commit is not
    used, and none is started where the log will come from the cache, or outside a repository."""
    import mapdown.gitio
    import mapdown.workers
    from mapdown import headstart

    monkeypatch.setattr(mapdown.workers, "usable_cpus", lambda: 2)
    for i in range(4):
        gitrepo.write("deals/acme.md", BASE.replace("Acme Freight", f"Acme Freight {i}"))
        gitrepo.commit(f"Edit {i}", f"2026-10-0{i + 1}")
    head = gitrepo.head()
    chain = gitrepo.git("rev-list", "--first-parent", "HEAD").split()

    started = headstart.begin(gitrepo.root, no_cache=False)
    assert started is not None
    assert headstart.take("0" * 40) is None  # another commit: not used, and taken once
    assert headstart.take(head) is None

    def no_walk(repo: git.Repo, *args: str, **kw: Any) -> bytes:
        assert args[0] != "rev-list", "walked again"
        return real_git(repo, *args, **kw)

    real_git = mapdown.gitio._git
    monkeypatch.setattr(mapdown.gitio, "_git", no_walk)
    started = headstart.begin(gitrepo.root / "deals", no_cache=False)  # from a subfolder
    halves = mapdown.gitio._halves(git.Repo(gitrepo.root), head, 2)
    assert halves == [[head, f"^{chain[2]}"], [chain[2]]]
    headstart.close(started)

    (gitrepo.root / ".mapdown-cache").mkdir()
    assert headstart.begin(gitrepo.root, no_cache=False) is None
    started = headstart.begin(gitrepo.root, no_cache=True)
    assert started is not None
    headstart.close(started)  # not taken: the walk is ended, and no longer offered
    assert headstart.take(head) is None
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    assert headstart.begin(outside, no_cache=True) is None


def test_the_log_is_narrowed_to_the_folder_in_a_larger_repository(gitrepo: GitRepo) -> None:
    """A deals repository's log is read whole (a pathspec costs git more than the few
    changes outside the folder); a deals folder inside a larger repository keeps it."""
    from mapdown.gitio import NARROW_FROM, narrowed

    gitrepo.write("deals/acme.md", BASE)
    gitrepo.write("README.md", "Our deals\n")
    gitrepo.commit("A deals repository", "2026-10-01")
    repo = git.Repo(gitrepo.root)
    assert not narrowed(repo, "HEAD", "deals")
    assert not narrowed(repo, "HEAD", ".")
    for i in range(NARROW_FROM + 1):
        gitrepo.write(f"src/module{i}.py", f"x = {i}\n")
    gitrepo.commit("A code base beside the deals", "2026-10-02")
    assert narrowed(repo, "HEAD", "deals")
    assert not narrowed(repo, "HEAD~1", "deals")


def test_renamed_file_keeps_its_history(gitrepo: GitRepo) -> None:
    text = confirm(BASE, "security-review", "Cara Lund", "Email 2026-10-01, Re: security dates")
    gitrepo.write("deals/acme.md", text)
    c1 = gitrepo.commit("Acme plan, security confirmed", "2026-10-01")
    text = set_key(text, "legal-review", "due", "2026-12-08")
    gitrepo.write("deals/acme.md", text)
    c2 = gitrepo.commit("Legal slips", "2026-10-08")
    gitrepo.mv("deals/acme.md", "deals/acme-freight.md")
    text = replace_once(text, "routing platform", "routing and billing platform")
    gitrepo.write("deals/acme-freight.md", text)
    c3 = gitrepo.commit("Rename the deal", "2026-10-15")
    text = add_review(text, "2026-10-20", "Ana Silva")
    gitrepo.write("deals/acme-freight.md", text)
    gitrepo.commit("Weekly review", "2026-10-20")
    # git itself sees the rename
    assert "R" in gitrepo.git("show", "--name-status", "-M", "--format=", c3)

    record = history(gitrepo, "acme-freight", "2026-10-25")
    assert record["path"] == "deals/acme-freight.md"
    ms = record["milestones"]
    sec = ms["security-review"]
    assert kinds(sec) == ["created", "confirmed"]
    assert {e["commit"] for e in sec} == {c1}
    legal = ms["legal-review"]
    assert kinds(legal) == ["created", "slipped"]
    subset(legal[1], commit=c2, to="2026-12-08", days=4)
    # one deal, added once: the rename is not a new deal
    assert kinds(record["deal_events"]) == ["deal-added"]
    assert md(gitrepo, "history", "acme", "--as-of", "2026-10-25").exit_code == 2

    # window 10-26..11-24: pilot due 11-13 no; security start 11-09 yes (confirmed before the
    # rename, no date change since)
    now = scores(gitrepo, "2026-10-25")
    assert set(now) == {"acme-freight"}
    assert rate(now["acme-freight"]) == (2, 1, 50.0)
    # before the rename, judged from the old path's history: window 10-11..11-09 holds only
    # security start 11-09, confirmed
    before = scores(gitrepo, "2026-10-10")
    assert set(before) == {"acme-freight"}
    assert rate(before["acme-freight"]) == (1, 1, 100.0)
    # check judges the renamed file with its history: the confirmation covers
    diags = check_json(gitrepo, "2026-10-25")
    assert not any("security-review" in d["message"] for d in codes(diags, "MAP203"))
    assert any("pilot" in d["message"] for d in codes(diags, "MAP203"))


def test_a_deal_moved_into_a_subfolder_keeps_its_history(gitrepo: GitRepo) -> None:
    # a large team groups its deals in subfolders (docs/performance.md: git reads a small
    # folder per commit): moving a deal there keeps its history, and `history` finds it by id
    text = confirm(BASE, "security-review", "Cara Lund", "Email 2026-10-01, Re: security dates")
    gitrepo.write("deals/acme.md", text)
    c1 = gitrepo.commit("Acme plan, security confirmed", "2026-10-01")
    (gitrepo.root / "deals/emea").mkdir()
    gitrepo.mv("deals/acme.md", "deals/emea/acme.md")
    gitrepo.commit("Group the EMEA deals", "2026-10-05")
    text = set_key(text, "legal-review", "due", "2026-12-08")
    gitrepo.write("deals/emea/acme.md", text)
    c3 = gitrepo.commit("Legal slips", "2026-10-08")

    record = history(gitrepo, "acme", "2026-10-25")
    assert record["path"] == "deals/emea/acme.md"
    assert kinds(record["milestones"]["security-review"]) == ["created", "confirmed"]
    assert record["milestones"]["security-review"][1]["commit"] == c1
    legal = record["milestones"]["legal-review"]
    assert kinds(legal) == ["created", "slipped"]
    subset(legal[1], commit=c3, to="2026-12-08", days=4)
    assert kinds(record["deal_events"]) == ["deal-added"]
    now = scores(gitrepo, "2026-10-25")
    assert set(now) == {"acme"}
    assert rate(now["acme"]) == (2, 1, 50.0)  # the confirmation made before the move covers


# ---------------------------------------------------------------- 7. deleted and re-added


def test_deleted_and_readded_file_continues_its_history(gitrepo: GitRepo) -> None:
    writing = "Email 2026-10-01, Re: security dates"
    acme = confirm(BASE, "security-review", "Cara Lund", writing)
    beta = confirm(BASE, "security-review", "Cara Lund", writing).replace(
        "title: Acme Freight", "title: Beta Rail"
    )
    gitrepo.write("deals/acme.md", acme)
    gitrepo.write("deals/beta.md", beta)
    c1 = gitrepo.commit("Two plans", "2026-10-01")
    gitrepo.rm("deals/acme.md")
    gitrepo.rm("deals/beta.md")
    c2 = gitrepo.commit("Both deals on hold", "2026-10-08")
    # acme comes back without its confirmation, beta with it
    gitrepo.write("deals/acme.md", unconfirm(acme, "security-review"))
    gitrepo.write("deals/beta.md", beta)
    c3 = gitrepo.commit("Both deals back", "2026-10-15")

    a = history(gitrepo, "acme", "2026-10-20")
    sec = a["milestones"]["security-review"]
    assert kinds(sec) == ["created", "confirmed", "removed", "created"]
    assert [e["commit"] for e in sec] == [c1, c1, c2, c3]
    assert kinds(a["deal_events"]) == ["deal-added", "deal-removed", "deal-added"]
    assert kinds(a["milestones"]["pilot"]) == ["created", "removed", "created"]

    b = history(gitrepo, "beta", "2026-10-20")
    sec = b["milestones"]["security-review"]
    assert kinds(sec) == ["created", "confirmed", "removed", "created", "confirmed"]
    assert [e["commit"] for e in sec] == [c1, c1, c2, c3, c3]

    # while deleted, neither deal exists
    assert scores(gitrepo, "2026-10-10") == {}
    # window 10-21..11-19: pilot due 11-13 and security start 11-09
    now = scores(gitrepo, "2026-10-20")
    assert rate(now["acme"]) == (2, 0, 0.0)  # the old confirmation does not carry over
    assert rate(now["beta"]) == (2, 1, 50.0)  # present at re-add: covers


# ---------------------------------------------------------------- 8. a step whose id changed


def test_changed_step_id_is_removed_and_created(gitrepo: GitRepo) -> None:
    text = BASE
    gitrepo.write("deals/acme.md", text)
    c1 = gitrepo.commit("Acme plan", "2026-10-01")
    text = replace_once(text, "  - id: legal-review\n", "  - id: msa-review\n")
    text = replace_once(text, "[security-review, legal-review,", "[security-review, msa-review,")
    text = confirm(text, "msa-review", "Dev Rao", "Email 2026-10-08, Re: MSA by Dec 4")
    gitrepo.write("deals/acme.md", text)
    c2 = gitrepo.commit("Legal review is the MSA review; Dev confirms", "2026-10-08")

    ms = history(gitrepo, "acme", "2026-11-10")["milestones"]
    assert kinds(ms["legal-review"]) == ["created", "removed"]
    assert [e["commit"] for e in ms["legal-review"]] == [c1, c2]
    assert kinds(ms["msa-review"]) == ["created", "confirmed"]
    assert [e["commit"] for e in ms["msa-review"]] == [c2, c2]

    # window 11-11..12-10: pilot due 11-13, security due 11-27, msa due 12-04 (covered),
    # vendor due 12-09
    record = scores(gitrepo, "2026-11-10")["acme"]
    assert rate(record) == (4, 1, 25.0)
    assert {u["milestone"] for u in record["unconfirmed"]} == {
        "pilot",
        "security-review",
        "vendor-registration",
    }


# ---------------------------------------------------------------- 9. merge commits


def test_merge_shows_branch_changes_at_the_merge(gitrepo: GitRepo) -> None:
    text = BASE
    gitrepo.write("deals/acme.md", text)
    gitrepo.commit("Acme plan", "2026-10-01")
    gitrepo.branch("security-update")
    text = set_key(text, "security-review", "due", "2026-12-02")
    gitrepo.write("deals/acme.md", text)
    b1 = gitrepo.commit("Security slips", "2026-10-03", author="Sam Lee")
    text = confirm(text, "legal-review", "Dev Rao", "Email 2026-10-05, Re: legal dates")
    gitrepo.write("deals/acme.md", text)
    b2 = gitrepo.commit("Dev confirms", "2026-10-05", author="Sam Lee")
    gitrepo.checkout("main")
    gitrepo.write("deals/beta.md", BASE.replace("title: Acme Freight", "title: Beta Rail"))
    gitrepo.commit("Beta starts", "2026-10-04")
    merge = gitrepo.merge("security-update", "Merge security-update", "2026-10-12")
    assert len(gitrepo.git("rev-list", "--parents", "-n", "1", merge).split()) == 3

    ms = history(gitrepo, "acme", "2026-10-31")["milestones"]
    sec, legal = ms["security-review"], ms["legal-review"]
    assert kinds(sec) == ["created", "slipped"]
    assert kinds(legal) == ["created", "confirmed"]
    for event in (sec[1], legal[1]):  # one state: the merge, at its committer date
        subset(event, commit=merge, at=at("2026-10-12"), day="2026-10-12")
    commits = {e["commit"] for events in ms.values() for e in events}
    assert b1 not in commits
    assert b2 not in commits

    # before the merge, main did not have the slip; at the merge it did
    assert scores(gitrepo, "2026-10-10")["acme"]["slips_7d"] == 0
    assert scores(gitrepo, "2026-10-13")["acme"]["slips_7d"] == 1


# ---------------------------------------------------------------- 10. clock skew


def test_committer_date_earlier_than_parent_is_clamped(gitrepo: GitRepo) -> None:
    text = BASE
    gitrepo.write("deals/acme.md", text)
    gitrepo.commit("Acme plan", "2026-10-01")
    text = confirm(text, "legal-review", "Dev Rao", "Email 2026-10-10, Re: legal dates")
    gitrepo.write("deals/acme.md", text)
    c2 = gitrepo.commit("Dev confirms", "2026-10-10")
    text = set_key(text, "security-review", "due", "2026-12-02")
    gitrepo.write("deals/acme.md", text)
    c3 = gitrepo.commit("Security slips", "2026-10-12", committer_when="2026-10-05")
    assert gitrepo.git("log", "-1", "--format=%cI", c3).startswith("2026-10-05")

    ms = history(gitrepo, "acme", "2026-10-31")["milestones"]
    confirmed = ms["legal-review"][1]
    subset(confirmed, kind="confirmed", commit=c2, at=at("2026-10-10"))
    slipped = ms["security-review"][1]
    subset(slipped, kind="slipped", commit=c3)
    # timed as its predecessor: never earlier than the previous commit
    assert slipped["at"] == confirmed["at"] == at("2026-10-10")
    assert slipped["day"] == "2026-10-10"

    # as of 10-07 the skewed commit is not yet in the history (it is timed 10-10)
    assert scores(gitrepo, "2026-10-07")["acme"]["slips_7d"] == 0
    assert scores(gitrepo, "2026-10-10")["acme"]["slips_7d"] == 1
    assert md(gitrepo, "check", "--as-of", "2026-10-31").exit_code == 0


# ---------------------------------------------------------------- 11. a detached HEAD


def test_detached_head_reflects_that_revision(gitrepo: GitRepo) -> None:
    text = BASE
    gitrepo.write("deals/acme.md", text)
    gitrepo.commit("Acme plan", "2026-10-01")
    text = confirm(text, "security-review", "Cara Lund", "Email 2026-10-08, Re: security dates")
    gitrepo.write("deals/acme.md", text)
    c2 = gitrepo.commit("Cara confirms", "2026-10-08")
    text = unconfirm(text, "security-review")
    text = set_key(text, "legal-review", "due", "2026-12-08")
    gitrepo.write("deals/acme.md", text)
    gitrepo.commit("Confirmation withdrawn; legal slips", "2026-10-15")

    def security_unconfirmed() -> bool:
        diags = check_json(gitrepo, "2026-10-20")
        return any("security-review" in d["message"] for d in codes(diags, "MAP203"))

    # at the branch tip: window 10-21..11-19 holds pilot due 11-13 and security start 11-09
    assert rate(scores(gitrepo, "2026-10-20")["acme"]) == (2, 0, 0.0)
    assert security_unconfirmed()

    gitrepo.checkout("HEAD~1", "--detach")
    assert gitrepo.head() == c2
    assert gitrepo.git("status", "--porcelain") == ""
    assert rate(scores(gitrepo, "2026-10-20")["acme"]) == (2, 1, 50.0)
    assert not security_unconfirmed()
    ms = history(gitrepo, "acme", "2026-10-20")["milestones"]
    assert kinds(ms["legal-review"]) == ["created"]
    assert kinds(ms["security-review"]) == ["created", "confirmed"]


# ---------------------------------------------------------------- 12. an unreadable past version


def test_unparseable_past_version_is_skipped_and_reported(gitrepo: GitRepo) -> None:
    text = BASE
    gitrepo.write("deals/acme.md", text)
    gitrepo.commit("Acme plan", "2026-10-01")
    broken = replace_once(text, "customer: Acme Freight\n", "customer: [Acme Freight\n")
    gitrepo.write("deals/acme.md", broken)
    bad = gitrepo.commit("Oops", "2026-10-05")
    text = confirm(text, "security-review", "Cara Lund", "Email 2026-10-09, Re: security dates")
    gitrepo.write("deals/acme.md", text)
    gitrepo.commit("Fixed; Cara confirms", "2026-10-09")

    def note_lines(result: Run) -> list[str]:
        return [line for line in result.stderr.splitlines() if line.startswith("note:")]

    checked = md(gitrepo, "check", "--as-of", "2026-10-20", "--format", "json")
    assert checked.exit_code == 0, checked.output + checked.stderr
    notes = note_lines(checked)
    assert len(notes) == 1
    assert bad[:7] in notes[0]
    assert "deals/acme.md" in notes[0]
    assert not any("security-review" in d["message"] for d in codes(checked.json(), "MAP203"))

    scored = md(gitrepo, "score", "--as-of", "2026-10-20", "--format", "json")
    assert scored.exit_code == 0, scored.output + scored.stderr
    notes = note_lines(scored)
    assert len(notes) == 1
    assert bad[:7] in notes[0]
    # window 10-21..11-19: pilot due 11-13 no, security start 11-09 yes
    assert rate(scored.json()[0]) == (2, 1, 50.0)

    # the broken version is skipped: no step was removed and created again
    record = history(gitrepo, "acme", "2026-10-20")
    assert kinds(record["milestones"]["security-review"]) == ["created", "confirmed"]
    assert kinds(record["milestones"]["pilot"]) == ["created"]
    assert any(bad[:7] in p for p in record["problems"])
    # on the day the broken version was the newest, the one before it is judged
    # (window 10-07..11-05 holds no date at all)
    during = scores(gitrepo, "2026-10-06")
    assert rate(during["acme"]) == (0, 0, None)


def test_score_says_when_the_newest_version_cannot_be_read(gitrepo: GitRepo) -> None:
    """A deal whose newest version is broken is scored from the one before, and `score` says
    so; a deal with no readable version at all is not scored, and `score` says that too."""
    gitrepo.write("deals/acme.md", BASE)
    good = gitrepo.commit("Acme plan", "2026-10-01")
    gitrepo.write("deals/acme.md", replace_once(BASE, "customer: Acme Freight\n", "customer: [\n"))
    gitrepo.write("deals/zeta.md", "no front matter here\n")
    bad = gitrepo.commit("Oops", "2026-10-05")

    scored = md(gitrepo, "score", "--as-of", "2026-10-06", "--format", "json")
    assert scored.exit_code == 0, scored.output + scored.stderr
    assert [r["id"] for r in scored.json()] == ["acme"]
    notes = [line for line in scored.stderr.splitlines() if line.startswith("note:")]
    assert (
        f"note: deals/acme.md: scored from its version of 2026-10-01 ({good[:7]}), because its "
        f"version of 2026-10-05 ({bad[:7]}) cannot be read" in scored.stderr
    ), notes
    assert any(
        n.startswith("note: deals/zeta.md: not scored: its version of 2026-10-05") for n in notes
    ), notes
    # before the broken commit there is nothing to say
    before = md(gitrepo, "score", "--as-of", "2026-10-02", "--format", "json")
    assert "scored from" not in before.stderr and "not scored" not in before.stderr


def test_a_broken_working_tree_is_an_error_not_a_past_version(gitrepo: GitRepo) -> None:
    """An uncommitted edit that breaks the file (the working tree is timed "now", NOW):
    `check` reports the file's error and no note about unreadable past versions; `score`
    on that day scores the last commit and says why."""
    gitrepo.write("deals/acme.md", BASE)
    good = gitrepo.commit("Acme plan", "2026-10-01")
    gitrepo.write("deals/acme.md", replace_once(BASE, "customer: Acme Freight\n", "customer: [\n"))
    today = NOW[:10]

    checked = md(gitrepo, "check", "--as-of", today, "--format", "json")
    assert checked.exit_code == 1
    assert [d["code"] for d in checked.json()] == ["MAP100"]
    assert "could not be read" not in checked.stderr, checked.stderr

    scored = md(gitrepo, "score", "--as-of", today, "--format", "json")
    assert scored.exit_code == 0, scored.output + scored.stderr
    assert "past version" not in scored.stderr, scored.stderr
    assert scored.stderr.startswith(
        f"note: deals/acme.md: scored from its version of 2026-10-01 ({good[:7]}), because its "
        f"version of {today} (working tree) cannot be read"
    ), scored.stderr


# ---------------------------------------------------------------- 13. no commits yet


def test_repository_without_commits(gitrepo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch("2026-10-20T09:00:00+00:00"))
    text = confirm(BASE, "security-review", "Cara Lund", "Email 2026-10-19, Re: security dates")
    gitrepo.write("deals/acme.md", text)
    assert gitrepo.git("rev-list", "--all") == ""  # no commit at all

    checked = md(gitrepo, "check", "--as-of", "2026-10-20", "--format", "json")
    assert checked.exit_code == 0, checked.output + checked.stderr
    assert checked.stderr.strip() == ""
    diags = checked.json()
    assert any("pilot" in d["message"] for d in codes(diags, "MAP203"))
    assert not any("security-review" in d["message"] for d in codes(diags, "MAP203"))

    # the working tree is the only state: window 10-21..11-19, pilot no, security yes
    record = scores(gitrepo, "2026-10-20")["acme"]
    assert rate(record) == (2, 1, 50.0)
    ms = history(gitrepo, "acme", "2026-10-20")["milestones"]
    assert kinds(ms["security-review"]) == ["created", "confirmed"]
    assert ms["security-review"][0]["commit"] is None


# ---------------------------------------------------------------- 14. the parse cache


def _three_commits(gitrepo: GitRepo, first: str = "2026-10-01") -> None:
    text = BASE
    gitrepo.write("deals/acme.md", text)
    gitrepo.commit("Acme plan", first)
    text = confirm(text, "security-review", "Cara Lund", "Email 2026-10-05, Re: security dates")
    gitrepo.write("deals/acme.md", text)
    gitrepo.commit("Cara confirms", "2026-10-05")
    text = set_key(text, "legal-review", "due", "2026-12-08")
    gitrepo.write("deals/acme.md", text)
    gitrepo.commit("Legal slips", "2026-10-09")


def _cache_db(root: Path) -> Path:
    """The one SQLite file of the cache under `root`."""
    found = sorted((root / ".mapdown-cache").glob("*.sqlite"))
    assert len(found) == 1, found
    assert found[0].read_bytes().startswith(b"SQLite format 3\x00")
    return found[0]


def _damage_entries(db: Path, value: Callable[[Any, int], Any]) -> int:
    """Replace the value of every entry of every table of the cache by `value(old, i)`."""
    damaged = 0
    conn = sqlite3.connect(db)
    try:
        with conn:
            tables = [
                row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                columns = list(conn.execute(f"PRAGMA table_info({table})"))
                key = next(c[1] for c in columns if c[5])
                col = next(c[1] for c in columns if not c[5])
                for k, old in conn.execute(f"SELECT {key}, {col} FROM {table}").fetchall():
                    new = value(old, damaged)
                    conn.execute(f"UPDATE {table} SET {col} = ? WHERE {key} = ?", (new, k))
                    damaged += 1
    finally:
        conn.close()
    return damaged


def _encoded_like(old: Any, obj: Any) -> Any:
    """`obj` as JSON, encoded the way `old` is (plain JSON text, or compressed JSON)."""
    text = json.dumps(obj)
    if isinstance(old, bytes):
        try:
            json.loads(zstandard.ZstdDecompressor().decompress(old))
        except (zstandard.ZstdError, ValueError):
            return text.encode()
        return zstandard.ZstdCompressor().compress(text.encode())
    return text


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts given to `quick_data` (parsing a past version), wherever mapdown imported it."""
    import mapdown.history  # the module reading the history (commands import it lazily)
    import mapdown.parse

    assert mapdown.history
    real = mapdown.parse.quick_data
    calls: list[str] = []

    def counting(text: str, *args: Any) -> dict[str, Any]:
        calls.append(text)
        return real(text, *args)

    patched = 0
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "mapdown" and getattr(module, "quick_data", None) is real:
            monkeypatch.setattr(module, "quick_data", counting)
            patched += 1
    assert patched >= 2  # mapdown.parse and the module reading the history
    return calls


def test_parse_cache_is_read_and_a_damaged_cache_is_rebuilt(
    gitrepo: GitRepo, tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_commits(gitrepo)
    parses = _count_parses(monkeypatch)
    args = ("score", "--as-of", "2026-10-20", "--format", "json")

    first = md(gitrepo, *args)
    assert first.exit_code == 0, first.output + first.stderr
    assert len(set(parses)) == 3  # three versions of the one deal
    db = _cache_db(gitrepo.root)
    assert gitrepo.git("status", "--porcelain") == ""  # the cache is git-ignored

    parses.clear()
    second = md(gitrepo, *args)
    assert second.exit_code == 0
    assert second.output == first.output
    assert parses == []  # every version came from the cache

    # garbage bytes instead of a database: ignored, rebuilt, same answer
    for extra in db.parent.glob(db.name + "-*"):  # WAL files, if any
        extra.unlink()
    db.write_bytes(b"\x00garbage\xff" * 512)
    parses.clear()
    third = md(gitrepo, *args)
    assert third.exit_code == 0, third.output + third.stderr
    assert third.output == first.output
    assert third.stderr == first.stderr
    assert len(set(parses)) == 3
    assert _cache_db(gitrepo.root) == db  # rebuilt in place

    # every entry damaged (bytes that are no JSON): ignored, each version parsed again
    assert _damage_entries(db, lambda old, i: b"\x00not json\xff") >= 3
    parses.clear()
    fourth = md(gitrepo, *args)
    assert fourth.exit_code == 0, fourth.output + fourth.stderr
    assert fourth.output == first.output
    assert fourth.stderr == first.stderr
    assert len(set(parses)) == 3

    # every entry valid JSON of the wrong shape: ignored too, never a skipped version
    shapes: list[Any] = [{"title": 1}, [], 42]
    assert _damage_entries(db, lambda old, i: _encoded_like(old, shapes[i % 3])) >= 3
    fifth = md(gitrepo, *args)
    assert fifth.exit_code == 0, fifth.output + fifth.stderr
    assert fifth.output == first.output
    assert fifth.stderr == first.stderr

    # --no-cache in a fresh repository leaves no cache folder
    fresh = GitRepo.init(tmp_path / "fresh", home)
    _three_commits(fresh, "2026-10-02")
    pilot = confirm(fresh.read("deals/acme.md"), "pilot", "Ana Silva", "Email 2026-10-12")
    fresh.write("deals/acme.md", pilot)
    fresh.commit("Ana confirms the pilot", "2026-10-12")
    for command in (("score", "--as-of", "2026-10-20"), ("check", "--as-of", "2026-10-20")):
        result = md(fresh, *command, "--no-cache")
        assert result.exit_code == 0, result.output + result.stderr
    assert not (fresh.root / ".mapdown-cache").exists()
    expected = md(fresh, *args, "--no-cache")
    assert expected.exit_code == 0
    assert rate(expected.json()[0]) == (2, 2, 100.0)  # not the first repository's answer

    # a cache restored from another clone (as CI restores one) names commits this repository
    # does not have: it is not fatal, and the answer is this repository's own
    shutil.rmtree(gitrepo.root / ".mapdown-cache")
    assert md(gitrepo, *args).output == first.output  # a clean cache for the first repository
    shutil.copytree(gitrepo.root / ".mapdown-cache", fresh.root / ".mapdown-cache")
    borrowed = md(fresh, *args)
    assert borrowed.exit_code == 0, borrowed.output + borrowed.stderr
    assert borrowed.output == expected.output


def _log_index(root: Path) -> dict[str, Any]:
    """The cached log's index: the commit it ends at and the parts it is kept in."""
    conn = sqlite3.connect(_cache_db(root))
    try:
        (value,) = conn.execute("SELECT v FROM logs WHERE k = 'deals'").fetchone()
    finally:
        conn.close()
    return json.loads(zstandard.ZstdDecompressor().decompress(value))


def test_a_cached_log_grows_by_parts_and_is_kept_whole_again(
    gitrepo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mapdown.history

    monkeypatch.setattr(mapdown.history, "LOG_PARTS", 3)
    _three_commits(gitrepo)
    args = ("history", "acme", "--format", "json")
    text = gitrepo.read("deals/acme.md")
    parts = []
    for day, due in (("10-12", "2026-12-09"), ("10-14", "2026-12-10"), ("10-16", "2026-12-11")):
        result = md(gitrepo, *args)
        assert result.exit_code == 0, result.output + result.stderr
        assert result.output == md(gitrepo, *args, "--no-cache").output  # the same answer
        index = _log_index(gitrepo.root)
        assert index["head"] == gitrepo.git("rev-parse", "HEAD")
        parts.append(len(index["parts"]))
        text = set_key(text, "legal-review", "due", due)  # one more commit to read
        gitrepo.write("deals/acme.md", text)
        gitrepo.commit(f"Legal slips again on {day}", f"2026-{day}")
    # the first build reads the whole log (one part), the next ones add a part each; at
    # three parts, the next build keeps it whole again
    final = md(gitrepo, *args)
    assert final.output == md(gitrepo, *args, "--no-cache").output
    assert '"to": "2026-12-11"' in final.output  # the last slip is in the history
    assert [*parts, len(_log_index(gitrepo.root)["parts"])] == [1, 2, 3, 1]


# ---------------------------------------------------------------- 15. git processes


def _many_commits(repo: GitRepo, commits: int, deals: int = 5) -> None:
    texts = {
        f"deals/deal-{i}.md": BASE.replace("title: Acme Freight", f"title: Deal {i}")
        for i in range(deals)
    }
    start = dt.date(2026, 9, 1)
    for c in range(commits):
        for path, text in texts.items():
            texts[path] = text + f"\n- revision {c}\n"
            repo.write(path, texts[path])
        repo.commit(f"Revision {c}", (start + dt.timedelta(days=c)).isoformat())


def _git_processes(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The argv of every git process started by `mapdown score` (cache off)."""
    started: list[list[str]] = []
    real_popen = subprocess.Popen

    class CountingPopen(real_popen):  # type: ignore[misc, valid-type]
        def __init__(self, args: Any, *rest: Any, **kw: Any) -> None:
            argv = [str(a) for a in ([args] if isinstance(args, (str, bytes)) else args)]
            if Path(argv[0]).name.startswith("git"):
                started.append(argv)
            super().__init__(args, *rest, **kw)

    with monkeypatch.context() as m:
        m.setattr(subprocess, "Popen", CountingPopen)
        m.setattr(git.cmd, "safer_popen", CountingPopen)
        m.setattr(git.cmd, "Popen", CountingPopen)
        result = md(repo, "score", "--as-of", "2026-10-20", "--format", "json", "--no-cache")
    assert result.exit_code == 0, result.output + result.stderr
    assert len(result.json()) == 5
    return started


def test_git_is_started_a_constant_number_of_times(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = {}
    for commits in (3, 6, 9):
        repo = GitRepo.init(tmp_path / f"repo-{commits}", home)
        _many_commits(repo, commits)
        started = _git_processes(repo, monkeypatch)
        assert sum(1 for argv in started if "log" in argv) == 1, started
        assert sum(1 for argv in started if "cat-file" in argv) == 1, started
        # rev-parse, rev-list (the halves), ls-tree (whether to narrow the log), log, cat-file
        assert len(started) <= 5, started
        counts[commits] = len(started)
    assert counts[3] == counts[6] == counts[9]


# ---------------------------------------------------------------- 16. two processes


def _varied_commits(repo: GitRepo, deals: int = 6) -> None:
    """Deals whose steps slip, get confirmed and change hands, one commit per change."""
    texts = {
        f"deals/deal-{i}.md": BASE.replace("title: Acme Freight", f"title: Deal {i}")
        for i in range(deals)
    }
    for path, text in texts.items():
        repo.write(path, text)
    repo.commit("Add the deals", "2026-09-01")
    day = dt.date(2026, 9, 2)
    for i, path in enumerate(sorted(texts)):
        texts[path] = set_key(texts[path], "pilot", "due", f"2026-11-{14 + i:02d}")
        repo.write(path, texts[path])
        repo.commit(f"Slip the pilot of {path}", day.isoformat())
        day += dt.timedelta(days=1)
        if i % 2:
            texts[path] = confirm(texts[path], "pilot", "Ana Silva", f"Email {day}")
            repo.write(path, texts[path])
            repo.commit(f"Confirm the pilot of {path}", day.isoformat())
            day += dt.timedelta(days=1)
    repo.write("deals/deal-0.md", "---\ntitle: [broken\n---\n")  # a version that cannot be read
    repo.commit("Break deal 0", day.isoformat())
    repo.write("deals/deal-0.md", texts["deals/deal-0.md"])
    repo.commit("Mend deal 0", (day + dt.timedelta(days=1)).isoformat())


def test_many_deals_are_scored_in_two_processes_with_the_same_results(
    gitrepo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mapdown.history

    _varied_commits(gitrepo)
    args = ("score", "--as-of", "2026-10-20", "--format", "json")
    alone = md(gitrepo, *args, "--no-cache")
    assert alone.exit_code == 0, alone.output + alone.stderr
    assert "could not be read" in alone.stderr

    monkeypatch.setattr(mapdown.history, "MIN_FORK", 2)  # fork for these six deals
    monkeypatch.setattr(mapdown.workers, "usable_cpus", lambda: 2)
    for extra in (("--no-cache",), ()):  # without a cache, then filling it
        forked = md(gitrepo, *args, *extra)
        assert (forked.exit_code, forked.output, forked.stderr) == (0, alone.output, alone.stderr)

    # the worker's timelines, scores and parsed versions reached the cache
    parses = _count_parses(monkeypatch)
    warm = md(gitrepo, *args)
    assert (warm.output, warm.stderr) == (alone.output, alone.stderr)
    assert parses == []
    other_day = md(gitrepo, "score", "--as-of", "2026-10-25", "--format", "json")
    assert other_day.exit_code == 0
    assert parses == []  # new scores from the cached timelines and versions

    # a worker that stops, or whose work raises: its share is done by the parent, with the
    # same results
    for broken in (lambda *a: os._exit(3), lambda *a: 1 / 0):
        monkeypatch.setattr(mapdown.history, "_worker", broken)
        shutil.rmtree(gitrepo.root / ".mapdown-cache")
        failed = md(gitrepo, *args)
        assert (failed.exit_code, failed.output, failed.stderr) == (0, alone.output, alone.stderr)


def test_map_deals_runs_half_the_deals_in_a_worker(gitrepo: GitRepo) -> None:
    from mapdown.history import read_history

    _varied_commits(gitrepo)
    with read_history(gitrepo.root, "deals", zoneinfo.ZoneInfo("UTC")) as repo:
        paths = sorted(repo.deals)
        pids = repo.map_deals(paths, lambda path: [os.getpid(), path], min_fork=2)
        alone = repo.map_deals(paths, lambda path: [os.getpid(), path], min_fork=10**6)
    assert list(pids) == paths  # in the order asked
    assert [p for _, p in pids.values()] == paths
    assert len({pid for pid, _ in pids.values()}) == 2
    assert {pid for pid, _ in alone.values()} == {os.getpid()}


def test_a_version_is_cached_as_the_json_of_its_data() -> None:
    """The cache's JSON (orjson) is the standard library's compact JSON, UTF-8 as it is."""
    from mapdown import jsontext
    from mapdown.parse import quick_data

    lines: dict[str, Any] = {}
    items: dict[Any, Any] = {}
    versions = [
        BASE,
        set_key(BASE, "pilot", "due", "2026-11-20"),
        add_review(BASE, "2026-10-01", "Ana Silva"),
    ]
    for text in versions:
        data = quick_data(text, lines, items)
        assert jsontext.dumps(data) == json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        assert jsontext.loads(jsontext.dumps(data)) == data
    odd_ones = ({"error": "no front matter"}, {"title": 'é "q" \u2028', "people": [], "x": [{}]})
    for odd in odd_ones:
        assert jsontext.dumps(odd) == json.dumps(odd, separators=(",", ":"), ensure_ascii=False)


def test_a_deals_coverage_memo_does_not_keep_its_history_alive() -> None:
    """coverage() keeps its answers on the deal; the history holds its deals, so the memo
    holds the history weakly: once let go, both are freed at once, with no collection."""
    import gc
    import weakref

    from mapdown.history import DealHistory, coverage
    from mapdown.parse import parse_text

    deal = parse_text(BASE, "deals/base.md", "base").deal
    assert deal is not None
    history = DealHistory("base", "deals/base.md")
    history._deals[0] = deal  # as deal_at keeps each version's Deal
    covered = coverage(deal, history, 1)
    first = deal.milestones[0]
    assert covered(first) == covered(first)  # answered, then read from the memo
    gone = weakref.ref(history)
    gc.disable()  # freed by reference counts alone, or not at all
    try:
        del history, covered
        assert gone() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("count", [3, 400])  # a request that fits in a pipe, and one that does not
def test_the_blob_reader_gives_every_blob_in_order(gitrepo: GitRepo, count: int) -> None:
    from mapdown.gitio import PIPE_SAFE, BlobReader

    for i in range(count):
        gitrepo.write(f"notes/{i}.txt", f"blob {i}\n" * (i % 7 + 1))
    gitrepo.commit("Many blobs", "2026-10-01")
    listed = gitrepo.git("ls-tree", "-r", "HEAD", "notes").splitlines()
    blobs = {line.split()[3]: line.split()[2] for line in listed}  # path -> blob id
    wanted = [blobs[f"notes/{i}.txt"] for i in range(count)] + ["0" * 40]  # one missing
    assert (len(wanted) * 41 > PIPE_SAFE) is (count > 100)
    with BlobReader(git.Repo(gitrepo.root)) as reader:
        got = list(reader.read(wanted))
        again = list(reader.read(wanted[:2]))  # the same reader serves the next request
    expected = [f"blob {i}\n".encode() * (i % 7 + 1) for i in range(count)]
    assert got == [*zip(wanted[:-1], expected, strict=True), ("0" * 40, None)]
    assert again == got[:2]


def test_blobs_asked_for_ahead_are_read_in_turn(gitrepo: GitRepo) -> None:
    """`ask` sends a request whose answers a later `read` takes: read in any order, mixed with
    requests not asked ahead, with a missing object and one that is not a blob, every answer
    goes to its own blob and the reader stays in step with git."""
    from mapdown.gitio import BlobReader

    for i in range(6):
        gitrepo.write(f"notes/{i}.txt", f"blob {i}\n" * (i + 1))
    gitrepo.commit("Blobs", "2026-10-01")
    listed = gitrepo.git("ls-tree", "-r", "HEAD", "notes").splitlines()
    blob = [line.split()[2] for line in sorted(listed, key=lambda line: line.split()[3])]
    text = [f"blob {i}\n".encode() * (i + 1) for i in range(6)]
    tree = gitrepo.git("rev-parse", "HEAD^{tree}").strip()
    missing = "0" * 40
    with BlobReader(git.Repo(gitrepo.root)) as reader:
        assert reader.ask([blob[0], blob[1], tree])
        assert reader.ask([blob[2], missing])
        assert dict(reader.read([blob[1]])) == {blob[1]: text[1]}  # past blob 0, kept
        assert dict(reader.read([blob[0], tree])) == {blob[0]: text[0], tree: None}
        # not asked ahead: the answers still waiting come first, then this request's
        assert dict(reader.read([blob[3], blob[2]])) == {blob[3]: text[3], blob[2]: text[2]}
        assert dict(reader.read([missing, blob[4]])) == {missing: None, blob[4]: text[4]}
        assert list(reader.read([blob[5]])) == [(blob[5], text[5])]
        assert not reader._asked and not reader._ready


def test_a_deals_versions_asked_for_ahead_are_those_its_timeline_reads(
    gitrepo: GitRepo,
) -> None:
    """A build asks git for the next deal's versions while it works on one
    (`RepoHistory.prefetch`); its timeline then reads them and nothing is left waiting. A deal
    whose timeline is cached asks for nothing."""
    from mapdown.history import read_history

    for i, due in enumerate(("2026-11-13", "2026-11-17", "2026-11-20")):
        gitrepo.write("deals/acme.md", BASE.replace("due: 2026-11-13", f"due: {due}"))
        gitrepo.commit(f"Acme {i}", f"2026-10-0{i + 1}")
    utc = zoneinfo.ZoneInfo("UTC")
    with read_history(gitrepo.root, "deals", utc, use_cache=False) as plain:
        expected = plain.deals["deals/acme.md"].events
    with read_history(gitrepo.root, "deals", utc, worktree=False) as repo:
        repo.prefetch("deals/acme.md")
        reader = repo._store._reader  # type: ignore[union-attr]
        assert reader is not None and len(reader._asked) == 3
        assert repo.deals["deals/acme.md"].events == expected
        assert not reader._asked and not reader._ready
    with read_history(gitrepo.root, "deals", utc, worktree=False) as repo:  # now cached
        repo.prefetch("deals/acme.md")
        assert repo._store._reader is None  # type: ignore[union-attr]
        assert repo.deals["deals/acme.md"].events == expected
