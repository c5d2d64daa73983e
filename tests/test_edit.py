"""`mapdown confirm`, `move` and `done`: every byte outside the edited lines stays as it was."""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import shlex
import stat
from pathlib import Path

import pytest
from conftest import AS_OF, EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from mapdown import edit
from mapdown.errors import MapdownError
from mapdown.parse import parse_text, read_file

EDITED_KEYS = ("confirmed_by", "confirmation", "start", "due", "status", "evidence")
EDITED_LINE = re.compile(r"^ +(?:- )?(" + "|".join(EDITED_KEYS) + r"):")
REF = "Email 2026-11-26, Re: MAP dates — 'works for us'"


def _steps() -> list[tuple[str, str]]:
    out = []
    for path in sorted(EXAMPLES.glob("*.md")):
        parsed = read_file(path, path.name)
        assert parsed.deal is not None, parsed.diagnostics
        out.extend((parsed.deal.id, m.id) for m in parsed.deal.milestones)
    return out


STEPS = _steps()


def test_every_example_deal_has_steps():
    assert {deal for deal, _ in STEPS} == {p.stem for p in EXAMPLES.glob("*.md")}
    assert len(STEPS) > 20


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (temp files included) with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def changes(old: bytes, new: bytes) -> tuple[list[str], list[str], list[int]]:
    """Lines removed and added (with their endings), and the new file's changed line indexes."""
    a = old.decode("utf-8").splitlines(keepends=True)
    b = new.decode("utf-8").splitlines(keepends=True)
    removed: list[str] = []
    added: list[str] = []
    rows: list[int] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += a[i1:i2]
            added += b[j1:j2]
            rows += range(j1, j2)
    return removed, added, rows


def step_rows(text: str, deal_id: str, step_id: str) -> range:
    """The 0-based rows of the file that a step's mapping spans."""
    parsed = parse_text(text, "x.md", deal_id)
    assert parsed.deal is not None, parsed.diagnostics
    index = next(m.index for m in parsed.deal.milestones if m.id == step_id)
    start, _, end, _ = parsed.located.values[("milestones", index)]
    offset = parsed.located.offset
    return range(start + offset, end + offset + 1)


def assert_only_step_lines_changed(old: bytes, new: bytes, deal_id: str, step_id: str, keys):
    removed, added, rows = changes(old, new)
    assert added, "nothing changed"
    for line in removed + added:
        match = EDITED_LINE.match(line)
        assert match, f"an unexpected line changed: {line!r}"
        assert match.group(1) in keys, f"{match.group(1)} changed: {line!r}"
    inside = step_rows(new.decode("utf-8"), deal_id, step_id)
    assert all(row in inside for row in rows), "a line outside the step changed"
    # the notes after the front matter are untouched
    assert new.split(b"\n---", 1)[1] == old.split(b"\n---", 1)[1]


def assert_check_passes(run, rel: str) -> None:
    result = run("check", "--as-of", AS_OF, "--format", "json", rel)
    assert result.exit_code == 0, result.output + result.stderr
    assert [r for r in result.json() if r["severity"] == "error"] == []


def parsed_step(path: Path, step_id: str):
    parsed = read_file(path, path.name)
    assert parsed.deal is not None, parsed.diagnostics
    return parsed.deal, next(m for m in parsed.deal.milestones if m.id == step_id)


# ---------------------------------------------------------------- every step of every example


@pytest.mark.parametrize(("deal_id", "step_id"), STEPS)
def test_confirm_every_step(run, examples, deal_id, step_id):
    path = examples / "deals" / f"{deal_id}.md"
    before = path.read_bytes()
    deal, old = parsed_step(path, step_id)
    customer = next(p.name for p in deal.people if p.side == "customer")
    result = run("confirm", deal_id, step_id, "--by", customer, "--ref", REF)
    assert result.exit_code == 0, result.stderr
    assert f"confirmed by {customer}" in result.output
    after = path.read_bytes()
    assert_only_step_lines_changed(
        before, after, deal_id, step_id, {"confirmed_by", "confirmation"}
    )
    _, new = parsed_step(path, step_id)
    assert (new.confirmed_by, new.confirmation) == (customer, REF)
    assert (new.start, new.due, new.status, new.evidence) == (
        old.start,
        old.due,
        old.status,
        old.evidence,
    )
    assert_check_passes(run, f"deals/{deal_id}.md")


@pytest.mark.parametrize(("deal_id", "step_id"), STEPS)
def test_move_every_step(run, examples, deal_id, step_id):
    path = examples / "deals" / f"{deal_id}.md"
    before = path.read_bytes()
    _, old = parsed_step(path, step_id)
    days = dt.timedelta(days=3)
    args = ["move", deal_id, step_id, "--due", str(old.due + days)]
    if old.start is not None:
        args += ["--start", str(old.start + days)]
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    assert "slipped 3 days" in result.output
    after = path.read_bytes()
    keys = {"due"} | ({"start"} if old.start else set())
    assert_only_step_lines_changed(before, after, deal_id, step_id, keys)
    _, new = parsed_step(path, step_id)
    assert new.due == old.due + days
    assert new.start == (old.start + days if old.start else None)
    # the confirmation is left as it was: the history shows it voided
    assert (new.confirmed_by, new.confirmation) == (old.confirmed_by, old.confirmation)
    if old.confirmed_by:
        assert f"the confirmation by {old.confirmed_by} was for the old date" in result.stderr
        assert "mapdown confirm" in result.stderr
    else:
        assert "confirmation" not in result.stderr
    assert_check_passes(run, f"deals/{deal_id}.md")


@pytest.mark.parametrize(("deal_id", "step_id"), STEPS)
def test_done_every_step(run, examples, deal_id, step_id):
    path = examples / "deals" / f"{deal_id}.md"
    before = path.read_bytes()
    _, old = parsed_step(path, step_id)
    evidence = f"https://files.example/{deal_id}/{step_id}-proof.pdf"
    result = run("done", deal_id, step_id, "--evidence", evidence)
    assert result.exit_code == 0, result.stderr
    after = path.read_bytes()
    assert_only_step_lines_changed(before, after, deal_id, step_id, {"status", "evidence"})
    _, new = parsed_step(path, step_id)
    assert (new.status, new.evidence) == ("done", evidence)
    assert (new.due, new.confirmed_by) == (old.due, old.confirmed_by)
    assert_check_passes(run, f"deals/{deal_id}.md")


# ---------------------------------------------------------------- layout kept

DEAL = """\
---
title: Test deal
customer: Test Co
go_live: 2027-02-01   # the anchor
people:
  - name: Dana Whitfield
    side: customer
  - name: Sam Carter
    side: vendor
milestones:
  - id: review
    step: Review
    track: technical
    owner: Dana Whitfield
    due: 2026-12-08   # agreed on the call
    exit: Sign-off memo
    status: in-progress  # waiting on the memo
    confirmed_by: Dana Whitfield   # by email
    confirmation: "old writing"  # see the thread
  - id: quoted
    step: Quoted dates
    track: paper
    owner: Sam Carter
    start: '2026-12-01'
    due: "2026-12-05"
    exit: A document
    status:
    confirmation: "Email 2026-10-14, Re: a long quote that
      goes on to a second line"
    confirmed_by: Dana Whitfield
  - id: bare
    step: Bare
    track: paper
    owner: Sam Carter
    due: 2026-12-10
    after:
      - review
    exit: A document

  # a comment between steps
  - id: flow-step
    step: Written in flow style
    track: paper
    owner: Sam Carter
    due: 2026-12-12
    exit: A document
  - {id: flow, step: Flow, track: paper, owner: Sam Carter, due: 2026-12-20, exit: A document}
---

## Notes
Body text: stays as it is.
"""


@pytest.fixture
def deal(repo) -> Path:
    path = repo / "deals" / "test.md"
    path.write_bytes(DEAL.encode("utf-8"))
    return path


def test_comments_on_edited_lines_are_kept(run, deal):
    assert run("move", "test", "review", "--due", "2026-12-11").exit_code == 0
    assert run("done", "test", "review", "--evidence", "memo #12 on the share").exit_code == 0
    result = run("confirm", "test", "review", "--by", "Dana Whitfield", "--ref", "new writing")
    assert result.exit_code == 0, result.stderr
    text = deal.read_text(encoding="utf-8")
    assert "    due: 2026-12-11   # agreed on the call\n" in text
    assert "    status: done  # waiting on the memo\n" in text
    assert "    confirmed_by: Dana Whitfield   # by email\n" in text  # not rewritten
    assert '    confirmation: "new writing"  # see the thread\n' in text  # quotes kept
    assert '    evidence: "memo #12 on the share"\n' in text  # ` #` would start a comment
    assert_check_passes(run, "deals/test.md")


def test_quoting_style_of_the_old_value_is_kept(run, deal):
    result = run("move", "test", "quoted", "--due", "2026-12-09", "--start", "2026-12-02")
    assert result.exit_code == 0, result.stderr
    text = deal.read_text(encoding="utf-8")
    assert "    start: '2026-12-02'\n    due: \"2026-12-09\"\n" in text
    assert "pulled in" not in result.output and "slipped 4 days" in result.output


def test_empty_status_is_filled_in_place(run, deal):
    before = deal.read_bytes()
    assert run("done", "test", "quoted", "--evidence", "PO 4411").exit_code == 0
    removed, added, _ = changes(before, deal.read_bytes())
    assert removed == ["    status:\n"]
    assert added == ["    status: done\n", "    evidence: PO 4411\n"]


def test_a_value_over_two_lines_is_replaced_whole(run, deal):
    before = deal.read_bytes()
    result = run("confirm", "test", "quoted", "--by", "Dana Whitfield", "--ref", "https://x/1")
    assert result.exit_code == 0, result.stderr
    removed, added, _ = changes(before, deal.read_bytes())
    assert removed == [
        '    confirmation: "Email 2026-10-14, Re: a long quote that\n',
        '      goes on to a second line"\n',
    ]
    assert added == ['    confirmation: "https://x/1"\n']


def test_new_keys_go_where_the_format_puts_them(run, deal):
    before = deal.read_bytes()
    assert (
        run("move", "test", "bare", "--due", "2026-12-11", "--start", "2026-12-04").exit_code == 0
    )
    assert run("done", "test", "bare", "--evidence", "Signed: the document").exit_code == 0
    result = run("confirm", "test", "bare", "--by", "Dana Whitfield", "--ref", "Call notes, 2 Dec")
    assert result.exit_code == 0, result.stderr
    _, added, _ = changes(before, deal.read_bytes())
    text = deal.read_text(encoding="utf-8")
    bare = text.split("  - id: bare\n", 1)[1].split("  - id: flow-step", 1)[0]
    assert bare == (
        "    step: Bare\n"
        "    track: paper\n"
        "    owner: Sam Carter\n"
        "    start: 2026-12-04\n"  # before due
        "    due: 2026-12-11\n"
        "    after:\n"
        "      - review\n"
        "    exit: A document\n"
        "    status: done\n"  # after exit, in the format's order
        '    evidence: "Signed: the document"\n'
        "    confirmed_by: Dana Whitfield\n"
        "    confirmation: Call notes, 2 Dec\n"
        "\n"  # the blank line and the comment stay between the steps
        "  # a comment between steps\n"
    )
    assert len(added) == 6


def test_a_flow_style_step_is_refused(run, deal):
    before = deal.read_bytes()
    result = run("done", "test", "flow", "--evidence", "x")
    assert result.exit_code == 1
    assert "deals/test.md:" in result.stderr and "flow style" in result.stderr
    assert deal.read_bytes() == before


@pytest.mark.parametrize("final_newline", [True, False])
def test_crlf_and_a_missing_final_newline_are_kept(run, repo, final_newline):
    source = (EXAMPLES / "harbor-federal.md").read_bytes().replace(b"\n", b"\r\n")
    if not final_newline:
        source = source.rstrip(b"\r\n")
    path = repo / "deals" / "harbor-federal.md"
    path.write_bytes(source)
    commands = [
        ("confirm", "model-validation", "--by", "Raj Menon", "--ref", REF),
        ("move", "model-validation", "--due", "2027-01-18", "--start", "2026-12-22"),
        ("move", "cutover-readiness", "--due", "2027-01-28", "--start", "2027-01-25"),
        ("done", "kickoff", "--evidence", "Kickoff deck v2"),
    ]
    for command, step, *rest in commands:
        before = path.read_bytes()
        result = run(command, "harbor-federal", step, *rest)
        assert result.exit_code == 0, result.stderr
        after = path.read_bytes()
        assert after.count(b"\n") == after.count(b"\r\n")
        assert after.endswith(b"\r\n") == final_newline
        keys = set(EDITED_KEYS)
        assert_only_step_lines_changed(before, after, "harbor-federal", step, keys)
    assert_check_passes(run, "deals/harbor-federal.md")


def test_a_byte_order_mark_is_kept(run, deal):
    deal.write_bytes(b"\xef\xbb\xbf" + DEAL.encode("utf-8"))
    assert run("move", "test", "review", "--due", "2026-12-09").exit_code == 0
    assert deal.read_bytes().startswith(b"\xef\xbb\xbf---\n")


# ---------------------------------------------------------------- refusals

REFUSALS = [
    pytest.param(
        ["confirm", "harbor-federl", "tpra", "--by", "Dana Whitfield", "--ref", "x"],
        1,
        ["no deal `harbor-federl`", "did you mean `harbor-federal`?"],
        id="unknown-deal",
    ),
    pytest.param(
        ["confirm", "deals/nope.md", "tpra", "--by", "Dana Whitfield", "--ref", "x"],
        1,
        ["no such deal file: deals/nope.md"],
        id="unknown-deal-path",
    ),
    pytest.param(
        ["move", "harbor-federal", "kickof", "--due", "2026-12-10"],
        1,
        ["deals/harbor-federal.md:", "no step `kickof`", "did you mean `kickoff`?"],
        id="unknown-step",
    ),
    pytest.param(
        ["confirm", "harbor-federal", "tpra", "--by", "Sam Carter", "--ref", "x"],
        1,
        ["deals/harbor-federal.md:42:", "`Sam Carter` is on the vendor side", "only the customer"],
        id="vendor-confirmer",
    ),
    pytest.param(
        ["confirm", "harbor-federal", "tpra", "--by", "Dana Whitfeld", "--ref", "x"],
        1,
        ["deals/harbor-federal.md:8:", "not in people", "did you mean `Dana Whitfield`?"],
        id="unknown-person",
    ),
    pytest.param(
        ["confirm", "harbor-federal", "tpra", "--by", "Dana Whitfield", "--ref", "  "],
        1,
        ["deals/harbor-federal.md:", "--ref is empty"],
        id="empty-ref",
    ),
    pytest.param(
        ["done", "harbor-federal", "kickoff", "--evidence", ""],
        1,
        ["deals/harbor-federal.md:", "a milestone without its proof is a feeling with a date"],
        id="empty-evidence",
    ),
    pytest.param(
        ["move", "harbor-federal", "kickoff", "--due", "2026-12-08", "--start", "2026-12-09"],
        1,
        ["deals/harbor-federal.md:", "--start 2026-12-09 is after --due 2026-12-08"],
        id="start-after-due",
    ),
    pytest.param(
        ["move", "harbor-federal", "environment", "--due", "2026-12-08"],
        1,
        ["deals/harbor-federal.md:", "starts 2026-12-09, after the new due", "--start"],
        id="due-before-the-standing-start",
    ),
    pytest.param(
        ["move", "harbor-federal", "kickoff", "--due", "2026-02-30"],
        2,
        ["is not a date"],
        id="invalid-date",
    ),
    pytest.param(
        ["done", "harbor-federal", "kickoff"],
        2,
        ["--evidence"],
        id="evidence-missing",
    ),
]


@pytest.mark.parametrize(("args", "code", "words"), REFUSALS)
def test_refusals_leave_every_file_alone(run, examples, args, code, words):
    before = snapshot(examples)
    result = run(*args)
    assert result.exit_code == code, result.output + result.stderr
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(examples) == before


def test_a_file_with_errors_is_refused(run, deal):
    broken = DEAL.replace(
        "owner: Sam Carter\n    due: 2026-12-10", "owner: Nobody\n    due: 2026-12-10"
    )
    deal.write_text(broken, encoding="utf-8")
    result = run("done", "test", "review", "--evidence", "memo")
    assert result.exit_code == 1
    assert "deals/test.md:34:12: owner `Nobody` is not in people" in result.stderr
    assert "fix the file first" in result.stderr.lower()
    assert deal.read_text(encoding="utf-8") == broken


@pytest.mark.parametrize(
    "args",
    [
        [
            "done",
            "harbor-federal",
            "tpra",
            "--evidence",
            "TPRA report TPRA-2026-0417, issued 2026-11-13, two low findings, none high",
        ],
        ["move", "harbor-federal", "kickoff", "--due", "2026-12-08"],
        [
            "confirm",
            "harbor-federal",
            "po",
            "--by",
            "Priya Raman",
            "--ref",
            "Email 2026-11-19, Re: signature — 'December 1 holds'",
        ],
    ],
    ids=["done", "move", "confirm"],
)
def test_an_edit_that_changes_nothing_says_so(run, examples, args):
    before = snapshot(examples)
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    assert "nothing changed" in result.output
    assert snapshot(examples) == before


# ---------------------------------------------------------------- writing


def test_no_temp_file_is_left_and_the_mode_is_kept(run, examples):
    path = examples / "deals" / "northwind-logistics.md"
    path.chmod(0o640)
    names = sorted(p.name for p in path.parent.iterdir())
    assert run("done", "northwind-logistics", "legal-final", "--evidence", "x").exit_code == 0
    assert sorted(p.name for p in path.parent.iterdir()) == names
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_read_only_file_is_left_alone(run, examples):
    path = examples / "deals" / "acme-wish.md"
    before = path.read_bytes()
    path.chmod(0o444)
    result = run("done", "acme-wish", "poc", "--evidence", "deck")
    assert result.exit_code == 1
    assert "deals/acme-wish.md is read-only" in result.stderr
    assert path.read_bytes() == before


def test_a_failed_write_leaves_the_file_and_no_temp_file(run, examples, monkeypatch):
    path = examples / "deals" / "northwind-logistics.md"
    before = snapshot(examples)

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    result = run("done", "northwind-logistics", "legal-final", "--evidence", "x")
    assert result.exit_code == 1
    assert "cannot write the file: Input/output error" in result.stderr
    assert snapshot(examples) == before
    assert path.read_bytes() == before["deals/northwind-logistics.md"]


def test_a_file_changed_while_editing_is_not_overwritten(examples, monkeypatch):
    path = examples / "deals" / "acme-wish.md"
    verify = edit.verify

    def verify_then_someone_saves(loaded, editor, text):
        verify(loaded, editor, text)
        path.write_text(path.read_text(encoding="utf-8") + "\nMore notes.\n", encoding="utf-8")

    monkeypatch.setattr(edit, "verify", verify_then_someone_saves)
    with pytest.raises(MapdownError, match="changed on disk"):
        edit.done(path, "deals/acme-wish.md", "poc", "results deck")
    assert path.read_text(encoding="utf-8").endswith("\nMore notes.\n")
    assert "evidence: results deck" not in path.read_text(encoding="utf-8")


def test_a_link_is_edited_through(run, repo, deal):
    target = repo / "test-target.md"
    deal.rename(target)
    deal.symlink_to(target)
    assert run("move", "test", "review", "--due", "2026-12-10").exit_code == 0
    assert deal.is_symlink()
    assert "due: 2026-12-10   # agreed on the call" in target.read_text(encoding="utf-8")


def test_deal_as_a_path_from_another_folder(run, examples):
    sub = examples / "deals"
    path = sub / "acme-wish.md"
    result = run("done", "acme-wish.md", "poc", "--evidence", "deck", cwd=sub)
    assert result.exit_code == 0, result.stderr
    assert result.output.startswith("acme-wish.md:")
    result = run("move", str(path), "poc", "--due", "2026-12-12", cwd=examples)
    assert result.exit_code == 0, result.stderr
    assert "due 2026-12-11 → 2026-12-12 (slipped 1 day)" in result.output


def test_move_without_a_confirmation_prints_no_note(run, examples):
    result = run("move", "acme-wish", "poc", "--due", "2026-12-08")
    assert result.exit_code == 0
    assert "pulled in 3 days" in result.output
    assert result.stderr == ""


# ---------------------------------------------------------------- values as YAML

TEMPLATE = """\
---
title: T
customer: C
go_live: 2027-01-01
people:
  - name: A
    side: customer
milestones:
  - id: a
    step: S
    track: paper
    owner: A
    due: 2026-12-01
    exit: E
    confirmed_by: A
    confirmation: {}
---
"""


@pytest.mark.parametrize(
    "text",
    [
        "plain words",
        "Re: dates",
        "note #1",
        "a # comment?",
        "2026-11-26",
        "42",
        "1e3",
        "yes",
        "No",
        "null",
        "~",
        "- a list?",
        "{curly}",
        "[square]",
        "'single'",
        '"double"',
        "*alias",
        "&anchor",
        "!tag",
        "%directive",
        "@at",
        "`tick`",
        "| block",
        "> folded",
        "key:",
        "tab\there",
        "line\nbreak",
        "nel\x85sep",
        "ls\u2028sep",
        "bom\ufeffinside",
        "del\x7f",
        "emoji 🎉 and — dash",
        "back\\slash",
        ".inf",
        "0x1F",
        "https://mail.example/thread#frag",
    ],
)
def test_render_reads_back_as_the_same_text(text):
    for style in ("", '"', "'"):
        parsed = parse_text(TEMPLATE.format(edit.render(text, style)), "x.md", "x")
        assert parsed.deal is not None, (text, style, parsed.diagnostics)
        assert parsed.deal.milestones[0].confirmation == text
    rendered = edit.render(text)
    assert "\n" not in rendered and "\r" not in rendered
    assert len(rendered.splitlines()) == 1


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1).map(str.strip))
def test_render_round_trips_any_text(text):
    if not text:
        return
    parsed = parse_text(TEMPLATE.format(edit.render(text)), "x.md", "x")
    assert parsed.deal is not None, parsed.diagnostics
    assert parsed.deal.milestones[0].confirmation == text


def test_plain_values_stay_plain():
    assert edit.render("Dana Whitfield") == "Dana Whitfield"
    assert edit.render("https://files.example/a.pdf") == "https://files.example/a.pdf"
    assert edit.render("done") == "done"
    assert edit.render(dt.date(2026, 12, 1)) == "2026-12-01"
    assert edit.render(dt.date(2026, 12, 1), '"') == '"2026-12-01"'
    assert edit.render("Re: x") == '"Re: x"'


# ---------------------------------------------------------------- the documented examples

ROOT = EXAMPLES.parent


def documented(doc: str) -> list[tuple[list[str], list[str]]]:
    """The `mapdown confirm|move|done` commands in a doc's code blocks, with the output shown."""
    text = (ROOT / doc).read_text(encoding="utf-8").replace("\\\n", " ")
    out: list[tuple[list[str], list[str]]] = []
    for kind, block in re.findall(r"```(sh|console)\n(.*?)```", text, re.DOTALL):
        shown: list[str] | None = None  # output lines follow a command in a console block
        for line in block.splitlines():
            command = line.removeprefix("$ ").split("  #", 1)[0]
            if re.match(r"mapdown (confirm|move|done) ", command):
                out.append((shlex.split(command)[1:], []))
                shown = out[-1][1] if kind == "console" else None
            elif line.startswith("$"):
                shown = None
            elif shown is not None and line:
                shown.append(line)
    return out


@pytest.mark.parametrize("doc", ["README.md", "docs/workflow.md"])
def test_the_documented_edits_run_as_shown(run, examples, doc):
    commands = documented(doc)
    assert len(commands) >= 2
    assert any(shown for _, shown in commands) == doc.startswith("docs/")  # output shown there
    for args, shown in commands:
        result = run(*args)
        assert result.exit_code == 0, (args, result.stderr)
        printed = (result.output + result.stderr).splitlines()
        for line in shown:
            assert line in printed, (args, line)
    assert_check_passes(run, "deals/harbor-federal.md")
