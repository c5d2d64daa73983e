"""`mapdown.demo`: the backdated demo repository and the fixture generator behind it.

The final tree must be the example deals byte for byte; every intermediate state of every deal
must be a valid MAP as of its commit's day; and the history must tell the stories it promises
(judged here with a small hand computation of FORMAT.md's rules, independent of
mapdown.history). Tests that need git fail, never skip, when git is missing.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES, ROOT, invoke

from mapdown import demo
from mapdown.demo import DemoCommit, build_demo_repo, commit_states, demo_commits, init_repo
from mapdown.errors import UsageProblem

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PACKAGED = ROOT / "mapdown" / "demo_deals"
DEAL_PATHS = {
    "harbor": ("deals/harbor-federal.md",),
    "northwind": ("deals/northwind.md", "deals/northwind-logistics.md"),
    "acme": ("deals/acme-wish.md",),
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert shutil.which("git"), "git is not installed: the demo tests need it"
    return build_demo_repo(tmp_path_factory.mktemp("demo") / "mapdown-demo")


@pytest.fixture(scope="module")
def first_parent(demo_repo: Path) -> list[tuple[str, dt.datetime]]:
    """(sha, committer time) of every first-parent commit, oldest first."""
    rows = git(demo_repo, "log", "--first-parent", "--reverse", "--format=%H %cI").split("\n")
    return [(sha, dt.datetime.fromisoformat(t)) for sha, t in (r.split() for r in rows if r)]


@pytest.fixture(scope="module")
def states(demo_repo: Path, first_parent: list[tuple[str, dt.datetime]]) -> dict[str, list]:
    """Each deal's first-parent states: (committer time, front matter), one per change."""
    requests = [f"{sha}:{p}" for sha, _ in first_parent for d in DEAL_PATHS for p in DEAL_PATHS[d]]
    out = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=demo_repo,
        input=("\n".join(requests) + "\n").encode(),
        capture_output=True,
        check=True,
    ).stdout
    blobs: dict[str, str | None] = {}
    pos = 0
    for request in requests:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode()
        pos = end + 1
        if header.endswith(" missing"):
            blobs[request] = None
            continue
        size = int(header.split()[2])
        blobs[request] = out[pos : pos + size].decode("utf-8")
        pos += size + 1
    result: dict[str, list] = {}
    for deal, paths in DEAL_PATHS.items():
        seen: list = []
        last = None
        for sha, when in first_parent:
            text = next((blobs[f"{sha}:{p}"] for p in paths if blobs[f"{sha}:{p}"]), None)
            if text is None or text == last:
                continue
            last = text
            seen.append((when, yaml.load(text.split("---\n")[1], Loader=LOADER)))
        result[deal] = seen
    return result


# ---------------------------------------------------------------- a hand computation of the rules


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _row(data: dict, step_id: str) -> dict | None:
    return next((m for m in data["milestones"] if m["id"] == step_id), None)


def covered(history: list, step_id: str, as_of: dt.date) -> bool:
    """FORMAT.md: confirmed at the latest state where the (confirmed_by, confirmation) pair took
    its current value; covering while no later state moved `start` or `due`."""
    upto = [data for when, data in history if when.date() <= as_of]
    rows = [_row(data, step_id) for data in upto]
    last = rows[-1]
    customers = {p["name"] for p in upto[-1]["people"] if p["side"] == "customer"}
    pair = (last.get("confirmed_by"), last.get("confirmation"))
    if pair[0] not in customers or not pair[1]:
        return False
    at = len(rows) - 1
    while (
        at > 0
        and rows[at - 1]
        and (rows[at - 1].get("confirmed_by"), rows[at - 1].get("confirmation")) == pair
    ):
        at -= 1
    dates = [(r.get("start"), r.get("due")) if r else None for r in rows]
    return all(dates[i] == dates[i - 1] for i in range(at + 1, len(rows)))


def rate(history: list, as_of: dt.date) -> tuple[int, int]:
    """RULES.md: (confirmed, window) dates of open steps in as_of+1 .. as_of+30."""
    data = [d for when, d in history if when.date() <= as_of][-1]
    window = confirmed = 0
    for m in data["milestones"]:
        if m.get("status") == "done":
            continue
        days = [_day(m[k]) for k in ("start", "due") if m.get(k) is not None]
        n = sum(1 for d in days if as_of < d <= as_of + dt.timedelta(days=30))
        window += n
        confirmed += n if n and covered(history, m["id"], as_of) else 0
    return confirmed, window


# ---------------------------------------------------------------- the packaged deals


def test_packaged_deals_are_the_examples_byte_for_byte() -> None:
    assert sorted(p.name for p in PACKAGED.glob("*.md")) == sorted(
        p.name for p in EXAMPLES.glob("*.md")
    )
    assert sorted(demo.DEMO_DEALS) == sorted(p.name for p in EXAMPLES.glob("*.md"))
    for path in EXAMPLES.glob("*.md"):
        assert (PACKAGED / path.name).read_bytes() == path.read_bytes(), path.name
        assert demo.final_deal_text(path.name).encode("utf-8") == path.read_bytes()


def test_the_story_ends_with_the_examples() -> None:
    final = demo.final_docs()
    deals = {k: v for k, v in final.items() if k.startswith("deals/")}
    assert sorted(deals) == sorted(f"deals/{p.name}" for p in EXAMPLES.glob("*.md"))
    for path, text in deals.items():
        assert text.encode("utf-8") == (ROOT / path).read_bytes(), path


# ---------------------------------------------------------------- the demo repository


def test_final_tree_is_the_examples(demo_repo: Path) -> None:
    tracked = sorted(git(demo_repo, "ls-files").split())
    assert tracked == [
        ".gitignore",
        "deals/acme-wish.md",
        "deals/harbor-federal.md",
        "deals/northwind-logistics.md",
        "mapdown.yaml",
    ]
    for path in EXAMPLES.glob("*.md"):
        assert (demo_repo / "deals" / path.name).read_bytes() == path.read_bytes(), path.name
    assert yaml.safe_load((demo_repo / "mapdown.yaml").read_text()) == {"timezone": "UTC"}
    ignored = (demo_repo / ".gitignore").read_text().split()
    assert ".mapdown-cache/" in ignored
    assert "_site/" in ignored
    assert git(demo_repo, "status", "--porcelain") == ""
    assert git(demo_repo, "symbolic-ref", "--short", "HEAD").strip() == "main"


def test_history_spans_ten_iso_weeks_with_fixed_dates(demo_repo: Path) -> None:
    rows = git(demo_repo, "log", "--first-parent", "--format=%aI|%cI|%an|%ae").split("\n")
    rows = [r.split("|") for r in rows if r]
    weeks = {dt.datetime.fromisoformat(c).isocalendar()[:2] for _, c, _, _ in rows}
    assert len(weeks) >= 10
    committed = sorted(dt.datetime.fromisoformat(c) for _, c, _, _ in rows)
    assert committed[0].date() == dt.date(2026, 9, 14)
    assert committed[-1].date() == dt.date(2026, 11, 24)
    assert all(a == c and c.endswith("+00:00") for a, c, _, _ in rows)
    authors = {name for _, _, name, _ in rows}
    assert {"Sam Carter", "Rebecca Lane", "Omar Haddad"} <= authors
    assert all(email.endswith("@vendor.example") for _, _, _, email in rows)


def test_commits_match_the_story_data(demo_repo: Path) -> None:
    messages = git(demo_repo, "log", "--reverse", "--date-order", "--format=%s").split("\n")[:-1]
    assert sorted(messages) == sorted(c.message for c in demo_commits())


def test_the_northwind_rename_is_detected(demo_repo: Path) -> None:
    log = git(
        demo_repo,
        "log",
        "--follow",
        "--name-status",
        "--format=",
        "--",
        "deals/northwind-logistics.md",
    )
    renames = [line.split("\t") for line in log.splitlines() if line.startswith("R")]
    assert len(renames) == 1
    assert renames[0][1:] == ["deals/northwind.md", "deals/northwind-logistics.md"]
    assert int(renames[0][0][1:]) >= 90  # the rename commit keeps the content


def test_the_acme_branch_is_merged_with_a_merge_commit(demo_repo: Path) -> None:
    merges = git(demo_repo, "rev-list", "--merges", "HEAD").split()
    assert len(merges) == 1
    parents = git(demo_repo, "rev-list", "--parents", "-n", "1", merges[0]).split()
    assert len(parents) == 3
    assert git(demo_repo, "rev-parse", "acme-update").strip() == parents[2]
    first_parent = git(demo_repo, "rev-list", "--first-parent", "HEAD").split()
    assert merges[0] in first_parent
    assert parents[2] not in first_parent
    changed = git(demo_repo, "diff", "--name-only", parents[1], merges[0]).split()
    assert changed == ["deals/acme-wish.md"]


def test_the_demo_repository_passes_check(demo_repo: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mapdown", "check", "--as-of", "2026-11-24"],
        cwd=demo_repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_intermediate_state_is_a_valid_map(tmp_path: Path) -> None:
    """Each deal file written by each commit (branches included) passes `mapdown check` as of
    that commit's day."""
    checked = 0
    for i, commit in enumerate(demo_commits()):
        day = commit.moment.astimezone(dt.UTC).date().isoformat()
        for path, text in commit.files.items():
            if not (path.startswith("deals/") and text is not None):
                continue
            folder = tmp_path / f"{i:02d}"
            (folder / "deals").mkdir(parents=True, exist_ok=True)
            (folder / "mapdown.yaml").write_text(demo.CONFIG_TEXT, encoding="utf-8")
            (folder / path).write_bytes(text.encode("utf-8"))
            run = invoke(["check", "--as-of", day, "--format", "json", path], folder)
            assert run.exit_code == 0, f"{commit.when} {commit.message}: {path}\n{run.output}"
            checked += 1
    assert checked >= 45


# ---------------------------------------------------------------- the stories


def test_harbor_sourcing_stall_then_every_date_within_a_week(states: dict[str, list]) -> None:
    harbor = states["harbor"]
    sourcing = ("vendor-registration", "msa-final", "spend-approval", "po")
    stall = [(w, d) for w, d in harbor if w.date() < dt.date(2026, 10, 8)]
    assert stall[0][0].date() == dt.date(2026, 9, 22)
    assert len(stall) >= 4  # commits in the stall touch notes and other rows
    for _, data in stall:
        assert all(not _row(data, s).get("confirmed_by") for s in sourcing)
    notes = [
        c.files[demo.HARBOR_PATH]
        for c in demo_commits()
        if demo.HARBOR_PATH in c.files and c.moment.date() < dt.date(2026, 10, 8)
    ]
    assert "neither agree" in notes[-1]  # the stall is recorded in the notes
    assert rate(harbor, dt.date(2026, 10, 11)) == (3, 9)
    confirming = [w for w, _ in harbor if dt.date(2026, 10, 8) <= w.date() <= dt.date(2026, 10, 15)]
    assert len(confirming) >= 4
    assert rate(harbor, dt.date(2026, 10, 14)) == (9, 9)  # every date in the window
    for s in ("vendor-registration", "spend-approval", "po"):
        assert covered(harbor, s, dt.date(2026, 10, 14))


def test_harbor_slip_voids_then_reconfirmation_covers(states: dict[str, list]) -> None:
    harbor = states["harbor"]
    before, after = dt.date(2026, 11, 15), dt.date(2026, 11, 16)
    old = _row([d for w, d in harbor if w.date() <= before][-1], "msa-final")
    new = _row([d for w, d in harbor if w.date() <= after][-1], "msa-final")
    assert (_day(new["due"]) - _day(old["due"])).days == 9
    assert new["confirmation"] == old["confirmation"]
    assert covered(harbor, "msa-final", before)
    assert not covered(harbor, "msa-final", after)
    assert not covered(harbor, "msa-final", dt.date(2026, 11, 19))
    assert covered(harbor, "msa-final", dt.date(2026, 11, 20))
    assert rate(harbor, after) == (3, 7)
    assert rate(harbor, dt.date(2026, 11, 20)) == (6, 8)


def test_acme_rate_decays_week_by_week(states: dict[str, list]) -> None:
    acme = states["acme"]
    assert acme[0][0].date() == dt.date(2026, 10, 30)
    sundays = [dt.date(2026, 11, 1) + dt.timedelta(weeks=i) for i in range(4)]
    rates = [rate(acme, day) for day in sundays]
    assert rates == [(7, 7), (4, 8), (1, 8), (0, 7)]
    closes = {str(data["close"]) for _, data in acme}
    assert closes == {"2026-12-28"}  # the quarter-end close never moves while everything slips
    final = acme[-1][1]
    assert not any(m.get("confirmation") for m in final["milestones"])


def test_northwind_is_confirmed_shortly_after_dates_are_set(states: dict[str, list]) -> None:
    northwind = states["northwind"]
    for week in range(1, 9):
        day = dt.date(2026, 9, 27) + dt.timedelta(weeks=week)
        confirmed, window = rate(northwind, day)
        assert window and confirmed == window, day


# ---------------------------------------------------------------- the generator


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n", encoding="utf-8")
    with pytest.raises(UsageProblem):
        build_demo_repo(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    with pytest.raises(UsageProblem):
        build_demo_repo(tmp_path / "notes.txt")


def test_builds_into_an_existing_empty_folder(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    states = demo_commits()[:3]
    init_repo(target)
    commit_states(target, states)
    assert git(target, "rev-list", "--count", "HEAD").strip() == "3"


def test_commit_states_builds_small_fixtures(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "fixture")
    who = {"author": "Sam Carter", "email": "sam.carter@vendor.example"}
    commit_states(
        repo,
        [
            DemoCommit("2026-10-05T09:00:00+00:00", message="one", files={"a.md": "a\n"}, **who),
            DemoCommit(
                "2026-10-06T09:00:00+02:00",
                message="two",
                files={"b.md": "b\n" * 20, "a.md": None},
                **who,
            ),
            DemoCommit(
                "2026-10-07T09:00:00+00:00",
                message="three",
                renames={"b.md": "deals/b.md"},
                files={"deals/b.md": "b\n" * 20 + "c\n"},
                branch="side",
                **who,
            ),
            DemoCommit("2026-10-08T09:00:00+00:00", message="four", merge="side", **who),
        ],
    )
    log = git(repo, "log", "--first-parent", "--format=%s|%cI|%an").split("\n")[:-1]
    assert log == [
        "four|2026-10-08T09:00:00+00:00|Sam Carter",
        "two|2026-10-06T09:00:00+02:00|Sam Carter",
        "one|2026-10-05T09:00:00+00:00|Sam Carter",
    ]
    assert sorted(git(repo, "ls-files").split()) == ["deals/b.md"]
    follow = git(repo, "log", "--follow", "--name-status", "--format=", "--", "deals/b.md")
    assert any(line.startswith("R") for line in follow.splitlines())


def test_commit_times_need_an_offset(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "fixture")
    naive = DemoCommit("2026-10-05T09:00:00", "Sam Carter", "s@vendor.example", "x", {"a": "a"})
    with pytest.raises(ValueError, match="offset"):
        commit_states(repo, [naive])
    assert not (repo / "a").exists()
