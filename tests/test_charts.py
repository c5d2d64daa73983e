"""Charts: well-formed accessible SVG, escaped user text, deterministic, faithful to the data."""

from __future__ import annotations

import copy
import math
import re
import xml.etree.ElementTree as ET

import pytest

from mapdown import charts
from mapdown.charts import _fmt, backward_timeline, parts_bars, sparkline, weekly_history

NS = {"svg": "http://www.w3.org/2000/svg"}
EVIL = "<script>alert(1)</script> \"q\" & 'a'"

# A small deal shaped like data.json's `deals[*]` (the demo's acme-wish, trimmed).
WEEKS = [
    {"week": "2026-W44", "end": "2026-11-01", "score": 80, "confirmation_rate": 100.0},
    {"week": "2026-W45", "end": "2026-11-08", "score": 47, "confirmation_rate": 50.0},
    {"week": "2026-W46", "end": "2026-11-15", "score": 34, "confirmation_rate": 12.5},
    {"week": "2026-W47", "end": "2026-11-22", "score": 25, "confirmation_rate": None},
    {"week": "2026-W48", "end": "2026-11-29", "score": 25, "confirmation_rate": 0.0},
]
PARTS = {
    "confirmation": 0,
    "owners": 91,
    "evidence": 50,
    "internal_steps": 20,
    "threading": 25,
    "on_time": 33,
}


def _ms(mid: str, step: str, track: str, owner: str, start: str | None, due: str, state: str):
    return {
        "id": mid,
        "step": step,
        "track": track,
        "owner": owner,
        "start": start,
        "due": due,
        "state": state,
    }


DEAL = {
    "id": "acme-wish",
    "go_live": "2027-01-15",
    "deadline": "2027-01-29",
    "close": "2026-12-28",
    "weeks": WEEKS,
    "score": {"score": 25, "parts": PARTS},
    "milestones": [
        _ms("discovery", "Discovery workshop", "business", "Kyle Morgan", None, "2026-11-06",
            "done-without-evidence"),
        _ms("demo", "Product demo", "technical", "Beth Ramirez", None, "2026-11-13", "done"),
        _ms("criteria", "Pilot success criteria agreed", "business", "Jason Pike", None,
            "2026-11-20", "late"),
        _ms("poc", "Proof of concept", "technical", "Beth Ramirez", "2026-11-30", "2026-12-11",
            "voided"),
        _ms("legal", "Legal reviews the contract", "paper", "Legal", "2026-12-15", "2026-12-21",
            "confirmed"),
        _ms("rollout", "Store rollout", "technical", "Beth Ramirez", "2027-01-05", "2027-01-20",
            "unconfirmed"),
    ],
    "questions": {
        "walk_back": [
            {"id": "rollout", "latest_finish": "2027-01-15", "slack_days": -5},
            {"id": "legal", "latest_finish": "2026-12-28", "slack_days": 7},
            {"id": "poc", "latest_finish": "2027-01-04", "slack_days": 24},
            {"id": "demo", "latest_finish": "2027-01-15", "slack_days": 63},
        ]
    },
}  # fmt: skip
AS_OF = "2026-11-24"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def text_of(root: ET.Element) -> str:
    return " ".join(t.strip() for t in root.itertext() if t.strip())


def assert_accessible(svg: str, prefix: str) -> ET.Element:
    root = parse(svg)
    assert root.get("role") == "img"
    title = root.find("svg:title", NS)
    desc = root.find("svg:desc", NS)
    assert title is not None and (title.text or "").strip()
    assert desc is not None and (desc.text or "").strip()
    assert title.get("id") == f"{prefix}-title"
    assert desc.get("id") == f"{prefix}-desc"
    assert root.get("aria-labelledby") == f"{prefix}-title {prefix}-desc"
    # Every id in the chart is derived from the prefix.
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert ids and all(i.startswith(f"{prefix}-") for i in ids)
    assert len(ids) == len(set(ids))
    return root


def classes(el: ET.Element) -> set[str]:
    return set((el.get("class") or "").split())


def by_class(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter() if cls in classes(e)]


ALL_CHARTS = [
    ("spark", lambda: sparkline([80, 47, None, 25], label="Score by week", id_prefix="spark")),
    ("hist", lambda: weekly_history(WEEKS, id_prefix="hist")),
    ("tl", lambda: backward_timeline(DEAL, as_of=AS_OF, id_prefix="tl")),
    ("parts", lambda: parts_bars(PARTS, id_prefix="parts")),
]


# ---------------------------------------------------------------- every chart


@pytest.mark.parametrize(("prefix", "make"), ALL_CHARTS, ids=[p for p, _ in ALL_CHARTS])
def test_well_formed_accessible_and_deterministic(prefix, make):
    svg = make()
    assert_accessible(svg, prefix)
    assert make() == svg
    assert "-0.0" not in svg
    assert not re.search(r'="[^"]*\b(nan|inf)\b', svg)


def test_bad_numbers_are_gaps_not_nan():
    svg = sparkline([10, math.nan, math.inf, 30], label="s", id_prefix="n")
    assert not re.search(r"\b(nan|inf)\b", svg)
    assert len(by_class(parse(svg), "spark-point")) == 2
    weeks = [{"week": "2026-W01", "score": math.nan, "confirmation_rate": "50"}]
    svg = weekly_history(weeks, id_prefix="n")
    assert not re.search(r"\b(nan|inf)\b", svg)


def test_fmt_fixed_one_decimal_without_negative_zero():
    assert _fmt(0) == "0.0"
    assert _fmt(-0.0) == "0.0"
    assert _fmt(-0.04) == "0.0"
    assert _fmt(12.345) == "12.3"
    assert _fmt(-3.25) == "-3.2"
    assert _fmt(100) == "100.0"


@pytest.mark.parametrize("bad", ["", "has space", 'q"uote', "<x>", "-lead", "a/b"])
def test_id_prefix_must_be_a_slug(bad):
    with pytest.raises(ValueError):
        sparkline([1], label="x", id_prefix=bad)
    with pytest.raises(ValueError):
        parts_bars({}, id_prefix=bad)


# ---------------------------------------------------------------- sparkline


def test_sparkline_gaps_make_separate_segments():
    root = parse(sparkline([50, 60, None, 70, 80, None, 90], label="s", id_prefix="g"))
    paths = by_class(root, "spark-line")
    assert len(paths) == 2
    assert all(p.get("d", "").count("M") == 1 for p in paths)
    # The lone 90 after the second gap is a point, and the last value is marked and written.
    assert len(by_class(root, "spark-point")) == 1
    assert len(by_class(root, "spark-last")) == 1
    assert by_class(root, "spark-value")[0].text == "90"
    desc = root.find("svg:desc", NS)
    assert desc is not None
    assert desc.text == "s: 50, 60, no data, 70, 80, no data, 90; latest 90."


def test_sparkline_fixed_scale_and_clamped():
    root = parse(sparkline([0, 100, 150, -20], label="s", id_prefix="c", height=28))
    d = by_class(root, "spark-line")[0].get("d", "")
    ys = [float(part.split()[1]) for part in d.replace("M", "L").split("L") if part.strip()]
    assert ys == [24.0, 4.0, 4.0, 24.0]


@pytest.mark.parametrize(
    "values", [[], [None, None], [42], [None, 42, None]], ids=["empty", "none", "one", "lone"]
)
def test_sparkline_degenerate_inputs_are_valid(values):
    svg = sparkline(values, label="Score", id_prefix="d")
    root = assert_accessible(svg, "d")
    assert not by_class(root, "spark-line")
    if any(v is not None for v in values):
        assert by_class(root, "spark-value")[0].text == "42"
    else:
        assert "no data" in text_of(root)


def test_sparkline_escapes_label():
    svg = sparkline([1, 2], label=EVIL, id_prefix="e")
    assert "<script>" not in svg
    root = parse(svg)
    title = root.find("svg:title", NS)
    assert title is not None and title.text == EVIL


# ---------------------------------------------------------------- weekly history


def test_weekly_history_lines_legend_and_last_values():
    root = parse(weekly_history(WEEKS, id_prefix="h"))
    score = by_class(root, "hist-score")
    rate = by_class(root, "hist-rate")
    score_paths = [e for g in score for e in g.iter("{http://www.w3.org/2000/svg}path")]
    rate_paths = [e for g in rate for e in g.iter("{http://www.w3.org/2000/svg}path")]
    assert len(score_paths) == 1
    assert all(p.get("stroke-dasharray") is None for p in score_paths)
    # The null in week 47 breaks the dashed rate line into two runs (W44–W46, then W48 alone).
    assert len(rate_paths) == 1
    assert all(p.get("stroke-dasharray") for p in rate_paths)
    assert len(by_class(root, "hist-rate-point")) == 4 + 1  # four weeks and the legend
    legend = text_of(by_class(root, "chart-legend")[0])
    assert "Score" in legend and "Confirmation rate" in legend
    legend_lines = by_class(root, "chart-legend")[0].findall("svg:line", NS)
    assert [ln.get("stroke-dasharray") for ln in legend_lines] == [None, "6 4"]
    assert by_class(root, "hist-score-last")[0].text == "25"
    assert by_class(root, "hist-rate-last")[0].text == "0%"
    desc = root.find("svg:desc", NS)
    assert desc is not None
    assert "Score by week: 80, 47, 34, 25, 25" in (desc.text or "")
    assert "confirmation rate 100% to 0%" in (desc.text or "")
    assert "12.5%" in (desc.text or "")


def test_weekly_history_gridlines_and_thinned_labels():
    weeks = [
        {"week": f"2026-W{i:02d}", "score": i, "confirmation_rate": float(i)} for i in range(1, 41)
    ]
    root = parse(weekly_history(weeks, id_prefix="t"))
    grid = text_of(by_class(root, "chart-grid")[0]).split()
    assert grid == ["0", "50", "100"]
    labels = [e.text for e in by_class(root, "axis-label") if (e.text or "").startswith("W")]
    assert 2 <= len(labels) <= 8
    assert labels[-1] == "W40"  # the last week is always labelled


@pytest.mark.parametrize("weeks", [[], WEEKS[:1]], ids=["none", "one"])
def test_weekly_history_degenerate(weeks):
    assert_accessible(weekly_history(weeks, id_prefix="w"), "w")


def test_weekly_history_escapes_week_names():
    svg = weekly_history([{"week": EVIL, "score": 10, "confirmation_rate": 5}], id_prefix="x")
    assert "<script>" not in svg
    assert EVIL in text_of(parse(svg))


# ---------------------------------------------------------------- parts


def test_parts_bars_labels_and_numbers():
    root = parse(parts_bars(PARTS, id_prefix="p"))
    rows = by_class(root, "parts-row")
    assert len(rows) == len(PARTS)
    labels = [by_class(r, "parts-label")[0].text for r in rows]
    values = [by_class(r, "parts-value")[0].text for r in rows]
    assert labels[3] == "internal steps"
    assert values == ["0", "91", "50", "20", "25", "33"]
    # Zero draws only the empty track; 91 draws a bar 91% of the track.
    assert not by_class(rows[0], "parts-bar")
    track = float(by_class(rows[1], "parts-track")[0].get("width", "0"))
    bar = float(by_class(rows[1], "parts-bar")[0].get("width", "0"))
    assert bar == pytest.approx(track * 0.91, abs=0.1)


def test_parts_bars_escapes_names():
    svg = parts_bars({EVIL: 50}, id_prefix="p")
    assert "<script>" not in svg
    parse(svg)


# ---------------------------------------------------------------- backward timeline


def test_timeline_markers():
    root = parse(backward_timeline(DEAL, as_of=AS_OF, id_prefix="tl"))
    markers = {
        c.removeprefix("tl-marker-"): text_of(m)
        for m in by_class(root, "tl-marker")
        for c in classes(m)
        if c.startswith("tl-marker-")
    }
    assert markers == {
        "go-live": "go-live 15 Jan",
        "deadline": "deadline 29 Jan",
        "close": "close 28 Dec",
        "today": "today 24 Nov",
    }
    golive = by_class(root, "tl-marker-go-live")[0].find("svg:line", NS)
    others = [by_class(root, f"tl-marker-{k}")[0].find("svg:line", NS) for k in markers]
    assert golive is not None
    widths = [float(ln.get("stroke-width", "0")) for ln in others if ln is not None]
    assert float(golive.get("stroke-width", "0")) == max(widths)  # go-live is the strongest


def test_timeline_optional_markers_absent():
    deal = dict(DEAL, deadline=None, close=None)
    root = parse(backward_timeline(deal, as_of=AS_OF, id_prefix="tl"))
    assert not by_class(root, "tl-marker-deadline")
    assert not by_class(root, "tl-marker-close")
    assert by_class(root, "tl-marker-go-live") and by_class(root, "tl-marker-today")


def test_timeline_marker_labels_do_not_overlap():
    # today, close and go-live within a few days of one another.
    deal = dict(DEAL, close="2026-11-25", go_live="2026-11-27", deadline="2026-11-28")
    root = parse(backward_timeline(deal, as_of=AS_OF, id_prefix="tl"))
    boxes = []
    for m in by_class(root, "tl-marker"):
        t = m.find("svg:text", NS)
        assert t is not None
        x, y, w = float(t.get("x", "0")), float(t.get("y", "0")), len(t.text or "") * 10.5 * 0.56
        lo = {"middle": x - w / 2, "start": x, "end": x - w}[t.get("text-anchor", "start")]
        boxes.append((lo, lo + w, y))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] != b[2] or a[1] <= b[0] or b[1] <= a[0], (a, b)


def test_timeline_one_row_per_milestone_with_state_text():
    root = parse(backward_timeline(DEAL, as_of=AS_OF, id_prefix="tl"))
    rows = by_class(root, "tl-row")
    assert sorted(r.get("data-milestone") for r in rows) == sorted(
        m["id"] for m in DEAL["milestones"]
    )
    for row in rows:
        m = next(m for m in DEAL["milestones"] if m["id"] == row.get("data-milestone"))
        assert f"tl-state-{m['state']}" in classes(row)
        assert by_class(row, "tl-state-text")[0].text == m["state"]
        assert by_class(row, "tl-step")[0].text == m["step"]
        assert by_class(row, "tl-owner")[0].text == m["owner"]
        shape = by_class(row, "tl-shape")[0]
        assert ("tl-bar" in classes(shape)) == (m["start"] is not None)
        assert ("tl-diamond" in classes(shape)) == (m["start"] is None)
    # Rows are grouped by track in the fixed order, each under a section label.
    sections = [text_of(s) for s in by_class(root, "tl-section")]
    assert sections == ["Technical (3 steps)", "Business (2 steps)", "Paper (1 step)"]


def test_timeline_row_height_fixed_so_height_grows():
    one = parse(backward_timeline(DEAL, as_of=AS_OF, id_prefix="a"))
    more = copy.deepcopy(DEAL)
    more["milestones"].append(
        _ms("extra", "Extra", "paper", "Ann", None, "2026-12-01", "unconfirmed")
    )
    two = parse(backward_timeline(more, as_of=AS_OF, id_prefix="b"))
    assert float(two.get("height", "0")) - float(one.get("height", "0")) == 28.0


def test_timeline_legend_explains_every_state_used():
    root = parse(backward_timeline(DEAL, as_of=AS_OF, id_prefix="tl"))
    legend = text_of(by_class(root, "tl-legend")[0])
    for state in charts.STATE_ORDER:
        assert f"{state} (" in legend
    # Only states in use are listed.
    few = dict(DEAL, milestones=[m for m in DEAL["milestones"] if m["state"] == "done"])
    legend = text_of(
        by_class(parse(backward_timeline(few, as_of=AS_OF, id_prefix="f")), "tl-legend")[0]
    )
    assert "done (solid)" in legend and "voided" not in legend and "confirmed" not in legend


def test_timeline_states_differ_without_colour():
    root = parse(backward_timeline(DEAL, as_of=AS_OF, id_prefix="tl"))
    paint = {}
    for row in by_class(root, "tl-row"):
        shape = by_class(row, "tl-shape")[0]
        state = row.get("data-milestone")
        paint[state] = (shape.get("fill"), shape.get("stroke-dasharray"))
    assert paint["poc"][0] == "url(#tl-cross)"  # voided: cross-hatch
    assert paint["legal"][0] == "url(#tl-hatch)"  # confirmed: diagonal hatch
    assert paint["criteria"][1]  # late: dotted outline
    assert by_class(root, "tl-flag")  # done without evidence: flagged
    assert root.find("svg:defs/svg:pattern[@id='tl-hatch']", NS) is not None
    assert root.find("svg:defs/svg:pattern[@id='tl-cross']", NS) is not None


def test_timeline_slack_and_negative_slack():
    root = parse(backward_timeline(DEAL, as_of=AS_OF, id_prefix="tl"))
    rows = {r.get("data-milestone"): r for r in by_class(root, "tl-row")}
    assert {k for k, r in rows.items() if by_class(r, "tl-slack")} == {"legal", "poc", "demo"}
    assert {k for k, r in rows.items() if by_class(r, "tl-negative-slack")} == {"rollout"}
    assert "negative slack −5 d" in text_of(rows["rollout"])
    legend = text_of(by_class(root, "tl-legend")[0])
    assert "negative slack" in legend and "slack: due to latest finish" in legend


def test_timeline_axis_months_and_range():
    root = parse(backward_timeline(DEAL, as_of=AS_OF, id_prefix="tl"))
    months = [e.text for e in by_class(root, "axis-label")]
    assert months[:3] == ["Nov 2026", "Dec", "Jan 2027"]
    # The axis reaches the deadline (after go-live): its line lies inside the chart.
    line = by_class(root, "tl-marker-deadline")[0].find("svg:line", NS)
    assert line is not None
    assert 0 < float(line.get("x1", "0")) < float(root.get("width", "0"))


def test_timeline_escapes_user_text_everywhere():
    deal = copy.deepcopy(DEAL)
    m = deal["milestones"][0]
    m.update(id=EVIL, step=EVIL, owner=EVIL, track=EVIL, state=EVIL)
    deal["questions"]["walk_back"].append({"id": EVIL, "latest_finish": "2027-01-01"})
    svg = backward_timeline(deal, as_of=AS_OF, id_prefix="tl")
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    row = next(r for r in by_class(root, "tl-row") if r.get("data-milestone") == EVIL)
    assert "tl-state-other" in classes(row)
    # Truncated for the label, whole in the tooltip and the description.
    title = row.find("svg:title", NS)
    assert title is not None and EVIL in (title.text or "")
    desc = root.find("svg:desc", NS)
    assert desc is not None and EVIL in (desc.text or "")


def test_timeline_deterministic_and_robust():
    a = backward_timeline(DEAL, as_of=AS_OF, id_prefix="tl")
    assert a == backward_timeline(copy.deepcopy(DEAL), as_of=AS_OF, id_prefix="tl")
    empty = {"go_live": "2027-01-15", "milestones": [], "questions": {}}
    assert_accessible(backward_timeline(empty, as_of=AS_OF, id_prefix="e"), "e")
    with pytest.raises(ValueError):
        backward_timeline(DEAL, as_of="soon", id_prefix="tl")


def test_marker_labels_are_placed_without_leaving_garbage() -> None:
    """Every deal page's timeline places its markers' labels: what the search makes must be
    freed when it is done, not kept in reference cycles for the collector."""
    import datetime as dt
    import gc

    day = dt.date(2027, 3, 1)
    markers = [  # three lines within days of each other: their labels cannot share a lane
        ("deadline", "Deadline", day),
        ("go-live", "Go-live", day + dt.timedelta(days=2)),
        ("close", "Close", day + dt.timedelta(days=4)),
    ]

    def x_at(d: dt.date) -> float:
        return 300 + 4 * (d - day).days

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        placed = charts._place_marker_labels(markers, x_at, 600)
        assert [p[0] for p in placed] == ["deadline", "go-live", "close"]
        assert len({p[4] for p in placed}) > 1  # stacked in more than one lane
        del placed
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()
