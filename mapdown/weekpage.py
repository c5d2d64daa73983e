"""The weekly countdown page written directly in Python: the same bytes as the theme's
`deal_week.html` (with `base.html` and the `_macros.html` it calls) gives, in under half the
time; and, the same way, each week's forecast review across deals (`review_week.html`,
`review_page`: 44 pages of 1,000 rows at 1,000 deals, written at the end of a build while
nothing else is, 0.77-0.86 s by Jinja and 0.51 s here).

A cold build at 1,000 deals renders 44,000 weekly pages, and Jinja's machinery (a generator
per block, a `Macro` bound and called for every event and row, an escape per output) was
most of each page's time: 11.7 ms a deal against 4.9 ms here (150 deals, 6,517 pages, the
same bytes). The theme stays the reference: `Site` uses this module only when the
repository overrides none of `THEME_FILES` (`REVIEW_THEME_FILES` for the reviews), and the
tests render every weekly page and review of the demo and of deals full of markup both ways
and compare them byte for byte, so a change to one that is not made to the other fails at
once. Question 2 is still the theme's macro, rendered once for all the weeks that share its
answer. See docs/performance.md.

Every value from the deal is written by `_text` (`site.output_text`), as a template's
`{{ value }}` is; the helpers shared with the templates (`day`, `change`, `rate`, `state`)
return `Markup`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mapdown.site import (
    STATUS_LABELS,
    countdown,
    html_change,
    html_day,
    html_day_text,
    html_pct,
    html_rate,
    html_signed,
    html_state,
    plural,
    remember,
    web_url,
)
from mapdown.site import output_text as _text

# the theme's templates a weekly page is made from: overriding any of them renders it by Jinja
THEME_FILES = frozenset({"base.html", "_macros.html", "deal_week.html"})
# and those a week's forecast review (`review_page`) is made from
REVIEW_THEME_FILES = frozenset({"base.html", "_macros.html", "review_week.html"})


def _step_name(step_id: Any, steps: Mapping[str, Any]) -> str:
    step = steps.get(step_id)
    return _text(step["step"]) if step is not None else _text(step_id)


def _pair(pair: Any) -> str:
    """Who confirmed, and where the writing is (the `pair` macro)."""
    if not pair:
        return "nobody"
    where = f": &ldquo;{_text(pair[1])}&rdquo;" if pair[1] else ""
    return _text(pair[0]) + where


def _link_or_text(text: Any) -> str:
    if web_url(text):
        return f'<a href="{_text(text.strip())}">{_text(text)}</a>'
    return _text(text)


def event(e: Mapping[str, Any], steps: Mapping[str, Any]) -> str:
    """One event of a step's history, in words (the `event` macro, named)."""
    kind = e["kind"]
    key, before, after = e["key"], e["from"], e["to"]
    if kind == "slipped":
        what = f"{_text(key)} moved later, {html_day(before)} &rarr; {html_day(after)}"
        what += f" ({html_signed(e['days'])} days)"
    elif kind == "pulled-in":
        what = f"{_text(key)} pulled in, {html_day(before)} &rarr; {html_day(after)}"
        what += f" ({html_signed(e['days'])} days)"
    elif kind == "date-set":
        what = f"{_text(key)} set to {html_day(after)}"
    elif kind == "confirmed":
        what = f"confirmed by {_pair(after)}"
    elif kind == "confirmation-changed":
        what = f"confirmed again by {_pair(after)}"
    elif kind == "confirmation-voided":
        what = (
            f"confirmation voided: {_text(key)} moved {html_day(before)} &rarr; {html_day(after)}"
            " after it was confirmed, and nobody confirmed the new date"
        )
    elif kind == "confirmation-removed":
        what = f"confirmation removed (was {_pair(before)})"
    elif kind == "done":
        what = (
            f"done, evidence: {_link_or_text(after)}" if after else "marked done without evidence"
        )
    elif kind == "created":
        what = f"added, due {html_day(after)}"
    elif kind == "removed":
        what = "removed from the plan"
    elif kind == "owner-changed":
        what = f"owner {_text(before)} &rarr; {_text(after)}"
    elif kind == "status":
        old, new = STATUS_LABELS.get(before, before), STATUS_LABELS.get(after, after)
        what = f"{_text(old)} &rarr; {_text(new)}"
    else:
        what = _text(kind)
    who = f" by {_text(e['author'])}" if e["author"] else ""
    if e["commit"]:
        who += f" &middot; <code>{_text(e['commit'][:7])}</code>"
    name = _step_name(e["milestone"], steps)
    when = html_day(e["day"])
    return f'<strong>{name}</strong>: {what} <span class="who">&middot; {when}{who}</span>'


def unconfirmed_list(items: Sequence[Mapping[str, Any]], steps: Mapping[str, Any]) -> str:
    """The unconfirmed dates of the next days (the `unconfirmed_list` macro)."""
    out = ['<ul class="dates">\n']
    for u in items:
        step = u["milestone"]
        owner = f", owner {_text(steps[step]['owner'])}" if step in steps else ""
        out.append(
            f"  <li>{html_day(u['date'])}: <strong>{_step_name(step, steps)}</strong>"
            f" ({_text(u['key'])}){owner}</li>\n"
        )
    out.append("</ul>")
    return "".join(out)


def _counts(items: Sequence[Sequence[Any]]) -> str:
    return "; ".join(f"{_text(n)} {_text(label)}" for label, n in items)


def walk_open_row(s: Mapping[str, Any], close: Any) -> str:
    """A step not yet true, in question 3's table (the `walk_open_row` macro)."""
    late = s["days_to_spare"] < 0
    tag = ' <span class="track-tag">before signature</span>' if s["before_close"] and close else ""
    spare = f" <strong>({html_signed(s['days_to_spare'], ' d')})</strong>" if late else ""
    return (
        f'<tr class="{"critical" if late else ""}">\n'
        f"      <td>{_text(s['step'])}{tag}</td>\n"
        f"      <td>{_text(s['owner'])}</td>\n"
        f"      <td>{html_day(s['must_be_true_by'])}</td>\n"
        f"      <td>{html_day(s['due'])}{spare}</td>\n"
        f"      <td>{html_state(s['state'])}</td>\n"
        "    </tr>"
    )


WALK_HEAD = (
    '  <div class="table-wrap" tabindex="0" role="region" '
    'aria-label="Not yet true, walking back from go-live">\n  <table class="walk">\n'
    "    <caption>Not yet true, walking back from go-live</caption>\n"
    '    <thead><tr><th scope="col">Step</th><th scope="col">Owner</th>'
    '<th scope="col">Must be true by</th><th scope="col">Due</th>'
    '<th scope="col">Is it?</th></tr></thead>\n    <tbody>\n'
)


def question_three_week(q: Mapping[str, Any], go_live: Any) -> str:
    """Question 3 on a weekly page (the `question_three_week` macro): the counts, and only the
    steps that are not yet true, each row rendered once for the weeks that share it."""
    close = q["close"]
    out = ['<section class="question" aria-labelledby="q3">\n']
    out.append('  <h3 id="q3"><span class="qn">3</span> ')
    if close:
        out.append(f"If signature is on {html_day_text(close)}, what must be true before it")
        out.append(" &mdash; and is it?</h3>\n")
        before = _counts(q["close_counts"]) if q["close_counts"] else "no step is due by then"
        holds = "ok" if q["close_holds"] else "warn"
        out.append(f'  <p class="answer {holds}">Before signature: {before}.</p>\n')
    else:
        out.append("Walking back from go-live, what must be true by when &mdash; and is it?</h3>\n")
    rest = _counts(q["go_live_counts"]) if q["go_live_counts"] else "no further step"
    then = "Then before" if close else "Before"
    out.append(f'  <p class="answer">{then} go-live on {html_day_text(go_live)}: {rest}.</p>\n')
    if q["walk_open"]:
        out.append(WALK_HEAD)
        for s in q["walk_open"]:
            out.append(f"    {remember(walk_open_row, s, close)}\n")
        out.append("    </tbody>\n  </table>\n  </div>\n")
    else:
        out.append('  <p class="answer ok">Every step is done or confirmed,')
        out.append(" and each can hold its date.</p>\n")
    out.append("</section>")
    return "".join(out)


def _head(
    site: Mapping[str, Any],
    title: str,
    root: str,
    canonical: str | None,
    body_class: str = "page countdown",
) -> str:
    """base.html down to the page's own content."""
    link = f'<link rel="canonical" href="{_text(canonical)}">\n' if canonical else ""
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title} &middot; {_text(site['title'])}</title>\n{link}"
        f'<link rel="stylesheet" href="{root}style.css">\n'
        f'<link rel="icon" href="{root}favicon.svg" type="image/svg+xml">\n'
        f'<meta name="generator" content="{_text(site["generator"])}"></head>\n'
        f'<body class="{body_class}">\n<a class="skip" href="#main">Skip to the content</a>\n'
        '<header class="site-header">\n  <div class="wrap">\n'
        f'    <a class="brand" href="{root}index.html">{_text(site["title"])}</a>\n'
        '    <nav class="site-nav" aria-label="Site">\n'
        f'      <a href="{root}index.html">Dashboard</a>\n'
        f'      <a href="{root}weeks/index.html">Weekly reviews</a>\n'
        f'      <a href="{root}rules/index.html">Rules</a>\n    </nav>\n'
        f'    <p class="as-of">As of <time datetime="{_text(site["as_of"])}">'
        f"{html_day_text(site['as_of'])}</time></p>\n  </div>\n</header>\n"
        '<main id="main" class="wrap">\n'
    )


def _foot(site: Mapping[str, Any], data_url: str | None, root: str = "") -> str:
    """base.html after the page's own content: the deal's data.json is `data_url`, the
    site's when None."""
    data = (
        f'<a href="{root}data.json">data.json</a>'
        if data_url is None
        else f'<a href="{_text(data_url)}">this deal\'s data.json</a>'
    )
    return (
        '</main>\n<footer class="site-footer">\n  <div class="wrap">\n'
        f"    Built by {_text(site['generator'])} from the deal files and their git history,"
        " as of\n"
        f'    <time datetime="{_text(site["as_of"])}">{html_day_text(site["as_of"])}</time>.\n'
        f"    Everything on this page is also in {data}.\n  </div>\n</footer>\n</body>\n</html>\n"
    )


def _tminus(w: Mapping[str, Any]) -> str:
    days = w["days_to_go_live"]
    if days <= 0:
        return "Go-live is today" if days == 0 else f"Go-live was {_text(plural(-days, 'day'))} ago"
    if w["weeks_to_go_live"] <= 0:
        return "Go-live this week"
    return f"T-minus {_text(plural(w['weeks_to_go_live'], 'week'))} to go-live"


def _prev_next(before: str | None, after: str | None) -> tuple[str, str]:
    """The links to the week before and the week after (or why there is none)."""
    prev = (
        f'<a href="{_text(before)}.html" rel="prev">&larr; {_text(before)}</a>'
        if before
        else '<span class="muted">first week</span>'
    )
    nxt = (
        f'<a href="{_text(after)}.html" rel="next">{_text(after)} &rarr;</a>'
        if after
        else '<span class="muted">latest week</span>'
    )
    return prev, nxt


def _week_nav(w: Mapping[str, Any], root: str, week: str) -> str:
    prev, nxt = _prev_next(w["previous"], w["next"])
    return (
        f'  <nav class="week-nav" aria-label="Weeks">\n{prev}'
        '    <a href="../index.html">Deal page</a>\n'
        f'    <a href="{root}weeks/{week}.html">All deals this week</a>\n{nxt}  </nav>\n'
    )


def _events(groups: Sequence[Mapping[str, Any]], steps: Mapping[str, Any]) -> str:
    out = []
    for g in groups:
        events = g["events"]
        if not events and g["key"] == "other":
            continue
        key = _text(g["key"])
        out.append(
            f'  <section class="group group-{key}" aria-labelledby="g-{key}">\n'
            f'    <h3 id="g-{key}">{_text(g["label"])} <span class="count">{len(events)}</span>'
            "</h3>\n"
        )
        if events:
            out.append('    <ul class="events">\n')
            for e in events:
                out.append(f'<li class="event event-{_text(e["kind"])}">{event(e, steps)}</li>')
            out.append("    </ul>\n")
        else:
            out.append('    <p class="muted">Nothing.</p>\n')
        out.append("  </section>\n")
    return "".join(out)


def _due(w: Mapping[str, Any]) -> str:
    out = []
    if w["due"]:
        out.append('  <h3>Due this week</h3>\n  <ul class="dates">')
        for d in w["due"]:
            flag = (
                ' <span class="flag ok">done</span>'
                if d["status"] == "done"
                else ' <span class="flag">late</span>'
                if d["late"]
                else ""
            )
            out.append(
                f"<li>{html_day(d['due'])}: <strong>{_text(d['step'])}</strong>,"
                f" {_text(d['owner'])}{flag}</li>"
            )
        out.append("</ul>\n")
    else:
        out.append('<p class="muted">Nothing is due this week.</p>')
    if w["overdue"]:
        out.append('  <h3>Overdue</h3>\n  <ul class="dates overdue">')
        for d in w["overdue"]:
            out.append(
                f"<li>{html_day(d['due'])}: <strong>{_text(d['step'])}</strong>,"
                f' {_text(d["owner"])} <span class="flag">{_text(plural(d["days"], "day"))}'
                " late</span></li>"
            )
        out.append("</ul>\n")
    else:
        out.append('<p class="muted">Nothing is overdue.</p>')
    return "".join(out)


def _work(w: Mapping[str, Any], steps: Mapping[str, Any], window: str) -> str:
    unconfirmed = w["unconfirmed"]
    if unconfirmed:
        n = len(unconfirmed)
        return (
            f"  <p>{_text(plural(n, 'date'))} in the next {window} days"
            f" {'has' if n == 1 else 'have'} no written confirmation from the customer."
            f" Each is a conversation to have now:</p>\n  {unconfirmed_list(unconfirmed, steps)}\n"
        )
    if w["window_dates"]:
        return (
            f'  <p class="answer ok">Every date in the next {window} days is confirmed in'
            " writing.</p>\n"
        )
    return f'  <p class="answer warn">Nothing is planned in the next {window} days.</p>\n'


def _question_one(w: Mapping[str, Any], window: str) -> str:
    rate = w["confirmation_rate"]
    if rate is None:
        return f'    <p class="answer warn">Nothing was planned in the next {window} days.</p>\n'
    rest = ""
    if w["unconfirmed"]:
        rest = " The rest are listed under &ldquo;Where to work this week&rdquo;."
    return (
        f'    <p class="answer {"ok" if rate == 100 else "warn"}"><strong>{html_pct(rate)}'
        f"</strong>: {_text(w['confirmed_dates'])} of {_text(plural(w['window_dates'], 'date'))}"
        f" ({html_change(w['rate_change'], ' pts')} from last week).{rest}</p>\n"
    )


def week_page(
    common: Mapping[str, Any],
    *,
    root: str,
    canonical: str | None,
    deal: Mapping[str, Any],
    w: Mapping[str, Any],
    steps: Mapping[str, Any],
    groups: Sequence[Mapping[str, Any]],
    question_two: Callable[..., Any],
    q2: Any,
    q3: Any,
    latest: bool,
    data_url: str,
) -> str:
    """A deal's countdown page for one week, as `deal_week.html` renders it with the same
    context; `question_two` is the theme's macro."""
    site = common["site"]
    window = _text(common["window_days"])
    title = _text(deal["title"])
    week = _text(w["week"])
    as_of = html_day(w["as_of"])
    days = w["days_to_go_live"]
    after = f", {_text(plural(days, 'day'))} after {as_of}" if days > 0 else ""
    when = f"This week so far, as of {as_of}." if latest else "The week as it stood at its end."
    return "".join(
        (
            _head(site, f"{title}, {week}", root, canonical),
            f'<nav class="crumbs" aria-label="Breadcrumb"><a href="{root}index.html">Dashboard'
            f'</a> &rsaquo; <a href="../index.html">{title}</a> &rsaquo; '
            f'<span aria-current="page">{week}'
            '</span></nav>\n<header class="deal-head">\n',
            f'  <p class="kicker">{title} &middot; {_text(deal["customer"])} &middot; week {week},'
            f" {html_day(w['monday'])} &ndash; {html_day(w['sunday'])}</p>\n",
            f'  <h1 class="tminus">{_tminus(w)}</h1>\n',
            f'  <p class="lede">Go-live {html_day(deal["go_live"])}{after}. {when}</p>\n',
            _week_nav(w, root, week),
            '  <dl class="facts">\n    <div><dt>Score</dt><dd><strong class="big">'
            f"{_text(w['score'])}</strong> {html_change(w['score_change'])}"
            ' <span class="muted">from last week</span></dd></div>\n'
            f"    <div><dt>Confirmed, next {window} days</dt><dd>"
            f"{html_rate(w['confirmation_rate'], w['confirmed_dates'], w['window_dates'])}"
            f" {html_change(w['rate_change'], ' pts')}"
            ' <span class="muted">from last week</span></dd></div>\n  </dl>\n</header>\n\n'
            '<section aria-labelledby="this-week">\n'
            '  <h2 id="this-week">What happened this week</h2>\n  <div class="groups">\n',
            _events(groups, steps),
            '  </div>\n</section>\n\n<section aria-labelledby="due">\n'
            '  <h2 id="due">Due and overdue</h2>\n',
            _due(w),
            '</section>\n\n<section aria-labelledby="work" class="work">\n'
            '  <h2 id="work">Where to work this week</h2>\n',
            _work(w, steps, window),
            '</section>\n\n<section class="questions" aria-labelledby="three-questions">\n'
            f'  <h2 id="three-questions">The three questions, as of {as_of}</h2>\n'
            '  <section class="question" aria-labelledby="q1">\n'
            '    <h3 id="q1"><span class="qn">1</span> What share of the next'
            f" {window} days of dates has the customer confirmed in writing?</h3>\n",
            _question_one(w, window),
            f"  </section>\n  {remember(question_two, q2, root)}\n"
            f"  {remember(question_three_week, q3, deal['go_live'])}\n</section>\n",
            _foot(site, data_url),
        )
    )


_REVIEW_HEAD = """<div class="table-wrap" tabindex="0" role="region" aria-label="Deals in {week}">
<table class="review">
  <caption>Deals in {week}, biggest drops first</caption>
  <thead>
    <tr>
      <th scope="col">Deal</th>
      <th scope="col">To go-live</th>
      <th scope="col" class="num">Score</th>
      <th scope="col" class="num">Change</th>
      <th scope="col">Confirmed, next {window} days</th>
      <th scope="col" class="num">Change</th>
      <th scope="col" class="num">Slipped</th>
      <th scope="col" class="num">Voided</th>
      <th scope="col" class="num">Newly confirmed</th>
      <th scope="col" class="num">Overdue</th>
      <th scope="col" class="num">Unconfirmed</th>
    </tr>
  </thead>
  <tbody>
"""


def review_row(r: Mapping[str, Any], root: str, week: str) -> str:
    """A deal's row in a week's forecast review (`review_week.html`'s loop)."""
    dropped = "dropped" if (r["score_change"] or 0) < 0 else ""
    return (
        f'    <tr class="{dropped}">\n'
        f'      <th scope="row"><a href="{root}deals/{_text(r["id"])}/weeks/{week}.html">'
        f'{_text(r["title"])}</a><br><span class="muted small">{_text(r["customer"])}</span>'
        "</th>\n"
        f"      <td>{countdown(r['weeks_to_go_live'])}</td>\n"
        f'      <td class="num">{_text(r["score"])}</td>\n'
        f'      <td class="num">{html_change(r["score_change"])}</td>\n'
        f"      <td>{html_pct(r['confirmation_rate'])}</td>\n"
        f'      <td class="num">{html_change(r["rate_change"], " pts")}</td>\n'
        f'      <td class="num">{_text(r["slipped"])}</td>\n'
        f'      <td class="num">{_text(r["voided"])}</td>\n'
        f'      <td class="num">{_text(r["confirmed"])}</td>\n'
        f'      <td class="num">{_text(r["overdue"])}</td>\n'
        f'      <td class="num">{_text(r["unconfirmed"])}</td>\n'
        "    </tr>\n"
    )


def review_page(
    common: Mapping[str, Any],
    *,
    root: str,
    canonical: str | None,
    w: Mapping[str, Any],
    previous: str | None,
    next: str | None,
) -> str:
    """A week's forecast review across deals, as `review_week.html` renders it with the same
    context: a cold build at 1,000 deals writes 44 of them, 1,000 rows each, at its end."""
    site = common["site"]
    window = _text(common["window_days"])
    week = _text(w["week"])
    before, after = _prev_next(previous, next)
    out = [
        _head(site, f"Forecast review {week}", root, canonical, "page review"),
        f'<nav class="crumbs" aria-label="Breadcrumb"><a href="{root}index.html">Dashboard</a>'
        ' &rsaquo; <a href="index.html">Weekly reviews</a> &rsaquo; '
        f'<span aria-current="page">{week}</span></nav>\n'
        f"<h1>Forecast review, {week}</h1>\n"
        f'<p class="lede">The week ending {html_day(w["sunday"])}: every deal\'s score and'
        " confirmations, the biggest drops first. For each deal ask the seller to walk back from"
        " the customer's go-live: what must be true by when, and is it?</p>\n"
        f'<nav class="week-nav" aria-label="Weeks">\n{before}'
        f'  <a href="index.html">All weeks</a>\n{after}</nav>\n',
    ]
    if w["deals"]:
        out.append(_REVIEW_HEAD.format(week=week, window=window))
        out.extend(review_row(r, root, week) for r in w["deals"])
        out.append(
            '  </tbody>\n</table>\n</div>\n<p class="note">Slipped, voided and newly confirmed'
            " count this week's events; overdue and unconfirmed count steps and dates (in the"
            f" next {window} days) as the week ended.</p>\n"
        )
    else:
        out.append('<p class="muted">No deal had a plan this week.</p>\n')
    out.append(_foot(site, None, root))
    return "".join(out)
