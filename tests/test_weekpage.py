"""The weekly countdown pages written in Python (`mapdown.weekpage`) are the theme's bytes:
piece by piece against the theme's macros, and page by page against a build by Jinja."""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke
from gitrepo import GitRepo
from test_site import EVIL_DEAL, EVIL_SCRIPT, files_of, make_site_repo

import mapdown.site as site_module
from mapdown import weekpage
from mapdown.demo import build_demo_repo
from mapdown.history import _VALUE_KINDS
from mapdown.site import STATUS_LABELS, make_environment, theme_unchanged
from mapdown.sitedata import WEEK_EVENT_KINDS

THEME = Path(__file__).resolve().parent.parent / "site_templates"
EVIL = EVIL_SCRIPT + "<b>&amp;\"'"

STEPS = {
    "s1": {"step": "Step " + EVIL, "owner": "Ann " + EVIL},
    "s2": {"step": "Plain", "owner": "Bob"},
}


@pytest.fixture(scope="module")
def macros(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return (
        make_environment(tmp_path_factory.mktemp("no-overrides"))
        .get_template("_macros.html")
        .module
    )


def values_for(kind: str) -> list[tuple[Any, Any]]:
    """(from, to) pairs an event of `kind` carries, with user text where it can hold any."""
    dates = [("2026-11-02", "2026-11-20"), ("2026-11-20", None), (None, "2026-12-01")]
    pairs = [["Ann " + EVIL, "Mail " + EVIL], ["Ann", ""], ["Ann", None]]
    if kind in ("confirmed", "confirmation-changed", "confirmation-removed"):
        return [(p, q) for p in [None, *pairs] for q in [None, *pairs]]
    if kind == "done":
        return [
            (None, to)
            for to in (None, "", "https://x.example/r.pdf", " https://x.example/a ", EVIL)
        ] + [(None, 'https://x.example/a" onmouseover="alert(1)'), (None, "javascript:alert(1)")]
    if kind == "status":
        return [(a, b) for a in [*STATUS_LABELS, EVIL, None] for b in STATUS_LABELS]
    if kind == "owner-changed":
        return [("Ann " + EVIL, "Bob"), (None, "Bob")]
    return [*dates, (EVIL, EVIL)]


def events() -> list[dict[str, Any]]:
    kinds = sorted(set(_VALUE_KINDS) | set(WEEK_EVENT_KINDS) | {"removed", EVIL})
    made = []
    for kind in kinds:
        for (before, after), milestone, author, commit, days in itertools.product(
            values_for(kind),
            ("s1", "s2", "gone " + EVIL, None),
            ("", "Kim " + EVIL),
            (None, "0123456789abcdef"),
            (0, 3, -2, None),
        ):
            made.append(
                {
                    "kind": kind,
                    "milestone": milestone,
                    "day": "2026-11-03",
                    "commit": commit,
                    "author": author,
                    "key": "due " + EVIL if kind != "slipped" else "due",
                    "from": before,
                    "to": after,
                    "days": days,
                }
            )
    return made


def test_every_event_reads_as_the_themes_macro(macros: Any) -> None:
    made = events()
    assert len({e["kind"] for e in made}) >= 15
    for e in made:
        if e["kind"] in ("slipped", "pulled-in") and e["days"] is None:
            continue  # a slip always has its days
        assert weekpage.event(e, STEPS) == str(macros.event(e, STEPS)), e
    assert "&lt;script&gt;" in weekpage.event(made[0], STEPS)


def test_the_unconfirmed_list_reads_as_the_themes_macro(macros: Any) -> None:
    items = [
        {"date": "2026-11-20", "milestone": "s1", "key": "due"},
        {"date": "2026-11-21", "milestone": "gone " + EVIL, "key": "start " + EVIL},
        {"date": EVIL, "milestone": "s2", "key": "due"},
    ]
    for n in range(len(items) + 1):
        chosen = items[:n]
        assert weekpage.unconfirmed_list(chosen, STEPS) == str(
            macros.unconfirmed_list(chosen, STEPS)
        )


def test_question_three_reads_as_the_themes_macro(macros: Any) -> None:
    rows = [
        {
            "step": "Step " + EVIL,
            "owner": owner,
            "must_be_true_by": "2026-12-01",
            "due": "2026-12-04",
            "days_to_spare": spare,
            "before_close": before_close,
            "state": state,
        }
        for owner, spare, before_close, state in itertools.product(
            ("Ann " + EVIL, "Bob"),
            (-3, 0, 5),
            (True, False),
            ("done", "confirmed", "unconfirmed", "late", "voided", EVIL),
        )
    ]
    counts = [[], [("late", 2)], [("done, with evidence", 1), ("unconfirmed " + EVIL, 3)]]
    cases = 0
    for close, close_counts, go_live_counts, close_holds, walk_open in itertools.product(
        (None, "2026-12-15"), counts, counts, (True, False), ([], rows[:1], rows)
    ):
        q = {
            "close": close,
            "close_counts": close_counts,
            "go_live_counts": go_live_counts,
            "close_holds": close_holds,
            "walk_open": walk_open,
        }
        for go_live in ("2027-01-15", EVIL):
            mine = weekpage.question_three_week(q, go_live)
            assert mine == str(macros.question_three_week(q, go_live)), q
            cases += 1
    assert cases == 2 * 3 * 3 * 2 * 3 * 2


def build_both(root: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """`root`'s site built with the weekly pages and the weekly reviews written by `weekpage`
    and by Jinja: the two are the same, file for file; the number of weekly pages `weekpage`
    wrote."""
    written = []
    reviews = []
    week_page, review_page = weekpage.week_page, weekpage.review_page

    def counted(*a: Any, **kw: Any) -> str:
        written.append(1)
        return week_page(*a, **kw)

    def counted_review(*a: Any, **kw: Any) -> str:
        reviews.append(1)
        return review_page(*a, **kw)

    monkeypatch.setattr(weekpage, "week_page", counted)
    monkeypatch.setattr(weekpage, "review_page", counted_review)
    fast, slow = tmp / "python", tmp / "jinja"
    for out, unchanged in ((fast, theme_unchanged), (slow, lambda env, names: False)):
        monkeypatch.setattr(site_module, "theme_unchanged", unchanged)
        # one process: a forked worker's pages would not be counted here
        result = invoke(["build", "--no-cache", "--jobs", "1", "--out", str(out), *args], root)
        assert result.exit_code == 0, result.output + result.stderr
    weekly = sorted(p for p in files_of(fast) if "/weeks/" in p and p.startswith("deals/"))
    assert len(written) == len(weekly) > 0  # the first build wrote them all in Python
    review = sorted(p for p in files_of(fast) if re.fullmatch(r"weeks/\d{4}-W\d{2}\.html", p))
    assert len(reviews) == len(review) > 0
    assert files_of(fast) == files_of(slow)
    return len(weekly)


def test_the_snapshot_sites_weekly_pages_are_the_themes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_site_repo(tmp_path / "repo", tmp_path / "home")
    for args in (
        ["--as-of", "2026-11-04"],
        ["--as-of", "2026-12-30", "--base-url", "https://x.o/m"],
    ):
        shutil.rmtree(tmp_path / "python", ignore_errors=True)
        shutil.rmtree(tmp_path / "jinja", ignore_errors=True)
        assert build_both(repo.root, tmp_path, monkeypatch, *args) >= 8


def test_the_demo_sites_weekly_pages_are_the_themes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_demo_repo(tmp_path / "demo")
    assert build_both(root, tmp_path, monkeypatch, "--as-of", "2026-11-20") >= 20


def test_markup_in_every_field_gives_the_themes_weekly_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo.init(tmp_path / "repo", tmp_path / "home")
    repo.write("deals/evil.md", EVIL_DEAL)
    repo.commit("Evil: first plan", "2026-10-05")
    repo.write("deals/evil.md", EVIL_DEAL.replace("due: 2026-11-20", "due: 2026-11-24"))
    repo.commit("Evil: the step slips " + EVIL_SCRIPT, "2026-10-20", author="Eve " + EVIL)
    assert build_both(repo.root, tmp_path, monkeypatch, "--as-of", "2026-11-26") >= 7
    page = (tmp_path / "python" / "deals" / "evil" / "weeks" / "2026-W43.html").read_text()
    assert "<script" not in page and "&lt;script&gt;" in page and "moved later" in page


@pytest.mark.parametrize(
    ("names", "name"),
    [(weekpage.THEME_FILES, n) for n in sorted(weekpage.THEME_FILES)]
    + [(weekpage.REVIEW_THEME_FILES, n) for n in sorted(weekpage.REVIEW_THEME_FILES)],
)
def test_an_overridden_template_renders_the_weekly_pages_by_jinja(
    tmp_path: Path, names: frozenset[str], name: str
) -> None:
    """A repository that overrides any template a weekly page (or a weekly review) is made
    from gets its own template's page; a word-for-word copy of the theme's changes nothing."""
    own = tmp_path / "site_templates"
    own.mkdir()
    theme = (THEME / name).read_text(encoding="utf-8")
    shutil.copyfile(THEME / name, own / name)
    assert theme_unchanged(make_environment(tmp_path), names)
    (own / name).write_text(theme + "{# ours #}", encoding="utf-8")
    assert not theme_unchanged(make_environment(tmp_path), names)
    (own / name).unlink()
    assert theme_unchanged(make_environment(tmp_path), names)


@pytest.mark.parametrize(
    ("template", "words", "pages"),
    [
        ("deal_week.html", "What happened this week", "deals/*/weeks/*.html"),
        ("review_week.html", "biggest drops first", "weeks/*-W*.html"),
    ],
)
def test_a_changed_weekly_template_shows_on_its_pages(
    tmp_path: Path, template: str, words: str, pages: str
) -> None:
    """A repository's own weekly page or weekly review template is the one its pages show."""
    repo = make_site_repo(tmp_path / "repo", tmp_path / "home")
    theme = (THEME / template).read_text(encoding="utf-8")
    assert words in theme
    repo.write(f"site_templates/{template}", theme.replace(words, "OUR-OWN-WORDS"))
    result = invoke(["build", "--as-of", "2026-11-04", "--out", str(tmp_path / "out")], repo.root)
    assert result.exit_code == 0, result.output + result.stderr
    written = sorted((tmp_path / "out").glob(pages))
    assert written
    for page in written:
        text = page.read_text(encoding="utf-8")
        assert "OUR-OWN-WORDS" in text and words not in text, page
