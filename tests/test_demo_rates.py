"""The demo's confirmation rates against a hand computation from FORMAT.md and RULES.md.

The table was worked out by hand from the demo's commits (who confirmed what, when each date
moved), independently of mapdown/history.py: confirmed dates / dates in the window T+1..T+30,
commits made during day T included.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import invoke

from mapdown.demo import build_demo_repo

# as of → {deal: (confirmed dates, dates in the window)}
HAND = {
    "2026-09-27": {"harbor-federal": (1, 3), "northwind-logistics": (0, 1)},
    "2026-10-04": {"harbor-federal": (2, 6), "northwind-logistics": (1, 1)},
    "2026-10-11": {"harbor-federal": (3, 9), "northwind-logistics": (3, 3)},
    "2026-10-14": {"harbor-federal": (9, 9), "northwind-logistics": (4, 4)},
    "2026-10-15": {"harbor-federal": (8, 9), "northwind-logistics": (4, 4)},
    "2026-10-18": {"harbor-federal": (9, 12), "northwind-logistics": (5, 5)},
    "2026-10-25": {"harbor-federal": (11, 13), "northwind-logistics": (6, 6)},
    "2026-11-01": {"harbor-federal": (11, 13), "northwind-logistics": (8, 8), "acme-wish": (7, 7)},
    "2026-11-08": {"harbor-federal": (9, 12), "northwind-logistics": (7, 7), "acme-wish": (4, 8)},
    "2026-11-15": {"harbor-federal": (6, 8), "northwind-logistics": (8, 8), "acme-wish": (1, 8)},
    "2026-11-16": {"harbor-federal": (3, 7), "northwind-logistics": (8, 8), "acme-wish": (1, 8)},
    "2026-11-19": {"harbor-federal": (4, 9), "northwind-logistics": (8, 8), "acme-wish": (0, 7)},
    "2026-11-20": {"harbor-federal": (6, 8), "northwind-logistics": (7, 7), "acme-wish": (0, 6)},
    "2026-11-22": {"harbor-federal": (6, 9), "northwind-logistics": (7, 7), "acme-wish": (0, 7)},
    "2026-11-24": {"harbor-federal": (6, 7), "northwind-logistics": (7, 7), "acme-wish": (0, 7)},
    "2026-11-26": {"harbor-federal": (6, 7), "northwind-logistics": (7, 7), "acme-wish": (0, 7)},
}


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert shutil.which("git"), "git is required for the history tests"
    return build_demo_repo(tmp_path_factory.mktemp("demo") / "repo")


@pytest.mark.parametrize("as_of", sorted(HAND))
def test_score_matches_hand_computed_rate(demo_repo: Path, as_of: str) -> None:
    run = invoke(["score", "--as-of", as_of, "--format", "json"], demo_repo)
    assert run.exit_code == 0, run.output
    got = {r["id"]: (r["confirmed_dates"], r["window_dates"]) for r in run.json()}
    assert got == HAND[as_of]
    for record in run.json():
        confirmed, total = HAND[as_of][record["id"]]
        assert record["confirmation_rate"] == round(100 * confirmed / total, 1)


def test_history_weeks_agree_with_score_on_sundays(demo_repo: Path) -> None:
    run = invoke(["history", "acme-wish", "--as-of", "2026-11-26", "--format", "json"], demo_repo)
    weeks = {w["end"]: w for w in run.json()["weeks"]}
    rates = [w["confirmation_rate"] for w in run.json()["weeks"]]
    assert rates[:4] == [100.0, 50.0, 12.5, 0.0]  # the wish decays week by week
    for sunday in ("2026-11-08", "2026-11-15", "2026-11-22"):
        score = invoke(["score", "--as-of", sunday, "--format", "json"], demo_repo).json()
        acme = next(r for r in score if r["id"] == "acme-wish")
        assert weeks[sunday]["confirmation_rate"] == acme["confirmation_rate"]
        assert weeks[sunday]["score"] == acme["score"]


def test_the_worked_example_in_docs_scoring(demo_repo: Path) -> None:
    """docs/scoring.md works acme-wish's score out by hand; the tool must agree."""
    run = invoke(["score", "--as-of", "2026-11-24", "--format", "json"], demo_repo)
    acme = next(r for r in run.json() if r["id"] == "acme-wish")
    assert acme["parts"] == {
        "confirmation": 0,
        "owners": 91,
        "evidence": 50,
        "internal_steps": 20,
        "threading": 25,
        "on_time": 33,
    }
    assert acme["score"] == 25
    doc = (Path(__file__).resolve().parent.parent / "docs" / "scoring.md").read_text()
    assert "= 24.55 → 25" in doc


@pytest.mark.parametrize("off", [(), ("MAP212", "MAP216")])
def test_every_weekly_score_equals_a_full_score_of_that_week(
    demo_repo: Path, off: tuple[str, ...]
) -> None:
    """The weekly series makes no findings (`week_score`): it works out what the parts read of
    MAP212 and MAP216 directly. Every week of every demo deal must score exactly as a full
    judgement of the same state does, also with those two findings turned off."""
    import dataclasses
    import datetime as dt

    from mapdown.config import find_config, load_config
    from mapdown.history import read_history
    from mapdown.score import score_deal, weekly

    config = load_config(find_config(demo_repo))
    config = dataclasses.replace(config, severity={**config.severity, **dict.fromkeys(off, "off")})
    repo = read_history(demo_repo, config.deals_dir, config.tz, use_cache=False, worktree=False)
    as_of = dt.date(2026, 11, 26)
    weeks = codes = 0
    for path in sorted((demo_repo / config.deals_dir).glob("*.md")):
        history = repo.for_path(path)
        assert history is not None
        for w in weekly(history, as_of, config):
            deal = history.deal_as_of(w.as_of)
            full = score_deal(deal, w.as_of, config, history, history.upto(w.as_of))
            assert (w.score.score, w.score.parts) == (full.score, full.parts), (path, w.week)
            assert w.score.window == full.window and w.score.slips == full.slips
            assert w.score.findings == []
            weeks += 1
            codes += sum(1 for f in full.findings if f.code in ("MAP212", "MAP216"))
    assert weeks > 20
    # the parts' own findings occur in the demo's weeks, unless they are turned off
    assert (codes > 0) == (not off)
