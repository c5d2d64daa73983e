"""Charts drawn at build time as inline SVG: no JavaScript, no fonts, no files to fetch.

Every function here is pure: plain data in, an ``<svg>`` string out, byte-identical for the same
input. Element ids (text alternatives, patterns) are derived from the caller's ``id_prefix``,
which must be a slug unique on the page. Every piece of text that comes from user data goes
through :func:`markupsafe.escape`. Charts carry ``class`` attributes for the site stylesheet and
just enough presentation attributes to read standalone; lines differ by dash style and marker
shape and states by pattern and written word, so they read in greyscale and on paper.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markupsafe import escape

__all__ = ["backward_timeline", "parts_bars", "sparkline", "weekly_history"]

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
INK = "#1a1a1a"
MUTED = "#5c5c5c"
GRID = "#c8c8c8"
SCORE_COLOUR = "#1f4e8c"
RATE_COLOUR = "#a3470f"

_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# The six states of a step (mapdown.plan.STATES), in legend order, with how each is drawn.
STATE_ORDER = ("done", "done-without-evidence", "late", "voided", "confirmed", "unconfirmed")
STATE_HELP = {
    "done": "solid",
    "done-without-evidence": "solid, flagged",
    "late": "dotted red outline",
    "voided": "cross-hatched",
    "confirmed": "diagonal hatch",
    "unconfirmed": "outline only",
}
TRACK_ORDER = ("technical", "business", "paper")


# ---------------------------------------------------------------- small helpers


def _fmt(x: float) -> str:
    """A coordinate or value with one fixed decimal; never ``-0.0``."""
    out = f"{x:.1f}"
    return "0.0" if out == "-0.0" else out


def _num(x: float) -> str:
    """A value as people read it: ``47`` for whole numbers, ``12.5`` otherwise."""
    r = round(x)
    if abs(x - r) < 1e-9:
        return str(int(r))
    return _fmt(x)


def _pct(x: float) -> str:
    """A percentage as text: ``100%``, ``12.5%``."""
    return f"{_num(x)}%"


def _esc(value: object) -> str:
    """User text made safe for element content and quoted attributes."""
    return str(escape(value))


def _check_prefix(id_prefix: str) -> str:
    if not isinstance(id_prefix, str) or not _PREFIX.match(id_prefix):
        raise ValueError(f"id_prefix must be a slug (letters, digits, '-', '_'): {id_prefix!r}")
    return id_prefix


def _value(v: object) -> float | None:
    """A number or None; NaN, infinities, booleans and non-numbers count as missing."""
    if v is None or isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _clamp(v: float, lo: float = 0.0, hi: float = 100.0) -> float:
    return max(lo, min(hi, v))


def _text_width(text: str, size: float) -> float:
    """A rough width of `text` in a sans-serif face: enough to place and stack labels."""
    return len(text) * size * 0.56


def _truncate(text: str, size: float, room: float) -> str:
    """`text` cut with an ellipsis to fit about `room` pixels (cut before escaping)."""
    if _text_width(text, size) <= room:
        return text
    keep = max(1, int(room / (size * 0.56)) - 1)
    return text[:keep].rstrip() + "…"


def _open_svg(
    prefix: str, kind: str, width: float, height: float, title: str, desc: str
) -> list[str]:
    """The opening of an accessible SVG: role, title and description, labelled by both."""
    return [
        f'<svg xmlns="{SVG_NS}" class="chart chart-{kind}" role="img" '
        f'width="{_num(width)}" height="{_num(height)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" '
        f'aria-labelledby="{prefix}-title {prefix}-desc" '
        f'font-family="{FONT}" font-size="11" fill="{INK}">',
        f'<title id="{prefix}-title">{_esc(title)}</title>',
        f'<desc id="{prefix}-desc">{_esc(desc)}</desc>',
    ]


def _runs(points: Iterable[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Consecutive non-missing points; a None ends a run."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for p in points:
        if p is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(p)
    if current:
        runs.append(current)
    return runs


def _path(run: Sequence[tuple[float, float]]) -> str:
    head, *rest = run
    d = f"M{_fmt(head[0])} {_fmt(head[1])}"
    return d + "".join(f" L{_fmt(x)} {_fmt(y)}" for x, y in rest)


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _short_date(d: dt.date) -> str:
    return f"{d.day} {_MONTHS[d.month - 1]}"


# ---------------------------------------------------------------- sparkline


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 120,
    height: int = 28,
    label: str,
    id_prefix: str,
) -> str:
    """A weekly score as a small line on a fixed 0–100 scale.

    ``None`` breaks the line (one ``<path>`` per unbroken run; a lone point is a dot). The last
    known value is marked with a dot and written at the right. ``label`` (user text allowed)
    is the chart's title; the description lists every value. Empty input gives a valid, empty
    chart that says "no data".
    """
    prefix = _check_prefix(id_prefix)
    vals = [_value(v) for v in values]
    known = [v for v in vals if v is not None]
    if known:
        words = ", ".join("no data" if v is None else _num(v) for v in vals)
        desc = f"{label}: {words}; latest {_num(known[-1])}."
    else:
        desc = f"{label}: no data."
    out = _open_svg(prefix, "sparkline", width, height, label, desc)

    value_room = 24.0 if known else 0.0
    left, right = 2.0, width - 3.0 - value_room
    top, bottom = 4.0, height - 4.0
    out.append(
        f'<line class="spark-base" x1="{_fmt(left)}" y1="{_fmt(bottom)}" '
        f'x2="{_fmt(right)}" y2="{_fmt(bottom)}" stroke="{GRID}" stroke-width="1"/>'
    )
    if not known:
        out.append(
            f'<text class="spark-empty" x="{_fmt(width / 2)}" y="{_fmt(height / 2 + 4)}" '
            f'text-anchor="middle" font-size="10" fill="{MUTED}">no data</text>'
        )
        out.append("</svg>")
        return "".join(out)

    n = len(vals)

    def x_at(i: int) -> float:
        return right if n == 1 else left + (right - left) * i / (n - 1)

    def y_at(v: float) -> float:
        return bottom - (bottom - top) * _clamp(v) / 100.0

    points = [None if v is None else (x_at(i), y_at(v)) for i, v in enumerate(vals)]
    for run in _runs(points):
        if len(run) == 1:
            x, y = run[0]
            out.append(
                f'<circle class="spark-point" cx="{_fmt(x)}" cy="{_fmt(y)}" r="1.5" '
                f'fill="{SCORE_COLOUR}"/>'
            )
        else:
            out.append(
                f'<path class="spark-line" d="{_path(run)}" fill="none" '
                f'stroke="{SCORE_COLOUR}" stroke-width="1.5" stroke-linejoin="round" '
                f'stroke-linecap="round"/>'
            )
    last_i, last_v = next((i, v) for i, v in reversed(list(enumerate(vals))) if v is not None)
    lx, ly = x_at(last_i), y_at(last_v)
    out.append(f'<circle class="spark-last" cx="{_fmt(lx)}" cy="{_fmt(ly)}" r="2.5" fill="{INK}"/>')
    out.append(
        f'<text class="spark-value" x="{_fmt(width - 2.0)}" y="{_fmt(height / 2 + 4)}" '
        f'text-anchor="end" font-size="11" font-weight="600">{_num(last_v)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------- weekly history


def _week_label(week: str) -> tuple[str, str]:
    """``2026-W44`` → (``W44``, ``2026``); anything else shown as given."""
    m = re.match(r"^(\d{4})-(W\d{2})$", week)
    return (m.group(2), m.group(1)) if m else (week, "")


def weekly_history(
    weeks: Sequence[Mapping[str, Any]],
    *,
    id_prefix: str,
    width: int = 640,
    height: int = 220,
) -> str:
    """The weekly score (solid line, round markers) and confirmation rate (dashed, squares).

    Each item of ``weeks`` has ``week`` (ISO week, e.g. ``2026-W44``), ``score`` (0–100) and
    ``confirmation_rate`` (percent, ``None`` when no date fell in the window: a gap in the line).
    Axes run 0–100 with gridlines at 0, 50 and 100; at most about eight week labels; a legend
    names both lines and shows their dash style; the last week's values are written at the
    right end of each line.
    """
    prefix = _check_prefix(id_prefix)
    names = [str(w.get("week", "")) for w in weeks]
    scores = [_value(w.get("score")) for w in weeks]
    rates = [_value(w.get("confirmation_rate")) for w in weeks]

    def series(vals: Sequence[float | None], fmt: Any) -> str:
        return ", ".join("no data" if v is None else fmt(v) for v in vals)

    if weeks:
        span = names[0] if len(names) == 1 else f"{names[0]} to {names[-1]}"
        last_r = next((v for v in reversed(rates) if v is not None), None)
        first_r = next((v for v in rates if v is not None), None)
        rate_words = (
            "no confirmation rate"
            if last_r is None or first_r is None
            else f"confirmation rate {_pct(first_r)} to {_pct(last_r)}"
        )
        desc = (
            f"Weekly score and confirmation rate, {span}. "
            f"Score by week: {series(scores, _num)}; {rate_words} "
            f"(by week: {series(rates, _pct)}). "
            f"Latest week {names[-1]}: score "
            f"{'no data' if scores[-1] is None else _num(scores[-1])}, confirmation rate "
            f"{'no data' if rates[-1] is None else _pct(rates[-1])}."
        )
    else:
        desc = "Weekly score and confirmation rate: no weeks yet."
    out = _open_svg(prefix, "history", width, height, "Weekly score and confirmation rate", desc)

    left, right = 34.0, width - 52.0
    top, bottom = 34.0, height - 34.0

    def y_at(v: float) -> float:
        return bottom - (bottom - top) * _clamp(v) / 100.0

    # Legend: each line's sample, dash style and marker.
    legend_y = 14.0
    items = [
        ("score", "Score (0–100)", SCORE_COLOUR, "", "circle"),
        ("rate", "Confirmation rate (%)", RATE_COLOUR, ' stroke-dasharray="6 4"', "square"),
    ]
    lx = left
    out.append('<g class="chart-legend">')
    for key, text, colour, dash, marker in items:
        out.append(
            f'<line class="hist-{key}" x1="{_fmt(lx)}" y1="{_fmt(legend_y)}" '
            f'x2="{_fmt(lx + 28)}" y2="{_fmt(legend_y)}" stroke="{colour}" '
            f'stroke-width="2"{dash}/>'
        )
        out.append(_marker(marker, lx + 14, legend_y, colour, f"hist-{key}-point"))
        out.append(
            f'<text class="legend-text" x="{_fmt(lx + 34)}" y="{_fmt(legend_y + 4)}">{text}</text>'
        )
        lx += 34 + _text_width(text, 11) + 24
    out.append("</g>")

    # Grid at 0, 50, 100 with labels.
    out.append('<g class="chart-grid">')
    for v in (0, 50, 100):
        y = y_at(v)
        dash = "" if v == 0 else ' stroke-dasharray="2 3"'
        out.append(
            f'<line x1="{_fmt(left)}" y1="{_fmt(y)}" x2="{_fmt(right)}" y2="{_fmt(y)}" '
            f'stroke="{GRID}" stroke-width="1"{dash}/>'
        )
        out.append(
            f'<text class="axis-label" x="{_fmt(left - 6)}" y="{_fmt(y + 4)}" '
            f'text-anchor="end" font-size="10" fill="{MUTED}">{v}</text>'
        )
    out.append("</g>")

    n = len(weeks)
    if n == 0:
        out.append(
            f'<text class="chart-empty" x="{_fmt((left + right) / 2)}" '
            f'y="{_fmt((top + bottom) / 2)}" text-anchor="middle" fill="{MUTED}">'
            "no weeks yet</text></svg>"
        )
        return "".join(out)

    def x_at(i: int) -> float:
        return (left + right) / 2 if n == 1 else left + (right - left) * i / (n - 1)

    # Week labels, thinned to at most about eight; the last week is always labelled.
    step = max(1, math.ceil(n / 8))
    out.append('<g class="chart-axis">')
    shown_year = ""
    for i, name in enumerate(names):
        if (n - 1 - i) % step:
            continue
        wk, year = _week_label(name)
        x = x_at(i)
        out.append(
            f'<line x1="{_fmt(x)}" y1="{_fmt(bottom)}" x2="{_fmt(x)}" y2="{_fmt(bottom + 4)}" '
            f'stroke="{MUTED}" stroke-width="1"/>'
        )
        out.append(
            f'<text class="axis-label" x="{_fmt(x)}" y="{_fmt(bottom + 15)}" '
            f'text-anchor="middle" font-size="10" fill="{MUTED}">{_esc(wk)}</text>'
        )
        if year and year != shown_year:
            out.append(
                f'<text class="axis-label axis-year" x="{_fmt(x)}" y="{_fmt(bottom + 27)}" '
                f'text-anchor="middle" font-size="9" fill="{MUTED}">{_esc(year)}</text>'
            )
            shown_year = year
    out.append("</g>")

    for key, vals, colour, dash, marker, fmt in (
        ("score", scores, SCORE_COLOUR, "", "circle", _num),
        ("rate", rates, RATE_COLOUR, ' stroke-dasharray="6 4"', "square", _pct),
    ):
        what = "score" if key == "score" else "confirmation rate"
        out.append(f'<g class="hist-{key}">')
        points = [None if v is None else (x_at(i), y_at(v)) for i, v in enumerate(vals)]
        for run in _runs(points):
            if len(run) > 1:
                out.append(
                    f'<path d="{_path(run)}" fill="none" stroke="{colour}" stroke-width="2"'
                    f'{dash} stroke-linejoin="round"/>'
                )
        for i, v in enumerate(vals):
            if v is None:
                continue
            tip = f"{names[i]}: {what} {fmt(v)}"
            out.append(_marker(marker, x_at(i), y_at(v), colour, f"hist-{key}-point", title=tip))
        out.append("</g>")

    # The last week's values at the right end, nudged apart when they would overlap.
    ends: list[tuple[str, float, str, str]] = []
    if scores[-1] is not None:
        ends.append(("score", y_at(scores[-1]), _num(scores[-1]), SCORE_COLOUR))
    if rates[-1] is not None:
        ends.append(("rate", y_at(rates[-1]), _pct(rates[-1]), RATE_COLOUR))
    if len(ends) == 2 and abs(ends[0][1] - ends[1][1]) < 13:
        mid = (ends[0][1] + ends[1][1]) / 2
        first_up = ends[0][1] < ends[1][1] or (ends[0][1] == ends[1][1] and ends[0][0] == "score")
        up, down = (mid - 6.5, mid + 6.5)
        up, down = max(up, 6.0), max(down, 19.0)
        ends = [
            (ends[0][0], up if first_up else down, ends[0][2], ends[0][3]),
            (ends[1][0], down if first_up else up, ends[1][2], ends[1][3]),
        ]
    for key, y, text, colour in ends:
        out.append(
            f'<text class="hist-{key}-last" x="{_fmt(x_at(n - 1) + 8)}" y="{_fmt(y + 4)}" '
            f'font-weight="600" fill="{colour}">{text}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _marker(
    shape: str, x: float, y: float, colour: str, cls: str, *, title: str | None = None
) -> str:
    """A point marker: a circle for the score, a square for the rate (shape, not only colour)."""
    tip = f"<title>{_esc(title)}</title>" if title else ""
    if shape == "square":
        return (
            f'<rect class="{cls}" x="{_fmt(x - 3)}" y="{_fmt(y - 3)}" width="6" height="6" '
            f'fill="#ffffff" stroke="{colour}" stroke-width="1.5">{tip}</rect>'
        )
    return (
        f'<circle class="{cls}" cx="{_fmt(x)}" cy="{_fmt(y)}" r="3" fill="{colour}" '
        f'stroke="#ffffff" stroke-width="1">{tip}</circle>'
    )


# ---------------------------------------------------------------- score parts


def parts_bars(parts: Mapping[str, int], *, id_prefix: str, width: int = 320) -> str:
    """The score's parts as labelled horizontal bars on a 0–100 scale, each number written.

    Parts are drawn in the mapping's order; names such as ``internal_steps`` are shown as
    "internal steps". Values outside 0–100 are drawn clamped but written as given.
    """
    prefix = _check_prefix(id_prefix)
    items = [(str(k).replace("_", " ").replace("-", " "), _value(v)) for k, v in parts.items()]
    words = "; ".join(f"{k} {'no data' if v is None else _num(v)}" for k, v in items)
    desc = f"Score parts out of 100: {words}." if items else "Score parts: none."
    row_h, top = 20.0, 6.0
    height = top * 2 + row_h * max(1, len(items))
    out = _open_svg(prefix, "parts", width, height, "Score parts", desc)
    label_w = min(120.0, width * 0.38)
    bar_left, bar_right = label_w + 6, width - 34.0
    span = max(1.0, bar_right - bar_left)
    if not items:
        out.append(
            f'<text class="chart-empty" x="{_fmt(width / 2)}" y="{_fmt(top + 14)}" '
            f'text-anchor="middle" fill="{MUTED}">no parts</text></svg>'
        )
        return "".join(out)
    for i, (name, v) in enumerate(items):
        y = top + i * row_h
        cy = y + row_h / 2
        shown = _truncate(name, 11, label_w - 4)
        out.append('<g class="parts-row">')
        out.append(
            f'<text class="parts-label" x="{_fmt(label_w)}" y="{_fmt(cy + 4)}" '
            f'text-anchor="end">{_esc(shown)}</text>'
        )
        out.append(
            f'<rect class="parts-track" x="{_fmt(bar_left)}" y="{_fmt(cy - 6)}" '
            f'width="{_fmt(span)}" height="12" fill="#ffffff" stroke="{GRID}" stroke-width="1"/>'
        )
        if v is not None and v > 0:
            out.append(
                f'<rect class="parts-bar" x="{_fmt(bar_left)}" y="{_fmt(cy - 6)}" '
                f'width="{_fmt(span * _clamp(v) / 100)}" height="12" fill="{SCORE_COLOUR}"/>'
            )
        out.append(
            f'<text class="parts-value" x="{_fmt(width - 2.0)}" y="{_fmt(cy + 4)}" '
            f'text-anchor="end" font-weight="600">{"–" if v is None else _num(v)}</text>'
        )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------- backward timeline

_STATE_STYLE = {
    # state: (fill, stroke, extra stroke attributes); "{p}" is the id prefix.
    "done": ("#2e6b3a", "#1d4726", ""),
    "done-without-evidence": ("#7fb08a", "#1d4726", ""),
    "late": ("#fbe3e0", "#b3261e", ' stroke-dasharray="2 2" stroke-width="1.6"'),
    "voided": ("url(#{p}-cross)", "#6b3fa0", ""),
    "confirmed": ("url(#{p}-hatch)", "#1f4e8c", ""),
    "unconfirmed": ("#ffffff", "#333333", ""),
}
_OTHER_STYLE = ("#eeeeee", "#777777", ' stroke-dasharray="1 2"')


def _state_key(state: object) -> str:
    return state if isinstance(state, str) and state in _STATE_STYLE else "other"


def _shape(
    state: str, prefix: str, x0: float | None, x1: float, cy: float, half: float, cls: str
) -> list[str]:
    """A bar from x0 to x1 (or a diamond at x1 when x0 is None) drawn for `state`."""
    fill, stroke, extra = _STATE_STYLE.get(state, _OTHER_STYLE)
    fill = fill.replace("{p}", prefix)
    sw = "" if "stroke-width" in extra else ' stroke-width="1"'
    paint = f'fill="{fill}" stroke="{stroke}"{sw}{extra}'
    out: list[str] = []
    if x0 is None:
        r = half + 1.5
        pts = f"{_fmt(x1)},{_fmt(cy - r)} {_fmt(x1 + r)},{_fmt(cy)} {_fmt(x1)},{_fmt(cy + r)} " + (
            f"{_fmt(x1 - r)},{_fmt(cy)}"
        )
        out.append(f'<polygon class="{cls} tl-diamond" points="{pts}" {paint}/>')
    else:
        w = max(3.0, x1 - x0)
        out.append(
            f'<rect class="{cls} tl-bar" x="{_fmt(x0)}" y="{_fmt(cy - half)}" '
            f'width="{_fmt(w)}" height="{_fmt(half * 2)}" {paint}/>'
        )
    if state == "done-without-evidence":
        # The flag: a small black triangle pointing down at the due end.
        top = cy - half - 7
        out.append(
            f'<polygon class="tl-flag" points="{_fmt(x1 - 4)},{_fmt(top)} '
            f'{_fmt(x1 + 4)},{_fmt(top)} {_fmt(x1)},{_fmt(top + 5)}" fill="{INK}"/>'
        )
    return out


def _walk_by_id(deal: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    questions = deal.get("questions") or {}
    walk = questions.get("walk_back") if isinstance(questions, Mapping) else None
    out: dict[str, Mapping[str, Any]] = {}
    if isinstance(walk, Mapping):
        for key, item in walk.items():
            if isinstance(item, Mapping):
                out[str(key)] = item
    elif isinstance(walk, Sequence):
        for item in walk:
            if isinstance(item, Mapping) and item.get("id") is not None:
                out[str(item["id"])] = item
    return out


def _track_order(tracks: Iterable[str]) -> list[str]:
    seen = list(dict.fromkeys(tracks))
    known = [t for t in TRACK_ORDER if t in seen]
    return known + sorted(t for t in seen if t not in TRACK_ORDER)


def backward_timeline(
    deal: Mapping[str, Any], *, as_of: str, id_prefix: str, width: int = 760
) -> str:
    """The plan drawn backward from go-live: one row per milestone, grouped by track.

    ``deal`` is a deal as in ``data.json``: ``milestones`` (``id``, ``step``, ``track``,
    ``owner``, ``start`` or None, ``due``, ``state``), ``go_live``, ``deadline``, ``close``
    and ``questions.walk_back`` (``latest_finish`` and ``slack_days`` per id). Bars run from
    start to due (a diamond at due without a start), patterned by state, the state also written
    under the step. Vertical markers: go-live (strongest), deadline, close, today (``as_of``).
    A thin line from due to the latest finish shows slack; a red bracket under the bar from
    the latest finish to due, and "negative slack −N d" in the row's label, show negative
    slack. Rows are a fixed 28 px, so the height grows with the plan.
    """
    prefix = _check_prefix(id_prefix)
    today = _date(as_of)
    if today is None:
        raise ValueError(f"as_of must be an ISO date: {as_of!r}")
    go_live = _date(deal.get("go_live"))
    deadline = _date(deal.get("deadline"))
    close = _date(deal.get("close"))
    walk = _walk_by_id(deal)
    raw = [m for m in deal.get("milestones") or [] if isinstance(m, Mapping)]

    rows: list[dict[str, Any]] = []
    for index, m in enumerate(raw):
        mid = "" if m.get("id") is None else str(m.get("id"))
        w = walk.get(mid, {})
        slack = w.get("slack_days")
        rows.append(
            {
                "index": index,
                "id": mid,
                "step": str(m.get("step") or mid or "(unnamed step)"),
                "track": str(m.get("track") or "other"),
                "owner": "" if m.get("owner") is None else str(m.get("owner")),
                "start": _date(m.get("start")),
                "due": _date(m.get("due")),
                "state": "unknown" if m.get("state") is None else str(m.get("state")),
                "latest_finish": _date(w.get("latest_finish")),
                "slack": slack if isinstance(slack, int) and not isinstance(slack, bool) else None,
            }
        )

    # The time axis: from the earliest date (or today) to the latest of go-live and deadline.
    days = [d for r in rows for d in (r["start"], r["due"], r["latest_finish"]) if d]
    days += [d for d in (go_live, deadline, close) if d]
    first = min([*days, today])
    last = max([*days, today])
    first -= dt.timedelta(days=3)
    last += dt.timedelta(days=3)
    span_days = max(1, (last - first).days)

    label_w = round(min(300.0, width * 0.4))
    plot_l, plot_r = label_w + 10.0, width - 14.0
    per_day = (plot_r - plot_l) / span_days

    def x_at(d: dt.date) -> float:
        return plot_l + (d - first).days * per_day

    # Marker labels, stacked in lanes so they never overlap.
    markers: list[tuple[str, str, dt.date]] = []
    if go_live:
        markers.append(("go-live", "go-live", go_live))
    if deadline:
        markers.append(("deadline", "deadline", deadline))
    if close:
        markers.append(("close", "close", close))
    markers.append(("today", "today", today))
    placed = _place_marker_labels(markers, x_at, width)
    lane_count = 1 + max((p[4] for p in placed), default=0)
    lane_h = 14.0
    header_h = 8.0 + lane_h * lane_count

    # Rows grouped by track, sorted by due within a track (stable: the file's order breaks ties).
    order = _track_order(r["track"] for r in rows)
    grouped = [
        (
            track,
            sorted(
                (r for r in rows if r["track"] == track),
                key=lambda r: (r["due"] or dt.date.max, r["start"] or r["due"] or dt.date.max),
            ),
        )
        for track in order
    ]
    row_h, section_h = 28.0, 22.0
    rows_top = header_h + 4
    rows_h = sum(section_h + row_h * len(g) for _, g in grouped)
    rows_bottom = rows_top + max(rows_h, row_h)
    axis_h = 30.0

    # Legend: the states used, the slack line and negative slack when drawn.
    used = [s for s in STATE_ORDER if any(r["state"] == s for r in rows)]
    used += sorted({r["state"] for r in rows if r["state"] not in STATE_ORDER})
    any_slack = any(r["slack"] is not None and r["slack"] > 0 and r["due"] for r in rows)
    any_neg = any(r["slack"] is not None and r["slack"] < 0 and r["due"] for r in rows)
    legend: list[tuple[str, str]] = [(s, f"{s} ({STATE_HELP.get(s, 'dotted grey')})") for s in used]
    legend.append(("diamond", "diamond: due date, no start"))
    if any_slack:
        legend.append(("slack", "slack: due to latest finish"))
    if any_neg:
        legend.append(("negative", "negative slack: due after latest finish"))
    legend_rows: list[list[tuple[str, str, float]]] = [[]]
    lx = 8.0
    for key, text in legend:
        tw = 26 + _text_width(text, 10.5) + 16
        if lx + tw > width - 4 and legend_rows[-1]:
            legend_rows.append([])
            lx = 8.0
        legend_rows[-1].append((key, text, lx))
        lx += tw
    legend_top = rows_bottom + axis_h
    height = legend_top + 18.0 * len(legend_rows) + 6

    # Text alternative.
    counts = {s: sum(1 for r in rows if r["state"] == s) for s in used}
    state_words = ", ".join(f"{n} {s}" for s, n in counts.items())
    dates = [f"go-live {go_live.isoformat()}" if go_live else "no go-live date"]
    dates.append(f"deadline {deadline.isoformat()}" if deadline else "no deadline")
    dates.append(f"close {close.isoformat()}" if close else "no close date")
    dates.append(f"today {today.isoformat()}")
    late = [r for r in rows if r["state"] == "late"]
    neg = [r for r in rows if r["slack"] is not None and r["slack"] < 0]
    desc = f"Plan drawn backward from go-live: {'; '.join(dates)}. "
    desc += f"{len(rows)} steps" + (f": {state_words}." if rows else ".")
    if late:
        desc += " Late: " + "; ".join(f"{r['step']} (due {_iso(r['due'])})" for r in late) + "."
    if neg:
        desc += (
            " Negative slack: " + "; ".join(f"{r['step']} ({r['slack']} days)" for r in neg) + "."
        )
    for track, group in grouped:
        desc += (
            f" {track}: "
            + "; ".join(
                f"{r['step']}, {r['owner'] or 'no owner'}, "
                + (f"{r['start'].isoformat()} to " if r["start"] else "")
                + f"due {_iso(r['due'])}, {r['state']}"
                for r in group
            )
            + "."
        )

    title = "Timeline drawn backward from go-live"
    out = _open_svg(prefix, "timeline", width, height, title, desc)
    out.append(_timeline_defs(prefix))

    # Month gridlines and labels.
    out.append('<g class="tl-axis">')
    months: list[dt.date] = []
    d = dt.date(first.year, first.month, 1)
    while d <= last:
        if d >= first:
            months.append(d)
        d = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    px_month = per_day * 30.4
    every = max(1, math.ceil(34 / max(px_month, 1e-6)))
    ticks: list[tuple[float, dt.date]] = []
    if not months or x_at(months[0]) - plot_l >= 52:
        ticks.append((plot_l, first))  # the month the axis starts in, when there is room
    for m in months:
        x = x_at(m)
        out.append(
            f'<line class="tl-grid" x1="{_fmt(x)}" y1="{_fmt(rows_top)}" x2="{_fmt(x)}" '
            f'y2="{_fmt(rows_bottom + 4)}" stroke="{GRID}" stroke-width="1"/>'
        )
        if (m.month - 1) % every == 0:
            ticks.append((x, m))
    edge = -1.0
    for i, (x, m) in enumerate(ticks):
        name = _MONTHS[m.month - 1]
        if m.month == 1 or i == 0:
            name += f" {m.year}"
        right_end = x + 3 + _text_width(name, 10)
        if x + 3 < edge + 6 or right_end > width:
            continue
        edge = right_end
        out.append(
            f'<text class="axis-label" x="{_fmt(x + 3)}" y="{_fmt(rows_bottom + 16)}" '
            f'font-size="10" fill="{MUTED}">{name}</text>'
        )
    out.append(
        f'<line class="tl-axis-line" x1="{_fmt(plot_l)}" y1="{_fmt(rows_bottom)}" '
        f'x2="{_fmt(plot_r)}" y2="{_fmt(rows_bottom)}" stroke="{MUTED}" stroke-width="1"/>'
    )
    out.append("</g>")

    # Rows: section labels, stripes, text and shapes.
    body: list[str] = []
    y = rows_top
    stripe = 0
    for track, group in grouped:
        body.append(
            f'<g class="tl-section"><line x1="0" y1="{_fmt(y + 0.5)}" x2="{_fmt(width)}" '
            f'y2="{_fmt(y + 0.5)}" stroke="{MUTED}" stroke-width="1"/>'
            f'<text class="tl-track" x="4" y="{_fmt(y + 15)}" font-weight="700" '
            f'font-size="11.5">{_esc(track[:1].upper() + track[1:])} '
            f'<tspan font-weight="400" fill="{MUTED}">({len(group)} '
            f"step{'s' if len(group) != 1 else ''})</tspan></text></g>"
        )
        y += section_h
        for r in group:
            body.extend(_timeline_row(r, prefix, y, row_h, stripe, label_w, width, x_at, plot_r))
            stripe += 1
            y += row_h
    if not rows:
        body.append(
            f'<text class="chart-empty" x="{_fmt(plot_l)}" y="{_fmt(rows_top + 18)}" '
            f'fill="{MUTED}">no steps yet</text>'
        )

    # Markers behind the shapes; their labels in the header.
    style = {
        "go-live": ('stroke="#111111" stroke-width="3"', "700"),
        "deadline": ('stroke="#b3261e" stroke-width="2" stroke-dasharray="8 3"', "700"),
        "close": ('stroke="#6b3fa0" stroke-width="1.5" stroke-dasharray="6 2 1 2"', "600"),
        "today": ('stroke="#1a1a1a" stroke-width="1.2" stroke-dasharray="1 2"', "600"),
    }
    marks: list[str] = ['<g class="tl-markers">']
    for kind, text, x, anchor, lane in placed:
        stroke, weight = style[kind]
        ty = 4 + lane_h * (lane_count - lane) - 3
        marks.append(
            f'<g class="tl-marker tl-marker-{kind}"><line x1="{_fmt(x)}" y1="{_fmt(ty + 3)}" '
            f'x2="{_fmt(x)}" y2="{_fmt(rows_bottom)}" {stroke}/>'
            f'<text x="{_fmt(x)}" y="{_fmt(ty)}" text-anchor="{anchor}" font-size="10.5" '
            f'font-weight="{weight}">{text}</text></g>'
        )
    marks.append("</g>")
    # Stripes must sit below the marker lines: emit stripes first, then markers, then the rest.
    stripes = [b for b in body if b.startswith('<rect class="tl-stripe"')]
    rest = [b for b in body if not b.startswith('<rect class="tl-stripe"')]
    out.extend(stripes)
    out.extend(marks)
    out.append('<g class="tl-rows">')
    out.extend(rest)
    out.append("</g>")

    # Legend.
    out.append('<g class="chart-legend tl-legend">')
    for li, items in enumerate(legend_rows):
        ly = legend_top + 18.0 * li + 9
        for key, text, x in items:
            out.extend(_legend_swatch(key, prefix, x, ly))
            out.append(
                f'<text class="legend-text" x="{_fmt(x + 26)}" y="{_fmt(ly + 4)}" '
                f'font-size="10.5">{_esc(text)}</text>'
            )
    out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def _label_fits(
    x: float,
    lane: int,
    lo: float,
    hi: float,
    done: list[tuple[float, int, float, float]],
    strict: bool,
) -> bool:
    """Whether a label over `lo`..`hi` in `lane`, for the line at `x`, clears the labels and
    lines placed so far (`done`)."""
    for px, pl, plo, phi in done:
        if pl == lane and lo < phi + 4 and plo < hi + 4:
            return False
        if abs(px - x) < 0.5:
            continue  # the same day: the lines coincide
        # A line runs from its label down through every lower lane.
        if (strict or pl > lane) and lo - 2 <= px <= hi + 2:
            return False
        if (strict or lane > pl) and plo - 2 <= x <= phi + 2:
            return False
    return True


def _place_labels(
    k: int,
    order: Sequence[int],
    items: Sequence[tuple[str, str, float, list[tuple[str, float, float]]]],
    lanes: int,
    strict: bool,
    chosen: dict[int, tuple[str, int]],
    done: list[tuple[float, int, float, float]],
) -> bool:
    """Place the labels from the `k`-th (in `order`) on, backtracking; whether all fit. A
    function of its own, not a closure that calls itself: that is a reference cycle, left
    for the garbage collector by every chart."""
    if k == len(order):
        return True
    i = order[k]
    _kind, _text, x, choices = items[i]
    for lane in range(lanes):
        for anchor, lo, hi in choices:
            if _label_fits(x, lane, lo, hi, done, strict):
                chosen[i] = (anchor, lane)
                done.append((x, lane, lo, hi))
                if _place_labels(k + 1, order, items, lanes, strict, chosen, done):
                    return True
                done.pop()
    return False


def _place_marker_labels(
    markers: Sequence[tuple[str, str, dt.date]], x_at: Any, width: float
) -> list[tuple[str, str, float, str, int]]:
    """Labels for the vertical markers in lanes above the rows (lane 0 nearest the rows).

    Labels never overlap one another, and no label is drawn across another marker's line, so
    each reads as belonging to its own line: close markers get their labels pushed apart
    (one ending at its line, the next starting at its own) before any label is stacked higher.
    Returns (kind, text, x, text-anchor, lane) per marker, in the order given.
    """
    items = []
    for kind, name, day in markers:
        text = f"{name} {_short_date(day)}"
        x = x_at(day)
        tw = _text_width(text, 10.5) + 2
        choices = [
            (a, lo, hi)
            for a, lo, hi in (
                ("middle", x - tw / 2, x + tw / 2),
                ("end", x - 3 - tw, x - 3),
                ("start", x + 3, x + 3 + tw),
            )
            if lo >= 2 and hi <= width - 2
        ] or [("start", 2.0, 2.0 + tw)]
        items.append((kind, text, x, choices))
    order = sorted(range(len(items)), key=lambda i: (items[i][2], i))

    def solve(lanes: int, strict: bool) -> dict[int, tuple[str, int]] | None:
        chosen: dict[int, tuple[str, int]] = {}
        return chosen if _place_labels(0, order, items, lanes, strict, chosen, []) else None

    found = None
    for strict in (True, False):
        for lanes in range(1, len(items) + 1):
            found = solve(lanes, strict)
            if found is not None:
                break
        if found is not None:
            break
    if found is None:  # cannot happen (one lane per marker always fits); stay safe
        found = {i: (items[i][3][0][0], k) for k, i in enumerate(order)}
    return [(k, t, x, found[i][0], found[i][1]) for i, (k, t, x, _c) in enumerate(items)]


def _iso(d: dt.date | None) -> str:
    return d.isoformat() if d else "no date"


def _timeline_defs(prefix: str) -> str:
    """Patterns for the states that are not plain fills: hatch (confirmed), cross (voided)."""
    return (
        "<defs>"
        f'<pattern id="{prefix}-hatch" patternUnits="userSpaceOnUse" width="5" height="5" '
        'patternTransform="rotate(45)">'
        '<rect width="5" height="5" fill="#dde7f5"/>'
        '<line x1="0" y1="0" x2="0" y2="5" stroke="#1f4e8c" stroke-width="2.2"/></pattern>'
        f'<pattern id="{prefix}-cross" patternUnits="userSpaceOnUse" width="6" height="6" '
        'patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#ffffff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#6b3fa0" stroke-width="1.2"/>'
        '<line x1="0" y1="0" x2="6" y2="0" stroke="#6b3fa0" stroke-width="1.2"/></pattern>'
        "</defs>"
    )


def _timeline_row(
    r: Mapping[str, Any],
    prefix: str,
    y: float,
    row_h: float,
    stripe: int,
    label_w: float,
    width: float,
    x_at: Any,
    plot_r: float,
) -> list[str]:
    """One milestone: stripe, two-line label (step; owner · state), shape, slack."""
    out: list[str] = []
    if stripe % 2:
        out.append(
            f'<rect class="tl-stripe" x="0" y="{_fmt(y)}" width="{_fmt(width)}" '
            f'height="{_fmt(row_h)}" fill="#f3f3f3"/>'
        )
    state = r["state"]
    key = _state_key(state)
    cls_state = key if key != "other" else "other"
    tip = f"{r['step']} — {r['owner'] or 'no owner'} — {state}"
    if r["start"]:
        tip += f" — {r['start'].isoformat()} to {_iso(r['due'])}"
    else:
        tip += f" — due {_iso(r['due'])}"
    if r["latest_finish"] and r["slack"] is not None:
        tip += f" — latest finish {r['latest_finish'].isoformat()}, slack {r['slack']} days"
    out.append(
        f'<g class="tl-row tl-state-{cls_state}" data-milestone="{_esc(r["id"])}">'
        f"<title>{_esc(tip)}</title>"
    )
    step = _truncate(r["step"], 11, label_w - 10)
    state_colour = "#b3261e" if key in ("late", "voided") else MUTED
    state_weight = ' font-weight="700"' if key in ("late", "voided") else ""
    neg = r["slack"] is not None and r["slack"] < 0
    slack_words = f" · negative slack −{abs(r['slack'])} d" if neg else ""
    rest_w = _text_width(f" · {_truncate(state, 9.5, 130)}{slack_words}", 9.5)
    owner_room = max(40.0, label_w - 10 - rest_w)
    owner = _truncate(r["owner"], 9.5, owner_room) if r["owner"] else "no owner"
    state = _truncate(state, 9.5, 130)
    out.append(
        f'<text class="tl-step" x="6" y="{_fmt(y + 12)}" font-size="11">{_esc(step)}</text>'
        f'<text class="tl-meta" x="6" y="{_fmt(y + 24)}" font-size="9.5" fill="{MUTED}">'
        f'<tspan class="tl-owner">{_esc(owner)}</tspan> · '
        f'<tspan class="tl-state-text" fill="{state_colour}"{state_weight}>{_esc(state)}</tspan>'
        f'<tspan class="tl-slack-text" fill="#b3261e">{_esc(slack_words)}</tspan></text>'
    )
    due = r["due"]
    if due is not None:
        cy = y + row_h / 2 + 1
        x1 = x_at(due)
        lf = r["latest_finish"]
        if lf is not None and r["slack"] is not None and r["slack"] > 0:
            xl = min(x_at(lf), plot_r)
            out.append(
                f'<path class="tl-slack" d="M{_fmt(x1)} {_fmt(cy)} L{_fmt(xl)} {_fmt(cy)} '
                f'M{_fmt(xl)} {_fmt(cy - 4)} L{_fmt(xl)} {_fmt(cy + 4)}" fill="none" '
                f'stroke="{MUTED}" stroke-width="1"/>'
            )
        start = r["start"]
        x0 = x_at(start) if start is not None and start <= due else None
        out.extend(_shape(key, prefix, x0, x1, cy, 5.0, "tl-shape"))
        if neg and lf is not None:
            xl = x_at(lf)
            by = cy + 8
            out.append(
                f'<path class="tl-negative-slack" d="M{_fmt(xl)} {_fmt(by - 3)} '
                f'L{_fmt(xl)} {_fmt(by)} L{_fmt(x1)} {_fmt(by)} L{_fmt(x1)} {_fmt(by - 3)}" '
                f'fill="none" stroke="#b3261e" stroke-width="2"/>'
            )
    out.append("</g>")
    return out


def _legend_swatch(key: str, prefix: str, x: float, cy: float) -> list[str]:
    """The small picture in front of a legend entry, drawn like the thing it explains."""
    if key == "slack":
        return [
            f'<path class="tl-slack" d="M{_fmt(x)} {_fmt(cy)} L{_fmt(x + 20)} {_fmt(cy)} '
            f'M{_fmt(x + 20)} {_fmt(cy - 4)} L{_fmt(x + 20)} {_fmt(cy + 4)}" fill="none" '
            f'stroke="{MUTED}" stroke-width="1"/>'
        ]
    if key == "negative":
        return [
            f'<path class="tl-negative-slack" d="M{_fmt(x)} {_fmt(cy - 3)} L{_fmt(x)} '
            f'{_fmt(cy + 2)} L{_fmt(x + 20)} {_fmt(cy + 2)} L{_fmt(x + 20)} {_fmt(cy - 3)}" '
            f'fill="none" stroke="#b3261e" stroke-width="2"/>'
        ]
    if key == "diamond":
        return _shape("unconfirmed", prefix, None, x + 10, cy, 4.0, "legend-swatch")
    return _shape(_state_key(key), prefix, x, x + 20, cy, 5.0, "legend-swatch")
