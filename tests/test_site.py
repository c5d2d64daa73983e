"""`mapdown build` and `mapdown.site`: the expected site (a snapshot), escaping, the share page's
exclusions, determinism, the output folder's safety, atomic failure, template overrides, the
calendar and data.json, and `serve`.

The fixture repositories are built with fixed dates and identities (gitrepo.py), and every build
is judged `--as-of` a fixed day: nothing here reads the clock. Tests that need git fail, never
skip, when git is missing. `pytest --update-snapshots` rewrites tests/data/site-snapshot/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import threading
import time
import urllib.request
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import icalendar
import pytest
from conftest import DATA, invoke
from gitrepo import GitRepo
from jinja2 import Environment, StrictUndefined, UndefinedError
from markupsafe import Markup, escape

import mapdown.site as site_module
from mapdown.check import find_root
from mapdown.config import find_config, load_config
from mapdown.errors import MapdownError
from mapdown.history import RepoHistory, read_history
from mapdown.site import (
    DASHBOARD_ROOTS,
    MANIFEST,
    MARKER,
    AsciiText,
    Site,
    Writer,
    _output_escape,
    build_site,
    compact_json,
    fmt_day,
    gather,
    holds,
    make_environment,
    remember,
    render_markdown,
    serve_site,
    state_counts,
    watched,
    week_answers,
)
from mapdown.sitedata import deal_data, site_data
from mapdown.sitedata import summary as deal_summary

SITE = DATA / "site"
SNAPSHOT = DATA / "site-snapshot"
AS_OF = "2026-11-04"


def edit(text: str, mid: str, **keys: str) -> str:
    """Set keys of milestone `mid` (a new key goes at the end of its block)."""
    lines = text.split("\n")
    start = lines.index(f"  - id: {mid}")
    end = next(
        i
        for i in range(start + 1, len(lines))
        if lines[i].startswith("  - id: ") or lines[i] == "---"
    )
    for key, value in keys.items():
        found = next(
            (i for i in range(start, end) if lines[i].startswith(f"    {key}:")),
            None,
        )
        if found is None:
            lines.insert(end, f"    {key}: {value}")
            end += 1
        else:
            lines[found] = f"    {key}: {value}"
    return "\n".join(lines)


@pytest.fixture(scope="module")
def git_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert shutil.which("git"), "git is not installed: the site tests need it"
    return tmp_path_factory.mktemp("home")


@pytest.fixture(autouse=True)
def _no_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def make_site_repo(root: Path, home: Path) -> GitRepo:
    """Two deals and five commits: confirmations, a voided one, a slip, done with evidence."""
    repo = GitRepo.init(root, home, config="timezone: UTC\nsite:\n  title: Snapshot deals\n")
    alpha = (SITE / "alpha.md").read_text(encoding="utf-8")
    beta = (SITE / "beta.md").read_text(encoding="utf-8")
    repo.write("deals/alpha.md", alpha)
    repo.write("deals/beta.md", beta)
    repo.commit("Alpha and Beta: first plans", "2026-10-05")
    alpha = edit(
        alpha,
        "pilot",
        confirmed_by="Ana Silva",
        confirmation="\"Email 2026-10-12 — 'the pilot dates work'\"",
    )
    alpha = edit(
        alpha,
        "security-review",
        confirmed_by="Cara Lund",
        confirmation="\"Email 2026-10-12 — 'review 2 to 13 Nov'\"",
    )
    alpha = edit(
        alpha,
        "legal-review",
        confirmed_by="Dev Rao",
        confirmation="\"Email 2026-10-12 — 'redlines by the 13th'\"",
    )
    repo.write("deals/alpha.md", alpha)
    repo.commit("Alpha: Ana, Cara and Dev confirm their dates", "2026-10-12")
    alpha = edit(alpha, "security-review", due="2026-11-18")
    alpha = edit(
        alpha,
        "legal-review",
        due="2026-11-16",
        confirmation="\"Email 2026-10-21 — 'redlines by the 16th'\"",
    )
    repo.write("deals/alpha.md", alpha)
    repo.commit("Alpha: security review and legal review move", "2026-10-21")
    alpha = edit(
        alpha, "pilot", status="done", evidence="https://files.example/alpha/pilot-report.pdf"
    )
    beta = edit(beta, "demo", status="done")
    repo.write("deals/alpha.md", alpha)
    repo.write("deals/beta.md", beta)
    repo.commit("Alpha pilot done; Beta demo given", "2026-10-30", author="Kim Lee")
    beta = edit(beta, "proposal", due="2026-11-10")
    repo.write("deals/beta.md", beta)
    repo.commit("Beta: proposal moves to the 10th", "2026-11-02", author="Kim Lee")
    return repo


@pytest.fixture(scope="module")
def site_repo(tmp_path_factory: pytest.TempPathFactory, git_home: Path) -> GitRepo:
    return make_site_repo(tmp_path_factory.mktemp("site") / "repo", git_home)


@pytest.fixture
def fresh_repo(tmp_path: Path, git_home: Path) -> GitRepo:
    """A repository of its own, for tests that change it."""
    return make_site_repo(tmp_path / "repo", git_home)


def build(repo: GitRepo | Path, *args: str):
    root = repo.root if isinstance(repo, GitRepo) else repo
    return invoke(["build", "--as-of", AS_OF, *args], root)


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def built(site_repo: GitRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "site"
    os.environ.pop("SOURCE_DATE_EPOCH", None)
    result = build(site_repo, "--out", str(out))
    assert result.exit_code == 0, result.output + result.stderr
    return out


# ---------------------------------------------------------------- the expected site


def test_site_matches_snapshot(built: Path, request: pytest.FixtureRequest) -> None:
    # the manifest names mapdown's code by a hash of it: it changes with every edit of the code
    actual = {rel: data for rel, data in files_of(built).items() if rel != MANIFEST}
    if request.config.getoption("--update-snapshots"):
        if SNAPSHOT.exists():
            shutil.rmtree(SNAPSHOT)
        for rel, content in actual.items():
            target = SNAPSHOT / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return
    assert SNAPSHOT.is_dir(), "no snapshot yet: run `pytest tests/test_site.py --update-snapshots`"
    expected = {rel: data for rel, data in files_of(SNAPSHOT).items() if rel != MANIFEST}
    assert sorted(actual) == sorted(expected), "the site's files differ from the snapshot"
    for rel in sorted(expected):
        assert actual[rel] == expected[rel], (
            f"{rel} differs from tests/data/site-snapshot/{rel}; if the change is intended, "
            "run `pytest tests/test_site.py --update-snapshots` and review the diff"
        )


def test_site_has_every_page_of_the_site_map(built: Path) -> None:
    names = set(files_of(built))
    for deal, weeks in (("alpha", ("2026-W41", "2026-W45")), ("beta", ("2026-W41", "2026-W45"))):
        assert f"deals/{deal}/index.html" in names
        assert f"deals/{deal}/share.html" in names
        assert f"deals/{deal}/{deal}.ics" in names
        for week in weeks:
            assert f"deals/{deal}/weeks/{week}.html" in names
    for page in ("index.html", "data.json", "style.css", MARKER, "weeks/index.html"):
        assert page in names
    for key in ("go-live", "close", "customer", "confirmation", "score"):
        assert f"sort/{key}.html" in names
    assert "weeks/2026-W43.html" in names
    assert "rules/index.html" in names and "rules/MAP205.html" in names


def test_links_are_relative_and_resolve(built: Path) -> None:
    """Every href and src inside the site points at a file of the site (file:// works)."""
    for path in sorted(built.rglob("*.html")):
        links = LinkParser.of(path.read_text(encoding="utf-8")).links
        for link in links:
            assert not link.startswith("/"), f"{path}: absolute link {link}"
            if link.startswith(("http://", "https://", "#", "mailto:")):
                continue
            target = (path.parent / link.split("#")[0]).resolve()
            assert target.is_file(), f"{path.relative_to(built)}: broken link {link}"


def test_the_countdown_counts_calendar_weeks() -> None:
    from mapdown.site import countdown
    from mapdown.sitedata import weeks_until

    sunday = dt.date(2026, 10, 25)  # the end of 2026-W43
    cases = {
        "2026-10-25": 0,  # that Sunday
        "2026-10-19": 0,  # its Monday
        "2026-10-26": 1,  # the Monday after: next week, not this one
        "2026-11-01": 1,
        "2026-11-02": 2,
        "2026-12-14": 8,  # 2026-W51
        "2026-10-18": -1,  # the Sunday before
        "2026-10-12": -1,  # the Monday of the week before
        "2026-10-11": -2,
    }
    assert {d: weeks_until(dt.date.fromisoformat(d), sunday) for d in cases} == cases
    assert [countdown(n) for n in (3, 1, 0, -1)] == [
        "T-minus 3 weeks",
        "T-minus 1 week",
        "Go-live this week",
        "Past go-live",
    ]


def test_weekly_page_shows_that_weeks_slips_and_voided_confirmations(built: Path) -> None:
    page = (built / "deals/alpha/weeks/2026-W43.html").read_text(encoding="utf-8")
    assert "T-minus 8 weeks to go-live" in page  # go-live Mon 14 Dec: in 2026-W51
    assert "confirmation voided" in page
    assert "Security review completed" in page
    assert fmt_day("2026-11-18") in unescape(page)  # the new date, as a browser reads it
    other = (built / "deals/alpha/weeks/2026-W42.html").read_text(encoding="utf-8")
    assert "confirmation voided" not in other
    assert "Confirmed in writing" in other and "Ana Silva" in other


def test_weekly_page_due_and_overdue_agree(built: Path) -> None:
    # beta's demo was due Fri 16 Oct and still open at the end of that week: it is due that
    # week, marked late, and overdue by the Sunday the week is judged on
    week = (built / "deals/beta/weeks/2026-W42.html").read_text(encoding="utf-8")
    due = week[week.index("Due this week") : week.index("Overdue")]
    assert "Product demo" in due and '<span class="flag">late</span>' in due
    overdue = week[week.index("Overdue") : week.index('id="work"')]
    assert "Product demo" in overdue and "2 days late" in overdue
    # alpha's pilot, due and done that week, is due and done, not overdue
    week = (built / "deals/alpha/weeks/2026-W44.html").read_text(encoding="utf-8")
    due = week[week.index("Due this week") : week.index('id="work"')]
    assert "Pilot" in due and '<span class="flag ok">done</span>' in due
    assert "Nothing is overdue." in week


def test_dashboard_sorts_without_javascript(built: Path) -> None:
    index = (built / "index.html").read_text(encoding="utf-8")
    assert "<script" not in index
    assert 'href="sort/customer.html"' in index and 'href="sort/score.html"' in index
    by_customer = (built / "sort/customer.html").read_text(encoding="utf-8")
    assert by_customer.index("Alpha Bank") < by_customer.index("Beta Retail")
    assert 'href="../index.html"' in by_customer and 'aria-current="page">customer' in by_customer
    # at risk first: Beta (a wish) before Alpha
    assert index.index("Beta Retail — store analytics") < index.index("Alpha Bank — payments hub")


# ---------------------------------------------------------------- escaping

EVIL_SCRIPT = "<script>alert(1)</script>"
EVIL_ATTR = '"><img src=x onerror=alert(1)>'


def q(text: str) -> str:
    """A YAML single-quoted scalar."""
    return "'" + text.replace("'", "''") + "'"


EVIL_DEAL = f"""---
title: {q("Evil " + EVIL_SCRIPT)}
customer: {q("Cust " + EVIL_ATTR)}
go_live: 2027-01-15
deadline: 2027-02-15
deadline_reason: {q("Reason " + EVIL_SCRIPT + EVIL_ATTR)}
close: 2026-12-15
people:
  - name: {q("Ann " + EVIL_SCRIPT)}
    side: customer
    role: {q("champion " + EVIL_ATTR)}
    title: {q(EVIL_SCRIPT)}
  - name: {q("Bob " + EVIL_ATTR)}
    side: vendor
    role: account executive
milestones:
  - id: evil-step
    step: {q("Step " + EVIL_SCRIPT)}
    track: technical
    owner: {q("Ann " + EVIL_SCRIPT)}
    start: 2026-11-10
    due: 2026-11-20
    exit: {q("Exit " + EVIL_ATTR)}
    confirmed_by: {q("Ann " + EVIL_SCRIPT)}
    confirmation: {q("Mail " + EVIL_ATTR)}
  - id: done-step
    step: {q("Done " + EVIL_ATTR)}
    track: paper
    owner: {q("Bob " + EVIL_ATTR)}
    due: 2026-10-20
    exit: {q("Exit " + EVIL_SCRIPT)}
    status: done
    evidence: {q("javascript:alert(1)")}
  - id: link-step
    step: Linked
    track: business
    owner: {q("Bob " + EVIL_ATTR)}
    due: 2026-12-01
    exit: Done
    status: done
    evidence: {q('https://x.example/a" onmouseover="alert(1)')}
---

Notes {EVIL_SCRIPT} and {EVIL_ATTR}

[link](javascript:alert(1)) and [data](data:text/html;base64,PHNjcmlwdD4=)

<img src=x onerror=alert(1)>

ZEBRA-INTERNAL-7 is our walk-away price.
"""


class LinkParser(HTMLParser):
    """Every tag, attribute and link of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.links: list[str] = []

    @classmethod
    def of(cls, html: str) -> LinkParser:
        parser = cls()
        parser.feed(html)
        parser.close()
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append(value)


@pytest.fixture
def evil_site(tmp_path: Path, git_home: Path) -> Path:
    repo = GitRepo.init(tmp_path / "repo", git_home)
    repo.write("deals/evil.md", EVIL_DEAL)
    repo.commit("Evil: first plan", "2026-10-05")
    repo.write("deals/evil.md", EVIL_DEAL.replace("due: 2026-11-20", "due: 2026-11-24"))
    repo.commit("Evil: the step slips " + EVIL_SCRIPT, "2026-10-20", author="Eve " + EVIL_ATTR)
    out = tmp_path / "out"
    result = build(repo, "--out", str(out))
    assert result.exit_code == 0, result.output + result.stderr
    return out


def test_the_theme_writes_ascii_so_pages_of_ascii_data_are_ascii(
    tmp_path: Path, git_home: Path
) -> None:
    """The theme's own text (templates, helpers, charts, the weekly pages written in Python) is
    ASCII, its other characters written as references: a page of ASCII is joined and encoded
    several times faster (site.html_ascii). Share and rule pages are few and are left out."""
    repo = GitRepo.init(tmp_path / "repo", git_home, config="timezone: UTC\n")
    alpha = (SITE / "alpha.md").read_text(encoding="utf-8").replace("\u2014", "-")
    assert alpha.isascii()
    repo.write("deals/alpha.md", alpha)
    repo.commit("Alpha: first plan", "2026-10-05")
    alpha = edit(alpha, "security-review", confirmed_by="Cara Lund", confirmation="Email")
    repo.write("deals/alpha.md", alpha)
    repo.commit("Alpha: Cara confirms", "2026-10-12")
    repo.write("deals/alpha.md", edit(alpha, "security-review", due="2026-11-18"))
    repo.commit("Alpha: the security review slips", "2026-10-21")
    out = tmp_path / "out"
    result = build(repo, "--out", str(out))
    assert result.exit_code == 0, result.output + result.stderr
    pages = [p for p in out.rglob("*.html") if p.name != "share.html" and "rules" not in p.parts]
    weeks = (out / "deals/alpha/weeks/2026-W43.html").read_text(encoding="utf-8")
    assert 'Slipped <span class="count">1</span>' in weeks and "&rarr;" in weeks
    assert len([p for p in pages if "weeks" in p.parts]) > 5
    wide = {p.relative_to(out).as_posix() for p in pages if not p.read_bytes().isascii()}
    assert not wide


def test_a_repositorys_own_template_is_written_as_it_stands(tmp_path: Path, git_home: Path) -> None:
    """Only the theme's own text is rewritten in ASCII: a repository's template may hold a
    `<style>` or `<script>`, where `&rarr;` would not be read as an arrow."""
    repo = make_site_repo(tmp_path / "repo", git_home)
    theme = (Path(__file__).parent.parent / "site_templates/rule.html").read_text("utf-8")
    own = theme.replace("{% block main %}", "{% block main %}<style>p::after{content:'→'}</style>")
    assert own != theme
    repo.write("site_templates/rule.html", own)
    out = tmp_path / "out"
    result = build(repo, "--out", str(out))
    assert result.exit_code == 0, result.output + result.stderr
    rule = (out / "rules/MAP101.html").read_text(encoding="utf-8")
    assert "<style>p::after{content:'→'}</style>" in rule
    assert "›" in rule  # its breadcrumbs, as the copy has them
    assert "&middot;" in rule and "·" not in rule  # base.html's title, the theme's: rewritten


def test_user_text_is_escaped_on_every_page(evil_site: Path) -> None:
    pages = sorted(evil_site.rglob("*.html"))
    assert len(pages) > 10
    for path in pages:
        html = path.read_text(encoding="utf-8")
        assert "<script" not in html.lower(), path
        assert "<img" not in html.lower(), path
        parsed = LinkParser.of(html)
        for tag, attrs in parsed.tags:
            assert tag not in ("script", "img", "iframe", "object"), (path, tag)
            for name, value in attrs:
                assert not name.startswith("on"), (path, tag, name)
                if name in ("href", "src"):
                    assert value is not None
                    assert not value.strip().lower().startswith(("javascript:", "data:")), path
        assert 'href="javascript:' not in html.lower()


def test_output_escape_writes_what_markupsafe_would() -> None:
    class Html:
        def __html__(self) -> str:
            return "<b>kept</b>"

    values = ["<script>&'\"", "plain", "", 7, 2.5, None, True, Markup("<i>safe</i>"), Html()]
    for value in values:
        out = _output_escape(value)
        assert type(out) is str
        assert out == str(escape(value)), value
    assert _output_escape("<a href='x'>") == "&lt;a href=&#39;x&#39;&gt;"


def test_templates_escape_output_and_keep_macros_and_filters_safe(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    page = env.from_string(
        "{% macro b(x) %}<b>{{ x }}</b>{% endmacro %}"
        "{{ v }}|{{ b(v) }}|{{ v|e }}|{{ v ~ '<' }}|{% set s %}<i>{{ v }}</i>{% endset %}{{ s }}"
    )
    assert page.render(v="<x>") == (
        "&lt;x&gt;|<b>&lt;x&gt;</b>|&lt;x&gt;|&lt;x&gt;&lt;|<i>&lt;x&gt;</i>"
    )


SAME_AS_JINJA = """\
{%- macro row(x, sep=", ") -%}<li>{{ x.name }}{{ sep }}{{ day(x.due) }}</li>{%- endmacro -%}
{%- macro wrap() -%}<div>{{ caller() }}</div>{%- endmacro -%}
{{ d.title }}|{{ d.nested.inner.leaf }}|{{ d["items"]|length }}|{{ d.items()|list|length }}|
{{ d.get("title") }}|
{{ obj.attr }}|{{ obj.upper() }}|{{ d.count }}|{{ n }}|{{ -n }}|{{ m }}|{{ none }}|
{{ yes }}|{{ half }}|
{% for x in d.rows if x.due %}{{ row(x) }}{{ row(x, sep=" / ") }}{{ loop.index }}{% endfor %}
{% call wrap() %}{{ plural(d.rows|length, "row") }}{% endcall %}
{{ (d.rows|first).name ~ "<" }}|{{ d.rows|map(attribute="name")|join(",") }}|
{{ day(*[d.rows[0].due]) }}|{{ row(**{"x": d.rows[1]}) }}|{{ d.missing is defined }}
{% autoescape false %}{{ d.title }}{% endautoescape %}|
{% filter upper %}{{ d.title }}{% endfilter %}|
{% set t = d.title %}{% for x in d.rows %}{% set u = x.name ~ t %}{{ u }}{% endfor %}|
{% with w = d.nested %}{{ w.inner.leaf }}{% endwith %}|{{ "%s-%s"|format(d.title, n) }}
"""


def test_templates_render_as_jinja_renders_them(tmp_path: Path) -> None:
    """The site's compiler (SiteCodeGenerator) writes attribute look-ups, calls and output
    escaping its own way: every page must still come out as Jinja's own code writes it."""

    class Obj:
        attr = "<attr>"

        def upper(self) -> str:
            return "<UP>"

    data = {
        "title": "A & <b>",
        "nested": {"inner": {"leaf": "<leaf>"}},
        "items": ["not", "the", "method"],
        "count": 3,
        "rows": [
            {"name": "<one>", "due": "2026-11-02"},
            {"name": "two", "due": "2026-12-24"},
            {"name": "three", "due": None},
        ],
    }
    site_env = make_environment(tmp_path)
    plain = Environment(
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    plain.filters.update(site_env.filters)
    plain.globals.update(site_env.globals)
    context = {
        "d": data,
        "obj": Obj(),
        "n": 7,
        "m": Markup("<i>safe</i>"),
        "none": None,
        "yes": True,
        "half": 0.5,
    }
    ours = site_env.from_string(SAME_AS_JINJA).render(**context)
    assert ours == plain.from_string(SAME_AS_JINJA).render(**context)
    assert "&lt;one&gt;" in ours and "<i>safe</i>" in ours and "3 rows" in ours
    assert "|7|-7|<i>safe</i>|None|\nTrue|0.5|" in ours
    for bad in ("{{ d.nowhere.deeper }}", "{{ nothing(1) }}", "{{ d.nowhere }}"):
        with pytest.raises(UndefinedError):
            site_env.from_string(bad).render(**context)


def test_pages_with_blocks_render_as_jinja_renders_them(tmp_path: Path) -> None:
    """Pages made of blocks come out of the site's compiler as Jinja's own code writes them:
    through inheritance, blocks, loops, output outside any block (ignored) and `super()`."""
    from jinja2 import DictLoader

    files = {
        "base.html": "<title>{% block title %}{{ site }} · base{% endblock %}</title>\n"
        "<main>{% block main %}{{ site }}: <i>{{ n }}</i>{% endblock %}</main>{{ site }}!",
        "page.html": "{% extends 'base.html' %}ignored {{ n }} text\n"
        "{% block title %}{{ t }} &amp; {{ super() }}{% endblock %}"
        "{% block main %}<p>{{ t }} {{ n }}</p>{% for r in rows %}<li>{{ r }} {{ loop.index }}</li>"
        "{% else %}<p>none {{ n }}</p>{% endfor %}{% if n > 1 %}{{ t }}{{ n }}{% endif %}"
        "{{ super() }}{% endblock %}",
    }
    site_env = make_environment(tmp_path)
    site_env.loader = DictLoader(files)
    plain = Environment(
        loader=DictLoader(files),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=[AsciiText],
    )
    for context in (
        {"site": "S<", "t": "T&", "n": 2, "rows": ["<a>", "b"]},
        {"site": "S", "t": Markup("<b>t</b>"), "n": 0, "rows": []},
    ):
        ours = site_env.get_template("page.html").render(**context)
        assert ours == plain.get_template("page.html").render(**context)
        assert "ignored" not in ours and ours.endswith("!")


def test_user_text_is_shown_as_text(evil_site: Path) -> None:
    deal = (evil_site / "deals/evil/index.html").read_text(encoding="utf-8")
    assert "Evil &lt;script&gt;alert(1)&lt;/script&gt;" in deal
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in deal
    assert "[link](javascript:alert(1))" in deal  # not a link: shown as written


def test_notes_markdown_has_no_raw_html_and_no_script_links() -> None:
    html = str(render_markdown("[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) <b>x</b>"))
    assert "<a" not in html and "<b>" not in html and "&lt;b&gt;" in html
    assert str(render_markdown("[ok](https://x.example/)")).count('href="https://x.example/"') == 1
    assert "<h2>" in str(render_markdown("# Title"))  # headings move under the page's h1


# ---------------------------------------------------------------- the share page


def test_share_page_leaves_out_everything_internal(evil_site: Path) -> None:
    share = (evil_site / "deals/evil/share.html").read_text(encoding="utf-8")
    lowered = share.lower()
    assert "ZEBRA-INTERNAL-7" not in share and "walk-away" not in lowered
    assert "MAP2" not in share and "MAP1" not in share
    for word in ("score", "confirmation rate", "finding", "slipped", "voided", "at risk"):
        assert word not in lowered, word
    assert "<svg" not in share  # no sparkline, no parts chart
    assert "Can you confirm these dates work on your side" in share
    assert "add the internal steps I'm missing" in share.replace("&#39;", "'")


def test_share_page_asks_for_the_unconfirmed_dates(
    site_repo: GitRepo, built: Path, tmp_path: Path
) -> None:
    share = (built / "deals/alpha/share.html").read_text(encoding="utf-8")
    ask = unescape(share.split('id="the-plan"')[0])  # the text, as a browser reads it
    # the same ask as `mapdown ask` (one function makes both): the same dates and steps, on
    # the as-of day and a week on, when steps are past their date
    later = tmp_path / "later"
    day_after = "2026-11-10"
    made = invoke(["build", "--as-of", day_after, "--out", str(later)], site_repo.root)
    assert made.exit_code == 0, made.stderr
    asked = {"soon": 0, "past": 0}
    for site, as_of, did in [
        (s, d, i) for s, d in ((built, AS_OF), (later, day_after)) for i in ("alpha", "beta")
    ]:
        told = invoke(["ask", did, "--as-of", as_of], site_repo.root).output
        page = (site / f"deals/{did}/share.html").read_text(encoding="utf-8")
        page = page.split('id="the-plan"')[0]
        kept = json.loads((site / f"deals/{did}/data.json").read_text(encoding="utf-8"))["ask"]
        for a in kept["soon"] + kept["later"]:
            day = dt.date.fromisoformat(a["date"])
            assert f"{day:%a} {day.day} {day:%b %Y} — {a['step']}" in told
            assert fmt_day(a["date"]) in unescape(page) and a["step"] in page
        for p in kept["past"]:
            assert p["step"] in told.split("when can they happen now?")[1]
            assert p["step"] in page.split("Due by today, not done yet")[1]
        asked["soon"] += len(kept["soon"])
        asked["past"] += len(kept["past"])
    assert asked["soon"] and asked["past"]
    # security review moved after Cara confirmed: both its dates are asked for again
    assert "Security review completed" in ask
    assert fmt_day("2026-11-18") in ask
    assert "Approval committee decision" in ask
    assert "Legal review of the MSA" not in ask  # confirmed again after it moved
    assert ask.index(fmt_day("2026-11-17")) < ask.index(fmt_day("2026-11-30"))
    beta = (built / "deals/beta/share.html").read_text(encoding="utf-8")
    for step in ("security review", "approval committee", "signature by the economic buyer"):
        assert f"Your {step}" in beta
    for deal in ("alpha", "beta"):
        text = (built / f"deals/{deal}/share.html").read_text(encoding="utf-8").lower()
        assert "score" not in text and "map2" not in text and "rules/" not in text


# ---------------------------------------------------------------- determinism


def test_two_builds_are_byte_identical(site_repo: GitRepo, built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    result = build(site_repo, "--out", str(again), "--no-cache")
    assert result.exit_code == 0, result.output + result.stderr
    first, second = files_of(built), files_of(again)
    assert sorted(first) == sorted(second)
    for rel in first:
        assert first[rel] == second[rel], rel


def test_worker_processes_make_the_same_site(
    site_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert build(site_repo, "--out", str(one), "--no-cache", "--jobs", "1").exit_code == 0
    monkeypatch.setattr("mapdown.site.PARALLEL_FILES", 1)  # the weekly reviews shared too
    result = build(site_repo, "--out", str(two), "--no-cache", "--jobs", "2")
    assert result.exit_code == 0, result.stderr
    assert files_of(one) == files_of(two)
    assert result.output == invoke(
        ["build", "--as-of", AS_OF, "--out", str(one), "--no-cache", "--jobs", "1"],
        site_repo.root,
    ).output.replace(str(one.name), str(two.name))  # the same count of pages


def test_deals_checked_where_they_are_computed_make_the_same_site(
    site_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From LAZY_FROM deals on, each deal is checked and its history read by the process that
    computes it, not all of them first: the site must be the same."""
    one, two = tmp_path / "one", tmp_path / "two"
    assert build(site_repo, "--out", str(one), "--no-cache", "--jobs", "1").exit_code == 0
    monkeypatch.setattr("mapdown.site.LAZY_FROM", 1)
    mapped: list[int] = []
    map_deals = RepoHistory.map_deals
    monkeypatch.setattr(
        RepoHistory,
        "map_deals",
        lambda self, paths, *a, **k: mapped.append(len(paths)) or map_deals(self, paths, *a, **k),
    )
    result = build(site_repo, "--out", str(two), "--no-cache", "--jobs", "2")
    assert result.exit_code == 0, result.stderr
    assert mapped == []  # no timeline made before the deals were handed out
    assert files_of(one) == files_of(two)


def test_deals_checked_where_computed_fill_the_cache_for_the_next_build(
    fresh_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache entries the workers make while checking and computing (timelines, versions,
    deals) serve the next build: nothing is computed again, and the site is the same."""
    one, two = tmp_path / "one", tmp_path / "two"
    assert build(fresh_repo, "--out", str(one), "--no-cache", "--jobs", "1").exit_code == 0
    monkeypatch.setattr("mapdown.site.LAZY_FROM", 1)
    assert build(fresh_repo, "--out", str(two), "--jobs", "2").exit_code == 0  # cold cache
    assert files_of(one) == files_of(two)
    computed: list[str] = []
    deal_data = site_module.deal_data

    def counted(item: Any, *args: Any, **kwargs: Any) -> Any:
        computed.append(item.path)
        return deal_data(item, *args, **kwargs)

    monkeypatch.setattr(site_module, "deal_data", counted)
    again = build(fresh_repo, "--out", str(two), "--jobs", "1")  # all in this process
    assert again.exit_code == 0, again.stderr
    assert computed == []  # every deal from the cache the first build filled
    assert files_of(one) == files_of(two)


@pytest.mark.parametrize("where", ["first", "where computed"])
def test_a_deal_with_errors_fails_the_build_with_checks_messages(
    fresh_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Whether every deal is checked before the first is computed, or each by the process
    that computes it (the other process then stops taking deals), the build fails with the
    messages `check` gives for every deal, and leaves the previous site."""
    out = tmp_path / "site"
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    before = files_of(out)
    bad = (SITE / "beta.md").read_text(encoding="utf-8")
    fresh_repo.write("deals/broken.md", bad.replace("go_live: 2027-01-15\n", ""))
    fresh_repo.write("deals/zz-broken.md", bad.replace("title:", "titel:"))
    checked = invoke(["check", "--as-of", AS_OF], fresh_repo.root)
    assert checked.exit_code == 1
    if where == "where computed":
        monkeypatch.setattr("mapdown.site.LAZY_FROM", 1)
    result = build(fresh_repo, "--out", str(out), "--jobs", "2")
    assert result.exit_code == 1
    errors = [line for line in checked.output.splitlines() if ": error MAP" in line]
    assert len(errors) >= 2
    shown = [
        line.removeprefix("Error: ")  # click's, before the first line of the message
        for line in result.stderr.splitlines()
        if ": error MAP" in line
    ]
    assert shown == errors  # every deal's errors, in check's order
    assert "the previous site is untouched" in result.stderr
    assert files_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "site"]


def test_uncommitted_changes_do_not_make_the_build_depend_on_the_clock(
    fresh_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = fresh_repo.read("deals/beta.md")
    fresh_repo.write("deals/beta.md", edit(text, "pitch", due="2026-11-19"))
    outs = []
    for i, epoch in enumerate(("1800000000", "1900000000")):
        # a different "now" for anything that would read it; the .ics stamp is pinned apart
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        out = tmp_path / f"out{i}"
        assert build(fresh_repo, "--out", str(out)).exit_code == 0
        outs.append(files_of(out))
    for rel in outs[0]:
        if rel.endswith(".ics"):
            continue
        assert outs[0][rel] == outs[1][rel], rel


# ---------------------------------------------------------------- the output folder


@pytest.mark.parametrize("rel", ["../x.html", "/tmp/x.html", "a/../../x.html", "", ".", "a/\0"])
def test_the_writer_never_leaves_its_folder(tmp_path: Path, rel: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    write = Writer(site)
    with pytest.raises(MapdownError, match="leaves the site folder"):
        write(rel, "x")
    write("deals/a/../b/index.html", "ok")  # inside, once made plain
    assert (site / "deals/b/index.html").read_text(encoding="utf-8") == "ok"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["b", "deals", "index.html", "site"]


@pytest.mark.parametrize("target", [".", "deals", "..", "deals/site", ".git/site"])
def test_refuses_to_build_over_the_repository(fresh_repo: GitRepo, target: str) -> None:
    before = files_of(fresh_repo.root)
    result = build(fresh_repo, "--out", target)
    assert result.exit_code == 2
    assert "refusing to build into" in result.stderr
    assert files_of(fresh_repo.root) == before


def test_refuses_a_foreign_folder(fresh_repo: GitRepo, tmp_path: Path) -> None:
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("years of work", encoding="utf-8")
    result = build(fresh_repo, "--out", str(foreign))
    assert result.exit_code == 2
    assert MARKER in result.stderr
    assert files_of(foreign) == {"thesis.txt": b"years of work"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["documents", "repo"]
    a_file = tmp_path / "file"
    a_file.write_text("x", encoding="utf-8")
    assert build(fresh_repo, "--out", str(a_file)).exit_code == 2


def test_rebuilds_its_own_folder_and_an_empty_one(fresh_repo: GitRepo, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert build(fresh_repo, "--out", str(empty)).exit_code == 0
    (empty / "stale.html").write_text("old", encoding="utf-8")
    result = build(fresh_repo, "--out", str(empty))
    assert result.exit_code == 0
    assert not (empty / "stale.html").exists()  # the folder is replaced whole
    assert "pages for 2 deals" in result.output and "index.html" in result.output
    # a folder outside the working folder is named whole, not by the way there from here
    assert f"into {empty.resolve()}: open {empty.resolve() / 'index.html'}" in result.output
    # the default: _site/ at the repository root, whatever the working folder
    result = invoke(["build", "--as-of", AS_OF], fresh_repo.root / "deals")
    assert result.exit_code == 0, result.stderr
    assert (fresh_repo.root / "_site" / MARKER).is_file()
    result = invoke(["build", "--as-of", AS_OF], fresh_repo.root)
    assert f"into _site: open {Path('_site', 'index.html')}" in result.output
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_large_replaced_site_is_deleted_in_the_background(
    fresh_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mapdown.site

    monkeypatch.setattr(mapdown.site, "DELETE_LATER_OVER", 0)  # every site counts as large
    out = tmp_path / "site"
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    before = files_of(out)
    # a replaced site an earlier build left (it stopped before deleting it), and a folder of
    # the user's named like one
    left = tmp_path / ".site.old-left1234" / "site"
    left.mkdir(parents=True)
    (left / MARKER).write_text("x", encoding="utf-8")
    (left / "index.html").write_text("old", encoding="utf-8")
    mine = tmp_path / ".site.old-mine5678"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")

    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    assert files_of(out) == before  # the new site is in place at once

    def replaced() -> list[str]:
        return [p.name for p in tmp_path.iterdir() if p.name.startswith(".site.old-")]

    deadline = time.monotonic() + 60  # waits for the deletion; asserts nothing about speed
    while time.monotonic() < deadline and replaced() != [mine.name]:
        time.sleep(0.05)
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name, "repo", "site"]
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert files_of(out) == before


def test_without_a_shell_a_replaced_site_is_deleted_at_once(
    fresh_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mapdown.site

    monkeypatch.setattr(mapdown.site, "DELETE_LATER_OVER", 0)
    monkeypatch.setattr(mapdown.site.shutil, "which", lambda name: None)
    folder = tmp_path / "old"
    folder.mkdir()
    assert mapdown.site.remove_later(folder) is False and folder.is_dir()
    out = tmp_path / "site"
    for _ in range(2):
        assert build(fresh_repo, "--out", str(out)).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old", "repo", "site"]


def test_exchange_swaps_two_folders_in_one_step(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "from-a").write_text("a", encoding="utf-8")
    (b / "from-b").write_text("b", encoding="utf-8")
    swapped = site_module.exchange(a, b)
    assert swapped is sys.platform.startswith("linux")  # CI runs on Linux: True there
    if swapped:
        assert [p.name for p in a.iterdir()] == ["from-b"]
        assert [p.name for p in b.iterdir()] == ["from-a"]
    assert site_module.exchange(a, tmp_path / "nowhere") is False  # nothing to swap with
    assert a.is_dir()


@pytest.mark.parametrize("can_exchange", [True, False])
def test_a_rebuild_swaps_the_site_in_without_a_moment_with_none(
    fresh_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, can_exchange: bool
) -> None:
    """Where the system can exchange two folders in one step, the site folder is never moved
    away (a web server reading it meanwhile, or `mapdown serve`, always finds a site); where it
    cannot, the old site goes to a backup folder and the new one takes its place."""
    out = tmp_path / "site"
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    fresh_repo.write(
        "deals/beta.md",
        fresh_repo.read("deals/beta.md").replace("Beta Retail — store", "Beta Retail — shop"),
    )
    if not can_exchange:
        monkeypatch.setattr(site_module, "exchange", lambda a, b: False)
    moved: list[Path] = []
    replace = Path.replace

    def recorded(self: Path, target: Any) -> Path:
        moved.append(self)
        return replace(self, target)

    monkeypatch.setattr(Path, "replace", recorded)
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    assert "Beta Retail — shop" in (out / "index.html").read_text(encoding="utf-8")
    assert (out in moved) is not (can_exchange and sys.platform.startswith("linux"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "site"]  # the old one gone


def test_a_failed_build_leaves_the_previous_site(fresh_repo: GitRepo, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    before = files_of(out)
    bad = (SITE / "beta.md").read_text(encoding="utf-8").replace("go_live: 2027-01-15\n", "")
    fresh_repo.write("deals/broken.md", bad)
    result = build(fresh_repo, "--out", str(out))
    assert result.exit_code == 1
    checked = invoke(["check", "--as-of", AS_OF, "--format", "json"], fresh_repo.root).json()
    errors = [d for d in checked if d["severity"] == "error"]
    assert [d["code"] for d in errors] == ["MAP101"]
    for d in errors:  # the same message as `check`, with its place
        assert f"{d['path']}:{d['line']}:{d['col']}: error {d['code']} {d['message']}" in (
            result.stderr
        )
    assert "the previous site is untouched" in result.stderr
    assert files_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "site"]  # no temp folder left


def test_a_failure_while_rendering_leaves_the_previous_site(
    fresh_repo: GitRepo, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    before = files_of(out)
    fresh_repo.write("site_templates/share.html", "{% extends 'base.html' %}{% block main %}")
    result = build(fresh_repo, "--out", str(out))
    assert result.exit_code == 1
    assert "share.html" in result.stderr and "template error" in result.stderr
    assert files_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "site"]


def test_a_failure_in_a_worker_process_leaves_the_previous_site(
    fresh_repo: GitRepo, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    before = files_of(out)
    # with two processes, beta is rendered here or by a forked worker: either fails the build
    fresh_repo.write(
        "site_templates/share.html",
        "{% extends 'base.html' %}{% block main %}"
        "{% if deal.id == 'beta' %}{{ deal.no_such_key.x }}{% endif %}{% endblock %}",
    )
    result = build(fresh_repo, "--out", str(out), "--jobs", "2")
    assert result.exit_code == 1
    assert "share.html: cannot render deals/beta/share.html" in result.stderr
    assert "Traceback" not in result.stderr
    assert files_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "site"]


# ---------------------------------------------------------------- templates


def test_a_repository_template_overrides_the_theme(fresh_repo: GitRepo, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    assert build(fresh_repo, "--out", str(plain)).exit_code == 0
    base = (Path(__file__).parent.parent / "site_templates" / "base.html").read_text("utf-8")
    fresh_repo.write(
        "site_templates/base.html",
        base.replace('<main id="main"', '<p class="ours">OUR-OWN-THEME</p>\n<main id="main"'),
    )
    fresh_repo.write("site_templates/style.css", "body { color: #123456; }\n")
    (fresh_repo.root / "site_templates/__pycache__").mkdir()
    (fresh_repo.root / "site_templates/__pycache__/x.pyc").write_bytes(b"\xa7\x0d\x0d\x0a")
    themed = tmp_path / "themed"
    assert build(fresh_repo, "--out", str(themed)).exit_code == 0
    for page in ("index.html", "deals/alpha/index.html", "deals/alpha/share.html"):
        assert "OUR-OWN-THEME" in (themed / page).read_text(encoding="utf-8")
        assert "OUR-OWN-THEME" not in (plain / page).read_text(encoding="utf-8")
    assert (themed / "style.css").read_text(encoding="utf-8") == "body { color: #123456; }\n"
    # the templates not overridden still come from the theme
    assert (themed / "deals/alpha/weeks/2026-W43.html").read_text("utf-8").count("T-minus") >= 1


# ---------------------------------------------------------------- calendar and data


def test_calendar_has_one_event_per_step_with_stable_uids(built: Path) -> None:
    cal = icalendar.Calendar.from_ical((built / "deals/alpha/alpha.ics").read_bytes())
    events = list(cal.walk("VEVENT"))
    steps = ["pilot", "security-review", "legal-review", "approval-committee", "signature"]
    steps.append("kickoff")
    assert [str(e["UID"]) for e in events] == [f"alpha.{s}@mapdown" for s in steps]
    review = events[1]
    assert str(review["SUMMARY"]) == "Security review completed"
    assert review.decoded("DTSTART") == dt.date(2026, 11, 2)
    assert review.decoded("DTEND") == dt.date(2026, 11, 19)  # the day after due
    assert "Cara Lund" in str(review["DESCRIPTION"])
    assert "not yet confirmed" in str(review["DESCRIPTION"])  # voided: the date moved
    assert events[0].decoded("DTSTAMP") == dt.datetime(2026, 11, 4, tzinfo=dt.UTC)
    signature = events[4]
    assert signature.decoded("DTSTART") == dt.date(2026, 11, 20)


def test_calendar_stamp_honours_source_date_epoch(
    site_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    out = tmp_path / "site"
    assert (
        build(site_repo, "--out", str(out), "--base-url", "https://deals.example/q4").exit_code == 0
    )
    cal = icalendar.Calendar.from_ical((out / "deals/beta/beta.ics").read_bytes())
    event = next(iter(cal.walk("VEVENT")))
    assert event.decoded("DTSTAMP") == dt.datetime.fromtimestamp(1790000000, dt.UTC)
    assert str(event["URL"]) == "https://deals.example/q4/deals/beta/share.html"
    deal = (out / "deals/beta/index.html").read_text(encoding="utf-8")
    assert '<link rel="canonical" href="https://deals.example/q4/deals/beta/">' in deal
    assert "https://deals.example/q4/deals/beta/beta.ics" in deal
    assert 'href="../../style.css"' in deal  # still relative
    assert json.loads((out / "data.json").read_text("utf-8"))["base_url"] == (
        "https://deals.example/q4/"
    )


def test_base_url_must_be_a_web_address(site_repo: GitRepo, tmp_path: Path) -> None:
    result = build(site_repo, "--out", str(tmp_path / "s"), "--base-url", "javascript:alert(1)")
    assert result.exit_code == 2
    assert not (tmp_path / "s").exists()


def test_data_json_is_site_data(site_repo: GitRepo, built: Path) -> None:
    data = json.loads((built / "data.json").read_text(encoding="utf-8"))
    config = load_config(find_config(site_repo.root))
    day = dt.date.fromisoformat(AS_OF)
    repo = read_history(site_repo.root, config.deals_dir, config.tz, worktree=False)
    with repo:
        items = gather(site_repo.root, config, day, repo)
        whole = {i.deal.id: json.loads(json.dumps(deal_data(i, day, config))) for i in items}
        expected = json.loads(json.dumps(site_data(items, day, config)))
    assert data["as_of"] == AS_OF and data["title"] == "Snapshot deals"
    assert data["rules"] == expected["rules"]
    # each week: its forecast review in weeks/<week>.json
    assert [w["week"] for w in data["weeks"]] == [w["week"] for w in expected["weeks"]]
    for listed, week in zip(data["weeks"], expected["weeks"], strict=True):
        assert listed == {
            "week": week["week"],
            "sunday": week["sunday"],
            "deals": len(week["deals"]),
            "data": f"weeks/{week['week']}.json",
        }
        assert json.loads((built / listed["data"]).read_text(encoding="utf-8")) == week
    assert [d["id"] for d in data["deals"]] == ["beta", "alpha"]  # at risk first
    for listed, summary in zip(data["deals"], expected["deals"], strict=True):
        # the deal's summary, and everything its pages show in its own data.json
        assert listed == {
            **{k: v for k, v in summary.items() if k != "countdown"},
            "data": f"deals/{summary['id']}/data.json",
        }
        own = json.loads((built / listed["data"]).read_text(encoding="utf-8"))
        assert own == whole[listed["id"]]
        assert listed["score"] == own["score"] and listed["last_change"] == own["last_change"]
        assert "notes" not in listed and "milestones" not in listed


def test_a_deals_data_reads_back_from_its_json_as_computed(site_repo: GitRepo) -> None:
    # A computed deal's pages are rendered from its data as made; a cached deal's from its
    # JSON read back. Both must be the same values (lists, not tuples; string keys) in the
    # same order (a template iterating a dict shows its keys in that order).
    config = load_config(find_config(site_repo.root))
    day = dt.date.fromisoformat(AS_OF)
    repo = read_history(site_repo.root, config.deals_dir, config.tz, worktree=False)
    with repo:
        for item in gather(site_repo.root, config, day, repo):
            made = deal_data(item, day, config)
            text = compact_json(made)
            back = json.loads(text)
            assert back == made, item.path
            assert json.dumps(back) == json.dumps(made), item.path  # the keys in their order
            assert text == json.dumps(made, separators=(",", ":"), ensure_ascii=False).encode()


def test_an_unchanged_deal_is_reused_and_a_changed_one_rebuilt(
    fresh_repo: GitRepo, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    inode = {
        p: (out / p).stat().st_ino for p in ("deals/alpha/index.html", "deals/beta/index.html")
    }
    text = fresh_repo.read("deals/beta.md").replace("Beta Retail — store", "Beta Retail — shop")
    fresh_repo.write("deals/beta.md", text)
    fresh_repo.commit("Beta: new title", "2026-11-03", author="Kim Lee")
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    assert (out / "deals/alpha/index.html").stat().st_ino == inode["deals/alpha/index.html"]
    assert (out / "deals/beta/index.html").stat().st_ino != inode["deals/beta/index.html"]
    fresh = tmp_path / "fresh"
    assert build(fresh_repo, "--out", str(fresh), "--no-cache").exit_code == 0
    assert files_of(out) == files_of(fresh)  # reused and cached parts make the same site
    fresh_repo.write(
        "site_templates/deal.html", "{% extends 'base.html' %}{% block main %}NEW{% endblock %}"
    )
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    assert "NEW" in (out / "deals/alpha/index.html").read_text(encoding="utf-8")


def inodes(site: Path) -> dict[str, int]:
    return {p.relative_to(site).as_posix(): p.stat().st_ino for p in site.rglob("*") if p.is_file()}


def test_pages_across_deals_are_reused_until_what_they_list_changes(
    fresh_repo: GitRepo, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    first = inodes(out)
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    again = inodes(out)
    written = {p for p in first if again.get(p) != first[p]}
    # nothing changed: only what is always written is written again
    assert written == {"data.json", MANIFEST, MARKER, "style.css", "favicon.svg"}

    text = fresh_repo.read("deals/beta.md").replace("due: 2026-12-18", "due: 2026-12-21")
    fresh_repo.write("deals/beta.md", text)
    fresh_repo.commit("Beta: a step slips", "2026-11-03", author="Kim Lee")
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    after = inodes(out)
    written = {p for p in again if after.get(p) != again[p]}
    # the slip is in the week of 2026-11-03: beta's pages, the dashboards and that week's
    # review are rendered again; alpha's pages, earlier weeks' reviews and the rules are not
    assert {"index.html", "weeks/index.html", "deals/beta/index.html"} <= written
    assert {p for p in written if p.startswith(("deals/alpha/", "rules/"))} == set()
    weeks = sorted(p for p in again if p.startswith("weeks/2026-W"))
    assert [p for p in weeks if p in written] == ["weeks/2026-W45.html", "weeks/2026-W45.json"]
    fresh = tmp_path / "fresh"
    assert build(fresh_repo, "--out", str(fresh), "--no-cache").exit_code == 0
    assert files_of(out) == files_of(fresh)  # reused pages make the same site

    fresh_repo.write(
        "site_templates/review_week.html",
        "{% extends 'base.html' %}{% block main %}NEW WEEK{% endblock %}",
    )
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    assert "NEW WEEK" in (out / weeks[0]).read_text(encoding="utf-8")


@pytest.mark.parametrize("cp", [None, "/bin/false"], ids=["no cp", "cp fails"])
def test_unchanged_pages_are_linked_without_cp(
    fresh_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cp: str | None
) -> None:
    import mapdown.site as site

    out = tmp_path / "site"
    assert build(fresh_repo, "--out", str(out)).exit_code == 0
    first = inodes(out)
    which = shutil.which
    monkeypatch.setattr(site.shutil, "which", lambda name: cp if name == "cp" else which(name))
    result = build(fresh_repo, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    again = inodes(out)
    assert sorted(again) == sorted(first)
    # nothing changed: every page is linked from the previous site, by the fallback
    written = {p for p in first if again[p] != first[p]}
    assert written == {"data.json", MANIFEST, MARKER, "style.css", "favicon.svg"}
    fresh = tmp_path / "fresh"
    assert build(fresh_repo, "--out", str(fresh), "--no-cache").exit_code == 0
    assert files_of(out) == files_of(fresh)
    assert f"Built {len([p for p in again if p.endswith('.html')])} pages" in result.output


def test_builds_outside_git_from_the_files(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "deals").mkdir(parents=True)
    (root / "mapdown.yaml").write_text("timezone: UTC\n", encoding="utf-8")
    shutil.copy(SITE / "alpha.md", root / "deals" / "alpha.md")
    result = build(root, "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    assert "not a git repository" in result.stderr
    assert (tmp_path / "out/deals/alpha/weeks").is_dir()


# ---------------------------------------------------------------- serve and demo


def test_serve_rebuilds_on_change_and_keeps_the_last_good_site(
    fresh_repo: GitRepo, tmp_path: Path
) -> None:
    root = find_root(fresh_repo.root)
    out = tmp_path / "site"
    day = dt.date.fromisoformat(AS_OF)

    def rebuild():
        config = load_config(find_config(root))
        with read_history(root, config.deals_dir, config.tz, worktree=False) as repo:
            return build_site(root, config, day, out, repo=repo)

    config = load_config(find_config(root))
    stop = threading.Event()
    ready: list[str] = []
    said: list[str] = []
    thread = threading.Thread(
        target=serve_site,
        args=(rebuild, out, lambda: watched(root, config)),
        kwargs={
            "port": 0,
            "interval": 0.05,
            "stop": stop,
            "ready": ready.append,
            "echo": said.append,
        },
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not ready and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready and ready[0].startswith("http://127.0.0.1:")

        def fetch(path: str) -> str:
            with urllib.request.urlopen(ready[0] + path, timeout=10) as response:
                return response.read().decode("utf-8")

        assert "Beta Retail — store analytics" in fetch("index.html")
        text = fresh_repo.read("deals/beta.md").replace("Beta Retail — store", "Beta Retail — shop")
        fresh_repo.write("deals/beta.md", text)
        while "Beta Retail — shop" not in fetch("index.html") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "Beta Retail — shop" in fetch("index.html")
        fresh_repo.write("deals/broken.md", "---\ntitle: [\n---\n")
        while not any("Rebuild failed" in s for s in said) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any("Rebuild failed" in s and "MAP100" in s for s in said)
        assert "Beta Retail — shop" in fetch("index.html")  # the last good site
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_serve_on_a_port_in_use_says_so_before_building(
    fresh_repo: GitRepo, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke(
            ["serve", "--as-of", AS_OF, "--out", str(tmp_path / "site"), "--port", str(port)],
            fresh_repo.root,
        )
    assert result.exit_code == 2, result.output + result.stderr
    assert f"port {port} on 127.0.0.1 is in use: choose another with --port" in result.stderr
    assert "bug" not in result.stderr
    assert not (tmp_path / "site").exists()  # refused before the build


def test_demo_builds_the_site(tmp_path: Path) -> None:
    assert shutil.which("git"), "git is not installed: the demo needs it"
    result = invoke(["demo", str(tmp_path / "demo")], tmp_path)
    assert result.exit_code == 0, result.stderr
    index = tmp_path / "demo" / "_site" / "index.html"
    assert index.is_file()
    assert str(index) in result.output


def test_claims_hand_each_deal_to_one_process() -> None:
    from mapdown import workers
    from mapdown.site import Claims

    claim = Claims(500)
    worker = workers.fork(lambda: list(iter(claim, None)))
    mine = list(iter(claim, None))
    status, theirs = workers.collect(worker)
    assert status == "ok"
    assert sorted(mine + theirs) == list(range(500))  # each once, none left out
    assert claim() is None


def test_claims_ahead_has_git_start_on_the_next_deal_before_this_one_is_worked_on() -> None:
    from types import SimpleNamespace

    from mapdown.site import Claims

    seen: list[str] = []
    batch = [
        SimpleNamespace(prefetch=None if i == 2 else (lambda i=i: seen.append(f"ask {i}")))
        for i in range(4)
    ]
    claim = Claims(len(batch))
    for i in claim.ahead(batch):  # type: ignore[arg-type]
        seen.append(f"work {i}")
    assert seen == ["ask 0", "ask 1", "work 0", "work 1", "ask 3", "work 2", "work 3"]
    assert claim() is None


def test_progress_counts_this_process_and_its_workers() -> None:
    from mapdown import workers
    from mapdown.site import Progress

    counted: list[int] = []
    with Progress(counted.append) as tick:
        send = tick.pipe()
        assert send is not None

        def work() -> None:
            for _ in range(3):
                os.write(send, b".")
            os.close(send)

        worker = workers.fork(work)
        tick.forked()
        tick()
        tick.wait()  # returns once the worker has closed its end
        assert workers.collect(worker) == ("ok", None)
    assert sum(counted) == 4
    with Progress(None) as quiet:  # nobody counting: no pipe, nothing to wait for
        assert quiet.pipe() is None
        quiet()
        quiet.wait()


def test_batch_gc_sets_the_collector_for_a_build_and_gives_it_back() -> None:
    import gc

    from mapdown import workers

    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    workers.settle()  # outside a batch: nothing is frozen
    assert gc.get_freeze_count() == 0
    kept = [{"a": [i]} for i in range(1000)]
    with workers.batch_gc():
        assert gc.get_threshold()[0] == max(before[0], workers.BATCH_GC_THRESHOLD)
        with workers.batch_gc():  # nested: the outer block still holds on the way out
            workers.settle()
            assert gc.get_freeze_count() >= len(kept)
        assert gc.get_freeze_count() >= len(kept)
        worker = workers.fork(lambda: gc.get_freeze_count())  # the child sees it frozen too
        kind, frozen_in_child = workers.collect(worker)
        assert kind == "ok" and frozen_in_child >= len(kept)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0  # handed back: a later collection sees it all again
    assert all(k["a"] for k in kept)


@pytest.mark.parametrize(
    ("before_close", "answer"),
    [
        ({"done": 2, "confirmed": 1}, "ok"),
        ({"done": 2, "late": 1}, "warn"),
        ({"confirmed": 1, "voided": 0}, "ok"),  # a state counted zero times is not there
        ({}, "warn"),  # nothing is due before signature: nothing leads to it
    ],
)
def test_a_weeks_signature_holds_when_every_step_before_it_is_done_or_confirmed(
    tmp_path: Path, before_close: dict[str, int], answer: str
) -> None:
    env = make_environment(tmp_path)
    week = {
        "close": "2026-12-01",
        "walk_open": [],
        "close_counts": state_counts(before_close),
        "close_holds": holds(before_close),
        "go_live_counts": [],
    }
    html = env.from_string(
        '{% import "_macros.html" as m %}{{ m.question_three_week(q, go_live) }}'
    ).render(q=week, go_live="2027-01-04")
    assert holds(before_close) is (answer == "ok")
    assert f'<p class="answer {answer}">Before signature: ' in html


def test_remember_calls_once_per_function_and_arguments() -> None:
    calls: list[tuple[object, ...]] = []

    def row(s: dict[str, str], close: str | None) -> str:
        calls.append((s["id"], close))
        return f"<tr>{s['id']} {close}</tr>"

    shared = {"id": "pilot"}
    first = remember(row, shared, "2026-12-01")
    again = "".join(["2026-12", "-01"])  # another string, equal
    assert remember(row, shared, again) is first  # text compared by value
    assert calls == [("pilot", "2026-12-01")]
    remember(row, {"id": "pilot"}, "2026-12-01")  # an equal dict that is another: called
    remember(row, shared, None)
    assert calls == [("pilot", "2026-12-01"), ("pilot", "2026-12-01"), ("pilot", None)]
    assert remember(str, 1) == "1" and remember(str, True) == "True"  # True is not 1
    assert remember(str, id(shared)) == str(id(shared))  # a number is not an object's id


def test_week_answers_are_one_object_for_the_weeks_whose_answers_are_the_same() -> None:
    row_a, row_b = {"id": "a"}, {"id": "b"}

    def week(missing: list[str], rows: list[dict[str, str]], before_close: dict[str, int]) -> dict:
        return {
            "internal_missing": missing,
            "vendor_only": False,
            "close": "2026-12-01",
            "walk_counts": {"before_close": before_close, "before_go_live": {"late": 1}},
            "walk_open": rows,
        }

    weeks = [
        week(["security review"], [row_a, row_b], {"confirmed": 2}),
        week(["security review"], [row_a, row_b], {"confirmed": 2}),  # the same answers
        week(["security review"], [row_a, {"id": "b"}], {"confirmed": 2}),  # another row
        week([], [row_a, row_b], {"confirmed": 1, "unconfirmed": 1}),  # other counts
    ]
    answers = list(week_answers(weeks))
    assert [w for w, _, _ in answers] == weeks
    q2 = [a[1] for a in answers]
    q3 = [a[2] for a in answers]
    assert q2[0] is q2[1] is q2[2] and q2[3] is not q2[0]
    assert q2[3] == {"internal_missing": [], "vendor_only": False}
    assert q3[0] is q3[1]
    assert q3[2] is not q3[0] and q3[2]["walk_open"][1] is weeks[2]["walk_open"][1]
    assert q3[3] is not q3[0] and q3[3]["close_holds"] is False and q3[0]["close_holds"] is True
    assert q3[0]["close_counts"] == state_counts({"confirmed": 2})
    assert q3[0]["go_live_counts"] == state_counts({"late": 1})


def test_dashboard_rows_made_with_their_deals_are_not_rendered_again(
    site_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A computed deal's dashboard row is rendered by the process that renders the deal
    (`Site._render_deal`); the dashboards take it as it is, and render only the others."""
    config = load_config(find_config(site_repo.root))
    day = dt.date.fromisoformat(AS_OF)
    items = gather(site_repo.root, config, day, None)
    slims = [deal_summary(deal_data(i, day, config)) for i in items]
    assert len(slims) >= 2
    site = Site(make_environment(site_repo.root), day, config, None, 1, None)
    site._salt = "salt"
    made = {d["id"]: {r: f"<tr>{d['id']} {r}</tr>" for r in DASHBOARD_ROOTS} for d in slims[1:]}
    rendered: list[str] = []
    render = Site.render_template

    def counted(self: Site, template: str, what: str, **context: object) -> str:
        rendered.append(what)
        return render(self, template, what, **context)

    monkeypatch.setattr(Site, "render_template", counted)
    rows = site.dashboard_rows(slims, {d["id"]: "key" for d in slims}, made)
    first = slims[0]["id"]
    assert rendered == [f"the dashboard row of {first}"] * len(DASHBOARD_ROOTS)
    assert [r["deal"]["id"] for r in rows] == [d["id"] for d in slims]
    assert all(rows[i]["html"] == made[d["id"]] for i, d in enumerate(slims) if i)
    assert (
        f'href="{DASHBOARD_ROOTS[0]}deals/{first}/index.html"'
        in rows[0]["html"][DASHBOARD_ROOTS[0]]
    )


def test_a_deal_computed_and_rendered_leaves_no_reference_cycle(
    site_repo: GitRepo, tmp_path: Path
) -> None:
    """A build raises the collector's threshold tenfold (workers.BATCH_GC_THRESHOLD) because a
    deal's data and pages make no reference cycle: everything is freed as soon as it is
    dropped. Each deal of the snapshot is computed and rendered; the collector finds nothing."""
    import gc

    config = load_config(find_config(site_repo.root))
    day = dt.date.fromisoformat(AS_OF)
    repo = read_history(site_repo.root, config.deals_dir, config.tz, worktree=False)
    with repo:
        items = gather(site_repo.root, config, day, repo)
        site = Site(make_environment(site_repo.root), day, config, None, 1, None)
        write = Writer(tmp_path)
        site.deal_pages(write, deal_data(items[0], day, config))  # the templates, compiled
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            gc.collect()
            for item in items:
                site.deal_pages(write, deal_data(item, day, config))
            assert write.pages > len(items) * 3
            assert gc.collect() == 0
        finally:
            if was_enabled:
                gc.enable()
