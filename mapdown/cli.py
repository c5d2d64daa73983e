"""The click group. Each command parses its options and calls one function elsewhere; modules are
imported inside the commands so `mapdown --help` stays instant."""

from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from mapdown import __version__


class IsoDate(click.ParamType):
    name = "DATE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            if len(value) != 10:
                raise ValueError
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a date; write YYYY-MM-DD", param, ctx)


DATE = IsoDate()


@dataclass
class Workspace:
    """Where the command runs: the repository root, its config, the working folder."""

    root: Path
    cwd: Path
    config: Any  # mapdown.config.Config

    def as_of(self, given: dt.date | None) -> dt.date:
        from mapdown.dates import today

        return given or today(self.config.tz)

    def deals_dir(self) -> Path:
        return self.root / self.config.deals_dir


def workspace(config_file: Path | None) -> Workspace:
    from mapdown.check import find_root
    from mapdown.config import find_config, load_config

    cwd = Path.cwd()
    root = find_root(cwd)
    config = load_config(config_file or find_config(root))
    return Workspace(root, cwd, config)


def use_color() -> bool | None:
    """None lets click decide (colour on a terminal); NO_COLOR turns it off everywhere."""
    return False if os.environ.get("NO_COLOR") else None


config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Settings file (default: mapdown.yaml at the repository root).",
)
history_options = [
    click.option("--no-cache", is_flag=True, help="Do not read or write the parse cache."),
    click.option(
        "--allow-shallow",
        is_flag=True,
        help="Accept a shallow clone; results are marked as partial.",
    ),
]


def with_history_options(fn: Any) -> Any:
    for option in reversed(history_options):
        fn = option(fn)
    return fn


def load_history(ws: Workspace, no_cache: bool, allow_shallow: bool, worktree: bool = True) -> Any:
    """The repository's deal history; says once, on stderr, when there is none.

    Without `worktree` uncommitted changes are not a state of their own (timed now); the files
    as they are join the history as of the day judged, so the result never depends on the clock.
    """
    from mapdown.history import read_history

    repo = read_history(
        ws.root,
        ws.config.deals_dir,
        ws.config.tz,
        allow_shallow=allow_shallow,
        use_cache=not no_cache,
        worktree=worktree,
    )
    click.get_current_context().call_on_close(repo.close)  # the blob reader and the cache
    if repo.notice:
        click.echo(f"mapdown: {repo.notice}", err=True)
    return repo


as_of_option = click.option(
    "--as-of",
    type=DATE,
    default=None,
    help="Judge as of this day, YYYY-MM-DD (default: today in the configured time zone).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mapdown")
def cli() -> None:
    """Mutual Action Plans as Markdown in git: check them, score them, publish them."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@as_of_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--strict", is_flag=True, help="Fail on warnings (findings) too.")
@config_option
@with_history_options
def check(
    paths: tuple[Path, ...],
    as_of: dt.date | None,
    fmt: str,
    strict: bool,
    config_file: Path | None,
    no_cache: bool,
    allow_shallow: bool,
) -> None:
    """Validate deal files and report findings.

    PATHS are deal files or folders (default: the repository's deals/). Exit 0 when there is
    no error, 1 when there is (or a warning under --strict), 2 for a usage problem.
    """
    from mapdown.check import apply_strict, check_files, discover
    from mapdown.diagnostics import count, render_github, render_json, render_text, summary
    from mapdown.errors import UsageProblem

    ws = workspace(config_file)
    if not paths:
        default = ws.deals_dir()
        if not default.is_dir():
            raise UsageProblem(
                f"no {ws.config.deals_dir}/ folder in {ws.root}; pass deal files or folders, "
                "or run `mapdown new` to start one"
            )
        paths = (default,)
    files = discover(paths)
    repo = load_history(ws, no_cache, allow_shallow)
    for problem in repo_problems(repo):
        click.echo(f"note: {problem}", err=True)
    result = check_files(
        files, ws.config, ws.as_of(as_of), ws.root, ws.cwd, repo if repo.available else None
    )
    diags = apply_strict(result.diagnostics, strict)
    if fmt == "json":
        click.echo(render_json(diags))
    elif fmt == "github":
        from mapdown.check import display_path

        repo_paths = {d.path: display_path(ws.cwd / d.path, ws.root) for d in diags}
        text = render_github(diags, repo_paths)
        if text:
            click.echo(text)
    else:
        color = use_color()
        text = render_text(diags, color=color is not False and sys.stdout.isatty())
        if text:
            click.echo(text, color=color)
            click.echo()
        click.echo(summary(diags, result.files, result.files_with_errors), color=color)
    errors, _ = count(diags)
    sys.exit(1 if errors else 0)


def repo_problems(repo: Any) -> list[str]:
    return [p for h in repo.deals.values() for p in h.problems]


@cli.command()
@as_of_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@config_option
@with_history_options
def score(
    as_of: dt.date | None, fmt: str, config_file: Path | None, no_cache: bool, allow_shallow: bool
) -> None:
    """Score every deal: confirmation rate of the next 30 days, parts, slips, worst findings.

    Judged from the history up to --as-of (later commits are ignored, and so is the working
    tree for a past day).
    """
    import json

    from mapdown.report import score_all, score_table

    ws = workspace(config_file)
    day = ws.as_of(as_of)
    repo = load_history(ws, no_cache, allow_shallow)
    records, notes = score_all(ws.deals_dir(), ws.root, ws.config, day, repo)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if fmt == "json":
        click.echo(
            json.dumps(
                records,
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        click.echo(f"Deals as of {day}" + (" (partial history)" if repo.partial else ""))
        click.echo(score_table(records))


@cli.command()
@click.argument("deal")
@as_of_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@config_option
@with_history_options
def history(
    deal: str,
    as_of: dt.date | None,
    fmt: str,
    config_file: Path | None,
    no_cache: bool,
    allow_shallow: bool,
) -> None:
    """A deal's weekly score and every step's dates, confirmations and moves, from git."""
    import json

    from mapdown.errors import MapdownError, UsageProblem
    from mapdown.report import history_record, history_text

    ws = workspace(config_file)
    day = ws.as_of(as_of)
    repo = load_history(ws, no_cache, allow_shallow)
    if not repo.available:
        raise MapdownError("`mapdown history` needs a git repository with commits")
    deal_id = Path(deal).name.removesuffix(".md")
    ids = {Path(rel).name.removesuffix(".md"): rel for rel in repo.deals}
    found = [repo.deals[ids[deal_id]]] if deal_id in ids else []
    if not found:
        known = ", ".join(sorted(ids)) or "none"
        raise UsageProblem(f"no deal `{deal_id}` in {ws.config.deals_dir}/ (deals: {known})")
    record = history_record(found[0], day, ws.config)
    if fmt == "json":
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
    else:
        click.echo(history_text(record))


@cli.command()
@click.argument("folder", required=False, default=".", type=click.Path(path_type=Path))
@click.option(
    "--action",
    default="mapdown/mapdown@v1",
    show_default=True,
    help="The mapdown GitHub Action the workflows use (OWNER/REPO@REF).",
)
def init(folder: Path, action: str) -> None:
    """Turn FOLDER (default: here) into a deals repository.

    Writes mapdown.yaml, deals/ with one example deal, the pull-request and dashboard
    workflows, and a .gitignore for the cache and the site. Never overwrites a file.
    """
    from mapdown.init import init_repo

    written = init_repo(folder, action)
    for path in written:
        click.echo(f"  {folder / path}")
    where = "this folder" if folder.resolve() == Path.cwd().resolve() else str(folder)
    click.echo(
        f"Made a deals repository in {where}. Next: `git init` if it is not one, "
        "replace the example in deals/ with your first deal (`mapdown new`), and read "
        "mapdown's docs/workflow.md (what is public when) before turning on GitHub Pages: "
        "deal data is confidential."
    )


def load_deal(
    ws: Workspace, deal_arg: str, as_of: dt.date, no_cache: bool, allow_shallow: bool
) -> tuple[Any, Any]:
    """A deal by id or path, valid, with a function telling whether a step's dates are
    confirmed (judged like `check`: the file as it is, as the last state of its history)."""
    from mapdown.check import display_path, end_of_day
    from mapdown.diagnostics import render_text
    from mapdown.errors import MapdownError, UsageProblem
    from mapdown.history import coverage
    from mapdown.parse import read_file

    path = Path(deal_arg)
    if not deal_arg.endswith(".md"):
        path = ws.deals_dir() / f"{deal_arg}.md"
    if not path.is_file():
        known = sorted(p.stem for p in ws.deals_dir().glob("*.md"))
        raise UsageProblem(f"no deal `{deal_arg}` ({path}); deals: {', '.join(known) or 'none'}")
    parsed = read_file(path, display_path(path, ws.cwd), ws.root)
    if parsed.deal is None:
        raise MapdownError(
            "the deal has errors; fix them first:\n" + render_text(parsed.diagnostics)
        )
    deal = parsed.deal
    repo = load_history(ws, no_cache, allow_shallow)
    history = repo.for_path(path) if repo.available else None
    if history is not None:
        history = history.with_current(deal, end_of_day(as_of, ws.config), as_of)
    return deal, coverage(deal, history)


@cli.command()
@click.argument("deal")
@as_of_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@config_option
@with_history_options
def plan(
    deal: str,
    as_of: dt.date | None,
    fmt: str,
    config_file: Path | None,
    no_cache: bool,
    allow_shallow: bool,
) -> None:
    """Walk a deal backward from go-live, then from close: what must be true by when, and is it.

    Each step's latest finish is the earliest latest start of the steps that wait for it (for
    a step nothing waits for: close for the paper track when set, else go-live); its slack is
    latest finish − due. Negative slack: the plan as written cannot hold go-live.
    """
    import json

    from mapdown.plan import plan_record, plan_text

    ws = workspace(config_file)
    day = ws.as_of(as_of)
    the_deal, covered = load_deal(ws, deal, day, no_cache, allow_shallow)
    record = plan_record(the_deal, day, covered)
    if fmt == "json":
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
    else:
        click.echo(plan_text(record))


@cli.command()
@click.argument("deal")
@as_of_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown"]),
    default="text",
    show_default=True,
    help="Plain text for an email, or Markdown.",
)
@config_option
@with_history_options
def ask(
    deal: str,
    as_of: dt.date | None,
    fmt: str,
    config_file: Path | None,
    no_cache: bool,
    allow_shallow: bool,
) -> None:
    """The message to send the champion: the dates they have not confirmed (the next 30 days
    first), the internal steps the plan is missing, and the one ask. Nothing internal."""
    from mapdown.ask import build_ask, render

    ws = workspace(config_file)
    day = ws.as_of(as_of)
    the_deal, covered = load_deal(ws, deal, day, no_cache, allow_shallow)
    click.echo(
        render(build_ask(the_deal, day, ws.config, covered), markdown=fmt == "markdown"), nl=False
    )


@cli.command()
@click.argument("base", required=False)
@click.argument("head", required=False)
@as_of_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "github"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@config_option
@with_history_options
def diff(
    base: str | None,
    head: str | None,
    as_of: dt.date | None,
    fmt: str,
    config_file: Path | None,
    no_cache: bool,
    allow_shallow: bool,
) -> None:
    """What changed in the deals between BASE and HEAD, for reviewers.

    BASE defaults to the merge base with the default branch; HEAD to the working tree. Reports
    slips and pull-ins with days, confirmations gained, voided (a date moved under a standing
    confirmation) and removed, steps done, owners changed, steps and deals added or removed,
    go-live and close moves, and each deal's score and confirmation-rate change as of --as-of.
    """
    import json

    from mapdown.diff import compute_diff, render_github, render_markdown, render_text

    ws = workspace(config_file)
    result = compute_diff(
        ws.root,
        ws.config.deals_dir,
        ws.config,
        ws.as_of(as_of),
        base,
        head,
        use_cache=not no_cache,
        allow_shallow=allow_shallow,
    )
    if fmt == "json":
        click.echo(json.dumps([c.to_json() for c in result.changes], indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(render_markdown(result), nl=False)
    elif fmt == "github":
        text = render_github(result)
        if text:
            click.echo(text)
    else:
        click.echo(render_text(result))


@cli.command()
@click.argument("folder", required=False, default="mapdown-demo", type=click.Path(path_type=Path))
def demo(folder: Path) -> None:
    """Make a demo deals repository with ten weeks of history, and score it.

    FOLDER (default ./mapdown-demo) must not exist or be empty. The repository holds the three
    example deals and the commits that tell their stories: a customer's sourcing lead who would
    not commit dates, a slip that voids a confirmation, a wish whose confirmation rate decays.
    """
    from mapdown.demo import build_demo_repo

    repo = build_demo_repo(folder)
    click.echo(f"Made a deals repository with history in {repo}.")
    os.chdir(repo)
    ctx = click.get_current_context()
    as_of = _demo_day()
    click.echo()
    ctx.invoke(score, as_of=as_of)
    click.echo()
    built = _build(workspace(None), None, as_of, None, no_cache=False, allow_shallow=False)
    click.echo(f"Built the site ({built.pages} pages): open {built.out / 'index.html'}")
    click.echo()
    click.echo(f"Judged as of {as_of}, the day of its last commit. Try, in {repo}:")
    click.echo(f"  mapdown check --as-of {as_of}          every finding, with file and line")
    click.echo(f"  mapdown history acme-wish --as-of {as_of}   a wish decaying week by week")
    click.echo(f"  mapdown history harbor-federal --as-of {as_of}")
    click.echo("  git log --stat deals/                   the commits behind it")
    click.echo(f"  mapdown serve --as-of {as_of}          the site, rebuilt as deals change")


def _build(
    ws: Workspace,
    out: Path | None,
    as_of: dt.date | None,
    base_url: str | None,
    *,
    no_cache: bool,
    allow_shallow: bool,
    jobs: int | None = None,
) -> Any:
    """Build the site of the workspace's repository (default `_site/` at its root)."""
    from mapdown.site import build_site, preflight, show_progress
    from mapdown.workers import batch_gc, settle

    target = out if out is not None else ws.root / "_site"
    preflight(ws.root, ws.config, target, base_url)  # refuse before reading any history
    with batch_gc():
        repo = load_history(ws, no_cache, allow_shallow, worktree=False)
        settle()  # the history is kept to the end: never walked by the collector again
        return build_site(
            ws.root,
            ws.config,
            ws.as_of(as_of),
            target,
            repo=repo,
            base_url=base_url,
            show=show_progress(),
            jobs=jobs,
        )


out_option = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write the site into (default: _site/ at the repository root). "
    "It is replaced whole, so it must be empty, new, or a site mapdown built.",
)


@cli.command()
@out_option
@as_of_option
@click.option(
    "--base-url",
    default=None,
    help="Where the site is published (https://…/), for canonical links and the calendar's URL.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that compute and render changed deals (default: one per usable CPU).",
)
@config_option
@with_history_options
def build(
    out: Path | None,
    as_of: dt.date | None,
    base_url: str | None,
    jobs: int | None,
    config_file: Path | None,
    no_cache: bool,
    allow_shallow: bool,
) -> None:
    """Build the static site: dashboard, deal pages, weekly countdowns, share pages, calendars.

    The site is written into a new folder and swapped in only when complete: a failed build
    (a deal with errors exits 1 with the same messages as `check`) leaves the previous site as
    it was. The same repository and --as-of give byte-identical output.
    """
    from mapdown import headstart

    started = headstart.begin(Path.cwd(), no_cache)  # git walks while the rest is imported
    try:
        from mapdown.check import display_path

        ws = workspace(config_file)
        result = _build(
            ws, out, as_of, base_url, no_cache=no_cache, allow_shallow=allow_shallow, jobs=jobs
        )
    finally:
        headstart.close(started)
    shown = display_path(result.out, ws.cwd)
    if shown.startswith(".."):  # outside the working folder: where it is, not the way there
        shown = str(result.out.resolve())
    click.echo(
        f"Built {result.pages} pages for {result.deals} deal{'s' * (result.deals != 1)} "
        f"into {shown}: open {Path(shown) / 'index.html'}"
    )


@cli.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@out_option
@as_of_option
@config_option
@with_history_options
def serve(
    port: int,
    out: Path | None,
    as_of: dt.date | None,
    config_file: Path | None,
    no_cache: bool,
    allow_shallow: bool,
) -> None:
    """Build the site, serve it on 127.0.0.1 and rebuild it when a deal or template changes.

    Files under deals/ and site_templates/ and mapdown.yaml are checked every second. A failed
    rebuild prints its errors and the last good site stays up.
    """
    from mapdown.config import find_config, load_config
    from mapdown.history import read_history
    from mapdown.site import build_site, serve_site, show_progress, watched
    from mapdown.workers import batch_gc, settle

    ws = workspace(config_file)

    def rebuild() -> Any:
        config = load_config(config_file or find_config(ws.root))
        with batch_gc():
            repo = read_history(
                ws.root,
                config.deals_dir,
                config.tz,
                allow_shallow=allow_shallow,
                use_cache=not no_cache,
                worktree=False,
            )
            settle()
            with repo:
                return build_site(
                    ws.root,
                    config,
                    as_of or ws.as_of(None),
                    out if out is not None else ws.root / "_site",
                    repo=repo,
                    show=show_progress(),
                )

    target = (out if out is not None else ws.root / "_site").resolve()
    serve_site(rebuild, target, lambda: watched(ws.root, ws.config), port=port)


def _demo_day() -> dt.date:
    """The demo is judged as of its last commit's day, so it reads the same whenever it is run."""
    from mapdown.demo import demo_commits

    return max(c.moment.date() for c in demo_commits())


@cli.command()
@click.argument("code", required=False)
@click.option("--markdown", is_flag=True, help="Every rule page as one Markdown document.")
def rules(code: str | None, markdown: bool) -> None:
    """List every code, or show one rule's page (`mapdown rules MAP206`)."""
    from mapdown.errors import UsageProblem
    from mapdown.rulesdoc import all_rules_markdown, rules_table

    if markdown:
        click.echo(all_rules_markdown(), nl=False)
        return
    if code is None:
        click.echo(rules_table())
        return
    from mapdown.rules import find_rule

    rule = find_rule(code)
    if rule is None:
        raise UsageProblem(f"no rule {code!r}; `mapdown rules` lists them all")
    click.echo(rule.page(), nl=False)


@cli.command()
@click.option("--config-schema", is_flag=True, help="The schema of mapdown.yaml instead.")
def schema(config_schema: bool) -> None:
    """Print the JSON Schema (draft 2020-12) of a deal file's front matter."""
    from mapdown.schema import json_schema_text

    click.echo(json_schema_text(config=config_schema))


@cli.command()
@click.argument("deal_id")
@click.option("--customer", required=True, help="The buying organisation.")
@click.option(
    "--go-live",
    "go_live",
    type=DATE,
    required=True,
    help="The customer's production go-live, YYYY-MM-DD.",
)
@click.option("--close", type=DATE, default=None, help="Target signature date.")
@click.option("--deadline", type=DATE, default=None, help="The customer's external deadline.")
@click.option("--title", default=None, help="Display name (default: the customer's name).")
@as_of_option
@config_option
def new(
    deal_id: str,
    customer: str,
    go_live: dt.date,
    close: dt.date | None,
    deadline: dt.date | None,
    title: str | None,
    as_of: dt.date | None,
    config_file: Path | None,
) -> None:
    """Start a deal file planned backward from the customer's go-live.

    Every step is dated as late as its chain allows before go-live (paper steps before
    --close), less a week's buffer. Steps that would have to start before today are named.
    """
    from mapdown.new import create_deal, schedule, template

    ws = workspace(config_file)
    path = create_deal(
        ws.deals_dir(),
        deal_id,
        customer=customer,
        go_live=go_live,
        close=close,
        deadline=deadline,
        title=title,
        config=ws.config,
    )
    from mapdown.check import display_path

    click.echo(f"Created {display_path(path, ws.cwd)}.")
    today = ws.as_of(as_of)
    _, steps = template(ws.config.new_steps)
    dates = schedule(go_live, close, steps, ws.config.new_buffer_days)
    late = [step for step, (start, _) in dates.items() if start < today]
    if late:
        click.echo(
            f"warning: {len(late)} step{'s' * (len(late) != 1)} would have to start before "
            f"{today} to hold {'close and ' if close else ''}go-live: {', '.join(late)}. "
            "Agree later dates with the customer, or shorten those steps.",
            err=True,
        )
    click.echo(
        "Next: name a person for every `TBD` owner, then send the dates to your champion "
        "to confirm in writing. `mapdown check` shows what is still open."
    )


def _deal_file(ws: Workspace, deal: str) -> tuple[Path, str]:
    """DEAL (an id in the deals folder, or a path to a .md file) and its path as shown."""
    from mapdown.check import display_path
    from mapdown.edit import resolve_deal

    path = resolve_deal(deal, ws.deals_dir(), ws.cwd)
    return path, display_path(path, ws.cwd)


@cli.command()
@click.argument("deal")
@click.argument("step")
@click.option(
    "--by", "by", required=True, metavar="NAME", help="The customer-side person who agreed."
)
@click.option(
    "--ref", required=True, metavar="TEXT", help="Where it is in writing: a link or a dated quote."
)
@config_option
def confirm(deal: str, step: str, by: str, ref: str, config_file: Path | None) -> None:
    """Record that the customer agreed to STEP's dates in writing.

    Sets `confirmed_by` and `confirmation` of STEP in DEAL (a deal id or a .md file), changing
    no other line. NAME must be a customer-side person in the deal's people.
    """
    from mapdown import edit

    path, shown = _deal_file(workspace(config_file), deal)
    edit.confirm(path, shown, step, by, ref).echo()


@cli.command()
@click.argument("deal")
@click.argument("step")
@click.option("--due", type=DATE, required=True, help="The new due date, YYYY-MM-DD.")
@click.option("--start", type=DATE, default=None, help="The new start date, YYYY-MM-DD.")
@config_option
def move(
    deal: str, step: str, due: dt.date, start: dt.date | None, config_file: Path | None
) -> None:
    """Move STEP's dates (a slip or a pull-in), changing no other line.

    A standing confirmation is left as it is and so no longer covers the dates: the customer
    agreed to the old ones. Record the new agreement with `mapdown confirm`.
    """
    from mapdown import edit

    path, shown = _deal_file(workspace(config_file), deal)
    edit.move(path, shown, step, due, start).echo()


@cli.command()
@click.argument("deal")
@click.argument("step")
@click.option(
    "--evidence",
    required=True,
    metavar="REF",
    help="Where the exit artifact is: a link or a reference.",
)
@config_option
def done(deal: str, step: str, evidence: str, config_file: Path | None) -> None:
    """Mark STEP done, with the evidence that proves it, changing no other line."""
    from mapdown import edit

    path, shown = _deal_file(workspace(config_file), deal)
    edit.done(path, shown, step, evidence).echo()
