"""The demo site in a real browser: Playwright driving the machine's Chromium over file://.

Every HTML page of the demo site loads with no console error, no page error and no failed
request; no internal link, stylesheet or image points at a missing file or a missing `#id`;
the share page shows nothing internal; the dashboard sorts with JavaScript off; and the test
saves screenshots of the main pages into `test-artifacts/` (git-ignored) for a person to look at.

The browser is the machine's Chromium, never a downloaded one: `MAPDOWN_BROWSER` if set, else the
first of BROWSER_PATHS that exists. Without a browser or without the `playwright` package the
module is skipped on a developer's machine and fails under CI (`CI` set), where `.ci/run`
installs Chromium. Nothing here reads the clock: the site is built `--as-of` a fixed day.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

import pytest
from conftest import ROOT, invoke

from mapdown.demo import build_demo_repo

AS_OF = "2026-11-24"
BROWSER_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
DEAL = "harbor-federal"
# Words that occur only in the notes body of deals/harbor-federal.md: the share page must not
# show them (the deal page must, which proves they are really there to leak).
NOTES_WORDS = ("prioritised", "stall told us")
# What a link check leaves alone: another site, an e-mail address, inline data, script URLs.
EXTERNAL_SCHEMES = ("http", "https", "mailto", "data", "javascript", "tel")
LINK_SELECTORS = "a[href], link[href], img[src], script[src]"
# The widths a page must fit without scrolling sideways: a laptop, a small one, a phone.
DESKTOP, NARROW_WIDTHS = 1280, (1024, 390)
PHONE = NARROW_WIDTHS[-1]
# How far the page is wider than the window: a wide table scrolls inside its own box instead.
SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
# The tables wider than the box they scroll in, each as its class and how much is out of sight.
CLIPPED = """() => [...document.querySelectorAll('table')]
  .map(t => [t.className, t.getBoundingClientRect().width - t.parentElement.clientWidth])
  .filter(([, by]) => by >= 1)
  .map(([name, by]) => `table.${name}: ${Math.round(by)}px out of sight`)"""


def on_ci() -> bool:
    """`CI` set to anything but an explicit no (`CI=true` in .ci/run and on GitHub Actions)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(message: str) -> None:
    """No browser to test with: a failure under CI, a skip on a developer's machine."""
    if on_ci():
        pytest.fail(f"{message} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


def find_browser() -> Path | None:
    chosen = os.environ.get("MAPDOWN_BROWSER")
    candidates = (chosen,) if chosen else BROWSER_PATHS
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def axe_audit() -> Any:
    """A function that runs axe-core (the copy the `axe-playwright-python` package bundles) on
    a loaded page and returns its violations, one line each: rule, impact, where. Stylesheets
    are not fetched again by axe (`preload`): over file:// that is refused, and it is not
    needed for the rules that matter here."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        unavailable("the `axe-playwright-python` package is not installed: pip install '.[test]'")
    axe = Axe()

    def audit(page: Any) -> list[str]:
        found = axe.run(page, options={"resultTypes": ["violations"], "preload": False})
        return [
            f"{v['id']} ({v['impact']}): {v['help']}; at "
            + ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:3])
            for v in found.response["violations"]
        ]

    return audit


def audited_pages(site: Path) -> list[Path]:
    """One page or more of every kind, as each template renders it: the dashboard and a sorted
    copy, every deal page, share page and latest weekly countdown, the reviews' index and
    latest review, the rules' index and the rule pages that hold a code block."""
    pages = [site / "index.html", site / "sort" / "score.html", site / "weeks" / "index.html"]
    pages += [site / "rules" / "index.html"]
    pages += [p for p in sorted((site / "rules").glob("MAP*.html")) if "<pre" in p.read_text()]
    pages.append(sorted((site / "weeks").glob("*.html"))[-1])
    for deal in sorted((site / "deals").iterdir()):
        pages += [deal / "index.html", deal / "share.html"]
        pages.append(sorted((deal / "weeks").glob("*.html"))[-1])
    return pages


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the whole module (launching it is the slow part)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable(
            "the `playwright` package is not installed: pip install '.[test]' "
            "(or pip install playwright); the machine's Chromium is used, no download needed"
        )
    executable = find_browser()
    if executable is None:
        where = os.environ.get("MAPDOWN_BROWSER") or ", ".join(BROWSER_PATHS)
        unavailable(
            f"no Chromium found at {where}: install it (apt-get install chromium) "
            "or set MAPDOWN_BROWSER to a Chromium or Chrome executable"
        )
    playwright = sync_playwright().start()
    try:
        try:
            launched = playwright.chromium.launch(
                executable_path=str(executable), args=BROWSER_ARGS
            )
        except Exception as exc:
            pytest.fail(f"{executable} did not start under Playwright: {exc}", pytrace=False)
        yield launched
        launched.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo repository's site, built once (after the browser is known to be there)."""
    assert shutil.which("git"), "git is not installed: the demo repository needs it"
    base = tmp_path_factory.mktemp("browser")
    repo = build_demo_repo(base / "demo")
    out = base / "site"
    result = invoke(["build", "--out", str(out), "--as-of", AS_OF], repo)
    assert result.exit_code == 0, result.output + result.stderr
    assert (out / "index.html").is_file()
    return out


@pytest.fixture(scope="module")
def notes_text(site: Path) -> str:
    """The notes body of the demo's harbor-federal.md (everything after the front matter)."""
    text = (site.parent / "demo" / "deals" / f"{DEAL}.md").read_text(encoding="utf-8")
    _, _, notes = text.partition("\n---\n")
    return notes


def pages_of(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


@dataclass
class Visit:
    """What one page did in the browser and what it links to (attribute values as written)."""

    problems: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    sideways: int = 0  # how far the page scrolls sideways, in CSS pixels (0: it fits)
    clipped: list[str] = field(default_factory=list)  # tables wider than their box


def visit_all(browser: Any, site: Path) -> dict[str, Visit]:
    """Open every HTML page under `site` once, in one context and one tab, recording console
    errors, page errors and failed requests, and the link targets of each page."""
    context = browser.new_context(viewport={"width": DESKTOP, "height": 800})
    page = context.new_page()
    current: list[Visit] = []

    def note(text: str) -> None:
        current[-1].problems.append(text)

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            note(f"console error: {msg.text} ({msg.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: note(f"page error: {exc}"))

    def on_failed(req: Any) -> None:
        # The icon is asked for once a page has loaded, and going on to the next page cancels
        # it (net::ERR_ABORTED): a cancelled request says nothing of the site. A missing file
        # fails otherwise (net::ERR_FILE_NOT_FOUND), and is a problem.
        if req.failure != "net::ERR_ABORTED":
            note(f"request failed: {req.url} ({req.failure})")

    page.on("requestfailed", on_failed)
    visits: dict[str, Visit] = {}
    try:
        for path in pages_of(site):
            current.append(Visit())
            response = page.goto(path.as_uri(), wait_until="load")
            if response is not None and not response.ok:
                note(f"status {response.status}")
            current[-1].links = page.eval_on_selector_all(
                LINK_SELECTORS,
                "els => els.map(e => e.getAttribute(e.matches('[src]') ? 'src' : 'href'))",
            )
            current[-1].sideways = page.evaluate(SIDEWAYS)
            current[-1].clipped = page.evaluate(CLIPPED)
            visits[path.relative_to(site).as_posix()] = current[-1]
    finally:
        context.close()
    return visits


@pytest.fixture(scope="module")
def crawl(browser: Any, site: Path) -> dict[str, Visit]:
    return visit_all(browser, site)


# ------------------------------------------------------------------------------ helpers


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value is not None and (key == "id" or (tag == "a" and key == "name")):
                self.ids.add(value)


def ids_of(path: Path) -> set[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.ids


def broken_link(site: Path, page: Path, link: str, ids: dict[Path, set[str]]) -> str | None:
    """Why `link` on `page` is broken, or None when it is fine (or not ours to check)."""
    link = link.strip()
    if not link:
        return "empty link"
    base = page.as_uri()
    target = urlsplit(urljoin(base, link))
    if target.scheme in EXTERNAL_SCHEMES:
        return None
    if target.scheme != "file":
        return f"unexpected scheme {target.scheme!r}"
    path = Path(url2pathname(unquote(target.path)))
    try:
        path.relative_to(site)
    except ValueError:
        return f"points outside the site, at {path}"
    if not path.is_file():
        return f"no such file {path.relative_to(site).as_posix()}"
    fragment = unquote(target.fragment)
    if fragment and path.suffix == ".html":
        if path not in ids:
            ids[path] = ids_of(path)
        if fragment not in ids[path]:
            return f"no element with id {fragment!r} in {path.relative_to(site).as_posix()}"
    return None


def go_live_dates(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "table.deals tbody tr td[data-label='Go-live'] time",
        "els => els.map(e => e.getAttribute('datetime'))",
    )


def deal_links(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "table.deals tbody tr th a", "els => els.map(e => e.getAttribute('href'))"
    )


# ------------------------------------------------------------------------------ tests


def test_every_page_of_the_site_is_visited(site: Path, crawl: dict[str, Visit]) -> None:
    assert set(crawl) == {p.relative_to(site).as_posix() for p in pages_of(site)}
    for must in (
        "index.html",
        f"deals/{DEAL}/index.html",
        f"deals/{DEAL}/share.html",
        "weeks/index.html",
        "rules/index.html",
        "sort/go-live.html",
    ):
        assert must in crawl
    assert any(re.fullmatch(rf"deals/{DEAL}/weeks/\d{{4}}-W\d\d\.html", p) for p in crawl)


def test_every_page_loads_without_errors(crawl: dict[str, Visit]) -> None:
    problems = [f"{page}: {problem}" for page, visit in crawl.items() for problem in visit.problems]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_no_broken_internal_link(site: Path, crawl: dict[str, Visit]) -> None:
    ids: dict[Path, set[str]] = {}
    broken = []
    checked = 0
    for rel, visit in crawl.items():
        for link in visit.links:
            why = broken_link(site, site / rel, link, ids)
            checked += 1
            if why is not None:
                broken.append(f"{rel}: {link!r}: {why}")
    assert checked > len(crawl)  # every page links somewhere: the check did run
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(broken)


def test_the_link_check_catches_breakage(site: Path) -> None:
    """The checker itself: a missing file, a missing id and an escape from the site are caught."""
    page = site / "deals" / DEAL / "index.html"
    ids: dict[Path, set[str]] = {}
    assert broken_link(site, page, "../../index.html#main", ids) is None
    assert broken_link(site, page, "https://example.com/x", ids) is None
    assert broken_link(site, page, "share.html?x=1#main", ids) is None
    assert "no such file" in (broken_link(site, page, "nope.html", ids) or "")
    assert "no element" in (broken_link(site, page, "#no-such-id", ids) or "")
    assert "outside" in (broken_link(site, page, "../../../x.html", ids) or "")
    assert "outside" in (broken_link(site, page, "/style.css", ids) or "")


@contextmanager
def tab(browser: Any, width: int = DESKTOP) -> Iterator[Any]:
    """One tab in a window `width` CSS pixels wide, in a context of its own, closed after."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


def sideways_at(browser: Any, pages: list[Path], width: int) -> dict[str, int]:
    """Each page that scrolls sideways in a window `width` CSS pixels wide, and by how much."""
    wide = {}
    with tab(browser, width) as page:
        for path in pages:
            page.goto(path.as_uri(), wait_until="load")
            if (by := page.evaluate(SIDEWAYS)) > 0:
                wide[path.as_posix()] = by
    return wide


def test_no_page_scrolls_sideways(browser: Any, site: Path, crawl: dict[str, Visit]) -> None:
    """Every page fits its window: at the crawl's width, and at a small laptop's and a phone's.
    A table too wide for the window scrolls inside its own box; a long link or name wraps."""
    wide = {f"{rel} at {DESKTOP}px": v.sideways for rel, v in crawl.items() if v.sideways > 0}
    for width in NARROW_WIDTHS:
        found = sideways_at(browser, pages_of(site), width)
        wide |= {f"{Path(p).relative_to(site)} at {width}px": by for p, by in found.items()}
    assert not wide, "pages wider than their window (px too wide):\n" + "\n".join(
        f"{where}: {by}" for where, by in wide.items()
    )


def test_no_page_has_an_accessibility_violation(browser: Any, site: Path) -> None:
    """axe-core (WCAG 2 A and AA rules, and best practices) finds nothing on a page of every
    kind, at a laptop's width and at a phone's, where tables scroll in boxes that a keyboard
    must reach."""
    audit = axe_audit()
    pages = audited_pages(site)
    assert len(pages) >= 15 and all(p.is_file() for p in pages)
    found = []
    for width in (DESKTOP, PHONE):
        with tab(browser, width) as page:
            for path in pages:
                page.goto(path.as_uri(), wait_until="load")
                rel = path.relative_to(site).as_posix()
                found += [f"{rel} at {width}px: {v}" for v in audit(page)]
    assert not found, f"{len(found)} violations:\n" + "\n".join(found)


def test_the_accessibility_audit_catches_a_violation(browser: Any, tmp_path: Path) -> None:
    page_file = tmp_path / "bad.html"
    page_file.write_text(
        '<!doctype html><html lang="en"><title>x</title><main><img src="x.png"></main>',
        encoding="utf-8",
    )
    with tab(browser) as page:
        page.goto(page_file.as_uri(), wait_until="load")
        found = axe_audit()(page)
    assert any(v.startswith("image-alt (critical)") for v in found), found


def test_every_table_is_whole_on_a_laptop(crawl: dict[str, Visit]) -> None:
    """At 1280 px no table hides a column in its scrolling box: the dashboard's eight columns
    and the weekly review's eleven are read side by side in the forecast review."""
    clipped = [f"{rel}: {what}" for rel, visit in crawl.items() for what in visit.clipped]
    assert not clipped, "\n".join(clipped)


def test_the_sideways_check_catches_a_wide_page(browser: Any, tmp_path: Path) -> None:
    page = tmp_path / "wide.html"
    wide = '<!doctype html><body style="margin: 0"><div style="width: 1500px">x</div>'
    page.write_text(wide, encoding="utf-8")
    assert sideways_at(browser, [page], 1024) == {page.as_posix(): 1500 - 1024}


SCREENSHOTS = {
    "dashboard.png": ("index.html", 1280),
    f"deal-{DEAL}.png": (f"deals/{DEAL}/index.html", 1280),
    f"share-{DEAL}.png": (f"deals/{DEAL}/share.html", 1280),
    f"week-{DEAL}-2026-W47.png": (f"deals/{DEAL}/weeks/2026-W47.html", 1280),
    "review-2026-W47.png": ("weeks/2026-W47.html", 1280),
    "dashboard-phone.png": ("index.html", 390),
    f"deal-{DEAL}-phone.png": (f"deals/{DEAL}/index.html", 390),
}


def test_screenshots(browser: Any, site: Path) -> None:
    """Full-page screenshots of the main pages, kept in test-artifacts/ for a person to see."""
    ARTIFACTS.mkdir(exist_ok=True)
    contexts: dict[int, Any] = {}
    try:
        for name, (rel, width) in SCREENSHOTS.items():
            if width not in contexts:
                contexts[width] = browser.new_context(viewport={"width": width, "height": 800})
            page = contexts[width].pages[0] if contexts[width].pages else contexts[width].new_page()
            target = ARTIFACTS / name
            target.unlink(missing_ok=True)
            page.goto((site / rel).as_uri(), wait_until="load")
            page.screenshot(path=str(target), full_page=True)
            assert target.is_file(), name
            assert target.stat().st_size > 10_000, f"{name} is only {target.stat().st_size} bytes"
    finally:
        for context in contexts.values():
            context.close()


def test_share_page_shows_nothing_internal(browser: Any, site: Path, notes_text: str) -> None:
    for word in NOTES_WORDS:  # the words really are the notes' own, and only there
        assert word in notes_text
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto((site / "deals" / DEAL / "index.html").as_uri())
        deal_text = page.inner_text("body")
        for word in NOTES_WORDS:
            assert word in deal_text, f"the deal page should show the notes ({word!r})"
        page.goto((site / "deals" / DEAL / "share.html").as_uri())
        text = page.inner_text("body")
        assert "Harbor Federal" in text  # the page is really there
        for word in ("MAP2", "score", *NOTES_WORDS):
            assert word.lower() not in text.lower(), f"share page shows {word!r}"
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        leaks = [h for h in hrefs if "rules/" in h or "weeks/" in h]
        assert not leaks, f"share page links to internal pages: {leaks}"
    finally:
        context.close()


def test_dashboard_sorts_without_javascript(browser: Any, site: Path) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto((site / "index.html").as_uri())
        dashboard_deals = deal_links(page)
        assert len(dashboard_deals) >= 3
        page.locator("table.deals thead").get_by_role("link", name="Go-live", exact=True).click()
        page.wait_for_load_state("load")
        assert re.search(r"/sort/[^/]+\.html$", page.url), page.url
        assert page.url.endswith("/sort/go-live.html"), page.url
        dates = go_live_dates(page)
        assert len(dates) == len(dashboard_deals)
        assert dates == sorted(dates), f"not in go-live order: {dates}"
        # The same deals, each once; the heading says which column the table is sorted by.
        assert sorted(deal_links(page)) == sorted("../" + href for href in dashboard_deals), (
            "the sorted page lists other deals than the dashboard"
        )
        sorted_heading = page.locator("table.deals thead th[aria-sort]")
        assert sorted_heading.count() == 1
        assert "Go-live" in sorted_heading.inner_text()
    finally:
        context.close()


def test_the_crawl_catches_errors(browser: Any, tmp_path: Path) -> None:
    """The crawler itself: a missing stylesheet, a script error and console.error are caught."""
    (tmp_path / "ok.html").write_text("<!doctype html><title>ok</title><p>fine", encoding="utf-8")
    (tmp_path / "bad.html").write_text(
        "<!doctype html><title>bad</title><link rel=stylesheet href=gone.css>"
        "<script>console.error('boom'); undefinedFunction();</script><a href='ok.html'>ok</a>",
        encoding="utf-8",
    )
    visits = visit_all(browser, tmp_path)
    assert visits["ok.html"].problems == []
    bad = "\n".join(visits["bad.html"].problems)
    assert "request failed" in bad and "gone.css" in bad
    assert "console error: boom" in bad
    assert "page error" in bad and "undefinedFunction" in bad
    assert visits["bad.html"].links == ["gone.css", "ok.html"]


def test_pages_served_over_http_ask_for_nothing_missing(browser: Any, site: Path) -> None:
    """As published (GitHub Pages) or by `mapdown serve`, over HTTP: a browser also asks for
    what a page does not link (`/favicon.ico`); nothing it asks for may be missing."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *args: None  # type: ignore[method-assign]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url}: {r.failure}"))
    try:
        for rel in ("index.html", f"deals/{DEAL}/index.html", f"deals/{DEAL}/share.html"):
            # the icon is asked for once the page has loaded: wait until nothing is asked for
            # (500 ms), or the next page's navigation aborts the request (net::ERR_ABORTED)
            response = page.goto(base + rel, wait_until="networkidle")
            assert response is not None and response.ok, rel
        assert problems == []
    finally:
        context.close()
        server.shutdown()
        server.server_close()
